//! The response serializer: the inverse of the parser, byte-exact for parsed values.

use super::code::write_code;
use super::fetch::write_item;
use super::{Continue, Data, ESearchItem, ListEntry, ListExtItem, NamespaceDesc, Response, Thread};
use crate::encode::{Encoded, Writer};
use crate::types::{NString, Quoted};

fn write_delim(w: &mut Writer, d: Option<u8>) {
    match d {
        None => w.s("NIL"),
        Some(c) => w.quoted(&Quoted::from_checked(vec![c])),
    };
}

fn write_list_entry(w: &mut Writer, e: &ListEntry) {
    w.list(&e.attrs, |w, a| {
        w.attr(a);
    })
    .sp();
    write_delim(w, e.delimiter);
    w.sp().mailbox(&e.mailbox);
    if !e.extended.is_empty() {
        w.sp().list(&e.extended, |w, x| match x {
            ListExtItem::ChildInfo(v) => {
                w.s("\"CHILDINFO\" ").list(v, |w, s| {
                    w.string(s);
                });
            }
            ListExtItem::OldName(m) => {
                w.s("\"OLDNAME\" (").mailbox(m).byte(b')');
            }
            ListExtItem::Other(t, v) => {
                w.string(t).sp();
                super::ext::write_ext_value(w, v);
            }
        });
    }
}

fn write_thread(w: &mut Writer, t: &Thread) {
    w.byte(b'(');
    w.sep(&t.members, b' ', |w, n| {
        w.num(n.get());
    });
    if !t.members.is_empty() && !t.children.is_empty() {
        w.sp();
    }
    for c in &t.children {
        write_thread(w, c);
    }
    w.byte(b')');
}

fn write_namespaces(w: &mut Writer, n: &Option<Vec<NamespaceDesc>>) {
    let Some(v) = n else {
        w.s("NIL");
        return;
    };
    w.byte(b'(');
    for d in v {
        w.byte(b'(').string(&d.prefix).sp();
        write_delim(w, d.delimiter);
        for (name, vals) in &d.extensions {
            w.sp().string(name).sp().list(vals, |w, s| {
                w.string(s);
            });
        }
        w.byte(b')');
    }
    w.byte(b')');
}

