//! SEARCH evaluation (RFC 3501 §6.4.4, RFC 9051 §6.4.4, CONDSTORE `MODSEQ` RFC 7162 §3.1.5,
//! WITHIN `OLDER`/`YOUNGER` RFC 5032 §3 against the time in [`Facts::now`]):
//! every key over a message's flags, dates, size, numbers and — when a key needs them — its
//! header fields and text, decoded (encoded words, RFC 2047; quoted-printable and base64;
//! charsets) and matched as case-insensitive substrings.
//!
//! [`needs_content`] says whether the message octets are needed at all, so that a search on
//! flags or sizes never reads a message.

mod sort;
mod thread;

use std::num::NonZeroU32;

pub use sort::{
    SortValue, base_subject, base_subject_and_reply, key_needs_content as sort_needs_content,
    sort_value,
};
pub use thread::{ThreadMessage, references as thread_references};

use mail_parser::{Address, Message, MessageParser};

use crate::search::SearchKey;
use crate::types::{AString, Date, DateTime, Flag, SequenceSet};

/// What the view knows about one message.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Its sequence number.
    pub seq: u32,
    /// Its UID.
    pub uid: NonZeroU32,
    /// Its flags (without `\Recent`).
    pub flags: &'a [Flag],
    /// Whether it is `\Recent` in this session.
    pub recent: bool,
    /// RFC822.SIZE.
    pub size: u64,
    /// Internal date.
    pub internal_date: DateTime,
    /// Mod-sequence.
    pub modseq: u64,
    /// The mailbox's message count (for `*` in sequence sets).
    pub exists: u32,
    /// The mailbox's largest UID (for `*` in UID sets).
    pub max_uid: u32,
    /// The saved search result `$` (RFC 5182), as UIDs.
    pub saved: &'a [NonZeroU32],
    /// The time of day, seconds since the Unix epoch, for OLDER and YOUNGER (RFC 5032);
    /// `None`: those keys match nothing. Time is an argument: the evaluator reads no clock.
    pub now: Option<i64>,
}

/// Whether any key needs the message's octets.
#[must_use]
pub fn needs_content(keys: &[SearchKey]) -> bool {
    keys.iter().any(key_needs_content)
}

fn key_needs_content(k: &SearchKey) -> bool {
    use SearchKey as K;
    match k {
        K::Bcc(_)
        | K::Body(_)
        | K::Cc(_)
        | K::From(_)
        | K::Header(..)
        | K::Subject(_)
        | K::Text(_)
        | K::To(_)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_) => true,
        K::Not(k) => key_needs_content(k),
        K::Or(a, b) => key_needs_content(a) || key_needs_content(b),
        K::And(v) => needs_content(v),
        _ => false,
    }
}

/// Whether the charset of a SEARCH is one this evaluator handles (`[BADCHARSET]` otherwise,
/// RFC 9051 §6.4.4).
#[must_use]
pub fn charset_supported(charset: &str) -> bool {
    ["US-ASCII", "UTF-8"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(charset))
}

/// A message parsed for content keys.
#[derive(Debug)]
pub struct Content<'a> {
    msg: Option<Message<'a>>,
    raw: &'a [u8],
}

impl<'a> Content<'a> {
    /// Parses the octets.
    #[must_use]
    pub fn new(raw: &'a [u8]) -> Self {
        Content {
            msg: MessageParser::new().parse(raw),
            raw,
        }
    }
}

/// Lower-cased needle text.
fn needle(s: &AString) -> String {
    String::from_utf8_lossy(s.as_bytes()).to_lowercase()
}

fn has(hay: &str, needle: &str) -> bool {
    needle.is_empty() || hay.to_lowercase().contains(needle)
}

fn date_key(d: Date) -> (u16, u8, u8) {
    (d.year(), d.month(), d.day())
}

fn addr_text(a: Option<&Address<'_>>) -> String {
    let mut out = String::new();
    if let Some(a) = a {
        for x in a.iter() {
            if let Some(n) = x.name() {
                out.push_str(n);
                out.push(' ');
            }
            if let Some(e) = x.address() {
                out.push('<');
                out.push_str(e);
                out.push_str("> ");
            }
        }
    }
    out
}

fn header_match(c: &Content<'_>, name: &str, needle: &str) -> bool {
    let Some(m) = &c.msg else { return false };
    let root = m.root_part();
    root.headers.iter().any(|h| {
        if !h.name().eq_ignore_ascii_case(name) {
            return false;
        }
        if needle.is_empty() {
            return true;
        }
        // Decoded text where mail-parser decodes the field, the raw value otherwise.
        let decoded = match h.value() {
            mail_parser::HeaderValue::Text(t) => t.to_string(),
            mail_parser::HeaderValue::TextList(l) => l.join(" "),
            mail_parser::HeaderValue::Address(a) => addr_text(Some(a)),
            _ => String::new(),
        };
        let raw = m
            .raw_message
            .get(h.offset_start() as usize..h.offset_end() as usize)
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        has(&decoded, needle) || has(&raw, needle)
    })
}

