//! Envelope addresses as routing sees them: split into local part and domain, with the
//! classic relay tricks recognised rather than interpreted.
//!
//! RFC 5321 §4.1.2 `Path`/`Mailbox`: a local part is a dot-string or a quoted string, a
//! domain is a host name or an address literal (§4.1.3). Source routes (`@a,@b:user@c`) are
//! obsolete and "MUST" be accepted but "SHOULD" be ignored (§4.1.1.3, Appendix C); the percent
//! hack (`user%other@here`), bang paths (`other!user@here`) and an `@` hidden in the local part
//! (`"user@other"@here`, `user@other@here`) are old ways of asking a host to relay. They are
//! parsed here and reported as [`Trick`]s, so relay control ([`crate::policy`]) can refuse them
//! from outsiders and a trusted client can still use them.

/// A relay trick found in an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trick {
    /// A source route `@a,@b:` before the mailbox (RFC 5321 Appendix C).
    SourceRoute,
    /// The percent hack: `%` in the local part.
    Percent,
    /// A bang path: `!` in the local part (UUCP).
    Bang,
    /// An `@` inside the local part (quoted, or a second unquoted `@`).
    At,
}

/// Why an address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The address is empty or has an empty local part.
    #[error("empty address or local part")]
    Empty,
    /// The address is longer than the limits of RFC 5321 §4.5.3.1.
    #[error("address too long")]
    TooLong,
    /// A quoted local part is not closed, or has text after the closing quote.
    #[error("bad quoted local part")]
    BadQuote,
    /// The domain is empty or not a valid host name or address literal.
    #[error("bad domain: {0:?}")]
    BadDomain(String),
    /// Control characters or spaces outside a quoted string.
    #[error("invalid character in address")]
    BadChar,
}

/// An envelope address split for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The local part, unquoted (`"a b"@x` gives `a b`).
    pub local: String,
    /// The domain, lower-cased; `None` for the bare `postmaster` of RFC 5321 §4.1.1.3.
    pub domain: Option<String>,
    /// Whether the local part was quoted.
    pub quoted: bool,
    /// The source route that was stripped, if any.
    pub route: Option<String>,
}

/// The longest address accepted (RFC 5321 §4.5.3.1.3 path limit).
pub const MAX_ADDRESS: usize = 256;

