//! Core value types of the IMAP grammar (RFC 3501 §4 and §9, RFC 9051 §4 and §9).
//!
//! Every type validates in its constructor, so a value that exists can be written to the wire
//! as is. Strings keep the form they were read in (atom, quoted, literal), so that
//! `parse(serialize(x)) == x` and a serialized value is byte-exact.

mod atom;
mod chars;
mod datetime;
mod flag;
mod mailbox;
mod secret;
mod sequence;
mod string;

pub use atom::{Atom, Tag};
pub use chars::{is_astring_char, is_atom_char, is_list_char, is_tag_char, is_text_char};
pub use datetime::{Date, DateTime};
pub(crate) fn datetime_months() -> &'static [&'static str; 12] {
    &datetime::MONTHS
}
pub use flag::{Flag, FlagPerm, MailboxAttr};
pub use mailbox::{ListMailbox, MailboxName, decode_modified_utf7, encode_modified_utf7};
pub use secret::Secret;
pub use sequence::{SeqNo, SeqRange, SequenceSet};
pub use string::{AString, IString, Literal, LiteralMode, NString, Quoted};
