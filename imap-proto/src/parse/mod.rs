//! nom parsers for the shared productions of RFC 3501 §9 / RFC 9051 §9 (numbers, strings,
//! mailbox names, flags, sequence sets, dates). The input is always one complete unit from the
//! framer, so the `complete` flavour of nom is used: running out of input is an error.

use std::num::NonZeroU32;

use nom::bytes::complete::{tag, tag_no_case, take, take_while, take_while1};
use nom::error::{Error as NomError, ErrorKind};
use nom::{Err, IResult};

use crate::types::{
    AString, Atom, Date, DateTime, Flag, FlagPerm, IString, ListMailbox, Literal, LiteralMode,
    MailboxAttr, MailboxName, NString, Quoted, SeqNo, SeqRange, SequenceSet, Tag, is_astring_char,
    is_atom_char, is_list_char, is_tag_char, is_text_char,
};

/// The parser result type used throughout the crate.
pub(crate) type R<'a, T> = IResult<&'a [u8], T>;

/// A recoverable failure at `i`.
pub(crate) fn fail<T>(i: &[u8]) -> R<'_, T> {
    Err(Err::Error(NomError::new(i, ErrorKind::Verify)))
}

/// The nesting limit was hit: an unrecoverable failure that maps to `ParseError::TooDeep`.
pub(crate) fn too_deep<T>(i: &[u8]) -> R<'_, T> {
    Err(Err::Failure(NomError::new(i, ErrorKind::TooLarge)))
}

/// Checks the depth before a recursive descent.
pub(crate) fn enter(i: &[u8], depth: usize) -> R<'_, usize> {
    if depth == 0 {
        too_deep(i)
    } else {
        Ok((i, depth - 1))
    }
}

/// A keyword upper-cased on the stack, for matching without an allocation per token. Words
/// longer than the buffer become empty, which matches no keyword.
pub(crate) struct Upper {
    buf: [u8; 24],
    len: usize,
}

impl Upper {
    pub(crate) fn new(w: &[u8]) -> Self {
        let mut buf = [0u8; 24];
        if w.len() > buf.len() {
            return Self { buf, len: 0 };
        }
        for (d, s) in buf.iter_mut().zip(w) {
            *d = s.to_ascii_uppercase();
        }
        Self { buf, len: w.len() }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

pub(crate) fn sp(i: &[u8]) -> R<'_, ()> {
    let (i, _) = tag(&b" "[..])(i)?;
    Ok((i, ()))
}

pub(crate) fn byte(c: u8) -> impl Fn(&[u8]) -> R<'_, ()> {
    move |i: &[u8]| match i.first() {
        Some(b) if *b == c => Ok((&i[1..], ())),
        _ => fail(i),
    }
}

pub(crate) fn kw<'a>(k: &'static str) -> impl Fn(&'a [u8]) -> R<'a, ()> {
    move |i: &'a [u8]| {
        let (i, _) = tag_no_case(k.as_bytes())(i)?;
        Ok((i, ()))
    }
}

/// Whether the next octet is `c` (no consumption).
pub(crate) fn peek(i: &[u8], c: u8) -> bool {
    i.first() == Some(&c)
}

pub(crate) fn crlf(i: &[u8]) -> R<'_, ()> {
    let (i, _) = tag(&b"\r\n"[..])(i)?;
    Ok((i, ()))
}

/// `number64` (RFC 9051): up to 2^63-1.
pub(crate) fn number64(i: &[u8]) -> R<'_, u64> {
    let (rest, d) = take_while1(|b: u8| b.is_ascii_digit())(i)?;
    let mut n: u64 = 0;
    for b in d {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
        {
            Some(n) if n <= i64::MAX as u64 => n,
            _ => return fail(i),
        };
    }
    Ok((rest, n))
}

/// `number`: a 32-bit unsigned value.
pub(crate) fn number(i: &[u8]) -> R<'_, u32> {
    let (rest, d) = take_while1(|b: u8| b.is_ascii_digit())(i)?;
    if d.len() > 10 {
        return fail(i);
    }
    let mut n: u64 = 0;
    for b in d {
        n = n * 10 + u64::from(b - b'0');
    }
    match u32::try_from(n) {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(i),
    }
}

pub(crate) fn nz_number(i: &[u8]) -> R<'_, NonZeroU32> {
    let (rest, n) = number(i)?;
    match NonZeroU32::new(n) {
        Some(n) => Ok((rest, n)),
        None => fail(i),
    }
}

fn ascii(b: &[u8]) -> String {
    // Callers pass runs of ASCII character classes only.
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) fn tag_(i: &[u8]) -> R<'_, Tag> {
    let (rest, t) = take_while1(is_tag_char)(i)?;
    Ok((rest, Tag::from_checked(t)))
}

