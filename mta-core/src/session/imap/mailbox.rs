//! The IMAP driver's answers to the engine's mailbox questions, from the user's
//! [`UserStore`](crate::store::UserStore): SELECT/EXAMINE (RFC 9051 §6.3.2), CREATE, DELETE,
//! RENAME (INBOX's special form, §6.3.6), SUBSCRIBE, LIST, STATUS (§6.3.4–§6.3.11), APPEND
//! (§6.3.12, MULTIAPPEND RFC 3502 all or nothing), EXPUNGE, STORE, COPY/MOVE (§6.4, RFC 6851),
//! the message octets FETCH and SEARCH render, and QUOTA (RFC 9208 §4).
//!
//! A FETCH of nothing but the whole message (`BODY[]`, `BODY.PEEK[]`, `RFC822`, RFC 3501
//! §6.4.5) is streamed: its literal is announced with the message's RFC 822 size and the
//! store's chunks follow, each sent before the next is read, so a large message never sits
//! whole in memory. QRESYNC's question about expunges since a mod-sequence (RFC 7162
//! §3.2.5.2) goes to [`UserStore::expunged_since`](crate::store::UserStore::expunged_since).
//!
//! The driver keeps what the client was told about each message's flags ([`Selected`]); a
//! change announced by the store's subscription is turned into the engine's
//! [`MailboxChange`]s by selecting the mailbox again and comparing, so this session's own
//! changes, which the store announces too, are not reported twice.
//!
//! `\Recent` (RFC 3501 §2.3.2) is given to one session only, the first to see a message:
//! a read-write SELECT of an IMAP4rev1 session claims the messages it finds, and each
//! re-read claims the new ones, through
//! [`UserStore::claim_recent`](crate::store::UserStore::claim_recent); the store makes the
//! claim atomic across sessions. STATUS (RECENT) counts the messages nobody claimed yet
//! ([`UserStore::unclaimed_recent`](crate::store::UserStore::unclaimed_recent)).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::num::NonZeroU32;

use futures::io::{AsyncRead, AsyncWrite};
use mailhub_imap_proto::command::StoreMode;
use mailhub_imap_proto::response::{Code, QuotaResource};
use mailhub_imap_proto::server::{
    MailboxChange, MailboxEntry, MessageInfo, SelectData, ServerEvent, StatusData, StoredFlags,
};
use mailhub_imap_proto::types::{Atom, Flag, FlagPerm, MailboxAttr};

use super::convert::{
    CrlfStream, crlf, flags_from_imap, flags_to_imap, message_info, nz, system_time,
};
use super::spool::{SPOOL_OVER, SpoolFile};
use super::{Session, usage};
use crate::store::{
    AppendRequest, Change, FlagOp, FlagSet, INBOX, MailboxSnapshot, MessageBody, SpecialUse,
    StoreError, Uid, UserStore, is_inbox,
};
use std::sync::Arc;

/// The selected mailbox as this session's client knows it.
#[derive(Debug)]
pub(super) struct Selected {
    name: String,
    /// Flags per UID, as last reported.
    known: BTreeMap<Uid, FlagSet>,
    /// RFC 822 sizes per UID: a streamed `BODY[]` is that many octets (the `RFC822.SIZE`
    /// the client was told), announced before the store is read.
    sizes: HashMap<Uid, u64>,
    /// Whether this session claims `\Recent` for the messages it learns of: SELECT in an
    /// IMAP4rev1 session does; EXAMINE (RFC 3501 §6.3.2: "no messages are marked as no
    /// longer \Recent") and IMAP4rev2 sessions (RFC 9051 has no `\Recent`) do not.
    claims_recent: bool,
}

/// The messages of the APPEND in progress.
#[derive(Debug, Default)]
pub(super) struct Appending {
    mailbox: String,
    done: Vec<AppendRequest>,
    current: Option<AppendRequest>,
    buf: Vec<u8>,
    /// The current message's spool file, when it goes to one.
    file: Option<SpoolFile>,
    /// Spooled messages of the command, removed once it completes.
    files: Vec<SpoolFile>,
    /// Writing the spool failed: the commit is refused.
    failed: bool,
    total: u64,
}

