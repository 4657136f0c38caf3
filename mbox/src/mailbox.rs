//! The mbox store: scan, fetch, append, update flags, expunge — without ever losing a message.
//!
//! # Appending (under the write lock)
//!
//! 1. Crash recovery first (see below).
//! 2. A journal `.<name>.mailhub-append` records the current size of the mbox.
//! 3. The last UID in `X-IMAPbase:`/`X-IMAP:` (ten digits, [`crate::metadata`]) is advanced in
//!    place; the new messages carry the following UIDs in `X-UID:`.
//! 4. The messages are written at the end in one `write`, and the file is `fsync`ed.
//! 5. The journal is removed.
//!
//! A failed write or fsync truncates the file back to the recorded size before the error is
//! returned. A process killed between 2 and 5 leaves the journal behind; the next writer (which
//! can only get the lock once the dead one no longer holds it) truncates the file to the
//! recorded size and removes the journal, and a reader that finds a journal reads only up to
//! the recorded size. So a message is either wholly there, and its append returned `Ok`, or
//! wholly absent. (Advancing the last UID before writing means a crash leaves at worst a gap in
//! the UIDs, never a UID given twice.) The journal is not fsynced: the scheme covers a crashed
//! process; after an operating-system crash a torn last message is possible and is read as one
//! message with [`crate::Anomalies::no_final_newline`] or a broken tail.
//!
//! # Updating flags and expunging (write-new-then-rename)
//!
//! [`Mailbox::update`] never modifies the mbox in place. Under the write lock it writes the
//! complete new mailbox to `.<name>.mailhub-rewrite.<pid>` in the same directory, `fsync`s it,
//! `rename(2)`s it over the mbox and `fsync`s the directory. Proof that no message is lost:
//!
//! - until the rename the path names the old file, which nobody modified (appenders are
//!   excluded by the lock), so every message is in it;
//! - the new file is complete and durable (fsync) before the rename;
//! - `rename(2)` replaces the directory entry atomically: no instant exists at which the path
//!   names a partial file or nothing;
//! - a process killed at any point leaves either the old file (plus a temporary file that the
//!   next writer deletes) or the new one.
//!
//! Appenders that were waiting for the lock see that the path now names another inode and take
//! the lock again on the new file ([`crate::lock`]). This holds for every program that takes the
//! dotlock before opening the mbox (mutt, procmail, Dovecot, UW IMAP, Python with
//! `dotlock=True`), which is why the dotlock is first in the default write order. A foreign
//! program that opens the file and then waits on fcntl/flock alone, without checking the inode,
//! could append to the replaced file; do not share a mailbox with such a program while this
//! crate rewrites it.
//!
//! # UIDs
//!
//! UIDs live in `X-UID:` and must ascend through the file (RFC 3501 §2.3.1.1). A message without
//! one (delivered by a program that knows nothing of IMAP) or with one out of order has
//! [`Entry::uid`] `None` in a [`Snapshot`] and [`Snapshot::needs_sync`] is set; [`Mailbox::sync`]
//! (or any [`Mailbox::update`]) gives those messages new UIDs, as Dovecot does.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::envelope::Envelope;
use crate::lock::{LockMode, LockOptions, MboxLock};
use crate::metadata::{self, FolderMeta, MessageMeta};
use crate::reader::{MessageInfo, ReadOptions, Reader, copy_message};
use crate::write::{StoreHeaders, encode_message};
use crate::{Error, Variant, detect};

/// How a [`Mailbox`] reads, writes and locks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MailboxOptions {
    /// The variant; `None` detects it when opening ([`crate::detect()`]) and uses mboxrd for a
    /// new or empty file.
    pub variant: Option<Variant>,
    /// Locking.
    pub locks: LockOptions,
    /// `fsync` after writing (turn off only for tests and throw-away data).
    pub fsync: bool,
    /// The largest message [`Mailbox::fetch`] returns in memory ([`Mailbox::copy_to`] streams).
    pub max_message: u64,
}

impl Default for MailboxOptions {
    fn default() -> Self {
        MailboxOptions {
            variant: None,
            locks: LockOptions::default(),
            fsync: true,
            max_message: 64 << 20,
        }
    }
}

