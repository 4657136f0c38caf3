//! SEARCH keys (RFC 3501 §6.4.4, RFC 9051 §6.4.4), with CONDSTORE's `MODSEQ` (RFC 7162
//! §3.1.5), WITHIN's `OLDER`/`YOUNGER` (RFC 5032), SEARCHRES `$` (RFC 5182) and the ESEARCH
//! return options (RFC 4731 §3.1). Nesting (`(…)`, `NOT`, `OR`) is bounded by
//! [`crate::framing::Limits::max_depth`].

use crate::encode::Writer;
use crate::parse::{
    R, astring, atom, date, enter, fail, kw, number, number64, paren_list, peek, quoted,
    sequence_set, sp,
};
use crate::types::{AString, Atom, Date, Quoted, SequenceSet};

/// Which metadata item of a `MODSEQ` search key (RFC 7162 §3.1.5) is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// `priv`.
    Private,
    /// `shared`.
    Shared,
    /// `all`.
    All,
}

/// One search key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchKey {
    /// `ALL`.
    All,
    /// `ANSWERED`.
    Answered,
    /// `BCC string`.
    Bcc(AString),
    /// `BEFORE date` (internal date).
    Before(Date),
    /// `BODY string`.
    Body(AString),
    /// `CC string`.
    Cc(AString),
    /// `DELETED`.
    Deleted,
    /// `DRAFT`.
    Draft,
    /// `FLAGGED`.
    Flagged,
    /// `FROM string`.
    From(AString),
    /// `HEADER field-name string`.
    Header(AString, AString),
    /// `KEYWORD flag-keyword`.
    Keyword(Atom),
    /// `LARGER n`.
    Larger(u64),
    /// `NEW` (IMAP4rev1).
    New,
    /// `NOT key`.
    Not(Box<SearchKey>),
    /// `OLD` (IMAP4rev1).
    Old,
    /// `ON date`.
    On(Date),
    /// `OR key key`.
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT` (IMAP4rev1).
    Recent,
    /// `SEEN`.
    Seen,
    /// `SENTBEFORE date` (Date: header).
    SentBefore(Date),
    /// `SENTON date`.
    SentOn(Date),
    /// `SENTSINCE date`.
    SentSince(Date),
    /// `SINCE date`.
    Since(Date),
    /// `SMALLER n`.
    Smaller(u64),
    /// `SUBJECT string`.
    Subject(AString),
    /// `TEXT string`.
    Text(AString),
    /// `TO string`.
    To(AString),
    /// `UID sequence-set`.
    Uid(SequenceSet),
    /// `UNANSWERED`.
    Unanswered,
    /// `UNDELETED`.
    Undeleted,
    /// `UNDRAFT`.
    Undraft,
    /// `UNFLAGGED`.
    Unflagged,
    /// `UNKEYWORD flag-keyword`.
    Unkeyword(Atom),
    /// `UNSEEN`.
    Unseen,
    /// A bare sequence set (message sequence numbers), or `$`.
    SequenceSet(SequenceSet),
    /// `( key key … )`: all must match.
    And(Vec<SearchKey>),
    /// `MODSEQ ["/flags/…" type] n` (RFC 7162).
    ModSeq {
        /// The metadata entry and its type, when given.
        entry: Option<(Quoted, EntryType)>,
        /// The mod-sequence.
        modseq: u64,
    },
    /// `OLDER n` seconds (RFC 5032).
    Older(u32),
    /// `YOUNGER n` seconds (RFC 5032).
    Younger(u32),
}

/// An ESEARCH return option (RFC 4731 §3.1, RFC 5182 `SAVE`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchReturnOpt {
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `ALL`.
    All,
    /// `COUNT`.
    Count,
    /// `SAVE`.
    Save,
}

pub(crate) fn search_return_opts(i: &[u8]) -> R<'_, Vec<SearchReturnOpt>> {
    paren_list(i, |i| {
        let (rest, a) = atom(i)?;
        let o = match a.as_str().to_ascii_uppercase().as_str() {
            "MIN" => SearchReturnOpt::Min,
            "MAX" => SearchReturnOpt::Max,
            "ALL" => SearchReturnOpt::All,
            "COUNT" => SearchReturnOpt::Count,
            "SAVE" => SearchReturnOpt::Save,
            _ => return fail(i),
        };
        Ok((rest, o))
    })
}

pub(crate) fn write_return_opts(w: &mut Writer, o: &[SearchReturnOpt]) {
    w.list(o, |w, o| {
        w.s(match o {
            SearchReturnOpt::Min => "MIN",
            SearchReturnOpt::Max => "MAX",
            SearchReturnOpt::All => "ALL",
            SearchReturnOpt::Count => "COUNT",
            SearchReturnOpt::Save => "SAVE",
        });
    });
}

fn word(i: &[u8]) -> R<'_, [u8; 12]> {
    let n = i
        .iter()
        .take(13)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if n == 0 || n > 12 {
        return fail(i);
    }
    let mut w = [0u8; 12];
    for (d, s) in w.iter_mut().zip(&i[..n]) {
        *d = s.to_ascii_uppercase();
    }
    Ok((&i[n..], w))
}

fn arg<'a, T>(i: &'a [u8], p: impl FnOnce(&'a [u8]) -> R<'a, T>) -> R<'a, T> {
    let (i, ()) = sp(i)?;
    p(i)
}

/// One `search-key`, `depth` levels of nesting left.
pub(crate) fn search_key(i: &[u8], depth: usize) -> R<'_, SearchKey> {
    use SearchKey as K;
    match i.first() {
        Some(b'(') => {
            let (i2, d) = enter(i, depth)?;
            return paren_list(i2, |i| search_key(i, d)).and_then(|(rest, v)| {
                if v.is_empty() {
                    fail(i)
                } else {
                    Ok((rest, K::And(v)))
                }
            });
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            let (i, s) = sequence_set(i)?;
            return Ok((i, K::SequenceSet(s)));
        }
        _ => {}
    }
    let start = i;
    let (i, w) = word(i)?;
    let name = std::str::from_utf8(&w)
        .unwrap_or_default()
        .trim_end_matches('\0');
    let r = match name {
        "ALL" => (i, K::All),
        "ANSWERED" => (i, K::Answered),
        "DELETED" => (i, K::Deleted),
        "DRAFT" => (i, K::Draft),
        "FLAGGED" => (i, K::Flagged),
        "NEW" => (i, K::New),
        "OLD" => (i, K::Old),
        "RECENT" => (i, K::Recent),
        "SEEN" => (i, K::Seen),
        "UNANSWERED" => (i, K::Unanswered),
        "UNDELETED" => (i, K::Undeleted),
        "UNDRAFT" => (i, K::Undraft),
        "UNFLAGGED" => (i, K::Unflagged),
        "UNSEEN" => (i, K::Unseen),
        "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => {
            let (i, s) = arg(i, astring)?;
            let k = match name {
                "BCC" => K::Bcc(s),
                "BODY" => K::Body(s),
                "CC" => K::Cc(s),
                "FROM" => K::From(s),
                "SUBJECT" => K::Subject(s),
                "TEXT" => K::Text(s),
                _ => K::To(s),
            };
            (i, k)
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            let (i, d) = arg(i, date)?;
            let k = match name {
                "BEFORE" => K::Before(d),
                "ON" => K::On(d),
                "SINCE" => K::Since(d),
                "SENTBEFORE" => K::SentBefore(d),
                "SENTON" => K::SentOn(d),
                _ => K::SentSince(d),
            };
            (i, k)
        }
        "HEADER" => {
            let (i, f) = arg(i, astring)?;
            let (i, v) = arg(i, astring)?;
            (i, K::Header(f, v))
        }
        "KEYWORD" => arg(i, atom).map(|(i, a)| (i, K::Keyword(a)))?,
        "UNKEYWORD" => arg(i, atom).map(|(i, a)| (i, K::Unkeyword(a)))?,
        "LARGER" => arg(i, number64).map(|(i, n)| (i, K::Larger(n)))?,
        "SMALLER" => arg(i, number64).map(|(i, n)| (i, K::Smaller(n)))?,
        "OLDER" => arg(i, number).map(|(i, n)| (i, K::Older(n)))?,
        "YOUNGER" => arg(i, number).map(|(i, n)| (i, K::Younger(n)))?,
        "UID" => arg(i, sequence_set).map(|(i, s)| (i, K::Uid(s)))?,
        "NOT" => {
            let (i, d) = enter(i, depth)?;
            let (i, k) = arg(i, |i| search_key(i, d))?;
            (i, K::Not(Box::new(k)))
        }
        "OR" => {
            let (i, d) = enter(i, depth)?;
            let (i, a) = arg(i, |i| search_key(i, d))?;
            let (i, b) = arg(i, |i| search_key(i, d))?;
            (i, K::Or(Box::new(a), Box::new(b)))
        }
        "MODSEQ" => {
            let (i, ()) = sp(i)?;
            let (i, entry) = if peek(i, b'"') {
                let (i, q) = quoted(i)?;
                let (i, ()) = sp(i)?;
                let (i, t) = word(i)?;
                let t = match &t[..] {
                    [b'P', b'R', b'I', b'V', 0, ..] => EntryType::Private,
                    [b'S', b'H', b'A', b'R', b'E', b'D', 0, ..] => EntryType::Shared,
                    [b'A', b'L', b'L', 0, ..] => EntryType::All,
                    _ => return fail(i),
                };
                let (i, ()) = sp(i)?;
                (i, Some((q, t)))
            } else {
                (i, None)
            };
            let (i, modseq) = number64(i)?;
            (i, K::ModSeq { entry, modseq })
        }
        _ => return fail(start),
    };
    Ok(r)
}

/// `1*(SP search-key)` after the command's other arguments: keys separated by spaces.
pub(crate) fn search_keys(i: &[u8], depth: usize) -> R<'_, Vec<SearchKey>> {
    let (mut i, first) = search_key(i, depth)?;
    let mut v = vec![first];
    while peek(i, b' ') && !i[1..].starts_with(b"\r\n") {
        let (rest, k) = search_key(&i[1..], depth)?;
        v.push(k);
        i = rest;
    }
    Ok((i, v))
}

/// `CHARSET astring` when present (used by SEARCH; SORT and THREAD take a bare charset).
pub(crate) fn opt_charset(i: &[u8]) -> R<'_, Option<AString>> {
    match kw("CHARSET ")(i) {
        Ok((i, ())) => {
            let (i, c) = astring(i)?;
            let (i, ()) = sp(i)?;
            Ok((i, Some(c)))
        }
        Err(_) => Ok((i, None)),
    }
}

pub(crate) fn write_keys(w: &mut Writer, keys: &[SearchKey]) {
    w.sep(keys, b' ', write_key);
}

pub(crate) fn write_key(w: &mut Writer, k: &SearchKey) {
    use SearchKey as K;
    let simple = |w: &mut Writer, s: &str| {
        w.s(s);
    };
    match k {
        K::All => simple(w, "ALL"),
        K::Answered => simple(w, "ANSWERED"),
        K::Deleted => simple(w, "DELETED"),
        K::Draft => simple(w, "DRAFT"),
        K::Flagged => simple(w, "FLAGGED"),
        K::New => simple(w, "NEW"),
        K::Old => simple(w, "OLD"),
        K::Recent => simple(w, "RECENT"),
        K::Seen => simple(w, "SEEN"),
        K::Unanswered => simple(w, "UNANSWERED"),
        K::Undeleted => simple(w, "UNDELETED"),
        K::Undraft => simple(w, "UNDRAFT"),
        K::Unflagged => simple(w, "UNFLAGGED"),
        K::Unseen => simple(w, "UNSEEN"),
        K::Bcc(s) => {
            w.s("BCC ").astring(s);
        }
        K::Body(s) => {
            w.s("BODY ").astring(s);
        }
        K::Cc(s) => {
            w.s("CC ").astring(s);
        }
        K::From(s) => {
            w.s("FROM ").astring(s);
        }
        K::Subject(s) => {
            w.s("SUBJECT ").astring(s);
        }
        K::Text(s) => {
            w.s("TEXT ").astring(s);
        }
        K::To(s) => {
            w.s("TO ").astring(s);
        }
        K::Header(f, v) => {
            w.s("HEADER ").astring(f).sp().astring(v);
        }
        K::Before(d) => {
            w.s("BEFORE ").date(*d);
        }
        K::On(d) => {
            w.s("ON ").date(*d);
        }
        K::Since(d) => {
            w.s("SINCE ").date(*d);
        }
        K::SentBefore(d) => {
            w.s("SENTBEFORE ").date(*d);
        }
        K::SentOn(d) => {
            w.s("SENTON ").date(*d);
        }
        K::SentSince(d) => {
            w.s("SENTSINCE ").date(*d);
        }
        K::Keyword(a) => {
            w.s("KEYWORD ").atom(a);
        }
        K::Unkeyword(a) => {
            w.s("UNKEYWORD ").atom(a);
        }
        K::Larger(n) => {
            w.s("LARGER ").num(*n);
        }
        K::Smaller(n) => {
            w.s("SMALLER ").num(*n);
        }
        K::Older(n) => {
            w.s("OLDER ").num(*n);
        }
        K::Younger(n) => {
            w.s("YOUNGER ").num(*n);
        }
        K::Uid(s) => {
            w.s("UID ").seq_set(s);
        }
        K::SequenceSet(s) => {
            w.seq_set(s);
        }
        K::Not(k) => {
            w.s("NOT ");
            write_key(w, k);
        }
        K::Or(a, b) => {
            w.s("OR ");
            write_key(w, a);
            w.sp();
            write_key(w, b);
        }
        K::And(v) => {
            w.list(v, write_key);
        }
        K::ModSeq { entry, modseq } => {
            w.s("MODSEQ ");
            if let Some((q, t)) = entry {
                w.quoted(q).sp().s(match t {
                    EntryType::Private => "priv",
                    EntryType::Shared => "shared",
                    EntryType::All => "all",
                });
                w.sp();
            }
            w.num(*modseq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::all;

    fn rt(s: &str) -> Vec<SearchKey> {
        let keys = all(s.as_bytes(), |i| search_keys(i, 10)).unwrap();
        let mut w = Writer::default();
        write_keys(&mut w, &keys);
        assert_eq!(all(&w.buf, |i| search_keys(i, 10)).unwrap(), keys);
        keys
    }

    #[test]
    fn rfc_examples() {
        assert_eq!(rt("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"").len(), 3);
        let k = rt("OR (UNSEEN FROM x) NOT 2:4,*");
        assert!(matches!(&k[0], SearchKey::Or(a, _) if matches!(**a, SearchKey::And(_))));
        assert_eq!(rt("uid $")[0], SearchKey::Uid(SequenceSet::SavedResult));
        assert_eq!(
            rt("MODSEQ \"/flags/\\\\draft\" all 620162338")[0],
            SearchKey::ModSeq {
                entry: Some((Quoted::new("/flags/\\draft").unwrap(), EntryType::All)),
                modseq: 620_162_338
            }
        );
        assert!(all(b"FOO", |i| search_keys(i, 10)).is_err());
        assert!(all(b"()", |i| search_keys(i, 10)).is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "NOT ".repeat(100) + "ALL";
        assert!(matches!(
            all(deep.as_bytes(), |i| search_keys(i, 64)),
            Err((_, true))
        ));
        let parens = "(".repeat(100) + "ALL" + &")".repeat(100);
        assert!(matches!(
            all(parens.as_bytes(), |i| search_keys(i, 64)),
            Err((_, true))
        ));
        assert!(all(parens.as_bytes(), |i| search_keys(i, 100)).is_ok());
    }
}
