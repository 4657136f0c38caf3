//! Domains, address literals, mailboxes and the paths of MAIL and RCPT.
//!
//! RFC 5321 §4.1.2 (`Domain`, `address-literal`, `Mailbox`, `Local-part`, `Path` with the
//! obsolete source route `A-d-l`, which is accepted and ignored as §C and §4.1.1.3 ask),
//! §4.1.3 (address literals), §4.5.3.1 (size limits: local part 64, domain 255, path 256
//! octets) and RFC 6531 §3.3 (UTF-8 in local parts and domains, only with SMTPUTF8 — the types
//! accept it and say so through `is_ascii`; the engines check the SMTPUTF8 rule).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::PathError;

mod borrowed;

use borrowed::{Cursor, LiteralRef};
pub use borrowed::{ForwardPathRef, MailboxRef, ReversePathRef};
pub(crate) use borrowed::{RawPathRef, check_host, checked_host, parse_path_ref};

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_LABEL: usize = 63;
const MAX_PATH: usize = 256;

/// A domain name: dot-separated labels of letters, digits and inner hyphens (`sub-domain`), or
/// U-labels of UTF-8 (RFC 6531). At most 255 octets, labels at most 63.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Validates a domain.
    pub fn new(s: impl Into<String>) -> Result<Domain, PathError> {
        let s = s.into();
        validate_domain(&s)?;
        Ok(Domain(s))
    }

    /// The domain as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is all ASCII (no U-labels).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Compares ignoring ASCII case, as domain names compare.
    pub fn eq_ignore_case(&self, other: &Domain) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

fn validate_domain(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::Syntax("empty domain"));
    }
    if s.len() > MAX_DOMAIN {
        return Err(PathError::DomainTooLong);
    }
    // The common case in one pass over the bytes, one table lookup each; each label is judged
    // whole at its end, in the order a byte-by-byte check would have failed it. UTF-8
    // (U-labels) takes the slow path.
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        match DOMAIN_CLASS[c as usize] {
            LDH => {}
            DOT => {
                check_label(&b[start..i])?;
                start = i + 1;
            }
            class => {
                let label = &b[start..i];
                if label.first() == Some(&b'-') {
                    return Err(PathError::Syntax("invalid character in domain"));
                }
                if label.len() > MAX_LABEL {
                    return Err(PathError::DomainTooLong);
                }
                return if class == NON_ASCII {
                    validate_utf8_domain(s)
                } else {
                    Err(PathError::Syntax("invalid character in domain"))
                };
            }
        }
    }
    check_label(&b[start..])
}

/// One ASCII label (LDH octets only), checked in the order the errors would be met
/// reading it from the left.
#[inline]
fn check_label(label: &[u8]) -> Result<(), PathError> {
    match label {
        [] => Err(PathError::Syntax("empty domain label")),
        [b'-', ..] => Err(PathError::Syntax("invalid character in domain")),
        _ if label.len() > MAX_LABEL => Err(PathError::DomainTooLong),
        [.., b'-'] => Err(PathError::Syntax("invalid character in domain")),
        _ => Ok(()),
    }
}

const INVALID: u8 = 0;
const LDH: u8 = 1;
const DOT: u8 = 2;
const NON_ASCII: u8 = 3;

/// The class of each octet in an ASCII domain: letter, digit or hyphen; dot; 0x80 and up.
const DOMAIN_CLASS: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphanumeric() || b == b'-' {
            LDH
        } else if b == b'.' {
            DOT
        } else if b >= 0x80 {
            NON_ASCII
        } else {
            INVALID
        };
        c += 1;
    }
    t
};

fn validate_utf8_domain(s: &str) -> Result<(), PathError> {
    for label in s.split('.') {
        if label.is_empty() {
            return Err(PathError::Syntax("empty domain label"));
        }
        if label.len() > MAX_LABEL {
            return Err(PathError::DomainTooLong);
        }
        let ok_char = |c: char| c.is_ascii_alphanumeric() || !c.is_ascii() && !c.is_control();
        let first = label.chars().next().expect("non-empty");
        let last = label.chars().next_back().expect("non-empty");
        if !ok_char(first) || !ok_char(last) || !label.chars().all(|c| ok_char(c) || c == '-') {
            return Err(PathError::Syntax("invalid character in domain"));
        }
    }
    Ok(())
}

