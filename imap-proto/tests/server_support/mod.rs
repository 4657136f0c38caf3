//! An in-memory test store and several server sessions over it, driven on a virtual clock.
//! It lives in the tests: a store only as smart as the scenarios need, not a product.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Instant;

use mailhub_imap_proto::command::{StatusItem, StoreMode};
use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{
    MailboxChange, MailboxEntry, MessageInfo, SelectData, Server, ServerEvent, ServerOptions,
    StatusData, StoredFlags,
};
use mailhub_imap_proto::types::{Date, DateTime, Flag, FlagPerm, MailboxAttr};

/// One stored message.
#[derive(Debug, Clone)]
pub struct Stored {
    pub uid: u32,
    pub flags: Vec<Flag>,
    pub data: Vec<u8>,
    pub date: DateTime,
    pub modseq: u64,
    /// The session that sees it as `\Recent`.
    pub recent_owner: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Mailbox {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub modseq: u64,
    pub messages: Vec<Stored>,
    /// Expunged UIDs with the mod-sequence of their expunge (RFC 7162 §3.2), for QRESYNC.
    pub expunged: Vec<(u32, u64)>,
    /// The store forgot its expunges (QRESYNC falls back to "not here").
    pub forgets_expunges: bool,
}

impl Mailbox {
    pub fn new(uid_validity: u32) -> Self {
        Mailbox {
            uid_validity,
            uid_next: 1,
            modseq: 1,
            messages: Vec::new(),
            expunged: Vec::new(),
            forgets_expunges: false,
        }
    }
}

/// A session: the engine plus what the scripted caller knows.
pub struct Client {
    pub server: Server,
    pub selected: Option<String>,
    pub events: Vec<ServerEvent>,
}

/// The store and every session on it.
/// An APPEND being received: destination, then (flags, octets) per message.
pub struct PendingAppend {
    pub mailbox: String,
    pub messages: Vec<(Vec<Flag>, Vec<u8>)>,
}

pub struct World {
    /// Answer QUOTA and ACL events from [`World::acl`] and the mailbox sizes (the admin
    /// tests answer them by hand instead).
    pub admin: bool,
    /// Rights per mailbox and identifier, for ACL.
    pub acl: BTreeMap<(String, String), String>,
    pub appending: Option<PendingAppend>,
    /// Largest message the store takes.
    pub max_message: u64,
    pub mailboxes: BTreeMap<String, Mailbox>,
    pub subscribed: std::collections::BTreeSet<String>,
    pub special: BTreeMap<String, Vec<MailboxAttr>>,
    next_validity: u32,
    pub clients: Vec<Client>,
    pub now: Instant,
}

pub fn date(day: u8) -> DateTime {
    DateTime::new(Date::new(2024, 1, day).unwrap(), 10, 0, 0, 60).unwrap()
}

pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn info(m: &Stored, me: usize) -> MessageInfo {
    MessageInfo {
        uid: nz(m.uid),
        flags: m.flags.clone(),
        size: m.data.len() as u64,
        internal_date: m.date,
        modseq: m.modseq,
        recent: m.recent_owner == Some(me),
    }
}

impl World {
    pub fn new() -> Self {
        let mut w = World {
            admin: false,
            acl: BTreeMap::new(),
            appending: None,
            max_message: 1_000_000,
            mailboxes: BTreeMap::new(),
            subscribed: Default::default(),
            special: BTreeMap::new(),
            next_validity: 100,
            clients: Vec::new(),
            now: Instant::now(),
        };
        w.mailboxes.insert("INBOX".into(), Mailbox::new(3857529045));
        w
    }

    /// Delivers a message into a mailbox as an outside agent (an MTA); the first session that
    /// has the mailbox selected gets `\Recent`.
    pub fn deliver(&mut self, mailbox: &str, data: &[u8], flags: Vec<Flag>) -> u32 {
        let owner = self.clients.iter().position(|c| {
            c.selected.as_deref() == Some(mailbox) && c.server.is_read_only() == Some(false)
        });
        let mb = self.mailboxes.get_mut(mailbox).unwrap();
        let uid = mb.uid_next;
        mb.uid_next += 1;
        mb.modseq += 1;
        let m = Stored {
            uid,
            flags,
            data: data.to_vec(),
            date: date(1),
            modseq: mb.modseq,
            recent_owner: owner,
        };
        mb.messages.push(m.clone());
        for (i, c) in self.clients.iter_mut().enumerate() {
            if c.selected.as_deref() == Some(mailbox) {
                let change = MailboxChange::Appended(vec![info(&m, i)]);
                c.server.mailbox_changed(change);
            }
        }
        uid
    }

