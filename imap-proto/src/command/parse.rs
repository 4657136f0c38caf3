//! The command parser (RFC 3501 §9 `command`, RFC 9051 §9, and the extension grammars cited
//! in the module above).

use nom::bytes::complete::take_while;

use super::{
    AppendMessage, Command, CommandBody, ListReturnOpt, ListSelectOpt, SelectParam, SortCriterion,
    SortKey, StatusItem, StoreMode,
};
use crate::error::ParseError;
use crate::fetch::{fetch_items, sp_fetch_modifiers};
use crate::framing::Limits;
use crate::parse::{
    R, all, astring, atom, byte, crlf, date_time, fail, flag, flag_list, kw, list_mailbox, literal,
    mailbox, mailbox_attr, nil, nstring, number64, nz_number, paren_list, peek, sequence_set, sp,
    sp_list1, string, tag_,
};
use crate::search::{opt_charset, search_keys, search_return_opts};
use crate::types::{Flag, Secret, Tag};

/// A line sent during AUTHENTICATE (RFC 3501 §6.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticateData {
    /// Base64 text (not decoded), possibly empty.
    Continue(Secret<Vec<u8>>),
    /// `*`: the client cancels.
    Cancel,
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn base64(i: &[u8]) -> R<'_, &[u8]> {
    let (rest, body) = take_while(is_b64)(i)?;
    let (rest, pad) = take_while(|b| b == b'=')(rest)?;
    let n = body.len() + pad.len();
    if pad.len() > 2 || (!pad.is_empty() && !n.is_multiple_of(4)) {
        return fail(i);
    }
    Ok((rest, &i[..n]))
}

/// Reads a client line during AUTHENTICATE: base64 text or `*`.
///
/// # Errors
/// [`ParseError::Syntax`] when the line is neither.
pub fn parse_authenticate_data(line: &[u8]) -> Result<AuthenticateData, ParseError> {
    let r = all(line, |i| {
        if let Ok((i, ())) = byte(b'*')(i) {
            let (i, ()) = crlf(i)?;
            return Ok((i, AuthenticateData::Cancel));
        }
        let (i, b) = base64(i)?;
        let (i, ()) = crlf(i)?;
        Ok((i, AuthenticateData::Continue(Secret::new(b.to_vec()))))
    });
    r.map_err(|(offset, _)| ParseError::Syntax { tag: None, offset })
}

/// Whether a client line is the `DONE` that ends IDLE (RFC 2177), in any case.
#[must_use]
pub fn parse_idle_done(line: &[u8]) -> bool {
    line.eq_ignore_ascii_case(b"DONE\r\n")
}

fn status_item(i: &[u8]) -> R<'_, StatusItem> {
    let (rest, a) = atom(i)?;
    for (n, s) in StatusItem::ALL {
        if a.eq_ignore_case(n) {
            return Ok((rest, s));
        }
    }
    fail(i)
}

pub(crate) fn status_items(i: &[u8]) -> R<'_, Vec<StatusItem>> {
    paren_list(i, status_item)
}

fn select_params(i: &[u8]) -> R<'_, Vec<SelectParam>> {
    if !i.starts_with(b" (") {
        return Ok((i, Vec::new()));
    }
    let (rest, v) = paren_list(&i[1..], |i| {
        if let Ok((i, ())) = kw("CONDSTORE")(i) {
            return Ok((i, SelectParam::Condstore));
        }
        let (i, ()) = kw("QRESYNC (")(i)?;
        let (i, uid_validity) = nz_number(i)?;
        let (i, ()) = sp(i)?;
        let (i, modseq) = number64(i)?;
        let (i, known_uids) = if peek(i, b' ') && !i[1..].starts_with(b"(") {
            let (i, s) = sequence_set(&i[1..])?;
            (i, Some(s))
        } else {
            (i, None)
        };
        let (i, seq_match) = if known_uids.is_some() && i.starts_with(b" (") {
            let (i, a) = sequence_set(&i[2..])?;
            let (i, ()) = sp(i)?;
            let (i, b) = sequence_set(i)?;
            let (i, ()) = byte(b')')(i)?;
            (i, Some((a, b)))
        } else {
            (i, None)
        };
        let (i, ()) = byte(b')')(i)?;
        Ok((
            i,
            SelectParam::Qresync {
                uid_validity: uid_validity.get(),
                modseq,
                known_uids,
                seq_match,
            },
        ))
    })?;
    if v.is_empty() { fail(i) } else { Ok((rest, v)) }
}

