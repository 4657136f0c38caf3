//! Maildir++ folder names (maildirquota, "Definitions, and goals").
//!
//! A folder is a subdirectory of the Maildir++ root whose name starts with a `.`; hierarchy is
//! emulated with `.` as the separator, so the folder `Lists/Rust` is the directory
//! `.Lists.Rust`. Each part is stored in modified UTF-7 (RFC 3501 §5.1.3), as Dovecot's and
//! Courier's Maildir++ layouts do, so `Entwürfe` is `.Entw&APw-rfe`. The root itself is
//! INBOX and is not a folder.
//!
//! A part can therefore not hold a `.` (it would split), a `/` (a path), or control
//! characters; nor be empty (`..` is never a folder). Such names are refused rather than
//! escaped, which is what Dovecot does by default.

use std::fmt;

use crate::error::{Error, ParseError};
use crate::utf7;

/// A folder name below INBOX, as hierarchy parts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FolderName {
    parts: Vec<String>,
}

/// The folder Maildir++ reserves for deleted messages; not counted in the quota.
pub const TRASH: &str = "Trash";

fn check_part(part: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err("empty hierarchy level");
    }
    if part.contains(['.', '/']) {
        return Err("'.' and '/' cannot be stored in a Maildir++ folder name");
    }
    if part.chars().any(char::is_control) {
        return Err("control character in folder name");
    }
    Ok(())
}

impl FolderName {
    /// A folder from an IMAP mailbox name with hierarchy `separator` (`"Lists/Rust"` with
    /// `'/'`). A leading `INBOX<separator>` is not stripped: `INBOX` children are ordinary
    /// folders named `INBOX…` here, exactly as Dovecot's Maildir++ layout stores them.
    pub fn new(name: &str, separator: char) -> Result<FolderName, Error> {
        FolderName::from_parts(name.split(separator).map(str::to_owned).collect())
    }

    /// A folder from its hierarchy parts.
    pub fn from_parts(parts: Vec<String>) -> Result<FolderName, Error> {
        if parts.is_empty() {
            return Err(Error::InvalidFolderName("empty name"));
        }
        for part in &parts {
            check_part(part).map_err(Error::InvalidFolderName)?;
        }
        if parts.len() == 1 && parts[0].eq_ignore_ascii_case("INBOX") {
            return Err(Error::InvalidFolderName(
                "INBOX is the Maildir root, not a folder",
            ));
        }
        let name = FolderName { parts };
        if name.dir_name().len() > crate::name::MAX_NAME_LEN {
            return Err(Error::InvalidFolderName("name too long"));
        }
        Ok(name)
    }

    /// Parses a directory name such as `.Lists.Rust` or `.Entw&APw-rfe`.
    pub fn from_dir_name(dir: &str) -> Result<FolderName, ParseError> {
        let bad = |what| ParseError::Syntax { line: 1, what };
        let rest = dir
            .strip_prefix('.')
            .ok_or(bad("folder directory must start with '.'"))?;
        let mut parts = Vec::new();
        for raw in rest.split('.') {
            let part = utf7::decode(raw)?;
            check_part(&part).map_err(bad)?;
            parts.push(part);
        }
        if parts.len() == 1 && parts[0].eq_ignore_ascii_case("INBOX") {
            return Err(bad("INBOX is not a folder"));
        }
        Ok(FolderName { parts })
    }

    /// The directory name: `.` and the parts in modified UTF-7, joined with `.`.
    #[must_use]
    pub fn dir_name(&self) -> String {
        let mut s = String::new();
        for part in &self.parts {
            s.push('.');
            s.push_str(&utf7::encode(part));
        }
        s
    }

    /// The hierarchy parts.
    #[must_use]
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The IMAP name with `separator` between the parts (Unicode, not encoded).
    #[must_use]
    pub fn to_imap(&self, separator: char) -> String {
        self.parts.join(&separator.to_string())
    }

    /// The IMAP name in modified UTF-7, with `.` between the parts: the form stored in
    /// Courier's `courierimapsubscribed` (after `INBOX.`) and in subscription files.
    #[must_use]
    pub fn to_utf7(&self) -> String {
        self.dir_name()[1..].to_owned()
    }

    /// Whether this is the Maildir++ Trash folder (excluded from quota).
    #[must_use]
    pub fn is_trash(&self) -> bool {
        self.parts.len() == 1 && self.parts[0] == TRASH
    }

    /// Whether `self` is `other` or below it in the hierarchy.
    #[must_use]
    pub fn is_within(&self, other: &FolderName) -> bool {
        self.parts.starts_with(&other.parts)
    }

    /// This name with the prefix `from` replaced by `to` (for renaming a subtree).
    pub(crate) fn reparent(&self, from: &FolderName, to: &FolderName) -> Option<FolderName> {
        let tail = self.parts.strip_prefix(from.parts.as_slice())?;
        let mut parts = to.parts.clone();
        parts.extend_from_slice(tail);
        Some(FolderName { parts })
    }
}

impl fmt::Display for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_imap('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn maildirplusplus_layout() {
        let f = FolderName::new("Lists/Rust", '/').unwrap();
        assert_eq!(f.dir_name(), ".Lists.Rust");
        assert_eq!(FolderName::from_dir_name(".Lists.Rust").unwrap(), f);
        let g = FolderName::new("Entwürfe", '/').unwrap();
        assert_eq!(g.dir_name(), ".Entw&APw-rfe");
        assert_eq!(g.to_utf7(), "Entw&APw-rfe");
        assert!(FolderName::new("Trash", '/').unwrap().is_trash());
        assert!(f.is_within(&FolderName::new("Lists", '/').unwrap()));
    }

    #[test]
    fn refused_names() {
        for bad in ["", "a//b", "a.b", "INBOX", "inbox", "x\ny"] {
            assert!(FolderName::new(bad, '/').is_err(), "{bad:?}");
        }
        for bad in ["", ".", "..", "...", "x", ".a..b", ".&AGE-", ".INBOX"] {
            assert!(FolderName::from_dir_name(bad).is_err(), "{bad:?}");
        }
        assert!(FolderName::new(&"x".repeat(300), '/').is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn dir_name_round_trip(parts in proptest::collection::vec("[^./\\p{Cc}]{1,8}", 1..4)) {
            if let Ok(name) = FolderName::from_parts(parts) {
                prop_assert_eq!(FolderName::from_dir_name(&name.dir_name()).unwrap(), name);
            }
        }
    }
}
