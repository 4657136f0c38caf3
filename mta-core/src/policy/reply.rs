//! The SMTP reply a routing or policy decision turns into (RFC 5321 §4.2, enhanced status codes
//! RFC 3463).

use std::fmt;

/// A reply for the SMTP driver to send: code, enhanced status and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (RFC 5321 §4.2.1).
    pub code: u16,
    /// The enhanced status code `class.subject.detail` (RFC 3463), without the class's
    /// leading digit checks; empty when there is none.
    pub status: String,
    /// The human-readable text (one line, no CR/LF).
    pub text: String,
}

impl Reply {
    /// A reply; CR and LF in `text` become spaces so a table entry cannot inject a line.
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Reply {
        let text: String = text
            .into()
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        Reply {
            code,
            status: status.to_owned(),
            text,
        }
    }

    /// Whether the reply is a success (2yz).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Whether the reply is a temporary failure (4yz).
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// Whether the reply is a permanent failure (5yz).
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status.is_empty() {
            write!(f, "{} {}", self.code, self.text)
        } else {
            write!(f, "{} {} {}", self.code, self.status, self.text)
        }
    }
}
