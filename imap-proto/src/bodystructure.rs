//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2 and §9 `body`, RFC 9051 §7.5.2): the MIME structure
//! of a message as a value that serializes byte-exact. Nesting (multipart, message/rfc822,
//! extension lists) is bounded by [`crate::framing::Limits::max_depth`].

use crate::encode::Writer;
use crate::envelope::{Envelope, envelope, write_envelope};
use crate::parse::{
    R, byte, enter, fail, nil, nstring, number, number64, paren_list, peek, sp, string,
};
use crate::types::{IString, NString};

/// `body-fld-param`: attribute/value pairs; empty is written as NIL (the grammar has no `()`).
pub type Params = Vec<(IString, IString)>;

/// The fields every non-multipart body has (`body-fields`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyFields {
    /// Content-Type parameters.
    pub params: Params,
    /// Content-ID.
    pub id: NString,
    /// Content-Description.
    pub description: NString,
    /// Content-Transfer-Encoding.
    pub encoding: IString,
    /// Size in octets (of the encoded body).
    pub octets: u32,
}

/// What kind of single part this is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartKind {
    /// Any type but text/* and message/rfc822 (or message/global).
    Basic {
        /// Media type.
        media_type: IString,
        /// Media subtype.
        subtype: IString,
    },
    /// `text/*`, with the line count.
    Text {
        /// The literal `"TEXT"` as sent.
        media_type: IString,
        /// Subtype.
        subtype: IString,
        /// Lines of the encoded body.
        lines: u64,
    },
    /// `message/rfc822` (or `message/global`), with the inner message's envelope and body.
    Message {
        /// The literal `"MESSAGE"` as sent.
        media_type: IString,
        /// `"RFC822"` or `"GLOBAL"` as sent.
        subtype: IString,
        /// The inner message's envelope.
        envelope: Box<Envelope>,
        /// The inner message's structure.
        body: Box<BodyStructure>,
        /// Lines of the encoded body.
        lines: u64,
    },
}

/// `body-fld-lang`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Language {
    /// One language or NIL.
    Single(NString),
    /// A parenthesized list.
    List(Vec<IString>),
}

/// `body-extension`: future extension data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyExtension {
    /// A string or NIL.
    NString(NString),
    /// A number.
    Number(u32),
    /// A parenthesized list.
    List(Vec<BodyExtension>),
}

/// `body-fld-dsp` contents: disposition type and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disposition {
    /// `inline`, `attachment` …
    pub kind: IString,
    /// Its parameters.
    pub params: Params,
}

/// Extension data after the MD5 (single part) or the parameters (multipart). Each field is
/// present only when the one before is (`None` = not sent; a NIL value is `Some(NIL)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtTail {
    /// Content-Disposition; `Some(None)` is NIL.
    pub disposition: Option<Option<Disposition>>,
    /// Content-Language.
    pub language: Option<Language>,
    /// Content-Location.
    pub location: Option<NString>,
    /// Further extension data.
    pub extensions: Vec<BodyExtension>,
}

/// Extension data of a single part (BODYSTRUCTURE only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinglePartExt {
    /// Content-MD5.
    pub md5: NString,
    /// The rest.
    pub tail: ExtTail,
}

/// Extension data of a multipart (BODYSTRUCTURE only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiPartExt {
    /// Content-Type parameters (e.g. the boundary).
    pub params: Params,
    /// The rest.
    pub tail: ExtTail,
}

/// A body structure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyStructure {
    /// A single part.
    Single {
        /// Type-specific data.
        kind: PartKind,
        /// The common fields.
        fields: BodyFields,
        /// Extension data.
        ext: Option<SinglePartExt>,
    },
    /// A multipart.
    Multi {
        /// The parts, at least one.
        parts: Vec<BodyStructure>,
        /// `mixed`, `alternative` …
        subtype: IString,
        /// Extension data.
        ext: Option<MultiPartExt>,
    },
}

fn params(i: &[u8]) -> R<'_, Params> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, Vec::new()));
    }
    let (rest, v) = paren_list(i, |i| {
        let (i, k) = string(i)?;
        let (i, ()) = sp(i)?;
        let (i, v) = string(i)?;
        Ok((i, (k, v)))
    })?;
    if v.is_empty() { fail(i) } else { Ok((rest, v)) }
}

fn fields(i: &[u8]) -> R<'_, BodyFields> {
    let (i, params) = params(i)?;
    let (i, ()) = sp(i)?;
    let (i, id) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, description) = nstring(i)?;
    let (i, ()) = sp(i)?;
    // quirk: some servers send NIL for the encoding, which the grammar does not allow; it is
    // read as "" (as imap-codec's `quirk_body_fld_enc_nil_to_empty` does).
    let (i, encoding) = match nil(i) {
        Ok((i, ())) => (
            i,
            IString::Quoted(crate::types::Quoted::from_checked(Vec::new())),
        ),
        Err(_) => string(i)?,
    };
    let (i, ()) = sp(i)?;
    let (i, octets) = number(i)?;
    Ok((
        i,
        BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    ))
}