impl TryFrom<&str> for Domain {
    type Error = PathError;
    fn try_from(s: &str) -> Result<Domain, PathError> {
        Domain::new(s)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address literal (RFC 5321 §4.1.3): `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general
/// `[tag:content]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral {
    /// `[a.b.c.d]`.
    Ipv4(Ipv4Addr),
    /// `[IPv6:…]`.
    Ipv6(Ipv6Addr),
    /// `[tag:content]`, a standardized tag other than IPv6.
    General {
        /// The tag (`Ldh-str`).
        tag: String,
        /// The content (`dcontent`: printable ASCII but `[`, `\`, `]`).
        content: String,
    },
}

impl AddressLiteral {
    /// Parses the text between the brackets.
    pub fn parse_inner(s: &str) -> Result<AddressLiteral, PathError> {
        LiteralRef::parse(s).map(LiteralRef::to_owned_literal)
    }
}

impl fmt::Display for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressLiteral::Ipv4(a) => write!(f, "[{a}]"),
            AddressLiteral::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            AddressLiteral::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

/// The part after `@` of a mailbox, or the argument of HELO/EHLO/LHLO.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name.
    Domain(Domain),
    /// An address literal.
    Literal(AddressLiteral),
}

impl Host {
    /// Parses a domain or a bracketed address literal.
    pub fn parse(s: &str) -> Result<Host, PathError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(PathError::Syntax("unterminated address literal"))?;
            AddressLiteral::parse_inner(inner).map(Host::Literal)
        } else {
            Domain::new(s).map(Host::Domain)
        }
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            Host::Literal(_) => true,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => d.fmt(f),
            Host::Literal(l) => l.fmt(f),
        }
    }
}

/// ASCII `atext` of RFC 5322 §3.2.3, which RFC 5321 `Atom` uses, as a table.
const ATEXT: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            );
        c += 1;
    }
    t
};

/// [`ATEXT`] and `.` (the octets of a `Dot-string`), over all 256 octets: none of 0x80 and up.
const DOT_ATEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        t[c] = ATEXT[c] || c == b'.' as usize;
        c += 1;
    }
    t
};

/// `atext`, extended with UTF-8 by RFC 6531 §3.3.
fn is_atext(c: char) -> bool {
    if c.is_ascii() {
        ATEXT[c as usize]
    } else {
        !c.is_control()
    }
}

/// The local part of a mailbox, held decoded (without quotes or backslashes). It is written as
/// a `Dot-string` when it can be and as a `Quoted-string` otherwise, and its written form is at
/// most 64 octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalPart(String);

impl LocalPart {
    /// Validates a decoded local part: printable ASCII or non-ASCII UTF-8, at most 64 octets
    /// once written.
    pub fn new(s: impl Into<String>) -> Result<LocalPart, PathError> {
        let s = s.into();
        let ok = if s.is_ascii() {
            s.bytes().all(|b| (b' '..=b'~').contains(&b))
        } else {
            s.chars()
                .all(|c| matches!(c, ' '..='~') || !c.is_ascii() && !c.is_control())
        };
        if !ok {
            return Err(PathError::Syntax("invalid character in local part"));
        }
        let lp = LocalPart(s);
        if lp.wire_len() > MAX_LOCAL {
            return Err(PathError::LocalPartTooLong);
        }
        Ok(lp)
    }

    /// The decoded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    fn is_dot_string(&self) -> bool {
        let b = self.0.as_bytes();
        if b.is_empty() || b[0] == b'.' || b[b.len() - 1] == b'.' {
            return false;
        }
        if self.0.is_ascii() {
            return b.iter().all(|&c| ATEXT[c as usize] || c == b'.')
                && !b.windows(2).any(|w| w == b"..");
        }
        self.0
            .split('.')
            .all(|a| !a.is_empty() && a.chars().all(is_atext))
    }

    fn wire_len(&self) -> usize {
        if self.is_dot_string() {
            self.0.len()
        } else {
            2 + self.0.len() + self.0.bytes().filter(|b| *b == b'"' || *b == b'\\').count()
        }
    }
}

impl fmt::Display for LocalPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_dot_string() {
            return f.write_str(&self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

/// A mailbox, `local-part@host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The local part.
    pub local: LocalPart,
    /// The domain or address literal.
    pub host: Host,
}

impl Mailbox {
    /// Parses `local@domain` (no angle brackets) in full.
    pub fn parse(s: &str) -> Result<Mailbox, PathError> {
        let mut p = Cursor { s, pos: 0 };
        let m = p.mailbox()?;
        if p.pos != s.len() {
            return Err(PathError::Syntax("trailing characters after mailbox"));
        }
        Ok(m.to_mailbox())
    }

    /// Whether the mailbox is all ASCII.
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.host.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.host)
    }
}