pub(crate) fn atom(i: &[u8]) -> R<'_, Atom> {
    let (rest, a) = take_while1(is_atom_char)(i)?;
    Ok((rest, Atom::from_checked(a)))
}

/// An atom as raw bytes (for keyword matching).
pub(crate) fn atom_bytes(i: &[u8]) -> R<'_, &[u8]> {
    take_while1(is_atom_char)(i)
}

pub(crate) fn quoted(i: &[u8]) -> R<'_, Quoted> {
    let (mut i, _) = byte(b'"')(i)?;
    let mut out = Vec::new();
    loop {
        // Copy the run up to the next quote or backslash in one go.
        let n = i
            .iter()
            .position(|b| matches!(b, b'"' | b'\\' | b'\r' | b'\n' | 0));
        let Some(n) = n else { return fail(i) };
        out.extend_from_slice(&i[..n]);
        match i[n] {
            b'"' => return Ok((&i[n + 1..], Quoted::from_checked(out))),
            b'\\' => match i.get(n + 1) {
                Some(c @ (b'"' | b'\\')) => {
                    out.push(*c);
                    i = &i[n + 2..];
                }
                _ => return fail(&i[n..]),
            },
            _ => return fail(&i[n..]),
        }
    }
}

/// A literal header and its octets: `{n}`, `{n+}`, `~{n}`, `~{n+}` then CRLF and n octets.
pub(crate) fn literal(i: &[u8]) -> R<'_, Literal> {
    let start = i;
    let (i, binary) = match i.first() {
        Some(b'~') => (&i[1..], true),
        _ => (i, false),
    };
    let (i, _) = byte(b'{')(i)?;
    let (i, n) = number64(i)?;
    let (i, plus) = match i.first() {
        Some(b'+') => (&i[1..], true),
        _ => (i, false),
    };
    let (i, _) = byte(b'}')(i)?;
    let (i, _) = crlf(i)?;
    let Ok(n) = usize::try_from(n) else {
        return fail(start);
    };
    let (i, data) = take(n)(i)?;
    let mode = match (binary, plus) {
        (false, false) => LiteralMode::Sync,
        (false, true) => LiteralMode::NonSync,
        (true, false) => LiteralMode::Binary,
        (true, true) => LiteralMode::BinaryNonSync,
    };
    if !binary && memchr::memchr(0, data).is_some() {
        return fail(start);
    }
    Ok((i, Literal::from_checked(data.to_vec(), mode)))
}

/// Whether `i` starts a quoted string or a literal (`~` only counts before `{`).
fn starts_string(i: &[u8]) -> bool {
    match i.first() {
        Some(b'"' | b'{') => true,
        Some(b'~') => i.get(1) == Some(&b'{'),
        _ => false,
    }
}

pub(crate) fn string(i: &[u8]) -> R<'_, IString> {
    match i.first() {
        Some(b'"') => quoted(i).map(|(i, q)| (i, IString::Quoted(q))),
        _ if starts_string(i) => literal(i).map(|(i, l)| (i, IString::Literal(l))),
        _ => fail(i),
    }
}

pub(crate) fn astring(i: &[u8]) -> R<'_, AString> {
    match i.first() {
        _ if starts_string(i) => string(i).map(|(i, s)| (i, AString::String(s))),
        _ => {
            let (rest, a) = take_while1(is_astring_char)(i)?;
            Ok((rest, AString::Atom(ascii(a))))
        }
    }
}

pub(crate) fn nil(i: &[u8]) -> R<'_, ()> {
    kw("NIL")(i)
}

pub(crate) fn nstring(i: &[u8]) -> R<'_, NString> {
    if let Ok((rest, ())) = nil(i) {
        return Ok((rest, NString(None)));
    }
    let (i, s) = string(i)?;
    Ok((i, NString(Some(s))))
}

pub(crate) fn mailbox(i: &[u8]) -> R<'_, MailboxName> {
    let (i, a) = astring(i)?;
    Ok((i, MailboxName::from_astring(a)))
}

pub(crate) fn list_mailbox(i: &[u8]) -> R<'_, ListMailbox> {
    match i.first() {
        _ if starts_string(i) => string(i).map(|(i, s)| (i, ListMailbox::String(s))),
        _ => {
            let (rest, a) = take_while1(is_list_char)(i)?;
            Ok((rest, ListMailbox::Token(ascii(a))))
        }
    }
}

/// `text`: 1*TEXT-CHAR (RFC 3501 §9); UTF-8 is kept (RFC 9051).
pub(crate) fn text(i: &[u8]) -> R<'_, String> {
    let (rest, t) = take_while(is_text_char)(i)?;
    Ok((rest, String::from_utf8_lossy(t).into_owned()))
}