fn list_select_opt(i: &[u8]) -> R<'_, ListSelectOpt> {
    let (rest, a) = atom(i)?;
    let o = match a.as_str().to_ascii_uppercase().as_str() {
        "SUBSCRIBED" => ListSelectOpt::Subscribed,
        "REMOTE" => ListSelectOpt::Remote,
        "RECURSIVEMATCH" => ListSelectOpt::RecursiveMatch,
        "SPECIAL-USE" => ListSelectOpt::SpecialUse,
        _ => return fail(i),
    };
    Ok((rest, o))
}

fn list_return_opt(i: &[u8]) -> R<'_, ListReturnOpt> {
    if let Ok((i, ())) = kw("STATUS ")(i) {
        let (i, s) = status_items(i)?;
        return Ok((i, ListReturnOpt::Status(s)));
    }
    let (rest, a) = atom(i)?;
    let o = match a.as_str().to_ascii_uppercase().as_str() {
        "SUBSCRIBED" => ListReturnOpt::Subscribed,
        "CHILDREN" => ListReturnOpt::Children,
        "SPECIAL-USE" => ListReturnOpt::SpecialUse,
        _ => return fail(i),
    };
    Ok((rest, o))
}

fn list(i: &[u8]) -> R<'_, CommandBody> {
    let (i, selection) = if peek(i, b'(') {
        let (i, v) = paren_list(i, list_select_opt)?;
        let (i, ()) = sp(i)?;
        (i, v)
    } else {
        (i, Vec::new())
    };
    let (i, reference) = mailbox(i)?;
    let (i, ()) = sp(i)?;
    let (i, patterns) = if peek(i, b'(') {
        let (rest, v) = paren_list(i, list_mailbox)?;
        if v.is_empty() {
            return fail(i);
        }
        (rest, v)
    } else {
        let (i, p) = list_mailbox(i)?;
        (i, vec![p])
    };
    let (i, return_opts) = if let Ok((i, ())) = kw(" RETURN ")(i) {
        paren_list(i, list_return_opt)?
    } else {
        (i, Vec::new())
    };
    Ok((
        i,
        CommandBody::List {
            selection,
            reference,
            patterns,
            return_opts,
        },
    ))
}

/// `[flag-list SP] [date-time SP]` before an APPEND message.
pub(super) type FlagsDate = (Option<Vec<Flag>>, Option<crate::types::DateTime>);

pub(super) fn append_flags_date(mut j: &[u8]) -> R<'_, FlagsDate> {
    let mut flags = None;
    let mut date = None;
    if peek(j, b'(') {
        let (r, f) = flag_list(j)?;
        let (r, ()) = sp(r)?;
        flags = Some(f);
        j = r;
    }
    if peek(j, b'"') {
        let (r, d) = date_time(j)?;
        let (r, ()) = sp(r)?;
        date = Some(d);
        j = r;
    }
    Ok((j, (flags, date)))
}

fn append(i: &[u8]) -> R<'_, CommandBody> {
    let (mut i, mailbox) = mailbox(i)?;
    let mut messages = Vec::new();
    while peek(i, b' ') {
        let (j, (flags, date)) = append_flags_date(&i[1..])?;
        let (r, data, utf8) = if let Ok((r, ())) = kw("UTF8 (")(j) {
            let (r, data) = literal(r)?;
            let (r, ()) = byte(b')')(r)?;
            (r, data, true)
        } else {
            let (r, data) = literal(j)?;
            (r, data, false)
        };
        messages.push(AppendMessage {
            flags,
            date,
            data,
            utf8,
        });
        i = r;
    }
    if messages.is_empty() {
        return fail(i);
    }
    Ok((i, CommandBody::Append { mailbox, messages }))
}

fn id_params(i: &[u8]) -> R<'_, CommandBody> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, CommandBody::Id(None)));
    }
    let (i, v) = paren_list(i, |i| {
        let (i, k) = string(i)?;
        let (i, ()) = sp(i)?;
        let (i, v) = nstring(i)?;
        Ok((i, (k, v)))
    })?;
    Ok((i, CommandBody::Id(Some(v))))
}

