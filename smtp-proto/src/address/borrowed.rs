//! Paths borrowed from the command line: the one path parser, which the owned types are built
//! from.
//!
//! RFC 5321 §4.1.2 (`Path`, `Mailbox`, `Local-part` as `Dot-string` or `Quoted-string`,
//! `address-literal`), §4.1.1.3 (the obsolete source route, read and dropped) and §4.5.3.1
//! (local part 64, domain 255, path 256 octets). Everything is checked here, once, without
//! allocating; turning a [`MailboxRef`] into a [`Mailbox`] only copies (and unquotes) text
//! that is already known to be valid, so the owned parse and the borrowed one can never
//! disagree.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    AddressLiteral, DOMAIN_CLASS, DOT, DOT_ATEXT, Domain, ForwardPath, Host, LDH, LocalPart,
    MAX_DOMAIN, MAX_LABEL, MAX_LOCAL, MAX_PATH, Mailbox, ReversePath, is_atext, validate_domain,
};
use crate::error::PathError;

/// An address literal as read, before anything is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiteralRef<'a> {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    General { tag: &'a str, content: &'a str },
}

impl<'a> LiteralRef<'a> {
    /// Parses the text between the brackets (RFC 5321 §4.1.3).
    pub(crate) fn parse(s: &'a str) -> Result<LiteralRef<'a>, PathError> {
        if let Some((tag, content)) = crate::split::split_once(s, b':') {
            if tag.eq_ignore_ascii_case("IPv6") {
                return content
                    .parse()
                    .map(LiteralRef::Ipv6)
                    .map_err(|_| PathError::Syntax("invalid IPv6 literal"));
            }
            let tag_ok = !tag.is_empty()
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !tag.ends_with('-');
            let content_ok =
                !content.is_empty() && content.bytes().all(|b| matches!(b, 33..=90 | 94..=126));
            if tag_ok && content_ok {
                return Ok(LiteralRef::General { tag, content });
            }
            return Err(PathError::Syntax("invalid general address literal"));
        }
        // `Snum` is 1*3DIGIT; std's parser also refuses leading zeros, which keeps the value
        // and its text one-to-one.
        s.parse()
            .map(LiteralRef::Ipv4)
            .map_err(|_| PathError::Syntax("invalid IPv4 literal"))
    }

    pub(crate) fn to_owned_literal(self) -> AddressLiteral {
        match self {
            LiteralRef::Ipv4(a) => AddressLiteral::Ipv4(a),
            LiteralRef::Ipv6(a) => AddressLiteral::Ipv6(a),
            LiteralRef::General { tag, content } => AddressLiteral::General {
                tag: tag.to_owned(),
                content: content.to_owned(),
            },
        }
    }
}

/// Checks a domain or a bracketed address literal (the rules of [`Host::parse`]) without
/// copying it. A domain never starts with `[`, so the text alone tells the two apart later.
pub(crate) fn check_host(s: &str) -> Result<(), PathError> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or(PathError::Syntax("unterminated address literal"))?;
        LiteralRef::parse(inner).map(|_| ())
    } else {
        validate_domain(s)
    }
}

/// The owned [`Host`] of text [`check_host`] accepted.
pub(crate) fn checked_host(s: &str) -> Host {
    let literal = s
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .map(LiteralRef::parse);
    match literal {
        Some(Ok(l)) => Host::Literal(l.to_owned_literal()),
        // Only a domain gets here once `check_host` passed.
        _ => {
            debug_assert!(validate_domain(s).is_ok(), "unchecked host {s:?}");
            Host::Domain(Domain(s.to_owned()))
        }
    }
}

/// A mailbox (`local-part@host`) borrowed from the line it was read from, checked in full.
/// [`MailboxRef::to_mailbox`] copies it into a [`Mailbox`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxRef<'a> {
    /// The local part as written: a `Dot-string`, or a `Quoted-string` with its quotes.
    local: &'a str,
    /// The checked domain or address literal as written. Text only, no parsed literal: a
    /// smaller command is moved faster, and literals are rare.
    host: &'a str,
}

impl<'a> MailboxRef<'a> {
    /// The local part as written on the wire: a `Dot-string`, or a `Quoted-string` with its
    /// quotes and backslashes.
    pub fn local_as_written(&self) -> &'a str {
        self.local
    }

    /// The local part decoded (without quotes or backslashes), as [`LocalPart::as_str`] holds
    /// it; borrowed unless it was quoted.
    pub fn local_part(&self) -> Cow<'a, str> {
        match self.local.strip_prefix('"') {
            Some(q) => Cow::Owned(unquote(q.strip_suffix('"').unwrap_or(q))),
            None => Cow::Borrowed(self.local),
        }
    }

    /// The domain or address literal as written (a literal with its brackets).
    pub fn host_as_written(&self) -> &'a str {
        self.host
    }

    /// Whether the mailbox is all ASCII.
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.host.is_ascii()
    }

    /// The owned mailbox: the same value [`Mailbox::parse`] gives for this text.
    pub fn to_mailbox(&self) -> Mailbox {
        let local = match self.local_part() {
            Cow::Borrowed(s) => s.to_owned(),
            Cow::Owned(s) => s,
        };
        // Checked while reading: a dot-string is its own written form, and a quoted string
        // that fitted in 64 octets writes back no longer (see `Cursor::mailbox`).
        Mailbox {
            local: LocalPart(local),
            host: checked_host(self.host),
        }
    }
}

