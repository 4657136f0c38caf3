//! The `dovecot-keywords` file: which keyword name each flag letter `a`–`z` stands for.
//!
//! Format (Dovecot's Maildir documentation, "IMAP Keywords"): one line per keyword,
//! `<index> <name>`, where index 0 is the letter `a` and 25 the letter `z`. The file is read
//! without a lock; it is written only while holding `dovecot-uidlist.lock` and
//! `dovecot-keywords.lock`, into `dovecot-keywords.new` that is then renamed over it (see
//! [`crate::Maildir::keyword_flag`]).
//!
//! Lines with an index of 26 or more are ignored, as Dovecot ignores them: a letter must exist
//! for a keyword to be stored in a file name.

use crate::error::ParseError;

/// The number of keyword letters.
pub const MAX_KEYWORDS: usize = 26;

/// The longest `dovecot-keywords` file read, in bytes.
pub(crate) const MAX_KEYWORDS_FILE: usize = 64 * 1024;

/// The keyword names of one folder, by letter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keywords {
    names: [Option<String>; MAX_KEYWORDS],
}

/// Whether `name` can be stored as a keyword: non-empty, at most 255 bytes, no space,
/// control character or IMAP special (`(`, `)`, `{`, `]`, `%`, `*`, `"`, `\`). System flags
/// (`\Seen`) are not keywords.
#[must_use]
pub fn is_valid_keyword(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "(){]%*\"\\".contains(c))
}

impl Keywords {
    /// Parses a `dovecot-keywords` file.
    pub fn parse(data: &[u8]) -> Result<Keywords, ParseError> {
        if data.len() > MAX_KEYWORDS_FILE {
            return Err(ParseError::TooLong {
                limit: MAX_KEYWORDS_FILE,
            });
        }
        let text = std::str::from_utf8(data).map_err(|_| ParseError::Syntax {
            line: 1,
            what: "not UTF-8",
        })?;
        let mut kw = Keywords::default();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let bad = |what| ParseError::Syntax { line: i + 1, what };
            let (idx, name) = line
                .split_once(' ')
                .ok_or(bad("expected '<index> <name>'"))?;
            if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index is not a number"));
            }
            if !is_valid_keyword(name) {
                return Err(bad("invalid keyword name"));
            }
            let Ok(idx) = idx.parse::<usize>() else {
                continue;
            };
            if idx >= MAX_KEYWORDS || kw.index_of(name).is_some() {
                continue;
            }
            kw.names[idx] = Some(name.to_owned());
        }
        Ok(kw)
    }

    /// Serializes in the file format, by ascending index.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (i, name) in self.names.iter().enumerate() {
            if let Some(name) = name {
                out.push_str(&format!("{i} {name}\n"));
            }
        }
        out.into_bytes()
    }

    /// The name of keyword index `i` (`a` = 0).
    #[must_use]
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i)?.as_deref()
    }

    /// The index of a keyword; IMAP keywords compare case-insensitively (RFC 3501 §2.3.2).
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The index of `name`, giving it the first free letter if it has none. `None` when it is
    /// not valid or all 26 letters are taken.
    pub fn get_or_insert(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.index_of(name) {
            return Some(i);
        }
        if !is_valid_keyword(name) {
            return None;
        }
        let free = self.names.iter().position(Option::is_none)?;
        self.names[free] = Some(name.to_owned());
        Some(free)
    }

    /// All (index, name) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str)> {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, n.as_deref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dovecot_example() {
        let kw = Keywords::parse(b"0 $Junk\n1 $NonJunk\n").unwrap();
        assert_eq!(kw.name(0), Some("$Junk"));
        assert_eq!(kw.name(1), Some("$NonJunk"));
        assert_eq!(kw.index_of("$nonjunk"), Some(1));
        assert_eq!(kw.to_bytes(), b"0 $Junk\n1 $NonJunk\n");
    }

    #[test]
    fn fills_gaps_and_limits() {
        let mut kw = Keywords::parse(b"1 b\n30 ignored\n").unwrap();
        assert_eq!(kw.get_or_insert("x"), Some(0));
        assert_eq!(kw.get_or_insert("b"), Some(1));
        for i in 2..26 {
            assert_eq!(kw.get_or_insert(&format!("k{i}")), Some(i));
        }
        assert_eq!(kw.get_or_insert("one-too-many"), None);
        assert_eq!(kw.get_or_insert("bad name"), None);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            &b"x y\n"[..],
            b"0\n",
            b"0 \n",
            b"-1 a\n",
            b"0 a b\n",
            b"\xff",
        ] {
            assert!(Keywords::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip(names in proptest::collection::vec("[$A-Za-z0-9_]{1,12}", 0..30)) {
            let mut kw = Keywords::default();
            for n in &names { kw.get_or_insert(n); }
            prop_assert_eq!(Keywords::parse(&kw.to_bytes()).unwrap(), kw);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Keywords::parse(&data);
        }
    }
}
