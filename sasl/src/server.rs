//! The server side of an exchange: [`ServerSession`] drives one mechanism.
//!
//! ```text
//! let mut s = registry.server("PLAIN", &security, context)?;   // AUTH PLAIN [initial-response]
//! let mut step = s.start(initial_response, &credentials)?;
//! loop {
//!     match step {
//!         ServerStep::Challenge(c) => { send "334 " + base64(c); step = s.step(&response, &creds)? }
//!         ServerStep::Success(outcome) => { send "235"; break }
//!     }
//! }   // any Err: send the failure reply the error's kind() calls for
//! ```
//!
//! RFC 4422 §3.6 lets a mechanism send "additional data with success". SMTP (RFC 4954) and
//! IMAP4rev1 cannot carry it, so when [`ServerContext::success_data`] is false the session sends
//! that data as a last challenge, waits for the client's empty response, and only then reports
//! success: mechanisms never need to know which protocol they run in.

use crate::random::BoxedRandom;
use crate::{ChannelBinding, Credentials, Error, Mechanism, Secret, framing};

/// What the server knows about the connection, given to the mechanism when it starts.
#[derive(Debug, Default)]
pub struct ServerContext {
    /// Whether the connection is protected by TLS.
    pub tls: bool,
    /// The server's channel-binding data for this connection, when it has any. The `-PLUS`
    /// mechanisms need it; SCRAM without `-PLUS` uses its presence to detect a downgrade
    /// (RFC 5802 §6, the `y` flag).
    pub channel_binding: Option<ChannelBinding>,
    /// An identity established outside SASL (a verified TLS client certificate), for EXTERNAL.
    pub external_identity: Option<String>,
    /// Whether the protocol carries additional data with its success reply (IMAP4rev2 and
    /// IMAP with SASL-IR do, SMTP and POP3 do not).
    pub success_data: bool,
    /// The server's host name, used in server-made challenges (CRAM-MD5).
    pub hostname: String,
    /// Limit on one decoded client message; `0` means [`framing::DEFAULT_MAX_MESSAGE`].
    pub max_message: usize,
    /// Where nonces come from.
    pub random: BoxedRandom,
    /// Length in characters of the nonces this side adds (SCRAM's server nonce); `0` means 24.
    /// Values below 16 are raised to 16. Known-answer tests set it to reproduce RFC exchanges.
    pub nonce_len: usize,
    /// Key from which SCRAM derives the decoy salt of a user who does not exist. Set it to a
    /// per-installation secret: with the empty default the key is public, and whoever reads
    /// this crate's source can tell a decoy salt from a real one.
    pub scram_decoy_key: Secret<Vec<u8>>,
}

impl ServerContext {
    /// The effective limit on one client message.
    pub fn message_limit(&self) -> usize {
        if self.max_message == 0 {
            framing::DEFAULT_MAX_MESSAGE
        } else {
            self.max_message
        }
    }
}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The authentication identity: whose credentials were checked.
    pub authcid: String,
    /// The authorization identity: the user the session acts as. Equal to `authcid` unless the
    /// client asked for another one and [`Credentials::authorize`] allowed it.
    pub authzid: String,
    /// Additional data with success (RFC 4422 §3.6), such as SCRAM's server signature.
    pub additional_data: Option<Vec<u8>>,
}

impl Outcome {
    /// The user the session now acts as.
    pub fn user(&self) -> &str {
        &self.authzid
    }
}

/// The result of one server step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a challenge must be sent, a success must be reported"]
pub enum ServerStep {
    /// Send this challenge (base64 by the protocol) and feed the client's response to
    /// [`ServerSession::step`].
    Challenge(Vec<u8>),
    /// The client is authenticated.
    Success(Outcome),
}

/// One mechanism's server side, as a step machine. Implement it to add a mechanism of your own
/// and run it with [`ServerSession::with_mechanism`].
pub trait ServerMechanism: Send {
    /// Which mechanism this is.
    fn mechanism(&self) -> Mechanism;

    /// Takes the next client message: `None` only on the first call, when the client sent no
    /// initial response. Returns the next challenge or success; any error ends the exchange.
    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        context: &mut ServerContext,
    ) -> Result<ServerStep, Error>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Running,
    /// The mechanism succeeded with data the protocol cannot carry; it was sent as a challenge
    /// and the client's (empty) response is awaited.
    AwaitingFinalAck,
    Done,
}