fn store(i: &[u8], uid: bool) -> R<'_, CommandBody> {
    let (i, set) = sequence_set(i)?;
    let (i, ()) = sp(i)?;
    let (i, unchanged_since) = if let Ok((i, ())) = kw("(UNCHANGEDSINCE ")(i) {
        let (i, n) = number64(i)?;
        let (i, ()) = byte(b')')(i)?;
        let (i, ()) = sp(i)?;
        (i, Some(n))
    } else {
        (i, None)
    };
    let (i, mode) = match i.first() {
        Some(b'+') => (&i[1..], StoreMode::Add),
        Some(b'-') => (&i[1..], StoreMode::Remove),
        _ => (i, StoreMode::Replace),
    };
    let (i, ()) = kw("FLAGS")(i)?;
    let (i, silent) = match kw(".SILENT")(i) {
        Ok((i, ())) => (i, true),
        Err(_) => (i, false),
    };
    let (i, ()) = sp(i)?;
    let (i, flags): (&[u8], Vec<Flag>) = if peek(i, b'(') {
        flag_list(i)?
    } else {
        sp_list1(i, flag)?
    };
    Ok((
        i,
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            mode,
            silent,
            flags,
        },
    ))
}

fn sort(i: &[u8], uid: bool, depth: usize) -> R<'_, CommandBody> {
    let (i, return_opts) = match kw("RETURN ")(i) {
        Ok((i, ())) => {
            let (i, o) = search_return_opts(i)?;
            let (i, ()) = sp(i)?;
            (i, Some(o))
        }
        Err(_) => (i, None),
    };
    let (i2, criteria) = paren_list(i, |i| {
        let (i, reverse) = match kw("REVERSE ")(i) {
            Ok((i, ())) => (i, true),
            Err(_) => (i, false),
        };
        let (rest, a) = atom(i)?;
        for (n, k) in SortKey::ALL {
            if a.eq_ignore_case(n) {
                return Ok((rest, SortCriterion { reverse, key: k }));
            }
        }
        fail(i)
    })?;
    if criteria.is_empty() {
        return fail(i);
    }
    let (i, ()) = sp(i2)?;
    let (i, charset) = astring(i)?;
    let (i, ()) = sp(i)?;
    let (i, search) = search_keys(i, depth)?;
    Ok((
        i,
        CommandBody::Sort {
            uid,
            return_opts,
            criteria,
            charset,
            search,
        },
    ))
}

