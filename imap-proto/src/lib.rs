//! The IMAP codec: types, parser, serializer and a bounded framer, with no I/O.
//!
//! This crate owns no socket, no clock and no thread. It reads and writes the wire grammar of
//! IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) with the common extensions, in both
//! directions: a server parses commands and writes responses, a client parses responses and
//! writes commands. `mailhub-mta-core` connects it to sockets.
//!
//! Driving it:
//!
//! 1. feed received bytes to a [`framing::Framer`] ([`framing::Framer::handle_input`]);
//! 2. drain [`framing::Framer::poll_event`]: each literal is announced before its bytes
//!    arrive, so the caller may accept it (and send `+` for a synchronising one), stream it as
//!    chunks, or refuse it; each complete command or response comes out as one unit;
//! 3. parse the unit: [`Command::parse`] on the server side, [`Response::parse`] on the client;
//! 4. write answers with [`Response::to_bytes`] or [`Command::encode`] (which splits at
//!    synchronising literals so a client can wait for the continuation).
//!
//! Values are typed and validated at construction ([`Tag`], [`MailboxName`],
//! [`SequenceSet`] …); parse errors keep the tag so the server can answer `tag BAD`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bodystructure;
pub mod command;
mod encode;
pub mod envelope;
mod error;
pub mod fetch;
pub mod framing;
mod parse;
pub mod response;
pub mod search;
pub mod types;

pub use command::{Command, CommandBody};
pub use encode::Encoded;
pub use error::{FrameError, ParseError, ValidationError};
pub use response::{Response, Status, StatusKind};
pub use types::*;
