//! LIST and LSUB over the caller's mailbox names (RFC 3501 §6.3.8–§6.3.9, RFC 9051 §6.3.9,
//! LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154 §2): the reference and pattern, the `*` and
//! `%` wildcards, `\HasChildren`/`\HasNoChildren`, `\Noselect` levels that are not mailboxes,
//! the SUBSCRIBED/RECURSIVEMATCH/SPECIAL-USE selections and the SUBSCRIBED/CHILDREN/
//! SPECIAL-USE return options.

use std::collections::BTreeMap;

use crate::command::{ListReturnOpt, ListSelectOpt};
use crate::response::{ListEntry, ListExtItem};
use crate::types::{IString, MailboxAttr, MailboxName};

/// A mailbox as the caller lists it (the shape of mta-core's `MailboxInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    /// The name, UTF-8, levels separated by [`super::ServerOptions::delimiter`].
    pub name: String,
    /// Whether the user subscribed to it.
    pub subscribed: bool,
    /// Whether it exists (a subscription may outlive its mailbox).
    pub exists: bool,
    /// Whether it can be selected (a `\Noselect` parent left by DELETE, RFC 3501 §6.3.4).
    pub selectable: bool,
    /// Special-use attributes (`\Sent`, `\Trash` …, RFC 6154).
    pub special_use: Vec<MailboxAttr>,
}

impl MailboxEntry {
    /// An existing, selectable, unsubscribed mailbox without special use.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        MailboxEntry {
            name: name.into(),
            subscribed: false,
            exists: true,
            selectable: true,
            special_use: Vec::new(),
        }
    }
}

/// What a LIST or LSUB asks for.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    pub(crate) lsub: bool,
    pub(crate) patterns: Vec<String>,
    pub(crate) selection: Vec<ListSelectOpt>,
    pub(crate) return_opts: Vec<ListReturnOpt>,
}

/// Whether `name` matches `pattern` (`*` anything, `%` anything but the delimiter).
pub(crate) fn matches(pattern: &[char], name: &[char], delim: Option<char>) -> bool {
    // Iterative matcher with backtracking on the last wildcard; `%` cannot cross a delimiter.
    fn go(p: &[char], n: &[char], delim: Option<char>, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..], delim, depth + 1)),
            Some('%') => {
                let stop = n.iter().position(|c| Some(*c) == delim).unwrap_or(n.len());
                (0..=stop).any(|k| go(&p[1..], &n[k..], delim, depth + 1))
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..], delim, depth),
        }
    }
    // Collapse runs of wildcards so the backtracking stays polynomial.
    let mut p: Vec<char> = Vec::with_capacity(pattern.len());
    for &c in pattern {
        if c == '*' && p.last() == Some(&'*') {
            continue;
        }
        p.push(c);
    }
    go(&p, name, delim, 0)
}

/// INBOX in any case is INBOX (RFC 3501 §5.1), also as the first level of a name.
pub(crate) fn canonical(name: &str, delim: Option<char>) -> String {
    let first_end = delim.and_then(|d| name.find(d)).unwrap_or(name.len());
    if name[..first_end].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[first_end..])
    } else {
        name.to_string()
    }
}

/// The reference and a pattern joined (RFC 3501 §6.3.8: the reference is prefixed).
pub(crate) fn full_pattern(reference: &str, pattern: &str, delim: Option<char>) -> String {
    let p = if reference.is_empty() {
        pattern.to_string()
    } else if let (Some(d), true) = (delim, pattern.starts_with(delim.unwrap_or('\0'))) {
        // `LIST "a/" "/b"`: do not double the delimiter.
        format!("{}{}", reference.trim_end_matches(d), pattern)
    } else {
        format!("{reference}{pattern}")
    };
    canonical(&p, delim)
}

