//! Capabilities: the lines of a CAPA answer (RFC 2449 §5, §6), STLS (RFC 2595 §4), SASL
//! (RFC 5034 §3) and UTF8 (RFC 6856 §2).

use super::{is_token, parse_u32};
use crate::ParseError;

/// How long the server keeps messages (RFC 2449 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expire {
    /// `EXPIRE NEVER`: the server does not delete messages.
    Never,
    /// `EXPIRE n`: at least `n` days; `0` means mail may not be left on the server.
    Days(u32),
}

/// One capability line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `TOP` (RFC 2449 §6.1).
    Top,
    /// `USER`: USER/PASS is accepted (RFC 2449 §6.2).
    User,
    /// `SASL mech...` (RFC 2449 §6.3, RFC 5034 §3).
    Sasl(Vec<String>),
    /// `RESP-CODES` (RFC 2449 §6.4).
    RespCodes,
    /// `LOGIN-DELAY seconds [USER]` (RFC 2449 §6.5).
    LoginDelay {
        /// Minimum seconds between logins.
        seconds: u32,
        /// `USER`: the value may differ per user (AUTHORIZATION state only).
        per_user: bool,
    },
    /// `PIPELINING` (RFC 2449 §6.6).
    Pipelining,
    /// `EXPIRE policy [USER]` (RFC 2449 §6.7).
    Expire {
        /// The retention policy.
        policy: Expire,
        /// `USER`: the value may differ per user (AUTHORIZATION state only).
        per_user: bool,
    },
    /// `UIDL` (RFC 2449 §6.8).
    Uidl,
    /// `IMPLEMENTATION text` (RFC 2449 §6.9).
    Implementation(String),
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `UTF8 [USER]` (RFC 6856 §2); `USER` means UTF-8 user names and passwords are accepted.
    Utf8 {
        /// Whether the `USER` argument was present.
        user: bool,
    },
    /// A capability this crate does not know, kept as sent.
    Other {
        /// The tag.
        tag: String,
        /// Its parameters.
        params: Vec<String>,
    },
}

const KNOWN_TAGS: [&str; 11] = [
    "TOP",
    "USER",
    "SASL",
    "RESP-CODES",
    "LOGIN-DELAY",
    "PIPELINING",
    "EXPIRE",
    "UIDL",
    "IMPLEMENTATION",
    "STLS",
    "UTF8",
];

/// Whether `tag` is a `capa-tag` (RFC 2449 §9: printable ASCII but ".") that this crate does
/// not know.
pub(crate) fn is_other_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'.')
        && !KNOWN_TAGS.iter().any(|k| k.eq_ignore_ascii_case(tag))
}

fn per_user(rest: &[&str]) -> Result<bool, ParseError> {
    match rest {
        [] => Ok(false),
        [u] if u.eq_ignore_ascii_case("USER") => Ok(true),
        [_] => Err(ParseError::InvalidArgument("expected USER")),
        _ => Err(ParseError::TooManyArguments),
    }
}

