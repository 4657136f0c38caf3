//! Message file names: `<unique>[,S=<size>][,W=<vsize>][:2,<flags>[,<extra>]]`.
//!
//! - The unique part follows maildir.txt "How are unique names created?":
//!   `<secs>.M<usecs>P<pid>Q<n>.<host>`, with `/` and `:` in the host name written as `\057` and
//!   `\072`.
//! - `,S=<size>` is the Maildir++ size field (maildirquota, "Delivering to a Maildir++" step 1)
//!   and `,W=<vsize>` Dovecot's RFC 822 size (the size with every line ending as CRLF), so a
//!   reader needs no `stat()` and no read to answer `RFC822.SIZE`.
//! - The info suffix after `:` is `2,` and the flags in ASCII order (maildir.txt, "What can I
//!   put in info?"); Dovecot's non-standard fields after a further `,` are kept untouched.
//!   Any other info (`1,…`, experimental) is kept verbatim.
//!
//! The *base* of a name (everything before `:`) never changes while the message lives; it is
//! the key by which a message renamed by another program is found again.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Flags;
use crate::error::ParseError;

/// The info part of a message name, after the `:`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Info {
    /// No info at all (a message still in `new/`).
    None,
    /// `2,<flags>` and, if present, Dovecot's non-standard fields after a `,`.
    Flags {
        /// The flags.
        flags: Flags,
        /// Text after the comma that ends the flags (without that comma), kept verbatim.
        extra: Option<String>,
    },
    /// Any other info (`1,…` or unknown), kept verbatim.
    Other(String),
}

/// A parsed message file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageName {
    base: String,
    info: Info,
}

/// The longest file name accepted (the common `NAME_MAX` of Linux file systems).
pub const MAX_NAME_LEN: usize = 255;

impl MessageName {
    /// Parses a file name from `new/` or `cur/`. A name that starts with `.`, is empty, too
    /// long, or holds `/` or NUL is not a message (maildir.txt: a unique name "doesn't contain
    /// a colon (or slash) and doesn't start with a dot").
    pub fn parse(name: &str) -> Result<MessageName, ParseError> {
        let (base_len, _) = scan(name)?;
        let info = match name.get(base_len + 1..) {
            None => Info::None,
            Some(rest) => parse_info(rest),
        };
        Ok(MessageName {
            base: name[..base_len].to_owned(),
            info,
        })
    }

    /// Builds a name from a base (which must satisfy [`MessageName::parse`] and hold no `:`)
    /// and info.
    pub fn new(base: &str, info: Info) -> Result<MessageName, ParseError> {
        let parsed = MessageName::parse(base)?;
        if parsed.info != Info::None {
            return Err(ParseError::Syntax {
                line: 1,
                what: "base holds ':'",
            });
        }
        Ok(MessageName {
            base: parsed.base,
            info,
        })
    }

    /// The base: everything before `:`. Unchanged by flag changes.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The info part.
    #[must_use]
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The flags; empty when there is no `2,` info.
    #[must_use]
    pub fn flags(&self) -> Flags {
        match &self.info {
            Info::Flags { flags, .. } => *flags,
            _ => Flags::EMPTY,
        }
    }

    /// This name with other flags, keeping Dovecot's extra fields. Unknown info is replaced:
    /// a message whose flags are set is a `2,` message from then on.
    #[must_use]
    pub fn with_flags(&self, flags: Flags) -> MessageName {
        let extra = match &self.info {
            Info::Flags { extra, .. } => extra.clone(),
            _ => None,
        };
        MessageName {
            base: self.base.clone(),
            info: Info::Flags { flags, extra },
        }
    }

    /// The size from the `,S=` field of the base, when present.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        base_field(&self.base, "S=")
    }

    /// The RFC 822 size (CRLF line endings) from the `,W=` field of the base, when present.
    #[must_use]
    pub fn vsize(&self) -> Option<u64> {
        base_field(&self.base, "W=")
    }
}

