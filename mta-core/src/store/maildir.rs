//! The Maildir++ store over `mailhub-maildir` (maildir.txt, maildirquota.txt).
//!
//! Each user has a Maildir++ root (INBOX) whose folders are `.Sub.Folder` directories; UIDs,
//! UIDVALIDITY and mod-sequences live in Dovecot's `dovecot-uidlist` and keyword names in
//! `dovecot-keywords`, so Dovecot, mutt and mbsync can work on the same mail. The mapping of
//! flags is Dovecot's: `S` `\Seen`, `R` `\Answered`, `F` `\Flagged`, `T` `\Deleted`, `D`
//! `\Draft`, `P` the keyword `$Forwarded`, `a`–`z` the other keywords.
//!
//! Every file operation runs through [`Runtime::spawn_blocking`](crate::runtime::Runtime), never
//! on the executor. A selected mailbox's UID → file map is cached per user handle, so streaming
//! a message costs one `open()` and no directory scan; a message renamed by another program
//! meanwhile is found again by `mailhub-maildir`.
//!
//! Sizes come from the `,W=` field of the file name when present (names made by this crate
//! and by Dovecot carry it); otherwise the file is read once to count its line ends.
//!
//! `\Recent` (RFC 3501 §2.3.2) follows Dovecot: a message is `\Recent` in the session whose
//! `rename()` moves it from `new/` to `cur/` ([`UserStore::claim_recent`]); a rename of one
//! file succeeds once, so the claim holds across sessions and processes. STATUS (RECENT)
//! counts the messages the last scan found in `new/`.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use mailhub_maildir as md;
use md::{Delivery, Entry, Flags, FolderName, Maildir, Subdir};

use super::memory::rfc822_size;
use super::{
    AppendRequest, AppendResult, Change, ChangeHub, CopyResult, DELIMITER, FlagOp, FlagSet, INBOX,
    MailStore, MailboxInfo, MailboxSnapshot, MaildropLock, MaildropLocks, MessageBody, MessageData,
    MessageMeta, Quota, SpecialUse, StoreError, Subscription, SystemFlags, Uid, UserStore,
    is_inbox,
};
use crate::runtime::{SharedRuntime, unblock};

const CHUNK: usize = 64 * 1024;

type Locate = dyn Fn(&str) -> Option<PathBuf> + Send + Sync;

/// Users' Maildir++ trees.
pub struct MaildirStore {
    locate: Box<Locate>,
    create: bool,
    options: md::Options,
    runtime: SharedRuntime,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
}

impl std::fmt::Debug for MaildirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaildirStore")
            .field("create", &self.create)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Whether `user` can be used as one path component: no separators, no dot files, no
/// control characters.
pub(super) fn safe_component(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 255
        && !user.starts_with('.')
        && !user.contains(['/', '\\'])
        && !user.chars().any(char::is_control)
}

impl MaildirStore {
    /// A store where `locate` gives each user's Maildir++ root (`None` for a user without
    /// mail here).
    pub fn new(
        locate: impl Fn(&str) -> Option<PathBuf> + Send + Sync + 'static,
        runtime: SharedRuntime,
    ) -> MaildirStore {
        MaildirStore {
            locate: Box::new(locate),
            create: true,
            options: md::Options::default(),
            runtime,
            hub: ChangeHub::new(),
            locks: MaildropLocks::new(),
        }
    }

    /// A store with each user's Maildir at `<root>/<user>`. User names that cannot be one
    /// path component (`..`, `a/b`) have no mail.
    pub fn under(root: impl Into<PathBuf>, runtime: SharedRuntime) -> MaildirStore {
        let root = root.into();
        MaildirStore::new(
            move |user| safe_component(user).then(|| root.join(user)),
            runtime,
        )
    }

    /// Whether a missing Maildir is created on first open (default true).
    pub fn create_missing(mut self, create: bool) -> MaildirStore {
        self.create = create;
        self
    }

    /// The `mailhub-maildir` options (fsync, locks, quota) for every Maildir.
    pub fn with_options(mut self, options: md::Options) -> MaildirStore {
        self.options = options;
        self
    }
}

