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

/// The base subject (RFC 5256 §2.1, simplified): leading `Re:`, `Fw:`, `Fwd:` and `[blob]`s
/// and trailing `(fwd)` removed, white space collapsed, lower-cased.
#[must_use]
pub fn base_subject(s: &str) -> String {
    let mut t: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let before = t.len();
        while t.to_ascii_lowercase().ends_with("(fwd)") {
            t.truncate(t.len() - 5);
            t = t.trim_end().to_string();
        }
        let lower = t.to_ascii_lowercase();
        for p in ["re:", "fw:", "fwd:"] {
            if lower.starts_with(p) {
                t = t[p.len()..].trim_start().to_string();
                break;
            }
        }
        if t.starts_with('[')
            && let Some(end) = t.find(']')
            && end + 1 < t.len()
        {
            t = t[end + 1..].trim_start().to_string();
        }
        if t.len() == before {
            break;
        }
    }
    t.to_lowercase()
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
    }
}
