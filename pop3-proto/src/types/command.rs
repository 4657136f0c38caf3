//! POP3 commands: RFC 1939 §4–§7 (USER, PASS, APOP, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT,
//! TOP, UIDL), RFC 2449 §5 (CAPA), RFC 2595 §4 (STLS), RFC 5034 §4 (AUTH) and RFC 6856 §2.1
//! (UTF8).
//!
//! Keywords are case-insensitive (RFC 1939 §3). RFC 2449 §4 limits a command line to 255
//! octets; the framer enforces that, so the parser only sees whole lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{is_token, parse_u32};
use crate::{ParseError, Secret};

/// One client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name` (RFC 1939 §7).
    User(String),
    /// `PASS string`: everything after the first space, spaces included (RFC 1939 §7).
    Pass(Secret<String>),
    /// `APOP name digest` (RFC 1939 §7); the digest is 32 lowercase hex digits.
    Apop {
        /// The mailbox name.
        user: String,
        /// MD5 of the greeting's timestamp followed by the shared secret, in hex.
        digest: String,
    },
    /// `AUTH mechanism [initial-response]` (RFC 5034 §4).
    Auth {
        /// The SASL mechanism name, uppercased.
        mechanism: String,
        /// The decoded initial response; `Some(empty)` when the client sent `=`.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `DELE msg`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `TOP msg n`: the header and the first `lines` lines of the body.
    Top {
        /// Message number.
        msg: u32,
        /// Number of body lines.
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `UTF8` (RFC 6856 §2.1).
    Utf8,
}

/// The keyword of a command, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the keyword it names
pub enum CommandKind {
    User,
    Pass,
    Apop,
    Auth,
    Stls,
    Capa,
    Stat,
    List,
    Retr,
    Dele,
    Noop,
    Rset,
    Quit,
    Top,
    Uidl,
    Utf8,
}

impl CommandKind {
    /// The keyword as sent on the wire.
    pub fn keyword(self) -> &'static str {
        match self {
            CommandKind::User => "USER",
            CommandKind::Pass => "PASS",
            CommandKind::Apop => "APOP",
            CommandKind::Auth => "AUTH",
            CommandKind::Stls => "STLS",
            CommandKind::Capa => "CAPA",
            CommandKind::Stat => "STAT",
            CommandKind::List => "LIST",
            CommandKind::Retr => "RETR",
            CommandKind::Dele => "DELE",
            CommandKind::Noop => "NOOP",
            CommandKind::Rset => "RSET",
            CommandKind::Quit => "QUIT",
            CommandKind::Top => "TOP",
            CommandKind::Uidl => "UIDL",
            CommandKind::Utf8 => "UTF8",
        }
    }

    fn from_keyword(k: &str) -> Option<CommandKind> {
        const ALL: [CommandKind; 16] = [
            CommandKind::User,
            CommandKind::Pass,
            CommandKind::Apop,
            CommandKind::Auth,
            CommandKind::Stls,
            CommandKind::Capa,
            CommandKind::Stat,
            CommandKind::List,
            CommandKind::Retr,
            CommandKind::Dele,
            CommandKind::Noop,
            CommandKind::Rset,
            CommandKind::Quit,
            CommandKind::Top,
            CommandKind::Uidl,
            CommandKind::Utf8,
        ];
        ALL.into_iter()
            .find(|c| c.keyword().eq_ignore_ascii_case(k))
    }
}

/// Whether `name` is a SASL mechanism name (RFC 4422 §3.1: 1 to 20 of `A-Z 0-9 - _`).
pub fn is_valid_mechanism(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn no_args(args: &[&str], c: Command) -> Result<Command, ParseError> {
    if args.is_empty() {
        Ok(c)
    } else {
        Err(ParseError::TooManyArguments)
    }
}

fn one_number(args: &[&str]) -> Result<u32, ParseError> {
    match args {
        [] => Err(ParseError::MissingArgument("message number")),
        [n] => msg_number(n),
        _ => Err(ParseError::TooManyArguments),
    }
}

fn optional_number(args: &[&str]) -> Result<Option<u32>, ParseError> {
    match args {
        [] => Ok(None),
        [n] => msg_number(n).map(Some),
        _ => Err(ParseError::TooManyArguments),
    }
}

fn msg_number(s: &str) -> Result<u32, ParseError> {
    // Message numbers start at 1 (RFC 1939 §5).
    match parse_u32(s) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(ParseError::InvalidNumber),
    }
}

/// Decodes a base64 AUTH argument or response line, where `=` alone is the empty response
/// (RFC 5034 §4). Characters outside the alphabet and misplaced padding are rejected.
pub(crate) fn decode_sasl(s: &str) -> Result<Vec<u8>, ParseError> {
    if s == "=" {
        return Ok(Vec::new());
    }
    BASE64.decode(s).map_err(|_| ParseError::InvalidBase64)
}

