//! SORT keys (RFC 5256 §3, SORT=DISPLAY RFC 5957): base subject, first address, sent date.

use mail_parser::Address;

use super::Content;
use crate::command::SortKey;
use crate::types::DateTime;

/// One sort key's value for a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    /// Dates and sizes.
    Num(i64),
    /// Subjects and addresses, compared as octets after lower-casing (`i;ascii-casemap`).
    Text(String),
}

/// The base subject (RFC 5256 §2.1), lower-cased for comparison (`i;unicode-casemap`).
#[must_use]
pub fn base_subject(s: &str) -> String {
    base_subject_and_reply(s).0
}

/// The base subject (RFC 5256 §2.1, steps 1–7; the subject is already decoded) and whether
/// extracting it removed a `Re:`/`Fw:`/`Fwd:`, a `(fwd)` trailer or a `[fwd: …]` wrapper:
/// whether the message is a reply or forward for THREAD=REFERENCES (RFC 5256 §3).
#[must_use]
pub fn base_subject_and_reply(s: &str) -> (String, bool) {
    // (1) Tabs and continuations to spaces, runs of spaces to one.
    let mut t = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if matches!(c, '\t' | '\r' | '\n') {
            ' '
        } else {
            c
        };
        if !(c == ' ' && t.ends_with(' ')) {
            t.push(c);
        }
    }
    let mut reply = false;
    let mut t = t.as_str();
    loop {
        // (2) subj-trailer: "(fwd)" / WSP, repeatedly.
        loop {
            if let Some(r) = t.strip_suffix(' ') {
                t = r;
            } else if t.len() >= 5
                && t.is_char_boundary(t.len() - 5)
                && t[t.len() - 5..].eq_ignore_ascii_case("(fwd)")
            {
                t = &t[..t.len() - 5];
                reply = true;
            } else {
                break;
            }
        }
        // (3)–(5) subj-leader, then one subj-blob if something is left after it.
        loop {
            if let Some((rest, refwd)) = strip_leader(t) {
                reply |= refwd;
                t = rest;
                continue;
            }
            match strip_blob(t) {
                Some(rest) if !rest.is_empty() => t = rest,
                _ => break,
            }
        }
        // (6) "[fwd:" … "]".
        if t.len() >= 6
            && t.is_char_boundary(5)
            && t[..5].eq_ignore_ascii_case("[fwd:")
            && t.ends_with(']')
        {
            t = &t[5..t.len() - 1];
            reply = true;
            continue;
        }
        break;
    }
    (t.to_lowercase(), reply)
}

/// `subj-blob`: `"[" *BLOBCHAR "]" *WSP`; the rest.
fn strip_blob(t: &str) -> Option<&str> {
    let rest = t.strip_prefix('[')?;
    let end = rest.find(['[', ']'])?;
    if rest.as_bytes()[end] != b']' {
        return None;
    }
    Some(rest[end + 1..].trim_start_matches(' '))
}

/// `subj-leader`: `(*subj-blob subj-refwd) / WSP`; the rest, and whether it was a refwd.
fn strip_leader(t: &str) -> Option<(&str, bool)> {
    if let Some(rest) = t.strip_prefix(' ') {
        return Some((rest, false));
    }
    let mut r = t;
    while let Some(rest) = strip_blob(r) {
        r = rest;
    }
    let lower = |n: usize| r.get(..n).map(str::to_ascii_lowercase);
    let after = if lower(3).as_deref() == Some("fwd") {
        &r[3..]
    } else if matches!(lower(2).as_deref(), Some("re" | "fw")) {
        &r[2..]
    } else {
        return None;
    };
    let after = after.trim_start_matches(' ');
    let after = strip_blob(after).unwrap_or(after);
    after.strip_prefix(':').map(|rest| (rest, true))
}

fn first(a: Option<&Address<'_>>, display: bool) -> String {
    let Some(x) = a.and_then(|a| a.first()) else {
        return String::new();
    };
    let addr = x.address().unwrap_or_default();
    if display {
        x.name()
            .map_or_else(|| addr.to_string(), str::to_string)
            .to_lowercase()
    } else {
        addr.split('@').next().unwrap_or_default().to_lowercase()
    }
}

/// The value of `key` for a message; `content` is `None` when no key needs it.
#[must_use]
pub fn sort_value(
    key: SortKey,
    internal_date: DateTime,
    size: u64,
    content: Option<&Content<'_>>,
) -> SortValue {
    let msg = content.and_then(|c| c.msg.as_ref());
    match key {
        SortKey::Arrival => SortValue::Num(internal_date.unix_timestamp()),
        SortKey::Size => SortValue::Num(i64::try_from(size).unwrap_or(i64::MAX)),
        SortKey::Date => SortValue::Num(
            msg.and_then(|m| m.date())
                .map_or(internal_date.unix_timestamp(), |d| d.to_timestamp()),
        ),
        SortKey::Subject => {
            SortValue::Text(base_subject(msg.and_then(|m| m.subject()).unwrap_or("")))
        }
        SortKey::From => SortValue::Text(first(msg.and_then(|m| m.from()), false)),
        SortKey::To => SortValue::Text(first(msg.and_then(|m| m.to()), false)),
        SortKey::Cc => SortValue::Text(first(msg.and_then(|m| m.cc()), false)),
        SortKey::DisplayFrom => SortValue::Text(first(msg.and_then(|m| m.from()), true)),
        SortKey::DisplayTo => SortValue::Text(first(msg.and_then(|m| m.to()), true)),
    }
}

/// Whether a key needs the message octets.
#[must_use]
pub fn key_needs_content(key: SortKey) -> bool {
    !matches!(key, SortKey::Arrival | SortKey::Size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects() {
        assert_eq!(
            base_subject("Re: [list] Fwd:  Hello   World (fwd)"),
            "hello world"
        );
        assert_eq!(base_subject("RE: re: x"), "x");
        assert_eq!(base_subject("[only]"), "[only]");
        assert_eq!(
            base_subject_and_reply("[fwd: Re: Lunch]"),
            ("lunch".into(), true)
        );
        assert_eq!(
            base_subject_and_reply("[a] [b] Lunch"),
            ("lunch".into(), false)
        );
        assert_eq!(
            base_subject_and_reply("Re [x]: Lunch"),
            ("lunch".into(), true)
        );
        assert_eq!(
            base_subject_and_reply("Lunch (FWD)"),
            ("lunch".into(), true)
        );
        assert_eq!(
            base_subject_and_reply("Reply to all"),
            ("reply to all".into(), false)
        );
        assert_eq!(
            base_subject_and_reply(" \tRe:\r\n Café  au lait"),
            ("café au lait".into(), true)
        );
    }
}