fn extension(i: &[u8], depth: usize) -> R<'_, BodyExtension> {
    if peek(i, b'(') {
        let (i2, d) = enter(i, depth)?;
        let (rest, v) = paren_list(i2, |i| extension(i, d))?;
        return if v.is_empty() {
            fail(i)
        } else {
            Ok((rest, BodyExtension::List(v)))
        };
    }
    if i.first().is_some_and(u8::is_ascii_digit) {
        let (i, n) = number(i)?;
        return Ok((i, BodyExtension::Number(n)));
    }
    let (i, s) = nstring(i)?;
    Ok((i, BodyExtension::NString(s)))
}

fn tail(mut i: &[u8], depth: usize) -> R<'_, ExtTail> {
    let mut t = ExtTail::default();
    if !peek(i, b' ') {
        return Ok((i, t));
    }
    i = &i[1..];
    let (r, d) = if let Ok((r, ())) = nil(i) {
        (r, None)
    } else {
        let (r, ()) = byte(b'(')(i)?;
        let (r, kind) = string(r)?;
        let (r, ()) = sp(r)?;
        let (r, params) = params(r)?;
        let (r, ()) = byte(b')')(r)?;
        (r, Some(Disposition { kind, params }))
    };
    t.disposition = Some(d);
    i = r;
    if !peek(i, b' ') {
        return Ok((i, t));
    }
    let (r, lang) = if peek(&i[1..], b'(') {
        let (r, v) = paren_list(&i[1..], string)?;
        if v.is_empty() {
            return fail(i);
        }
        (r, Language::List(v))
    } else {
        let (r, s) = nstring(&i[1..])?;
        (r, Language::Single(s))
    };
    t.language = Some(lang);
    i = r;
    if !peek(i, b' ') {
        return Ok((i, t));
    }
    let (r, loc) = nstring(&i[1..])?;
    t.location = Some(loc);
    i = r;
    while peek(i, b' ') {
        let (r, e) = extension(&i[1..], depth)?;
        t.extensions.push(e);
        i = r;
    }
    Ok((i, t))
}

/// `body`, `depth` levels of nesting left.
pub(crate) fn body(i: &[u8], depth: usize) -> R<'_, BodyStructure> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, depth) = enter(i, depth)?;
    if peek(i, b'(') {
        let mut parts = Vec::new();
        let mut i = i;
        while peek(i, b'(') {
            let (r, b) = body(i, depth)?;
            parts.push(b);
            i = r;
        }
        let (i, ()) = sp(i)?;
        let (i, subtype) = string(i)?;
        let (i, ext) = if peek(i, b' ') {
            let (i, params) = params(&i[1..])?;
            let (i, tail) = tail(i, depth)?;
            (i, Some(MultiPartExt { params, tail }))
        } else {
            (i, None)
        };
        let (i, ()) = byte(b')')(i)?;
        return Ok((
            i,
            BodyStructure::Multi {
                parts,
                subtype,
                ext,
            },
        ));
    }
    let (i, media_type) = string(i)?;
    let (i, ()) = sp(i)?;
    let (i, subtype) = string(i)?;
    let (i, ()) = sp(i)?;
    let (i, fields) = fields(i)?;
    let t = media_type.as_bytes();
    let s = subtype.as_bytes();
    let (i, kind) = if t.eq_ignore_ascii_case(b"TEXT") {
        let (i, ()) = sp(i)?;
        let (i, lines) = number64(i)?;
        (
            i,
            PartKind::Text {
                media_type,
                subtype,
                lines,
            },
        )
    } else if t.eq_ignore_ascii_case(b"MESSAGE")
        && (s.eq_ignore_ascii_case(b"RFC822") || s.eq_ignore_ascii_case(b"GLOBAL"))
    {
        let (i, ()) = sp(i)?;
        let (i, env) = envelope(i)?;
        let (i, ()) = sp(i)?;
        let (i, b) = body(i, depth)?;
        let (i, ()) = sp(i)?;
        let (i, lines) = number64(i)?;
        (
            i,
            PartKind::Message {
                media_type,
                subtype,
                envelope: Box::new(env),
                body: Box::new(b),
                lines,
            },
        )
    } else {
        (
            i,
            PartKind::Basic {
                media_type,
                subtype,
            },
        )
    };
    let (i, ext) = if peek(i, b' ') {
        let (i, md5) = nstring(&i[1..])?;
        let (i, tail) = tail(i, depth)?;
        (i, Some(SinglePartExt { md5, tail }))
    } else {
        (i, None)
    };
    let (i, ()) = byte(b')')(i)?;
    Ok((i, BodyStructure::Single { kind, fields, ext }))
}