#[async_trait]
impl MailStore for MaildirStore {
    async fn open(&self, user: &str) -> Result<Arc<dyn UserStore>, StoreError> {
        let path = (self.locate)(user)
            .ok_or_else(|| StoreError::NoSuchMailbox(format!("no mail store for {user}")))?;
        let (create, options) = (self.create, self.options.clone());
        let store = unblock(&*self.runtime, move || {
            let s = match md::Store::open(&path) {
                Err(md::Error::NotAMaildir { .. }) if create => {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| md::Error::Io {
                            op: "create",
                            path: parent.to_owned(),
                            source: e,
                        })?;
                    }
                    md::Store::create(&path)
                }
                other => other,
            };
            s.map(|s| s.with_options(options))
        })
        .await
        .map_err(map_err)?;
        Ok(Arc::new(MaildirUser {
            user: user.to_owned(),
            store,
            runtime: self.runtime.clone(),
            hub: self.hub.clone(),
            locks: self.locks.clone(),
            cache: Mutex::new(HashMap::new()),
        }))
    }
}

/// Turns a `mailhub-maildir` error into a store error.
fn map_err(e: md::Error) -> StoreError {
    match e {
        md::Error::FolderNotFound(n) => StoreError::NoSuchMailbox(n),
        md::Error::FolderExists(n) => StoreError::MailboxExists(n),
        md::Error::InvalidFolderName(why) => StoreError::InvalidName(why.to_owned()),
        md::Error::OverQuota { .. } => StoreError::OverQuota(e.to_string()),
        md::Error::KeywordsFull(_) | md::Error::InvalidKeyword(_) => {
            StoreError::NotPossible(e.to_string())
        }
        e if e.is_temporary() => StoreError::Temporary(e.to_string()),
        e => StoreError::Failed(e.to_string()),
    }
}

fn folder_name(name: &str) -> Result<FolderName, md::Error> {
    FolderName::new(name, DELIMITER)
}

fn open_mailbox(store: &md::Store, name: &str) -> Result<Maildir, md::Error> {
    if is_inbox(name) {
        Ok(store.inbox().clone())
    } else {
        store.folder(&folder_name(name)?)
    }
}

/// Maildir flag letters for the system flags, in Dovecot's mapping.
const LETTERS: [(SystemFlags, Flags); 5] = [
    (SystemFlags::SEEN, Flags::SEEN),
    (SystemFlags::ANSWERED, Flags::REPLIED),
    (SystemFlags::FLAGGED, Flags::FLAGGED),
    (SystemFlags::DELETED, Flags::TRASHED),
    (SystemFlags::DRAFT, Flags::DRAFT),
];
const FORWARDED: &str = "$Forwarded";

fn to_flag_set(flags: Flags, keywords: &md::Keywords) -> FlagSet {
    let mut out = FlagSet::default();
    for (s, l) in LETTERS {
        if flags.contains(l) {
            out.system = out.system.union(s);
        }
    }
    if flags.contains(Flags::PASSED) {
        out.keywords.insert(FORWARDED.to_owned());
    }
    for k in Maildir::keyword_names(flags, keywords) {
        out.keywords.insert(k.to_owned());
    }
    out
}

/// The letters for `set`; with `assign`, keywords without a letter get one.
fn to_letters(md: &Maildir, set: &FlagSet, assign: bool) -> Result<Flags, md::Error> {
    let mut f = Flags::EMPTY;
    for (s, l) in LETTERS {
        if set.system.contains(s) {
            f = f | l;
        }
    }
    let known = md.keywords()?;
    for k in &set.keywords {
        if k.eq_ignore_ascii_case(FORWARDED) {
            f = f | Flags::PASSED;
        } else if let Some(i) = known.index_of(k) {
            f = f | Flags::keyword(i).expect("keyword index below 26");
        } else if assign {
            f = f | md.keyword_flag(k)?;
        }
    }
    Ok(f)
}

/// Every letter this store gives a meaning to (replaced by `FLAGS (…)`); other programs'
/// letters are kept.
fn managed_letters() -> Flags {
    let mut f = LETTERS.iter().fold(Flags::PASSED, |a, (_, l)| a | *l);
    for i in 0..26 {
        f = f | Flags::keyword(i).expect("below 26");
    }
    f
}

