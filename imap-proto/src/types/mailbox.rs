//! Mailbox names (RFC 3501 §5.1, §5.1.3 modified UTF-7; RFC 9051 §5.1) and LIST patterns.
//!
//! On the wire a mailbox name is an `astring`. Under IMAP4rev1 international names are
//! encoded in modified UTF-7; under IMAP4rev2 or UTF8=ACCEPT (RFC 6855) they may be sent as
//! UTF-8. [`MailboxName::from_utf8`] encodes, [`MailboxName::to_utf8`] decodes either form.
//! `INBOX` is case-insensitive (RFC 3501 §5.1) and always becomes [`MailboxName::Inbox`].

use super::string::AString;
use crate::error::ValidationError;

/// A mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxName {
    /// `INBOX`, in whatever case it was sent.
    Inbox,
    /// Any other name, in its wire form (never INBOX in any case).
    Other(AString),
}

impl MailboxName {
    /// Wraps a name in wire form; `inbox` in any case becomes [`MailboxName::Inbox`].
    #[must_use]
    pub fn from_astring(name: AString) -> Self {
        if name.as_bytes().eq_ignore_ascii_case(b"INBOX") {
            Self::Inbox
        } else {
            Self::Other(name)
        }
    }

    /// Encodes a Unicode name in modified UTF-7 (RFC 3501 §5.1.3), for IMAP4rev1 peers.
    ///
    /// # Errors
    /// [`ValidationError::Empty`] for an empty name.
    pub fn from_utf8(name: &str) -> Result<Self, ValidationError> {
        if name.is_empty() {
            return Err(ValidationError::Empty);
        }
        Ok(Self::from_astring(AString::from_bytes(
            encode_modified_utf7(name),
        )))
    }

    /// Wraps a Unicode name as raw UTF-8, for peers that enabled UTF8=ACCEPT or IMAP4rev2.
    ///
    /// # Errors
    /// [`ValidationError::Empty`] for an empty name.
    pub fn from_utf8_raw(name: &str) -> Result<Self, ValidationError> {
        if name.is_empty() {
            return Err(ValidationError::Empty);
        }
        Ok(Self::from_astring(AString::from_bytes(name.as_bytes())))
    }

    /// The wire octets (`INBOX` for the inbox).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inbox => b"INBOX",
            Self::Other(a) => a.as_bytes(),
        }
    }

    /// Whether this is INBOX.
    #[must_use]
    pub fn is_inbox(&self) -> bool {
        matches!(self, Self::Inbox)
    }

    /// The Unicode name: raw UTF-8 when the octets are not ASCII (RFC 6855), modified UTF-7
    /// decoded otherwise.
    ///
    /// # Errors
    /// [`ValidationError::InvalidModifiedUtf7`] when neither reading works.
    pub fn to_utf8(&self) -> Result<String, ValidationError> {
        let b = self.as_bytes();
        if b.is_ascii() {
            decode_modified_utf7(b)
        } else {
            String::from_utf8(b.to_vec()).map_err(|_| ValidationError::InvalidModifiedUtf7)
        }
    }
}

/// A LIST/LSUB pattern: `list-mailbox` = `1*list-char / string` (RFC 3501 §9), so `%` and
/// `*` may appear unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListMailbox {
    /// `1*list-char`, kept as text (always ASCII).
    Token(String),
    /// A quoted string or literal.
    String(super::string::IString),
}

impl ListMailbox {
    /// Picks the token form when every octet allows it.
    #[must_use]
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        if !bytes.is_empty() && bytes.iter().all(|b| super::chars::is_list_char(*b)) {
            return Self::Token(String::from_utf8_lossy(&bytes).into_owned());
        }
        Self::String(super::string::IString::from_bytes(bytes))
    }

    /// The pattern octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Token(t) => t.as_bytes(),
            Self::String(s) => s.as_bytes(),
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

