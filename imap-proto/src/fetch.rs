//! FETCH attributes of the command side (RFC 3501 §6.4.5, RFC 9051 §6.4.5): macros,
//! `BODY[section]<partial>`, `BODY.PEEK`, `BINARY[…]`/`BINARY.PEEK`/`BINARY.SIZE` (RFC 3516),
//! `MODSEQ` and the `CHANGEDSINCE`/`VANISHED` modifiers (RFC 7162 §3.1.4, §3.2.6).

use std::num::NonZeroU32;

use crate::encode::Writer;
use crate::parse::{R, astring, byte, fail, kw, number, number64, nz_number, paren_list, peek, sp};
use crate::types::AString;

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`.
    Header,
    /// `HEADER.FIELDS (…)`.
    HeaderFields(Vec<AString>),
    /// `HEADER.FIELDS.NOT (…)`.
    HeaderFieldsNot(Vec<AString>),
    /// `TEXT`.
    Text,
    /// `MIME` (only after a part number).
    Mime,
}

/// A section: a part path (`1.2.3`, empty for the whole message) and an optional text part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// The part numbers.
    pub part: Vec<NonZeroU32>,
    /// What of the part.
    pub text: Option<SectionText>,
}

/// `<offset.count>` in a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// First octet.
    pub offset: u32,
    /// How many octets (non-zero).
    pub count: NonZeroU32,
}

/// A FETCH macro (RFC 3501 §6.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchMacro {
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    All,
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`.
    Fast,
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    Full,
}

impl FetchMacro {
    /// The attributes the macro stands for.
    #[must_use]
    pub fn expand(self) -> Vec<FetchAttr> {
        use FetchAttr as A;
        let mut v = vec![A::Flags, A::InternalDate, A::Rfc822Size];
        if self != Self::Fast {
            v.push(A::Envelope);
        }
        if self == Self::Full {
            v.push(A::Body);
        }
        v
    }
}

/// A fetch attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchAttr {
    /// `ENVELOPE`.
    Envelope,
    /// `FLAGS`.
    Flags,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822` (IMAP4rev1).
    Rfc822,
    /// `RFC822.HEADER`.
    Rfc822Header,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `RFC822.TEXT`.
    Rfc822Text,
    /// `BODY` (structure without extension data).
    Body,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `UID`.
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[…]`.
    BodySection {
        /// Whether `.PEEK` (no `\Seen`).
        peek: bool,
        /// The section.
        section: Section,
        /// The partial range.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[…]` (RFC 3516).
    Binary {
        /// Whether `.PEEK`.
        peek: bool,
        /// The part path.
        part: Vec<NonZeroU32>,
        /// The partial range.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize(Vec<NonZeroU32>),
    /// `MODSEQ` (RFC 7162).
    ModSeq,
}

/// What a FETCH asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchItems {
    /// A macro.
    Macro(FetchMacro),
    /// One attribute without parentheses, or a parenthesized list.
    Attrs(Vec<FetchAttr>),
}

/// A FETCH modifier (RFC 4466 §2.4, RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchModifier {
    /// `CHANGEDSINCE modseq`.
    ChangedSince(u64),
    /// `VANISHED` (QRESYNC, with UID FETCH).
    Vanished,
}

pub(crate) fn part_path(i: &[u8]) -> R<'_, Vec<NonZeroU32>> {
    let (mut i, first) = nz_number(i)?;
    let mut v = vec![first];
    // A dot followed by a digit continues the path; a dot before HEADER/TEXT/MIME does not.
    while peek(i, b'.') && i.get(1).is_some_and(u8::is_ascii_digit) {
        let (rest, n) = nz_number(&i[1..])?;
        v.push(n);
        i = rest;
    }
    Ok((i, v))
}

fn header_list(i: &[u8]) -> R<'_, Vec<AString>> {
    let (rest, v) = paren_list(i, astring)?;
    if v.is_empty() { fail(i) } else { Ok((rest, v)) }
}

fn section_text(i: &[u8], after_part: bool) -> R<'_, SectionText> {
    if let Ok((i, ())) = kw("HEADER.FIELDS.NOT ")(i) {
        let (i, l) = header_list(i)?;
        return Ok((i, SectionText::HeaderFieldsNot(l)));
    }
    if let Ok((i, ())) = kw("HEADER.FIELDS ")(i) {
        let (i, l) = header_list(i)?;
        return Ok((i, SectionText::HeaderFields(l)));
    }
    if let Ok((i, ())) = kw("HEADER")(i) {
        return Ok((i, SectionText::Header));
    }
    if let Ok((i, ())) = kw("TEXT")(i) {
        return Ok((i, SectionText::Text));
    }
    if after_part && let Ok((i, ())) = kw("MIME")(i) {
        return Ok((i, SectionText::Mime));
    }
    fail(i)
}