/// The response code for a store failure.
fn store_code(e: &StoreError) -> (Option<Code>, &'static str) {
    match e {
        StoreError::NoSuchMailbox(_) => (Some(Code::NonExistent), "no such mailbox"),
        StoreError::MailboxExists(_) => (Some(Code::AlreadyExists), "mailbox exists"),
        StoreError::InvalidName(_) => (Some(Code::Cannot), "invalid mailbox name"),
        StoreError::OverQuota(_) => (Some(Code::OverQuota), "over quota"),
        StoreError::InUse => (Some(Code::InUse), "mailbox in use"),
        StoreError::NotPossible(_) => (Some(Code::Cannot), "not possible"),
        StoreError::NoSuchMessage(_) => (Some(Code::ExpungeIssued), "message expunged"),
        e if e.is_temporary() => (Some(Code::Unavailable), "mail store unavailable"),
        _ => (Some(Code::ServerBug), "mail store failed"),
    }
}

/// As [`store_code`], with `[TRYCREATE]` for a missing destination (RFC 9051 §6.3.12, §6.4.7).
fn destination_code(e: &StoreError) -> (Option<Code>, &'static str) {
    match e {
        StoreError::NoSuchMailbox(_) => (Some(Code::TryCreate), "no such mailbox"),
        e => store_code(e),
    }
}

fn nzs(uids: &[Uid]) -> Vec<NonZeroU32> {
    uids.iter().copied().map(nz).collect()
}

fn raw(uids: &[NonZeroU32]) -> Vec<Uid> {
    uids.iter().map(|u| u.get()).collect()
}

