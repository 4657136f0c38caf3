//! The client side of SCRAM (RFC 5802 §5, §6).

use super::{Attr, attributes, base64, encode, is_printable, nonce, variant, xor};
use crate::mech::gs2::{self, CbFlag};
use crate::mech::saslprep::prepare_password;
use crate::{ClientCredentials, ClientMechanism, Error, Mechanism, ScramHash, Secret, ct_eq};

/// RFC 7677 §4 and RFC 5802 §5.1: fewer iterations make a stolen exchange cheap to crack.
pub(crate) const MIN_ITERATIONS: u32 = 4096;
/// A few seconds of PBKDF2 at most: more than any published recommendation (OWASP asks for
/// 1 300 000 with SHA-1), and a bound on the work a hostile server can ask for.
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;

/// Longest `e=` value passed on to the caller.
const MAX_SERVER_ERROR: usize = 64;

pub(crate) struct ScramClient {
    mechanism: Mechanism,
    hash: ScramHash,
    plus: bool,
    state: State,
}

enum State {
    New,
    SentFirst {
        gs2_header: String,
        client_first_bare: String,
        client_nonce: String,
    },
    /// The proof is sent; the server's signature is awaited, as a challenge or with success.
    SentFinal {
        server_signature: Secret<Vec<u8>>,
    },
    Verified,
    Done,
}

impl ScramClient {
    pub(crate) fn new(mechanism: Mechanism) -> Self {
        let (hash, plus) = variant(mechanism);
        ScramClient {
            mechanism,
            hash,
            plus,
            state: State::New,
        }
    }

    fn client_final(
        &self,
        server_first: &[u8],
        gs2_header: &str,
        client_first_bare: &str,
        client_nonce: &str,
        credentials: &ClientCredentials,
    ) -> Result<(Vec<u8>, Secret<Vec<u8>>), Error> {
        let attrs = attributes(server_first)?;
        let (nonce, salt, iterations) = match attrs.as_slice() {
            [Attr { name: b'e', value }, ..] => return Err(server_error(value)),
            [Attr { name: b'm', .. }, ..] => {
                return Err(Error::Malformed(
                    "server requires an unsupported SCRAM extension",
                ));
            }
            [
                Attr {
                    name: b'r',
                    value: r,
                },
                Attr {
                    name: b's',
                    value: s,
                },
                Attr {
                    name: b'i',
                    value: i,
                },
                ..,
            ] => (*r, *s, *i),
            _ => return Err(Error::Malformed("SCRAM server-first needs r=, s= and i=")),
        };
        if !(nonce.starts_with(client_nonce.as_bytes())
            && nonce.len() > client_nonce.len()
            && is_printable(nonce))
        {
            return Err(Error::NonceMismatch);
        }
        let salt = base64(salt)?;
        if salt.is_empty() {
            return Err(Error::Malformed("empty SCRAM salt"));
        }
        let iterations = parse_iterations(iterations)?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(Error::Malformed(
                "SCRAM iteration count outside 4096..=10000000",
            ));
        }
        let password = credentials
            .password
            .as_ref()
            .ok_or(Error::OutOfSequence("SCRAM needs a password"))?;

        let mut cbind_input = gs2_header.as_bytes().to_vec();
        if self.plus {
            let cb = credentials
                .channel_binding
                .as_ref()
                .ok_or(Error::OutOfSequence("-PLUS needs channel-binding data"))?;
            cbind_input.extend_from_slice(&cb.data);
        }
        let mut without_proof = format!("c={},r=", encode(&cbind_input)).into_bytes();
        without_proof.extend_from_slice(nonce);

        let mut auth_message = client_first_bare.as_bytes().to_vec();
        auth_message.push(b',');
        auth_message.extend_from_slice(server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(&without_proof);

        let h = self.hash;
        let password = prepare_password(password.expose().as_bytes());
        let salted = Secret::new(h.hi(password.expose(), &salt, iterations));
        let client_key = Secret::new(h.hmac(salted.expose(), b"Client Key"));
        let stored_key = h.hash(client_key.expose());
        let client_signature = h.hmac(&stored_key, &auth_message);
        let proof = xor(client_key.expose(), &client_signature);
        let server_key = Secret::new(h.hmac(salted.expose(), b"Server Key"));
        let server_signature = Secret::new(h.hmac(server_key.expose(), &auth_message));

        let mut message = without_proof;
        message.extend_from_slice(format!(",p={}", encode(&proof)).as_bytes());
        Ok((message, server_signature))
    }
}

