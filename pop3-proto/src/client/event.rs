//! What the client engine tells its caller.

use crate::{Capability, CommandKind, ListEntry, ParseError, StatusLine, UidlEntry};

/// Why the client session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCloseReason {
    /// The server answered QUIT.
    Quit,
    /// The server's greeting was `-ERR`.
    Rejected,
    /// No answer within [`super::ClientOptions::response_timeout`].
    Timeout,
    /// The server sent something that is not POP3; the stream cannot be trusted any more.
    ProtocolError(ParseError),
    /// A response passed a limit of [`super::ClientOptions`].
    LimitExceeded(&'static str),
}

/// An event from [`super::Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server's greeting (RFC 1939 §4), with the APOP timestamp if it had one.
    Greeting {
        /// The greeting line.
        status: StatusLine,
        /// The APOP timestamp, angle brackets included.
        timestamp: Option<String>,
    },
    /// A single-line answer: any `-ERR`, and `+OK` to USER, PASS, APOP, AUTH, DELE, NOOP,
    /// RSET, QUIT, UTF8 and STLS.
    Reply {
        /// Which command it answers.
        command: CommandKind,
        /// The status line.
        status: StatusLine,
    },
    /// `+OK` to CAPA (RFC 2449 §5). The engine uses it too: PIPELINING turns pipelining on.
    Capabilities(Vec<Capability>),
    /// `+OK` to STAT.
    Stat {
        /// Messages in the maildrop.
        count: u32,
        /// Their total size in octets.
        size: u64,
    },
    /// `+OK` to LIST, with one entry for `LIST n`.
    List(Vec<ListEntry>),
    /// `+OK` to UIDL, with one entry for `UIDL n`.
    Uidl(Vec<UidlEntry>),
    /// `+OK` to RETR or TOP: the body follows as [`ClientEvent::MessageChunk`]s.
    MessageStart {
        /// RETR or TOP.
        command: CommandKind,
        /// The message number asked for.
        msg: u32,
        /// The status line (its text usually holds the size).
        status: StatusLine,
    },
    /// Message bytes, dot-unstuffed, in arrival-sized chunks.
    MessageChunk(Vec<u8>),
    /// The message's terminating "." line was read.
    MessageEnd,
    /// The server accepted STLS: run the TLS handshake, then call
    /// [`super::Client::tls_established`].
    StartTls,
    /// A SASL challenge the step function answered with `None`, or that was not base64: the
    /// exchange was cancelled with `*` (RFC 5034 §4). The server's `-ERR` follows as a
    /// [`ClientEvent::Reply`].
    AuthCancelled,
    /// The session is over: close the connection once the output is drained.
    Closed(ClientCloseReason),
}