/// `flag`: `\Answered` … `\Extension` or a keyword (atom).
pub(crate) fn flag(i: &[u8]) -> R<'_, Flag> {
    let (rest, bs) = match i.first() {
        Some(b'\\') => (&i[1..], true),
        _ => (i, false),
    };
    let (rest, a) = atom_bytes(rest)?;
    let s = std::str::from_utf8(a).unwrap_or_default();
    let f = if bs {
        match s.to_ascii_lowercase().as_str() {
            "seen" => Flag::Seen,
            "answered" => Flag::Answered,
            "flagged" => Flag::Flagged,
            "deleted" => Flag::Deleted,
            "draft" => Flag::Draft,
            "recent" => Flag::Recent,
            _ => Flag::Extension(Atom::from_checked(a)),
        }
    } else {
        Flag::Keyword(Atom::from_checked(a))
    };
    Ok((rest, f))
}

pub(crate) fn flag_perm(i: &[u8]) -> R<'_, FlagPerm> {
    if let Ok((rest, _)) = tag::<_, _, NomError<&[u8]>>(&b"\\*"[..])(i) {
        return Ok((rest, FlagPerm::Wildcard));
    }
    let (i, f) = flag(i)?;
    Ok((i, FlagPerm::Flag(f)))
}

/// `"(" [x *(SP x)] ")"`.
pub(crate) fn paren_list<'a, T>(
    i: &'a [u8],
    mut item: impl FnMut(&'a [u8]) -> R<'a, T>,
) -> R<'a, Vec<T>> {
    let (mut i, _) = byte(b'(')(i)?;
    let mut out = Vec::new();
    if let Ok((rest, ())) = byte(b')')(i) {
        return Ok((rest, out));
    }
    loop {
        let (rest, x) = item(i)?;
        out.push(x);
        match rest.first() {
            Some(b' ') => i = &rest[1..],
            Some(b')') => return Ok((&rest[1..], out)),
            _ => return fail(rest),
        }
    }
}

/// `x *(SP x)`: one or more items separated by single spaces.
pub(crate) fn sp_list1<'a, T>(
    i: &'a [u8],
    mut item: impl FnMut(&'a [u8]) -> R<'a, T>,
) -> R<'a, Vec<T>> {
    let (mut i, first) = item(i)?;
    let mut out = vec![first];
    while peek(i, b' ') {
        match item(&i[1..]) {
            Ok((rest, x)) => {
                out.push(x);
                i = rest;
            }
            Err(Err::Error(_)) => break,
            Err(e) => return Err(e),
        }
    }
    Ok((i, out))
}

pub(crate) fn flag_list(i: &[u8]) -> R<'_, Vec<Flag>> {
    paren_list(i, flag)
}

pub(crate) fn mailbox_attr(i: &[u8]) -> R<'_, MailboxAttr> {
    let (i, _) = byte(b'\\')(i)?;
    let (rest, a) = atom_bytes(i)?;
    match MailboxAttr::from_name(std::str::from_utf8(a).unwrap_or_default()) {
        Some(m) => Ok((rest, m)),
        None => fail(i),
    }
}

fn seq_no(i: &[u8]) -> R<'_, SeqNo> {
    if let Some(b'*') = i.first() {
        return Ok((&i[1..], SeqNo::Largest));
    }
    let (i, n) = nz_number(i)?;
    Ok((i, SeqNo::Value(n)))
}

pub(crate) fn sequence_set(i: &[u8]) -> R<'_, SequenceSet> {
    if let Some(b'$') = i.first() {
        return Ok((&i[1..], SequenceSet::SavedResult));
    }
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let (rest, a) = seq_no(i)?;
        let (rest, r) = if peek(rest, b':') {
            let (rest, b) = seq_no(&rest[1..])?;
            (rest, SeqRange::Range(a, b))
        } else {
            (rest, SeqRange::Single(a))
        };
        out.push(r);
        if peek(rest, b',') {
            i = &rest[1..];
        } else {
            return Ok((rest, SequenceSet::Set(out)));
        }
    }
}

fn month(i: &[u8]) -> R<'_, u8> {
    let (rest, m) = take(3usize)(i)?;
    for (n, name) in crate::types::datetime_months().iter().enumerate() {
        if m.eq_ignore_ascii_case(name.as_bytes()) {
            return Ok((rest, n as u8 + 1));
        }
    }
    fail(i)
}

fn digits(i: &[u8], n: usize) -> R<'_, u32> {
    let (rest, d) = take(n)(i)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return fail(i);
    }
    Ok((rest, d.iter().fold(0, |a, b| a * 10 + u32::from(b - b'0'))))
}