/// `"[" [section-spec] "]"`.
pub(crate) fn section(i: &[u8]) -> R<'_, Section> {
    let (i, ()) = byte(b'[')(i)?;
    if let Ok((i, ())) = byte(b']')(i) {
        return Ok((i, Section::default()));
    }
    let (i, s) = if i.first().is_some_and(u8::is_ascii_digit) {
        let (i, part) = part_path(i)?;
        if peek(i, b'.') {
            let (i, t) = section_text(&i[1..], true)?;
            (
                i,
                Section {
                    part,
                    text: Some(t),
                },
            )
        } else {
            (i, Section { part, text: None })
        }
    } else {
        let (i, t) = section_text(i, false)?;
        (
            i,
            Section {
                part: Vec::new(),
                text: Some(t),
            },
        )
    };
    let (i, ()) = byte(b']')(i)?;
    Ok((i, s))
}

fn binary_section(i: &[u8]) -> R<'_, Vec<NonZeroU32>> {
    let (i, ()) = byte(b'[')(i)?;
    if let Ok((i, ())) = byte(b']')(i) {
        return Ok((i, Vec::new()));
    }
    let (i, p) = part_path(i)?;
    let (i, ()) = byte(b']')(i)?;
    Ok((i, p))
}

fn partial(i: &[u8]) -> R<'_, Option<Partial>> {
    if !peek(i, b'<') {
        return Ok((i, None));
    }
    let (i, offset) = number(&i[1..])?;
    let (i, ()) = byte(b'.')(i)?;
    let (i, count) = nz_number(i)?;
    let (i, ()) = byte(b'>')(i)?;
    Ok((i, Some(Partial { offset, count })))
}

pub(crate) fn fetch_attr(i: &[u8]) -> R<'_, FetchAttr> {
    use FetchAttr as A;
    let n = i
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.')
        .count();
    let upper = crate::parse::Upper::new(&i[..n]);
    let word = upper.as_bytes();
    let rest = &i[n..];
    let r = match word {
        b"ENVELOPE" => (rest, A::Envelope),
        b"FLAGS" => (rest, A::Flags),
        b"INTERNALDATE" => (rest, A::InternalDate),
        b"RFC822" => (rest, A::Rfc822),
        b"RFC822.HEADER" => (rest, A::Rfc822Header),
        b"RFC822.SIZE" => (rest, A::Rfc822Size),
        b"RFC822.TEXT" => (rest, A::Rfc822Text),
        b"BODYSTRUCTURE" => (rest, A::BodyStructure),
        b"UID" => (rest, A::Uid),
        b"MODSEQ" => (rest, A::ModSeq),
        b"BODY" | b"BODY.PEEK" if peek(rest, b'[') => {
            let (rest, section) = section(rest)?;
            let (rest, partial) = partial(rest)?;
            (
                rest,
                A::BodySection {
                    peek: word.len() > 4,
                    section,
                    partial,
                },
            )
        }
        b"BODY" => (rest, A::Body),
        b"BINARY" | b"BINARY.PEEK" => {
            let (rest, part) = binary_section(rest)?;
            let (rest, partial) = partial(rest)?;
            (
                rest,
                A::Binary {
                    peek: word.len() > 6,
                    part,
                    partial,
                },
            )
        }
        b"BINARY.SIZE" => {
            let (rest, part) = binary_section(rest)?;
            (rest, A::BinarySize(part))
        }
        _ => return fail(i),
    };
    Ok(r)
}

pub(crate) fn fetch_items(i: &[u8]) -> R<'_, FetchItems> {
    if peek(i, b'(') {
        let (rest, v) = paren_list(i, fetch_attr)?;
        return if v.is_empty() {
            fail(i)
        } else {
            Ok((rest, FetchItems::Attrs(v)))
        };
    }
    for (k, m) in [
        ("ALL", FetchMacro::All),
        ("FAST", FetchMacro::Fast),
        ("FULL", FetchMacro::Full),
    ] {
        if let Ok((rest, ())) = kw(k)(i)
            && !rest.first().is_some_and(u8::is_ascii_alphanumeric)
        {
            return Ok((rest, FetchItems::Macro(m)));
        }
    }
    let (i, a) = fetch_attr(i)?;
    Ok((i, FetchItems::Attrs(vec![a])))
}

pub(crate) fn fetch_modifiers(i: &[u8]) -> R<'_, Vec<FetchModifier>> {
    let (rest, v) = paren_list(i, |i| {
        if let Ok((i, ())) = kw("CHANGEDSINCE ")(i) {
            let (i, n) = number64(i)?;
            return Ok((i, FetchModifier::ChangedSince(n)));
        }
        let (i, ()) = kw("VANISHED")(i)?;
        Ok((i, FetchModifier::Vanished))
    })?;
    if v.is_empty() { fail(i) } else { Ok((rest, v)) }
}

