//! Strings: `quoted`, `literal`, `literal8`, `string`, `astring`, `nstring` (RFC 3501 §4.3,
//! §4.5; RFC 7888 `{n+}`/`{n-}`; RFC 3516 `~{n}`).
//!
//! Each value keeps the form it was read in, so serializing it gives the same bytes back.
//! [`AString::from_bytes`] and [`IString::from_bytes`] choose the most compact valid form for
//! new values.

use std::fmt;

use super::chars::is_astring_char;
use crate::error::ValidationError;

/// A quoted string (RFC 3501 §4.3): any octets except NUL, CR and LF. `"` and `\` are escaped
/// on the wire. Octets above 0x7f are kept (UTF-8 under RFC 6855/9051).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Quoted(Vec<u8>);

impl Quoted {
    /// Validates and wraps `bytes`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidByte`] for NUL, CR or LF.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ValidationError> {
        let bytes = bytes.into();
        match bytes.iter().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
            Some(at) => Err(ValidationError::InvalidByte {
                byte: bytes[at],
                at,
            }),
            None => Ok(Self(bytes)),
        }
    }

    pub(crate) fn from_checked(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The unescaped content.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quoted({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// How a literal is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralMode {
    /// `{n}`: the client waits for a `+` continuation before sending the octets.
    Sync,
    /// `{n+}`: LITERAL+/LITERAL- (RFC 7888), the octets follow at once.
    NonSync,
    /// `~{n}`: a `literal8` (RFC 3516), which may hold NUL; synchronising when sent by a client.
    Binary,
    /// `~{n+}`: a non-synchronising `literal8` (RFC 3516 with RFC 7888).
    BinaryNonSync,
}

impl LiteralMode {
    /// Whether a client must wait for a continuation request before sending the octets.
    #[must_use]
    pub fn is_sync(self) -> bool {
        matches!(self, Self::Sync | Self::Binary)
    }

    /// Whether this is a `literal8`.
    #[must_use]
    pub fn is_binary(self) -> bool {
        matches!(self, Self::Binary | Self::BinaryNonSync)
    }
}

/// A literal: a length-prefixed run of octets (RFC 3501 §4.3). Without the binary mode it
/// may not hold NUL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    data: Vec<u8>,
    mode: LiteralMode,
}

impl Literal {
    /// Validates and wraps `data`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidByte`] for NUL in a non-binary literal.
    pub fn new(data: impl Into<Vec<u8>>, mode: LiteralMode) -> Result<Self, ValidationError> {
        let data = data.into();
        if !mode.is_binary()
            && let Some(at) = memchr::memchr(0, &data)
        {
            return Err(ValidationError::InvalidByte { byte: 0, at });
        }
        Ok(Self { data, mode })
    }

    pub(crate) fn from_checked(data: Vec<u8>, mode: LiteralMode) -> Self {
        Self { data, mode }
    }

    /// The octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// How the literal is announced.
    #[must_use]
    pub fn mode(&self) -> LiteralMode {
        self.mode
    }

    /// The octets, taken out.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Literal({:?}, {:?})",
            self.mode,
            String::from_utf8_lossy(&self.data)
        )
    }
}

/// `string`: a quoted string or a literal (RFC 3501 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IString {
    /// `"…"`.
    Quoted(Quoted),
    /// `{n}\r\n…` and its variants.
    Literal(Literal),
}

impl IString {
    /// Picks quoted when the octets allow it and they are short, a synchronising literal
    /// otherwise (a literal8 when they hold NUL).
    #[must_use]
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        if bytes.len() <= 1024 && !bytes.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Self::Quoted(Quoted(bytes));
        }
        let mode = if bytes.contains(&0) {
            LiteralMode::Binary
        } else {
            LiteralMode::Sync
        };
        Self::Literal(Literal { data: bytes, mode })
    }

    /// The octets, without quoting or literal header.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Quoted(q) => q.as_bytes(),
            Self::Literal(l) => l.as_bytes(),
        }
    }
}

/// `astring`: an atom-like run of `ASTRING-CHAR`, or a `string` (RFC 3501 §9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AString {
    /// `1*ASTRING-CHAR`, kept as text (always ASCII).
    Atom(String),
    /// A quoted string or literal.
    String(IString),
}

impl AString {
    /// Picks the atom form when every octet allows it, then as [`IString::from_bytes`].
    #[must_use]
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        if !bytes.is_empty() && bytes.iter().all(|b| is_astring_char(*b)) {
            // All ASTRING-CHARs are ASCII, so this is valid UTF-8.
            return Self::Atom(String::from_utf8_lossy(&bytes).into_owned());
        }
        Self::String(IString::from_bytes(bytes))
    }

    /// An atom-form astring.
    ///
    /// # Errors
    /// [`ValidationError`] when `s` is empty or holds a non-`ASTRING-CHAR`.
    pub fn atom(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        if s.is_empty() {
            return Err(ValidationError::Empty);
        }
        match s.bytes().position(|b| !is_astring_char(b)) {
            Some(at) => Err(ValidationError::InvalidByte {
                byte: s.as_bytes()[at],
                at,
            }),
            None => Ok(Self::Atom(s)),
        }
    }

    /// The octets, without quoting or literal header.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Atom(a) => a.as_bytes(),
            Self::String(s) => s.as_bytes(),
        }
    }
}

impl From<&str> for AString {
    fn from(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }
}

/// `nstring`: a `string` or `NIL` (RFC 3501 §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NString(pub Option<IString>);

impl NString {
    /// `NIL`.
    pub const NIL: Self = Self(None);

    /// A non-NIL value in the best form for `bytes`.
    #[must_use]
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Some(IString::from_bytes(bytes)))
    }

    /// The octets, or `None` for NIL.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_ref().map(IString::as_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bytes_picks_compact_form() {
        assert_eq!(
            AString::from_bytes(&b"abc"[..]),
            AString::Atom("abc".into())
        );
        assert!(matches!(
            AString::from_bytes(&b"a b"[..]),
            AString::String(IString::Quoted(_))
        ));
        assert!(matches!(
            AString::from_bytes(&b"a\r\nb"[..]),
            AString::String(IString::Literal(l)) if l.mode() == LiteralMode::Sync
        ));
        assert!(matches!(
            IString::from_bytes(&b"\0"[..]),
            IString::Literal(l) if l.mode() == LiteralMode::Binary
        ));
        assert!(matches!(
            AString::from_bytes(Vec::new()),
            AString::String(IString::Quoted(_))
        ));
        assert!(Quoted::new("a\nb").is_err());
        assert!(Literal::new(&b"\0"[..], LiteralMode::Sync).is_err());
    }
}
