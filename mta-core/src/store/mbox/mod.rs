//! The mbox store over `mailhub-mbox`, laid out as UW IMAP does: INBOX is the user's spool
//! file (`/var/mail/<user>`), other mailboxes are mbox files under a mail directory
//! (`~/mail/Lists/Rust` is the mailbox `Lists/Rust`). As in UW IMAP and Dovecot's mbox
//! format, a name is either a mailbox (a file) or holds other mailboxes (a directory), never
//! both. Subscriptions are kept in `<mail dir>/.subscriptions`, one name a line (Dovecot's
//! file).
//!
//! Flags, keywords and UIDs live in the messages' `Status:`/`X-Status:`/`X-Keywords:`/`X-UID:`
//! headers and the folder-data pseudo-message, as UW IMAP and Dovecot keep them; messages
//! delivered by programs that know nothing of IMAP get UIDs at the next select. Flag changes
//! and expunges rewrite the file by write-new-then-rename (`mailhub_mbox::Mailbox::update`),
//! which never loses a message.
//!
//! Costs: a select reads the whole file (mbox has no index) and, to report RFC 822 sizes,
//! each message once (then cached by file, inode and offset in the user handle); reading a
//! message uses the entries of the last select and scans again only when the file was
//! rewritten since. A message is streamed from a private temporary copy, so the mbox read lock is not held while a slow
//! client reads. Quota is a configured limit on the total size of the user's mbox files
//! ([`MboxStore::with_quota`]).
//!
//! `\Recent` (RFC 3501 §2.3.2) is not kept: the trait's default
//! [`UserStore::claim_recent`](super::UserStore::claim_recent) claims nothing, so no message is
//! ever `\Recent` and STATUS (RECENT) is 0. UW IMAP's way (a message without `Status: O` is
//! new, and the session that sees it first writes the header) would rewrite the whole file on
//! every SELECT that finds new mail.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mailhub_mbox as mb;
use mb::{Action, Mailbox, MailboxOptions};

use super::{
    AppendRequest, AppendResult, Change, ChangeHub, CopyResult, DELIMITER, FlagOp, FlagSet, INBOX,
    MailStore, MailboxInfo, MailboxSnapshot, MaildropLock, MaildropLocks, MessageBody, MessageMeta,
    Quota, StoreError, Subscription, Uid, UserStore, is_inbox,
};
use crate::runtime::{SharedRuntime, unblock};

mod read;

use read::{
    EntryCache, FileBody, SizeCache, cache_key, envelope, io_err, lock, map_err, scan, temp_file,
    to_flag_set, to_meta,
};

const SUBSCRIPTIONS: &str = ".subscriptions";

/// Where a user's mbox files are: the INBOX spool file and the mail directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxPaths {
    /// The INBOX file.
    pub inbox: PathBuf,
    /// The folder holding the other mailboxes.
    pub dir: PathBuf,
}

type Locate = dyn Fn(&str) -> Option<MboxPaths> + Send + Sync;

/// Users' mbox files.
pub struct MboxStore {
    locate: Box<Locate>,
    options: MailboxOptions,
    quota: Option<u64>,
    runtime: SharedRuntime,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
}

