//! What the client engine tells its caller, and its two error types: [`ClientError`] for a
//! server that broke the protocol (the session closes), [`UsageError`] for a call the engine
//! cannot honour (a caller bug or a refusal such as LOGINDISABLED; the session goes on).

use std::num::NonZeroU32;

use crate::error::{FrameError, ParseError};
use crate::response::{Code, Data, Status, StatusKind, StreamedItem};
use crate::types::Tag;

/// An event from [`super::Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server's greeting (RFC 3501 §7.1): OK, PREAUTH (already authenticated) or BYE (the
    /// session ends; [`ClientEvent::Closed`] follows).
    Greeting(Status),
    /// An untagged OK, NO, BAD or BYE after the greeting (RFC 3501 §7.1), such as
    /// `* OK [UIDVALIDITY 3857529045]` during SELECT or `* NO [ALERT] …`.
    Status(Status),
    /// Untagged data (RFC 3501 §7.2–§7.4), solicited or not: EXISTS, EXPUNGE, FETCH,
    /// VANISHED, FLAGS, LIST, SEARCH, CAPABILITY … A FETCH item whose body was streamed
    /// ([`ClientEvent::FetchBodyStart`]) appears here with empty data.
    Data(Data),
    /// Untagged data this crate has no type for (`* XAPPLEPUSHSERVICE …`): the whole
    /// response, CRLF included (RFC 9051 §7: a client accepts any response at any time).
    UnknownData(Vec<u8>),
    /// The tagged completion of a command (RFC 3501 §7.1), with the tag that the send method
    /// returned.
    Completed {
        /// The command's tag.
        tag: Tag,
        /// OK, NO or BAD.
        kind: StatusKind,
        /// The response code (`[TRYCREATE]`, `[APPENDUID …]`, `[CAPABILITY …]` …).
        code: Option<Code>,
        /// The human-readable text.
        text: String,
    },
    /// A FETCH body literal of at least [`super::ClientOptions::stream_threshold`] octets is
    /// about to stream as [`ClientEvent::FetchBodyChunk`]s.
    FetchBodyStart {
        /// The message sequence number.
        seq: NonZeroU32,
        /// Which item (`BODY[TEXT]`, `BINARY[1]`, `RFC822` …).
        item: StreamedItem,
        /// The announced length.
        length: u64,
    },
    /// Octets of the body announced by the last [`ClientEvent::FetchBodyStart`].
    FetchBodyChunk {
        /// The message sequence number.
        seq: NonZeroU32,
        /// The octets.
        data: Vec<u8>,
        /// Whether this is the body's last chunk.
        last: bool,
    },
    /// The server is ready for the message of the APPEND started with
    /// [`super::Client::append_streamed`]: send it with [`super::Client::append_data`].
    AppendReady {
        /// The APPEND's tag.
        tag: Tag,
    },
    /// The server answered `+` to IDLE (RFC 2177 §3): updates now arrive as
    /// [`ClientEvent::Data`] until [`super::Client::idle_done`].
    IdleStarted {
        /// The IDLE's tag.
        tag: Tag,
    },
    /// The SASL step function gave up (or the challenge was not base64): the exchange was
    /// cancelled with `*` (RFC 3501 §6.2.2); the tagged BAD/NO follows.
    AuthCancelled {
        /// The AUTHENTICATE's tag.
        tag: Tag,
    },
    /// The server accepted STARTTLS: nothing more is read or sent in the clear. Run the TLS
    /// handshake, then call [`super::Client::tls_established`].
    StartTls,
    /// The server accepted COMPRESS (RFC 4978): from now on, decompress what arrives before
    /// [`super::Client::handle_input`] and compress what [`super::Client::poll_transmit`]
    /// returns. `pending` arrived after the OK and is already compressed: decompress it first.
    CompressionStarted {
        /// Octets received after the OK, still compressed.
        pending: Vec<u8>,
    },
    /// The engine did not send a queued command (LOGIN while the server announces
    /// LOGINDISABLED, RFC 3501 §6.2.3); no completion will come for it.
    Refused {
        /// The command's tag.
        tag: Tag,
        /// Why.
        reason: UsageError,
    },
    /// A timer of [`super::ClientOptions`] ran out.
    Timeout(TimeoutKind),
    /// The session ended before this command was completed.
    Abandoned {
        /// The command's tag.
        tag: Tag,
    },
    /// The session is over: close the connection once the output is drained. Always the
    /// last event.
    Closed(CloseReason),
}

/// Which timer ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// No greeting within [`super::ClientOptions::response_timeout`]; the session closes.
    Greeting,
    /// No response to outstanding commands within the response timeout; the session closes.
    Response,
    /// IDLE has run for [`super::ClientOptions::idle_renew`]: end it with
    /// [`super::Client::idle_done`] and start again before the server's inactivity timer
    /// (RFC 2177 §3 asks for at least every 29 minutes). The session goes on.
    IdleRenew,
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// LOGOUT completed (RFC 3501 §6.1.3).
    Logout,
    /// The server said BYE (in the greeting or mid-session).
    Bye(Status),
    /// A timer ran out.
    Timeout,
    /// The server broke the protocol; the stream cannot be trusted any more.
    Protocol(ClientError),
}

/// The server broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A response did not follow the grammar.
    #[error("unparsable response: {0}")]
    Parse(#[from] ParseError),
    /// A response broke a limit of [`crate::framing::Limits`] or had a broken literal header.
    #[error("response refused by the framer: {0}")]
    Frame(#[from] FrameError),
    /// The first response was not an untagged OK, PREAUTH or BYE.
    #[error("the greeting was not OK, PREAUTH or BYE")]
    BadGreeting,
    /// A tagged response whose tag no outstanding command has.
    #[error("tagged response for unknown tag {0}")]
    UnknownTag(Tag),
    /// A tagged PREAUTH or BYE, or an untagged PREAUTH after the greeting.
    #[error("status {0:?} where the protocol does not allow it")]
    MisplacedStatus(StatusKind),
    /// A `+` continuation request while no command waits for one.
    #[error("continuation request while no command waits for one")]
    UnexpectedContinuation,
}

/// A call the engine cannot honour. Nothing was queued or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
    /// The server announced LOGINDISABLED: LOGIN would send the password in a way the
    /// server refuses (RFC 3501 §6.2.3); use STARTTLS or AUTHENTICATE.
    #[error("the server announced LOGINDISABLED")]
    LoginDisabled,
    /// This command has its own method ([`super::Client::authenticate`],
    /// [`super::Client::idle`], [`super::Client::append_streamed`]).
    #[error("use the dedicated method for {0}")]
    UseDedicatedMethod(&'static str),
    /// The tag is already used by an outstanding command.
    #[error("tag {0} is in use")]
    TagInUse(Tag),
    /// No IDLE is running.
    #[error("no IDLE is running")]
    NotIdling,
    /// No streamed APPEND waits for data (not started, not ready yet, or already answered).
    #[error("no APPEND waits for data")]
    NoAppendInProgress,
    /// More octets than the APPEND announced.
    #[error("{extra} octets more than the APPEND announced")]
    AppendOverrun {
        /// How many too many.
        extra: u64,
    },
    /// STARTTLS has not been accepted, or TLS is already established.
    #[error("no TLS handshake is pending")]
    NoTlsPending,
}
