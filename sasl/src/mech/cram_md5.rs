//! CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! RFC 2195 §2 builds the challenge as a msg-id, `<pid.timestamp@hostname>`. This crate has no
//! clock and no process id, so both numbers come from the context's random source
//! (`<random32.random64@hostname>`): the challenge only has to be unique, and random numbers are
//! at least as unique as a timestamp. The server needs the plaintext password
//! ([`Credentials::plaintext_password`]); a known user whose store keeps only hashes fails with
//! [`Error::TransitionNeeded`]. There is no authorization identity.

use hmac::{Hmac, Mac};
use md5::Md5;

use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, ServerContext,
    ServerMechanism, ServerStep, ct_eq,
};

/// `HMAC-MD5(key, text)` (RFC 2104).
fn hmac_md5(key: &[u8], text: &[u8]) -> [u8; 16] {
    let mut mac = Hmac::<Md5>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(text);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[derive(Debug, Default)]
pub(crate) struct CramMd5Server {
    challenge: Option<Vec<u8>>,
}

impl CramMd5Server {
    fn challenge(context: &mut ServerContext) -> Vec<u8> {
        let mut raw = [0u8; 12];
        context.random.fill(&mut raw);
        let a = u32::from_be_bytes(raw[..4].try_into().expect("4 bytes"));
        let b = u64::from_be_bytes(raw[4..].try_into().expect("8 bytes"));
        let host = if context.hostname.is_empty() {
            "localhost"
        } else {
            &context.hostname
        };
        format!("<{a}.{b}@{host}>").into_bytes()
    }
}

impl ServerMechanism for CramMd5Server {
    fn mechanism(&self) -> Mechanism {
        Mechanism::CramMd5
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let Some(challenge) = self.challenge.take() else {
            if input.is_some() {
                // The server speaks first in CRAM-MD5: there is no initial response.
                return Err(Error::Malformed("CRAM-MD5 takes no initial response"));
            }
            let c = Self::challenge(context);
            self.challenge = Some(c.clone());
            return Ok(ServerStep::Challenge(c));
        };
        let response = input.ok_or(Error::OutOfSequence("CRAM-MD5 expects a response"))?;
        let space = response
            .iter()
            .rposition(|b| *b == b' ')
            .ok_or(Error::Malformed("CRAM-MD5 response without a space"))?;
        let (user, digest) = (&response[..space], &response[space + 1..]);
        let user = std::str::from_utf8(user)
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or(Error::Malformed("bad CRAM-MD5 user name"))?;
        let digest = unhex(digest)
            .filter(|d| d.len() == 16)
            .ok_or(Error::Malformed("CRAM-MD5 digest is not 32 hex digits"))?;
        let Some(password) = credentials.plaintext_password(user)? else {
            return Err(if credentials.user_exists(user)? {
                Error::TransitionNeeded
            } else {
                Error::AuthenticationFailed
            });
        };
        let expected = hmac_md5(password.expose(), &challenge);
        if !ct_eq(&expected, &digest) {
            return Err(Error::AuthenticationFailed);
        }
        let authzid = authorize(credentials, user, None)?;
        Ok(ServerStep::Success(Outcome {
            authcid: user.to_owned(),
            authzid,
            additional_data: None,
        }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct CramMd5Client {
    answered: bool,
}

impl ClientMechanism for CramMd5Client {
    fn mechanism(&self) -> Mechanism {
        Mechanism::CramMd5
    }

    fn start(&mut self, _credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    fn step(
        &mut self,
        challenge: &[u8],
        credentials: &mut ClientCredentials,
    ) -> Result<Vec<u8>, Error> {
        if std::mem::replace(&mut self.answered, true) {
            return Err(Error::Malformed("CRAM-MD5 has only one challenge"));
        }
        if challenge.is_empty() {
            return Err(Error::Malformed("empty CRAM-MD5 challenge"));
        }
        let password = credentials
            .password
            .as_ref()
            .ok_or(Error::OutOfSequence("CRAM-MD5 needs a password"))?;
        let digest = hmac_md5(password.expose().as_bytes(), challenge);
        Ok(format!("{} {}", credentials.authcid, hex(&digest)).into_bytes())
    }

    fn finish(
        &mut self,
        additional_data: Option<&[u8]>,
        _: &mut ClientCredentials,
    ) -> Result<(), Error> {
        match additional_data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("CRAM-MD5 success carries no data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = hmac_md5(
            b"tanstaaftanstaaf",
            b"<1896.697170952@postoffice.reston.mci.net>",
        );
        assert_eq!(hex(&d), "b913a602c7eda7a495b4e6e7334d3890");
        assert_eq!(unhex(hex(&d).to_uppercase().as_bytes()).unwrap(), d);
        assert_eq!(unhex(b"0"), None);
        assert_eq!(unhex(b"0g"), None);
    }
}