impl fmt::Display for MessageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)?;
        match &self.info {
            Info::None => Ok(()),
            Info::Flags { flags, extra } => {
                write!(f, ":2,{flags}")?;
                match extra {
                    Some(extra) => write!(f, ",{extra}"),
                    None => Ok(()),
                }
            }
            Info::Other(s) => write!(f, ":{s}"),
        }
    }
}

/// Validates a file name without allocating; returns the base length and the flags (empty
/// when the info is not `2,` flags). The listing of a large folder goes through here.
pub(crate) fn scan(name: &str) -> Result<(usize, Flags), ParseError> {
    let bad = |what| Err(ParseError::Syntax { line: 1, what });
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return bad("empty or too long file name");
    }
    let bytes = name.as_bytes();
    if bytes[0] == b'.' || memchr::memchr2(b'/', 0, bytes).is_some() {
        return bad("file name starts with a dot or holds / or NUL");
    }
    let (base_len, flags) = match memchr::memchr(b':', bytes) {
        None => (name.len(), Flags::EMPTY),
        Some(colon) => {
            let rest = &name[colon + 1..];
            let flags = rest
                .strip_prefix("2,")
                .and_then(|t| Flags::parse(t.split(',').next().unwrap_or("")))
                .unwrap_or(Flags::EMPTY);
            (colon, flags)
        }
    };
    if base_len == 0 {
        return bad("empty unique name");
    }
    Ok((base_len, flags))
}

fn parse_info(rest: &str) -> Info {
    if let Some(tail) = rest.strip_prefix("2,") {
        let (flags, extra) = match tail.split_once(',') {
            Some((flags, extra)) => (flags, Some(extra.to_owned())),
            None => (tail, None),
        };
        if let Some(flags) = Flags::parse(flags) {
            // Unsorted or repeated flags written by other programs are read leniently; they
            // are written in ASCII order on the next flag change, as the specification asks.
            // Callers keep the on-disk name for opening (see `Entry::file_name`).
            return Info::Flags { flags, extra };
        }
    }
    Info::Other(rest.to_owned())
}

pub(crate) fn base_field(base: &str, key: &str) -> Option<u64> {
    base.split(',').skip(1).find_map(|field| {
        let digits = field.strip_prefix(key)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    })
}

/// Escapes a host name for the right part of a unique name: `/` → `\057`, `:` → `\072`
/// (maildir.txt), and `,` → `\054` so that the host can never be read as a `,S=` field.
#[must_use]
pub fn escape_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    for c in host.chars() {
        match c {
            '/' => out.push_str("\\057"),
            ':' => out.push_str("\\072"),
            ',' => out.push_str("\\054"),
            c if c.is_ascii_graphic() => out.push(c),
            _ => out.push_str("\\077"),
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

/// The escaped host name of this machine (`uname` nodename), computed once.
pub(crate) fn hostname() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let uname = rustix::system::uname();
        escape_host(&uname.nodename().to_string_lossy())
    })
}

/// Deliveries made by this process, for the `Q<n>` part: together with the pid and the
/// microseconds it makes names unique within one machine.
static DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// A fresh unique name `<secs>.M<usecs>P<pid>Q<n>.<host>` for `now`.
#[must_use]
pub fn unique_base(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = DELIVERIES.fetch_add(1, Ordering::Relaxed) + 1;
    format!(
        "{}.M{}P{}Q{}.{}",
        since.as_secs(),
        since.subsec_micros(),
        std::process::id(),
        n,
        hostname()
    )
}

/// Counts a message's size and its RFC 822 size (every bare LF counted as CRLF) while it
/// streams through, so the `,S=` and `,W=` fields need no second pass.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SizeCounter {
    pub(crate) size: u64,
    pub(crate) vsize: u64,
    last_was_cr: bool,
}