impl Address {
    /// Parses an envelope address (angle brackets optional).
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        let s = s.trim();
        let s = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .unwrap_or(s);
        if s.len() > MAX_ADDRESS {
            return Err(AddressError::TooLong);
        }
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        let (route, rest) = if s.starts_with('@') {
            match s.find(':') {
                Some(i) => (Some(s[..i].to_owned()), &s[i + 1..]),
                None => return Err(AddressError::BadDomain(s.to_owned())),
            }
        } else {
            (None, s)
        };
        let (local, domain, quoted) = if let Some(q) = rest.strip_prefix('"') {
            let mut local = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, c)) => local.push(c),
                        None => return Err(AddressError::BadQuote),
                    },
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c if c.is_control() => return Err(AddressError::BadChar),
                    c => local.push(c),
                }
            }
            let after = &q[end.ok_or(AddressError::BadQuote)?..];
            let domain = match after {
                "" => None,
                a => Some(a.strip_prefix('@').ok_or(AddressError::BadQuote)?),
            };
            (local, domain, true)
        } else {
            match rest.rfind('@') {
                Some(i) => (rest[..i].to_owned(), Some(&rest[i + 1..]), false),
                None => (rest.to_owned(), None, false),
            }
        };
        if local.is_empty() {
            return Err(AddressError::Empty);
        }
        if !quoted
            && local
                .chars()
                .any(|c| c.is_control() || c == ' ' || c == '"')
        {
            return Err(AddressError::BadChar);
        }
        let domain = match domain {
            Some(d) => Some(check_domain(d)?),
            None => None,
        };
        Ok(Address {
            local,
            domain,
            quoted,
            route,
        })
    }

    /// The relay tricks this address uses.
    pub fn tricks(&self) -> Vec<Trick> {
        let mut t = Vec::new();
        if self.route.is_some() {
            t.push(Trick::SourceRoute);
        }
        if self.local.contains('%') {
            t.push(Trick::Percent);
        }
        if self.local.contains('!') {
            t.push(Trick::Bang);
        }
        if self.local.contains('@') {
            t.push(Trick::At);
        }
        t
    }

    /// Where the address really asks mail to go once its tricks are honoured: `u%o@here` →
    /// `u@o`, `o!u@here` → `u@o`, `"u@o"@here` → `u@o`; `None` when it uses no trick (a
    /// source route alone is ignored, as RFC 5321 Appendix C says).
    pub fn relay_target(&self) -> Option<Address> {
        let inner = if let Some(i) = self.local.rfind('@') {
            Some((&self.local[..i], &self.local[i + 1..]))
        } else if let Some(i) = self.local.rfind('%') {
            Some((&self.local[..i], &self.local[i + 1..]))
        } else {
            self.local
                .find('!')
                .map(|i| (&self.local[i + 1..], &self.local[..i]))
        }?;
        Address::parse(&format!("{}@{}", inner.0, inner.1)).ok()
    }

    /// The local part lower-cased, as lookups use it.
    pub fn local_key(&self) -> String {
        self.local.to_lowercase()
    }

    /// `local@domain` (or the bare local part), quoting the local part when it needs it.
    pub fn to_addr_string(&self) -> String {
        let needs_quote = self.local.is_empty()
            || self.local.starts_with('.')
            || self.local.ends_with('.')
            || self.local.contains("..")
            || self
                .local
                .chars()
                .any(|c| c.is_ascii() && !is_atext(c) && c != '.');
        let local = if needs_quote {
            let mut q = String::from("\"");
            for c in self.local.chars() {
                if c == '"' || c == '\\' {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('"');
            q
        } else {
            self.local.clone()
        };
        match &self.domain {
            Some(d) => format!("{local}@{d}"),
            None => local,
        }
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Checks and lower-cases a domain: a host name of letter-digit-hyphen labels (non-ASCII
/// allowed for SMTPUTF8, RFC 6531) or an address literal `[…]`.
pub fn check_domain(d: &str) -> Result<String, AddressError> {
    let bad = || AddressError::BadDomain(d.chars().take(80).collect());
    if d.is_empty() || d.len() > 255 {
        return Err(bad());
    }
    if let Some(lit) = d.strip_prefix('[') {
        let lit = lit.strip_suffix(']').ok_or_else(bad)?;
        let ok = if let Some(v6) = lit.strip_prefix("IPv6:") {
            v6.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            lit.parse::<std::net::Ipv4Addr>().is_ok()
        };
        return if ok { Ok(d.to_owned()) } else { Err(bad()) };
    }
    for label in d.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
        {
            return Err(bad());
        }
    }
    Ok(d.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_and_quoted() {
        let a = Address::parse("<Alice@Example.ORG>").unwrap();
        assert_eq!(
            (a.local.as_str(), a.domain.as_deref()),
            ("Alice", Some("example.org"))
        );
        let q = Address::parse("\"a b\\\"c\"@x.org").unwrap();
        assert_eq!(q.local, "a b\"c");
        assert!(q.quoted);
        assert_eq!(q.to_addr_string(), "\"a b\\\"c\"@x.org");
        assert_eq!(Address::parse("postmaster").unwrap().domain, None);
    }

    #[test]
    fn tricks_and_their_targets() {
        let cases = [
            ("user%other.net@local.org", Trick::Percent),
            ("user@other.net@local.org", Trick::At),
            ("\"user@other.net\"@local.org", Trick::At),
            ("other.net!user@local.org", Trick::Bang),
        ];
        for (s, trick) in cases {
            let a = Address::parse(s).unwrap();
            assert_eq!(a.tricks(), [trick], "{s}");
            let t = a.relay_target().unwrap();
            assert_eq!(t.to_addr_string(), "user@other.net", "{s}");
        }
        let r = Address::parse("@local.org:user@other.net").unwrap();
        assert_eq!(r.tricks(), [Trick::SourceRoute]);
        assert_eq!(r.domain.as_deref(), Some("other.net"));
    }

    #[test]
    fn refuses_odd_domains() {
        for s in [
            "a@",
            "a@.x",
            "a@x..y",
            "a@-x.org",
            "a@x.org.",
            "a@[1.2.3]",
            "a@x_y.org",
            "\"a@x",
            "@x",
            "a b@x.org",
            "",
        ] {
            assert!(Address::parse(s).is_err(), "{s:?}");
        }
        assert!(Address::parse("a@[192.0.2.1]").is_ok());
        assert!(Address::parse("a@[IPv6:2001:db8::1]").is_ok());
    }
}
