//! SCRAM-SHA-1 and SCRAM-SHA-256, with and without channel binding (RFC 5802, RFC 7677).
//!
//! ```text
//! C: n,,n=user,r=<c-nonce>                               client-first (GS2 header + bare)
//! S: r=<c-nonce><s-nonce>,s=<salt>,i=4096                server-first
//! C: c=<base64(gs2-header [cb-data])>,r=<nonce>,p=<proof> client-final
//! S: v=<ServerSignature>  |  e=<error>                   server-final
//! ```
//!
//! Choices made here, with the section that allows them:
//! - Passwords go through SASLprep (RFC 5802 §2.2 `Normalize`, RFC 4013) as described in
//!   [`super::saslprep`]; user names are sent and looked up as given (RFC 5802 §5.1 lets the
//!   server use a name "as received" when it does not prepare it).
//! - Nonces are printable ASCII without `,` (§5.1 `r=`) from the context's random source, 24
//!   characters unless the context asks for more (`nonce_len`, never fewer than 16).
//! - Channel binding (§6): a `-PLUS` server requires `p=` naming the type of the caller's
//!   channel-binding data; a plain server refuses `p=`, and refuses `y` when it has
//!   channel-binding data (it could have offered `-PLUS`: a downgrade). The client sends `p=` for
//!   `-PLUS`, `y` when it has binding data but the server offered no `-PLUS`, `n` otherwise.
//! - The server reports failures as errors of the exchange rather than as an `e=` final message,
//!   since SMTP, IMAP and POP3 cannot carry data with a failure; the client understands `e=`
//!   from servers that send it as a challenge.
//! - An unknown user gets a decoy salt derived from the user name with
//!   [`crate::ServerContext::scram_decoy_key`] (§5.1 "the server SHOULD ... continue the
//!   authentication exchange"), so the exchange fails only at the proof; a known user whose
//!   store has no SCRAM keys fails at once with [`crate::Error::TransitionNeeded`].
//! - The client refuses iteration counts below 4096 (RFC 7677 §4, RFC 5802 §5.1) and above
//!   10 000 000 (a hostile server could otherwise make it spin), and checks the server's
//!   signature before reporting success (§5.1 `v=`).

mod client;
mod server;

pub(crate) use client::ScramClient;
pub(crate) use server::ScramServer;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::random::BoxedRandom;
use crate::{Error, Mechanism, ScramHash};

/// The hash and channel-binding use of a SCRAM mechanism.
fn variant(mechanism: Mechanism) -> (ScramHash, bool) {
    match mechanism {
        Mechanism::ScramSha1 => (ScramHash::Sha1, false),
        Mechanism::ScramSha1Plus => (ScramHash::Sha1, true),
        Mechanism::ScramSha256 => (ScramHash::Sha256, false),
        Mechanism::ScramSha256Plus => (ScramHash::Sha256, true),
        other => unreachable!("{other} is not a SCRAM mechanism"),
    }
}

/// Default nonce length in characters.
const DEFAULT_NONCE_LEN: usize = 24;
/// Shortest nonce generated, whatever the caller asks for.
const MIN_NONCE_LEN: usize = 16;
/// Longest nonce generated.
const MAX_NONCE_LEN: usize = 256;

/// `printable = %x21-2B / %x2D-7E` (RFC 5802 §7): 93 characters.
const PRINTABLE: &[u8] =
    b"!\"#$%&'()*+-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// A nonce of `len` characters drawn uniformly from [`PRINTABLE`] (0 = the default length).
///
/// Each random octet below 186 (twice 93) picks `PRINTABLE[octet % 93]`; larger octets are drawn
/// again, so that no character is more likely than another.
fn nonce(random: &mut BoxedRandom, len: usize) -> String {
    let len = match len {
        0 => DEFAULT_NONCE_LEN,
        n => n.clamp(MIN_NONCE_LEN, MAX_NONCE_LEN),
    };
    let mut out = String::with_capacity(len);
    let mut buf = vec![0u8; len];
    while out.len() < len {
        let missing = len - out.len();
        random.fill(&mut buf[..missing]);
        for b in &buf[..missing] {
            if usize::from(*b) < 2 * PRINTABLE.len() {
                out.push(PRINTABLE[usize::from(*b) % PRINTABLE.len()] as char);
            }
        }
    }
    out
}

/// Whether `nonce` is a valid non-empty `printable` string.
fn is_printable(nonce: &[u8]) -> bool {
    !nonce.is_empty() && nonce.iter().all(|b| PRINTABLE.contains(b))
}

/// One `a=value` attribute of a SCRAM message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attr<'a> {
    name: u8,
    value: &'a [u8],
}

/// Splits a SCRAM message into its attributes (`attr-val *("," attr-val)`).
fn attributes(message: &[u8]) -> Result<Vec<Attr<'_>>, Error> {
    message
        .split(|b| *b == b',')
        .map(|part| match part {
            [name, b'=', value @ ..] if name.is_ascii_alphabetic() && !value.contains(&0) => {
                Ok(Attr { name: *name, value })
            }
            _ => Err(Error::Malformed("bad SCRAM attribute")),
        })
        .collect()
}

/// Decodes a base64 attribute value (strict: RFC 5802 §7 `base64` is padded).
fn base64(value: &[u8]) -> Result<Vec<u8>, Error> {
    STANDARD.decode(value).map_err(|_| Error::BadBase64)
}

fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// `a XOR b` for equal lengths.
fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_uniform_printable_and_skips_high_octets() {
        let mut bytes = vec![0u8, 92, 93, 185, 186, 255];
        bytes.extend(std::iter::repeat_n(1u8, 30));
        let mut queue = bytes.into_iter();
        let mut r = BoxedRandom(Box::new(move |buf: &mut [u8]| {
            for b in buf {
                *b = queue.next().unwrap();
            }
        }));
        let n = nonce(&mut r, 16);
        assert_eq!(n.len(), 16);
        assert!(n.starts_with("!~!~\"\""), "{n}");
        assert!(is_printable(n.as_bytes()));
        assert!(!is_printable(b"a,b"));
        assert!(!is_printable(b""));
        assert_eq!(PRINTABLE.len(), 93);
    }

    #[test]
    fn attribute_split() {
        let a = attributes(b"r=abc,s=QQ==,i=4096").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(
            a[1],
            Attr {
                name: b's',
                value: b"QQ=="
            }
        );
        assert!(attributes(b"r=abc,,i=1").is_err());
        assert!(attributes(b"1=abc").is_err());
        assert!(attributes(b"r").is_err());
    }
}
