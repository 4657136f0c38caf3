//! Error types: one for the peer's bad syntax ([`ParseError`]), one for the caller's misuse of an
//! engine ([`UsageError`]).
//!
//! A [`ParseError`] is never fatal to a session: the server answers it with `-ERR` (RFC 1939 §3)
//! and the client reports it as an event. A [`UsageError`] is a bug in the embedding code (a
//! decision given when none was asked for, a command in the wrong state) and maps onto nothing
//! on the wire.

/// Why a command line, a response line or a capability line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The line was empty.
    #[error("empty line")]
    Empty,
    /// The line held a NUL, CR or LF where none may appear, or was not UTF-8 where text is
    /// required.
    #[error("invalid characters in line")]
    InvalidCharacters,
    /// The command keyword is not one this crate knows (RFC 1939 §3 says: answer -ERR).
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A required argument was missing.
    #[error("missing argument: {0}")]
    MissingArgument(&'static str),
    /// More arguments than the command takes.
    #[error("too many arguments")]
    TooManyArguments,
    /// An argument did not have the form the command needs.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A message number or count was not a decimal number in range (RFC 1939 §3).
    #[error("invalid number")]
    InvalidNumber,
    /// Base64 data (AUTH, RFC 5034 §4) did not decode; RFC 5034 requires rejecting it.
    #[error("invalid base64")]
    InvalidBase64,
    /// A response line did not start with `+OK` or `-ERR` (RFC 1939 §3).
    #[error("response does not start with +OK or -ERR")]
    InvalidStatus,
}

/// The caller drove an engine out of order. This is a bug in the caller, not in the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A decision method was called while the engine was not waiting for that decision.
    #[error("no decision of this kind is pending: {0}")]
    NotPending(&'static str),
    /// A client command was issued in a state where the protocol forbids it.
    #[error("command not allowed now: {0}")]
    WrongState(&'static str),
    /// An argument the caller gave cannot be sent (a space in a user name, a CR in a password,
    /// an invalid mechanism name, a message number 0).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
}