/// The FLAGS and PERMANENTFLAGS of a mailbox: the system flags, the keywords in use, and
/// `\*` (the stores keep any keyword).
fn mailbox_flags(snap: &MailboxSnapshot) -> (Vec<Flag>, Vec<FlagPerm>) {
    let mut flags = vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    let mut keywords = std::collections::BTreeSet::new();
    for m in &snap.messages {
        keywords.extend(m.flags.keywords.iter().map(String::as_str));
    }
    flags.extend(
        keywords
            .into_iter()
            .filter_map(|k| Atom::new(k).ok())
            .map(Flag::Keyword),
    );
    let mut perm: Vec<FlagPerm> = flags.iter().cloned().map(FlagPerm::Flag).collect();
    perm.push(FlagPerm::Wildcard);
    (flags, perm)
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<'_, S> {
    fn mail(&self) -> io::Result<Arc<dyn UserStore>> {
        self.mail
            .clone()
            .ok_or_else(|| io::Error::other("IMAP driver bug: mailbox command before login"))
    }

    fn reject_with(&mut self, (code, text): (Option<Code>, &'static str)) -> io::Result<()> {
        self.server.reject(code, text).map_err(usage)
    }

    /// Answers `r` with `done()` or the store error's code.
    fn done_or(&mut self, r: Result<(), StoreError>) -> io::Result<()> {
        match r {
            Ok(()) => self.server.done().map_err(usage),
            Err(e) => self.reject_with(store_code(&e)),
        }
    }

    pub(super) async fn mailbox_event(&mut self, ev: ServerEvent) -> io::Result<()> {
        let mail = self.mail()?;
        match ev {
            ServerEvent::Select {
                mailbox, read_only, ..
            } => self.select(&*mail, &mailbox, read_only).await,
            ServerEvent::Create { mailbox, .. } => {
                let r = mail.create(&mailbox).await;
                self.done_or(r)
            }
            ServerEvent::Delete { mailbox, .. } => {
                let r = mail.delete(&mailbox).await;
                self.done_or(r)
            }
            ServerEvent::Rename { from, to, .. } => {
                let r = if is_inbox(&from) {
                    rename_inbox(&*mail, &to).await
                } else {
                    mail.rename(&from, &to).await
                };
                self.done_or(r)
            }
            ServerEvent::Subscribe {
                mailbox, subscribe, ..
            } => {
                let r = mail.subscribe(&mailbox, subscribe).await;
                self.done_or(r)
            }
            ServerEvent::ListMailboxes { .. } => match mail.list().await {
                Ok(list) => {
                    let entries: Vec<MailboxEntry> = list
                        .into_iter()
                        .map(|m| {
                            let mut e = MailboxEntry::new(m.name);
                            e.subscribed = m.subscribed;
                            e.special_use = m.special_use.map(special_use).into_iter().collect();
                            e
                        })
                        .collect();
                    self.server.mailbox_list(&entries).map_err(usage)
                }
                Err(e) => self.reject_with(store_code(&e)),
            },
            ServerEvent::Status { mailbox, .. } => match mail.select(&mailbox).await {
                Ok(snap) => {
                    // Cheap after the select just made: a count, no claim (STATUS must not
                    // change what other sessions see as \Recent).
                    let recent = match mail.unclaimed_recent(&mailbox).await {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::debug!(mailbox, error = %e, "recent count unavailable");
                            0
                        }
                    };
                    let data = StatusData {
                        messages: snap.messages.len() as u32,
                        recent,
                        uid_next: snap.uid_next,
                        uid_validity: snap.uid_validity,
                        unseen: snap
                            .messages
                            .iter()
                            .filter(|m| !m.flags.system.contains(crate::store::SystemFlags::SEEN))
                            .count() as u32,
                        deleted: snap
                            .messages
                            .iter()
                            .filter(|m| m.flags.system.contains(crate::store::SystemFlags::DELETED))
                            .count() as u32,
                        size: snap.messages.iter().map(|m| m.size).sum(),
                        highest_modseq: snap.highest_modseq,
                        append_limit: Some(self.config.max_append),
                    };
                    self.server.mailbox_status(&data).map_err(usage)
                }
                Err(e) => self.reject_with(store_code(&e)),
            },
            ServerEvent::Expunge { mailbox, uids, .. } => {
                match mail.remove(&mailbox, &raw(&uids)).await {
                    Ok(removed) => {
                        if let Some(sel) = self.selected.as_mut() {
                            for u in &removed {
                                sel.known.remove(u);
                                sel.sizes.remove(u);
                            }
                        }
                        tracing::debug!(mailbox, expunged = removed.len(), "expunge");
                        // RFC 7162 §3.2.7: under QRESYNC the tagged OK carries the mailbox's
                        // new HIGHESTMODSEQ, which only the store knows.
                        let highest = if self.qresync && !removed.is_empty() {
                            match mail.select(&mailbox).await {
                                Ok(snap) => {
                                    (snap.highest_modseq > 0).then_some(snap.highest_modseq)
                                }
                                Err(_) => None,
                            }
                        } else {
                            None
                        };
                        self.server
                            .expunged_at(&nzs(&removed), highest)
                            .map_err(usage)
                    }
                    Err(e) => self.reject_with(store_code(&e)),
                }
            }
            ServerEvent::Store {
                mailbox,
                uids,
                mode,
                flags,
                ..
            } => {
                let op = match mode {
                    StoreMode::Add => FlagOp::Add,
                    StoreMode::Remove => FlagOp::Remove,
                    _ => FlagOp::Replace,
                };
                let set = flags_from_imap(&flags);
                match mail.store(&mailbox, &raw(&uids), op, &set).await {
                    Ok(metas) => {
                        let mut out = Vec::with_capacity(metas.len());
                        for m in metas {
                            out.push(StoredFlags {
                                uid: nz(m.uid),
                                flags: flags_to_imap(&m.flags),
                                modseq: m.modseq,
                            });
                            if let Some(sel) = self.selected.as_mut() {
                                sel.known.insert(m.uid, m.flags);
                            }
                        }
                        self.server.stored(&out).map_err(usage)
                    }
                    Err(e) => self.reject_with(store_code(&e)),
                }
            }
            ServerEvent::Copy {
                mailbox,
                uids,
                destination,
                is_move,
                ..
            } => {
                let uids = raw(&uids);
                let r = if is_move {
                    mail.move_messages(&mailbox, &uids, &destination).await
                } else {
                    mail.copy(&mailbox, &uids, &destination).await
                };
                match r {
                    Ok(res) => {
                        if is_move && let Some(sel) = self.selected.as_mut() {
                            for (src, _) in &res.uids {
                                sel.known.remove(src);
                                sel.sizes.remove(src);
                            }
                        }
                        let pairs: Vec<_> = res.uids.iter().map(|&(a, b)| (nz(a), nz(b))).collect();
                        self.server
                            .copied(nz(res.uid_validity), &pairs)
                            .map_err(usage)
                    }
                    Err(e) => self.reject_with(destination_code(&e)),
                }
            }
            ServerEvent::Append {
                mailbox,
                index,
                flags,
                date,
                length,
                ..
            } => {
                self.append_start(&*mail, mailbox, index, &flags, date, length)
                    .await
            }
            ServerEvent::AppendData { data, last } => {
                self.append_data(data, last).await;
                Ok(())
            }
            ServerEvent::AppendCommit { .. } => self.append_commit(&*mail).await,
            ServerEvent::AppendAborted => {
                self.append = Appending::default();
                Ok(())
            }
            ServerEvent::ExpungedSince {
                mailbox, modseq, ..
            } => {
                let uids = match mail.expunged_since(&mailbox, modseq).await {
                    Ok(u) => u,
                    Err(e) => {
                        // Not knowing is allowed (RFC 7162 §3.2.5): the engine falls back to
                        // the client's UIDs that are gone, and the SELECT still succeeds.
                        tracing::warn!(mailbox, error = %e, "expunge history unavailable");
                        None
                    }
                };
                let uids: Option<Vec<NonZeroU32>> =
                    uids.map(|u| u.into_iter().filter_map(NonZeroU32::new).collect());
                self.server.expunged_since(uids.as_deref()).map_err(usage)
            }
            ServerEvent::FetchMessage { mailbox, uid, .. } => {
                self.fetch(&*mail, &mailbox, uid.get()).await
            }
            ServerEvent::GetQuota { root, .. } => match mail.quota().await {
                Ok(Some(q)) if root.is_empty() => {
                    self.server.quota(&[(root, resources(&q))]).map_err(usage)
                }
                Ok(_) => self.reject_with((Some(Code::NonExistent), "no such quota root")),
                Err(e) => self.reject_with(store_code(&e)),
            },
            ServerEvent::GetQuotaRoot { .. } => match mail.quota().await {
                Ok(Some(q)) => self
                    .server
                    .quota(&[(String::new(), resources(&q))])
                    .map_err(usage),
                Ok(None) => self.server.quota(&[]).map_err(usage),
                Err(e) => self.reject_with(store_code(&e)),
            },
            ServerEvent::SetQuota { .. } => {
                self.reject_with((Some(Code::NoPerm), "quota is set by the administrator"))
            }
            other => {
                tracing::warn!(event = ?other, "unhandled IMAP event");
                // A decision left unanswered would stall the session; refuse it.
                let _ = self.server.reject(Some(Code::Cannot), "not supported");
                Ok(())
            }
        }
    }

    async fn select(
        &mut self,
        mail: &dyn UserStore,
        mailbox: &str,
        read_only: bool,
    ) -> io::Result<()> {
        self.unselect();
        // Watch before reading, so no change falls between the two; the comparison with
        // what the client knows drops the ones the snapshot already holds.
        let watch = mail.watch(mailbox);
        let claims_recent = !read_only && !self.server.is_enabled("IMAP4rev2");
        match mail.select(mailbox).await {
            Ok(snap) => {
                let claimed = if claims_recent {
                    let uids: Vec<Uid> = snap.messages.iter().map(|m| m.uid).collect();
                    claim_recent(mail, mailbox, &uids).await
                } else {
                    HashSet::new()
                };
                let (flags, permanent_flags) = mailbox_flags(&snap);
                let data = SelectData {
                    uid_validity: nz(snap.uid_validity),
                    uid_next: nz(snap.uid_next),
                    highest_modseq: (snap.highest_modseq > 0).then_some(snap.highest_modseq),
                    flags,
                    permanent_flags,
                    read_only,
                    messages: snap
                        .messages
                        .iter()
                        .map(|m| recent_info(m, &claimed))
                        .collect(),
                };
                let sizes = snap.messages.iter().map(|m| (m.uid, m.size)).collect();
                let known = snap
                    .messages
                    .into_iter()
                    .map(|m| (m.uid, m.flags))
                    .collect();
                self.selected = Some(Selected {
                    name: mailbox.to_owned(),
                    known,
                    sizes,
                    claims_recent,
                });
                self.watch = Some(watch);
                self.server.select_mailbox(data).map_err(usage)
            }
            Err(e) => self.reject_with(store_code(&e)),
        }
    }

    /// Turns announced changes of the selected mailbox into the engine's changes.
    pub(super) async fn changes(&mut self, changes: Vec<Change>) -> io::Result<()> {
        let Some(mail) = self.mail.clone() else {
            return Ok(());
        };
        let mut rescan = false;
        for c in changes {
            let Some(sel) = self.selected.as_mut() else {
                return Ok(());
            };
            match c {
                Change::Expunged { uids } => {
                    let gone: Vec<Uid> = uids
                        .into_iter()
                        .filter(|u| {
                            sel.sizes.remove(u);
                            sel.known.remove(u).is_some()
                        })
                        .collect();
                    if !gone.is_empty() {
                        self.server
                            .mailbox_changed(MailboxChange::Expunged(nzs(&gone)));
                    }
                }
                _ => rescan = true,
            }
        }
        let Some(name) = self.selected.as_ref().map(|s| s.name.clone()) else {
            return Ok(());
        };
        if !rescan {
            return Ok(());
        }
        let snap = match mail.select(&name).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(mailbox = name, error = %e, "re-reading the mailbox failed");
                return Ok(());
            }
        };
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        let max = sel.known.keys().next_back().copied().unwrap_or(0);
        let present: std::collections::HashSet<Uid> = snap.messages.iter().map(|m| m.uid).collect();
        let gone: Vec<Uid> = sel
            .known
            .keys()
            .copied()
            .filter(|u| !present.contains(u))
            .collect();
        for u in &gone {
            sel.known.remove(u);
            sel.sizes.remove(u);
        }
        let claimed = if sel.claims_recent {
            let new: Vec<Uid> = snap
                .messages
                .iter()
                .map(|m| m.uid)
                .filter(|u| *u > max)
                .collect();
            if new.is_empty() {
                HashSet::new()
            } else {
                claim_recent(&*mail, &name, &new).await
            }
        } else {
            HashSet::new()
        };
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        let mut added = Vec::new();
        let mut flagged = Vec::new();
        for m in snap.messages {
            if m.uid > max {
                added.push(recent_info(&m, &claimed));
                sel.sizes.insert(m.uid, m.size);
                sel.known.insert(m.uid, m.flags);
            } else if let Some(f) = sel.known.get_mut(&m.uid)
                && *f != m.flags
            {
                flagged.push(MailboxChange::Flags {
                    uid: nz(m.uid),
                    flags: flags_to_imap(&m.flags),
                    modseq: m.modseq,
                });
                *f = m.flags;
            }
        }
        if !gone.is_empty() {
            self.server
                .mailbox_changed(MailboxChange::Expunged(nzs(&gone)));
        }
        for f in flagged {
            self.server.mailbox_changed(f);
        }
        if !added.is_empty() {
            self.server.mailbox_changed(MailboxChange::Appended(added));
        }
        Ok(())
    }

    async fn fetch(&mut self, mail: &dyn UserStore, mailbox: &str, uid: Uid) -> io::Result<()> {
        let size = self
            .selected
            .as_ref()
            .and_then(|s| s.sizes.get(&uid))
            .copied();
        let streamable = self.server.fetch_streamable();
        let mut body = match mail.open_message(mailbox, uid).await {
            // CRLF conversion only adds octets: a store that is shorter than its own size
            // is inconsistent, and rendering checks nothing against the size.
            Ok(b) if streamable && size.is_some_and(|s| b.len() <= s) => {
                return self.fetch_streamed(b, uid, size.unwrap_or_default()).await;
            }
            Ok(b) if b.len() <= self.config.max_fetch => b,
            Ok(_) => {
                tracing::warn!(uid, "message too large to render");
                return self.server.fetch_missing().map_err(usage);
            }
            Err(e) => {
                tracing::debug!(uid, error = %e, "message not readable");
                return self.server.fetch_missing().map_err(usage);
            }
        };
        let mut raw = Vec::with_capacity(body.len() as usize);
        loop {
            match body.next_chunk().await {
                Ok(Some(c)) => raw.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(uid, error = %e, "reading message failed");
                    return self.server.fetch_missing().map_err(usage);
                }
            }
        }
        self.server.fetch_message(&crlf(raw)).map_err(usage)?;
        // Send each message's response before reading the next: output stays one message.
        self.flush().await
    }

    /// Streams message `uid` as the literal of its FETCH response: `size` octets with CRLF
    /// line ends, one store chunk in memory at a time. Once the literal is announced there is
    /// no taking it back (RFC 3501 §4.3 counts octets), so a store that fails or disagrees
    /// with its own size midway ends the session.
    async fn fetch_streamed(
        &mut self,
        mut body: Box<dyn MessageBody>,
        uid: Uid,
        size: u64,
    ) -> io::Result<()> {
        self.server.fetch_stream_start(size).map_err(usage)?;
        let mut left = size;
        let mut crlf = CrlfStream::default();
        loop {
            self.flush().await?;
            let chunk = match body.next_chunk().await {
                Ok(Some(c)) if c.is_empty() => continue,
                Ok(Some(c)) => crlf.convert(c),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(uid, error = %e, "reading message failed mid-FETCH");
                    return Err(io::Error::other(format!("message {uid} unreadable: {e}")));
                }
            };
            let Some(rest) = left.checked_sub(chunk.len() as u64) else {
                tracing::warn!(uid, size, "message longer than its size");
                return Err(io::Error::other(format!(
                    "message {uid} longer than its size"
                )));
            };
            left = rest;
            self.server.fetch_stream_data(&chunk).map_err(usage)?;
        }
        if left > 0 {
            tracing::warn!(uid, size, missing = left, "message shorter than its size");
            return Err(io::Error::other(format!(
                "message {uid} shorter than its size"
            )));
        }
        self.flush().await
    }

    async fn append_start(
        &mut self,
        mail: &dyn UserStore,
        mailbox: String,
        index: usize,
        flags: &[Flag],
        date: Option<mailhub_imap_proto::types::DateTime>,
        length: u64,
    ) -> io::Result<()> {
        if index == 0 {
            self.append = Appending {
                mailbox: mailbox.clone(),
                ..Appending::default()
            };
            let exists = match mail.list().await {
                Ok(list) => list
                    .iter()
                    .any(|m| m.name == mailbox || (is_inbox(&m.name) && is_inbox(&mailbox))),
                Err(e) => return self.reject_with(store_code(&e)),
            };
            if !exists {
                return self.reject_with((Some(Code::TryCreate), "no such mailbox"));
            }
        }
        let total = self.append.total.saturating_add(length);
        if total > self.config.max_append {
            tracing::info!(length, limit = self.config.max_append, "APPEND too big");
            self.append = Appending::default();
            return self.reject_with((Some(Code::TooBig), "message too big"));
        }
        if let Ok(Some(q)) = mail.quota().await
            && q.storage_limit
                .is_some_and(|l| q.storage_used.saturating_add(total) > l)
        {
            self.append = Appending::default();
            return self.reject_with((Some(Code::OverQuota), "over quota"));
        }
        self.append.total = total;
        if let Some(dir) = self.config.append_spool.as_deref()
            && length > SPOOL_OVER
        {
            match SpoolFile::create(&*self.config.runtime, dir).await {
                Ok(f) => self.append.file = Some(f),
                Err(e) => {
                    tracing::warn!(error = %e, "APPEND spool file not created");
                    self.append = Appending::default();
                    return self.reject_with((Some(Code::Unavailable), "cannot store now"));
                }
            }
        } else {
            self.append.buf = Vec::with_capacity(length as usize);
        }
        self.append.current = Some(AppendRequest {
            flags: flags_from_imap(flags),
            internal_date: date.map(system_time),
            ..AppendRequest::default()
        });
        self.server.accept_append().map_err(usage)
    }

    async fn append_data(&mut self, data: Vec<u8>, last: bool) {
        let rt = &*self.config.runtime;
        let a = &mut self.append;
        match a.file.as_mut() {
            Some(f) if !a.failed => {
                if let Err(e) = f.write(rt, data).await {
                    tracing::warn!(error = %e, "APPEND spool write failed");
                    a.failed = true;
                }
            }
            Some(_) => {}
            None => a.buf.extend_from_slice(&data),
        }
        if last && let Some(mut req) = a.current.take() {
            req.data = match a.file.take() {
                Some(mut f) => {
                    f.finish();
                    let d = f.data();
                    a.files.push(f);
                    d
                }
                None => std::mem::take(&mut a.buf).into(),
            };
            a.done.push(req);
        }
    }

    async fn append_commit(&mut self, mail: &dyn UserStore) -> io::Result<()> {
        // The spool files go at the end of this function, after the store took them.
        let Appending {
            mailbox,
            done,
            files: _spooled,
            failed,
            ..
        } = std::mem::take(&mut self.append);
        if failed {
            return self.reject_with((Some(Code::Unavailable), "cannot store now"));
        }
        let mut uids = Vec::with_capacity(done.len());
        let mut validity = 1;
        for req in done {
            match mail.append(&mailbox, req).await {
                Ok(r) => {
                    validity = r.uid_validity;
                    uids.push(r.uid);
                }
                Err(e) => {
                    // MULTIAPPEND is all or nothing (RFC 3502 §3): take back the ones stored.
                    if !uids.is_empty() {
                        let _ = mail.remove(&mailbox, &uids).await;
                    }
                    tracing::info!(mailbox, error = %e, "APPEND failed");
                    return self.reject_with(destination_code(&e));
                }
            }
        }
        tracing::info!(mailbox, messages = uids.len(), "appended");
        self.server
            .appended(nz(validity), &nzs(&uids))
            .map_err(usage)
    }
}