impl std::fmt::Debug for MboxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MboxStore")
            .field("options", &self.options)
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl MboxStore {
    /// A store where `locate` gives each user's paths (`None`: no mail here).
    pub fn new(
        locate: impl Fn(&str) -> Option<MboxPaths> + Send + Sync + 'static,
        runtime: SharedRuntime,
    ) -> MboxStore {
        MboxStore {
            locate: Box::new(locate),
            options: MailboxOptions::default(),
            quota: None,
            runtime,
            hub: ChangeHub::new(),
            locks: MaildropLocks::new(),
        }
    }

    /// The classic layout: INBOX at `<spool>/<user>`, folders under `<homes>/<user>/mail`.
    /// User names that cannot be one path component have no mail.
    pub fn classic(
        spool: impl Into<PathBuf>,
        homes: impl Into<PathBuf>,
        runtime: SharedRuntime,
    ) -> MboxStore {
        let (spool, homes) = (spool.into(), homes.into());
        MboxStore::new(
            move |user| {
                super::maildir::safe_component(user).then(|| MboxPaths {
                    inbox: spool.join(user),
                    dir: homes.join(user).join("mail"),
                })
            },
            runtime,
        )
    }

    /// The classic layout inside one folder: INBOX files in `<dir>/inbox`, folder homes in
    /// `<dir>/home`, both made if missing. The mbox counterpart of `MaildirStore::under`.
    pub fn under(dir: impl AsRef<Path>, runtime: SharedRuntime) -> std::io::Result<MboxStore> {
        let (inbox, home) = (dir.as_ref().join("inbox"), dir.as_ref().join("home"));
        std::fs::create_dir_all(&inbox)?;
        std::fs::create_dir_all(&home)?;
        Ok(MboxStore::classic(inbox, home, runtime))
    }

    /// The `mailhub-mbox` options (variant, locking, fsync).
    pub fn with_options(mut self, options: MailboxOptions) -> MboxStore {
        self.options = options;
        self
    }

    /// Limits each user's mbox files to `bytes` in total; appends beyond it fail with
    /// [`StoreError::OverQuota`].
    pub fn with_quota(mut self, bytes: u64) -> MboxStore {
        self.quota = Some(bytes);
        self
    }
}

#[async_trait]
impl MailStore for MboxStore {
    async fn open(&self, user: &str) -> Result<Arc<dyn UserStore>, StoreError> {
        let paths = (self.locate)(user)
            .ok_or_else(|| StoreError::NoSuchMailbox(format!("no mail store for {user}")))?;
        let (p, opts) = (paths.clone(), self.options.clone());
        unblock(&*self.runtime, move || -> Result<(), mb::Error> {
            std::fs::create_dir_all(&p.dir)?;
            if let Some(parent) = p.inbox.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if !p.inbox.exists() {
                match Mailbox::create(&p.inbox, opts, 0) {
                    Err(mb::Error::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    other => drop(other?),
                }
            }
            Ok(())
        })
        .await
        .map_err(map_err)?;
        Ok(Arc::new(MboxUser {
            user: user.to_owned(),
            paths,
            options: self.options.clone(),
            quota: self.quota,
            runtime: self.runtime.clone(),
            hub: self.hub.clone(),
            locks: self.locks.clone(),
            sizes: Arc::new(Mutex::new(HashMap::new())),
            entries: Arc::new(Mutex::new(HashMap::new())),
        }))
    }
}

struct MboxUser {
    user: String,
    paths: MboxPaths,
    options: MailboxOptions,
    quota: Option<u64>,
    runtime: SharedRuntime,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
    sizes: SizeCache,
    entries: EntryCache,
}

/// The checked relative path of a mailbox name below the mail directory.
fn relative(name: &str) -> Result<PathBuf, StoreError> {
    let mut p = PathBuf::new();
    for part in name.split(DELIMITER) {
        let bad = part.is_empty()
            || part.starts_with('.')
            || part.contains('\\')
            || part.chars().any(char::is_control);
        if bad {
            return Err(StoreError::InvalidName(name.to_owned()));
        }
        p.push(part);
    }
    Ok(p)
}

impl MboxUser {
    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if is_inbox(name) {
            Ok(self.paths.inbox.clone())
        } else {
            Ok(self.paths.dir.join(relative(name)?))
        }
    }

    fn entry_cache(&self, mailbox: &str) -> Option<Arc<Vec<mb::Entry>>> {
        lock(&self.entries).get(&cache_key(mailbox)).cloned()
    }

    fn mailbox(&self, name: &str) -> Result<Mailbox, StoreError> {
        let path = self.path(name)?;
        if !path.is_file() {
            return Err(StoreError::NoSuchMailbox(name.to_owned()));
        }
        Mailbox::open(path, self.options.clone()).map_err(map_err)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        unblock(&*self.runtime, f).await
    }