    /// Sets a message's flags as another session would, and tells every watcher.
    pub fn set_flags(&mut self, mailbox: &str, uid: u32, flags: Vec<Flag>) {
        let mb = self.mailboxes.get_mut(mailbox).unwrap();
        mb.modseq += 1;
        let modseq = mb.modseq;
        let m = mb.messages.iter_mut().find(|m| m.uid == uid).unwrap();
        m.flags = flags.clone();
        m.modseq = modseq;
        for c in &mut self.clients {
            if c.selected.as_deref() == Some(mailbox) {
                let change = MailboxChange::Flags {
                    uid: nz(uid),
                    flags: flags.clone(),
                    modseq,
                };
                c.server.mailbox_changed(change);
            }
        }
    }

    /// Expunges messages as another session would, and tells every watcher.
    pub fn expunge(&mut self, mailbox: &str, uids: &[u32]) {
        let mb = self.mailboxes.get_mut(mailbox).unwrap();
        mb.modseq += 1;
        mb.messages.retain(|m| !uids.contains(&m.uid));
        let modseq = mb.modseq;
        mb.expunged.extend(uids.iter().map(|u| (*u, modseq)));
        for c in &mut self.clients {
            if c.selected.as_deref() == Some(mailbox) {
                let change = MailboxChange::Expunged(uids.iter().map(|u| nz(*u)).collect());
                c.server.mailbox_changed(change);
            }
        }
    }

    /// Opens a session that is logged in as `fred` (PREAUTH) and drops the greeting.
    pub fn connect(&mut self, mut options: ServerOptions) -> usize {
        options.greeting = mailhub_imap_proto::server::Greeting::PreAuth {
            user: "fred".into(),
        };
        let mut server = Server::new(options, self.now);
        let _ = server.poll_transmit();
        self.clients.push(Client {
            server,
            selected: None,
            events: Vec::new(),
        });
        self.clients.len() - 1
    }

    /// Opens a PREAUTH session (`fred`) and returns it with its greeting, for a client engine.
    pub fn connect_greeted(&mut self, mut options: ServerOptions) -> (usize, Vec<u8>) {
        options.greeting = mailhub_imap_proto::server::Greeting::PreAuth {
            user: "fred".into(),
        };
        let mut server = Server::new(options, self.now);
        let greeting = server.poll_transmit().unwrap_or_default();
        self.clients.push(Client {
            server,
            selected: None,
            events: Vec::new(),
        });
        (self.clients.len() - 1, greeting)
    }

    /// Feeds octets to session `i`, answers its events, returns its output (also what it
    /// queued without input, such as IDLE updates).
    pub fn send_bytes(&mut self, i: usize, input: &[u8]) -> Vec<u8> {
        self.clients[i].server.handle_input(input);
        self.run(i);
        self.clients[i].server.poll_transmit().unwrap_or_default()
    }

    /// Feeds input to session `i`, answers its events from the store, returns its output.
    pub fn send(&mut self, i: usize, input: &str) -> String {
        self.clients[i].server.handle_input(input.as_bytes());
        self.run(i);
        let out = self.clients[i].server.poll_transmit().unwrap_or_default();
        String::from_utf8(out).unwrap()
    }

    /// Output queued by session `i` without new input (IDLE updates).
    pub fn output(&mut self, i: usize) -> String {
        let out = self.clients[i].server.poll_transmit().unwrap_or_default();
        String::from_utf8(out).unwrap()
    }

