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
//! Bulk data need not sit in memory: [`command::parse_streamed_append`] reads an APPEND from
//! [`framing::Framer::unit_so_far`] when its literal is announced, and the message streams; a
//! client streams a large FETCH body and parses the rest of the response with
//! [`Response::parse_streamed`]; a server writes one with
//! [`response::fetch_literal_head`] and then the body's chunks. After STARTTLS or COMPRESS, [`framing::Framer::take_buffered`] hands back
//! what arrived with the command so that it is dropped or decompressed, never framed.
//!
//! Values are typed and validated at construction ([`Tag`], [`MailboxName`],
//! [`SequenceSet`] …); parse errors keep the tag so the server can answer `tag BAD`.
//!
//! ```
//! use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
//! use mailhub_imap_proto::response::Continue;
//! use mailhub_imap_proto::{Command, CommandBody, Response};
//!
//! let mut framer = Framer::new(Side::Server, Limits::server());
//! framer.handle_input(b"a1 LOGIN fred {6}\r\n");
//! let mut out = Vec::new();
//! while let Some(event) = framer.poll_event() {
//!     match event {
//!         FrameEvent::LiteralAnnounced { length, needs_continuation, .. } => {
//!             assert_eq!(length, 6);
//!             framer.accept_literal().unwrap();
//!             if needs_continuation {
//!                 let go = Continue::Text { code: None, text: "go ahead".into() };
//!                 out.extend(Response::Continue(go).to_bytes());
//!             }
//!         }
//!         other => panic!("{other:?}"),
//!     }
//! }
//! assert_eq!(out, b"+ go ahead\r\n");
//! framer.handle_input(b"sesame\r\n");
//! let Some(FrameEvent::Unit(unit)) = framer.poll_event() else { panic!() };
//! let command = Command::parse(&unit).unwrap();
//! assert!(matches!(command.body, CommandBody::Login { .. }));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bodystructure;
pub mod client;
pub mod command;
mod encode;
pub mod envelope;
mod error;
pub mod fetch;
pub mod framing;
mod parse;
pub mod render;
pub mod response;
pub mod search;
pub mod search_eval;
pub mod server;
pub mod types;

pub use command::{Command, CommandBody};
pub use encode::Encoded;
pub use error::{FrameError, ParseError, ValidationError};
pub use response::{Response, Status, StatusKind};
pub use types::*;
