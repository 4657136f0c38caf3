//! The octets of `BODY[section]` and `BINARY[part]` (RFC 3501 §6.4.5, RFC 9051 §6.4.5,
//! RFC 3516 §4.2).

use std::num::NonZeroU32;

use base64::Engine as _;
use mail_parser::{Message, MessagePart, PartType};

use super::{Parsed, body_of, children, header_of};
use crate::fetch::{Section, SectionText};
use crate::types::AString;

/// Why `BINARY[part]` cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryError {
    /// The part does not exist.
    #[error("no such part")]
    NoPart,
    /// The part's Content-Transfer-Encoding is not one the server can decode
    /// (`[UNKNOWN-CTE]`, RFC 3516 §4.3).
    #[error("unknown content-transfer-encoding")]
    UnknownCte,
}

/// Where a part path leads: the message holding the part, and the part.
fn locate<'x, 'y>(
    mut m: &'x Message<'y>,
    path: &[NonZeroU32],
) -> Option<(&'x Message<'y>, &'x MessagePart<'y>)> {
    let mut part = m.root_part();
    for (k, n) in path.iter().enumerate() {
        // Below a message/rfc822 part the numbers count the encapsulated message's parts.
        if k > 0
            && let PartType::Message(inner) = &part.body
        {
            m = inner;
            part = inner.root_part();
        }
        let kids = children(m, part);
        if kids.is_empty() {
            if n.get() != 1 {
                return None;
            }
        } else {
            part = kids.get(n.get() as usize - 1)?;
        }
    }
    Some((m, part))
}

/// Header lines (folded lines kept whole) whose field name is (or, with `not`, is not) in
/// `names`, then the empty line.
fn header_fields(header: &[u8], names: &[AString], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|b| *b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            let name = line.split(|b| *b == b':').next().unwrap_or_default();
            let name = name.trim_ascii();
            let listed = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The octets of a section, `None` when the part does not exist (the server then returns
/// an empty string, RFC 3501 §6.4.5).
#[must_use]
pub fn section(p: &Parsed<'_>, s: &Section) -> Option<Vec<u8>> {
    let Some(m) = p.message() else {
        return match (&s.text, s.part.is_empty()) {
            (None, true) => Some(p.raw().to_vec()),
            _ => None,
        };
    };
    if s.part.is_empty() {
        let root = m.root_part();
        return Some(match &s.text {
            None => p.raw().to_vec(),
            Some(t) => text_of(m, root, t)?,
        });
    }
    let (pm, part) = locate(m, &s.part)?;
    match &s.text {
        None => Some(body_of(pm, part).to_vec()),
        Some(SectionText::Mime) => Some(header_of(pm, part).to_vec()),
        Some(t) => {
            // HEADER/TEXT after a part number apply to a message/rfc822 part's message.
            let PartType::Message(inner) = &part.body else {
                return None;
            };
            text_of(inner, inner.root_part(), t)
        }
    }
}

fn text_of(m: &Message<'_>, root: &MessagePart<'_>, t: &SectionText) -> Option<Vec<u8>> {
    let header = header_of(m, root);
    Some(match t {
        SectionText::Header => header.to_vec(),
        SectionText::HeaderFields(n) => header_fields(header, n, false),
        SectionText::HeaderFieldsNot(n) => header_fields(header, n, true),
        SectionText::Text => body_of(m, root).to_vec(),
        SectionText::Mime => return None,
    })
}

fn decode_qp(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The decoded octets of a part for `BINARY[part]` (RFC 3516 §4.2): the whole message for an
/// empty path.
///
/// # Errors
/// [`BinaryError`] when the part is missing or its encoding unknown.
pub fn binary(p: &Parsed<'_>, part: &[NonZeroU32]) -> Result<Vec<u8>, BinaryError> {
    let Some(m) = p.message() else {
        return if part.is_empty() {
            Ok(p.raw().to_vec())
        } else {
            Err(BinaryError::NoPart)
        };
    };
    if part.is_empty() {
        return Ok(p.raw().to_vec());
    }
    let (pm, part) = locate(m, part).ok_or(BinaryError::NoPart)?;
    let body = body_of(pm, part);
    let cte = super::raw_header(pm, part, "Content-Transfer-Encoding")
        .map(|v| String::from_utf8_lossy(&super::envelope::unfold(v)).to_ascii_lowercase())
        .unwrap_or_else(|| "7bit".into());
    match cte.as_str() {
        "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        "quoted-printable" => Ok(decode_qp(body)),
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&clean)
                .or_else(|_| {
                    base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_ascii_end())
                })
                .map_err(|_| BinaryError::UnknownCte)
        }
        _ => Err(BinaryError::UnknownCte),
    }
}
