//! `tag` and `atom` (RFC 3501 §9).

use std::fmt;

use super::chars::{is_atom_char, is_tag_char};
use crate::error::ValidationError;

fn check(s: &str, ok: impl Fn(u8) -> bool) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    match s.bytes().position(|b| !ok(b)) {
        Some(at) => Err(ValidationError::InvalidByte {
            byte: s.as_bytes()[at],
            at,
        }),
        None => Ok(()),
    }
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The value as text (always ASCII).
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Validates and wraps `s`.
            ///
            /// # Errors
            /// [`ValidationError`] when `s` is empty or holds an octet the grammar forbids.
            pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
                let s = s.into();
                check(&s, $check)?;
                Ok(Self(s))
            }

            /// Wraps bytes the parser already checked.
            pub(crate) fn from_checked(b: &[u8]) -> Self {
                debug_assert!(check(std::str::from_utf8(b).unwrap_or("\u{0}"), $check).is_ok());
                // The parser only hands over ASCII, so this never replaces anything.
                Self(String::from_utf8_lossy(b).into_owned())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(s: &str) -> Result<Self, ValidationError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, ValidationError> {
                Self::new(s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A command tag: one or more `ASTRING-CHAR` except `+` (RFC 3501 §2.2.1, §9 `tag`).
    Tag,
    is_tag_char
);

string_newtype!(
    /// An atom: one or more `ATOM-CHAR` (RFC 3501 §4.1). Used for keywords, capabilities,
    /// extension names and the like; comparison is exact, use [`Atom::eq_ignore_case`] where
    /// the RFC says case-insensitive.
    Atom,
    is_atom_char
);

impl Atom {
    /// ASCII case-insensitive comparison, as IMAP keywords and capability names need.
    #[must_use]
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rejects_plus_and_specials() {
        assert!(Tag::new("A001").is_ok());
        assert_eq!(Tag::new(""), Err(ValidationError::Empty));
        assert_eq!(
            Tag::new("a+b"),
            Err(ValidationError::InvalidByte { byte: b'+', at: 1 })
        );
        assert!(Tag::new("a b").is_err());
        assert!(Tag::new("a]").is_ok());
        assert!(Atom::new("a]").is_err());
        assert!(Atom::new("é").is_err());
    }
}
