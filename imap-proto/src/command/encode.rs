//! The command serializer: the inverse of the parser, byte-exact for parsed values.

use super::{
    Command, CommandBody, ListReturnOpt, ListSelectOpt, SelectParam, SortKey, StatusItem, StoreMode,
};
use crate::encode::{Encoded, Writer};
use crate::fetch::{write_items, write_modifiers};
use crate::search::{write_keys, write_return_opts};
use crate::types::Tag;

pub(crate) fn write_status_items(w: &mut Writer, items: &[StatusItem]) {
    w.list(items, |w, s| {
        w.s(s.name());
    });
}

/// The line that ends IDLE (RFC 2177 §3).
pub const IDLE_DONE: &[u8] = b"DONE\r\n";

impl super::AuthenticateData {
    /// The client's line during AUTHENTICATE: the base64 text or `*`, with CRLF.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = match self {
            Self::Continue(b) => b.expose().clone(),
            Self::Cancel => b"*".to_vec(),
        };
        v.extend_from_slice(b"\r\n");
        v
    }
}

impl Command {
    /// A command with `tag`.
    #[must_use]
    pub fn new(tag: Tag, body: CommandBody) -> Self {
        Self { tag, body }
    }

    /// Serializes the command, CRLF included. [`Encoded::pieces`] splits it where a client
    /// must wait for a continuation request.
    #[must_use]
    pub fn encode(&self) -> Encoded {
        let mut w = Writer::default();
        w.tag(&self.tag).sp().s(self.body.name());
        write_args(&mut w, &self.body);
        w.crlf();
        w.finish()
    }

    /// Serializes the command into one buffer (literals inline).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode().into_bytes()
    }
}

