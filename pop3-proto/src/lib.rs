//! POP3 (RFC 1939) with its extensions, as Sans-IO server and client engines.
//!
//! This crate does no I/O: it owns no socket, no clock, no thread and no maildrop. An engine
//! takes the bytes that arrived, tells its caller what happened through events, takes the
//! caller's decisions through plain methods, and hands back the bytes to send;
//! `mailhub-mta-core` connects it to sockets, TLS, SASL (`mailhub-sasl`) and a mail store.
//!
//! - [`server::Server`]: the AUTHORIZATION → TRANSACTION → UPDATE states of RFC 1939 §3 with
//!   USER/PASS, APOP, AUTH (RFC 5034), STLS (RFC 2595), CAPA and its capabilities (RFC 2449),
//!   response codes (RFC 2449 §8, RFC 3206) and UTF8 (RFC 6856). The maildrop stays with the
//!   caller: the engine asks it to authenticate, to lock and list the maildrop, to stream a
//!   message and, after QUIT, to delete the marked messages.
//! - [`client::Client`]: commands queued and pipelined when the server offers PIPELINING,
//!   answers as typed events, message bodies streamed and dot-unstuffed in chunks.
//! - [`types`]: commands, status lines, response codes, capabilities and listings, each with a
//!   parser and a serializer.
//!
//! Both engines share one driving order: `handle_input` → `poll_event` until `None` (answering
//! decisions) → `poll_transmit` → `handle_timeout` when `poll_timeout` says.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apop;
pub mod client;
mod dot;
mod error;
mod framer;
mod secret;
pub mod server;
pub mod types;

pub use apop::{apop_digest, verify_apop};
pub use dot::{DotStuffer, DotUnstuffer, Unstuffed};
pub use error::{ParseError, UsageError};
pub use secret::Secret;
pub use types::{
    Capability, Command, CommandKind, Expire, ListEntry, RespCode, Status, StatusLine, UidlEntry,
    UniqueId,
};
