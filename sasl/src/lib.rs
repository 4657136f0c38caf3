//! SASL (RFC 4422) for mail protocols, as step machines with no I/O.
//!
//! This crate owns no socket, no clock and no thread: a mechanism takes the peer's decoded
//! message and returns the next message to send, a success or an error. The protocol engines of
//! mailhub (SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH) carry the messages; `mailhub-mta-core`
//! connects those engines to this crate and to a user database. The same shape serves both
//! sides of the wire:
//!
//! - server: [`Registry::server`] → [`ServerSession::start`] (with the optional initial
//!   response) → [`ServerSession::step`] per client response → [`ServerStep::Success`] or an
//!   [`Error`] whose [`Error::kind`] tells the protocol which failure reply to send;
//! - client: [`client::choose`] → [`ClientSession::start`] → [`ClientSession::step`] per
//!   challenge → [`ClientSession::finish`] on the server's success.
//!
//! Users are looked up through the [`Credentials`] trait, which the embedding server implements
//! (or uses `passwd::PasswdFile`). [`framing`] has the base64 line helpers the three protocols
//! share; [`Secret`] keeps passwords and payloads out of logs.
//!
//! Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
//! SCRAM-SHA-1 and SCRAM-SHA-256 with their `-PLUS` variants (RFC 5802, RFC 7677, channel
//! binding per RFC 5929 and RFC 9266), OAUTHBEARER (RFC 7628), XOAUTH2, ANONYMOUS (RFC 4505) and
//! EXTERNAL (RFC 4422 Appendix A).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
mod credentials;
mod error;
pub mod framing;
mod mech;
mod mechanism;
pub mod passwd;
pub mod random;
mod registry;
mod secret;
pub mod server;

pub use client::{ClientCredentials, ClientMechanism, ClientSession};
pub use credentials::{Credentials, DEFAULT_SCRAM_ITERATIONS, ScramHash, ScramKeys};
pub use error::{CredentialError, Error, ErrorKind};
pub use mechanism::{ChannelBinding, ChannelBindingType, Mechanism, is_valid_mechanism_name};
pub use passwd::PasswdFile;
pub use registry::{ChannelSecurity, Registry};
pub use secret::{Secret, ct_eq};
pub use server::{Outcome, ServerContext, ServerMechanism, ServerSession, ServerStep};
