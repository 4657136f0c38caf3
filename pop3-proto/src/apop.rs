//! APOP digests (RFC 1939 §7): MD5 over the greeting's timestamp followed by the shared secret.
//!
//! MD5 is long broken as a hash; APOP survives only for old clients, which is why the server
//! offers it only when the embedding server has plaintext shared secrets and turns it on.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// The APOP digest for `timestamp` (with its angle brackets) and `secret`, as 32 lowercase hex
/// digits.
pub fn apop_digest(timestamp: &str, secret: &str) -> String {
    let mut h = Md5::new();
    h.update(timestamp.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `digest` (hex, any case) is the APOP digest of `timestamp` and `secret`; the
/// comparison takes the same time wherever the strings differ.
pub fn verify_apop(timestamp: &str, secret: &str, digest: &str) -> bool {
    let expected = apop_digest(timestamp, secret);
    let given = digest.to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1939_example() {
        // RFC 1939 §7: the example's shared secret is "tanstaaf".
        let ts = "<1896.697170952@dbc.mtview.ca.us>";
        assert_eq!(
            apop_digest(ts, "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
        assert!(verify_apop(
            ts,
            "tanstaaf",
            "C4C9334BAC560ECC979E58001B3E22FB"
        ));
        assert!(!verify_apop(
            ts,
            "tanstaaF",
            "c4c9334bac560ecc979e58001b3e22fb"
        ));
        assert!(!verify_apop(ts, "tanstaaf", "c4c9"));
    }
}
