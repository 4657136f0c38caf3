//! EXTERNAL (RFC 4422 Appendix A): the client is already authenticated outside SASL (a verified
//! TLS client certificate, a Unix socket's peer credentials) and sends only the authorization
//! identity it wants, empty for "whoever I am".
//!
//! The caller puts the external identity in [`ServerContext::external_identity`];
//! [`Credentials::external_user`] maps it to a user, and a non-empty authzid must pass
//! [`crate::server::authorize`] like any other.

use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, ServerContext,
    ServerMechanism, ServerStep,
};

/// The longest authzid accepted, as for PLAIN (RFC 4616 §2).
const MAX_AUTHZID: usize = 255;

#[derive(Debug, Default)]
pub(crate) struct ExternalServer {
    challenged: bool,
}

impl ServerMechanism for ExternalServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::External
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let Some(message) = input else {
            // RFC 4422 A.1: without an initial response the server sends an empty challenge.
            if std::mem::replace(&mut self.challenged, true) {
                return Err(Error::OutOfSequence("EXTERNAL expects a response"));
            }
            return Ok(ServerStep::Challenge(Vec::new()));
        };
        if message.len() > MAX_AUTHZID || message.contains(&0) {
            return Err(Error::Malformed("bad EXTERNAL authorization identity"));
        }
        let authzid = std::str::from_utf8(message)
            .map_err(|_| Error::Malformed("EXTERNAL authorization identity is not UTF-8"))?;
        let identity = context
            .external_identity
            .as_deref()
            .ok_or(Error::AuthenticationFailed)?;
        let user = credentials
            .external_user(identity)?
            .ok_or(Error::AuthenticationFailed)?;
        let authzid = authorize(credentials, &user, Some(authzid))?;
        Ok(ServerStep::Success(Outcome {
            authcid: user,
            authzid,
            additional_data: None,
        }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct ExternalClient;

impl ClientMechanism for ExternalClient {
    fn mechanism(&self) -> Mechanism {
        Mechanism::External
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        Ok(Some(
            credentials
                .authzid
                .as_deref()
                .unwrap_or("")
                .as_bytes()
                .to_vec(),
        ))
    }

    fn step(&mut self, _: &[u8], _: &mut ClientCredentials) -> Result<Vec<u8>, Error> {
        Err(Error::Malformed(
            "EXTERNAL has no challenge after the initial response",
        ))
    }

    fn finish(&mut self, data: Option<&[u8]>, _: &mut ClientCredentials) -> Result<(), Error> {
        match data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("EXTERNAL success carries no data")),
        }
    }
}
