//! ANONYMOUS (RFC 4505): one client message of optional trace information.
//!
//! RFC 4505 §2: the trace is an e-mail address or an opaque token of at most 255 UTF-8
//! characters, prepared with the "trace" stringprep profile (§3), which maps nothing and
//! prohibits control, private-use, non-character, display-changing and tagging characters.
//! The server accepts the login only when [`Credentials::allow_anonymous`] says so; the
//! session then acts as the identity `anonymous`.

use crate::mech::saslprep::prohibited_in_trace;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, ServerContext,
    ServerMechanism, ServerStep,
};

/// RFC 4505 §2 limits the token to 255 characters; an address is held to the same.
const MAX_TRACE_CHARS: usize = 255;

/// The identity an anonymous session acts as.
pub(crate) const ANONYMOUS_USER: &str = "anonymous";

#[derive(Debug, Default)]
pub(crate) struct AnonymousServer {
    challenged: bool,
}

/// Validates a trace message (RFC 4505 §2 and §3).
fn parse_trace(message: &[u8]) -> Result<&str, Error> {
    let trace = std::str::from_utf8(message)
        .map_err(|_| Error::Malformed("ANONYMOUS trace is not UTF-8"))?;
    if trace.chars().count() > MAX_TRACE_CHARS {
        return Err(Error::Malformed(
            "ANONYMOUS trace longer than 255 characters",
        ));
    }
    if trace.chars().any(prohibited_in_trace) {
        return Err(Error::Malformed("prohibited character in ANONYMOUS trace"));
    }
    Ok(trace)
}

impl ServerMechanism for AnonymousServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Anonymous
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        _context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let Some(message) = input else {
            if std::mem::replace(&mut self.challenged, true) {
                return Err(Error::OutOfSequence("ANONYMOUS expects a response"));
            }
            return Ok(ServerStep::Challenge(Vec::new()));
        };
        let trace = parse_trace(message)?;
        if !credentials.allow_anonymous(trace)? {
            return Err(Error::AuthenticationFailed);
        }
        Ok(ServerStep::Success(Outcome {
            authcid: ANONYMOUS_USER.to_owned(),
            authzid: ANONYMOUS_USER.to_owned(),
            additional_data: None,
        }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct AnonymousClient;

impl ClientMechanism for AnonymousClient {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Anonymous
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        let trace = credentials.anonymous_trace.as_deref().unwrap_or("");
        // Refuse to send what a conforming server must reject.
        parse_trace(trace.as_bytes())
            .map_err(|_| Error::OutOfSequence("ANONYMOUS trace not allowed by RFC 4505"))?;
        Ok(Some(trace.as_bytes().to_vec()))
    }

    fn step(&mut self, _: &[u8], _: &mut ClientCredentials) -> Result<Vec<u8>, Error> {
        Err(Error::Malformed(
            "ANONYMOUS has no challenge after the initial response",
        ))
    }

    fn finish(&mut self, data: Option<&[u8]>, _: &mut ClientCredentials) -> Result<(), Error> {
        match data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("ANONYMOUS success carries no data")),
        }
    }
}
