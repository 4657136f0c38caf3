//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) from mail-parser's tree.

use mail_parser::{HeaderValue, Message, MessagePart, MimeHeaders, PartType};

use super::envelope::{envelope, unfold};
use super::{body_of, children, raw_header};
use crate::bodystructure::{
    BodyFields, BodyStructure, Disposition, ExtTail, Language, MultiPartExt, Params, PartKind,
    SinglePartExt,
};
use crate::types::{IString, NString};

/// Deeper nesting is rendered as an empty text part (a bound on work and on the response).
const MAX_DEPTH: usize = 32;

fn istr(s: &str) -> IString {
    IString::from_bytes(s.as_bytes().to_vec())
}

fn nstr(v: Option<Vec<u8>>) -> NString {
    match v {
        Some(v) if !v.is_empty() => NString::from_bytes(v),
        _ => NString(None),
    }
}

pub(super) fn empty_text() -> BodyStructure {
    BodyStructure::Single {
        kind: PartKind::Text {
            media_type: istr("TEXT"),
            subtype: istr("PLAIN"),
            lines: 0,
        },
        fields: BodyFields {
            params: vec![(istr("CHARSET"), istr("US-ASCII"))],
            id: NString(None),
            description: NString(None),
            encoding: istr("7BIT"),
            octets: 0,
        },
        ext: None,
    }
}

pub(super) fn of_message(m: &Message<'_>, extended: bool, depth: usize) -> BodyStructure {
    of_part(m, m.root_part(), extended, depth)
}

fn params_of(attrs: Option<&[mail_parser::Attribute<'_>]>) -> Params {
    attrs
        .unwrap_or_default()
        .iter()
        .map(|a| (istr(&a.name.to_ascii_uppercase()), istr(&a.value)))
        .collect()
}

fn tail(m: &Message<'_>, part: &MessagePart<'_>) -> ExtTail {
    let disposition = part.content_disposition().map(|d| Disposition {
        kind: istr(&d.ctype().to_ascii_uppercase()),
        params: params_of(d.attributes()),
    });
    let language = match part.content_language() {
        HeaderValue::Text(t) => Language::Single(NString::from_bytes(t.as_bytes().to_vec())),
        HeaderValue::TextList(l) => Language::List(l.iter().map(|t| istr(t)).collect()),
        _ => Language::Single(NString(None)),
    };
    let location = nstr(raw_header(m, part, "Content-Location").map(unfold));
    ExtTail {
        disposition: Some(disposition),
        language: Some(language),
        location: Some(location),
        extensions: Vec::new(),
    }
}

/// Lines of a body: its line ends, and a last line without one (the CRLF before a boundary
/// belongs to the boundary, RFC 2046 §5.1.1).
fn lines(b: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', b).count() as u64;
    n + u64::from(b.last().is_some_and(|c| *c != b'\n'))
}

fn of_part(m: &Message<'_>, part: &MessagePart<'_>, extended: bool, depth: usize) -> BodyStructure {
    if depth > MAX_DEPTH {
        return empty_text();
    }
    let ct = part.content_type();
    let (ty, sub) = match ct {
        Some(c) => (
            c.ctype().to_ascii_uppercase(),
            c.subtype().map(str::to_ascii_uppercase),
        ),
        None => ("TEXT".to_string(), Some("PLAIN".to_string())),
    };
    if let PartType::Multipart(_) = part.body {
        let parts: Vec<BodyStructure> = children(m, part)
            .into_iter()
            .map(|p| of_part(m, p, extended, depth + 1))
            .collect();
        let parts = if parts.is_empty() {
            vec![empty_text()]
        } else {
            parts
        };
        let ext = extended.then(|| MultiPartExt {
            params: params_of(ct.and_then(|c| c.attributes())),
            tail: tail(m, part),
        });
        return BodyStructure::Multi {
            parts,
            subtype: istr(sub.as_deref().unwrap_or("MIXED")),
            ext,
        };
    }
    let body = body_of(m, part);
    let mut params = params_of(ct.and_then(|c| c.attributes()));
    if ct.is_none() {
        params = vec![(istr("CHARSET"), istr("US-ASCII"))];
    }
    let fields = BodyFields {
        params,
        id: nstr(raw_header(m, part, "Content-ID").map(unfold)),
        description: nstr(raw_header(m, part, "Content-Description").map(unfold)),
        encoding: istr(
            &raw_header(m, part, "Content-Transfer-Encoding")
                .map(|v| String::from_utf8_lossy(&unfold(v)).to_ascii_uppercase())
                .unwrap_or_else(|| "7BIT".into()),
        ),
        octets: u32::try_from(body.len()).unwrap_or(u32::MAX),
    };
    let subtype = istr(sub.as_deref().unwrap_or("PLAIN"));
    let kind = match &part.body {
        PartType::Message(inner) => PartKind::Message {
            media_type: istr(&ty),
            subtype,
            envelope: Box::new(envelope(|n| raw_header(inner, inner.root_part(), n))),
            body: Box::new(of_message(inner, extended, depth + 1)),
            lines: lines(body),
        },
        _ if ty == "TEXT" => PartKind::Text {
            media_type: istr(&ty),
            subtype,
            lines: lines(body),
        },
        _ => PartKind::Basic {
            media_type: istr(&ty),
            subtype,
        },
    };
    let ext = extended.then(|| SinglePartExt {
        md5: nstr(raw_header(m, part, "Content-MD5").map(unfold)),
        tail: tail(m, part),
    });
    BodyStructure::Single { kind, fields, ext }
}
