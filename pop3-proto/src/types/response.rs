//! Status lines (`+OK` / `-ERR`, RFC 1939 §3), extended response codes (RFC 2449 §8, RFC 3206,
//! RFC 6856 §5), scan listings (RFC 1939 §5 LIST) and unique-id listings (RFC 1939 §7 UIDL).

use std::fmt;

use super::{parse_u32, parse_u64};
use crate::ParseError;

/// `+OK` or `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `+OK`.
    Ok,
    /// `-ERR`.
    Err,
}

/// An extended response code, the bracketed word after the status (RFC 2449 §8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RespCode {
    /// `[IN-USE]`: the maildrop is locked by another session (RFC 2449 §8.1.2).
    InUse,
    /// `[LOGIN-DELAY]`: the user logged in too recently (RFC 2449 §8.1.1).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary system problem (RFC 3206 §4).
    SysTemp,
    /// `[SYS/PERM]`: a permanent system problem (RFC 3206 §4).
    SysPerm,
    /// `[AUTH]`: the credentials were wrong (RFC 3206 §5).
    Auth,
    /// `[UTF8]`: the message needs UTF-8 mode (RFC 6856 §5).
    Utf8,
    /// Any other code, kept as it was sent. Clients must accept codes they do not know
    /// (RFC 2449 §8).
    Other(String),
}

impl RespCode {
    /// Parses the text between the brackets: `resp-level *("/" resp-level)` (RFC 2449 §9).
    pub fn parse(s: &str) -> Option<RespCode> {
        let valid = !s.is_empty()
            && s.split('/').all(|level| {
                !level.is_empty()
                    && level
                        .bytes()
                        .all(|b| (0x21..=0x7e).contains(&b) && b != b']' && b != b'/')
            });
        if !valid {
            return None;
        }
        let known = [
            RespCode::InUse,
            RespCode::LoginDelay,
            RespCode::SysTemp,
            RespCode::SysPerm,
            RespCode::Auth,
            RespCode::Utf8,
        ];
        Some(
            known
                .into_iter()
                .find(|c| c.as_str().eq_ignore_ascii_case(s))
                .unwrap_or_else(|| RespCode::Other(s.to_owned())),
        )
    }

    /// The code without brackets.
    pub fn as_str(&self) -> &str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
            RespCode::Utf8 => "UTF8",
            RespCode::Other(s) => s,
        }
    }
}

impl fmt::Display for RespCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `+OK` or `-ERR` line: the first line of every response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// `+OK` or `-ERR`.
    pub status: Status,
    /// The extended response code, if the text started with one.
    pub code: Option<RespCode>,
    /// The human-readable text (may be empty).
    pub text: String,
}

impl StatusLine {
    /// A `+OK` line.
    pub fn ok(text: impl Into<String>) -> StatusLine {
        StatusLine {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// A `-ERR` line.
    pub fn err(code: Option<RespCode>, text: impl Into<String>) -> StatusLine {
        StatusLine {
            status: Status::Err,
            code,
            text: text.into(),
        }
    }

    /// Whether the status is `+OK`.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Parses a status line without its CRLF. Text that is not UTF-8 (some servers greet in
    /// Latin-1) is converted lossily: it is for humans only.
    pub fn parse(line: &[u8]) -> Result<StatusLine, ParseError> {
        let (status, rest) = if let Some(r) = strip_prefix_ci(line, b"+OK") {
            (Status::Ok, r)
        } else if let Some(r) = strip_prefix_ci(line, b"-ERR") {
            (Status::Err, r)
        } else {
            return Err(ParseError::InvalidStatus);
        };
        let rest = match rest {
            [] => &[][..],
            [b' ', r @ ..] => r,
            _ => return Err(ParseError::InvalidStatus),
        };
        let rest = String::from_utf8_lossy(rest);
        let (code, text) = split_code(&rest);
        Ok(StatusLine {
            status,
            code,
            text: text.to_owned(),
        })
    }

    /// Appends the line, CRLF included. CR and LF inside the text become spaces so a line can
    /// never be split in two.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.status {
            Status::Ok => b"+OK",
            Status::Err => b"-ERR",
        });
        if let Some(code) = &self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The line, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &line[prefix.len()..])
}

/// Splits `[CODE] text` into the code and the text; text that does not start with a valid
/// code is all text.
fn split_code(s: &str) -> (Option<RespCode>, &str) {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
        && let Some(code) = RespCode::parse(&inner[..end])
    {
        let text = &inner[end + 1..];
        return (Some(code), text.strip_prefix(' ').unwrap_or(text));
    }
    (None, s)
}

