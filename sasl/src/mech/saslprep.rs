//! SASLprep (RFC 4013), as SCRAM needs it for passwords (RFC 5802 §2.2 `Normalize`), and the
//! prohibited-character tables of stringprep (RFC 3454 Appendix C) that the ANONYMOUS trace
//! profile (RFC 4505 §3) shares.
//!
//! What is applied, in RFC 4013 §2 order:
//! 1. mapping: the "commonly mapped to nothing" characters (RFC 3454 B.1, soft hyphen,
//!    zero-width joiners and so on) are removed, non-ASCII spaces (C.1.2) become U+0020;
//! 2. normalization form KC (`unicode-normalization`);
//! 3. prohibited output (C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9).
//!
//! Not applied: the bidirectional check (RFC 3454 §6) and the unassigned-code-point check of
//! stored strings. Both only *reject* strings, never change them, so a password they would
//! refuse is hashed the same way by this client and this server.
//!
//! When preparation fails (a control character in the password, say), the raw octets are used
//! instead, as PostgreSQL does: the password still works between two peers that both do this,
//! and an ASCII password, which is what nearly everyone has, is never changed at all.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::Secret;

/// Prepares a password for SCRAM's `Hi()`: SASLprep when the octets are UTF-8 and preparation
/// succeeds, the octets as given otherwise (see the module docs).
pub(crate) fn prepare_password(password: &[u8]) -> Secret<Vec<u8>> {
    match std::str::from_utf8(password).ok().and_then(saslprep) {
        Some(Cow::Owned(prepared)) => Secret::new(prepared.into_bytes()),
        Some(Cow::Borrowed(_)) | None => Secret::new(password.to_vec()),
    }
}

/// SASLprep of `s` as a query string (see the module docs for what is left out). `None` when
/// the result would contain a prohibited character.
pub(crate) fn saslprep(s: &str) -> Option<Cow<'_, str>> {
    // Printable ASCII is unchanged by every step.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Some(Cow::Borrowed(s));
    }
    let mapped: String = s
        .chars()
        .filter(|c| !mapped_to_nothing(*c))
        .map(|c| if non_ascii_space(c) { ' ' } else { c })
        .nfkc()
        .collect();
    if mapped.chars().any(|c| non_ascii_space(c) || prohibited(c)) {
        return None;
    }
    Some(Cow::Owned(mapped))
}

/// RFC 3454 B.1.
fn mapped_to_nothing(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x1806
            | 0x180B..=0x180D
            | 0x200B..=0x200D
            | 0x2060
            | 0xFE00..=0xFE0F
            | 0xFEFF
    )
}

/// RFC 3454 C.1.2.
fn non_ascii_space(c: char) -> bool {
    matches!(
        c as u32,
        0x00A0 | 0x1680 | 0x2000..=0x200B | 0x202F | 0x205F | 0x3000
    )
}

/// RFC 3454 C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.8 and C.9: the tables that SASLprep and the
/// ANONYMOUS trace profile both prohibit.
pub(crate) fn prohibited_in_trace(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        // C.2.1 ASCII control characters.
        0x0000..=0x001F | 0x007F
        // C.2.2 non-ASCII control characters.
        | 0x0080..=0x009F | 0x06DD | 0x070F | 0x180E | 0x200C | 0x200D | 0x2028 | 0x2029
        | 0x2060..=0x2063 | 0x206A..=0x206F | 0xFEFF | 0xFFF9..=0xFFFC | 0x1D173..=0x1D17A
        // C.3 private use.
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        // C.4 non-character code points.
        | 0xFDD0..=0xFDEF
        // C.6 inappropriate for plain text.
        | 0xFFFD
        // C.8 change display properties.
        | 0x0340 | 0x0341 | 0x200E | 0x200F | 0x202A..=0x202E
        // C.9 tagging characters.
        | 0xE0001 | 0xE0020..=0xE007F
    ) || (u & 0xFFFE) == 0xFFFE // C.4: the last two code points of every plane.
    // C.5 (surrogates) cannot occur in a Rust `char`.
}

/// Everything SASLprep prohibits: the trace tables plus C.1.2 and C.7.
fn prohibited(c: char) -> bool {
    prohibited_in_trace(c) || matches!(c as u32, 0x2FF0..=0x2FFB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4013_examples() {
        // RFC 4013 §3.
        assert_eq!(saslprep("I\u{00AD}X").as_deref(), Some("IX"));
        assert_eq!(saslprep("user").as_deref(), Some("user"));
        assert_eq!(saslprep("USER").as_deref(), Some("USER"));
        assert_eq!(saslprep("\u{00AA}").as_deref(), Some("a"));
        assert_eq!(saslprep("\u{2168}").as_deref(), Some("IX"));
        assert_eq!(saslprep("\u{0007}"), None);
        // The bidi example ("\u{0627}1") is not rejected: see the module docs.
    }

    #[test]
    fn spaces_and_composition() {
        assert_eq!(saslprep("a\u{00A0}b").as_deref(), Some("a b"));
        assert_eq!(saslprep("e\u{0301}").as_deref(), Some("\u{00E9}"));
        assert_eq!(saslprep("\u{E000}"), None);
        assert_eq!(saslprep("\u{FFFF}"), None);
    }

    #[test]
    fn password_fallback_is_raw() {
        assert_eq!(prepare_password(b"pencil").expose(), b"pencil");
        assert_eq!(prepare_password(b"I\xc2\xadX").expose(), b"IX");
        assert_eq!(prepare_password(b"a\x07b").expose(), b"a\x07b");
        assert_eq!(prepare_password(b"\xff").expose(), b"\xff");
    }
}