/// The entries of a selected mailbox by UID.
type UidMap = BTreeMap<Uid, Entry>;

/// One user's Maildir++ tree.
pub(super) struct MaildirUser {
    user: String,
    store: md::Store,
    runtime: SharedRuntime,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
    cache: Mutex<HashMap<String, Arc<UidMap>>>,
}

impl std::fmt::Debug for MaildirUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaildirUser")
            .field("user", &self.user)
            .field("root", &self.store.root())
            .finish_non_exhaustive()
    }
}

fn cache_key(mailbox: &str) -> String {
    if is_inbox(mailbox) {
        INBOX.to_owned()
    } else {
        mailbox.to_owned()
    }
}

/// Syncs UIDs and reads each message's metadata (blocking).
fn scan(md: &Maildir, name: String) -> Result<(MailboxSnapshot, UidMap), md::Error> {
    let snap = md.sync_uids()?;
    let keywords = md.keywords()?;
    let mut map = UidMap::new();
    let mut messages = Vec::with_capacity(snap.messages.len());
    for m in snap.messages {
        let path = md.entry_path(&m.entry);
        let meta = std::fs::metadata(&path).ok();
        let internal_date = meta
            .as_ref()
            .and_then(|x| x.modified().ok())
            .unwrap_or_else(SystemTime::now);
        let size = match m.entry.vsize() {
            Some(s) => s,
            None => match md.open_message(&m.entry) {
                Ok((file, _)) => counted_size(file),
                Err(md::Error::MessageGone { .. }) => continue,
                Err(e) => return Err(e),
            },
        };
        messages.push(MessageMeta {
            uid: m.uid,
            flags: to_flag_set(m.entry.flags(), &keywords),
            size,
            internal_date,
            modseq: m.modseq,
        });
        map.insert(m.uid, m.entry);
    }
    messages.sort_by_key(|m| m.uid);
    Ok((
        MailboxSnapshot {
            name,
            uid_validity: snap.uid_validity,
            uid_next: snap.uid_next,
            highest_modseq: snap.highest_modseq,
            messages,
        },
        map,
    ))
}

/// The RFC 822 size of a file's contents, read in chunks.
fn counted_size(mut file: File) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let (mut size, mut last) = (0u64, 0u8);
    while let Ok(n) = file.read(&mut buf) {
        if n == 0 {
            break;
        }
        // A CR ending one chunk and an LF starting the next are one CRLF.
        let lf_after_cr = last == b'\r' && buf[0] == b'\n';
        size += rfc822_size(&buf[..n]) - u64::from(lf_after_cr);
        last = buf[n - 1];
    }
    size
}

