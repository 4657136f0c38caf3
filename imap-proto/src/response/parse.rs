//! The response parser (RFC 3501 §9 `response`, RFC 9051 §9, and the extension grammars cited
//! in the module above).

use std::num::NonZeroU32;

use super::code::code;
use super::fetch::msg_atts;
use super::{
    Continue, Data, ESearchItem, ListEntry, ListExtItem, NamespaceDesc, QuotaResource, Response,
    Status, StatusKind, Thread,
};
use crate::command::StatusItem;
use crate::error::ParseError;
use crate::framing::Limits;
use crate::parse::{
    R, all, astring, atom, byte, crlf, enter, fail, flag_list, kw, mailbox, mailbox_attr, nil,
    nstring, number, number64, nz_number, paren_list, peek, quoted, sequence_set, sp, sp_list1,
    string, tag_, text,
};
use crate::types::{Atom, IString, Tag};

/// `resp-text`: `["[" resp-text-code "]" [SP]] text`.
fn resp_text(i: &[u8]) -> R<'_, (Option<super::Code>, String)> {
    if peek(i, b'[') {
        let coded = code(&i[1..]).and_then(|(r, c)| byte(b']')(r).map(|(r, ())| (r, c)));
        if let Ok((r, c)) = coded {
            let r = if peek(r, b' ') { &r[1..] } else { r };
            let (r, t) = text(r)?;
            return Ok((r, (Some(c), t)));
        }
    }
    let (i, t) = text(i)?;
    Ok((i, (None, t)))
}

fn status_kind(i: &[u8]) -> R<'_, StatusKind> {
    for (k, s) in [
        ("OK", StatusKind::Ok),
        ("NO", StatusKind::No),
        ("BAD", StatusKind::Bad),
        ("PREAUTH", StatusKind::PreAuth),
        ("BYE", StatusKind::Bye),
    ] {
        if let Ok((r, ())) = kw(k)(i)
            && matches!(r.first(), Some(b' ' | b'\r'))
        {
            return Ok((r, s));
        }
    }
    fail(i)
}

fn status(i: &[u8], tag: Option<Tag>) -> R<'_, Status> {
    let (i, kind) = status_kind(i)?;
    let (i, (code, text)) = if peek(i, b' ') {
        resp_text(&i[1..])?
    } else {
        (i, (None, String::new()))
    };
    Ok((
        i,
        Status {
            tag,
            kind,
            code,
            text,
        },
    ))
}

fn delimiter(i: &[u8]) -> R<'_, Option<u8>> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, None));
    }
    let (r, q) = quoted(i)?;
    match q.as_bytes() {
        [c] => Ok((r, Some(*c))),
        _ => fail(i),
    }
}

fn list_entry(i: &[u8]) -> R<'_, ListEntry> {
    let (i, attrs) = paren_list(i, mailbox_attr)?;
    let (i, ()) = sp(i)?;
    let (i, delimiter) = delimiter(i)?;
    let (i, ()) = sp(i)?;
    let (i, mailbox) = mailbox(i)?;
    let (i, extended) = if peek(i, b' ') {
        paren_list(&i[1..], |i| {
            // `mbox-list-extended-item-tag` is an astring (RFC 5258 §9); RFC 5819's example
            // sends it unquoted. It is written back quoted.
            let (i, t) = astring(i)?;
            let (i, ()) = sp(i)?;
            if t.as_bytes().eq_ignore_ascii_case(b"CHILDINFO") {
                let (i, v) = paren_list(i, string)?;
                Ok((i, ListExtItem::ChildInfo(v)))
            } else if t.as_bytes().eq_ignore_ascii_case(b"OLDNAME") {
                let (i, ()) = byte(b'(')(i)?;
                let (i, m) = crate::parse::mailbox(i)?;
                let (i, ()) = byte(b')')(i)?;
                Ok((i, ListExtItem::OldName(m)))
            } else {
                let (i, v) = super::ext::ext_value(i, 8)?;
                let tag =
                    IString::Quoted(crate::types::Quoted::from_checked(t.as_bytes().to_vec()));
                Ok((i, ListExtItem::Other(tag, v)))
            }
        })?
    } else {
        (i, Vec::new())
    };
    Ok((
        i,
        ListEntry {
            attrs,
            delimiter,
            mailbox,
            extended,
        },
    ))
}

/// Space-separated non-zero numbers, as fast as a hand loop can go: a SEARCH response from a
/// large mailbox holds millions of them.
fn ids(mut i: &[u8]) -> R<'_, Vec<NonZeroU32>> {
    let mut v = Vec::new();
    while let [b' ', d, ..] = i
        && d.is_ascii_digit()
    {
        let digits = i[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 10 {
            return fail(i);
        }
        let mut n: u64 = 0;
        for b in &i[1..=digits] {
            n = n * 10 + u64::from(b - b'0');
        }
        let Some(n) = u32::try_from(n).ok().and_then(NonZeroU32::new) else {
            return fail(i);
        };
        v.push(n);
        i = &i[1 + digits..];
    }
    Ok((i, v))
}