fn write_params(w: &mut Writer, p: &Params) {
    if p.is_empty() {
        w.s("NIL");
    } else {
        w.list(p, |w, (k, v)| {
            w.string(k).sp().string(v);
        });
    }
}

fn write_extension(w: &mut Writer, e: &BodyExtension) {
    match e {
        BodyExtension::NString(s) => {
            w.nstring(s);
        }
        BodyExtension::Number(n) => {
            w.num(*n);
        }
        BodyExtension::List(v) => {
            w.list(v, write_extension);
        }
    }
}

fn write_tail(w: &mut Writer, t: &ExtTail) {
    let Some(d) = &t.disposition else { return };
    w.sp();
    match d {
        None => {
            w.s("NIL");
        }
        Some(d) => {
            w.byte(b'(').string(&d.kind).sp();
            write_params(w, &d.params);
            w.byte(b')');
        }
    }
    let Some(l) = &t.language else { return };
    w.sp();
    match l {
        Language::Single(s) => {
            w.nstring(s);
        }
        Language::List(v) => {
            w.list(v, |w, s| {
                w.string(s);
            });
        }
    }
    let Some(loc) = &t.location else { return };
    w.sp().nstring(loc);
    for e in &t.extensions {
        w.sp();
        write_extension(w, e);
    }
}

pub(crate) fn write_body(w: &mut Writer, b: &BodyStructure) {
    w.byte(b'(');
    match b {
        BodyStructure::Multi {
            parts,
            subtype,
            ext,
        } => {
            for p in parts {
                write_body(w, p);
            }
            w.sp().string(subtype);
            if let Some(e) = ext {
                w.sp();
                write_params(w, &e.params);
                write_tail(w, &e.tail);
            }
        }
        BodyStructure::Single { kind, fields, ext } => {
            let (t, s) = match kind {
                PartKind::Basic {
                    media_type,
                    subtype,
                }
                | PartKind::Text {
                    media_type,
                    subtype,
                    ..
                }
                | PartKind::Message {
                    media_type,
                    subtype,
                    ..
                } => (media_type, subtype),
            };
            w.string(t).sp().string(s).sp();
            write_params(w, &fields.params);
            w.sp()
                .nstring(&fields.id)
                .sp()
                .nstring(&fields.description)
                .sp()
                .string(&fields.encoding)
                .sp()
                .num(fields.octets);
            match kind {
                PartKind::Basic { .. } => {}
                PartKind::Text { lines, .. } => {
                    w.sp().num(*lines);
                }
                PartKind::Message {
                    envelope,
                    body,
                    lines,
                    ..
                } => {
                    w.sp();
                    write_envelope(w, envelope);
                    w.sp();
                    write_body(w, body);
                    w.sp().num(*lines);
                }
            }
            if let Some(e) = ext {
                w.sp().nstring(&e.md5);
                write_tail(w, &e.tail);
            }
        }
    }
    w.byte(b')');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::all;

    fn rt(s: &[u8]) -> BodyStructure {
        let b = all(s, |i| body(i, 64)).unwrap();
        let mut w = Writer::default();
        write_body(&mut w, &b);
        assert_eq!(String::from_utf8_lossy(&w.buf), String::from_utf8_lossy(s));
        b
    }

    #[test]
    fn byte_exact_structures() {
        // RFC 3501 §7.4.2.
        rt(b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)");
        let b = rt(b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")");
        assert!(matches!(b, BodyStructure::Multi { ref parts, .. } if parts.len() == 2));
        // Extension data as Dovecot sends it, with a nested message/rfc822.
        rt(b"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 300 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) 12 NIL (\"attachment\" (\"filename\" \"m.eml\")) (\"en\" \"de\") \"loc\" 7 (1 NIL \"x\")) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)");
        rt(b"(\"application\" \"pdf\" NIL NIL NIL \"base64\" 100 \"md5\")");
        let quirk = all(b"(\"image\" \"png\" NIL NIL NIL NIL 1)", |i| body(i, 64)).unwrap();
        assert!(
            matches!(quirk, BodyStructure::Single { fields, .. } if fields.encoding.as_bytes().is_empty())
        );
        assert!(
            all(b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1)", |i| body(
                i, 64
            ))
            .is_err()
        );
    }

    #[test]
    fn depth_bounded() {
        let mut s = b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)".to_vec();
        for _ in 0..100 {
            s = [&b"("[..], &s, b" \"mixed\")"].concat();
        }
        assert!(matches!(all(&s, |i| body(i, 64)), Err((_, true))));
        assert!(all(&s, |i| body(i, 200)).is_ok());
    }
}