/// Builds the LIST/LSUB lines, in name order with INBOX first.
pub(crate) fn run(
    q: &ListQuery,
    entries: &[MailboxEntry],
    delim: Option<char>,
    encode: impl Fn(&str) -> Option<MailboxName>,
) -> Vec<ListEntry> {
    let sel = |o: ListSelectOpt| q.selection.contains(&o);
    let ret = |o: ListReturnOpt| q.return_opts.contains(&o);
    let subscribed_only = q.lsub || sel(ListSelectOpt::Subscribed);
    let special_only = sel(ListSelectOpt::SpecialUse);
    let show_subscribed =
        !q.lsub && (sel(ListSelectOpt::Subscribed) || ret(ListReturnOpt::Subscribed));
    let recursive = sel(ListSelectOpt::RecursiveMatch);
    let patterns: Vec<Vec<char>> = q.patterns.iter().map(|p| p.chars().collect()).collect();
    let hit = |name: &str| {
        let n: Vec<char> = name.chars().collect();
        patterns.iter().any(|p| matches(p, &n, delim))
    };
    // Every name with its canonical form; parents that are not mailboxes are added so that
    // `%` can return them as `\Noselect` (RFC 3501 §6.3.8).
    let mut all: BTreeMap<String, Option<&MailboxEntry>> = BTreeMap::new();
    for e in entries {
        let name = canonical(&e.name, delim);
        if let Some(d) = delim {
            let mut end = 0;
            while let Some(k) = name[end..].find(d) {
                let parent = &name[..end + k];
                all.entry(parent.to_string()).or_insert(None);
                end += k + d.len_utf8();
            }
        }
        all.insert(name, Some(e));
    }
    let has_children = |name: &str, pred: &dyn Fn(&MailboxEntry) -> bool| {
        let Some(d) = delim else { return false };
        let prefix = format!("{name}{d}");
        all.range(prefix.clone()..)
            .take_while(|(n, _)| n.starts_with(&prefix))
            .any(|(_, e)| e.is_some_and(pred))
    };
    let mut out = Vec::new();
    let mut names: Vec<&String> = all.keys().collect();
    names.sort_by_key(|n| (n.as_str() != "INBOX", n.as_str()));
    for name in names {
        let entry = all[name];
        let exists = entry.is_some_and(|e| e.exists);
        let subscribed = entry.is_some_and(|e| e.subscribed);
        let mut attrs = Vec::new();
        let mut extended = Vec::new();
        if !hit(name) {
            continue;
        }
        let listed = if subscribed_only {
            subscribed
        } else {
            entry.is_some_and(|e| e.exists)
        };
        let child_match = if subscribed_only {
            has_children(name, &|e| e.subscribed)
        } else {
            false
        };
        if !listed {
            // A level that is not itself listed: `%` patterns still show it as `\Noselect`
            // when a child is listed (LSUB, RFC 3501 §6.3.9), or with CHILDINFO under
            // RECURSIVEMATCH (RFC 5258 §3.5).
            let kids = if subscribed_only {
                child_match
            } else {
                has_children(name, &|e| e.exists)
            };
            if !kids {
                continue;
            }
            if recursive && subscribed_only {
                attrs.push(if exists {
                    MailboxAttr::HasChildren
                } else {
                    MailboxAttr::NonExistent
                });
                extended.push(ListExtItem::ChildInfo(vec![IString::from_bytes(
                    &b"SUBSCRIBED"[..],
                )]));
            } else if q.patterns.iter().any(|p| p.ends_with('%')) {
                attrs.push(MailboxAttr::Noselect);
            } else {
                continue;
            }
        } else {
            let e = entry.expect("listed entries exist");
            if special_only && e.special_use.is_empty() {
                continue;
            }
            if !e.exists {
                attrs.push(MailboxAttr::NonExistent);
            } else if !e.selectable {
                attrs.push(MailboxAttr::Noselect);
            }
            if !q.lsub && e.exists {
                attrs.push(if has_children(name, &|e| e.exists) {
                    MailboxAttr::HasChildren
                } else {
                    MailboxAttr::HasNoChildren
                });
            }
            if !q.lsub {
                attrs.extend(e.special_use.iter().cloned());
            }
            if show_subscribed && e.subscribed {
                attrs.push(MailboxAttr::Subscribed);
            }
            if recursive && subscribed_only && child_match {
                extended.push(ListExtItem::ChildInfo(vec![IString::from_bytes(
                    &b"SUBSCRIBED"[..],
                )]));
            }
        }
        let Some(mailbox) = encode(name) else {
            continue;
        };
        out.push(ListEntry {
            attrs,
            delimiter: delim.and_then(|d| u8::try_from(d).ok()),
            mailbox,
            extended,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        let p: Vec<char> = p.chars().collect();
        let n: Vec<char> = n.chars().collect();
        matches(&p, &n, Some('/'))
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "a/b/c") && m("%", "a") && !m("%", "a/b"));
        assert!(m("a/%", "a/b") && !m("a/%", "a/b/c") && m("a/*", "a/b/c"));
        assert!(m("a%c", "abc") && !m("a%c", "a/c") && m("a*c", "a/c"));
        assert!(!m("", "a") && m("", ""));
        let long = "*".repeat(200) + "x";
        assert!(!m(&long, &"a".repeat(60)));
    }

    #[test]
    fn inbox_is_case_insensitive_and_references_join() {
        assert_eq!(canonical("inbox/Sub", Some('/')), "INBOX/Sub");
        assert_eq!(canonical("inboxes", Some('/')), "inboxes");
        assert_eq!(full_pattern("a/", "/b", Some('/')), "a/b");
        assert_eq!(
            full_pattern("~smith/Mail/", "foo.*", Some('/')),
            "~smith/Mail/foo.*"
        );
        assert_eq!(full_pattern("", "Inbox", Some('/')), "INBOX");
    }
}