fn opt_modseq(i: &[u8]) -> R<'_, Option<u64>> {
    match kw(" (MODSEQ ")(i) {
        Ok((i, ())) => {
            let (i, n) = number64(i)?;
            let (i, ()) = byte(b')')(i)?;
            Ok((i, Some(n)))
        }
        Err(_) => Ok((i, None)),
    }
}

fn thread(i: &[u8], depth: usize) -> R<'_, Thread> {
    let (i, ()) = byte(b'(')(i)?;
    let (mut i, depth) = enter(i, depth)?;
    let mut members = Vec::new();
    while i.first().is_some_and(u8::is_ascii_digit) {
        let (r, n) = nz_number(i)?;
        members.push(n);
        i = if peek(r, b' ') { &r[1..] } else { r };
    }
    let mut children = Vec::new();
    while peek(i, b'(') {
        let (r, t) = thread(i, depth)?;
        children.push(t);
        i = r;
    }
    let (i, ()) = byte(b')')(i)?;
    if members.is_empty() && children.is_empty() {
        return fail(i);
    }
    Ok((i, Thread { members, children }))
}

fn namespaces(i: &[u8]) -> R<'_, Option<Vec<NamespaceDesc>>> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, None));
    }
    let (mut i, ()) = byte(b'(')(i)?;
    let mut v = Vec::new();
    while peek(i, b'(') {
        let (r, ()) = byte(b'(')(i)?;
        let (r, prefix) = string(r)?;
        let (r, ()) = sp(r)?;
        let (mut r, delimiter) = delimiter(r)?;
        let mut extensions = Vec::new();
        while peek(r, b' ') {
            let (r2, name) = string(&r[1..])?;
            let (r2, ()) = sp(r2)?;
            let (r2, vals) = paren_list(r2, string)?;
            extensions.push((name, vals));
            r = r2;
        }
        let (r, ()) = byte(b')')(r)?;
        v.push(NamespaceDesc {
            prefix,
            delimiter,
            extensions,
        });
        i = r;
    }
    let (i, ()) = byte(b')')(i)?;
    if v.is_empty() {
        fail(i)
    } else {
        Ok((i, Some(v)))
    }
}

fn id_list(i: &[u8]) -> R<'_, Option<Vec<(IString, crate::types::NString)>>> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, None));
    }
    let (i, v) = paren_list(i, |i| {
        let (i, k) = string(i)?;
        let (i, ()) = sp(i)?;
        let (i, v) = nstring(i)?;
        Ok((i, (k, v)))
    })?;
    Ok((i, Some(v)))
}

fn sp_atoms(i: &[u8]) -> R<'_, Vec<Atom>> {
    if peek(i, b' ') {
        sp_list1(&i[1..], atom)
    } else {
        Ok((i, Vec::new()))
    }
}

fn esearch(i: &[u8]) -> R<'_, Data> {
    let (i, tag) = match kw(" (TAG ")(i) {
        Ok((i, ())) => {
            let (r, s) = string(i)?;
            let (r, ()) = byte(b')')(r)?;
            match Tag::new(String::from_utf8_lossy(s.as_bytes()).into_owned()) {
                Ok(t) => (r, Some(t)),
                Err(_) => return fail(i),
            }
        }
        Err(_) => (i, None),
    };
    let (mut i, uid) = match kw(" UID")(i) {
        Ok((r, ())) if !r.first().is_some_and(u8::is_ascii_alphanumeric) => (r, true),
        _ => (i, false),
    };
    let mut items = Vec::new();
    while peek(i, b' ') {
        let j = &i[1..];
        let (r, item) = if let Ok((r, ())) = kw("MIN ")(j) {
            nz_number(r).map(|(r, n)| (r, ESearchItem::Min(n)))?
        } else if let Ok((r, ())) = kw("MAX ")(j) {
            nz_number(r).map(|(r, n)| (r, ESearchItem::Max(n)))?
        } else if let Ok((r, ())) = kw("ALL ")(j) {
            sequence_set(r).map(|(r, s)| (r, ESearchItem::All(s)))?
        } else if let Ok((r, ())) = kw("COUNT ")(j) {
            number(r).map(|(r, n)| (r, ESearchItem::Count(n)))?
        } else if let Ok((r, ())) = kw("MODSEQ ")(j) {
            number64(r).map(|(r, n)| (r, ESearchItem::ModSeq(n)))?
        } else {
            return fail(j);
        };
        items.push(item);
        i = r;
    }
    Ok((i, Data::ESearch { tag, uid, items }))
}