impl MaildirUser {
    /// Runs `f` on the user's store on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&md::Store) -> Result<T, md::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        unblock(&*self.runtime, move || f(&store))
            .await
            .map_err(map_err)
    }

    /// Selects `mailbox` (blocking side) and remembers its UID map.
    async fn rescan(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError> {
        let name = cache_key(mailbox);
        let n = name.clone();
        let (snap, map) = self
            .run(move |s| {
                let md = open_mailbox(s, &n)?;
                scan(&md, n)
            })
            .await?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, Arc::new(map));
        Ok(snap)
    }

    fn cached(&self, mailbox: &str) -> Option<Arc<UidMap>> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key(mailbox))
            .cloned()
    }

    /// The UID map of `mailbox`, scanning it if it was not selected through this handle.
    async fn uid_map(&self, mailbox: &str) -> Result<Arc<UidMap>, StoreError> {
        if let Some(m) = self.cached(mailbox) {
            return Ok(m);
        }
        self.rescan(mailbox).await?;
        self.cached(mailbox)
            .ok_or_else(|| StoreError::NoSuchMailbox(mailbox.to_owned()))
    }

    /// The entries of `uids`. The cached map was made at the last select; a UID it does not
    /// know may have arrived since (another session's append), so the mailbox is scanned once
    /// more before such a UID is called gone.
    async fn entries(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<(Uid, Entry)>, StoreError> {
        let mut map = self.uid_map(mailbox).await?;
        if uids.iter().any(|u| !map.contains_key(u)) {
            self.rescan(mailbox).await?;
            map = self.uid_map(mailbox).await?;
        }
        Ok(uids
            .iter()
            .filter_map(|u| map.get(u).map(|e| (*u, e.clone())))
            .collect())
    }

    async fn transfer(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
        remove: bool,
    ) -> Result<CopyResult, StoreError> {
        let picked = self.entries(from, uids).await?;
        let (f, t) = (from.to_owned(), to.to_owned());
        let (uid_validity, pairs) = self
            .run(move |s| {
                let src = open_mailbox(s, &f)?;
                let dst = open_mailbox(s, &t)?;
                let mut bases = Vec::new();
                for (uid, entry) in &picked {
                    let new = if remove {
                        s.move_message(&src, entry, &dst)
                    } else {
                        src.copy_to(entry, &dst, None)
                    };
                    match new {
                        Ok(e) => bases.push((*uid, e.base().to_owned())),
                        Err(md::Error::MessageGone { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                let snap = dst.sync_uids()?;
                let by_base: HashMap<&str, Uid> = snap
                    .messages
                    .iter()
                    .map(|m| (m.entry.base(), m.uid))
                    .collect();
                let pairs = bases
                    .iter()
                    .filter_map(|(u, b)| by_base.get(b.as_str()).map(|n| (*u, *n)))
                    .collect::<Vec<_>>();
                Ok((snap.uid_validity, pairs))
            })
            .await?;
        if !pairs.is_empty() {
            let new = pairs.iter().map(|p| p.1).collect();
            self.hub
                .notify(&self.user, to, Change::Appended { uids: new });
            if remove {
                let old = pairs.iter().map(|p| p.0).collect();
                self.hub
                    .notify(&self.user, from, Change::Expunged { uids: old });
            }
        }
        Ok(CopyResult {
            uid_validity,
            uids: pairs,
        })
    }
}

struct MaildirBody {
    file: Option<File>,
    len: u64,
    runtime: SharedRuntime,
}

#[async_trait]
impl MessageBody for MaildirBody {
    fn len(&self) -> u64 {
        self.len
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(mut file) = self.file.take() else {
            return Ok(None);
        };
        let (file, read) = unblock(&*self.runtime, move || {
            let mut buf = vec![0u8; CHUNK];
            let r = file.read(&mut buf).map(|n| {
                buf.truncate(n);
                buf
            });
            (file, r)
        })
        .await;
        match read {
            Ok(buf) if buf.is_empty() => Ok(None),
            Ok(buf) => {
                self.file = Some(file);
                Ok(Some(buf))
            }
            Err(e) => Err(StoreError::Temporary(format!("reading message: {e}"))),
        }
    }
}

#[async_trait]
impl UserStore for MaildirUser {
    fn user(&self) -> &str {
        &self.user
    }

    async fn list(&self) -> Result<Vec<MailboxInfo>, StoreError> {
        self.run(|s| {
            let subs = s.subscriptions()?;
            let mut out = vec![MailboxInfo {
                name: INBOX.to_owned(),
                subscribed: subs.iter().any(|x| x == INBOX),
                special_use: None,
            }];
            for f in s.list_folders()? {
                let stored = f.to_imap('.');
                let special_use = match f.parts() {
                    [one] if f.is_trash() || one == "Trash" => Some(SpecialUse::Trash),
                    [one] if one == "Sent" => Some(SpecialUse::Sent),
                    [one] if one == "Drafts" => Some(SpecialUse::Drafts),
                    [one] if one == "Junk" => Some(SpecialUse::Junk),
                    _ => None,
                };
                out.push(MailboxInfo {
                    name: f.to_imap(DELIMITER),
                    subscribed: subs.contains(&stored),
                    special_use,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn create(&self, name: &str) -> Result<(), StoreError> {
        if is_inbox(name) {
            return Err(StoreError::MailboxExists(INBOX.to_owned()));
        }
        let n = name.to_owned();
        self.run(move |s| s.create_folder(&folder_name(&n)?).map(drop))
            .await
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        if is_inbox(name) {
            return Err(StoreError::NotPossible("INBOX cannot be deleted".into()));
        }
        let n = name.to_owned();
        self.run(move |s| s.delete_folder(&folder_name(&n)?))
            .await?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.hub.notify(&self.user, name, Change::Resync);
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        if is_inbox(from) || is_inbox(to) {
            return Err(StoreError::NotPossible("INBOX cannot be renamed".into()));
        }
        let (f, t) = (from.to_owned(), to.to_owned());
        self.run(move |s| s.rename_folder(&folder_name(&f)?, &folder_name(&t)?))
            .await?;
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.hub.notify(&self.user, from, Change::Resync);
        Ok(())
    }

    async fn subscribe(&self, name: &str, subscribe: bool) -> Result<(), StoreError> {
        let stored = if is_inbox(name) {
            INBOX.to_owned()
        } else {
            folder_name(name).map_err(map_err)?.to_imap('.')
        };
        self.run(move |s| {
            if subscribe {
                s.subscribe(&stored)
            } else {
                s.unsubscribe(&stored)
            }
        })
        .await
    }

    async fn select(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError> {
        self.rescan(mailbox).await
    }

    async fn open_message(
        &self,
        mailbox: &str,
        uid: Uid,
    ) -> Result<Box<dyn MessageBody>, StoreError> {
        let entry = self
            .entries(mailbox, &[uid])
            .await?
            .pop()
            .ok_or(StoreError::NoSuchMessage(uid))?
            .1;
        let n = mailbox.to_owned();
        let opened = self
            .run(move |s| {
                let md = open_mailbox(s, &n)?;
                match md.open_message(&entry) {
                    Ok((file, _)) => {
                        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                        Ok(Some((file, len)))
                    }
                    Err(md::Error::MessageGone { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        let (file, len) = opened.ok_or(StoreError::NoSuchMessage(uid))?;
        Ok(Box::new(MaildirBody {
            file: Some(file),
            len,
            runtime: self.runtime.clone(),
        }))
    }

    async fn append(
        &self,
        mailbox: &str,
        request: AppendRequest,
    ) -> Result<AppendResult, StoreError> {
        let n = mailbox.to_owned();
        let result = self
            .run(move |s| {
                let md = open_mailbox(s, &n)?;
                let mut how = Delivery::default();
                if request.flags != FlagSet::default() {
                    how = how.with_flags(to_letters(&md, &request.flags, true)?);
                }
                if let Some(t) = request.internal_date {
                    how = how.with_mtime(t);
                }
                let entry = match &request.data {
                    MessageData::Bytes(b) => md.deliver_from(&b[..], &how)?,
                    MessageData::File(path) => {
                        let file = File::open(path).map_err(|e| md::Error::Io {
                            op: "open",
                            path: path.clone(),
                            source: e,
                        })?;
                        md.deliver_from(file, &how)?
                    }
                };
                let snap = md.sync_uids()?;
                let uid = snap
                    .messages
                    .iter()
                    .find(|m| m.entry.base() == entry.base())
                    .map(|m| m.uid)
                    .ok_or(md::Error::MessageGone {
                        base: entry.base().to_owned(),
                    })?;
                Ok(AppendResult {
                    uid_validity: snap.uid_validity,
                    uid,
                })
            })
            .await?;
        self.hub.notify(
            &self.user,
            mailbox,
            Change::Appended {
                uids: vec![result.uid],
            },
        );
        Ok(result)
    }

    async fn store(
        &self,
        mailbox: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: &FlagSet,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let picked = self.entries(mailbox, uids).await?;
        let (n, flags) = (mailbox.to_owned(), flags.clone());
        let wanted: Vec<Uid> = picked.iter().map(|p| p.0).collect();
        self.run(move |s| {
            let md = open_mailbox(s, &n)?;
            let letters = to_letters(&md, &flags, op != FlagOp::Remove)?;
            let managed = managed_letters();
            for (_, entry) in &picked {
                let r = md.update_flags(entry, |f| match op {
                    FlagOp::Add => f | letters,
                    FlagOp::Remove => f.difference(letters),
                    FlagOp::Replace => f.difference(managed) | letters,
                });
                match r {
                    Ok(_) | Err(md::Error::MessageGone { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await?;
        let snap = self.rescan(mailbox).await?;
        let out: Vec<MessageMeta> = snap
            .messages
            .into_iter()
            .filter(|m| wanted.contains(&m.uid))
            .collect();
        if !out.is_empty() {
            let uids = out.iter().map(|m| m.uid).collect();
            self.hub
                .notify(&self.user, mailbox, Change::FlagsChanged { uids });
        }
        Ok(out)
    }

    async fn remove(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let picked = self.entries(mailbox, uids).await?;
        let n = mailbox.to_owned();
        let removed = self
            .run(move |s| {
                let md = open_mailbox(s, &n)?;
                let mut removed = Vec::new();
                for (uid, entry) in &picked {
                    if md.expunge(entry)? {
                        removed.push(*uid);
                    }
                }
                md.sync_uids()?;
                Ok(removed)
            })
            .await?;
        if let Some(map) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&cache_key(mailbox))
        {
            let m = Arc::make_mut(map);
            for u in &removed {
                m.remove(u);
            }
        }
        if !removed.is_empty() {
            let change = Change::Expunged {
                uids: removed.clone(),
            };
            self.hub.notify(&self.user, mailbox, change);
        }
        Ok(removed)
    }

    /// Dovecot's rule: the session whose `rename()` takes a message from `new/` to `cur/`
    /// owns it as `\Recent` ([`Maildir::claim_new`]); the rename succeeds once, across
    /// sessions and processes. Only messages this handle's last scan listed in `new/` are
    /// tried; one another program already moved is nobody's here.
    async fn claim_recent(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let map = self.uid_map(mailbox).await?;
        let fresh: Vec<(Uid, Entry)> = uids
            .iter()
            .filter_map(|u| map.get(u).map(|e| (*u, e)))
            .filter(|(_, e)| e.subdir() == Subdir::New)
            .map(|(u, e)| (u, e.clone()))
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let name = cache_key(mailbox);
        let n = name.clone();
        let claimed = self
            .run(move |s| {
                let md = open_mailbox(s, &n)?;
                let mut out = Vec::new();
                for (uid, entry) in fresh {
                    match md.claim_new(&entry) {
                        Ok(Some(moved)) => out.push((uid, moved)),
                        Ok(None) => {}
                        // The ones renamed so far are this session's: keep them.
                        Err(e) if !out.is_empty() => {
                            tracing::warn!(error = %e, "claiming \\Recent stopped");
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            })
            .await?;
        // The cached entries follow the renames, so streaming needs no search.
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&name)
        {
            let m = Arc::make_mut(m);
            for (uid, entry) in &claimed {
                if let Some(slot) = m.get_mut(uid) {
                    *slot = entry.clone();
                }
            }
        }
        Ok(claimed.into_iter().map(|(u, _)| u).collect())
    }

    /// The messages the last scan found in `new/`: no reader took note of them yet.
    async fn unclaimed_recent(&self, mailbox: &str) -> Result<u32, StoreError> {
        let map = self.uid_map(mailbox).await?;
        let n = map.values().filter(|e| e.subdir() == Subdir::New).count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn copy(&self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreError> {
        self.transfer(from, uids, to, false).await
    }

    async fn move_messages(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        self.transfer(from, uids, to, true).await
    }

    async fn quota(&self) -> Result<Option<Quota>, StoreError> {
        let q = self.run(|s| s.quota()).await?;
        Ok(q.map(|q| Quota {
            storage_used: q.bytes.max(0) as u64,
            storage_limit: q.def.bytes,
            messages_used: q.count.max(0) as u64,
            messages_limit: q.def.count,
        }))
    }

    fn watch(&self, mailbox: &str) -> Subscription {
        self.hub.watch(&self.user, mailbox)
    }

    fn lock_maildrop(&self) -> Result<MaildropLock, StoreError> {
        self.locks.lock(&self.user)
    }
}
