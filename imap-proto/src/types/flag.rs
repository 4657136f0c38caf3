//! Message flags and keywords (RFC 3501 §2.3.2, RFC 9051 §2.3.2) and mailbox attributes
//! (RFC 3501 §7.2.2, RFC 5258 §3, RFC 6154 §2, RFC 9051 §7.3.1).

use std::fmt;

use super::atom::Atom;

/// A message flag: a system flag, a keyword (an atom), or an unknown `\Extension` flag.
/// System flags are matched case-insensitively and written in their RFC spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (IMAP4rev1 only; a server never lets a client set it).
    Recent,
    /// A keyword such as `$Forwarded` or `NonJunk`.
    Keyword(Atom),
    /// A `\`-prefixed flag this crate does not know; the atom is without the backslash.
    Extension(Atom),
}

impl Flag {
    /// Reads a flag from its wire text (`\Seen`, `$Junk`); `None` when it is not a flag.
    #[must_use]
    pub fn from_wire(s: &str) -> Option<Self> {
        if let Some(name) = s.strip_prefix('\\') {
            let f = match name.to_ascii_lowercase().as_str() {
                "seen" => Self::Seen,
                "answered" => Self::Answered,
                "flagged" => Self::Flagged,
                "deleted" => Self::Deleted,
                "draft" => Self::Draft,
                "recent" => Self::Recent,
                _ => Self::Extension(Atom::new(name).ok()?),
            };
            Some(f)
        } else {
            Some(Self::Keyword(Atom::new(s).ok()?))
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seen => f.write_str("\\Seen"),
            Self::Answered => f.write_str("\\Answered"),
            Self::Flagged => f.write_str("\\Flagged"),
            Self::Deleted => f.write_str("\\Deleted"),
            Self::Draft => f.write_str("\\Draft"),
            Self::Recent => f.write_str("\\Recent"),
            Self::Keyword(a) => f.write_str(a.as_str()),
            Self::Extension(a) => write!(f, "\\{a}"),
        }
    }
}

/// An entry of PERMANENTFLAGS: a flag, or `\*` (new keywords may be created).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A flag.
    Flag(Flag),
    /// `\*`.
    Wildcard,
}

/// A mailbox attribute in a LIST/LSUB response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxAttr {
    /// `\Noinferiors`.
    Noinferiors,
    /// `\Noselect`.
    Noselect,
    /// `\Marked`.
    Marked,
    /// `\Unmarked`.
    Unmarked,
    /// `\NonExistent` (RFC 5258).
    NonExistent,
    /// `\Subscribed` (RFC 5258).
    Subscribed,
    /// `\Remote` (RFC 5258).
    Remote,
    /// `\HasChildren` (RFC 3348, RFC 5258).
    HasChildren,
    /// `\HasNoChildren`.
    HasNoChildren,
    /// `\All` (RFC 6154).
    All,
    /// `\Archive`.
    Archive,
    /// `\Drafts`.
    Drafts,
    /// `\Flagged`.
    Flagged,
    /// `\Junk`.
    Junk,
    /// `\Sent`.
    Sent,
    /// `\Trash`.
    Trash,
    /// Another `\`-attribute, without the backslash.
    Extension(Atom),
}

const ATTRS: [(&str, MailboxAttr); 16] = [
    ("Noinferiors", MailboxAttr::Noinferiors),
    ("Noselect", MailboxAttr::Noselect),
    ("Marked", MailboxAttr::Marked),
    ("Unmarked", MailboxAttr::Unmarked),
    ("NonExistent", MailboxAttr::NonExistent),
    ("Subscribed", MailboxAttr::Subscribed),
    ("Remote", MailboxAttr::Remote),
    ("HasChildren", MailboxAttr::HasChildren),
    ("HasNoChildren", MailboxAttr::HasNoChildren),
    ("All", MailboxAttr::All),
    ("Archive", MailboxAttr::Archive),
    ("Drafts", MailboxAttr::Drafts),
    ("Flagged", MailboxAttr::Flagged),
    ("Junk", MailboxAttr::Junk),
    ("Sent", MailboxAttr::Sent),
    ("Trash", MailboxAttr::Trash),
];

impl MailboxAttr {
    /// Reads an attribute from its name without the backslash, case-insensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        for (n, a) in &ATTRS {
            if n.eq_ignore_ascii_case(name) {
                return Some(a.clone());
            }
        }
        Atom::new(name).ok().map(Self::Extension)
    }
}

impl fmt::Display for MailboxAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Self::Extension(a) = self {
            return write!(f, "\\{a}");
        }
        let name = ATTRS.iter().find(|(_, a)| a == self).map_or("", |(n, _)| n);
        write!(f, "\\{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_flags_case_insensitive() {
        assert_eq!(Flag::from_wire("\\SEEN"), Some(Flag::Seen));
        assert_eq!(Flag::from_wire("\\Foo").unwrap().to_string(), "\\Foo");
        assert_eq!(Flag::from_wire("$Junk").unwrap().to_string(), "$Junk");
        assert_eq!(Flag::from_wire("a b"), None);
        assert_eq!(
            MailboxAttr::from_name("haschildren"),
            Some(MailboxAttr::HasChildren)
        );
        assert_eq!(MailboxAttr::Trash.to_string(), "\\Trash");
    }
}
