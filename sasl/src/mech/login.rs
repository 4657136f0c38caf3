//! LOGIN (draft-murchison-sasl-login-00): the server asks `Username:`, then `Password:`.
//!
//! The draft's §2.2 challenges are "User Name" and "Password"; its note allows `Username:` and
//! `Password:`, which "at least one widely deployed client" requires, so those are sent.
//! Obsolete but still what Outlook and many appliances send. The draft (§2) lets the client
//! send the user name as an initial response, which this server accepts; the client here never
//! sends one, since some old servers do not expect it. LOGIN has no authorization identity.

use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, Secret,
    ServerContext, ServerMechanism, ServerStep,
};

/// Challenges of the draft §2. Clients must not depend on the text, but some do.
const USERNAME: &[u8] = b"Username:";
const PASSWORD: &[u8] = b"Password:";

/// The same per-field limit PLAIN has (RFC 4616 §2). The draft's "less than 64 characters"
/// for the user name (§2) is too short for the full addresses many servers use as user names.
const MAX_FIELD: usize = 255;

/// Draft §2: passwords may be any octets but NUL, CR and LF; user names are UTF-8 text.
fn forbidden(b: &u8) -> bool {
    matches!(b, 0 | b'\r' | b'\n')
}

#[derive(Debug, Default)]
pub(crate) struct LoginServer {
    state: ServerState,
}

#[derive(Debug, Default)]
enum ServerState {
    #[default]
    New,
    AskedUser,
    AskedPassword(String),
    Done,
}

impl ServerMechanism for LoginServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Login
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        _context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        match (std::mem::replace(&mut self.state, ServerState::Done), input) {
            (ServerState::New, None) => {
                self.state = ServerState::AskedUser;
                Ok(ServerStep::Challenge(USERNAME.to_vec()))
            }
            (ServerState::New | ServerState::AskedUser, Some(user)) => {
                if user.is_empty() || user.len() > MAX_FIELD || user.iter().any(forbidden) {
                    return Err(Error::Malformed("bad LOGIN user name"));
                }
                let user = std::str::from_utf8(user)
                    .map_err(|_| Error::Malformed("LOGIN user name is not UTF-8"))?;
                self.state = ServerState::AskedPassword(user.to_owned());
                Ok(ServerStep::Challenge(PASSWORD.to_vec()))
            }
            (ServerState::AskedPassword(user), Some(password)) => {
                if password.is_empty()
                    || password.len() > MAX_FIELD
                    || password.iter().any(forbidden)
                {
                    return Err(Error::Malformed("bad LOGIN password"));
                }
                let password = Secret::new(password.to_vec());
                if !credentials.verify_password(&user, &password)? {
                    return Err(Error::AuthenticationFailed);
                }
                let authzid = authorize(credentials, &user, None)?;
                Ok(ServerStep::Success(Outcome {
                    authcid: user,
                    authzid,
                    additional_data: None,
                }))
            }
            _ => Err(Error::OutOfSequence("LOGIN step without a response")),
        }
    }
}

/// Answers the first challenge with the user name and the second with the password, whatever
/// their text: servers word them differently (`User Name`, `Username:`, localised prompts).
#[derive(Debug, Default)]
pub(crate) struct LoginClient {
    answered: u8,
}

impl ClientMechanism for LoginClient {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Login
    }

    fn start(&mut self, _credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    fn step(
        &mut self,
        _challenge: &[u8],
        credentials: &mut ClientCredentials,
    ) -> Result<Vec<u8>, Error> {
        self.answered += 1;
        match self.answered {
            1 => Ok(credentials.authcid.as_bytes().to_vec()),
            2 => credentials
                .password
                .as_ref()
                .map(|p| p.expose().as_bytes().to_vec())
                .ok_or(Error::OutOfSequence("LOGIN needs a password")),
            _ => Err(Error::Malformed("LOGIN has only two challenges")),
        }
    }

    fn finish(
        &mut self,
        additional_data: Option<&[u8]>,
        _: &mut ClientCredentials,
    ) -> Result<(), Error> {
        match additional_data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("LOGIN success carries no data")),
        }
    }
}
