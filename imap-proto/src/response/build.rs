//! Helpers a server uses to answer: status responses for the common cases, the BAD for input
//! it could not frame or parse (RFC 3501 §7.1.3; `TOOBIG` of RFC 7888 §4 / RFC 4469), and a
//! FETCH response whose body literal is streamed instead of built in memory.

use std::num::NonZeroU32;

use super::fetch::write_item;
use super::{Code, MessageData, Status, StatusKind};
use crate::encode::Writer;
use crate::error::{FrameError, ParseError};
use crate::fetch::{Section, write_part, write_section};
use crate::types::Tag;

impl Status {
    /// `tag OK [code] text` (untagged with `None`).
    #[must_use]
    pub fn ok(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::new(tag, StatusKind::Ok, code, text)
    }

    /// `tag NO [code] text`.
    #[must_use]
    pub fn no(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::new(tag, StatusKind::No, code, text)
    }

    /// `tag BAD [code] text`.
    #[must_use]
    pub fn bad(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::new(tag, StatusKind::Bad, code, text)
    }

    /// `* BYE [code] text`.
    #[must_use]
    pub fn bye(code: Option<Code>, text: &str) -> Self {
        Self::new(None, StatusKind::Bye, code, text)
    }

    /// The BAD a server answers to a command it could not parse: tagged when the tag was
    /// read, untagged otherwise (RFC 3501 §7.1.3).
    #[must_use]
    pub fn for_parse_error(e: &ParseError) -> Self {
        let text = match e {
            ParseError::UnknownCommand { .. } => "Unknown command",
            ParseError::TooDeep { .. } => "Nesting too deep",
            ParseError::Syntax { .. } => "Syntax error",
        };
        Self::bad(e.tag().cloned(), None, text)
    }

    /// The BAD a server answers to input the framer refused; over-size input carries
    /// `[TOOBIG]` (RFC 7888 §4).
    #[must_use]
    pub fn for_frame_error(tag: Option<Tag>, e: &FrameError) -> Self {
        let (code, text) = match e {
            FrameError::LineTooLong { .. } => (None, "Line too long"),
            FrameError::UnitTooLarge { .. } | FrameError::LiteralTooLarge { .. } => {
                (Some(Code::TooBig), "Too large")
            }
            FrameError::BadLiteralHeader => (None, "Bad literal"),
            FrameError::LiteralRefused => (None, "Literal refused"),
        };
        Self::bad(tag, code, text)
    }
}

/// The last item of a FETCH response whose octets the server streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamedItem {
    /// `BODY[section]<origin>`.
    Body {
        /// The section.
        section: Section,
        /// The offset of a partial fetch.
        origin: Option<u32>,
    },
    /// `BINARY[part]<origin>`, sent as a `literal8`.
    Binary {
        /// The part path.
        part: Vec<NonZeroU32>,
        /// The offset of a partial fetch.
        origin: Option<u32>,
    },
    /// `RFC822`.
    Rfc822,
    /// `RFC822.HEADER`.
    Rfc822Header,
    /// `RFC822.TEXT`.
    Rfc822Text,
}

/// The start of `* seq FETCH (items… last {length}\r\n`: the server sends it, then `length`
/// octets of the body as it reads them, then `)\r\n`. The result parses as the same
/// response as one built whole with [`MessageData::BodySection`] and friends.
#[must_use]
pub fn fetch_literal_head(
    seq: NonZeroU32,
    items: &[MessageData],
    last: &StreamedItem,
    length: u64,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.s("* ").num(seq.get()).s(" FETCH (");
    for it in items {
        write_item(&mut w, it);
        w.sp();
    }
    let binary = match last {
        StreamedItem::Body { section, origin } => {
            w.s("BODY");
            write_section(&mut w, section);
            if let Some(o) = origin {
                w.byte(b'<').num(*o).byte(b'>');
            }
            false
        }
        StreamedItem::Binary { part, origin } => {
            w.s("BINARY[");
            write_part(&mut w, part);
            w.byte(b']');
            if let Some(o) = origin {
                w.byte(b'<').num(*o).byte(b'>');
            }
            true
        }
        StreamedItem::Rfc822 => {
            w.s("RFC822");
            false
        }
        StreamedItem::Rfc822Header => {
            w.s("RFC822.HEADER");
            false
        }
        StreamedItem::Rfc822Text => {
            w.s("RFC822.TEXT");
            false
        }
    };
    w.s(if binary { " ~{" } else { " {" })
        .num(length)
        .s("}\r\n");
    w.finish().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{Data, Response};
    use crate::types::{Flag, IString, Literal, LiteralMode, NString};

    #[test]
    fn streamed_fetch_parses_like_a_whole_one() {
        let seq = NonZeroU32::new(7).unwrap();
        let items = vec![
            MessageData::Uid(NonZeroU32::new(42).unwrap()),
            MessageData::Flags(vec![Flag::Seen]),
        ];
        let body = b"Subject: x\r\n\r\nhello\r\n";
        let last = StreamedItem::Body {
            section: Section::default(),
            origin: None,
        };
        let mut wire = fetch_literal_head(seq, &items, &last, body.len() as u64);
        wire.extend_from_slice(body);
        wire.extend_from_slice(b")\r\n");
        let mut whole = items.clone();
        whole.push(MessageData::BodySection {
            section: Section::default(),
            origin: None,
            data: NString(Some(IString::Literal(
                Literal::new(&body[..], LiteralMode::Sync).unwrap(),
            ))),
        });
        let expected = Response::Data(Data::Fetch { seq, items: whole });
        assert_eq!(Response::parse(&wire).unwrap(), expected);
        assert_eq!(expected.to_bytes(), wire);
    }

    #[test]
    fn errors_become_bad() {
        let tag = Tag::new("a1").unwrap();
        let e = ParseError::UnknownCommand {
            tag: tag.clone(),
            name: "FROB".into(),
        };
        assert_eq!(
            Response::Status(Status::for_parse_error(&e)).to_bytes(),
            b"a1 BAD Unknown command\r\n"
        );
        let e = FrameError::LiteralTooLarge {
            length: 9,
            limit: 1,
        };
        assert_eq!(
            Response::Status(Status::for_frame_error(Some(tag), &e)).to_bytes(),
            b"a1 BAD [TOOBIG] Too large\r\n"
        );
        let s = Status::for_parse_error(&ParseError::Syntax {
            tag: None,
            offset: 0,
        });
        assert_eq!(Response::Status(s).to_bytes(), b"* BAD Syntax error\r\n");
        assert_eq!(Status::ok(None, None, "a\r\nb").text, "a  b");
    }
}
