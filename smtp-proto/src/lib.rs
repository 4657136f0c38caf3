//! SMTP, ESMTP and LMTP (RFC 5321, RFC 2033) server and client engines, with no I/O.
//!
//! This crate owns no socket, no clock and no thread: the engines take the bytes that arrived,
//! hand out events and decisions, and give back the bytes to send; time is an argument.
//! `mailhub-mta-core` connects them to sockets, TLS, SASL and the mail store.
//!
//! - [`server::Server`]: one session of an MTA, an MSA or an LMTP delivery agent. Every
//!   decision (connect, HELO/EHLO/LHLO, MAIL, each RCPT, AUTH, DATA or BDAT, the end of each
//!   message) is an [`server::Event`] the embedding server answers with `accept`, `accept_with`,
//!   `reject` and friends; content streams out as dot-unstuffed chunks. Extensions are
//!   advertised only when enabled in [`server::ServerOptions`], whose limits and timeouts have
//!   safe defaults.
//! - [`client::Client`]: the sending side, with EHLO/HELO fallback, STARTTLS, AUTH through a
//!   caller-supplied step function (a `mailhub-sasl` client session fits it; the two crates do
//!   not depend on each other), pipelined MAIL/RCPT/DATA, BDAT, LMTP and per-recipient results.
//! - The wire types both use: [`Reply`] ([`ReplyCode`], [`EnhancedStatus`]), [`Domain`],
//!   [`AddressLiteral`], [`Mailbox`], [`ReversePath`], [`ForwardPath`], the ESMTP parameters
//!   [`MailParams`] and [`RcptParams`], and [`Command`]. Each validates on construction and
//!   round-trips through its wire form.
//! - [`CommandRef`]: a command borrowed from its line ([`MailboxRef`], [`MailParamsRef`] …),
//!   checked in full with no allocation; [`Command::parse`] is this parse made owned, so the
//!   two can never disagree.
//! - [`DataDecoder`] and [`DataEncoder`]: incremental dot-unstuffing and dot-stuffing. Only
//!   `CRLF . CRLF` ends DATA; a bare CR or LF is, by [`LineEndings`] policy, a reason to reject
//!   the message or rewritten to CRLF, so SMTP smuggling cannot split one message into two.
//!
//! Both engines are driven the same way: feed with `handle_input`, drain `poll_event` until it
//! returns `None` (answering decisions as they come), send what `poll_transmit` returns, and
//! call `handle_timeout(now)` after each read and at the instant `poll_timeout` names.
//!
//! Peer misbehaviour is a reply or a typed error ([`CommandError`], [`ClientError`]), never a
//! panic; a call out of order is a [`UsageError`].

// `unsafe` only in `avx2` (runtime-detected AVX2 loads for the DATA scan); see its doc.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod address;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
pub mod client;
mod command;
mod data;
mod error;
pub mod params;
mod reply;
mod secret;
pub mod server;
mod split;

pub use address::{
    AddressLiteral, Domain, ForwardPath, ForwardPathRef, Host, LocalPart, Mailbox, MailboxRef,
    ReversePath, ReversePathRef,
};
pub use command::{Command, CommandRef, HostArg};
pub use data::{DataDecoder, DataEncoder, Decoded, LineEndings};
pub use error::{ClientError, CommandError, ParamError, PathError, ReplyError, UsageError};
pub use params::{MailParams, MailParamsRef, RcptParams, RcptParamsRef};
pub use reply::{EnhancedStatus, Reply, ReplyCode};
pub use secret::Secret;