/// Claims `\Recent` for `uids`; a store that fails to claim gives none (the messages are
/// then nobody's `\Recent` in this session, which loses a hint and nothing else).
async fn claim_recent(mail: &dyn UserStore, mailbox: &str, uids: &[Uid]) -> HashSet<Uid> {
    match mail.claim_recent(mailbox, uids).await {
        Ok(c) => c.into_iter().collect(),
        Err(e) => {
            tracing::warn!(mailbox, error = %e, "claiming \\Recent failed");
            HashSet::new()
        }
    }
}

/// The engine's message, `\Recent` in this session if it claimed it.
fn recent_info(m: &crate::store::MessageMeta, claimed: &HashSet<Uid>) -> MessageInfo {
    let mut info = message_info(m);
    info.recent = claimed.contains(&m.uid);
    info
}

fn special_use(s: SpecialUse) -> MailboxAttr {
    match s {
        SpecialUse::Trash => MailboxAttr::Trash,
        SpecialUse::Sent => MailboxAttr::Sent,
        SpecialUse::Drafts => MailboxAttr::Drafts,
        _ => MailboxAttr::Junk,
    }
}

/// RFC 9208 §5: STORAGE counts units of 1024 octets, MESSAGE counts messages.
fn resources(q: &crate::store::Quota) -> Vec<QuotaResource> {
    let mut out = Vec::new();
    if let (Some(limit), Ok(name)) = (q.storage_limit, Atom::new("STORAGE")) {
        out.push(QuotaResource {
            name,
            usage: q.storage_used.div_ceil(1024),
            limit: limit / 1024,
        });
    }
    if let (Some(limit), Ok(name)) = (q.messages_limit, Atom::new("MESSAGE")) {
        out.push(QuotaResource {
            name,
            usage: q.messages_used,
            limit,
        });
    }
    out
}

/// RENAME INBOX (RFC 9051 §6.3.6): the messages move to a new mailbox, INBOX stays, empty.
async fn rename_inbox(mail: &dyn UserStore, to: &str) -> Result<(), StoreError> {
    mail.create(to).await?;
    let snap = mail.select(INBOX).await?;
    let uids: Vec<Uid> = snap.messages.iter().map(|m| m.uid).collect();
    if !uids.is_empty() {
        mail.move_messages(INBOX, &uids, to).await?;
    }
    Ok(())
}
