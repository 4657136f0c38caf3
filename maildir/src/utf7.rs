//! Modified UTF-7, the encoding of IMAP mailbox names (RFC 3501 §5.1.3), in which Dovecot and
//! Courier store Maildir++ folder names on disk.
//!
//! Printable US-ASCII other than `&` stands for itself, `&` is written `&-`, and every other
//! run of characters is UTF-16BE in base64 with `,` for `/`, no padding, between `&` and `-`.
//! Decoding is strict: a name that another encoder could not have produced (an encoded run of
//! printable ASCII, an empty `&…-` other than `&-`, two adjacent encoded runs, padding bits)
//! is refused, so that one folder has exactly one spelling on disk.

use base64::Engine;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::error::ParseError;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c) && c != '&'
}

/// Encodes a Unicode mailbox name in modified UTF-7.
#[must_use]
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&ENGINE.encode(bytes));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            out.push(c);
        } else if c == '&' {
            flush(&mut pending, &mut out);
            out.push_str("&-");
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a modified UTF-7 mailbox name.
pub fn decode(s: &str) -> Result<String, ParseError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut after_run = false;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            let end = rest.find('-').ok_or(ParseError::Utf7)?;
            let run = &rest[1..end];
            rest = &rest[end + 1..];
            if run.is_empty() {
                out.push('&');
                after_run = false;
                continue;
            }
            if after_run {
                // Two adjacent runs must have been one.
                return Err(ParseError::Utf7);
            }
            let bytes = ENGINE.decode(run).map_err(|_| ParseError::Utf7)?;
            if bytes.len() % 2 != 0 {
                return Err(ParseError::Utf7);
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            let decoded = String::from_utf16(&units).map_err(|_| ParseError::Utf7)?;
            if decoded.chars().any(|c| is_direct(c) || c == '&') {
                return Err(ParseError::Utf7);
            }
            out.push_str(&decoded);
            after_run = true;
        } else if is_direct(c) {
            out.push(c);
            rest = &rest[1..];
            after_run = false;
        } else {
            return Err(ParseError::Utf7);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語"
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let enc = encode(name);
        assert_eq!(enc, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(decode(&enc).unwrap(), name);
    }

    #[test]
    fn ampersand_and_umlauts() {
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode("Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(encode("😀"), "&2D3eAA-");
    }

    #[test]
    fn rejects_non_canonical() {
        for bad in [
            "&",
            "&AGE-",
            "&APw-&APw-",
            "&APy-",
            "é",
            "&Jjo!-",
            "&U,BTF2XlZyyKng-x&",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn round_trip(s in "\\PC{0,24}") {
            let enc = encode(&s);
            prop_assert!(enc.is_ascii());
            prop_assert_eq!(decode(&enc).unwrap(), s);
        }

        #[test]
        fn decode_never_panics(s in "[&A-Za-z0-9+,\\-é]{0,24}") {
            if let Ok(d) = decode(&s) {
                prop_assert_eq!(encode(&d), s);
            }
        }
    }
}