/// The part after `tag SP`: the command name and its arguments, without CRLF.
fn body<'a>(i: &'a [u8], uid: bool, name: &str, depth: usize) -> R<'a, CommandBody> {
    use CommandBody as C;
    let none = |i| Ok((i, ()));
    let arg_sp = |i| sp(i);
    let (i, ()) = if matches!(
        name,
        "CAPABILITY"
            | "NOOP"
            | "LOGOUT"
            | "STARTTLS"
            | "NAMESPACE"
            | "IDLE"
            | "CHECK"
            | "CLOSE"
            | "UNSELECT"
            | "EXPUNGE"
            | "UNAUTHENTICATE"
    ) && !uid
    {
        none(i)?
    } else {
        arg_sp(i)?
    };
    let r = match (uid, name) {
        (false, "CAPABILITY") => (i, C::Capability),
        (false, "NOOP") => (i, C::Noop),
        (false, "LOGOUT") => (i, C::Logout),
        (false, "STARTTLS") => (i, C::StartTls),
        (false, "NAMESPACE") => (i, C::Namespace),
        (false, "IDLE") => (i, C::Idle),
        (false, "CHECK") => (i, C::Check),
        (false, "CLOSE") => (i, C::Close),
        (false, "UNSELECT") => (i, C::Unselect),
        (false, "EXPUNGE") => (i, C::Expunge),
        (false, "UNAUTHENTICATE") => (i, C::Unauthenticate),
        (true, "EXPUNGE") => sequence_set(i).map(|(i, s)| (i, C::UidExpunge(s)))?,
        (false, "AUTHENTICATE") => {
            let (i, mechanism) = atom(i)?;
            let (i, initial_response) = if i.starts_with(b" =\r\n") {
                (&i[2..], Some(Secret::new(Vec::new())))
            } else if peek(i, b' ') {
                let (i, b) = base64(&i[1..])?;
                (i, Some(Secret::new(b.to_vec())))
            } else {
                (i, None)
            };
            (
                i,
                C::Authenticate {
                    mechanism,
                    initial_response,
                },
            )
        }
        (false, "LOGIN") => {
            let (i, username) = astring(i)?;
            let (i, ()) = sp(i)?;
            let (i, password) = astring(i)?;
            (
                i,
                C::Login {
                    username,
                    password: Secret::new(password),
                },
            )
        }
        (false, "ENABLE") => sp_list1(i, atom).map(|(i, v)| (i, C::Enable(v)))?,
        (false, "SELECT" | "EXAMINE") => {
            let (i, mailbox) = mailbox(i)?;
            let (i, params) = select_params(i)?;
            if name == "SELECT" {
                (i, C::Select { mailbox, params })
            } else {
                (i, C::Examine { mailbox, params })
            }
        }
        (false, "CREATE") => {
            let (i, mailbox) = mailbox(i)?;
            let (i, special_use) = if let Ok((i, ())) = kw(" (USE ")(i) {
                let (i, v) = paren_list(i, mailbox_attr)?;
                let (i, ()) = byte(b')')(i)?;
                (i, v)
            } else {
                (i, Vec::new())
            };
            (
                i,
                C::Create {
                    mailbox,
                    special_use,
                },
            )
        }
        (false, "DELETE") => mailbox(i).map(|(i, m)| (i, C::Delete(m)))?,
        (false, "SUBSCRIBE") => mailbox(i).map(|(i, m)| (i, C::Subscribe(m)))?,
        (false, "UNSUBSCRIBE") => mailbox(i).map(|(i, m)| (i, C::Unsubscribe(m)))?,
        (false, "GETQUOTAROOT") => mailbox(i).map(|(i, m)| (i, C::GetQuotaRoot(m)))?,
        (false, "GETACL") => mailbox(i).map(|(i, m)| (i, C::GetAcl(m)))?,
        (false, "MYRIGHTS") => mailbox(i).map(|(i, m)| (i, C::MyRights(m)))?,
        (false, "GETQUOTA") => astring(i).map(|(i, m)| (i, C::GetQuota(m)))?,
        (false, "COMPRESS") => atom(i).map(|(i, a)| (i, C::Compress(a)))?,
        (false, "RENAME") => {
            let (i, from) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, to) = mailbox(i)?;
            (i, C::Rename { from, to })
        }
        (false, "LIST") => list(i)?,
        (false, "LSUB") => {
            let (i, reference) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, pattern) = list_mailbox(i)?;
            (i, C::Lsub { reference, pattern })
        }
        (false, "STATUS") => {
            let (i, mailbox) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, items) = status_items(i)?;
            (i, C::Status { mailbox, items })
        }
        (false, "APPEND") => append(i)?,
        (false, "ID") => id_params(i)?,
        (false, "SETQUOTA") => {
            let (i, root) = astring(i)?;
            let (i, ()) = sp(i)?;
            let (i, limits) = paren_list(i, |i| {
                let (i, a) = atom(i)?;
                let (i, ()) = sp(i)?;
                let (i, n) = number64(i)?;
                Ok((i, (a, n)))
            })?;
            (i, C::SetQuota { root, limits })
        }
        (false, "SETACL") => {
            let (i, mailbox) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, identifier) = astring(i)?;
            let (i, ()) = sp(i)?;
            let (i, rights) = astring(i)?;
            (
                i,
                C::SetAcl {
                    mailbox,
                    identifier,
                    rights,
                },
            )
        }
        (false, "DELETEACL" | "LISTRIGHTS") => {
            let (i, mailbox) = mailbox(i)?;
            let (i, ()) = sp(i)?;
            let (i, identifier) = astring(i)?;
            if name == "DELETEACL" {
                (
                    i,
                    C::DeleteAcl {
                        mailbox,
                        identifier,
                    },
                )
            } else {
                (
                    i,
                    C::ListRights {
                        mailbox,
                        identifier,
                    },
                )
            }
        }
        (_, "SEARCH") => {
            let (i, return_opts) = match kw("RETURN ")(i) {
                Ok((i, ())) => {
                    let (i, o) = search_return_opts(i)?;
                    let (i, ()) = sp(i)?;
                    (i, Some(o))
                }
                Err(_) => (i, None),
            };
            let (i, charset) = opt_charset(i)?;
            let (i, criteria) = search_keys(i, depth)?;
            (
                i,
                C::Search {
                    uid,
                    return_opts,
                    charset,
                    criteria,
                },
            )
        }
        (_, "FETCH") => {
            let (i, set) = sequence_set(i)?;
            let (i, ()) = sp(i)?;
            let (i, items) = fetch_items(i)?;
            let (i, modifiers) = sp_fetch_modifiers(i)?;
            (
                i,
                C::Fetch {
                    uid,
                    set,
                    items,
                    modifiers,
                },
            )
        }
        (_, "STORE") => store(i, uid)?,
        (_, "COPY" | "MOVE") => {
            let (i, set) = sequence_set(i)?;
            let (i, ()) = sp(i)?;
            let (i, mailbox) = mailbox(i)?;
            if name == "COPY" {
                (i, C::Copy { uid, set, mailbox })
            } else {
                (i, C::Move { uid, set, mailbox })
            }
        }
        (_, "SORT") => sort(i, uid, depth)?,
        (_, "THREAD") => {
            let (i, algorithm) = atom(i)?;
            let (i, ()) = sp(i)?;
            let (i, charset) = astring(i)?;
            let (i, ()) = sp(i)?;
            let (i, search) = search_keys(i, depth)?;
            (
                i,
                C::Thread {
                    uid,
                    algorithm,
                    charset,
                    search,
                },
            )
        }
        _ => return fail(i),
    };
    Ok(r)
}