    fn run(&mut self, i: usize) {
        while let Some(e) = self.clients[i].server.poll_event() {
            match &e {
                ServerEvent::Select {
                    mailbox, read_only, ..
                } => match self.mailboxes.get_mut(mailbox.as_str()) {
                    Some(mb) => {
                        // \Recent goes to this session for messages nobody has seen yet.
                        for m in &mut mb.messages {
                            if m.recent_owner.is_none() && !*read_only {
                                m.recent_owner = Some(i);
                            }
                        }
                        let data = SelectData {
                            uid_validity: nz(mb.uid_validity),
                            uid_next: nz(mb.uid_next),
                            highest_modseq: Some(mb.modseq),
                            flags: vec![
                                Flag::Answered,
                                Flag::Flagged,
                                Flag::Deleted,
                                Flag::Seen,
                                Flag::Draft,
                            ],
                            permanent_flags: vec![
                                FlagPerm::Flag(Flag::Deleted),
                                FlagPerm::Flag(Flag::Seen),
                                FlagPerm::Wildcard,
                            ],
                            read_only: false,
                            messages: mb.messages.iter().map(|m| info(m, i)).collect(),
                        };
                        self.clients[i].selected = Some(mailbox.clone());
                        self.clients[i].server.select_mailbox(data).unwrap();
                    }
                    None => {
                        let code = Some(Code::NonExistent);
                        self.clients[i]
                            .server
                            .reject(code, "No such mailbox")
                            .unwrap();
                    }
                },
                ServerEvent::Create {
                    mailbox,
                    special_use,
                    ..
                } => {
                    let r = if self.mailboxes.contains_key(mailbox) {
                        Err((Code::AlreadyExists, "Mailbox exists"))
                    } else {
                        self.next_validity += 1;
                        let v = self.next_validity;
                        self.mailboxes.insert(mailbox.clone(), Mailbox::new(v));
                        if !special_use.is_empty() {
                            self.special.insert(mailbox.clone(), special_use.clone());
                        }
                        Ok(())
                    };
                    self.answer(i, r);
                }
                ServerEvent::Delete { mailbox, .. } => {
                    let r = match self.mailboxes.remove(mailbox) {
                        Some(_) => Ok(()),
                        None => Err((Code::NonExistent, "No such mailbox")),
                    };
                    self.answer(i, r);
                }
                ServerEvent::Rename { from, to, .. } => {
                    let r = self.rename(from, to);
                    self.answer(i, r);
                }
                ServerEvent::Subscribe {
                    mailbox, subscribe, ..
                } => {
                    if *subscribe {
                        self.subscribed.insert(mailbox.clone());
                    } else {
                        self.subscribed.remove(mailbox);
                    }
                    self.answer(i, Ok(()));
                }
                ServerEvent::ListMailboxes { .. } => {
                    let mut names: std::collections::BTreeSet<String> =
                        self.mailboxes.keys().cloned().collect();
                    names.extend(self.subscribed.iter().cloned());
                    let entries: Vec<MailboxEntry> = names
                        .into_iter()
                        .map(|n| {
                            let mut e = MailboxEntry::new(n.clone());
                            e.exists = self.mailboxes.contains_key(&n);
                            e.subscribed = self.subscribed.contains(&n);
                            e.special_use = self.special.get(&n).cloned().unwrap_or_default();
                            e
                        })
                        .collect();
                    self.clients[i].server.mailbox_list(&entries).unwrap();
                }
                ServerEvent::Status { mailbox, items, .. } => {
                    match self.mailboxes.get(mailbox.as_str()) {
                        Some(mb) => {
                            let _: &Vec<StatusItem> = items;
                            let count = |f: &Flag| {
                                mb.messages.iter().filter(|m| m.flags.contains(f)).count() as u32
                            };
                            let data = StatusData {
                                messages: mb.messages.len() as u32,
                                recent: mb
                                    .messages
                                    .iter()
                                    .filter(|m| m.recent_owner.is_none())
                                    .count() as u32,
                                uid_next: mb.uid_next,
                                uid_validity: mb.uid_validity,
                                unseen: mb.messages.len() as u32 - count(&Flag::Seen),
                                deleted: count(&Flag::Deleted),
                                size: mb.messages.iter().map(|m| m.data.len() as u64).sum(),
                                highest_modseq: mb.modseq,
                                append_limit: None,
                            };
                            self.clients[i].server.mailbox_status(&data).unwrap();
                        }
                        None => {
                            let code = Some(Code::NonExistent);
                            self.clients[i]
                                .server
                                .reject(code, "No such mailbox")
                                .unwrap();
                        }
                    }
                }
                ServerEvent::Expunge { mailbox, uids, .. } => {
                    let uids: Vec<u32> = uids.iter().map(|u| u.get()).collect();
                    let mb = self.mailboxes.get_mut(mailbox.as_str()).unwrap();
                    let removed: Vec<NonZeroU32> = mb
                        .messages
                        .iter()
                        .filter(|m| uids.contains(&m.uid))
                        .map(|m| nz(m.uid))
                        .collect();
                    mb.messages.retain(|m| !uids.contains(&m.uid));
                    mb.modseq += 1;
                    let modseq = mb.modseq;
                    mb.expunged
                        .extend(removed.iter().map(|u| (u.get(), modseq)));
                    self.clients[i]
                        .server
                        .expunged_at(&removed, Some(modseq))
                        .unwrap();
                    self.notify_others(i, mailbox, MailboxChange::Expunged(removed));
                }
                ServerEvent::Store {
                    mailbox,
                    uids,
                    mode,
                    flags,
                    ..
                } => {
                    let mb = self.mailboxes.get_mut(mailbox.as_str()).unwrap();
                    let mut result = Vec::new();
                    for m in &mut mb.messages {
                        if !uids.contains(&nz(m.uid)) {
                            continue;
                        }
                        match mode {
                            StoreMode::Replace => m.flags = flags.clone(),
                            StoreMode::Add => {
                                for f in flags {
                                    if !m.flags.contains(f) {
                                        m.flags.push(f.clone());
                                    }
                                }
                            }
                            StoreMode::Remove => m.flags.retain(|f| !flags.contains(f)),
                        }
                        mb.modseq += 1;
                        m.modseq = mb.modseq;
                        result.push(StoredFlags {
                            uid: nz(m.uid),
                            flags: m.flags.clone(),
                            modseq: m.modseq,
                        });
                    }
                    self.clients[i].server.stored(&result).unwrap();
                    for r in result {
                        let change = MailboxChange::Flags {
                            uid: r.uid,
                            flags: r.flags,
                            modseq: r.modseq,
                        };
                        self.notify_others(i, mailbox, change);
                    }
                }
                ServerEvent::Copy {
                    mailbox,
                    uids,
                    destination,
                    is_move,
                    ..
                } => {
                    if !self.mailboxes.contains_key(destination.as_str()) {
                        let code = Some(Code::TryCreate);
                        self.clients[i]
                            .server
                            .reject(code, "No such mailbox")
                            .unwrap();
                    } else {
                        let src: Vec<Stored> = self.mailboxes[mailbox.as_str()]
                            .messages
                            .iter()
                            .filter(|m| uids.contains(&nz(m.uid)))
                            .cloned()
                            .collect();
                        let dst = self.mailboxes.get_mut(destination.as_str()).unwrap();
                        let mut pairs = Vec::new();
                        let mut added = Vec::new();
                        for mut m in src {
                            let old = m.uid;
                            m.uid = dst.uid_next;
                            dst.uid_next += 1;
                            dst.modseq += 1;
                            m.modseq = dst.modseq;
                            m.recent_owner = None;
                            pairs.push((nz(old), nz(m.uid)));
                            added.push(m.clone());
                            dst.messages.push(m);
                        }
                        let validity = nz(dst.uid_validity);
                        if *is_move {
                            let mb = self.mailboxes.get_mut(mailbox.as_str()).unwrap();
                            mb.messages.retain(|m| !uids.contains(&nz(m.uid)));
                            mb.modseq += 1;
                            let modseq = mb.modseq;
                            mb.expunged.extend(uids.iter().map(|u| (u.get(), modseq)));
                        }
                        self.clients[i].server.copied(validity, &pairs).unwrap();
                        for (k, c) in self.clients.iter_mut().enumerate() {
                            if c.selected.as_deref() == Some(destination.as_str()) {
                                let infos = added.iter().map(|m| info(m, k)).collect();
                                c.server.mailbox_changed(MailboxChange::Appended(infos));
                            }
                        }
                        if *is_move {
                            let gone = pairs.iter().map(|p| p.0).collect();
                            self.notify_others(i, mailbox, MailboxChange::Expunged(gone));
                        }
                    }
                }
                ServerEvent::Append {
                    mailbox,
                    flags,
                    length,
                    ..
                } => {
                    if !self.mailboxes.contains_key(mailbox.as_str()) {
                        self.appending = None;
                        let code = Some(Code::TryCreate);
                        self.clients[i]
                            .server
                            .reject(code, "No such mailbox")
                            .unwrap();
                    } else if *length > self.max_message {
                        self.appending = None;
                        let code = Some(Code::TooBig);
                        self.clients[i].server.reject(code, "Too big").unwrap();
                    } else {
                        let p = self.appending.get_or_insert(PendingAppend {
                            mailbox: mailbox.clone(),
                            messages: Vec::new(),
                        });
                        p.messages.push((flags.clone(), Vec::new()));
                        self.clients[i].server.accept_append().unwrap();
                    }
                }
                ServerEvent::AppendData { data, .. } => {
                    let p = self.appending.as_mut().unwrap();
                    p.messages.last_mut().unwrap().1.extend_from_slice(data);
                }
                ServerEvent::AppendAborted => self.appending = None,
                ServerEvent::AppendCommit { .. } => {
                    let p = self.appending.take().unwrap();
                    let mut uids = Vec::new();
                    for (flags, data) in p.messages {
                        uids.push(nz(self.deliver(&p.mailbox, &data, flags)));
                    }
                    let v = nz(self.mailboxes[p.mailbox.as_str()].uid_validity);
                    self.clients[i].server.appended(v, &uids).unwrap();
                }
                ServerEvent::FetchMessage { mailbox, uid, .. } => {
                    let data = self.mailboxes[mailbox.as_str()]
                        .messages
                        .iter()
                        .find(|m| m.uid == uid.get())
                        .map(|m| m.data.clone());
                    match data {
                        Some(d) => self.clients[i].server.fetch_message(&d).unwrap(),
                        None => self.clients[i].server.fetch_missing().unwrap(),
                    }
                }
                ServerEvent::ExpungedSince {
                    mailbox,
                    modseq,
                    uids,
                    ..
                } => {
                    let mb = &self.mailboxes[mailbox.as_str()];
                    if mb.forgets_expunges {
                        self.clients[i].server.expunged_since(None).unwrap();
                    } else {
                        let gone: Vec<NonZeroU32> = mb
                            .expunged
                            .iter()
                            .filter(|(u, m)| *m > *modseq && uids.contains(*u, 0))
                            .map(|(u, _)| nz(*u))
                            .collect();
                        self.clients[i].server.expunged_since(Some(&gone)).unwrap();
                    }
                }
                ServerEvent::GetQuota { root, .. } if self.admin => {
                    let q = self.quota_of(root);
                    self.clients[i].server.quota(&q).unwrap();
                }
                ServerEvent::GetQuotaRoot { .. } if self.admin => {
                    let q = self.quota_of("");
                    self.clients[i].server.quota(&q).unwrap();
                }
                ServerEvent::SetQuota { .. } if self.admin => {
                    let code = Some(Code::NoPerm);
                    let r = self.clients[i]
                        .server
                        .reject(code, "Set by the administrator");
                    r.unwrap();
                }
                ServerEvent::SetAcl {
                    mailbox,
                    identifier,
                    rights,
                    ..
                } if self.admin => {
                    let key = (mailbox.clone(), identifier.clone());
                    let now = self.acl.get(&key).cloned().unwrap_or_default();
                    let new: String = if let Some(add) = rights.strip_prefix('+') {
                        let mut v: Vec<char> = now.chars().chain(add.chars()).collect();
                        v.sort_unstable();
                        v.dedup();
                        v.into_iter().collect()
                    } else if let Some(del) = rights.strip_prefix('-') {
                        now.chars().filter(|c| !del.contains(*c)).collect()
                    } else {
                        rights.clone()
                    };
                    self.acl.insert(key, new);
                    self.clients[i].server.done().unwrap();
                }
                ServerEvent::DeleteAcl {
                    mailbox,
                    identifier,
                    ..
                } if self.admin => {
                    self.acl.remove(&(mailbox.clone(), identifier.clone()));
                    self.clients[i].server.done().unwrap();
                }
                ServerEvent::GetAcl { mailbox, .. } if self.admin => {
                    let entries: Vec<(String, String)> = self
                        .acl
                        .iter()
                        .filter(|((m, _), _)| m == mailbox)
                        .map(|((_, who), r)| (who.clone(), r.clone()))
                        .collect();
                    self.clients[i].server.acl(&entries).unwrap();
                }
                ServerEvent::ListRights { .. } if self.admin => {
                    let groups = [("", "la"), ("", "r"), ("", "swite"), ("", "k"), ("", "x")];
                    let entries: Vec<(String, String)> = groups
                        .iter()
                        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                        .collect();
                    self.clients[i].server.acl(&entries).unwrap();
                }
                ServerEvent::MyRights { .. } if self.admin => {
                    let entries = [(String::new(), "lrswipkxtea".to_string())];
                    self.clients[i].server.acl(&entries).unwrap();
                }
                // The test store's only password.
                ServerEvent::Login {
                    username, password, ..
                } => {
                    if password.expose().as_slice() == b"sesame" {
                        let user = username.clone();
                        self.clients[i].server.accept_login(user).unwrap();
                    } else {
                        let code = Some(Code::AuthenticationFailed);
                        self.clients[i].server.reject(code, "No").unwrap();
                    }
                }
                ServerEvent::Unselected | ServerEvent::Closed { .. } => {
                    self.clients[i].selected = None;
                }
                _ => {}
            }
            self.clients[i].events.push(e);
        }
    }
}

impl World {
    /// The one quota root `""`: storage in KiB and messages, over every mailbox.
    fn quota_of(
        &self,
        root: &str,
    ) -> Vec<(String, Vec<mailhub_imap_proto::response::QuotaResource>)> {
        use mailhub_imap_proto::response::QuotaResource;
        use mailhub_imap_proto::types::Atom;
        if !root.is_empty() {
            return Vec::new();
        }
        let msgs = self.mailboxes.values().flat_map(|m| &m.messages);
        let bytes: u64 = msgs.clone().map(|m| m.data.len() as u64).sum();
        let res = |name: &str, usage, limit| QuotaResource {
            name: Atom::new(name).unwrap(),
            usage,
            limit,
        };
        vec![(
            String::new(),
            vec![
                res("STORAGE", bytes.div_ceil(1024), 1024),
                res("MESSAGE", msgs.count() as u64, 1000),
            ],
        )]
    }

