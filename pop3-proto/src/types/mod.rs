//! The protocol's data: commands, status lines, response codes, capabilities, listings.
//!
//! Every type here parses from the bytes of one line (without its CRLF) and serializes back;
//! `parse(serialize(x)) == x` is a property test.

mod capability;
mod command;
mod response;

pub use capability::{Capability, Expire};
pub use command::{Command, CommandKind, is_valid_mechanism};
pub(crate) use command::{decode_sasl, encode_sasl};
pub use response::{
    ListEntry, RespCode, Status, StatusLine, UidlEntry, UniqueId, greeting_timestamp,
};

/// Parses a message number or count: ASCII digits only, no sign, at most `u32::MAX`
/// (RFC 1939 §3: "a message-number argument ... a decimal number").
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Like [`parse_u32`] for octet counts, which may exceed 4 GiB in a large maildrop.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether `s` is a non-empty token of printable, non-space characters (RFC 2449 §3 `param`,
/// `1*VCHAR`); UTF-8 beyond ASCII is let through for RFC 6856 UTF8 mode.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() && c != ' ' && c != '\u{7f}')
}