fn write_data(w: &mut Writer, d: &Data) {
    match d {
        Data::Capability(v) | Data::Enabled(v) => {
            w.s(if matches!(d, Data::Capability(_)) {
                "CAPABILITY"
            } else {
                "ENABLED"
            });
            for a in v {
                w.sp().atom(a);
            }
        }
        Data::List(e) => {
            w.s("LIST ");
            write_list_entry(w, e);
        }
        Data::Lsub(e) => {
            w.s("LSUB ");
            write_list_entry(w, e);
        }
        Data::Status { mailbox, items } => {
            w.s("STATUS ")
                .mailbox(mailbox)
                .sp()
                .list(items, |w, (k, n)| {
                    w.s(k.name()).sp();
                    match n {
                        Some(n) => w.num(*n),
                        None => w.s("NIL"),
                    };
                });
        }
        Data::Search { ids, modseq } | Data::Sort { ids, modseq } => {
            w.s(if matches!(d, Data::Search { .. }) {
                "SEARCH"
            } else {
                "SORT"
            });
            w.buf.reserve(ids.len() * 8);
            for n in ids {
                w.sp().num(n.get());
            }
            if let Some(m) = modseq {
                w.s(" (MODSEQ ").num(*m).byte(b')');
            }
        }
        Data::ESearch { tag, uid, items } => {
            w.s("ESEARCH");
            if let Some(t) = tag {
                w.s(" (TAG \"").tag(t).s("\")");
            }
            if *uid {
                w.s(" UID");
            }
            for it in items {
                match it {
                    ESearchItem::Min(n) => w.s(" MIN ").num(n.get()),
                    ESearchItem::Max(n) => w.s(" MAX ").num(n.get()),
                    ESearchItem::All(s) => w.s(" ALL ").seq_set(s),
                    ESearchItem::Count(n) => w.s(" COUNT ").num(*n),
                    ESearchItem::ModSeq(n) => w.s(" MODSEQ ").num(*n),
                };
            }
        }
        Data::Thread(v) => {
            w.s("THREAD");
            if !v.is_empty() {
                w.sp();
            }
            for t in v {
                write_thread(w, t);
            }
        }
        Data::Flags(f) => {
            w.s("FLAGS ").list(f, |w, f| {
                w.flag(f);
            });
        }
        Data::Exists(n) => {
            w.num(*n).s(" EXISTS");
        }
        Data::Recent(n) => {
            w.num(*n).s(" RECENT");
        }
        Data::Expunge(n) => {
            w.num(n.get()).s(" EXPUNGE");
        }
        Data::Vanished { earlier, uids } => {
            w.s(if *earlier {
                "VANISHED (EARLIER) "
            } else {
                "VANISHED "
            })
            .seq_set(uids);
        }
        Data::Fetch { seq, items } => {
            w.num(seq.get()).s(" FETCH ").list(items, write_item);
        }
        Data::Namespace {
            personal,
            other,
            shared,
        } => {
            w.s("NAMESPACE ");
            write_namespaces(w, personal);
            w.sp();
            write_namespaces(w, other);
            w.sp();
            write_namespaces(w, shared);
        }
        Data::Id(None) => {
            w.s("ID NIL");
        }
        Data::Id(Some(v)) => {
            w.s("ID ").list(v, |w, (k, v): &(_, NString)| {
                w.string(k).sp().nstring(v);
            });
        }
        Data::Quota { root, resources } => {
            w.s("QUOTA ").astring(root).sp().list(resources, |w, r| {
                w.atom(&r.name).sp().num(r.usage).sp().num(r.limit);
            });
        }
        Data::QuotaRoot { mailbox, roots } => {
            w.s("QUOTAROOT ").mailbox(mailbox);
            for r in roots {
                w.sp().astring(r);
            }
        }
        Data::Acl { mailbox, entries } => {
            w.s("ACL ").mailbox(mailbox);
            for (who, rights) in entries {
                w.sp().astring(who).sp().astring(rights);
            }
        }
        Data::ListRights {
            mailbox,
            identifier,
            required,
            optional,
        } => {
            w.s("LISTRIGHTS ")
                .mailbox(mailbox)
                .sp()
                .astring(identifier)
                .sp()
                .astring(required);
            for o in optional {
                w.sp().astring(o);
            }
        }
        Data::MyRights { mailbox, rights } => {
            w.s("MYRIGHTS ").mailbox(mailbox).sp().astring(rights);
        }
    }
}

impl Response {
    /// Serializes the response, CRLF included.
    #[must_use]
    pub fn encode(&self) -> Encoded {
        let mut w = Writer::default();
        match self {
            Response::Status(s) => {
                match &s.tag {
                    Some(t) => w.tag(t),
                    None => w.byte(b'*'),
                };
                w.sp().s(s.kind.name());
                if let Some(c) = &s.code {
                    w.s(" [");
                    write_code(&mut w, c);
                    w.byte(b']');
                }
                if !s.text.is_empty() {
                    w.sp().s(&s.text);
                }
            }
            Response::Data(d) => {
                w.s("* ");
                write_data(&mut w, d);
            }
            Response::Continue(Continue::Base64(b)) => {
                w.s("+ ").raw(b);
            }
            Response::Continue(Continue::Text { code, text }) => {
                w.s("+");
                if let Some(c) = code {
                    w.s(" [");
                    write_code(&mut w, c);
                    w.byte(b']');
                }
                if !text.is_empty() || code.is_none() {
                    w.sp().s(text);
                }
            }
        }
        w.crlf();
        w.finish()
    }

    /// Serializes the response into one buffer.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode().into_bytes()
    }
}
