//! OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token (RFC 6750) in one client message.
//!
//! ```text
//! client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep          ; RFC 7628 §3.1
//! kvpair      = key "=" value kvsep        kvsep = %x01
//! e.g.          n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer vF9d..^A^A
//! ```
//!
//! The token is checked with [`Credentials::verify_token`], which returns the identity the
//! token belongs to; the GS2 authzid, when present, is the user to act as and goes through
//! [`crate::server::authorize`]. On a bad token the server sends the JSON error of RFC 7628
//! §3.2.2 as a challenge, waits for the client's `%x01` dummy response, and then fails (§3.2.3).
//! `host` and `port` are parsed and validated in syntax but not compared with anything: the
//! server may be reached under several names, and comparing is the token verifier's business.
//! Channel binding (`p=`) is not defined for OAUTHBEARER and is refused.

use crate::mech::gs2::{self, CbFlag};
use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, Secret,
    ServerContext, ServerMechanism, ServerStep,
};

const KVSEP: u8 = 0x01;

/// The error document sent on a bad token (RFC 7628 §3.2.2; `scope` and
/// `openid-configuration` are optional and unknown to this crate).
pub(crate) const INVALID_TOKEN: &[u8] = br#"{"status":"invalid_token","schemes":"bearer"}"#;

/// A key and its value.
pub(crate) type KvPair<'a> = (&'a [u8], &'a [u8]);

/// Parses `*kvpair kvsep` (RFC 7628 §3.1): the pairs, then one final separator ending the data.
/// Keys are `1*ALPHA`, values `*(VCHAR / SP / HTAB / CR / LF)`; a repeated key is an error.
pub(crate) fn parse_kvpairs(mut data: &[u8]) -> Result<Vec<KvPair<'_>>, Error> {
    let mut pairs: Vec<KvPair<'_>> = Vec::new();
    loop {
        match data {
            [KVSEP] => return Ok(pairs),
            [] => return Err(Error::Malformed("key/value list without final %x01")),
            _ => {}
        }
        let end = data
            .iter()
            .position(|b| *b == KVSEP)
            .ok_or(Error::Malformed("key/value pair without %x01"))?;
        let pair = &data[..end];
        let eq = pair
            .iter()
            .position(|b| *b == b'=')
            .ok_or(Error::Malformed("key/value pair without '='"))?;
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        if key.is_empty() || !key.iter().all(u8::is_ascii_alphabetic) {
            return Err(Error::Malformed("bad key in key/value pair"));
        }
        if !value
            .iter()
            .all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Err(Error::Malformed("bad value in key/value pair"));
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(Error::Malformed("repeated key in key/value list"));
        }
        pairs.push((key, value));
        data = &data[end + 1..];
    }
}

/// The token of an `auth` value `Bearer <b64token>` (RFC 6750 §2.1; the scheme name is
/// case-insensitive), `None` when the value is not a bearer credential.
pub(crate) fn bearer_token(auth: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = auth.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body_len = token
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(b)))
        .unwrap_or(token.len());
    let ok = body_len > 0 && token[body_len..].iter().all(|b| *b == b'=');
    ok.then_some(token)
}

fn value<'a>(pairs: &[(&[u8], &'a [u8])], key: &[u8]) -> Option<&'a [u8]> {
    pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

