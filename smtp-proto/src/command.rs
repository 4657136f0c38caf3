//! Commands: [`Command::parse`] reads one command line, [`Command::write_to`] writes one.
//!
//! RFC 5321 §4.1.1 (HELO, EHLO, MAIL, RCPT, DATA, RSET, VRFY, EXPN, HELP, NOOP, QUIT), RFC 3207
//! §4 (STARTTLS), RFC 4954 §4 (AUTH), RFC 3030 §2 (BDAT) and RFC 2033 §4.1 (LHLO). Verbs and
//! the `FROM:`/`TO:` keywords are case-insensitive (§2.4).

use std::fmt;

use crate::address::{ForwardPath, Host, ReversePath};
use crate::error::CommandError;
use crate::params::{MailParams, RcptParams};
use crate::secret::Secret;

mod borrowed;

pub use borrowed::{CommandRef, HostArg};

/// One SMTP or LMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `HELO domain`.
    Helo(Host),
    /// `EHLO domain-or-literal`.
    Ehlo(Host),
    /// `LHLO domain-or-literal` (LMTP).
    Lhlo(Host),
    /// `MAIL FROM:<path> [params]`.
    Mail {
        /// The reverse-path.
        from: ReversePath,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO:<path> [params]`.
    Rcpt {
        /// The forward-path.
        to: ForwardPath,
        /// ESMTP parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030); `size` octets follow the line.
    Bdat {
        /// The chunk size in octets.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop(Option<String>),
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(String),
    /// `EXPN string`.
    Expn(String),
    /// `HELP [string]`.
    Help(Option<String>),
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name, upper case.
        mechanism: String,
        /// The initial response as sent: base64, or `=` for an empty one.
        initial_response: Option<Secret<String>>,
    },
}

/// A verb as the number [`Command::parse`] matches on.
const fn verb(word: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let mut i = 0;
    while i < word.len() {
        buf[i] = word[i];
        i += 1;
    }
    u64::from_le_bytes(buf)
}

const V_AUTH: u64 = verb(b"AUTH");
const V_BDAT: u64 = verb(b"BDAT");
const V_DATA: u64 = verb(b"DATA");
const V_EHLO: u64 = verb(b"EHLO");
const V_EXPN: u64 = verb(b"EXPN");
const V_HELO: u64 = verb(b"HELO");
const V_HELP: u64 = verb(b"HELP");
const V_LHLO: u64 = verb(b"LHLO");
const V_MAIL: u64 = verb(b"MAIL");
const V_NOOP: u64 = verb(b"NOOP");
const V_QUIT: u64 = verb(b"QUIT");
const V_RCPT: u64 = verb(b"RCPT");
const V_RSET: u64 = verb(b"RSET");
const V_STARTTLS: u64 = verb(b"STARTTLS");
const V_VRFY: u64 = verb(b"VRFY");

/// The verb upper-cased into one number (see [`verb`]), or `None` if it is not 1–8 letters.
/// One number per verb makes each match arm a single compare, where a byte-string match calls
/// `memcmp`. Built byte by byte in a register: copying the verb into a zeroed array and
/// reading it back as a `u64` costs a `memcpy` call and a stalled store-to-load forward, which
/// measured as most of the time spent on a short command.
fn verb_code(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > 8 {
        return None;
    }
    let mut code = 0u64;
    for (i, &b) in word.iter().enumerate() {
        // Letters only: also keeps the zero padding of `code` unambiguous.
        if !b.is_ascii_alphabetic() {
            return None;
        }
        code |= u64::from(b.to_ascii_uppercase()) << (8 * i);
    }
    Some(code)
}

fn is_base64_or_eq(s: &str) -> bool {
    s == "="
        || !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

impl Command {
    /// Parses one command line, without its CRLF: [`CommandRef::parse`] made owned.
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        CommandRef::parse_inline(line).map(|c| c.to_command())
    }

    /// The verb, upper case.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Helo(_) => "HELO",
            Command::Ehlo(_) => "EHLO",
            Command::Lhlo(_) => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop(_) => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }

    /// Appends the command line with its CRLF.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{self}\r\n");
    }

    /// The command line with its CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(64);
        self.write_to(&mut v);
        v
    }
}

impl fmt::Display for Command {
    /// The command line without CRLF. The AUTH initial response is written as sent: use it
    /// only for the wire, never for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Helo(h) => write!(f, "HELO {h}"),
            Command::Ehlo(h) => write!(f, "EHLO {h}"),
            Command::Lhlo(h) => write!(f, "LHLO {h}"),
            Command::Mail { from, params } => write!(f, "MAIL FROM:{from}{params}"),
            Command::Rcpt { to, params } => write!(f, "RCPT TO:{to}{params}"),
            Command::Bdat { size, last: true } => write!(f, "BDAT {size} LAST"),
            Command::Bdat { size, last: false } => write!(f, "BDAT {size}"),
            Command::Noop(Some(s)) => write!(f, "NOOP {s}"),
            Command::Help(Some(s)) => write!(f, "HELP {s}"),
            Command::Vrfy(s) => write!(f, "VRFY {s}"),
            Command::Expn(s) => write!(f, "EXPN {s}"),
            Command::Auth {
                mechanism,
                initial_response,
            } => match initial_response {
                Some(ir) => write!(f, "AUTH {mechanism} {}", ir.expose()),
                None => write!(f, "AUTH {mechanism}"),
            },
            other => f.write_str(other.verb()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, CommandError> {
        Command::parse(s.as_bytes())
    }

    #[test]
    fn parses_and_writes() {
        for line in [
            "EHLO mail.example.org",
            "HELO [192.0.2.1]",
            "MAIL FROM:<> SIZE=100 BODY=8BITMIME",
            "RCPT TO:<Postmaster>",
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org",
            "BDAT 1000 LAST",
            "BDAT 0",
            "AUTH PLAIN AGJvYgBwYXNz",
            "AUTH PLAIN =",
            "AUTH LOGIN",
            "NOOP",
            "HELP MAIL",
            "VRFY Smith",
            "STARTTLS",
        ] {
            let c = p(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(c.to_string(), line);
        }
    }

    #[test]
    fn tolerant_where_harmless() {
        assert_eq!(
            p("mail from: <a@b.example>  ").unwrap().to_string(),
            "MAIL FROM:<a@b.example>"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(p("FOO"), Err(CommandError::Unrecognized));
        assert_eq!(p("QUIT\0"), Err(CommandError::Unrecognized));
        assert_eq!(p("XXXXXXXXXXXXXX bar"), Err(CommandError::Unrecognized));
        assert!(matches!(p("DATA x"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("MAIL TO:<a@b>"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("RCPT TO:<>"), Err(CommandError::Path(_))));
        assert!(matches!(
            p("MAIL FROM:<a@b> SIZE=x"),
            Err(CommandError::Param(_))
        ));
        assert!(matches!(p("BDAT 10 FIRST"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("EHLO"), Err(CommandError::Syntax(_))));
        assert_eq!(Command::parse(b"NOOP \xff"), Err(CommandError::NotUtf8));
        assert_eq!(p("auth plain").unwrap().to_string(), "AUTH PLAIN");
        assert!(matches!(p("MAIL ééééé"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("RCPT é"), Err(CommandError::Syntax(_))));
    }
}