/// One server-side exchange.
pub struct ServerSession {
    mechanism: Box<dyn ServerMechanism>,
    context: ServerContext,
    state: State,
    pending: Option<Outcome>,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("mechanism", &self.mechanism.mechanism())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// Starts a built-in mechanism. Policy (is it enabled, is TLS needed) is the registry's job:
    /// prefer [`crate::Registry::server`].
    pub fn new(mechanism: Mechanism, context: ServerContext) -> Result<ServerSession, Error> {
        if mechanism.needs_channel_binding() && context.channel_binding.is_none() {
            return Err(Error::ChannelBinding(
                "no channel-binding data for a -PLUS mechanism",
            ));
        }
        Ok(Self::with_mechanism(
            crate::mech::new_server(mechanism),
            context,
        ))
    }

    /// Runs a mechanism of the caller's.
    pub fn with_mechanism(mechanism: Box<dyn ServerMechanism>, context: ServerContext) -> Self {
        ServerSession {
            mechanism,
            context,
            state: State::New,
            pending: None,
        }
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism.mechanism()
    }

    /// Whether the exchange has ended (in success or failure).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Starts the exchange with the client's initial response, if it sent one (already decoded;
    /// see [`framing::decode_response`]).
    pub fn start(
        &mut self,
        initial_response: Option<&[u8]>,
        credentials: &dyn Credentials,
    ) -> Result<ServerStep, Error> {
        if self.state != State::New {
            return Err(Error::OutOfSequence("start called twice"));
        }
        self.state = State::Running;
        self.run(initial_response, credentials)
    }

    /// Feeds the client's response to the last challenge (decoded).
    pub fn step(
        &mut self,
        response: &[u8],
        credentials: &dyn Credentials,
    ) -> Result<ServerStep, Error> {
        match self.state {
            State::New => Err(Error::OutOfSequence("step before start")),
            State::Done => Err(Error::OutOfSequence("step after the exchange ended")),
            State::AwaitingFinalAck => {
                self.state = State::Done;
                if !response.is_empty() {
                    return Err(Error::Malformed(
                        "expected an empty response after the last challenge",
                    ));
                }
                let mut outcome = self
                    .pending
                    .take()
                    .expect("pending outcome in AwaitingFinalAck");
                outcome.additional_data = None;
                Ok(ServerStep::Success(outcome))
            }
            State::Running => self.run(Some(response), credentials),
        }
    }

    /// Feeds a raw base64 response line (without CRLF): `*` cancels, the rest is decoded with
    /// the context's limit.
    pub fn step_line(
        &mut self,
        line: &[u8],
        credentials: &dyn Credentials,
    ) -> Result<ServerStep, Error> {
        match framing::decode_response(line, self.context.message_limit()) {
            Ok(data) => self.step(&data, credentials),
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
        }
    }

    fn run(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
    ) -> Result<ServerStep, Error> {
        let limit = self.context.message_limit();
        if input.is_some_and(|i| i.len() > limit) {
            self.state = State::Done;
            return Err(Error::TooLong { limit });
        }
        match self.mechanism.step(input, credentials, &mut self.context) {
            Ok(ServerStep::Success(outcome)) => {
                if outcome.additional_data.is_some() && !self.context.success_data {
                    let data = outcome.additional_data.clone().unwrap_or_default();
                    self.pending = Some(outcome);
                    self.state = State::AwaitingFinalAck;
                    Ok(ServerStep::Challenge(data))
                } else {
                    self.state = State::Done;
                    Ok(ServerStep::Success(outcome))
                }
            }
            Ok(challenge) => Ok(challenge),
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
        }
    }
}

/// Resolves the authorization identity for a mechanism that carries one: an empty or absent
/// `authzid` means "the same as authcid"; a different one needs [`Credentials::authorize`].
pub fn authorize(
    credentials: &dyn Credentials,
    authcid: &str,
    authzid: Option<&str>,
) -> Result<String, Error> {
    match authzid {
        None | Some("") => Ok(authcid.to_owned()),
        Some(z) if z == authcid => Ok(authcid.to_owned()),
        Some(z) => {
            if credentials.authorize(authcid, z)? {
                Ok(z.to_owned())
            } else {
                Err(Error::NotAuthorized)
            }
        }
    }
}