/// `posit-number = %x31-39 *DIGIT` that fits in a `u32`.
fn parse_iterations(value: &[u8]) -> Result<u32, Error> {
    match value {
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(Error::Malformed("SCRAM iteration count too large"))
        }
        _ => Err(Error::Malformed("bad SCRAM iteration count")),
    }
}

/// The server's `e=` value, kept short and printable for logs.
fn server_error(value: &[u8]) -> Error {
    let text: String = value
        .iter()
        .take(MAX_SERVER_ERROR)
        .map(|b| {
            if b.is_ascii_graphic() {
                *b as char
            } else {
                '?'
            }
        })
        .collect();
    Error::ServerError(text)
}

/// Checks a server-final message (`v=` or `e=`, RFC 5802 §5.1).
fn verify_server_final(message: &[u8], expected: &Secret<Vec<u8>>) -> Result<(), Error> {
    let attrs = attributes(message)?;
    match attrs.first() {
        Some(Attr { name: b'e', value }) => Err(server_error(value)),
        Some(Attr { name: b'v', value }) => {
            if ct_eq(&base64(value)?, expected.expose()) {
                Ok(())
            } else {
                Err(Error::ServerSignatureMismatch)
            }
        }
        _ => Err(Error::Malformed("SCRAM server-final needs v= or e=")),
    }
}

impl ClientMechanism for ScramClient {
    fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        if credentials.authcid.is_empty() {
            return Err(Error::OutOfSequence("SCRAM needs a user name"));
        }
        let flag = match (&credentials.channel_binding, self.plus) {
            (Some(cb), true) => CbFlag::Required(cb.kind.name().to_owned()),
            (None, true) => return Err(Error::OutOfSequence("-PLUS needs channel-binding data")),
            // We could bind but the server did not offer -PLUS: say so, so that a server that
            // does support binding detects the downgrade (RFC 5802 §6).
            (Some(_), false) => CbFlag::ClientOnly,
            (None, false) => CbFlag::No,
        };
        let gs2_header = gs2::write_header(&flag, credentials.authzid.as_deref());
        let client_nonce = nonce(&mut credentials.random, credentials.nonce_len);
        let client_first_bare = format!(
            "n={},r={client_nonce}",
            gs2::encode_saslname(&credentials.authcid)
        );
        let message = format!("{gs2_header}{client_first_bare}").into_bytes();
        self.state = State::SentFirst {
            gs2_header,
            client_first_bare,
            client_nonce,
        };
        Ok(Some(message))
    }

    fn step(
        &mut self,
        challenge: &[u8],
        credentials: &mut ClientCredentials,
    ) -> Result<Vec<u8>, Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::SentFirst {
                gs2_header,
                client_first_bare,
                client_nonce,
            } => {
                let (message, server_signature) = self.client_final(
                    challenge,
                    &gs2_header,
                    &client_first_bare,
                    &client_nonce,
                    credentials,
                )?;
                self.state = State::SentFinal { server_signature };
                Ok(message)
            }
            // The protocol cannot carry data with success, so the server sent its signature as
            // a last challenge; the empty response lets it report success.
            State::SentFinal { server_signature } => {
                verify_server_final(challenge, &server_signature)?;
                self.state = State::Verified;
                Ok(Vec::new())
            }
            _ => Err(Error::Malformed("unexpected SCRAM challenge")),
        }
    }

    fn finish(
        &mut self,
        additional_data: Option<&[u8]>,
        _credentials: &mut ClientCredentials,
    ) -> Result<(), Error> {
        match (
            std::mem::replace(&mut self.state, State::Done),
            additional_data,
        ) {
            (State::SentFinal { server_signature }, Some(data)) if !data.is_empty() => {
                verify_server_final(data, &server_signature)
            }
            (State::Verified, None | Some([])) => Ok(()),
            (State::Verified, Some(_)) => {
                Err(Error::Malformed("SCRAM server signature sent twice"))
            }
            // Success without the server proving it knows the password: the server may be an
            // impostor that accepts anyone (RFC 5802 §9).
            _ => Err(Error::ServerSignatureMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_counts() {
        assert_eq!(parse_iterations(b"4096"), Ok(4096));
        for bad in [&b""[..], b"0", b"04096", b"-1", b"4096a", b"99999999999"] {
            assert!(parse_iterations(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_errors_are_sanitised() {
        assert_eq!(
            server_error(b"invalid-proof"),
            Error::ServerError("invalid-proof".into())
        );
        let long = server_error(&[b'x'; 500]);
        assert!(matches!(long, Error::ServerError(s) if s.len() == MAX_SERVER_ERROR));
        assert_eq!(server_error(b"a\nb"), Error::ServerError("a?b".into()));
    }
}
