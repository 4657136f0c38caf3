//! Base64 framing of SASL data as SMTP (RFC 4954 §4), IMAP (RFC 3501 §6.2.2, RFC 4959) and POP3
//! (RFC 5034 §4) carry it.
//!
//! The three protocols agree: challenges and responses travel base64-encoded on one line; a
//! response of `*` cancels the exchange; an *initial* response that is empty is sent as `=` so
//! that it can be told apart from no initial response at all.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use crate::Error;

/// Standard alphabet; padding is written, and accepted whether present or not, since some
/// clients leave it off.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Default limit on one decoded SASL message, generous for any mechanism here (an OAuth token
/// is the longest legitimate payload).
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024;

/// Decodes one response line from the client (without its CRLF).
///
/// `*` is [`Error::Cancelled`]; an empty line and `=` are an empty response; anything else must
/// be base64 that decodes to at most `limit` octets. The length is checked before decoding, so
/// a peer cannot make this allocate more than `limit`.
pub fn decode_response(line: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    match line {
        b"*" => Err(Error::Cancelled),
        b"" | b"=" => Ok(Vec::new()),
        _ => decode(line, limit),
    }
}

/// Decodes a challenge line from the server (client side). An empty line is an empty challenge.
pub fn decode_challenge(line: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    if line.is_empty() {
        Ok(Vec::new())
    } else {
        decode(line, limit)
    }
}

fn decode(line: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    // Four characters carry three octets; allow for padding.
    if line.len() / 4 * 3 > limit.saturating_add(3) {
        return Err(Error::TooLong { limit });
    }
    let data = LENIENT.decode(line).map_err(|_| Error::BadBase64)?;
    if data.len() > limit {
        return Err(Error::TooLong { limit });
    }
    Ok(data)
}

/// Encodes a challenge or a non-initial response: empty data is an empty line.
pub fn encode(data: &[u8]) -> String {
    general_purpose::STANDARD.encode(data)
}

/// Encodes an initial response: empty data is `=` (RFC 4954 §4), so that it differs from "no
/// initial response".
pub fn encode_initial_response(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        encode(data)
    }
}

/// The line that cancels an exchange.
pub const CANCEL: &str = "*";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_empty_and_data() {
        assert_eq!(decode_response(b"*", 100), Err(Error::Cancelled));
        assert_eq!(decode_response(b"", 100), Ok(vec![]));
        assert_eq!(decode_response(b"=", 100), Ok(vec![]));
        assert_eq!(
            decode_response(b"AGZvbwBiYXI=", 100),
            Ok(b"\0foo\0bar".to_vec())
        );
        // Padding left off is accepted.
        assert_eq!(
            decode_response(b"AGZvbwBiYXI", 100),
            Ok(b"\0foo\0bar".to_vec())
        );
        assert_eq!(
            decode_response(b"AGZv bwBiYXI=", 100),
            Err(Error::BadBase64)
        );
        assert_eq!(decode_response(b"!!!!", 100), Err(Error::BadBase64));
    }

    #[test]
    fn limit_is_checked_before_and_after_decoding() {
        let big = encode(&[7u8; 101]);
        assert_eq!(
            decode_response(big.as_bytes(), 100),
            Err(Error::TooLong { limit: 100 })
        );
        let exact = encode(&[7u8; 100]);
        assert_eq!(decode_response(exact.as_bytes(), 100).unwrap().len(), 100);
        let huge = vec![b'A'; 1 << 20];
        assert_eq!(
            decode_response(&huge, 100),
            Err(Error::TooLong { limit: 100 })
        );
    }

    #[test]
    fn initial_response_encoding() {
        assert_eq!(encode_initial_response(b""), "=");
        assert_eq!(encode(b""), "");
        assert_eq!(encode_initial_response(b"\0a\0b"), "AGEAYg==");
        assert_eq!(decode_challenge(b"", 10), Ok(vec![]));
    }
}