/// The argument of MAIL FROM: a mailbox, or the null path `<>` of bounces (RFC 5321 §4.5.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`.
    Null,
    /// `<mailbox>`.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// Parses a complete `<…>` path.
    pub fn parse(s: &str) -> Result<ReversePath, PathError> {
        let (p, n) = parse_path_ref(s)?;
        if n != s.len() {
            return Err(PathError::Syntax("trailing characters after path"));
        }
        match p {
            RawPathRef::Null => Ok(ReversePath::Null),
            RawPathRef::Mailbox(m) => Ok(ReversePath::Mailbox(m.to_mailbox())),
            RawPathRef::Postmaster => Err(PathError::Syntax("mailbox without domain")),
        }
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePath::Null => true,
            ReversePath::Mailbox(m) => m.is_ascii(),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of RCPT TO: a mailbox, or `<Postmaster>` without a domain (RFC 5321 §4.1.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<Postmaster>` (any case), which every server must accept.
    Postmaster,
    /// `<mailbox>`.
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// Parses a complete `<…>` path.
    pub fn parse(s: &str) -> Result<ForwardPath, PathError> {
        let (p, n) = parse_path_ref(s)?;
        if n != s.len() {
            return Err(PathError::Syntax("trailing characters after path"));
        }
        match p {
            RawPathRef::Null => Err(PathError::Syntax("null forward-path")),
            RawPathRef::Postmaster => Ok(ForwardPath::Postmaster),
            RawPathRef::Mailbox(m) => Ok(ForwardPath::Mailbox(m.to_mailbox())),
        }
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.is_ascii(),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> Result<ReversePath, PathError> {
        ReversePath::parse(s)
    }

    #[test]
    fn paths() {
        assert_eq!(rp("<>"), Ok(ReversePath::Null));
        let m = rp("<@a.example,@b.example:joe@c.example>").unwrap();
        assert_eq!(m.to_string(), "<joe@c.example>");
        assert_eq!(
            ForwardPath::parse("<POSTMASTER>"),
            Ok(ForwardPath::Postmaster)
        );
        assert!(rp("<postmaster>").is_err());
        let q = rp("<\"joe \\\"x\\\" smith\"@[192.0.2.1]>").unwrap();
        assert_eq!(q.to_string(), "<\"joe \\\"x\\\" smith\"@[192.0.2.1]>");
        let v6 = ForwardPath::parse("<a@[IPv6:2001:db8::1]>").unwrap();
        assert_eq!(v6.to_string(), "<a@[IPv6:2001:db8::1]>");
        assert!(rp("<a@[300.1.1.1]>").is_err());
        assert!(rp("<a..b@x>").is_err());
        assert!(rp("<a@-x.example>").is_err());
        assert!(rp("a@x").is_err());
        assert!(!rp("<jöe@exämple.de>").unwrap().is_ascii());
        assert_eq!(rp("<\"a\"@x>").unwrap().to_string(), "<a@x>");
        // Regression (proptest): multi-byte characters where `postmaster>` would end.
        assert!(rp("<éééééé@x.example>").is_ok());
        assert!(ForwardPath::parse("<ééééé@x.example>").is_ok());
    }

    /// The byte-by-byte check this module used before the table-driven one; the two must
    /// agree on every input, errors included.
    fn reference_validate_domain(s: &str) -> Result<(), PathError> {
        if s.is_empty() {
            return Err(PathError::Syntax("empty domain"));
        }
        if s.len() > MAX_DOMAIN {
            return Err(PathError::DomainTooLong);
        }
        // The common case in one pass over the bytes; UTF-8 (U-labels) takes the slow path.
        let mut label = 0;
        let mut prev = b'.';
        for &c in s.as_bytes() {
            match c {
                b'.' => {
                    if label == 0 {
                        return Err(PathError::Syntax("empty domain label"));
                    }
                    if prev == b'-' {
                        return Err(PathError::Syntax("invalid character in domain"));
                    }
                    label = 0;
                }
                b'-' if label == 0 => return Err(PathError::Syntax("invalid character in domain")),
                b'-' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                    label += 1;
                    if label > MAX_LABEL {
                        return Err(PathError::DomainTooLong);
                    }
                }
                0x80.. => return validate_utf8_domain(s),
                _ => return Err(PathError::Syntax("invalid character in domain")),
            }
            prev = c;
        }
        if label == 0 {
            return Err(PathError::Syntax("empty domain label"));
        }
        if prev == b'-' {
            return Err(PathError::Syntax("invalid character in domain"));
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn domain_check_matches_reference(s in "[a-c0-9.\\-_é]{0,80}|([a-z\\-]{0,70}\\.){0,5}[a-z\\-]{0,70}") {
            proptest::prop_assert_eq!(validate_domain(&s), reference_validate_domain(&s));
        }
    }

    #[test]
    fn limits() {
        let l64 = "a".repeat(64);
        assert!(rp(&format!("<{l64}@x.example>")).is_ok());
        assert_eq!(
            rp(&format!("<a{l64}@x.example>")),
            Err(PathError::LocalPartTooLong)
        );
        let label = "b".repeat(63);
        let d = [label.as_str(); 4].join(".");
        assert_eq!(d.len(), 255);
        assert!(Domain::new(d.clone()).is_ok());
        assert_eq!(Domain::new(format!("{d}x")), Err(PathError::DomainTooLong));
        assert_eq!(Domain::new("x".repeat(64)), Err(PathError::DomainTooLong));
        // 64 + 1 + 200 + 2 > 256
        let long = format!("<{l64}@{}example>", "c.".repeat(95));
        assert_eq!(rp(&long), Err(PathError::PathTooLong));
    }
}
