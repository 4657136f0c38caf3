//! Session drivers: one async function per protocol that runs a connection to completion over
//! any `futures::io::{AsyncRead, AsyncWrite}` stream, driving a Sans-IO engine, the store, the
//! [`Authenticator`](crate::auth::Authenticator) and TLS.
//!
//! Each driver runs in a `tracing` span named after the protocol with a session id (unique in
//! the process) and the client's address; logins, failures and the end of the session are
//! logged there, passwords and SASL payloads never.
//!
//! A driver never spawns: the embedder runs it as a task of its runtime, one per connection.
//!
//! - [`imap`]: the IMAP server;
//! - [`pop3`]: the POP3 server;
//! - [`smtp`]: the SMTP (port 25), submission (587/465) and LMTP server, handing messages to
//!   a [`smtp_sink::MessageSink`] ([`smtp_sink::QueueSink`] into the queue,
//!   [`smtp_sink::StoreSink`] straight into the store);
//! - [`smtp_client`]: delivers one message to a next hop over SMTP or LMTP;
//! - [`smtp_transport`]: the queue's remote transport over [`smtp_client`] (MX lookup, smart
//!   host).

pub mod imap;
mod io;
mod limits;
pub mod pop3;
pub mod smtp;
pub mod smtp_client;
pub mod smtp_sink;
pub mod smtp_transport;

pub use io::{Deadline, SessionId};
pub use limits::{ConnectionLimiter, ConnectionLimits, ConnectionPermit, LimitExceeded};
