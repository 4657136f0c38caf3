//! [`CommandRef`]: a command borrowed from its line, the one command parser. The owned
//! [`Command`] is built from it, so both see the same checks and give the same errors.
//!
//! RFC 5321 §4.1.1, RFC 3207 §4, RFC 4954 §4, RFC 3030 §2 and RFC 2033 §4.1, as in the parent
//! module. Nothing is allocated for a valid line but for the rare unknown ESMTP parameter.

use super::{
    Command, V_AUTH, V_BDAT, V_DATA, V_EHLO, V_EXPN, V_HELO, V_HELP, V_LHLO, V_MAIL, V_NOOP,
    V_QUIT, V_RCPT, V_RSET, V_STARTTLS, V_VRFY, is_base64_or_eq, verb_code,
};
use crate::Host;
use crate::address::{ForwardPathRef, RawPathRef, ReversePathRef, parse_path_ref};
use crate::address::{check_host, checked_host};
use crate::error::{CommandError, PathError};
use crate::params::{MailParamsRef, RcptParamsRef};
use crate::secret::Secret;

/// The argument of HELO, EHLO or LHLO, borrowed: a checked domain or address literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostArg<'a>(&'a str);

impl<'a> HostArg<'a> {
    /// The argument as written (an address literal with its brackets).
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The owned [`Host`].
    pub fn to_host(&self) -> Host {
        checked_host(self.0)
    }

    /// Whether it is an address literal (not a domain).
    pub fn is_literal(&self) -> bool {
        self.0.starts_with('[')
    }
}