fn write_args(w: &mut Writer, b: &CommandBody) {
    use CommandBody as C;
    match b {
        C::Capability
        | C::Noop
        | C::Logout
        | C::StartTls
        | C::Namespace
        | C::Idle
        | C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::Unauthenticate => {}
        C::UidExpunge(s) => {
            w.sp().seq_set(s);
        }
        C::Authenticate {
            mechanism,
            initial_response,
        } => {
            w.sp().atom(mechanism);
            if let Some(r) = initial_response {
                w.sp();
                if r.expose().is_empty() {
                    w.byte(b'=');
                } else {
                    w.raw(r.expose());
                }
            }
        }
        C::Login { username, password } => {
            w.sp().astring(username).sp().astring(password.expose());
        }
        C::Enable(caps) => {
            for c in caps {
                w.sp().atom(c);
            }
        }
        C::Select { mailbox, params } | C::Examine { mailbox, params } => {
            w.sp().mailbox(mailbox);
            if !params.is_empty() {
                w.sp().list(params, |w, p| match p {
                    SelectParam::Condstore => {
                        w.s("CONDSTORE");
                    }
                    SelectParam::Qresync {
                        uid_validity,
                        modseq,
                        known_uids,
                        seq_match,
                    } => {
                        w.s("QRESYNC (").num(*uid_validity).sp().num(*modseq);
                        if let Some(k) = known_uids {
                            w.sp().seq_set(k);
                            if let Some((a, b)) = seq_match {
                                w.s(" (").seq_set(a).sp().seq_set(b).byte(b')');
                            }
                        }
                        w.byte(b')');
                    }
                });
            }
        }
        C::Create {
            mailbox,
            special_use,
        } => {
            w.sp().mailbox(mailbox);
            if !special_use.is_empty() {
                w.s(" (USE ").list(special_use, |w, a| {
                    w.attr(a);
                });
                w.byte(b')');
            }
        }
        C::Delete(m)
        | C::Subscribe(m)
        | C::Unsubscribe(m)
        | C::GetQuotaRoot(m)
        | C::GetAcl(m)
        | C::MyRights(m) => {
            w.sp().mailbox(m);
        }
        C::GetQuota(r) => {
            w.sp().astring(r);
        }
        C::Compress(a) => {
            w.sp().atom(a);
        }
        C::Rename { from, to } => {
            w.sp().mailbox(from).sp().mailbox(to);
        }
        C::List {
            selection,
            reference,
            patterns,
            return_opts,
        } => {
            w.sp();
            if !selection.is_empty() {
                w.list(selection, |w, o| {
                    w.s(match o {
                        ListSelectOpt::Subscribed => "SUBSCRIBED",
                        ListSelectOpt::Remote => "REMOTE",
                        ListSelectOpt::RecursiveMatch => "RECURSIVEMATCH",
                        ListSelectOpt::SpecialUse => "SPECIAL-USE",
                    });
                })
                .sp();
            }
            w.mailbox(reference).sp();
            if patterns.len() == 1 {
                w.list_mailbox(&patterns[0]);
            } else {
                w.list(patterns, |w, p| {
                    w.list_mailbox(p);
                });
            }
            if !return_opts.is_empty() {
                w.s(" RETURN ").list(return_opts, |w, o| match o {
                    ListReturnOpt::Subscribed => {
                        w.s("SUBSCRIBED");
                    }
                    ListReturnOpt::Children => {
                        w.s("CHILDREN");
                    }
                    ListReturnOpt::SpecialUse => {
                        w.s("SPECIAL-USE");
                    }
                    ListReturnOpt::Status(items) => {
                        w.s("STATUS ");
                        write_status_items(w, items);
                    }
                });
            }
        }
        C::Lsub { reference, pattern } => {
            w.sp().mailbox(reference).sp().list_mailbox(pattern);
        }
        C::Status { mailbox, items } => {
            w.sp().mailbox(mailbox).sp();
            write_status_items(w, items);
        }
        C::Append { mailbox, messages } => {
            w.sp().mailbox(mailbox);
            for m in messages {
                w.sp();
                if let Some(f) = &m.flags {
                    w.list(f, |w, f| {
                        w.flag(f);
                    })
                    .sp();
                }
                if let Some(d) = m.date {
                    w.date_time(d).sp();
                }
                if m.utf8 {
                    w.s("UTF8 (").literal(&m.data).byte(b')');
                } else {
                    w.literal(&m.data);
                }
            }
        }
        C::Id(None) => {
            w.s(" NIL");
        }
        C::Id(Some(params)) => {
            w.sp().list(params, |w, (k, v)| {
                w.string(k).sp().nstring(v);
            });
        }
        C::SetQuota { root, limits } => {
            w.sp().astring(root).sp().list(limits, |w, (a, n)| {
                w.atom(a).sp().num(*n);
            });
        }
        C::SetAcl {
            mailbox,
            identifier,
            rights,
        } => {
            w.sp()
                .mailbox(mailbox)
                .sp()
                .astring(identifier)
                .sp()
                .astring(rights);
        }
        C::DeleteAcl {
            mailbox,
            identifier,
        }
        | C::ListRights {
            mailbox,
            identifier,
        } => {
            w.sp().mailbox(mailbox).sp().astring(identifier);
        }
        C::Search {
            return_opts,
            charset,
            criteria,
            ..
        } => {
            w.sp();
            if let Some(o) = return_opts {
                w.s("RETURN ");
                write_return_opts(w, o);
                w.sp();
            }
            if let Some(c) = charset {
                w.s("CHARSET ").astring(c).sp();
            }
            write_keys(w, criteria);
        }
        C::Fetch {
            set,
            items,
            modifiers,
            ..
        } => {
            w.sp().seq_set(set).sp();
            write_items(w, items);
            if !modifiers.is_empty() {
                w.sp();
                write_modifiers(w, modifiers);
            }
        }
        C::Store {
            set,
            unchanged_since,
            mode,
            silent,
            flags,
            ..
        } => {
            w.sp().seq_set(set).sp();
            if let Some(n) = unchanged_since {
                w.s("(UNCHANGEDSINCE ").num(*n).s(") ");
            }
            w.s(match mode {
                StoreMode::Replace => "FLAGS",
                StoreMode::Add => "+FLAGS",
                StoreMode::Remove => "-FLAGS",
            });
            if *silent {
                w.s(".SILENT");
            }
            w.sp().list(flags, |w, f| {
                w.flag(f);
            });
        }
        C::Copy { set, mailbox, .. } | C::Move { set, mailbox, .. } => {
            w.sp().seq_set(set).sp().mailbox(mailbox);
        }
        C::Sort {
            return_opts,
            criteria,
            charset,
            search,
            ..
        } => {
            w.sp();
            if let Some(o) = return_opts {
                w.s("RETURN ");
                write_return_opts(w, o);
                w.sp();
            }
            w.list(criteria, |w, c| {
                if c.reverse {
                    w.s("REVERSE ");
                }
                w.s(SortKey::ALL
                    .iter()
                    .find(|(_, k)| *k == c.key)
                    .map_or("", |(n, _)| n));
            });
            w.sp().astring(charset).sp();
            write_keys(w, search);
        }
        C::Thread {
            algorithm,
            charset,
            search,
            ..
        } => {
            w.sp().atom(algorithm).sp().astring(charset).sp();
            write_keys(w, search);
        }
    }
}
