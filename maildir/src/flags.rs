//! Message flags as stored in the info suffix `:2,<flags>` (maildir.txt, "What can I put in
//! info?").
//!
//! Each flag is one ASCII character and the characters are stored in ASCII order, so the set
//! is a 128-bit set indexed by the character: iteration order is the storage order. Upper case
//! letters are the standard flags (D, F, P, R, S, T); lower case letters `a`–`z` are keywords
//! whose names live in `dovecot-keywords` (see [`crate::Keywords`]). Other upper case letters
//! written by other programs are kept as they are, so that changing one flag never drops
//! another program's.

use std::fmt;

/// A set of Maildir flag characters, kept in ASCII order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u128);

impl Flags {
    /// No flag.
    pub const EMPTY: Flags = Flags(0);
    /// `D`: draft (IMAP `\Draft`).
    pub const DRAFT: Flags = Flags::bit(b'D');
    /// `F`: flagged (IMAP `\Flagged`).
    pub const FLAGGED: Flags = Flags::bit(b'F');
    /// `P`: passed, i.e. forwarded (no IMAP system flag; Dovecot maps it to `$Forwarded`).
    pub const PASSED: Flags = Flags::bit(b'P');
    /// `R`: replied (IMAP `\Answered`).
    pub const REPLIED: Flags = Flags::bit(b'R');
    /// `S`: seen (IMAP `\Seen`).
    pub const SEEN: Flags = Flags::bit(b'S');
    /// `T`: trashed (IMAP `\Deleted`).
    pub const TRASHED: Flags = Flags::bit(b'T');

    const fn bit(c: u8) -> Flags {
        Flags(1u128 << c)
    }

    /// Whether `c` may be stored as a flag: a printable ASCII character other than `,`
    /// (which starts Dovecot's non-standard fields) and `/`.
    #[must_use]
    pub const fn is_valid_char(c: u8) -> bool {
        c.is_ascii_graphic() && c != b',' && c != b'/'
    }

    /// The keyword flag for keyword index `i` (0 → `a`, …, 25 → `z`); `None` past 25.
    #[must_use]
    pub fn keyword(i: usize) -> Option<Flags> {
        (i < 26).then(|| Flags::bit(b'a' + i as u8))
    }

    /// Parses the characters after `2,` up to the end or a `,`. `None` if a character cannot
    /// be a flag (the caller then keeps the info suffix verbatim).
    #[must_use]
    pub fn parse(s: &str) -> Option<Flags> {
        let mut f = Flags::EMPTY;
        for &c in s.as_bytes() {
            if !Flags::is_valid_char(c) {
                return None;
            }
            f.0 |= 1u128 << c;
        }
        Some(f)
    }

    /// Adds the flag character `c`; returns false (and changes nothing) if it is not valid.
    pub fn insert_char(&mut self, c: u8) -> bool {
        if Flags::is_valid_char(c) {
            self.0 |= 1u128 << c;
            true
        } else {
            false
        }
    }

    /// Whether the character `c` is set.
    #[must_use]
    pub fn contains_char(self, c: u8) -> bool {
        c < 128 && self.0 & (1u128 << c) != 0
    }

    /// Whether every flag of `other` is set here.
    #[must_use]
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// These flags without those of `other`.
    #[must_use]
    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// Whether no flag is set.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The keyword indexes set (`a` → 0 … `z` → 25), ascending.
    pub fn keyword_indexes(self) -> impl Iterator<Item = usize> {
        self.chars()
            .filter(u8::is_ascii_lowercase)
            .map(|c| usize::from(c - b'a'))
    }

    /// The flag characters in ASCII order: the order they are stored in.
    pub fn chars(self) -> impl Iterator<Item = u8> {
        (0u8..128).filter(move |&c| self.0 & (1u128 << c) != 0)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.chars() {
            fmt::Write::write_char(f, char::from(c))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ascii_order() {
        let f = Flags::SEEN | Flags::REPLIED | Flags::FLAGGED | Flags::keyword(1).unwrap();
        assert_eq!(f.to_string(), "FRSb");
        assert_eq!(Flags::parse("SRFb"), Some(f));
        assert_eq!(f.keyword_indexes().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn rejects_bad_chars() {
        assert_eq!(Flags::parse("S,x"), None);
        assert_eq!(Flags::parse("S/"), None);
        assert_eq!(Flags::parse("é"), None);
        assert!(Flags::keyword(26).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn round_trip(s in "[!-+\\--.0-~]{0,20}") {
            let f = Flags::parse(&s).unwrap();
            let shown = f.to_string();
            prop_assert_eq!(Flags::parse(&shown), Some(f));
            let mut sorted: Vec<u8> = s.bytes().collect();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(shown.into_bytes(), sorted);
        }
    }
}