/// One SMTP or LMTP command borrowed from its line: [`CommandRef::parse`] checks everything
/// [`Command::parse`] checks, without allocating, and [`CommandRef::to_command`] gives the
/// owned [`Command`]. Text arguments are kept as sent (the owned form upper-cases the AUTH
/// mechanism and decodes quoted local parts and xtext).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandRef<'a> {
    /// `HELO domain`.
    Helo(HostArg<'a>),
    /// `EHLO domain-or-literal`.
    Ehlo(HostArg<'a>),
    /// `LHLO domain-or-literal` (LMTP).
    Lhlo(HostArg<'a>),
    /// `MAIL FROM:<path> [params]`.
    Mail {
        /// The reverse-path.
        from: ReversePathRef<'a>,
        /// ESMTP parameters.
        params: MailParamsRef<'a>,
    },
    /// `RCPT TO:<path> [params]`.
    Rcpt {
        /// The forward-path.
        to: ForwardPathRef<'a>,
        /// ESMTP parameters.
        params: RcptParamsRef<'a>,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// The chunk size in octets.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop(Option<&'a str>),
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(&'a str),
    /// `EXPN string`.
    Expn(&'a str),
    /// `HELP [string]`.
    Help(Option<&'a str>),
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name as sent (any case).
        mechanism: &'a str,
        /// The initial response as sent: base64, or `=` for an empty one. Goes into a
        /// [`Secret`] in the owned form; never log it.
        initial_response: Option<&'a str>,
    },
}

fn string_arg(s: &str) -> Result<&str, CommandError> {
    // `String = Atom / Quoted-string`; the words are not interpreted, only kept printable.
    if s.is_empty() || s.chars().any(|c| c.is_control()) {
        return Err(CommandError::Syntax("expected a string argument"));
    }
    Ok(s)
}

fn host_arg(s: &str) -> Result<HostArg<'_>, CommandError> {
    if s.is_empty() {
        return Err(CommandError::Syntax("expected a domain"));
    }
    check_host(s)
        .map(|()| HostArg(s))
        .map_err(|_| CommandError::Syntax("invalid domain"))
}

/// Whether `s` is a SASL mechanism name once upper-cased (RFC 4422 §3.1: 1–20 of
/// `A-Z 0-9 - _`).
fn is_mechanism(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `FROM:<path> params` after the keyword; a space after the colon is allowed because
/// many clients send one (Postfix and Exim accept it too) and it cannot change the meaning.
/// Inlined for the reason given at [`parse_path_ref`].
#[inline(always)]
fn path_and_params<'a>(
    args: &'a str,
    keyword: &[u8],
) -> Result<(RawPathRef<'a>, &'a str), CommandError> {
    let n = keyword.len();
    // Bytes, not str: the argument may be UTF-8 and `n` bytes in need not be a boundary.
    if args.len() < n || !args.as_bytes()[..n].eq_ignore_ascii_case(keyword) {
        return Err(CommandError::Syntax("expected FROM: or TO:"));
    }
    let rest = &args[n..];
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let (path, used) = parse_path_ref(rest)?;
    let params = &rest[used..];
    if !params.is_empty() && !params.starts_with(' ') {
        return Err(CommandError::Syntax("expected a space after the path"));
    }
    Ok((path, params))
}

impl<'a> CommandRef<'a> {
    /// Parses one command line, without its CRLF.
    pub fn parse(line: &'a [u8]) -> Result<CommandRef<'a>, CommandError> {
        Self::parse_inline(line)
    }

    /// [`CommandRef::parse`], inlined into [`Command::parse`] so the borrowed command is
    /// built in registers and never stored and reloaded on its way to the owned one.
    #[inline(always)]
    pub(super) fn parse_inline(line: &'a [u8]) -> Result<CommandRef<'a>, CommandError> {
        // Trailing spaces are common and harmless.
        let trimmed = line.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        let line = &line[..trimmed];
        let (verb, args) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        };
        let Some(code) = verb_code(verb) else {
            // Text that is not UTF-8 is refused as such before its verb is judged.
            return Err(match std::str::from_utf8(line) {
                Ok(_) => CommandError::Unrecognized,
                Err(_) => CommandError::NotUtf8,
            });
        };
        // A known verb is ASCII letters, so the line is UTF-8 exactly when its arguments are;
        // `DATA`, `RSET` and `QUIT` need no check at all (it cost more than their parse).
        let args = match args {
            Some(a) => Some(std::str::from_utf8(a).map_err(|_| CommandError::NotUtf8)?),
            None => None,
        };
        let no_args = || match args {
            None => Ok(()),
            Some(_) => Err(CommandError::Syntax("this command takes no arguments")),
        };
        match code {
            V_HELO => Ok(CommandRef::Helo(host_arg(args.unwrap_or(""))?)),
            V_EHLO => Ok(CommandRef::Ehlo(host_arg(args.unwrap_or(""))?)),
            V_LHLO => Ok(CommandRef::Lhlo(host_arg(args.unwrap_or(""))?)),
            V_MAIL => {
                let (path, params) = path_and_params(args.unwrap_or(""), b"FROM:")?;
                let from = match path {
                    RawPathRef::Null => ReversePathRef::Null,
                    RawPathRef::Mailbox(m) => ReversePathRef::Mailbox(m),
                    RawPathRef::Postmaster => {
                        return Err(PathError::Syntax("mailbox without domain").into());
                    }
                };
                Ok(CommandRef::Mail {
                    from,
                    params: MailParamsRef::parse(params)?,
                })
            }
            V_RCPT => {
                let (path, params) = path_and_params(args.unwrap_or(""), b"TO:")?;
                let to = match path {
                    RawPathRef::Null => return Err(PathError::Syntax("null forward-path").into()),
                    RawPathRef::Postmaster => ForwardPathRef::Postmaster,
                    RawPathRef::Mailbox(m) => ForwardPathRef::Mailbox(m),
                };
                Ok(CommandRef::Rcpt {
                    to,
                    params: RcptParamsRef::parse(params)?,
                })
            }
            V_DATA => no_args().map(|()| CommandRef::Data),
            V_BDAT => {
                let args = args.ok_or(CommandError::Syntax("BDAT needs a size"))?;
                let (size, last) = match crate::split::split_once(args, b' ') {
                    Some((s, l)) if l.eq_ignore_ascii_case("LAST") => (s, true),
                    Some(_) => return Err(CommandError::Syntax("expected LAST")),
                    None => (args, false),
                };
                if size.is_empty() || size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CommandError::Syntax("invalid chunk size"));
                }
                let size = size
                    .parse()
                    .map_err(|_| CommandError::Syntax("invalid chunk size"))?;
                Ok(CommandRef::Bdat { size, last })
            }
            V_RSET => no_args().map(|()| CommandRef::Rset),
            V_NOOP => Ok(CommandRef::Noop(args.map(string_arg).transpose()?)),
            V_QUIT => no_args().map(|()| CommandRef::Quit),
            V_VRFY => Ok(CommandRef::Vrfy(string_arg(args.unwrap_or(""))?)),
            V_EXPN => Ok(CommandRef::Expn(string_arg(args.unwrap_or(""))?)),
            V_HELP => Ok(CommandRef::Help(args.map(string_arg).transpose()?)),
            V_STARTTLS => no_args().map(|()| CommandRef::StartTls),
            V_AUTH => {
                let args = args.ok_or(CommandError::Syntax("AUTH needs a mechanism"))?;
                let (mechanism, ir) = match crate::split::split_once(args, b' ') {
                    Some((m, ir)) => (m, Some(ir)),
                    None => (args, None),
                };
                if !is_mechanism(mechanism) {
                    return Err(CommandError::Syntax("invalid mechanism name"));
                }
                if ir.is_some_and(|ir| !is_base64_or_eq(ir)) {
                    return Err(CommandError::Syntax("invalid initial response"));
                }
                Ok(CommandRef::Auth {
                    mechanism,
                    initial_response: ir,
                })
            }
            _ => Err(CommandError::Unrecognized),
        }
    }

    /// The verb, upper case.
    pub fn verb(&self) -> &'static str {
        match self {
            CommandRef::Helo(_) => "HELO",
            CommandRef::Ehlo(_) => "EHLO",
            CommandRef::Lhlo(_) => "LHLO",
            CommandRef::Mail { .. } => "MAIL",
            CommandRef::Rcpt { .. } => "RCPT",
            CommandRef::Data => "DATA",
            CommandRef::Bdat { .. } => "BDAT",
            CommandRef::Rset => "RSET",
            CommandRef::Noop(_) => "NOOP",
            CommandRef::Quit => "QUIT",
            CommandRef::Vrfy(_) => "VRFY",
            CommandRef::Expn(_) => "EXPN",
            CommandRef::Help(_) => "HELP",
            CommandRef::StartTls => "STARTTLS",
            CommandRef::Auth { .. } => "AUTH",
        }
    }

    /// The owned command: the value [`Command::parse`] gives for the same line.
    #[inline]
    pub fn to_command(&self) -> Command {
        match self {
            CommandRef::Helo(h) => Command::Helo(h.to_host()),
            CommandRef::Ehlo(h) => Command::Ehlo(h.to_host()),
            CommandRef::Lhlo(h) => Command::Lhlo(h.to_host()),
            CommandRef::Mail { from, params } => Command::Mail {
                from: from.to_reverse_path(),
                params: params.to_mail_params(),
            },
            CommandRef::Rcpt { to, params } => Command::Rcpt {
                to: to.to_forward_path(),
                params: params.to_rcpt_params(),
            },
            CommandRef::Data => Command::Data,
            &CommandRef::Bdat { size, last } => Command::Bdat { size, last },
            CommandRef::Rset => Command::Rset,
            CommandRef::Noop(s) => Command::Noop(s.map(str::to_owned)),
            CommandRef::Quit => Command::Quit,
            CommandRef::Vrfy(s) => Command::Vrfy((*s).to_owned()),
            CommandRef::Expn(s) => Command::Expn((*s).to_owned()),
            CommandRef::Help(s) => Command::Help(s.map(str::to_owned)),
            CommandRef::StartTls => Command::StartTls,
            CommandRef::Auth {
                mechanism,
                initial_response,
            } => Command::Auth {
                mechanism: mechanism.to_ascii_uppercase(),
                initial_response: initial_response.map(|s| Secret::new(s.to_owned())),
            },
        }
    }
}

impl<'a> TryFrom<&'a [u8]> for CommandRef<'a> {
    type Error = CommandError;
    fn try_from(line: &'a [u8]) -> Result<CommandRef<'a>, CommandError> {
        CommandRef::parse(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Body, Notify};

    #[test]
    fn borrows_from_the_line() {
        let line = b"MAIL FROM:<\"a b\"@Example.ORG> SIZE=123456 body=8bitmime ENVID=x+2By X-Foo=1";
        let CommandRef::Mail { from, params } = CommandRef::parse(line).unwrap() else {
            panic!("not MAIL")
        };
        let ReversePathRef::Mailbox(m) = from else {
            panic!("null path")
        };
        assert_eq!(m.local_as_written(), "\"a b\"");
        assert_eq!(m.local_part(), "a b");
        assert_eq!(m.host_as_written(), "Example.ORG");
        assert_eq!(params.size, Some(123_456));
        assert_eq!(params.body, Some(Body::EightBitMime));
        assert_eq!(params.envid(), Some("x+2By"));
        assert_eq!(params.envid_decoded().as_deref(), Some("x+y"));
        assert_eq!(params.other().collect::<Vec<_>>(), [("X-Foo", Some("1"))]);

        let line = b"RCPT TO:<b@[IPv6:2001:db8::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40c";
        let CommandRef::Rcpt { to, params } = CommandRef::parse(line).unwrap() else {
            panic!("not RCPT")
        };
        let ForwardPathRef::Mailbox(m) = to else {
            panic!("postmaster")
        };
        assert!(matches!(
            m.to_mailbox().host,
            Host::Literal(crate::AddressLiteral::Ipv6(_))
        ));
        let n = Notify {
            success: true,
            failure: true,
            delay: false,
        };
        assert_eq!(params.notify, Some(n));
        let o = params.orcpt().unwrap();
        assert_eq!(
            (o.addr_type, o.address_decoded().as_ref()),
            ("rfc822", "b@c")
        );

        let CommandRef::Ehlo(h) = CommandRef::parse(b"ehlo [192.0.2.1]").unwrap() else {
            panic!("not EHLO")
        };
        assert!(h.is_literal());
        assert_eq!(h.to_host().to_string(), "[192.0.2.1]");
        assert_eq!(
            CommandRef::parse(b"auth plain =").unwrap().to_command(),
            Command::parse(b"AUTH PLAIN =").unwrap()
        );
    }

    #[test]
    fn errors_match_the_owned_parse() {
        for line in [
            &b"DATA \xff"[..],
            b"\xffOO",
            b"FOO bar",
            b"DATA x",
            b"RCPT TO:<>",
            b"MAIL FROM:<a@b> X=1 x=2",
            b"MAIL FROM:<a@b> ENVID=+FF",
            b"RCPT TO:<a@b> ORCPT=rfc822;",
            b"EHLO -x",
        ] {
            let e = CommandRef::parse(line).unwrap_err();
            assert_eq!(Command::parse(line), Err(e));
        }
        assert_eq!(CommandRef::parse(b"DATA \xff"), Err(CommandError::NotUtf8));
        assert_eq!(
            CommandRef::parse(b"MAIL FROM:<a@b> X=1 x=2"),
            Err(CommandError::Param(crate::ParamError::Duplicate(
                "X".into()
            )))
        );
    }
}
