//! The client side of an exchange: [`ClientSession`] drives one mechanism.
//!
//! ```text
//! let mech = choose(&offered, &credentials, tls)?;             // from the server's capabilities
//! let mut c = ClientSession::new(mech, credentials)?;
//! let ir = c.start(protocol_supports_initial_response)?;      // AUTH <mech> [base64(ir)]
//! on challenge:  send base64(c.step(&challenge)?)
//! on success:    c.finish(additional_data)?                   // SCRAM verifies the server here
//! ```
//!
//! When the protocol cannot carry an initial response (IMAP without SASL-IR), the session keeps
//! it and answers the server's first, empty challenge with it.

use crate::random::BoxedRandom;
use crate::{ChannelBinding, Error, Mechanism, Secret};

/// What the client knows: who it is and how it proves it.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    /// The authentication identity (user name).
    pub authcid: String,
    /// The authorization identity, when the client wants to act as another user.
    pub authzid: Option<String>,
    /// The password, for PLAIN, LOGIN, CRAM-MD5 and SCRAM.
    pub password: Option<Secret<String>>,
    /// A bearer token, for OAUTHBEARER and XOAUTH2.
    pub token: Option<Secret<String>>,
    /// The server's host name and port, which OAUTHBEARER sends along (RFC 7628 §3.1).
    pub host: Option<(String, u16)>,
    /// Trace information for ANONYMOUS (RFC 4505 §3), often an e-mail address.
    pub anonymous_trace: Option<String>,
    /// Channel-binding data of the TLS connection, for the `-PLUS` mechanisms.
    pub channel_binding: Option<ChannelBinding>,
    /// Where nonces come from.
    pub random: BoxedRandom,
    /// Length in characters of the client nonce (SCRAM); `0` means 24. Values below 16 are
    /// raised to 16. Known-answer tests set it to reproduce RFC exchanges.
    pub nonce_len: usize,
}

impl ClientCredentials {
    /// Credentials with a user name and password.
    pub fn password(authcid: impl Into<String>, password: impl Into<String>) -> Self {
        ClientCredentials {
            authcid: authcid.into(),
            password: Some(Secret::new(password.into())),
            ..Default::default()
        }
    }

    /// Whether these credentials can run `mechanism` at all.
    pub fn can_use(&self, mechanism: Mechanism) -> bool {
        match mechanism {
            Mechanism::Plain | Mechanism::Login | Mechanism::CramMd5 => self.password.is_some(),
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => self.password.is_some(),
            Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus => {
                self.password.is_some() && self.channel_binding.is_some()
            }
            Mechanism::OAuthBearer | Mechanism::XOAuth2 => self.token.is_some(),
            Mechanism::Anonymous => self.anonymous_trace.is_some(),
            Mechanism::External => true,
        }
    }
}

/// One mechanism's client side, as a step machine.
pub trait ClientMechanism: Send {
    /// Which mechanism this is.
    fn mechanism(&self) -> Mechanism;

    /// The initial response of a client-first mechanism, `None` for a server-first one.
    fn start(&mut self, credentials: &mut ClientCredentials) -> Result<Option<Vec<u8>>, Error>;

    /// Answers a server challenge (decoded).
    fn step(
        &mut self,
        challenge: &[u8],
        credentials: &mut ClientCredentials,
    ) -> Result<Vec<u8>, Error>;

    /// The server reported success, with additional data if the protocol carries it. A
    /// mechanism that authenticates the server (SCRAM) fails here unless it has verified it.
    fn finish(
        &mut self,
        additional_data: Option<&[u8]>,
        credentials: &mut ClientCredentials,
    ) -> Result<(), Error>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Running,
    Done,
}

/// One client-side exchange.
pub struct ClientSession {
    mechanism: Box<dyn ClientMechanism>,
    credentials: ClientCredentials,
    /// An initial response the protocol could not carry with the command.
    held_initial: Option<Vec<u8>>,
    state: State,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("mechanism", &self.mechanism.mechanism())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// Prepares a built-in mechanism with these credentials.
    pub fn new(
        mechanism: Mechanism,
        credentials: ClientCredentials,
    ) -> Result<ClientSession, Error> {
        if !credentials.can_use(mechanism) {
            return Err(Error::OutOfSequence(
                "credentials do not fit the chosen mechanism",
            ));
        }
        Ok(Self::with_mechanism(
            crate::mech::new_client(mechanism),
            credentials,
        ))
    }

    /// Runs a mechanism of the caller's.
    pub fn with_mechanism(
        mechanism: Box<dyn ClientMechanism>,
        credentials: ClientCredentials,
    ) -> Self {
        ClientSession {
            mechanism,
            credentials,
            held_initial: None,
            state: State::New,
        }
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism.mechanism()
    }

    /// Starts the exchange. Returns the initial response to send with the command when the
    /// mechanism has one and `initial_response_allowed`; otherwise `None`, and the response is
    /// sent as the answer to the server's first (empty) challenge.
    pub fn start(&mut self, initial_response_allowed: bool) -> Result<Option<Vec<u8>>, Error> {
        if self.state != State::New {
            return Err(Error::OutOfSequence("start called twice"));
        }
        self.state = State::Running;
        let ir = self
            .mechanism
            .start(&mut self.credentials)
            .inspect_err(|_| self.state = State::Done)?;
        if initial_response_allowed {
            Ok(ir)
        } else {
            self.held_initial = ir;
            Ok(None)
        }
    }

    /// Answers a server challenge (decoded).
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, Error> {
        match self.state {
            State::New => return Err(Error::OutOfSequence("step before start")),
            State::Done => return Err(Error::OutOfSequence("step after the exchange ended")),
            State::Running => {}
        }
        if let Some(ir) = self.held_initial.take() {
            if challenge.is_empty() {
                return Ok(ir);
            }
            self.state = State::Done;
            return Err(Error::Malformed("expected an empty first challenge"));
        }
        self.mechanism
            .step(challenge, &mut self.credentials)
            .inspect_err(|_| self.state = State::Done)
    }

    /// The server reported success. Returns an error when the mechanism could not verify the
    /// server (a SCRAM server that never proved knowledge of the password): treat the session
    /// as not authenticated and close it.
    pub fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), Error> {
        if self.state != State::Running {
            return Err(Error::OutOfSequence("finish outside a running exchange"));
        }
        self.state = State::Done;
        self.mechanism
            .finish(additional_data, &mut self.credentials)
    }
}

/// Picks the strongest mechanism that the server offers, the credentials can run, and the
/// channel allows: mechanisms that expose the password are chosen only over TLS unless
/// `allow_plaintext` (loopback, tests).
pub fn choose<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    credentials: &ClientCredentials,
    tls: bool,
    allow_plaintext: bool,
) -> Option<Mechanism> {
    let offered: Vec<Mechanism> = offered
        .into_iter()
        .filter_map(Mechanism::from_name)
        .collect();
    Mechanism::ALL.into_iter().find(|m| {
        offered.contains(m)
            && credentials.can_use(*m)
            && (tls || allow_plaintext || !m.exposes_credentials())
            && *m != Mechanism::External
    })
}
