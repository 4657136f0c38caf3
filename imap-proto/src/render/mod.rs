//! Rendering FETCH data from a message's raw octets (RFC 3501 §6.4.5, §7.4.2; RFC 9051
//! §6.4.5, §7.5.2; BINARY RFC 3516): ENVELOPE, BODY and BODYSTRUCTURE (multipart,
//! message/rfc822 nesting, extension data, line counts), and the octets of `BODY[section]`
//! (HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME, part numbers) and `BINARY[part]`.
//!
//! The MIME structure and header fields come from mail-parser; values are taken from the raw
//! octets so that what the client sees is what was sent (encoded words are not decoded).

mod envelope;
mod section;
mod structure;

pub use section::{BinaryError, binary, section};

use mail_parser::{Message, MessageParser, MessagePart, PartType};

use crate::bodystructure::BodyStructure;
use crate::envelope::Envelope;

/// A message parsed once for rendering several items.
#[derive(Debug)]
pub struct Parsed<'a> {
    msg: Option<Message<'a>>,
    raw: &'a [u8],
}

impl<'a> Parsed<'a> {
    /// Parses a message's raw octets (never fails: unparsable input renders as an empty
    /// text/plain message).
    #[must_use]
    pub fn new(raw: &'a [u8]) -> Self {
        let msg = MessageParser::new().parse(raw);
        Parsed { msg, raw }
    }

    /// The raw octets.
    #[must_use]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// ENVELOPE.
    #[must_use]
    pub fn envelope(&self) -> Envelope {
        match &self.msg {
            Some(m) => message_envelope(m),
            None => envelope::envelope(|_| None),
        }
    }

    /// BODYSTRUCTURE (`extended`) or BODY.
    #[must_use]
    pub fn body_structure(&self, extended: bool) -> BodyStructure {
        match &self.msg {
            Some(m) => structure::of_message(m, extended, 0),
            None => structure::empty_text(),
        }
    }

    pub(crate) fn message(&self) -> Option<&Message<'a>> {
        self.msg.as_ref()
    }
}

/// The raw octets of a part's header value (first occurrence).
pub(crate) fn raw_header<'x>(
    m: &'x Message<'_>,
    part: &MessagePart<'_>,
    name: &str,
) -> Option<&'x [u8]> {
    let h = part
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    m.raw_message
        .get(h.offset_start() as usize..h.offset_end() as usize)
}

fn message_envelope(m: &Message<'_>) -> Envelope {
    let root = m.root_part();
    envelope::envelope(|n| raw_header(m, root, n))
}

/// The part's body octets.
pub(crate) fn body_of<'x>(m: &'x Message<'_>, part: &MessagePart<'_>) -> &'x [u8] {
    let (a, b) = (
        part.raw_body_offset() as usize,
        part.raw_end_offset() as usize,
    );
    m.raw_message.get(a..b.max(a)).unwrap_or_default()
}

/// The part's header octets (with the empty line that ends it).
pub(crate) fn header_of<'x>(m: &'x Message<'_>, part: &MessagePart<'_>) -> &'x [u8] {
    let (a, b) = (
        part.raw_header_offset() as usize,
        part.raw_body_offset() as usize,
    );
    m.raw_message.get(a..b.max(a)).unwrap_or_default()
}

/// The children of a multipart.
pub(crate) fn children<'x, 'y>(
    m: &'x Message<'y>,
    part: &MessagePart<'_>,
) -> Vec<&'x MessagePart<'y>> {
    match &part.body {
        PartType::Multipart(ids) => ids
            .iter()
            .filter_map(|i| m.parts.get(*i as usize))
            .collect(),
        _ => Vec::new(),
    }
}