    /// Tells every other session with `mailbox` selected.
    fn notify_others(&mut self, me: usize, mailbox: &str, change: MailboxChange) {
        for (k, c) in self.clients.iter_mut().enumerate() {
            if k != me && c.selected.as_deref() == Some(mailbox) {
                c.server.mailbox_changed(change.clone());
            }
        }
    }

    fn answer(&mut self, i: usize, r: Result<(), (Code, &str)>) {
        match r {
            Ok(()) => self.clients[i].server.done().unwrap(),
            Err((code, text)) => self.clients[i].server.reject(Some(code), text).unwrap(),
        }
    }

    /// RENAME with RFC 3501 §6.3.5's rules: children move along; INBOX's messages move and
    /// INBOX stays, empty.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), (Code, &'static str)> {
        if self.mailboxes.contains_key(to) {
            return Err((Code::AlreadyExists, "Mailbox exists"));
        }
        let Some(mb) = self.mailboxes.get_mut(from) else {
            return Err((Code::NonExistent, "No such mailbox"));
        };
        if from == "INBOX" {
            let mut moved = Mailbox::new(self.next_validity + 1);
            self.next_validity += 1;
            moved.messages = std::mem::take(&mut mb.messages);
            moved.uid_next = mb.uid_next;
            self.mailboxes.insert(to.to_string(), moved);
            return Ok(());
        }
        let prefix = format!("{from}/");
        let names: Vec<String> = self
            .mailboxes
            .keys()
            .filter(|n| *n == from || n.starts_with(&prefix))
            .cloned()
            .collect();
        for n in names {
            let mb = self.mailboxes.remove(&n).unwrap();
            self.mailboxes
                .insert(format!("{to}{}", &n[from.len()..]), mb);
        }
        Ok(())
    }
}

/// Lines of a transcript's `S:` part joined with CRLF.
pub fn lines(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}
