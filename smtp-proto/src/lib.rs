//! SMTP, ESMTP and LMTP (RFC 5321, RFC 2033) server and client engines, with no I/O.
//!
//! This crate owns no socket, no clock and no thread: the engines take the bytes that arrived,
//! hand out events and decisions, and give back the bytes to send; time is an argument.
//! `mailhub-mta-core` connects them to sockets, TLS, SASL and the mail store.
//!
//! - Types: [`Reply`], [`ReplyCode`], [`EnhancedStatus`], [`Domain`], [`AddressLiteral`],
//!   [`Mailbox`], [`ReversePath`], [`ForwardPath`], the ESMTP parameters [`MailParams`] and
//!   [`RcptParams`], and [`Command`]: each validates on construction and round-trips through
//!   its wire form.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod address;
pub mod client;
mod command;
mod data;
mod error;
pub mod params;
mod reply;
mod secret;
pub mod server;

pub use address::{AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath};
pub use command::Command;
pub use data::{DataDecoder, DataEncoder, Decoded, LineEndings};
pub use error::{ClientError, CommandError, ParamError, PathError, ReplyError, UsageError};
pub use params::{MailParams, RcptParams};
pub use reply::{EnhancedStatus, Reply, ReplyCode};
pub use secret::Secret;