pub(crate) fn write_part(w: &mut Writer, p: &[NonZeroU32]) {
    w.sep(p, b'.', |w, n| {
        w.num(n.get());
    });
}

pub(crate) fn write_section(w: &mut Writer, s: &Section) {
    w.byte(b'[');
    write_part(w, &s.part);
    if let Some(t) = &s.text {
        if !s.part.is_empty() {
            w.byte(b'.');
        }
        match t {
            SectionText::Header => {
                w.s("HEADER");
            }
            SectionText::Text => {
                w.s("TEXT");
            }
            SectionText::Mime => {
                w.s("MIME");
            }
            SectionText::HeaderFields(l) => {
                w.s("HEADER.FIELDS ").list(l, |w, a| {
                    w.astring(a);
                });
            }
            SectionText::HeaderFieldsNot(l) => {
                w.s("HEADER.FIELDS.NOT ").list(l, |w, a| {
                    w.astring(a);
                });
            }
        }
    }
    w.byte(b']');
}

fn write_partial(w: &mut Writer, p: Option<Partial>) {
    if let Some(p) = p {
        w.byte(b'<')
            .num(p.offset)
            .byte(b'.')
            .num(p.count.get())
            .byte(b'>');
    }
}

pub(crate) fn write_attr(w: &mut Writer, a: &FetchAttr) {
    use FetchAttr as A;
    match a {
        A::Envelope => w.s("ENVELOPE"),
        A::Flags => w.s("FLAGS"),
        A::InternalDate => w.s("INTERNALDATE"),
        A::Rfc822 => w.s("RFC822"),
        A::Rfc822Header => w.s("RFC822.HEADER"),
        A::Rfc822Size => w.s("RFC822.SIZE"),
        A::Rfc822Text => w.s("RFC822.TEXT"),
        A::Body => w.s("BODY"),
        A::BodyStructure => w.s("BODYSTRUCTURE"),
        A::Uid => w.s("UID"),
        A::ModSeq => w.s("MODSEQ"),
        A::BodySection {
            peek,
            section,
            partial,
        } => {
            w.s(if *peek { "BODY.PEEK" } else { "BODY" });
            write_section(w, section);
            write_partial(w, *partial);
            w
        }
        A::Binary {
            peek,
            part,
            partial,
        } => {
            w.s(if *peek { "BINARY.PEEK[" } else { "BINARY[" });
            write_part(w, part);
            w.byte(b']');
            write_partial(w, *partial);
            w
        }
        A::BinarySize(part) => {
            w.s("BINARY.SIZE[");
            write_part(w, part);
            w.byte(b']')
        }
    };
}

pub(crate) fn write_items(w: &mut Writer, items: &FetchItems) {
    match items {
        FetchItems::Macro(m) => {
            w.s(match m {
                FetchMacro::All => "ALL",
                FetchMacro::Fast => "FAST",
                FetchMacro::Full => "FULL",
            });
        }
        FetchItems::Attrs(v) => {
            w.list(v, write_attr);
        }
    }
}

pub(crate) fn write_modifiers(w: &mut Writer, m: &[FetchModifier]) {
    w.list(m, |w, m| match m {
        FetchModifier::ChangedSince(n) => {
            w.s("CHANGEDSINCE ").num(*n);
        }
        FetchModifier::Vanished => {
            w.s("VANISHED");
        }
    });
}

/// Used by `sp`-separated callers.
pub(crate) fn sp_fetch_modifiers(i: &[u8]) -> R<'_, Vec<FetchModifier>> {
    if i.starts_with(b" (") {
        let (i, ()) = sp(i)?;
        fetch_modifiers(i)
    } else {
        Ok((i, Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::all;

    fn rt(s: &str) -> FetchItems {
        let v = all(s.as_bytes(), fetch_items).unwrap();
        let mut w = Writer::default();
        write_items(&mut w, &v);
        assert_eq!(all(&w.buf, fetch_items).unwrap(), v, "{s}");
        v
    }

    #[test]
    fn sections_and_partials() {
        assert_eq!(rt("fast"), FetchItems::Macro(FetchMacro::Fast));
        let FetchItems::Attrs(v) =
            rt("(FLAGS BODY[HEADER.FIELDS (DATE FROM)] BODY.PEEK[1.2.MIME]<0.2048> BINARY[1])")
        else {
            panic!()
        };
        assert_eq!(v.len(), 4);
        assert!(
            matches!(&v[2], FetchAttr::BodySection { peek: true, section, partial: Some(p) }
            if section.part.len() == 2 && section.text == Some(SectionText::Mime) && p.offset == 0)
        );
        rt("BODY[]");
        rt("BODY[4.2.TEXT]");
        rt("BINARY.SIZE[2]");
        assert!(all(b"BODY[MIME]", fetch_items).is_err());
        assert!(all(b"BODY[1]<0.0>", fetch_items).is_err());
        assert!(all(b"()", fetch_items).is_err());
    }
}