const NAMES: &[&str] = &[
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "AUTHENTICATE",
    "LOGIN",
    "ENABLE",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "NAMESPACE",
    "STATUS",
    "APPEND",
    "IDLE",
    "ID",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
    "SETACL",
    "DELETEACL",
    "GETACL",
    "LISTRIGHTS",
    "MYRIGHTS",
    "COMPRESS",
    "UNAUTHENTICATE",
    "CHECK",
    "CLOSE",
    "UNSELECT",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "SORT",
    "THREAD",
];
const UID_NAMES: &[&str] = &[
    "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT", "THREAD",
];

fn word(i: &[u8]) -> R<'_, &[u8]> {
    nom::bytes::complete::take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'-')(i)
}

/// Reads the command name: whether it has the `UID ` prefix, and the name as sent.
fn name(i: &[u8]) -> R<'_, (bool, &[u8])> {
    let (rest, first) = word(i)?;
    if first.eq_ignore_ascii_case(b"UID") && peek(rest, b' ') {
        let (rest2, second) = word(&rest[1..])?;
        return Ok((rest2, (true, second)));
    }
    Ok((rest, (false, first)))
}

impl Command {
    /// Parses one command unit (from [`crate::framing::Framer`]) with the default nesting
    /// limit.
    ///
    /// # Errors
    /// [`ParseError`] with the tag when one could be read.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        Self::parse_with_limits(input, &Limits::server())
    }

    /// Parses a unit whose literals were (partly) streamed: `streamed` is
    /// [`crate::framing::Framer::last_unit_streamed`]. Each streamed literal comes out as an
    /// empty literal; see also [`crate::command::parse_streamed_append`], which reads an
    /// APPEND before its message arrives.
    ///
    /// # Errors
    /// [`ParseError`] with the tag when one could be read.
    pub fn parse_streamed(
        unit: &[u8],
        streamed: &[crate::framing::StreamedLiteral],
    ) -> Result<Self, ParseError> {
        Self::parse(&crate::framing::zero_streamed(unit, streamed))
    }

    /// Parses one command unit with `limits.max_depth` as the nesting limit.
    ///
    /// # Errors
    /// [`ParseError`] with the tag when one could be read.
    pub fn parse_with_limits(input: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        let (after_tag, tag): (&[u8], Tag) = match tag_(input) {
            Ok((rest, t)) if peek(rest, b' ') => (&rest[1..], t),
            Ok((rest, _)) | Err(nom::Err::Error(nom::error::Error { input: rest, .. })) => {
                return Err(ParseError::Syntax {
                    tag: None,
                    offset: input.len() - rest.len(),
                });
            }
            Err(_) => {
                return Err(ParseError::Syntax {
                    tag: None,
                    offset: 0,
                });
            }
        };
        let Ok((args, name)) = name(after_tag) else {
            let offset = input.len() - after_tag.len();
            return Err(ParseError::Syntax {
                tag: Some(tag),
                offset,
            });
        };
        let (uid, raw) = name;
        let table = if uid { UID_NAMES } else { NAMES };
        // Matched case-insensitively against the table: no allocation per command.
        let Some(known) = table
            .iter()
            .find(|n| n.as_bytes().eq_ignore_ascii_case(raw))
        else {
            let raw = String::from_utf8_lossy(raw).to_ascii_uppercase();
            let name = if uid { format!("UID {raw}") } else { raw };
            return Err(ParseError::UnknownCommand { tag, name });
        };
        let depth = limits.max_depth;
        let r = all(args, |i| {
            let (i, b) = body(i, uid, known, depth)?;
            let (i, ()) = crlf(i)?;
            Ok((i, b))
        });
        let base = input.len() - args.len();
        match r {
            Ok(body) => Ok(Self { tag, body }),
            Err((_, true)) => Err(ParseError::TooDeep {
                tag: Some(tag),
                limit: depth,
            }),
            Err((offset, false)) => Err(ParseError::Syntax {
                tag: Some(tag),
                offset: base + offset,
            }),
        }
    }
}
