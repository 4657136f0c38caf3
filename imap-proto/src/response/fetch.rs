//! FETCH response data items (RFC 3501 §7.4.2, RFC 9051 §7.5.2, RFC 3516 §4, RFC 7162 §3.1.4).

use std::num::NonZeroU32;

use crate::bodystructure::{BodyStructure, body, write_body};
use crate::encode::Writer;
use crate::envelope::{Envelope, envelope, write_envelope};
use crate::fetch::{Section, part_path, section, write_part, write_section};
use crate::parse::{
    R, byte, date_time, fail, flag_list, nstring, number, number64, nz_number, peek, sp,
};
use crate::types::{DateTime, Flag, NString};

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageData {
    /// `FLAGS (…)`.
    Flags(Vec<Flag>),
    /// `UID n`.
    Uid(NonZeroU32),
    /// `INTERNALDATE "…"`.
    InternalDate(DateTime),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `ENVELOPE (…)`.
    Envelope(Box<Envelope>),
    /// `BODY (…)`: the structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (…)`.
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> data`.
    BodySection {
        /// The section.
        section: Section,
        /// The first octet's offset, for a partial fetch.
        origin: Option<u32>,
        /// The data (a literal for anything long).
        data: NString,
    },
    /// `RFC822 data` (IMAP4rev1).
    Rfc822(NString),
    /// `RFC822.HEADER data`.
    Rfc822Header(NString),
    /// `RFC822.TEXT data`.
    Rfc822Text(NString),
    /// `BINARY[part]<origin> data` (RFC 3516; data is a `literal8` or NIL).
    Binary {
        /// The part path.
        part: Vec<NonZeroU32>,
        /// The first octet's offset, for a partial fetch.
        origin: Option<u32>,
        /// The decoded data.
        data: NString,
    },
    /// `BINARY.SIZE[part] n`.
    BinarySize {
        /// The part path.
        part: Vec<NonZeroU32>,
        /// Decoded size.
        size: u32,
    },
    /// `MODSEQ (n)`.
    ModSeq(u64),
    /// An item this crate has no type for (`X-GM-LABELS (\\Inbox)`): name and value.
    Other(crate::types::Atom, super::ExtValue),
}

fn origin(i: &[u8]) -> R<'_, Option<u32>> {
    if !peek(i, b'<') {
        return Ok((i, None));
    }
    let (i, n) = number(&i[1..])?;
    let (i, ()) = byte(b'>')(i)?;
    Ok((i, Some(n)))
}

fn bin_part(i: &[u8]) -> R<'_, Vec<NonZeroU32>> {
    let (i, ()) = byte(b'[')(i)?;
    if let Ok((i, ())) = byte(b']')(i) {
        return Ok((i, Vec::new()));
    }
    let (i, p) = part_path(i)?;
    let (i, ()) = byte(b']')(i)?;
    Ok((i, p))
}

/// An extension item: `atom SP value` (Gmail's `X-GM-MSGID 123`).
fn other(i: &[u8], depth: usize) -> R<'_, MessageData> {
    let (r, name) = crate::parse::atom(i)?;
    if r.first() != Some(&b' ') {
        return fail(i);
    }
    let (r, v) = super::ext::ext_value(&r[1..], depth)?;
    Ok((r, MessageData::Other(name, v)))
}

fn item(i: &[u8], depth: usize) -> R<'_, MessageData> {
    use MessageData as M;
    let n = i
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.')
        .count();
    let upper = crate::parse::Upper::new(&i[..n]);
    let word = upper.as_bytes();
    let rest = &i[n..];
    let start = i;
    let r = match word {
        b"BODY" | b"BINARY" if peek(rest, b'[') => {
            if word.len() == 4 {
                let (i, section) = section(rest)?;
                let (i, origin) = origin(i)?;
                let (i, ()) = sp(i)?;
                let (i, data) = nstring(i)?;
                (
                    i,
                    M::BodySection {
                        section,
                        origin,
                        data,
                    },
                )
            } else {
                let (i, part) = bin_part(rest)?;
                let (i, origin) = origin(i)?;
                let (i, ()) = sp(i)?;
                let (i, data) = nstring(i)?;
                (i, M::Binary { part, origin, data })
            }
        }
        b"BINARY.SIZE" => {
            let (i, part) = bin_part(rest)?;
            let (i, ()) = sp(i)?;
            let (i, size) = number(i)?;
            (i, M::BinarySize { part, size })
        }
        _ => match sp(rest) {
            Ok((i, ())) => match word {
                b"FLAGS" => flag_list(i).map(|(i, f)| (i, M::Flags(f)))?,
                b"UID" => nz_number(i).map(|(i, n)| (i, M::Uid(n)))?,
                b"INTERNALDATE" => date_time(i).map(|(i, d)| (i, M::InternalDate(d)))?,
                b"RFC822.SIZE" => number64(i).map(|(i, n)| (i, M::Rfc822Size(n)))?,
                b"ENVELOPE" => envelope(i).map(|(i, e)| (i, M::Envelope(Box::new(e))))?,
                b"BODY" => body(i, depth).map(|(i, b)| (i, M::Body(Box::new(b))))?,
                b"BODYSTRUCTURE" => {
                    body(i, depth).map(|(i, b)| (i, M::BodyStructure(Box::new(b))))?
                }
                b"RFC822" => nstring(i).map(|(i, s)| (i, M::Rfc822(s)))?,
                b"RFC822.HEADER" => nstring(i).map(|(i, s)| (i, M::Rfc822Header(s)))?,
                b"RFC822.TEXT" => nstring(i).map(|(i, s)| (i, M::Rfc822Text(s)))?,
                b"MODSEQ" => {
                    let (i, ()) = byte(b'(')(i)?;
                    let (i, n) = number64(i)?;
                    let (i, ()) = byte(b')')(i)?;
                    (i, M::ModSeq(n))
                }
                _ => other(start, depth)?,
            },
            Err(_) => other(start, depth)?,
        },
    };
    Ok(r)
}

/// `"(" msg-att *(SP msg-att) ")"`.
pub(crate) fn msg_atts(i: &[u8], depth: usize) -> R<'_, Vec<MessageData>> {
    let (mut i, ()) = byte(b'(')(i)?;
    let mut v = Vec::new();
    loop {
        let (rest, x) = item(i, depth)?;
        v.push(x);
        match rest.first() {
            Some(b' ') => i = &rest[1..],
            Some(b')') => return Ok((&rest[1..], v)),
            _ => return fail(rest),
        }
    }
}

pub(crate) fn write_item(w: &mut Writer, m: &MessageData) {
    use MessageData as M;
    match m {
        M::Flags(f) => {
            w.s("FLAGS ").list(f, |w, f| {
                w.flag(f);
            });
        }
        M::Uid(n) => {
            w.s("UID ").num(n.get());
        }
        M::InternalDate(d) => {
            w.s("INTERNALDATE ").date_time(*d);
        }
        M::Rfc822Size(n) => {
            w.s("RFC822.SIZE ").num(*n);
        }
        M::Envelope(e) => {
            w.s("ENVELOPE ");
            write_envelope(w, e);
        }
        M::Body(b) => {
            w.s("BODY ");
            write_body(w, b);
        }
        M::BodyStructure(b) => {
            w.s("BODYSTRUCTURE ");
            write_body(w, b);
        }
        M::BodySection {
            section,
            origin,
            data,
        } => {
            w.s("BODY");
            write_section(w, section);
            if let Some(o) = origin {
                w.byte(b'<').num(*o).byte(b'>');
            }
            w.sp().nstring(data);
        }
        M::Rfc822(s) => {
            w.s("RFC822 ").nstring(s);
        }
        M::Rfc822Header(s) => {
            w.s("RFC822.HEADER ").nstring(s);
        }
        M::Rfc822Text(s) => {
            w.s("RFC822.TEXT ").nstring(s);
        }
        M::Binary { part, origin, data } => {
            w.s("BINARY[");
            write_part(w, part);
            w.byte(b']');
            if let Some(o) = origin {
                w.byte(b'<').num(*o).byte(b'>');
            }
            w.sp().nstring(data);
        }
        M::BinarySize { part, size } => {
            w.s("BINARY.SIZE[");
            write_part(w, part);
            w.s("] ").num(*size);
        }
        M::ModSeq(n) => {
            w.s("MODSEQ (").num(*n).byte(b')');
        }
        M::Other(name, v) => {
            w.atom(name).sp();
            super::ext::write_ext_value(w, v);
        }
    }
}
