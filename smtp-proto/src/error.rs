//! The error types: one per area.
//!
//! [`ReplyError`], [`PathError`], [`ParamError`] and [`CommandError`] describe bad input from
//! the peer and map onto protocol replies; [`UsageError`] is a bug in the caller (a decision
//! with none pending, a reply of the wrong class) and maps onto nothing. [`ClientError`] is what
//! the client engine reports about a misbehaving server.

use crate::reply::{EnhancedStatus, Reply};

/// A reply, reply code or enhanced status code that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The code is not three digits in the ranges of RFC 5321 §4.2.1.
    #[error("invalid reply code")]
    BadCode,
    /// The enhanced status code is not `class.subject.detail` (RFC 3463 §2).
    #[error("invalid enhanced status code")]
    BadEnhancedStatus,
    /// The status class differs from the reply code's first digit.
    #[error("enhanced status class does not match the reply code")]
    ClassMismatch,
    /// A reply needs at least one line.
    #[error("reply without lines")]
    Empty,
    /// The text holds CR, LF, NUL or invalid UTF-8.
    #[error("invalid characters in reply text")]
    BadText,
    /// The line does not start with a code followed by space, `-` or the line end.
    #[error("reply line is not `code[SP/-]text`")]
    Garbage,
    /// The lines of a multi-line reply carry different codes.
    #[error("lines of a multi-line reply carry different codes")]
    CodeMismatch,
    /// A line is longer than the limit.
    #[error("reply line too long")]
    LineTooLong,
    /// More lines than the limit.
    #[error("too many lines in one reply")]
    TooManyLines,
}

/// A domain, address or path that is not valid (RFC 5321 §4.1.2, §4.5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The text does not follow the grammar.
    #[error("syntax error in address: {0}")]
    Syntax(&'static str),
    /// The local part is longer than 64 octets (RFC 5321 §4.5.3.1.1).
    #[error("local part longer than 64 octets")]
    LocalPartTooLong,
    /// The domain is longer than 255 octets, or a label longer than 63 (§4.5.3.1.2).
    #[error("domain too long")]
    DomainTooLong,
    /// The path is longer than 256 octets (§4.5.3.1.3).
    #[error("path longer than 256 octets")]
    PathTooLong,
    /// The address holds non-ASCII characters where they are not allowed (RFC 6531 §3.3).
    #[error("non-ASCII address without SMTPUTF8")]
    NonAscii,
}

/// An ESMTP parameter that is malformed, unknown or repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The `keyword[=value]` syntax is broken (RFC 5321 §4.1.2 `esmtp-param`).
    #[error("malformed ESMTP parameter")]
    Syntax,
    /// A known parameter has a value outside its grammar.
    #[error("invalid value for {0}")]
    BadValue(&'static str),
    /// A parameter appears twice.
    #[error("duplicate parameter {0}")]
    Duplicate(String),
    /// The xtext encoding (RFC 3461 §4) is broken.
    #[error("invalid xtext")]
    BadXtext,
}

/// A command line the server cannot act on; [`CommandError::reply`] is the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The verb is not known (500 5.5.1).
    #[error("command unrecognized")]
    Unrecognized,
    /// The arguments do not follow the grammar (501 5.5.2).
    #[error("syntax error in arguments: {0}")]
    Syntax(&'static str),
    /// The line is not UTF-8 (500 5.5.2).
    #[error("command line is not valid UTF-8")]
    NotUtf8,
    /// A path in MAIL or RCPT is invalid.
    #[error("bad path: {0}")]
    Path(#[from] PathError),
    /// An ESMTP parameter is invalid (501 5.5.4).
    #[error("bad parameter: {0}")]
    Param(#[from] ParamError),
}

impl CommandError {
    /// The reply RFC 5321 §4.2.4 / §4.5.3.1.10 and RFC 3463 call for.
    pub fn reply(&self) -> Reply {
        let (code, st, text) = match self {
            CommandError::Unrecognized => (500, (5, 5, 1), "Command unrecognized"),
            CommandError::NotUtf8 => (500, (5, 5, 2), "Invalid characters in command"),
            CommandError::Syntax(_) => (501, (5, 5, 2), "Syntax error in parameters"),
            CommandError::Path(PathError::PathTooLong) => (501, (5, 1, 3), "Path too long"),
            CommandError::Path(PathError::LocalPartTooLong) => {
                (553, (5, 1, 3), "Local part too long")
            }
            CommandError::Path(PathError::DomainTooLong) => (553, (5, 1, 3), "Domain too long"),
            CommandError::Path(PathError::NonAscii) => {
                (553, (5, 6, 7), "Non-ASCII addresses not permitted")
            }
            CommandError::Path(PathError::Syntax(_)) => (501, (5, 1, 3), "Bad address syntax"),
            CommandError::Param(ParamError::Duplicate(_)) => {
                (501, (5, 5, 4), "Duplicate parameter")
            }
            CommandError::Param(_) => (501, (5, 5, 4), "Invalid parameter"),
        };
        Reply::internal(code, Some(EnhancedStatus::c(st.0, st.1, st.2)), text)
    }
}

/// The caller drove an engine out of order; a bug in the caller, never the peer's doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A decision method was called while no decision was pending, or the wrong one.
    #[error("no such decision pending: {0}")]
    NoDecisionPending(&'static str),
    /// A reply of the wrong class for the decision (a 2xx rejection, a 5xx acceptance).
    #[error("reply of the wrong class: {0}")]
    WrongReplyClass(&'static str),
    /// An LMTP end of message needs exactly one reply per accepted recipient.
    #[error("expected {expected} per-recipient replies, got {got}")]
    RecipientCount {
        /// Accepted recipients.
        expected: usize,
        /// Replies given.
        got: usize,
    },
    /// The server did not offer an extension the request needs (check
    /// [`crate::client::Capabilities`] first).
    #[error("the server does not offer {0}")]
    NotOffered(&'static str),
    /// The declared message size is above the server's SIZE limit (RFC 1870 §6).
    #[error("message of {size} octets exceeds the server's limit of {limit}")]
    TooBig {
        /// The declared size.
        size: u64,
        /// The server's SIZE.
        limit: u64,
    },
    /// The engine is not in a state where that action is possible.
    #[error("not possible now: {0}")]
    InvalidState(&'static str),
}

/// What the client engine reports about the server or the exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server sent something that is not a reply.
    #[error("malformed reply from the server: {0}")]
    BadReply(#[from] ReplyError),
    /// A reply's code class does not fit the command it answers.
    #[error("unexpected reply {0} to {1}")]
    Unexpected(u16, &'static str),
    /// The server did not answer in time (RFC 5321 §4.5.3.2).
    #[error("timed out waiting for the server ({0})")]
    Timeout(&'static str),
    /// The server sent a reply nothing was waiting for.
    #[error("reply with no command outstanding")]
    Unsolicited,
    /// The server lacks an extension the options require (STARTTLS, AUTH, SMTPUTF8 …).
    #[error("the server does not offer {0}")]
    MissingExtension(&'static str),
    /// The SASL step function failed.
    #[error("authentication step failed: {0}")]
    AuthStep(String),
    /// The server's 334 challenge was not valid base64.
    #[error("invalid base64 in an AUTH challenge")]
    BadChallenge,
}