/// One message of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its UID, when it has a valid one (see the module documentation).
    pub uid: Option<u32>,
    /// Flags and keywords.
    pub meta: MessageMeta,
    /// Where it is in the file (its header block is not kept).
    pub info: MessageInfo,
    /// Device and inode of the file the entry was read from: a rewrite replaces the file, and
    /// then the entry is stale.
    pub file_id: (u64, u64),
}

/// The state of a mailbox at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// UIDVALIDITY, last UID and folder keywords, if the file has them.
    pub folder: Option<FolderMeta>,
    /// The UID the next message will get.
    pub uid_next: u32,
    /// The messages, in file order, without the folder-data pseudo-message.
    pub messages: Vec<Entry>,
    /// Whether the file starts with the pseudo-message.
    pub has_pseudo: bool,
    /// The length of the data read.
    pub len: u64,
    /// Whether some message lacks a usable UID or the folder data is missing.
    pub needs_sync: bool,
}

/// What [`Mailbox::update`] does with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Keep it with these flags and keywords (the UID field is ignored: UIDs are kept or given).
    Keep(MessageMeta),
    /// Remove it.
    Expunge,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    /// Messages kept.
    pub kept: usize,
    /// UIDs (where known) of the messages removed; `expunged_count` counts all.
    pub expunged: Vec<u32>,
    /// Messages removed.
    pub expunged_count: usize,
    /// The folder data written.
    pub folder: FolderMeta,
}

/// A message to append.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// Its envelope (`From ` line).
    pub envelope: &'a Envelope,
    /// The message (RFC 5322), unquoted.
    pub message: &'a [u8],
    /// Its flags and keywords (the UID is given by the mailbox).
    pub meta: &'a MessageMeta,
}