impl Capability {
    /// Parses one capability line without its CRLF.
    pub fn parse(line: &[u8]) -> Result<Capability, ParseError> {
        let s = std::str::from_utf8(line).map_err(|_| ParseError::InvalidCharacters)?;
        if s.is_empty() {
            return Err(ParseError::Empty);
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::InvalidCharacters);
        }
        let (tag, rest) = s.split_once(' ').unwrap_or((s, ""));
        let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
        let none = |c: Capability| {
            if args.is_empty() {
                Ok(c)
            } else {
                Err(ParseError::TooManyArguments)
            }
        };
        match tag.to_ascii_uppercase().as_str() {
            "TOP" => none(Capability::Top),
            "USER" => none(Capability::User),
            "RESP-CODES" => none(Capability::RespCodes),
            "PIPELINING" => none(Capability::Pipelining),
            "UIDL" => none(Capability::Uidl),
            "STLS" => none(Capability::Stls),
            "SASL" => Ok(Capability::Sasl(
                args.iter().map(|m| m.to_ascii_uppercase()).collect(),
            )),
            "IMPLEMENTATION" => Ok(Capability::Implementation(rest.to_owned())),
            "UTF8" => Ok(Capability::Utf8 {
                user: per_user(&args)?,
            }),
            "LOGIN-DELAY" => match args.split_first() {
                Some((n, more)) => Ok(Capability::LoginDelay {
                    seconds: parse_u32(n).ok_or(ParseError::InvalidNumber)?,
                    per_user: per_user(more)?,
                }),
                None => Err(ParseError::MissingArgument("seconds")),
            },
            "EXPIRE" => match args.split_first() {
                Some((p, more)) => Ok(Capability::Expire {
                    policy: if p.eq_ignore_ascii_case("NEVER") {
                        Expire::Never
                    } else {
                        Expire::Days(parse_u32(p).ok_or(ParseError::InvalidNumber)?)
                    },
                    per_user: per_user(more)?,
                }),
                None => Err(ParseError::MissingArgument("days")),
            },
            _ if is_other_tag(tag) => Ok(Capability::Other {
                tag: tag.to_owned(),
                params: args.iter().map(|a| (*a).to_owned()).collect(),
            }),
            _ => Err(ParseError::InvalidArgument("capability tag")),
        }
    }

    /// The line without CRLF.
    pub fn to_line(&self) -> String {
        fn user(on: bool) -> &'static str {
            if on { " USER" } else { "" }
        }
        match self {
            Capability::Top => "TOP".into(),
            Capability::User => "USER".into(),
            Capability::RespCodes => "RESP-CODES".into(),
            Capability::Pipelining => "PIPELINING".into(),
            Capability::Uidl => "UIDL".into(),
            Capability::Stls => "STLS".into(),
            Capability::Sasl(mechs) => std::iter::once("SASL")
                .chain(mechs.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Capability::Implementation(text) if text.is_empty() => "IMPLEMENTATION".into(),
            Capability::Implementation(text) => format!("IMPLEMENTATION {text}"),
            Capability::Utf8 { user: u } => format!("UTF8{}", user(*u)),
            Capability::LoginDelay { seconds, per_user } => {
                format!("LOGIN-DELAY {seconds}{}", user(*per_user))
            }
            Capability::Expire { policy, per_user } => match policy {
                Expire::Never => format!("EXPIRE NEVER{}", user(*per_user)),
                Expire::Days(d) => format!("EXPIRE {d}{}", user(*per_user)),
            },
            Capability::Other { tag, params } => std::iter::once(tag.as_str())
                .chain(params.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Whether the parts of this capability can be written and read back unchanged (no empty
    /// or spaced parameters, a valid tag).
    pub fn is_well_formed(&self) -> bool {
        match self {
            Capability::Sasl(m) => m.iter().all(|m| super::is_valid_mechanism(m)),
            Capability::Implementation(t) => !t.chars().any(char::is_control),
            Capability::Other { tag, params } => {
                is_other_tag(tag) && params.iter().all(|p| is_token(p))
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2449_example_lines() {
        let lines = [
            "TOP",
            "USER",
            "SASL CRAM-MD5 KERBEROS_V4",
            "RESP-CODES",
            "LOGIN-DELAY 900",
            "PIPELINING",
            "EXPIRE 60",
            "UIDL",
            "IMPLEMENTATION Shlemazle-Plotz-v302",
        ];
        for l in lines {
            let c = Capability::parse(l.as_bytes()).unwrap();
            assert!(!matches!(c, Capability::Other { .. }), "{l}");
            assert_eq!(c.to_line(), l);
        }
        assert_eq!(
            Capability::parse(b"EXPIRE NEVER USER"),
            Ok(Capability::Expire {
                policy: Expire::Never,
                per_user: true
            })
        );
        assert_eq!(
            Capability::parse(b"X-FOO bar"),
            Ok(Capability::Other {
                tag: "X-FOO".into(),
                params: vec!["bar".into()]
            })
        );
        assert!(Capability::parse(b"LOGIN-DELAY soon").is_err());
        assert!(Capability::parse(b".").is_err());
    }
}
