//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, in one client message.
//!
//! RFC 4616 §2: each field is UTF-8 of at most 255 octets and contains no NUL; authcid and
//! passwd are not empty. With no initial response the server sends an empty challenge.

use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, Secret,
    ServerContext, ServerMechanism, ServerStep,
};

/// RFC 4616 §2 limits each field to 255 octets.
const MAX_FIELD: usize = 255;

#[derive(Debug, Default)]
pub(crate) struct PlainServer {
    challenged: bool,
}

impl ServerMechanism for PlainServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Plain
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        _context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let Some(message) = input else {
            if self.challenged {
                return Err(Error::OutOfSequence("PLAIN expects a response"));
            }
            self.challenged = true;
            return Ok(ServerStep::Challenge(Vec::new()));
        };
        let (authzid, authcid, password) = parse(message)?;
        let password = Secret::new(password.to_vec());
        if !credentials.verify_password(authcid, &password)? {
            return Err(Error::AuthenticationFailed);
        }
        let authzid = authorize(credentials, authcid, authzid)?;
        Ok(ServerStep::Success(Outcome {
            authcid: authcid.to_owned(),
            authzid,
            additional_data: None,
        }))
    }
}

fn utf8(field: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(field).map_err(|_| Error::Malformed("PLAIN field is not UTF-8"))
}

/// Splits a PLAIN message into (authzid, authcid, passwd).
fn parse(message: &[u8]) -> Result<(Option<&str>, &str, &[u8]), Error> {
    let mut parts = message.splitn(3, |b| *b == 0);
    let (Some(authzid), Some(authcid), Some(password)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Malformed("PLAIN message needs two NUL separators"));
    };
    if password.contains(&0) {
        return Err(Error::Malformed("NUL inside the PLAIN password"));
    }
    if authcid.is_empty() || password.is_empty() {
        return Err(Error::Malformed("empty PLAIN user name or password"));
    }
    if [authzid, authcid, password]
        .iter()
        .any(|f| f.len() > MAX_FIELD)
    {
        return Err(Error::Malformed("PLAIN field longer than 255 octets"));
    }
    let authzid = if authzid.is_empty() {
        None
    } else {
        Some(utf8(authzid)?)
    };
    utf8(password)?;
    Ok((authzid, utf8(authcid)?, password))
}

#[derive(Debug, Default)]
pub(crate) struct PlainClient;

impl PlainClient {
    fn message(credentials: &ClientCredentials) -> Result<Vec<u8>, Error> {
        let password = credentials
            .password
            .as_ref()
            .ok_or(Error::OutOfSequence("PLAIN needs a password"))?;
        let mut m = Vec::new();
        m.extend_from_slice(credentials.authzid.as_deref().unwrap_or("").as_bytes());
        m.push(0);
        m.extend_from_slice(credentials.authcid.as_bytes());
        m.push(0);
        m.extend_from_slice(password.expose().as_bytes());
        Ok(m)
    }
}

impl ClientMechanism for PlainClient {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Plain
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        Self::message(credentials).map(Some)
    }

    fn step(
        &mut self,
        challenge: &[u8],
        _credentials: &mut ClientCredentials,
    ) -> Result<Vec<u8>, Error> {
        // The initial response was already sent (or handed out by the session in answer to the
        // first challenge); PLAIN has no second round.
        let _ = challenge;
        Err(Error::Malformed(
            "PLAIN has no challenge after the initial response",
        ))
    }

    fn finish(
        &mut self,
        additional_data: Option<&[u8]>,
        _: &mut ClientCredentials,
    ) -> Result<(), Error> {
        match additional_data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("PLAIN success carries no data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4616_examples_parse() {
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" and "Ursel\0Kurt\0xipj3plmq".
        assert_eq!(
            parse(b"\0tim\0tanstaaftanstaaf").unwrap(),
            (None, "tim", &b"tanstaaftanstaaf"[..])
        );
        assert_eq!(
            parse(b"Ursel\0Kurt\0xipj3plmq").unwrap(),
            (Some("Ursel"), "Kurt", &b"xipj3plmq"[..])
        );
        assert!(parse(b"tim\0pw").is_err());
        assert!(parse(b"\0\0pw").is_err());
        assert!(parse(b"\0tim\0").is_err());
        assert!(parse(b"\0tim\0p\0w").is_err());
        assert!(parse(b"\0\xff\0pw").is_err());
    }
}