fn body_match(c: &Content<'_>, needle: &str) -> bool {
    let Some(m) = &c.msg else {
        return has(&String::from_utf8_lossy(c.raw), needle);
    };
    (0..m.text_body_count()).any(|i| m.body_text(i).is_some_and(|t| has(&t, needle)))
        || m.attachments.iter().any(|id| {
            m.parts
                .get(*id as usize)
                .is_some_and(|p| p.is_text() && p.text_contents().is_some_and(|t| has(t, needle)))
        })
}

fn sent_date(c: &Content<'_>) -> Option<(u16, u8, u8)> {
    let d = c.msg.as_ref()?.date()?;
    Some((d.year, d.month, d.day))
}

/// Whether the message matches all `keys` (RFC 9051 §6.4.4). `content` is `None` when no
/// key needs it ([`needs_content`]); content keys then do not match.
#[must_use]
pub fn matches_all(keys: &[SearchKey], f: &Facts<'_>, content: Option<&Content<'_>>) -> bool {
    keys.iter().all(|k| matches(k, f, content))
}

fn in_set(set: &SequenceSet, n: u32, largest: u32) -> bool {
    set.contains(n, largest)
}

/// Whether one key matches.
#[must_use]
pub fn matches(k: &SearchKey, f: &Facts<'_>, c: Option<&Content<'_>>) -> bool {
    use SearchKey as K;
    let flag = |fl: Flag| f.flags.contains(&fl);
    let idate = date_key(f.internal_date.date());
    match k {
        K::All => true,
        K::Answered => flag(Flag::Answered),
        K::Deleted => flag(Flag::Deleted),
        K::Draft => flag(Flag::Draft),
        K::Flagged => flag(Flag::Flagged),
        K::Seen => flag(Flag::Seen),
        K::Unanswered => !flag(Flag::Answered),
        K::Undeleted => !flag(Flag::Deleted),
        K::Undraft => !flag(Flag::Draft),
        K::Unflagged => !flag(Flag::Flagged),
        K::Unseen => !flag(Flag::Seen),
        K::Recent => f.recent,
        K::New => f.recent && !flag(Flag::Seen),
        K::Old => !f.recent,
        K::Keyword(a) => f
            .flags
            .iter()
            .any(|x| matches!(x, Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case(a.as_str()))),
        K::Unkeyword(a) => !f
            .flags
            .iter()
            .any(|x| matches!(x, Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case(a.as_str()))),
        K::Larger(n) => f.size > *n,
        K::Smaller(n) => f.size < *n,
        K::Before(d) => idate < date_key(*d),
        K::On(d) => idate == date_key(*d),
        K::Since(d) => idate >= date_key(*d),
        K::SentBefore(d) => c.and_then(sent_date).is_some_and(|s| s < date_key(*d)),
        K::SentOn(d) => c.and_then(sent_date).is_some_and(|s| s == date_key(*d)),
        K::SentSince(d) => c.and_then(sent_date).is_some_and(|s| s >= date_key(*d)),
        K::Uid(SequenceSet::SavedResult) | K::SequenceSet(SequenceSet::SavedResult) => {
            f.saved.contains(&f.uid)
        }
        K::Uid(set) => in_set(set, f.uid.get(), f.max_uid),
        K::SequenceSet(set) => in_set(set, f.seq, f.exists),
        K::ModSeq { modseq, .. } => f.modseq >= *modseq,
        K::Not(k) => !matches(k, f, c),
        K::Or(a, b) => matches(a, f, c) || matches(b, f, c),
        K::And(v) => matches_all(v, f, c),
        // RFC 5032 §3: YOUNGER n is an internal date within the last n seconds, OLDER n the
        // rest, so that OLDER n is exactly NOT YOUNGER n.
        K::Older(n) => f
            .now
            .is_some_and(|now| f.internal_date.unix_timestamp() < now - i64::from(*n)),
        K::Younger(n) => f
            .now
            .is_some_and(|now| f.internal_date.unix_timestamp() >= now - i64::from(*n)),
        K::From(s) => c.is_some_and(|c| header_match(c, "From", &needle(s))),
        K::To(s) => c.is_some_and(|c| header_match(c, "To", &needle(s))),
        K::Cc(s) => c.is_some_and(|c| header_match(c, "Cc", &needle(s))),
        K::Bcc(s) => c.is_some_and(|c| header_match(c, "Bcc", &needle(s))),
        K::Subject(s) => c.is_some_and(|c| header_match(c, "Subject", &needle(s))),
        K::Header(name, s) => c.is_some_and(|c| {
            header_match(c, &String::from_utf8_lossy(name.as_bytes()), &needle(s))
        }),
        K::Body(s) => c.is_some_and(|c| body_match(c, &needle(s))),
        K::Text(s) => c.is_some_and(|c| {
            let n = needle(s);
            body_match(c, &n)
                || c.msg.as_ref().is_some_and(|m| {
                    let root = m.root_part();
                    root.headers.iter().any(|h| {
                        let raw = m
                            .raw_message
                            .get(h.offset_start() as usize..h.offset_end() as usize)
                            .map(String::from_utf8_lossy)
                            .unwrap_or_default();
                        has(&raw, &n) || has(h.name(), &n)
                    }) || root.headers.iter().any(|h| match h.value() {
                        mail_parser::HeaderValue::Text(t) => has(t, &n),
                        _ => false,
                    })
                })
        }),
    }
}
