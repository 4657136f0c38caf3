//! ENVELOPE from a message's raw header (RFC 3501 §7.4.2, RFC 9051 §7.5.2): fields as sent,
//! encoded words kept (the client decodes them), Sender and Reply-To defaulting to From, and
//! address lists read with RFC 5322 §3.4's grammar (groups, quoted names, comments, routes).

use crate::envelope::{Address, Envelope};
use crate::types::NString;

/// Header unfolded (CRLF before whitespace removed, RFC 5322 §2.2.3) and trimmed.
pub(crate) fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    let start = out
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    out[start..end].to_vec()
}

fn nstr(v: Option<Vec<u8>>) -> NString {
    match v {
        Some(v) if !v.is_empty() => NString::from_bytes(v),
        _ => NString(None),
    }
}

/// Builds the envelope; `header` finds a raw header value by name.
pub(crate) fn envelope<'a>(header: impl Fn(&str) -> Option<&'a [u8]>) -> Envelope {
    let text = |n: &str| nstr(header(n).map(unfold));
    let addrs = |n: &str| {
        header(n)
            .map(|v| addresses(&unfold(v)))
            .filter(|a| !a.is_empty())
    };
    let from = addrs("From");
    Envelope {
        date: text("Date"),
        subject: text("Subject"),
        sender: addrs("Sender").or_else(|| from.clone()),
        reply_to: addrs("Reply-To").or_else(|| from.clone()),
        from,
        to: addrs("To"),
        cc: addrs("Cc"),
        bcc: addrs("Bcc"),
        in_reply_to: text("In-Reply-To"),
        message_id: text("Message-ID"),
    }
}

/// A token of an address list.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(Vec<u8>),
    Quoted(Vec<u8>),
    Special(u8),
}

fn tokens(v: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        match c {
            b' ' | b'\t' => i += 1,
            b'(' => {
                // Comments nest (RFC 5322 §3.2.2) and are dropped.
                let mut depth = 0usize;
                while i < v.len() {
                    match v[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    s.push(v[i]);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Quoted(s));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' => {
                out.push(Tok::Special(c));
                i += 1;
            }
            _ => {
                let start = i;
                while i < v.len() && !b" \t(\"<>@,;:.".contains(&v[i]) {
                    i += 1;
                }
                out.push(Tok::Word(v[start..i].to_vec()));
            }
        }
    }
    out
}

fn text_of(toks: &[Tok], spaced: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let (bytes, is_dot) = match t {
            Tok::Word(w) | Tok::Quoted(w) => (w.clone(), false),
            Tok::Special(c) => (vec![*c], *c == b'.'),
        };
        let prev_dot = k > 0 && matches!(toks[k - 1], Tok::Special(b'.'));
        if spaced && k > 0 && !is_dot && !prev_dot {
            out.push(b' ');
        }
        out.extend(bytes);
    }
    out
}

/// One mailbox from its tokens: `name <route:local@domain>` or `local@domain`.
fn mailbox(toks: &[Tok]) -> Option<Address> {
    if toks.is_empty() {
        return None;
    }
    let (name, spec) = match toks.iter().position(|t| *t == Tok::Special(b'<')) {
        Some(lt) => {
            let end = toks
                .iter()
                .rposition(|t| *t == Tok::Special(b'>'))
                .unwrap_or(toks.len());
            let inner = &toks[lt + 1..end.max(lt + 1)];
            // Drop an obsolete route (`@a,@b:`), RFC 5322 §4.4.
            let inner = match inner.iter().position(|t| *t == Tok::Special(b':')) {
                Some(c) => &inner[c + 1..],
                None => inner,
            };
            (Some(text_of(&toks[..lt], true)), inner)
        }
        None => (None, toks),
    };
    let (local, host) = match spec.iter().rposition(|t| *t == Tok::Special(b'@')) {
        Some(at) => (
            text_of(&spec[..at], false),
            Some(text_of(&spec[at + 1..], false)),
        ),
        None => (text_of(spec, false), None),
    };
    Some(Address {
        name: nstr(name),
        adl: NString(None),
        mailbox: nstr(Some(local)),
        host: nstr(host),
    })
}

/// An address list; a group comes as its start marker (mailbox = group name, host NIL), its
/// members, and an end marker (all NIL), RFC 3501 §7.4.2.
pub(crate) fn addresses(v: &[u8]) -> Vec<Address> {
    let toks = tokens(v);
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_group = false;
    let mut angle = false;
    for (k, t) in toks.iter().enumerate() {
        match t {
            Tok::Special(b'<') => angle = true,
            Tok::Special(b'>') => angle = false,
            Tok::Special(b':') if !angle && !in_group => {
                out.push(Address {
                    name: NString(None),
                    adl: NString(None),
                    mailbox: nstr(Some(text_of(&toks[start..k], true))),
                    host: NString(None),
                });
                in_group = true;
                start = k + 1;
            }
            Tok::Special(b',') if !angle => {
                out.extend(mailbox(&toks[start..k]));
                start = k + 1;
            }
            Tok::Special(b';') if in_group && !angle => {
                out.extend(mailbox(&toks[start..k]));
                out.push(Address {
                    name: NString(None),
                    adl: NString(None),
                    mailbox: NString(None),
                    host: NString(None),
                });
                in_group = false;
                start = k + 1;
            }
            _ => {}
        }
    }
    out.extend(mailbox(&toks[start..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(a: &Address) -> String {
        let s = |n: &NString| {
            n.as_bytes().map_or("NIL".to_string(), |b| {
                String::from_utf8_lossy(b).into_owned()
            })
        };
        format!("{}|{}|{}", s(&a.name), s(&a.mailbox), s(&a.host))
    }

    #[test]
    fn address_forms() {
        let v = addresses(
            b"\"Doe, John\" <john@example.com>, =?utf-8?q?J=C3=B6rg?= <j@x.org>, bare@y.net (c)",
        );
        let v: Vec<_> = v.iter().map(show).collect();
        assert_eq!(
            v,
            [
                "Doe, John|john|example.com",
                "=?utf-8?q?J=C3=B6rg?=|j|x.org",
                "NIL|bare|y.net"
            ]
        );
        let g: Vec<_> = addresses(b"undisclosed-recipients: a@b.c, <d@e.f>;, z@q.r")
            .iter()
            .map(show)
            .collect();
        assert_eq!(
            g,
            [
                "NIL|undisclosed-recipients|NIL",
                "NIL|a|b.c",
                "NIL|d|e.f",
                "NIL|NIL|NIL",
                "NIL|z|q.r"
            ]
        );
        assert_eq!(show(&addresses(b"<@route,@r2:x@y.z>")[0]), "NIL|x|y.z");
        assert_eq!(
            show(&addresses(b"first.last @ example . com")[0]),
            "NIL|first.last|example.com"
        );
        assert_eq!(unfold(b" a\r\n b \r\n"), b"a b");
    }
}
