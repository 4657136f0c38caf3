//! XOAUTH2, Google's pre-standard bearer-token mechanism, still the one Gmail and Outlook.com
//! document: `user=<user>^Aauth=Bearer <token>^A^A` in one client message.
//!
//! There is no RFC; the format is Google's "OAuth 2.0 Mechanism" page (developers.google.com,
//! gmail/imap/xoauth2-protocol). The token is checked with [`Credentials::verify_token`]; the
//! `user` is the account to act as and goes through [`crate::server::authorize`] against the
//! identity the token belongs to. On a bad token the server sends a JSON error as a challenge
//! (Google sends `{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`),
//! the client answers with an empty response (or `%x01`, as OAUTHBEARER clients do), and the
//! server fails.

use crate::mech::oauthbearer::{bearer_token, parse_kvpairs};
use crate::server::authorize;
use crate::{
    ClientCredentials, ClientMechanism, Credentials, Error, Mechanism, Outcome, Secret,
    ServerContext, ServerMechanism, ServerStep,
};

/// The error document sent on a bad token.
pub(crate) const ERROR_JSON: &[u8] = br#"{"status":"401","schemes":"bearer"}"#;

#[derive(Debug, Default)]
pub(crate) struct XOAuth2Server {
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

impl ServerMechanism for XOAuth2Server {
    fn mechanism(&self) -> Mechanism {
        Mechanism::XOAuth2
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
            (ServerState::ErrorSent, Some([] | [0x01])) => return Err(Error::AuthenticationFailed),
            (ServerState::ErrorSent, Some(_)) => {
                return Err(Error::Malformed(
                    "expected an empty response after the error",
                ));
            }
            _ => return Err(Error::OutOfSequence("XOAUTH2 expects a response")),
        };
        let pairs = parse_kvpairs(message)?;
        let field = |key: &[u8]| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let user = field(b"user")
            .filter(|u| !u.is_empty())
            .ok_or(Error::Malformed("XOAUTH2 without user"))?;
        // parse_kvpairs admits only printable ASCII and whitespace in values.
        let user = std::str::from_utf8(user).map_err(|_| Error::Malformed("XOAUTH2 user"))?;
        let auth = field(b"auth").ok_or(Error::Malformed("XOAUTH2 without auth"))?;
        let identity = match bearer_token(auth) {
            Some(token) => {
                credentials.verify_token(user, &Secret::new(token.to_vec()), Mechanism::XOAuth2)?
            }
            None => None,
        };
        let Some(authcid) = identity else {
            self.state = ServerState::ErrorSent;
            return Ok(ServerStep::Challenge(ERROR_JSON.to_vec()));
        };
        let authzid = authorize(credentials, &authcid, Some(user))?;
        Ok(ServerStep::Success(Outcome {
            authcid,
            authzid,
            additional_data: None,
        }))
    }
}

#[derive(Debug, Default)]
pub(crate) struct XOAuth2Client {
    got_error: bool,
}

impl ClientMechanism for XOAuth2Client {
    fn mechanism(&self) -> Mechanism {
        Mechanism::XOAuth2
    }

    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error> {
        let token = credentials
            .token
            .as_ref()
            .ok_or(Error::OutOfSequence("XOAUTH2 needs a token"))?;
        let user = credentials
            .authzid
            .as_deref()
            .unwrap_or(&credentials.authcid);
        Ok(Some(
            format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
        ))
    }

    fn step(&mut self, _challenge: &[u8], _: &mut ClientCredentials) -> Result<Vec<u8>, Error> {
        if std::mem::replace(&mut self.got_error, true) {
            return Err(Error::Malformed("XOAUTH2 has only one error challenge"));
        }
        Ok(Vec::new())
    }

    fn finish(&mut self, data: Option<&[u8]>, _: &mut ClientCredentials) -> Result<(), Error> {
        if self.got_error {
            return Err(Error::ServerError(
                "success reported after an XOAUTH2 error".into(),
            ));
        }
        match data {
            None | Some([]) => Ok(()),
            Some(_) => Err(Error::Malformed("XOAUTH2 success carries no data")),
        }
    }
}