impl SizeCounter {
    pub(crate) fn update(&mut self, chunk: &[u8]) {
        let mut prev_cr = self.last_was_cr;
        let mut bare_lf = 0u64;
        for &b in chunk {
            if b == b'\n' && !prev_cr {
                bare_lf += 1;
            }
            prev_cr = b == b'\r';
        }
        if !chunk.is_empty() {
            self.last_was_cr = prev_cr;
        }
        self.size += chunk.len() as u64;
        self.vsize += chunk.len() as u64 + bare_lf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn parses_dovecot_example() {
        let n = MessageName::parse("1035478339.27041_118.foo.org,S=1000,W=1030:2,S").unwrap();
        assert_eq!(n.base(), "1035478339.27041_118.foo.org,S=1000,W=1030");
        assert_eq!(n.size(), Some(1000));
        assert_eq!(n.vsize(), Some(1030));
        assert_eq!(n.flags(), Flags::SEEN);
        assert_eq!(
            n.to_string(),
            "1035478339.27041_118.foo.org,S=1000,W=1030:2,S"
        );
    }

    #[test]
    fn keeps_extra_and_other_info() {
        let n = MessageName::parse("x:2,STln,Zfoo").unwrap();
        assert_eq!(n.flags().to_string(), "STln");
        let m = n.with_flags(Flags::FLAGGED);
        assert_eq!(m.to_string(), "x:2,F,Zfoo");
        let o = MessageName::parse("x:1,whatever").unwrap();
        assert_eq!(o.info(), &Info::Other("1,whatever".into()));
        assert_eq!(o.to_string(), "x:1,whatever");
        assert_eq!(o.with_flags(Flags::SEEN).to_string(), "x:2,S");
    }

    #[test]
    fn no_size_without_digits() {
        assert_eq!(MessageName::parse("a,S=,W=12x").unwrap().size(), None);
        assert_eq!(MessageName::parse("a,S=,W=12x").unwrap().vsize(), None);
        assert_eq!(MessageName::parse("a.S=5").unwrap().size(), None);
    }

    #[test]
    fn rejects_non_messages() {
        for bad in ["", ".hidden", "a/b", ":2,S", "a\0b"] {
            assert!(MessageName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MessageName::new("a:2,", Info::None).is_err());
    }

    #[test]
    fn unique_names_differ_and_have_the_shape() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        let a = unique_base(t);
        let b = unique_base(t);
        assert_ne!(a, b);
        let pid = std::process::id();
        assert!(a.starts_with(&format!("1700000000.M123456P{pid}Q")), "{a}");
        assert!(!a.contains([':', '/', ',']));
        assert!(MessageName::parse(&a).is_ok());
    }

    #[test]
    fn host_escaping() {
        assert_eq!(escape_host("a/b:c,d"), "a\\057b\\072c\\054d");
        assert_eq!(escape_host(""), "localhost");
    }

    #[test]
    fn vsize_counts_bare_lf_across_chunks() {
        let mut c = SizeCounter::default();
        c.update(b"a\r");
        c.update(b"\nb\n");
        c.update(b"\n");
        assert_eq!(c.size, 6);
        assert_eq!(c.vsize, 8);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn name_round_trip(base in "[A-Za-z0-9_.=,\\\\-]{1,40}", flags in "[A-Za-z]{0,10}",
                           extra in proptest::option::of("[A-Za-z0-9=,]{0,8}")) {
            prop_assume!(!base.starts_with('.'));
            let flags = Flags::parse(&flags).unwrap();
            let n = MessageName::new(&base, Info::Flags { flags, extra }).unwrap();
            let text = n.to_string();
            prop_assert_eq!(MessageName::parse(&text).unwrap(), n);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            if let Ok(n) = MessageName::parse(&s) {
                let again = MessageName::parse(&n.to_string()).unwrap();
                prop_assert_eq!(again, n);
            }
        }

        #[test]
        fn vsize_matches_crlf_conversion(data in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'x')], 0..64), split in 0usize..64) {
            let split = split.min(data.len());
            let mut c = SizeCounter::default();
            c.update(&data[..split]);
            c.update(&data[split..]);
            let mut expect = 0u64;
            for (i, &b) in data.iter().enumerate() {
                expect += 1;
                if b == b'\n' && (i == 0 || data[i - 1] != b'\r') { expect += 1; }
            }
            prop_assert_eq!(c.vsize, expect);
        }
    }
}