fn untagged(i: &[u8], depth: usize) -> R<'_, Response> {
    if i.first().is_some_and(u8::is_ascii_digit) {
        let (i, n) = number(i)?;
        let (i, ()) = sp(i)?;
        let nz = NonZeroU32::new(n);
        let d = if let Ok((i, ())) = kw("EXISTS")(i) {
            (i, Data::Exists(n))
        } else if let Ok((i, ())) = kw("RECENT")(i) {
            (i, Data::Recent(n))
        } else if let (Ok((i, ())), Some(n)) = (kw("EXPUNGE")(i), nz) {
            (i, Data::Expunge(n))
        } else if let (Ok((i, ())), Some(seq)) = (kw("FETCH ")(i), nz) {
            let (i, items) = msg_atts(i, depth)?;
            (i, Data::Fetch { seq, items })
        } else {
            return fail(i);
        };
        return Ok((d.0, Response::Data(d.1)));
    }
    if let Ok((i, s)) = status(i, None) {
        return Ok((i, Response::Status(s)));
    }
    let n = i.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let upper = crate::parse::Upper::new(&i[..n]);
    let word = upper.as_bytes();
    let start = i;
    let i = &i[n..];
    let d = match word {
        b"CAPABILITY" => sp_atoms(i).map(|(i, v)| (i, Data::Capability(v)))?,
        b"ENABLED" => sp_atoms(i).map(|(i, v)| (i, Data::Enabled(v)))?,
        b"LIST" => list_entry(sp(i)?.0).map(|(i, e)| (i, Data::List(e)))?,
        b"LSUB" => list_entry(sp(i)?.0).map(|(i, e)| (i, Data::Lsub(e)))?,
        b"FLAGS" => flag_list(sp(i)?.0).map(|(i, f)| (i, Data::Flags(f)))?,
        b"SEARCH" | b"SORT" => {
            let (i, ids) = ids(i)?;
            let (i, modseq) = opt_modseq(i)?;
            if word == b"SEARCH" {
                (i, Data::Search { ids, modseq })
            } else {
                (i, Data::Sort { ids, modseq })
            }
        }
        b"ESEARCH" => esearch(i)?,
        b"THREAD" => {
            let mut i = if peek(i, b' ') { &i[1..] } else { i };
            let mut v = Vec::new();
            while peek(i, b'(') {
                let (r, t) = thread(i, depth)?;
                v.push(t);
                i = r;
            }
            (i, Data::Thread(v))
        }
        b"STATUS" => {
            let (i, ()) = sp(i)?;
            let (i, mailbox) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, items) = paren_list(i, |i| {
                let (r, a) = atom(i)?;
                let Some((_, item)) = StatusItem::ALL.iter().find(|(n, _)| a.eq_ignore_case(n))
                else {
                    return fail(i);
                };
                let (r, ()) = sp(r)?;
                if *item == StatusItem::AppendLimit
                    && let Ok((r, ())) = nil(r)
                {
                    return Ok((r, (*item, None)));
                }
                let (r, n) = number64(r)?;
                Ok((r, (*item, Some(n))))
            })?;
            (i, Data::Status { mailbox, items })
        }
        b"VANISHED" => {
            let (i, ()) = sp(i)?;
            let (i, earlier) = match kw("(EARLIER) ")(i) {
                Ok((i, ())) => (i, true),
                Err(_) => (i, false),
            };
            let (i, uids) = sequence_set(i)?;
            (i, Data::Vanished { earlier, uids })
        }
        b"NAMESPACE" => {
            let (i, ()) = sp(i)?;
            let (i, personal) = namespaces(i)?;
            let (i, ()) = sp(i)?;
            let (i, other) = namespaces(i)?;
            let (i, ()) = sp(i)?;
            let (i, shared) = namespaces(i)?;
            (
                i,
                Data::Namespace {
                    personal,
                    other,
                    shared,
                },
            )
        }
        b"ID" => id_list(sp(i)?.0).map(|(i, v)| (i, Data::Id(v)))?,
        b"QUOTA" => {
            let (i, ()) = sp(i)?;
            let (i, root) = astring(i)?;
            let (i, ()) = sp(i)?;
            let (i, resources) = paren_list(i, |i| {
                let (i, name) = atom(i)?;
                let (i, ()) = sp(i)?;
                let (i, usage) = number64(i)?;
                let (i, ()) = sp(i)?;
                let (i, limit) = number64(i)?;
                Ok((i, QuotaResource { name, usage, limit }))
            })?;
            (i, Data::Quota { root, resources })
        }
        b"QUOTAROOT" => {
            let (mut i, mailbox) = mailbox(sp(i)?.0)?;
            let mut roots = Vec::new();
            while peek(i, b' ') {
                let (r, a) = astring(&i[1..])?;
                roots.push(a);
                i = r;
            }
            (i, Data::QuotaRoot { mailbox, roots })
        }
        b"ACL" => {
            let (mut i, mailbox) = mailbox(sp(i)?.0)?;
            let mut entries = Vec::new();
            while peek(i, b' ') {
                let (r, who) = astring(&i[1..])?;
                let (r, ()) = sp(r)?;
                let (r, rights) = astring(r)?;
                entries.push((who, rights));
                i = r;
            }
            (i, Data::Acl { mailbox, entries })
        }
        b"LISTRIGHTS" => {
            let (i, mailbox) = mailbox(sp(i)?.0)?;
            let (i, identifier) = astring(sp(i)?.0)?;
            let (mut i, required) = astring(sp(i)?.0)?;
            let mut optional = Vec::new();
            while peek(i, b' ') {
                let (r, a) = astring(&i[1..])?;
                optional.push(a);
                i = r;
            }
            (
                i,
                Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional,
                },
            )
        }
        b"MYRIGHTS" => {
            let (i, mailbox) = mailbox(sp(i)?.0)?;
            let (i, rights) = astring(sp(i)?.0)?;
            (i, Data::MyRights { mailbox, rights })
        }
        _ => return fail(start),
    };
    Ok((d.0, Response::Data(d.1)))
}