/// Encodes `s` in modified UTF-7 (RFC 3501 §5.1.3): printable ASCII but `&` as itself, `&` as
/// `&-`, runs of anything else as `&` + modified BASE64 of UTF-16BE + `-`.
#[must_use]
pub fn encode_modified_utf7(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut units: Vec<u16> = Vec::new();
    let flush = |units: &mut Vec<u16>, out: &mut Vec<u8>| {
        if units.is_empty() {
            return;
        }
        out.push(b'&');
        let (mut acc, mut bits) = (0u32, 0u32);
        for u in units.drain(..) {
            acc = (acc << 16) | u32::from(u);
            bits += 16;
            while bits >= 6 {
                bits -= 6;
                out.push(B64[((acc >> bits) & 0x3f) as usize]);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(B64[((acc << (6 - bits)) & 0x3f) as usize]);
        }
        out.push(b'-');
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut units, &mut out);
            out.push(c as u8);
            if c == '&' {
                out.push(b'-');
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut units, &mut out);
    out
}

/// Decodes modified UTF-7 strictly: no raw non-printable octets, no empty or ASCII-only
/// shifted runs except `&-`, zero padding bits, valid UTF-16.
///
/// # Errors
/// [`ValidationError::InvalidModifiedUtf7`] on any violation.
pub fn decode_modified_utf7(b: &[u8]) -> Result<String, ValidationError> {
    let bad = ValidationError::InvalidModifiedUtf7;
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(0x20..=0x7e).contains(&c) {
            return Err(bad);
        }
        if c != b'&' {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = i
            + 1
            + b[i + 1..]
                .iter()
                .position(|&x| x == b'-')
                .ok_or(bad.clone())?;
        let run = &b[i + 1..end];
        i = end + 1;
        if run.is_empty() {
            out.push('&');
            continue;
        }
        let (mut acc, mut bits) = (0u32, 0u32);
        let mut units = Vec::with_capacity(run.len() * 6 / 16);
        for &x in run {
            acc = (acc << 6) | b64_value(x).ok_or(bad.clone())?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push((acc >> bits) as u16);
                acc &= (1 << bits) - 1;
            }
        }
        if bits >= 6 || acc != 0 {
            return Err(bad);
        }
        let decoded = String::from_utf16(&units).map_err(|_| bad.clone())?;
        // A shifted run must not hold characters that have a direct form.
        if decoded.chars().any(|c| (' '..='~').contains(&c)) {
            return Err(bad);
        }
        out.push_str(&decoded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
        let wire = b"~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(
            decode_modified_utf7(wire).unwrap(),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(encode_modified_utf7("~peter/mail/台北/日本語"), wire);
        assert_eq!(encode_modified_utf7("a&b"), b"a&-b");
        assert_eq!(decode_modified_utf7(b"a&-b").unwrap(), "a&b");
    }

    #[test]
    fn strict_decoding() {
        assert!(decode_modified_utf7(b"&Jjo!").is_err()); // no terminator
        assert!(decode_modified_utf7(b"&AGE-").is_err()); // "a" shifted
        assert!(decode_modified_utf7(b"&2D3-").is_err()); // lone surrogate / bad bits
        assert!(decode_modified_utf7(b"\x80").is_err());
        assert_eq!(decode_modified_utf7(b"&2D3eAA-").unwrap(), "\u{1f600}");
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(MailboxName::from_astring("iNbOx".into()).is_inbox());
        assert!(!MailboxName::from_astring("INBOX.x".into()).is_inbox());
        let m = MailboxName::from_utf8("Entwürfe").unwrap();
        assert_eq!(m.as_bytes(), b"Entw&APw-rfe");
        assert_eq!(m.to_utf8().unwrap(), "Entwürfe");
        assert_eq!(
            MailboxName::from_utf8_raw("Entwürfe")
                .unwrap()
                .to_utf8()
                .unwrap(),
            "Entwürfe"
        );
    }
}