/// The body of a `Quoted-string` (without its quotes) with each quoted-pair replaced by its
/// character.
fn unquote(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut escaped = false;
    for c in q.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// The argument of MAIL FROM, borrowed: `<>` or a mailbox (RFC 5321 §4.1.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversePathRef<'a> {
    /// `<>`.
    Null,
    /// `<mailbox>`.
    Mailbox(MailboxRef<'a>),
}

impl ReversePathRef<'_> {
    /// The owned path.
    pub fn to_reverse_path(&self) -> ReversePath {
        match self {
            ReversePathRef::Null => ReversePath::Null,
            ReversePathRef::Mailbox(m) => ReversePath::Mailbox(m.to_mailbox()),
        }
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePathRef::Null => true,
            ReversePathRef::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// The argument of RCPT TO, borrowed: `<Postmaster>` or a mailbox (RFC 5321 §4.1.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardPathRef<'a> {
    /// `<Postmaster>` (any case).
    Postmaster,
    /// `<mailbox>`.
    Mailbox(MailboxRef<'a>),
}

impl ForwardPathRef<'_> {
    /// The owned path.
    pub fn to_forward_path(&self) -> ForwardPath {
        match self {
            ForwardPathRef::Postmaster => ForwardPath::Postmaster,
            ForwardPathRef::Mailbox(m) => ForwardPath::Mailbox(m.to_mailbox()),
        }
    }

    /// Whether it is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPathRef::Postmaster => true,
            ForwardPathRef::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// A path as read, before MAIL or RCPT decides which forms it allows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawPathRef<'a> {
    Null,
    Postmaster,
    Mailbox(MailboxRef<'a>),
}

/// Parses a path at the start of `s`: `<>`, `<postmaster>` or `<[A-d-l:]mailbox>`. Returns it
/// and the number of bytes read.
///
/// Inlined, like [`Cursor::mailbox`], so the result stays in registers: returned through
/// memory, it was stored in pieces and loaded back whole, a store-forwarding stall that cost
/// more than the whole parse.
#[inline(always)]
pub(crate) fn parse_path_ref(s: &str) -> Result<(RawPathRef<'_>, usize), PathError> {
    let mut p = Cursor { s, pos: 0 };
    if !p.eat(b'<') {
        return Err(PathError::Syntax("path must start with <"));
    }
    if p.eat(b'>') {
        return Ok((RawPathRef::Null, 2));
    }
    if s.as_bytes().get(p.pos) == Some(&b'@') {
        // A-d-l: @one,@two: — read and dropped (RFC 5321 §4.1.1.3, Appendix C).
        loop {
            if !p.eat(b'@') {
                return Err(PathError::Syntax("bad source route"));
            }
            let start = p.pos;
            p.take_while(|c| c != ',' && c != ':' && c != '>');
            validate_domain(&s[start..p.pos])?;
            if p.eat(b':') {
                break;
            }
            if !p.eat(b',') {
                return Err(PathError::Syntax("bad source route"));
            }
        }
    }
    let rest = &s.as_bytes()[p.pos..];
    // Compared as bytes: `rest` may hold UTF-8, and 11 bytes in need not be a char boundary.
    if rest.len() >= 11 && rest[0] | 0x20 == b'p' && rest[..11].eq_ignore_ascii_case(b"postmaster>")
    {
        let n = p.pos + 11;
        return if n > MAX_PATH {
            Err(PathError::PathTooLong)
        } else {
            Ok((RawPathRef::Postmaster, n))
        };
    }
    let m = p.mailbox()?;
    if !p.eat(b'>') {
        return Err(PathError::Syntax("path must end with >"));
    }
    if p.pos > MAX_PATH {
        return Err(PathError::PathTooLong);
    }
    Ok((RawPathRef::Mailbox(m), p.pos))
}

/// The length of the valid ASCII domain at the start of `b`, ended by `>`, a space or the
/// end, found and checked in one pass; `None` for anything else (an error, UTF-8), which the
/// careful path reads again to give the exact error. On a short domain this is several
/// times faster than finding its end with `memchr2` and checking it afterwards.
#[inline]
fn clean_domain(b: &[u8]) -> Option<usize> {
    let mut label = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match DOMAIN_CLASS[c as usize] {
            LDH => {}
            DOT => {
                if !clean_label(&b[label..i]) {
                    return None;
                }
                label = i + 1;
            }
            _ if c == b'>' || c == b' ' => break,
            _ => return None,
        }
        i += 1;
    }
    (i <= MAX_DOMAIN && clean_label(&b[label..i])).then_some(i)
}

#[inline]
fn clean_label(l: &[u8]) -> bool {
    matches!(l, [first, .., last] | [first @ last] if *first != b'-' && *last != b'-')
        && l.len() <= MAX_LABEL
}

pub(crate) struct Cursor<'a> {
    pub(crate) s: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    /// Takes the ASCII octet `c` if it comes next. Compared as a byte: decoding a `char`
    /// first cost a call per delimiter.
    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        if self.s.as_bytes().get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    /// Reads `Local-part "@" ( Domain / address-literal )`.
    #[inline(always)]
    pub(crate) fn mailbox(&mut self) -> Result<MailboxRef<'a>, PathError> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        if self.eat(b'"') {
            // Checked only: the decoded text is made when (if) an owned value is wanted. Every
            // character allowed here is one `LocalPart::new` allows, and the canonical written
            // form of the decoded text is never longer than this one (only `"` and `\` are
            // escaped, and they must have been escaped here too), so the 64-octet check on the
            // written form below is the one `LocalPart::new` would make.
            loop {
                match bytes.get(self.pos) {
                    None => return Err(PathError::Syntax("unterminated quoted string")),
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        self.pos += 1;
                        match bytes.get(self.pos) {
                            Some(b' '..=b'~') => self.pos += 1,
                            _ => return Err(PathError::Syntax("bad quoted-pair")),
                        }
                    }
                    Some(b' ' | b'!' | b'#'..=b'[' | b']'..=b'~') => self.pos += 1,
                    Some(0x80..) => match self.peek() {
                        Some(c) if !c.is_control() => self.pos += c.len_utf8(),
                        _ => {
                            return Err(PathError::Syntax("invalid character in quoted string"));
                        }
                    },
                    Some(_) => return Err(PathError::Syntax("invalid character in quoted string")),
                }
            }
            if self.pos - start > MAX_LOCAL {
                return Err(PathError::LocalPartTooLong);
            }
        } else {
            // ASCII first, one table lookup a byte, with the dots judged on the way (none
            // first, none doubled); UTF-8 (RFC 6531) continues below.
            // A local count, not `self.pos`: the field lives in memory, and a store and load
            // per octet made this loop wait on itself.
            let mut after_dot = true;
            let mut bad_dot = false;
            let mut n = 0;
            for &b in &bytes[self.pos..] {
                if !DOT_ATEXT[b as usize] {
                    break;
                }
                let dot = b == b'.';
                bad_dot |= dot & after_dot;
                after_dot = dot;
                n += 1;
            }
            self.pos += n;
            while let Some(&b) = bytes.get(self.pos) {
                if b < 0x80 {
                    if !DOT_ATEXT[b as usize] {
                        break;
                    }
                    let dot = b == b'.';
                    bad_dot |= dot & after_dot;
                    after_dot = dot;
                    self.pos += 1;
                } else {
                    match self.peek() {
                        Some(c) if is_atext(c) => {
                            self.pos += c.len_utf8();
                            after_dot = false;
                        }
                        _ => break,
                    }
                }
            }
            // Empty, or ending in a dot (`after_dot` starts true for the empty case).
            if bad_dot || after_dot {
                return Err(PathError::Syntax("invalid local part"));
            }
        }
        if self.pos - start > MAX_LOCAL {
            return Err(PathError::LocalPartTooLong);
        }
        let local = &self.s[start..self.pos];
        if !self.eat(b'@') {
            return Err(PathError::Syntax("missing @ in mailbox"));
        }
        let hstart = self.pos;
        if bytes.get(self.pos) == Some(&b'[') {
            self.take_while(|c| c != ']' && c != '>');
            if !self.eat(b']') {
                return Err(PathError::Syntax("unterminated address literal"));
            }
        } else if let Some(n) = clean_domain(&bytes[self.pos..]) {
            self.pos += n;
            return Ok(MailboxRef {
                local,
                host: &self.s[hstart..self.pos],
            });
        } else {
            let rest = &bytes[self.pos..];
            self.pos += memchr::memchr2(b'>', b' ', rest).unwrap_or(rest.len());
        }
        let host = &self.s[hstart..self.pos];
        check_host(host)?;
        Ok(MailboxRef { local, host })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_mailbox_reads_back() {
        let (p, n) = parse_path_ref("<\"a\\\"b c\"@[IPv6:2001:db8::1]> SIZE=1").unwrap();
        assert_eq!(n, 29);
        let RawPathRef::Mailbox(m) = p else {
            panic!("{p:?}")
        };
        assert_eq!(m.local_as_written(), "\"a\\\"b c\"");
        assert_eq!(m.local_part(), "a\"b c");
        assert_eq!(m.host_as_written(), "[IPv6:2001:db8::1]");
        assert_eq!(
            m.to_mailbox().to_string(),
            "\"a\\\"b c\"@[IPv6:2001:db8::1]"
        );
        let (p, _) = parse_path_ref("<jo.e@Example.ORG>").unwrap();
        let RawPathRef::Mailbox(m) = p else {
            panic!("{p:?}")
        };
        assert!(matches!(m.local_part(), Cow::Borrowed("jo.e")));
        assert_eq!(m.to_mailbox(), Mailbox::parse("jo.e@Example.ORG").unwrap());
    }
}