/// An mbox file; see the module documentation.
#[derive(Debug, Clone)]
pub struct Mailbox {
    path: PathBuf,
    opts: MailboxOptions,
    variant: Variant,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// `<dir>/.<name>.<suffix>`: hidden from Dovecot's and mutt's folder lists.
fn side_path(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

impl Mailbox {
    /// Creates a new mbox holding only the folder-data pseudo-message with `uid_validity`
    /// (0 picks the current time). Fails if the file exists.
    pub fn create(
        path: impl Into<PathBuf>,
        opts: MailboxOptions,
        uid_validity: u32,
    ) -> Result<Mailbox, Error> {
        let path = path.into();
        let variant = opts.variant.unwrap_or_default();
        let uid_validity = if uid_validity == 0 {
            (now() as u32).max(1)
        } else {
            uid_validity
        };
        let folder = FolderMeta {
            uid_validity,
            uid_last: 0,
            keywords: Vec::new(),
        };
        let data = pseudo(&folder, variant)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(&data)?;
        if opts.fsync {
            f.sync_all()?;
            sync_dir(&path)?;
        }
        Ok(Mailbox {
            path,
            opts,
            variant,
        })
    }

    /// Opens an existing mbox (an empty file is fine), detecting the variant when the options
    /// do not give one.
    pub fn open(path: impl Into<PathBuf>, opts: MailboxOptions) -> Result<Mailbox, Error> {
        let path = path.into();
        let variant = match opts.variant {
            Some(v) => v,
            None => {
                let lock = MboxLock::acquire(&path, LockMode::Read, &opts.locks)?;
                detect(lock.file(), 1000, 64 << 20)?.variant
            }
        };
        if !path.is_file() {
            return Err(std::io::Error::from(std::io::ErrorKind::NotFound).into());
        }
        Ok(Mailbox {
            path,
            opts,
            variant,
        })
    }

    /// The path of the mbox.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variant used for reading and writing.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Lists the messages under a read lock.
    pub fn scan(&self) -> Result<Snapshot, Error> {
        let lock = MboxLock::acquire(&self.path, LockMode::Read, &self.opts.locks)?;
        let limit = read_journal(&self.path)?;
        self.scan_locked(lock.file(), limit)
    }

    fn scan_locked(&self, file: &File, limit: Option<u64>) -> Result<Snapshot, Error> {
        let fmeta = file.metadata()?;
        let file_id = (fmeta.dev(), fmeta.ino());
        let len = fmeta.len().min(limit.unwrap_or(u64::MAX));
        let mut reader =
            Reader::with_len(file, ReadOptions::new(self.variant).with_headers(), len)?;
        let mut snap = Snapshot {
            folder: None,
            uid_next: 1,
            messages: Vec::new(),
            has_pseudo: false,
            len,
            needs_sync: false,
        };
        let mut last_uid = 0u32;
        let mut first = true;
        while let Some(mut info) = reader.next_message()? {
            let h = info
                .headers
                .take()
                .map(|h| metadata::parse(&h))
                .unwrap_or_default();
            if first {
                first = false;
                snap.folder = h.folder.clone();
                if h.pseudo {
                    snap.has_pseudo = true;
                    continue;
                }
            }
            let mut meta = h.meta;
            let uid = meta.uid.filter(|&u| u > last_uid);
            if let Some(u) = uid {
                last_uid = u;
            } else {
                snap.needs_sync = true;
            }
            meta.uid = uid;
            snap.messages.push(Entry {
                uid,
                meta,
                info,
                file_id,
            });
        }
        let folder_last = snap.folder.as_ref().map_or(0, |f| f.uid_last);
        snap.uid_next = folder_last.max(last_uid).saturating_add(1);
        snap.needs_sync |= snap.folder.is_none();
        Ok(snap)
    }

    /// The message of `entry` as an IMAP client sees it: unquoted, without the metadata
    /// headers. [`Error::Stale`] if the file changed since the snapshot.
    pub fn fetch(&self, entry: &Entry) -> Result<Vec<u8>, Error> {
        if entry.info.data_len > self.opts.max_message {
            return Err(Error::TooLarge {
                limit: self.opts.max_message,
            });
        }
        let mut out = Vec::with_capacity(entry.info.data_len as usize);
        self.copy_to(entry, &mut out)?;
        Ok(out)
    }

    /// Streams the message of `entry` to `out` as [`Mailbox::fetch`] returns it, in bounded
    /// memory.
    pub fn copy_to<W: Write>(&self, entry: &Entry, out: &mut W) -> Result<u64, Error> {
        let lock = MboxLock::acquire(&self.path, LockMode::Read, &self.opts.locks)?;
        let file = lock.file();
        // Appends never move a message and rewrites replace the file, so the same file with the
        // same From line at the offset is the same message; no need to re-split it.
        let e = &entry.info;
        let fmeta = file.metadata()?;
        let mut from = vec![0; (e.data_offset - e.offset) as usize];
        if (fmeta.dev(), fmeta.ino()) != entry.file_id
            || fmeta.len() < e.data_offset + e.data_len
            || file.read_exact_at(&mut from, e.offset).is_err()
            || Envelope::parse(&from).as_ref() != Some(&e.envelope)
        {
            return Err(Error::Stale { offset: e.offset });
        }
        let mut file = file;
        let Some(hl) = e.header_len.filter(|&hl| hl <= e.data_len) else {
            return copy_message(&mut file, e, self.variant, out);
        };
        let mut head = vec![0; hl as usize];
        file.read_exact_at(&mut head, e.data_offset)?;
        let head = metadata::strip_metadata(&crate::variant::unquote(self.variant, &head));
        out.write_all(&head)?;
        let body = MessageInfo {
            data_offset: e.data_offset + hl,
            data_len: e.data_len - hl,
            ..e.clone()
        };
        Ok(head.len() as u64 + copy_message(&mut file, &body, self.variant, out)?)
    }

    /// Appends one message; returns its UID (`None` when the file has no folder data yet: the
    /// next [`Mailbox::sync`] gives it one).
    pub fn append(
        &self,
        envelope: &Envelope,
        message: &[u8],
        meta: &MessageMeta,
    ) -> Result<Option<u32>, Error> {
        Ok(self
            .append_many(&[NewMessage {
                envelope,
                message,
                meta,
            }])?
            .pop()
            .flatten())
    }

    /// Appends one message as it is, with no IMAP state: no `X-UID:`/`Status:` headers and
    /// no folder-data pseudo-message in an empty file. What an MTA's delivery to a file
    /// (an alias target `/path`) writes: the `From ` line, the quoted message, a blank line.
    /// Same lock, journal and fsync as [`Mailbox::append`]: a torn append is cut back by the
    /// next writer.
    pub fn append_plain(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Error> {
        let lock = MboxLock::acquire(&self.path, LockMode::Write, &self.opts.locks)?;
        recover(&self.path, lock.file(), self.opts.fsync)?;
        let file = lock.file();
        let size = file.metadata()?.len();
        let mut data = end_last_message(file, size)?.to_vec();
        data.extend_from_slice(&encode_message(
            envelope,
            message,
            self.variant,
            StoreHeaders::default(),
        ));
        self.write_appended(file, size, None, &data)
    }

    /// Writes `data` at `size` (the end of the file under the write lock), and the advanced
    /// last UID at `patch`, all or nothing.
    ///
    /// The journal must be on disk before any appended byte can be, or a crash could leave
    /// a torn message nobody knows to cut; and its removal must be on disk before the
    /// append is reported done, or a crash could bring it back and cut a message the
    /// caller counts as stored (a queue would not deliver it again: lost mail).
    fn write_appended(
        &self,
        file: &fs::File,
        size: u64,
        patch: Option<(u64, u32)>,
        data: &[u8],
    ) -> Result<(), Error> {
        let journal = side_path(&self.path, "mailhub-append");
        write_journal(&journal, size, self.opts.fsync)?;
        let result = (|| -> std::io::Result<()> {
            if let Some((at, last)) = patch {
                file.write_all_at(format!("{last:010}").as_bytes(), at)?;
            }
            file.write_all_at(data, size)?;
            if self.opts.fsync {
                file.sync_data()?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Nothing half-written stays: cut back to the old size (the UID gap is harmless).
            let _ = file.set_len(size);
            let _ = file.sync_data();
            let _ = fs::remove_file(&journal);
            return Err(e.into());
        }
        fs::remove_file(&journal)?;
        if self.opts.fsync {
            sync_dir(&self.path)?;
        }
        Ok(())
    }

    /// Appends messages under one lock and one fsync, all or none.
    pub fn append_many(&self, msgs: &[NewMessage<'_>]) -> Result<Vec<Option<u32>>, Error> {
        let lock = MboxLock::acquire(&self.path, LockMode::Write, &self.opts.locks)?;
        recover(&self.path, lock.file(), self.opts.fsync)?;
        let file = lock.file();
        let size = file.metadata()?.len();
        let mut data = Vec::new();
        let mut uids = Vec::with_capacity(msgs.len());
        // Where the last UID is, to advance it in place; and the first UID to give.
        let mut patch: Option<(u64, u32)> = None;
        if size == 0 {
            let n = u32::try_from(msgs.len()).map_err(|_| Error::UidsExhausted)?;
            let folder = FolderMeta {
                uid_validity: (now() as u32).max(1),
                uid_last: n,
                keywords: Vec::new(),
            };
            data.extend_from_slice(&pseudo(&folder, self.variant)?);
            uids.extend((1..=n).map(Some));
        } else {
            data.extend_from_slice(end_last_message(file, size)?);
            match first_folder(file, self.variant, size)? {
                Some((folder, at)) => {
                    let n = u32::try_from(msgs.len()).map_err(|_| Error::UidsExhausted)?;
                    let last = folder.uid_last.checked_add(n).ok_or(Error::UidsExhausted)?;
                    uids.extend((folder.uid_last + 1..=last).map(Some));
                    patch = Some((at, last));
                }
                None => uids.resize(msgs.len(), None),
            }
        }
        for (m, uid) in msgs.iter().zip(&uids) {
            let meta = MessageMeta {
                uid: *uid,
                ..m.meta.clone()
            };
            let headers = StoreHeaders {
                meta: Some(&meta),
                ..StoreHeaders::default()
            };
            data.extend_from_slice(&encode_message(
                m.envelope,
                m.message,
                self.variant,
                headers,
            ));
        }
        self.write_appended(file, size, patch, &data)?;
        Ok(uids)
    }

    /// Gives UIDs to the messages that lack them and writes the folder data (an
    /// [`Mailbox::update`] that keeps everything as it is).
    pub fn sync(&self) -> Result<UpdateReport, Error> {
        self.update(|e| Action::Keep(e.meta.clone()))
    }

    /// Rewrites the mailbox by write-new-then-rename (see the module documentation), asking
    /// `decide` what to do with each message. Messages without a usable UID get one.
    pub fn update(&self, mut decide: impl FnMut(&Entry) -> Action) -> Result<UpdateReport, Error> {
        let lock = MboxLock::acquire(&self.path, LockMode::Write, &self.opts.locks)?;
        recover(&self.path, lock.file(), self.opts.fsync)?;
        let file = lock.file();
        let snap = self.scan_locked(file, None)?;
        let mut folder = snap.folder.clone().unwrap_or(FolderMeta {
            uid_validity: (now() as u32).max(1),
            uid_last: 0,
            keywords: Vec::new(),
        });
        let mut uid_last = folder.uid_last;
        let mut prev = 0u32;
        let mut plan = Vec::new();
        let mut report = UpdateReport {
            kept: 0,
            expunged: Vec::new(),
            expunged_count: 0,
            folder: folder.clone(),
        };
        for e in &snap.messages {
            match decide(e) {
                Action::Expunge => {
                    report.expunged_count += 1;
                    report.expunged.extend(e.uid);
                }
                Action::Keep(mut meta) => {
                    let uid = match e.uid.filter(|&u| u > prev) {
                        Some(u) => u,
                        None => uid_last
                            .max(prev)
                            .checked_add(1)
                            .ok_or(Error::UidsExhausted)?,
                    };
                    prev = uid;
                    uid_last = uid_last.max(uid);
                    meta.uid = Some(uid);
                    meta.keywords.retain(|k| metadata::is_valid_keyword(k));
                    for k in &meta.keywords {
                        if !folder.keywords.contains(k) {
                            folder.keywords.push(k.clone());
                        }
                    }
                    plan.push((e, meta));
                }
            }
        }
        folder.uid_last = uid_last;
        report.kept = plan.len();
        report.folder = folder.clone();

        let tmp = side_path(
            &self.path,
            &format!("mailhub-rewrite.{}", std::process::id()),
        );
        let result = self.write_new(file, &tmp, &folder, snap.has_pseudo, &plan, &lock);
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &self.path)?;
        if self.opts.fsync {
            sync_dir(&self.path)?;
        }
        drop(lock);
        Ok(report)
    }

    fn write_new(
        &self,
        old: &File,
        tmp: &Path,
        folder: &FolderMeta,
        has_pseudo: bool,
        plan: &[(&Entry, MessageMeta)],
        lock: &MboxLock,
    ) -> Result<(), Error> {
        let out = OpenOptions::new().write(true).create_new(true).open(tmp)?;
        out.set_permissions(old.metadata()?.permissions())?;
        let mut w = BufWriter::with_capacity(256 * 1024, out);
        let pseudo_first = has_pseudo || plan.is_empty();
        if pseudo_first {
            w.write_all(&pseudo(folder, self.variant)?)?;
        }
        let mut since_refresh = 0u64;
        for (i, (e, meta)) in plan.iter().enumerate() {
            let info = &e.info;
            let mut from = vec![0; (info.data_offset - info.offset) as usize];
            old.read_exact_at(&mut from, info.offset)?;
            w.write_all(&from)?;
            if !from.ends_with(b"\n") {
                w.write_all(b"\n")?;
            }
            let fold = (i == 0 && !pseudo_first).then_some(folder);
            let (hl, head) = match info.header_len.filter(|&hl| hl <= info.data_len) {
                Some(hl) => {
                    let mut head = vec![0; hl as usize];
                    old.read_exact_at(&mut head, info.data_offset)?;
                    (hl, Some(head))
                }
                // No header block: a short message is all header; a long one is kept as is.
                None if info.data_len <= 256 * 1024 => {
                    let mut head = vec![0; info.data_len as usize];
                    old.read_exact_at(&mut head, info.data_offset)?;
                    (info.data_len, Some(head))
                }
                None => (0, None),
            };
            let body_len = info.data_len - hl;
            if let Some(head) = head {
                let cl = self.variant.uses_content_length().then_some(body_len);
                w.write_all(&metadata::render(&head, Some(meta), fold, false, cl))?;
            }
            copy_range(old, info.data_offset + hl, body_len, &mut w)?;
            w.write_all(b"\n")?;
            since_refresh += info.data_len;
            if since_refresh > 64 << 20 {
                since_refresh = 0;
                lock.refresh()?;
            }
        }
        let out = w.into_inner().map_err(|e| e.into_error())?;
        if self.opts.fsync {
            out.sync_all()?;
        }
        Ok(())
    }
}

/// The stored pseudo-message (From line included) for `folder`.
fn pseudo(folder: &FolderMeta, variant: Variant) -> Result<Vec<u8>, Error> {
    let t = now();
    let env = Envelope::new("", t)?;
    let msg = metadata::pseudo_message(folder, t, &hostname());
    Ok(encode_message(&env, &msg, variant, StoreHeaders::default()))
}

/// The folder data of the first message and the file offset of its ten-digit last UID, when
/// it can be advanced in place.
fn first_folder(
    file: &File,
    variant: Variant,
    len: u64,
) -> Result<Option<(FolderMeta, u64)>, Error> {
    let mut reader = Reader::with_len(file, ReadOptions::new(variant).with_headers(), len)?;
    let Some(info) = reader.next_message()? else {
        return Ok(None);
    };
    let Some(h) = info.headers.as_deref() else {
        return Ok(None);
    };
    let Some(folder) = metadata::parse(h).folder else {
        return Ok(None);
    };
    match metadata::uid_last_span(h) {
        Some((at, 10)) => Ok(Some((folder, info.data_offset + at as u64))),
        _ => Ok(None),
    }
}

fn copy_range<W: Write>(file: &File, mut at: u64, mut len: u64, w: &mut W) -> Result<(), Error> {
    let mut buf = vec![0; 64 * 1024];
    while len > 0 {
        let n = (len as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at)?;
        w.write_all(&buf[..n])?;
        at += n as u64;
        len -= n as u64;
    }
    Ok(())
}

/// What the file's last message needs before another is appended after it (`size` octets
/// long): nothing when it ends in a blank line, else the missing newline(s).
fn end_last_message(file: &fs::File, size: u64) -> std::io::Result<&'static [u8]> {
    if size == 0 {
        return Ok(b"");
    }
    let mut tail = [0u8; 3];
    let t = &mut tail[..size.min(3) as usize];
    file.read_exact_at(t, size - t.len() as u64)?;
    Ok(if t.ends_with(b"\n\n") || t.ends_with(b"\n\r\n") {
        b""
    } else if t.ends_with(b"\n") {
        b"\n"
    } else {
        b"\n\n"
    })
}

/// Records in `journal` the size to cut the mailbox back to if the append does not finish.
fn write_journal(journal: &Path, size: u64, fsync: bool) -> Result<(), Error> {
    let mut f = File::create(journal)?;
    f.write_all(size.to_string().as_bytes())?;
    if fsync {
        f.sync_all()?;
        sync_dir(journal)?;
    }
    Ok(())
}

/// The size recorded by an unfinished append's journal, if any.
fn read_journal(path: &Path) -> Result<Option<u64>, Error> {
    match fs::read_to_string(side_path(path, "mailhub-append")) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Undoes what a dead writer left: a half-done append (journal) and rewrite temporaries.
/// Called with the write lock held, so their owner is gone.
fn recover(path: &Path, file: &File, fsync: bool) -> Result<(), Error> {
    let journal = side_path(path, "mailhub-append");
    if let Some(size) = read_journal(path)?
        && file.metadata()?.len() > size
    {
        file.set_len(size)?;
        if fsync {
            file.sync_data()?;
        }
    }
    match fs::remove_file(&journal) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let prefix = side_path(path, "mailhub-rewrite.");
    let prefix = prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for ent in fs::read_dir(dir)?.flatten() {
        if ent.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(ent.path());
        }
    }
    Ok(())
}

fn sync_dir(path: &Path) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()?;
    Ok(())
}