#[derive(Debug, Default)]
pub(crate) struct OAuthBearerServer {
    state: ServerState,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum ServerState {
    #[default]
    New,
    Challenged,
    ErrorSent,
    Done,
}

impl ServerMechanism for OAuthBearerServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::OAuthBearer
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        _context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let state = std::mem::replace(&mut self.state, ServerState::Done);
        let message = match (state, input) {
            (ServerState::New, None) => {
                self.state = ServerState::Challenged;
                return Ok(ServerStep::Challenge(Vec::new()));
            }
            (ServerState::New | ServerState::Challenged, Some(m)) => m,
            (ServerState::ErrorSent, Some([KVSEP])) => return Err(Error::AuthenticationFailed),
            (ServerState::ErrorSent, Some(_)) => {
                return Err(Error::Malformed("expected the %x01 dummy response"));
            }
            _ => return Err(Error::OutOfSequence("OAUTHBEARER expects a response")),
        };
        if message == [KVSEP] {
            // RFC 7628 §3.1: valid only after an error; first, it names no user at all.
            return Err(Error::Malformed("OAUTHBEARER dummy response out of place"));
        }
        let (header, rest) = gs2::parse_header(message)?;
        if let CbFlag::Required(_) = header.flag {
            return Err(Error::ChannelBinding("OAUTHBEARER has no channel binding"));
        }
        let pairs = match rest {
            [KVSEP, pairs @ ..] => parse_kvpairs(pairs)?,
            _ => {
                return Err(Error::Malformed(
                    "OAUTHBEARER GS2 header not followed by %x01",
                ));
            }
        };
        if let Some(port) = value(&pairs, b"port")
            && (port.is_empty() || !port.iter().all(u8::is_ascii_digit) || port[0] == b'0')
        {
            return Err(Error::Malformed("bad OAUTHBEARER port"));
        }
        let auth = value(&pairs, b"auth").ok_or(Error::Malformed("OAUTHBEARER without auth"))?;
        let identity = match bearer_token(auth) {
            Some(token) => credentials.verify_token(
                header.authzid.as_deref().unwrap_or(""),
                &Secret::new(token.to_vec()),
                Mechanism::OAuthBearer,
            )?,
            None => None,
        };
        let Some(authcid) = identity else {
            self.state = ServerState::ErrorSent;
            return Ok(ServerStep::Challenge(INVALID_TOKEN.to_vec()));
        };
        let authzid = authorize(credentials, &authcid, header.authzid.as_deref())?;
        Ok(ServerStep::Success(Outcome {
            authcid,
            authzid,
            additional_data: None,
        }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct OAuthBearerClient {
    got_error: bool,
}

impl ClientMechanism for OAuthBearerClient {
    fn mechanism(&self) -> Mechanism {
        Mechanism::OAuthBearer
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        let token = credentials
            .token
            .as_ref()
            .ok_or(Error::OutOfSequence("OAUTHBEARER needs a token"))?;
        let user = credentials
            .authzid
            .as_deref()
            .unwrap_or(&credentials.authcid);
        let mut m = gs2::write_header(&CbFlag::No, Some(user)).into_bytes();
        m.push(KVSEP);
        if let Some((host, port)) = &credentials.host {
            m.extend_from_slice(format!("host={host}\x01port={port}\x01").as_bytes());
        }
        m.extend_from_slice(b"auth=Bearer ");
        m.extend_from_slice(token.expose().as_bytes());
        m.extend_from_slice(&[KVSEP, KVSEP]);
        Ok(Some(m))
    }

    fn step(&mut self, challenge: &[u8], _: &mut ClientCredentials) -> Result<Vec<u8>, Error> {
        // The only challenge after the initial response is the error document; RFC 7628
        // §3.2.3 asks for a dummy response so that the server can fail the exchange.
        if std::mem::replace(&mut self.got_error, true) {
            return Err(Error::Malformed("OAUTHBEARER has only one error challenge"));
        }
        let _ = challenge;
        Ok(vec![KVSEP])
    }

    fn finish(&mut self, data: Option<&[u8]>, _: &mut ClientCredentials) -> Result<(), Error> {
        if self.got_error {
            return Err(Error::ServerError(
                "success reported after an OAUTHBEARER error".into(),
            ));
        }
        match data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("OAUTHBEARER success carries no data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvpairs() {
        let p = parse_kvpairs(b"host=a\x01port=143\x01\x01").unwrap();
        assert_eq!(p, vec![(&b"host"[..], &b"a"[..]), (b"port", b"143")]);
        assert_eq!(parse_kvpairs(b"\x01").unwrap(), vec![]);
        for bad in [
            &b""[..],
            b"a=b\x01",
            b"=b\x01\x01",
            b"a1=b\x01\x01",
            b"ab\x01\x01",
            b"a=\x00\x01\x01",
            b"a=1\x01a=2\x01\x01",
        ] {
            assert!(parse_kvpairs(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bearer() {
        assert_eq!(bearer_token(b"Bearer abc=="), Some(&b"abc=="[..]));
        assert_eq!(bearer_token(b"bEaReR a-._~+/"), Some(&b"a-._~+/"[..]));
        for bad in [
            &b""[..],
            b"Bearer ",
            b"Bearer =",
            b"Basic abc",
            b"Bearer a b",
            b"Bearer a=b",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }
}