/// Encodes SASL data for the wire (`=` for empty data, RFC 5034 §4).
pub(crate) fn encode_sasl(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        BASE64.encode(data)
    }
}

impl Command {
    /// Parses one command line, without its CRLF.
    pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
        if line.is_empty() {
            return Err(ParseError::Empty);
        }
        if line.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
            return Err(ParseError::InvalidCharacters);
        }
        let line = std::str::from_utf8(line).map_err(|_| ParseError::InvalidCharacters)?;
        let (keyword, rest) = match line.split_once(' ') {
            Some((k, r)) => (k, Some(r)),
            None => (line, None),
        };
        let Some(kind) = CommandKind::from_keyword(keyword) else {
            // Keep the echoed keyword short: it may end up in a log line.
            let shown: String = keyword.chars().take(8).collect();
            return Err(ParseError::UnknownCommand(shown));
        };
        if kind == CommandKind::Pass {
            // The password is the rest of the line, spaces included (RFC 1939 §7).
            return match rest {
                Some(p) => Ok(Command::Pass(Secret::new(p.to_owned()))),
                None => Err(ParseError::MissingArgument("password")),
            };
        }
        let args: Vec<&str> = rest
            .map(|r| r.split(' ').filter(|a| !a.is_empty()).collect())
            .unwrap_or_default();
        match kind {
            CommandKind::User => match args.as_slice() {
                [] => Err(ParseError::MissingArgument("user name")),
                [u] if is_token(u) => Ok(Command::User((*u).to_owned())),
                [_] => Err(ParseError::InvalidArgument("user name")),
                _ => Err(ParseError::TooManyArguments),
            },
            CommandKind::Apop => match args.as_slice() {
                [u, d] => {
                    if !is_token(u) {
                        return Err(ParseError::InvalidArgument("user name"));
                    }
                    if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(ParseError::InvalidArgument("digest"));
                    }
                    Ok(Command::Apop {
                        user: (*u).to_owned(),
                        digest: d.to_ascii_lowercase(),
                    })
                }
                [] | [_] => Err(ParseError::MissingArgument("user name and digest")),
                _ => Err(ParseError::TooManyArguments),
            },
            CommandKind::Auth => match args.as_slice() {
                [] => Err(ParseError::MissingArgument("mechanism")),
                [m, ir @ ..] if ir.len() <= 1 => {
                    let mechanism = m.to_ascii_uppercase();
                    if !is_valid_mechanism(&mechanism) {
                        return Err(ParseError::InvalidArgument("mechanism"));
                    }
                    let initial_response = match ir.first() {
                        Some(s) => Some(Secret::new(decode_sasl(s)?)),
                        None => None,
                    };
                    Ok(Command::Auth {
                        mechanism,
                        initial_response,
                    })
                }
                _ => Err(ParseError::TooManyArguments),
            },
            CommandKind::Stls => no_args(&args, Command::Stls),
            CommandKind::Capa => no_args(&args, Command::Capa),
            CommandKind::Stat => no_args(&args, Command::Stat),
            CommandKind::Noop => no_args(&args, Command::Noop),
            CommandKind::Rset => no_args(&args, Command::Rset),
            CommandKind::Quit => no_args(&args, Command::Quit),
            CommandKind::Utf8 => no_args(&args, Command::Utf8),
            CommandKind::List => optional_number(&args).map(Command::List),
            CommandKind::Uidl => optional_number(&args).map(Command::Uidl),
            CommandKind::Retr => one_number(&args).map(Command::Retr),
            CommandKind::Dele => one_number(&args).map(Command::Dele),
            CommandKind::Top => match args.as_slice() {
                [m, n] => Ok(Command::Top {
                    msg: msg_number(m)?,
                    lines: parse_u32(n).ok_or(ParseError::InvalidNumber)?,
                }),
                [] | [_] => Err(ParseError::MissingArgument("message number and line count")),
                _ => Err(ParseError::TooManyArguments),
            },
            CommandKind::Pass => unreachable!("handled above"),
        }
    }

    /// The command's keyword.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::User(_) => CommandKind::User,
            Command::Pass(_) => CommandKind::Pass,
            Command::Apop { .. } => CommandKind::Apop,
            Command::Auth { .. } => CommandKind::Auth,
            Command::Stls => CommandKind::Stls,
            Command::Capa => CommandKind::Capa,
            Command::Stat => CommandKind::Stat,
            Command::List(_) => CommandKind::List,
            Command::Retr(_) => CommandKind::Retr,
            Command::Dele(_) => CommandKind::Dele,
            Command::Noop => CommandKind::Noop,
            Command::Rset => CommandKind::Rset,
            Command::Quit => CommandKind::Quit,
            Command::Top { .. } => CommandKind::Top,
            Command::Uidl(_) => CommandKind::Uidl,
            Command::Utf8 => CommandKind::Utf8,
        }
    }

    /// Whether a `+OK` answer to this command is followed by a multi-line body (RFC 1939 §3).
    pub fn is_multi_line(&self) -> bool {
        matches!(
            self,
            Command::Capa
                | Command::List(None)
                | Command::Uidl(None)
                | Command::Retr(_)
                | Command::Top { .. }
        )
    }

    /// Appends the command line, CRLF included, to `out`.
    ///
    /// The caller is responsible for arguments that cannot be sent (a space in a user name, a
    /// CR in a password); the client engine checks them before it gets here.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.kind().keyword().as_bytes());
        let mut arg = |s: &str| {
            out.push(b' ');
            out.extend_from_slice(s.as_bytes());
        };
        match self {
            Command::User(u) => arg(u),
            Command::Pass(p) => arg(p.expose()),
            Command::Apop { user, digest } => {
                arg(user);
                arg(digest);
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                arg(mechanism);
                if let Some(ir) = initial_response {
                    arg(&encode_sasl(ir.expose()));
                }
            }
            Command::List(Some(n))
            | Command::Uidl(Some(n))
            | Command::Retr(n)
            | Command::Dele(n) => arg(&n.to_string()),
            Command::Top { msg, lines } => {
                arg(&msg.to_string());
                arg(&lines.to_string());
            }
            Command::Stls
            | Command::Capa
            | Command::Stat
            | Command::List(None)
            | Command::Noop
            | Command::Rset
            | Command::Quit
            | Command::Uidl(None)
            | Command::Utf8 => {}
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The command line, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc1939_commands() {
        assert_eq!(
            Command::parse(b"user mrose"),
            Ok(Command::User("mrose".into()))
        );
        assert_eq!(
            Command::parse(b"PASS secret with spaces"),
            Ok(Command::Pass(Secret::from("secret with spaces")))
        );
        assert_eq!(
            Command::parse(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
            Ok(Command::Apop {
                user: "mrose".into(),
                digest: "c4c9334bac560ecc979e58001b3e22fb".into()
            })
        );
        assert_eq!(Command::parse(b"LIST"), Ok(Command::List(None)));
        assert_eq!(Command::parse(b"list 2"), Ok(Command::List(Some(2))));
        assert_eq!(
            Command::parse(b"TOP 1 0"),
            Ok(Command::Top { msg: 1, lines: 0 })
        );
        assert_eq!(Command::parse(b"RETR 0"), Err(ParseError::InvalidNumber));
        assert_eq!(Command::parse(b"RETR -1"), Err(ParseError::InvalidNumber));
        assert_eq!(
            Command::parse(b"RETR 99999999999"),
            Err(ParseError::InvalidNumber)
        );
        assert_eq!(Command::parse(b"STAT 1"), Err(ParseError::TooManyArguments));
        assert!(matches!(
            Command::parse(b"XYZZY"),
            Err(ParseError::UnknownCommand(_))
        ));
        assert_eq!(
            Command::parse(b"PASS"),
            Err(ParseError::MissingArgument("password"))
        );
    }

    #[test]
    fn parses_auth() {
        let Ok(Command::Auth {
            mechanism,
            initial_response,
        }) = Command::parse(b"AUTH plain dGVzdAB0ZXN0AHRlc3Q=")
        else {
            panic!("AUTH did not parse")
        };
        assert_eq!(mechanism, "PLAIN");
        assert_eq!(initial_response.unwrap().expose(), b"test\0test\0test");
        let Ok(Command::Auth {
            initial_response, ..
        }) = Command::parse(b"AUTH PLAIN =")
        else {
            panic!("AUTH = did not parse")
        };
        assert_eq!(initial_response.unwrap().expose(), b"");
        assert_eq!(
            Command::parse(b"AUTH PLAIN =AAA"),
            Err(ParseError::InvalidBase64)
        );
        assert_eq!(
            Command::parse(b"AUTH PLAIN AAA=BBB"),
            Err(ParseError::InvalidBase64)
        );
        assert_eq!(
            Command::parse(b"AUTH PLAIN a*b="),
            Err(ParseError::InvalidBase64)
        );
    }

    #[test]
    fn serializes() {
        assert_eq!(
            Command::Top { msg: 3, lines: 10 }.to_bytes(),
            b"TOP 3 10\r\n"
        );
        let auth = Command::Auth {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::new(Vec::new())),
        };
        assert_eq!(auth.to_bytes(), b"AUTH PLAIN =\r\n");
    }
}