    /// Bytes used by all the user's mbox files.
    fn used(paths: &MboxPaths) -> u64 {
        fn walk(dir: &Path, total: &mut u64) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for de in rd.flatten() {
                match de.metadata() {
                    Ok(m) if m.is_dir() => walk(&de.path(), total),
                    Ok(m) => *total += m.len(),
                    Err(_) => {}
                }
            }
        }
        let mut total = std::fs::metadata(&paths.inbox).map_or(0, |m| m.len());
        walk(&paths.dir, &mut total);
        total
    }

    fn read_subscriptions(dir: &Path) -> BTreeSet<String> {
        std::fs::read_to_string(dir.join(SUBSCRIPTIONS))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[async_trait]
impl UserStore for MboxUser {
    fn user(&self) -> &str {
        &self.user
    }

    async fn list(&self) -> Result<Vec<MailboxInfo>, StoreError> {
        let dir = self.paths.dir.clone();
        self.run(move || {
            let subs = MboxUser::read_subscriptions(&dir);
            let mut out = vec![MailboxInfo {
                name: INBOX.to_owned(),
                subscribed: subs.contains(INBOX),
                special_use: None,
            }];
            let mut stack = vec![(dir.clone(), String::new())];
            let mut names = Vec::new();
            while let Some((d, prefix)) = stack.pop() {
                let rd = std::fs::read_dir(&d).map_err(io_err)?;
                for de in rd.flatten() {
                    let Ok(n) = de.file_name().into_string() else {
                        continue;
                    };
                    if n.starts_with('.') {
                        continue;
                    }
                    let full = if prefix.is_empty() {
                        n
                    } else {
                        format!("{prefix}{DELIMITER}{n}")
                    };
                    match de.metadata() {
                        Ok(m) if m.is_dir() => stack.push((de.path(), full)),
                        Ok(_) => names.push(full),
                        Err(_) => {}
                    }
                }
            }
            names.sort();
            for name in names {
                out.push(MailboxInfo {
                    subscribed: subs.contains(&name),
                    name,
                    special_use: None,
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
        let path = self.path(name)?;
        let (opts, n) = (self.options.clone(), name.to_owned());
        self.run(move || {
            if path.exists() {
                return Err(StoreError::MailboxExists(n));
            }
            if let Some(parent) = path.parent() {
                if parent.is_file() {
                    return Err(StoreError::NotPossible(
                        "an mbox file cannot hold other mailboxes".into(),
                    ));
                }
                std::fs::create_dir_all(parent).map_err(io_err)?;
            }
            Mailbox::create(&path, opts, 0).map(drop).map_err(map_err)
        })
        .await
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        if is_inbox(name) {
            return Err(StoreError::NotPossible("INBOX cannot be deleted".into()));
        }
        let path = self.path(name)?;
        let n = name.to_owned();
        self.run(move || match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => std::fs::remove_file(&path).map_err(io_err),
            Ok(_) => std::fs::remove_dir(&path).map_err(|_| {
                StoreError::NotPossible("a folder holding mailboxes is not deleted".into())
            }),
            Err(_) => Err(StoreError::NoSuchMailbox(n)),
        })
        .await?;
        self.hub.notify(&self.user, name, Change::Resync);
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        if is_inbox(from) || is_inbox(to) {
            return Err(StoreError::NotPossible("INBOX cannot be renamed".into()));
        }
        let (src, dst) = (self.path(from)?, self.path(to)?);
        let (f, t) = (from.to_owned(), to.to_owned());
        self.run(move || {
            if !src.exists() {
                return Err(StoreError::NoSuchMailbox(f));
            }
            if dst.exists() {
                return Err(StoreError::MailboxExists(t));
            }
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(io_err)?;
            }
            std::fs::rename(&src, &dst).map_err(io_err)
        })
        .await?;
        self.sizes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.hub.notify(&self.user, from, Change::Resync);
        Ok(())
    }

    async fn subscribe(&self, name: &str, subscribe: bool) -> Result<(), StoreError> {
        let name = if is_inbox(name) {
            INBOX.to_owned()
        } else {
            relative(name)?;
            name.to_owned()
        };
        let dir = self.paths.dir.clone();
        self.run(move || {
            let mut subs = MboxUser::read_subscriptions(&dir);
            let changed = if subscribe {
                subs.insert(name)
            } else {
                subs.remove(&name)
            };
            if changed {
                let text: String = subs.iter().map(|s| format!("{s}\n")).collect();
                let tmp = dir.join(".subscriptions.tmp");
                std::fs::write(&tmp, text).map_err(io_err)?;
                std::fs::rename(&tmp, dir.join(SUBSCRIPTIONS)).map_err(io_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn select(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError> {
        let mbox = self.mailbox(mailbox)?;
        let name = if is_inbox(mailbox) {
            INBOX.to_owned()
        } else {
            mailbox.to_owned()
        };
        let (sizes, cache) = (self.sizes.clone(), self.entries.clone());
        self.run(move || {
            let (snap, entries) = scan(&mbox, name.clone(), &sizes)?;
            lock(&cache).insert(name, Arc::new(entries));
            Ok(snap)
        })
        .await
    }

    async fn open_message(
        &self,
        mailbox: &str,
        uid: Uid,
    ) -> Result<Box<dyn MessageBody>, StoreError> {
        let mbox = self.mailbox(mailbox)?;
        let key = cache_key(mailbox);
        let cached = self.entry_cache(&key);
        let (sizes, cache) = (self.sizes.clone(), self.entries.clone());
        let (file, len) = self
            .run(move || {
                // The entries of the last select locate the message without reading the
                // file again; a UID they lack or a rewrite since (Stale) calls for a scan.
                let mut list = cached;
                for _ in 0..3 {
                    let fresh = list.is_none();
                    let entries = match list.take() {
                        Some(l) => l,
                        None => {
                            let (_, e) = scan(&mbox, key.clone(), &sizes)?;
                            let e = Arc::new(e);
                            lock(&cache).insert(key.clone(), e.clone());
                            e
                        }
                    };
                    let Some(entry) = entries.iter().find(|e| e.uid == Some(uid)) else {
                        if fresh {
                            return Err(StoreError::NoSuchMessage(uid));
                        }
                        continue;
                    };
                    let mut file = temp_file().map_err(io_err)?;
                    match mbox.copy_to(entry, &mut file) {
                        Ok(len) => {
                            use std::io::Seek;
                            file.rewind().map_err(io_err)?;
                            return Ok((file, len));
                        }
                        Err(mb::Error::Stale { .. }) => continue,
                        Err(e) => return Err(map_err(e)),
                    }
                }
                Err(StoreError::Temporary("mailbox keeps changing".into()))
            })
            .await?;
        Ok(Box::new(FileBody {
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
        let mbox = self.mailbox(mailbox)?;
        let (paths, quota) = (self.paths.clone(), self.quota);
        let max = self.options.max_message;
        let result = self
            .run(move || {
                let data = request.data.into_bytes(max)?;
                if let Some(limit) = quota {
                    let used = MboxUser::used(&paths);
                    if used + data.len() as u64 > limit {
                        return Err(StoreError::OverQuota(format!(
                            "{used} of {limit} octets used"
                        )));
                    }
                }
                let env = envelope(request.internal_date)?;
                let meta = to_meta(&request.flags, true);
                let uid = mbox.append(&env, &data, &meta).map_err(map_err)?;
                let uid = match uid {
                    Some(u) => u,
                    None => {
                        mbox.sync().map_err(map_err)?;
                        mbox.scan().map_err(map_err)?.uid_next - 1
                    }
                };
                let snap = mbox.scan().map_err(map_err)?;
                let uid_validity = snap.folder.map_or(1, |f| f.uid_validity);
                Ok(AppendResult { uid_validity, uid })
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
        let mbox = self.mailbox(mailbox)?;
        let wanted: BTreeSet<Uid> = uids.iter().copied().collect();
        let (w, flags) = (wanted.clone(), flags.clone());
        self.run(move || {
            mbox.update(|e| match e.uid {
                Some(u) if w.contains(&u) => {
                    let mut set = to_flag_set(&e.meta);
                    set.apply(op, &flags);
                    Action::Keep(to_meta(&set, e.meta.flags.recent))
                }
                _ => Action::Keep(e.meta.clone()),
            })
            .map(drop)
            .map_err(map_err)
        })
        .await?;
        let out: Vec<MessageMeta> = self
            .select(mailbox)
            .await?
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
        let mbox = self.mailbox(mailbox)?;
        let wanted: BTreeSet<Uid> = uids.iter().copied().collect();
        let report = self
            .run(move || {
                mbox.update(|e| match e.uid {
                    Some(u) if wanted.contains(&u) => Action::Expunge,
                    _ => Action::Keep(e.meta.clone()),
                })
                .map_err(map_err)
            })
            .await?;
        self.sizes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let removed = report.expunged;
        if !removed.is_empty() {
            let change = Change::Expunged {
                uids: removed.clone(),
            };
            self.hub.notify(&self.user, mailbox, change);
        }
        Ok(removed)
    }

    async fn copy(&self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreError> {
        let src = self.mailbox(from)?;
        let dst = self.mailbox(to)?;
        let (name, sizes, quota, paths) = (
            from.to_owned(),
            self.sizes.clone(),
            self.quota,
            self.paths.clone(),
        );
        let wanted: BTreeSet<Uid> = uids.iter().copied().collect();
        let result = self
            .run(move || {
                let (_, entries) = scan(&src, name, &sizes)?;
                let picked: Vec<&mb::Entry> = entries
                    .iter()
                    .filter(|e| e.uid.is_some_and(|u| wanted.contains(&u)))
                    .collect();
                let mut data = Vec::with_capacity(picked.len());
                for e in &picked {
                    data.push((e.uid.unwrap_or(0), src.fetch(e).map_err(map_err)?, e));
                }
                if let Some(limit) = quota {
                    let add: u64 = data.iter().map(|d| d.1.len() as u64).sum();
                    let used = MboxUser::used(&paths);
                    if used + add > limit {
                        return Err(StoreError::OverQuota(format!(
                            "{used} of {limit} octets used"
                        )));
                    }
                }
                let metas: Vec<mb::MessageMeta> = data
                    .iter()
                    .map(|(_, _, e)| mb::MessageMeta {
                        uid: None,
                        ..e.meta.clone()
                    })
                    .collect();
                let msgs: Vec<mb::NewMessage<'_>> = data
                    .iter()
                    .zip(&metas)
                    .map(|((_, bytes, e), meta)| mb::NewMessage {
                        envelope: &e.info.envelope,
                        message: bytes,
                        meta,
                    })
                    .collect();
                let mut new = dst.append_many(&msgs).map_err(map_err)?;
                if new.iter().any(Option::is_none) {
                    dst.sync().map_err(map_err)?;
                    let next = dst.scan().map_err(map_err)?.uid_next;
                    let first = next - new.len() as u32;
                    new = (first..next).map(Some).collect();
                }
                let snap = dst.scan().map_err(map_err)?;
                let uid_validity = snap.folder.map_or(1, |f| f.uid_validity);
                let pairs = data
                    .iter()
                    .zip(new)
                    .filter_map(|((old, ..), n)| n.map(|n| (*old, n)))
                    .collect();
                Ok(CopyResult {
                    uid_validity,
                    uids: pairs,
                })
            })
            .await?;
        if !result.uids.is_empty() {
            let new = result.uids.iter().map(|p| p.1).collect();
            self.hub
                .notify(&self.user, to, Change::Appended { uids: new });
        }
        Ok(result)
    }

    async fn move_messages(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        // mbox has no link(): copy, then expunge what was copied (RFC 6851 §3.3 allows it).
        let copied = self.copy(from, uids, to).await?;
        let done: Vec<Uid> = copied.uids.iter().map(|p| p.0).collect();
        self.remove(from, &done).await?;
        Ok(copied)
    }

    async fn quota(&self) -> Result<Option<Quota>, StoreError> {
        let Some(limit) = self.quota else {
            return Ok(None);
        };
        let paths = self.paths.clone();
        let used = self.run(move || Ok(MboxUser::used(&paths))).await?;
        Ok(Some(Quota {
            storage_used: used,
            storage_limit: Some(limit),
            messages_used: 0,
            messages_limit: None,
        }))
    }

    fn watch(&self, mailbox: &str) -> Subscription {
        self.hub.watch(&self.user, mailbox)
    }

    fn lock_maildrop(&self) -> Result<MaildropLock, StoreError> {
        self.locks.lock(&self.user)
    }
}