/// Extracts the APOP timestamp (`<...>`, RFC 1939 §7) from a greeting's text.
pub fn greeting_timestamp(text: &str) -> Option<&str> {
    let start = text.find('<')?;
    let len = text[start..].find('>')?;
    let ts = &text[start..=start + len];
    // An RFC 822 msg-id has an "@"; a bare "<>" is not a timestamp.
    (ts.len() > 2 && ts.contains('@') && !ts.contains(' ')).then_some(ts)
}

/// A unique-id (RFC 1939 §7 UIDL): 1 to 70 characters in 0x21–0x7E.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueId(String);

impl UniqueId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for UniqueId {
    type Error = ParseError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        if (1..=70).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            Ok(UniqueId(s.to_owned()))
        } else {
            Err(ParseError::InvalidArgument("unique-id"))
        }
    }
}

impl TryFrom<String> for UniqueId {
    type Error = ParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        UniqueId::try_from(s.as_str())
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line of a LIST answer: `msg size` (RFC 1939 §5 "scan listing").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListEntry {
    /// The message number.
    pub msg: u32,
    /// The size in octets, counted with CRLF line ends (RFC 1939 §11).
    pub size: u64,
}

impl ListEntry {
    /// Parses `msg size`, ignoring anything after the size (RFC 1939 §5 allows more
    /// information after it).
    pub fn parse(line: &[u8]) -> Result<ListEntry, ParseError> {
        let s = std::str::from_utf8(line).map_err(|_| ParseError::InvalidCharacters)?;
        let mut parts = s.split(' ');
        let msg = parts
            .next()
            .and_then(parse_u32)
            .ok_or(ParseError::InvalidNumber)?;
        let size = parts
            .next()
            .and_then(parse_u64)
            .ok_or(ParseError::InvalidNumber)?;
        Ok(ListEntry { msg, size })
    }

    /// `msg size` without CRLF.
    pub fn to_line(&self) -> String {
        format!("{} {}", self.msg, self.size)
    }
}

/// One line of a UIDL answer: `msg unique-id` (RFC 1939 §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UidlEntry {
    /// The message number.
    pub msg: u32,
    /// The message's unique-id.
    pub uid: UniqueId,
}

impl UidlEntry {
    /// Parses `msg unique-id`.
    pub fn parse(line: &[u8]) -> Result<UidlEntry, ParseError> {
        let s = std::str::from_utf8(line).map_err(|_| ParseError::InvalidCharacters)?;
        let (msg, uid) = s
            .split_once(' ')
            .ok_or(ParseError::MissingArgument("unique-id"))?;
        Ok(UidlEntry {
            msg: parse_u32(msg).ok_or(ParseError::InvalidNumber)?,
            uid: UniqueId::try_from(uid)?,
        })
    }

    /// `msg unique-id` without CRLF.
    pub fn to_line(&self) -> String {
        format!("{} {}", self.msg, self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s =
            StatusLine::parse(b"-ERR [IN-USE] Do you have another POP session running?").unwrap();
        assert_eq!(s.status, Status::Err);
        assert_eq!(s.code, Some(RespCode::InUse));
        assert_eq!(s.text, "Do you have another POP session running?");
        let s = StatusLine::parse(b"-ERR [SYS/TEMP/DISK]").unwrap();
        assert_eq!(s.code, Some(RespCode::Other("SYS/TEMP/DISK".into())));
        assert_eq!(s.text, "");
        let s = StatusLine::parse(b"+OK").unwrap();
        assert!(s.is_ok() && s.text.is_empty());
        let s = StatusLine::parse(b"-ERR [not a code").unwrap();
        assert_eq!((s.code, s.text.as_str()), (None, "[not a code"));
        assert_eq!(StatusLine::parse(b"+OKAY"), Err(ParseError::InvalidStatus));
        assert_eq!(StatusLine::parse(b"* OK"), Err(ParseError::InvalidStatus));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            greeting_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(greeting_timestamp("POP3 server ready"), None);
        assert_eq!(greeting_timestamp("a <b> c"), None);
    }

    #[test]
    fn listings() {
        assert_eq!(
            ListEntry::parse(b"2 200"),
            Ok(ListEntry { msg: 2, size: 200 })
        );
        assert_eq!(
            ListEntry::parse(b"2 200 extra"),
            Ok(ListEntry { msg: 2, size: 200 })
        );
        assert!(ListEntry::parse(b"2").is_err());
        let u = UidlEntry::parse(b"1 whqtswO00WBw418f9t5JxYwZ").unwrap();
        assert_eq!(u.uid.as_str(), "whqtswO00WBw418f9t5JxYwZ");
        assert!(UidlEntry::parse(b"1 has space").is_err());
        assert!(UniqueId::try_from("x".repeat(71).as_str()).is_err());
    }
}