/// `date-text` (`1*2DIGIT "-" month "-" 4DIGIT`), optionally quoted.
pub(crate) fn date(i: &[u8]) -> R<'_, Date> {
    if peek(i, b'"') {
        let (i, d) = date(&i[1..])?;
        let (i, _) = byte(b'"')(i)?;
        return Ok((i, d));
    }
    let (i, dd) = take_while1(|b: u8| b.is_ascii_digit())(i)?;
    if dd.len() > 2 {
        return fail(i);
    }
    let day = dd.iter().fold(0u8, |a, b| a * 10 + (b - b'0'));
    let (i, _) = byte(b'-')(i)?;
    let (i, m) = month(i)?;
    let (i, _) = byte(b'-')(i)?;
    let (i, y) = digits(i, 4)?;
    match Date::new(y as u16, m, day) {
        Ok(d) => Ok((i, d)),
        Err(_) => fail(i),
    }
}

/// `date-time`: `DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`.
pub(crate) fn date_time(i: &[u8]) -> R<'_, DateTime> {
    let start = i;
    let (i, _) = byte(b'"')(i)?;
    let (i, day) = match i.first() {
        Some(b' ') => digits(&i[1..], 1)?,
        _ => digits(i, 2)?,
    };
    let (i, _) = byte(b'-')(i)?;
    let (i, m) = month(i)?;
    let (i, _) = byte(b'-')(i)?;
    let (i, y) = digits(i, 4)?;
    let (i, _) = sp(i)?;
    let (i, hh) = digits(i, 2)?;
    let (i, _) = byte(b':')(i)?;
    let (i, mm) = digits(i, 2)?;
    let (i, _) = byte(b':')(i)?;
    let (i, ss) = digits(i, 2)?;
    let (i, _) = sp(i)?;
    let (i, neg) = match i.first() {
        Some(b'+') => (&i[1..], false),
        Some(b'-') => (&i[1..], true),
        _ => return fail(i),
    };
    let (i, zh) = digits(i, 2)?;
    let (i, zm) = digits(i, 2)?;
    let (i, _) = byte(b'"')(i)?;
    let zone = (zh * 60 + zm) as i16;
    let zone = if neg { -zone } else { zone };
    let dt = Date::new(y as u16, m, day as u8)
        .and_then(|d| DateTime::new(d, hh as u8, mm as u8, ss as u8, zone));
    match dt {
        Ok(dt) => Ok((i, dt)),
        Err(_) => fail(start),
    }
}

/// Runs `p` over a whole unit, requiring it to consume everything.
pub(crate) fn all<'a, T>(
    input: &'a [u8],
    p: impl FnOnce(&'a [u8]) -> R<'a, T>,
) -> Result<T, (usize, bool)> {
    match p(input) {
        Ok(([], v)) => Ok(v),
        Ok((rest, _)) => Err((input.len() - rest.len(), false)),
        Err(Err::Failure(e)) if e.code == ErrorKind::TooLarge => {
            Err((input.len() - e.input.len(), true))
        }
        Err(Err::Error(e) | Err::Failure(e)) => Err((input.len() - e.input.len(), false)),
        Err(Err::Incomplete(_)) => Err((input.len(), false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(quoted(b"\"a\\\"b\\\\\" x").unwrap().1.as_bytes(), b"a\"b\\");
        assert!(quoted(b"\"a\\xb\"").is_err());
        let (rest, l) = literal(b"{3+}\r\nabcd").unwrap();
        assert_eq!(
            (rest, l.as_bytes(), l.mode()),
            (&b"d"[..], &b"abc"[..], LiteralMode::NonSync)
        );
        assert!(literal(b"{3}\r\nab").is_err());
        assert!(literal(b"{1}\r\n\0").is_err());
        assert!(literal(b"~{1}\r\n\0").is_ok());
        assert!(literal(b"{99999999999999999999}\r\n").is_err());
        assert_eq!(astring(b"a]b c").unwrap().1, AString::Atom("a]b".into()));
        assert_eq!(nstring(b"nil").unwrap().1, NString(None));
        assert!(mailbox(b"inbox").unwrap().1.is_inbox());
    }

    #[test]
    fn sets_and_dates() {
        let (_, s) = sequence_set(b"1:3,5,7:*").unwrap();
        assert_eq!(s.ranges().len(), 3);
        assert!(sequence_set(b"0").is_err());
        assert_eq!(sequence_set(b"$").unwrap().1, SequenceSet::SavedResult);
        assert_eq!(
            date(b"1-Feb-1994").unwrap().1,
            Date::new(1994, 2, 1).unwrap()
        );
        assert_eq!(
            date(b"\"01-feb-1994\"").unwrap().1,
            Date::new(1994, 2, 1).unwrap()
        );
        let (_, dt) = date_time(b"\" 7-Jul-1996 02:44:25 -0700\"").unwrap();
        assert_eq!(dt.zone_minutes(), -420);
        assert!(date_time(b"\"7-Jul-1996 02:44:25 -0700\"").is_err());
        assert!(number(b"4294967296").is_err());
        assert_eq!(number(b"4294967295").unwrap().1, u32::MAX);
    }
}
