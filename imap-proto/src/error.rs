//! The error types of this crate, one per area.
//!
//! - [`ValidationError`]: a value given to a constructor ([`crate::Tag::try_from`],
//!   [`crate::MailboxName::from_utf8`] …) does not fit the IMAP grammar. That is caller misuse or
//!   bad data from the embedding application, never something the peer sent.
//! - [`ParseError`]: a complete command or response (as found by the [`crate::framing`] framer)
//!   does not follow the grammar. It keeps the tag when one could be read, so that a server can
//!   answer `tag BAD …` (RFC 3501 §7.1.3) and go on with the next line.
//! - [`FrameError`]: the framer refused a line or literal because of a limit in
//!   [`crate::framing::Limits`] or a broken literal header; the bytes were skipped, not buffered.

use crate::types::Tag;

/// A value does not fit the IMAP grammar for its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The grammar requires at least one octet.
    #[error("value must not be empty")]
    Empty,
    /// An octet that the type's grammar does not allow at this position.
    #[error("octet 0x{byte:02x} not allowed at position {at}")]
    InvalidByte {
        /// The offending octet.
        byte: u8,
        /// Its position in the value.
        at: usize,
    },
    /// A number that must be non-zero (`nz-number`, RFC 3501 §9) was zero.
    #[error("number must not be zero")]
    Zero,
    /// A component of a date or time was out of range.
    #[error("invalid date or time: {0}")]
    InvalidDateTime(&'static str),
    /// A mailbox name was not valid modified UTF-7 (RFC 3501 §5.1.3).
    #[error("invalid modified UTF-7 in mailbox name")]
    InvalidModifiedUtf7,
    /// The value is INBOX (in any case), which has its own variant.
    #[error("INBOX must use MailboxName::Inbox")]
    Inbox,
    /// A value that must not be empty in this position was given as an empty list.
    #[error("list must not be empty")]
    EmptyList,
}

/// A complete command or response does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes do not follow the grammar; `offset` is where parsing stopped.
    #[error("syntax error at octet {offset}")]
    Syntax {
        /// The tag, when the line started with a valid one.
        tag: Option<Tag>,
        /// Where in the input the grammar failed.
        offset: usize,
    },
    /// The command name is not one this crate knows (the server answers BAD, RFC 3501 §6).
    #[error("unknown command {name:?}")]
    UnknownCommand {
        /// The tag of the command.
        tag: Tag,
        /// The command name as sent, uppercased.
        name: String,
    },
    /// Parentheses or SEARCH/BODYSTRUCTURE nesting deeper than [`crate::framing::Limits::max_depth`].
    #[error("nesting deeper than {limit}")]
    TooDeep {
        /// The tag, when the line started with a valid one.
        tag: Option<Tag>,
        /// The limit that was exceeded.
        limit: usize,
    },
}

impl ParseError {
    /// The tag of the failed command, when one could be read: the server answers
    /// `tag BAD …`, or an untagged `* BAD …` when this is `None`.
    #[must_use]
    pub fn tag(&self) -> Option<&Tag> {
        match self {
            Self::Syntax { tag, .. } | Self::TooDeep { tag, .. } => tag.as_ref(),
            Self::UnknownCommand { tag, .. } => Some(tag),
        }
    }
}

/// The framer refused part of the input (the bytes were skipped, not kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line was longer than [`crate::framing::Limits::max_line_length`].
    #[error("line longer than {limit} octets")]
    LineTooLong {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A command or response, literals included, was larger than
    /// [`crate::framing::Limits::max_unit_size`].
    #[error("command or response larger than {limit} octets")]
    UnitTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A literal header such as `{99999999999999999999}` could not be read.
    #[error("malformed literal header")]
    BadLiteralHeader,
    /// A non-synchronising literal (`{n+}`, RFC 7888) larger than
    /// [`crate::framing::Limits::max_literal_size`] arrived; its bytes were skipped.
    #[error("literal of {length} octets exceeds the limit of {limit}")]
    LiteralTooLarge {
        /// The announced length.
        length: u64,
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The caller refused a literal with [`crate::framing::Framer::reject_literal`]; the rest
    /// of the command was skipped.
    #[error("literal refused")]
    LiteralRefused,
}