fn is_base64(t: &[u8]) -> bool {
    let body = t
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .count();
    let pad = t.len() - body;
    t.len().is_multiple_of(4) && pad <= 2 && t[body..].iter().all(|b| *b == b'=')
}

fn continue_req(i: &[u8]) -> R<'_, Response> {
    let (i, ()) = byte(b'+')(i)?;
    if i.starts_with(b"\r\n") {
        return Ok((i, Response::Continue(Continue::Base64(Vec::new()))));
    }
    let (i, ()) = sp(i)?;
    let n = i.iter().take_while(|b| !matches!(b, b'\r' | b'\n')).count();
    if !peek(i, b'[') && is_base64(&i[..n]) {
        return Ok((
            &i[n..],
            Response::Continue(Continue::Base64(i[..n].to_vec())),
        ));
    }
    let (i, (code, text)) = resp_text(i)?;
    Ok((i, Response::Continue(Continue::Text { code, text })))
}

fn response(i: &[u8], depth: usize) -> R<'_, Response> {
    let (i, r) = if peek(i, b'+') {
        continue_req(i)?
    } else if let Ok((i, ())) = kw("* ")(i) {
        let (i, r) = untagged(i, depth)?;
        // quirk: some servers end data with a space ("* CAPABILITY IMAP4rev1 \r\n").
        (if i.starts_with(b" \r\n") { &i[1..] } else { i }, r)
    } else {
        let (i, t) = tag_(i)?;
        let (i, ()) = sp(i)?;
        let (i, s) = status(i, Some(t))?;
        (i, Response::Status(s))
    };
    let (i, ()) = crlf(i)?;
    Ok((i, r))
}

impl Response {
    /// Parses one response unit (from [`crate::framing::Framer`] on the client side) with the
    /// default nesting limit.
    ///
    /// # Errors
    /// [`ParseError`] when the unit does not follow the grammar.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        Self::parse_with_limits(input, &Limits::client())
    }

    /// Parses a unit whose literals were (partly) streamed: `streamed` is
    /// [`crate::framing::Framer::last_unit_streamed`]. Each streamed literal comes out as an
    /// empty literal (its octets went to the caller as chunks); everything else as
    /// [`Response::parse`] gives it.
    ///
    /// # Errors
    /// [`ParseError`] when the unit does not follow the grammar.
    pub fn parse_streamed(
        unit: &[u8],
        streamed: &[crate::framing::StreamedLiteral],
    ) -> Result<Self, ParseError> {
        Self::parse(&crate::framing::zero_streamed(unit, streamed))
    }

    /// Parses one response unit with `limits.max_depth` as the nesting limit.
    ///
    /// # Errors
    /// [`ParseError`] when the unit does not follow the grammar.
    pub fn parse_with_limits(input: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        // The tag is read again only on failure: no allocation on the fast path.
        let tag = || match tag_(input) {
            Ok((r, t)) if peek(r, b' ') => Some(t),
            _ => None,
        };
        match all(input, |i| response(i, limits.max_depth)) {
            Ok(r) => Ok(r),
            Err((_, true)) => Err(ParseError::TooDeep {
                tag: tag(),
                limit: limits.max_depth,
            }),
            Err((offset, false)) => Err(ParseError::Syntax { tag: tag(), offset }),
        }
    }
}
