//! Reading mbox files for the store: scans with RFC 822 sizes, flag conversion, and message
//! bodies streamed from private temporary copies.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use mailhub_mbox as mb;
use mb::{Envelope, Mailbox};

use crate::runtime::{SharedRuntime, unblock};
use crate::store::{
    FlagSet, INBOX, MailboxSnapshot, MessageBody, MessageMeta, StoreError, SystemFlags, is_inbox,
};

const CHUNK: usize = 64 * 1024;

pub(super) fn map_err(e: mb::Error) -> StoreError {
    match e {
        mb::Error::Io(ref io) if io.kind() == io::ErrorKind::NotFound => {
            StoreError::NoSuchMailbox(e.to_string())
        }
        e if e.is_temporary() => StoreError::Temporary(e.to_string()),
        e => StoreError::Failed(e.to_string()),
    }
}

pub(super) fn io_err(e: io::Error) -> StoreError {
    map_err(mb::Error::Io(e))
}

/// RFC 822 sizes by (device, inode, offset of the `From ` line).
pub(super) type SizeCache = Arc<Mutex<HashMap<(u64, u64, u64), u64>>>;

/// The entries of each mailbox at its last select.
pub(super) type EntryCache = Arc<Mutex<HashMap<String, Arc<Vec<mb::Entry>>>>>;

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn cache_key(mailbox: &str) -> String {
    if is_inbox(mailbox) {
        INBOX.to_owned()
    } else {
        mailbox.to_owned()
    }
}

pub(super) fn to_flag_set(meta: &mb::MessageMeta) -> FlagSet {
    let f = meta.flags;
    let mut s = SystemFlags::EMPTY;
    for (on, flag) in [
        (f.seen, SystemFlags::SEEN),
        (f.answered, SystemFlags::ANSWERED),
        (f.flagged, SystemFlags::FLAGGED),
        (f.deleted, SystemFlags::DELETED),
        (f.draft, SystemFlags::DRAFT),
    ] {
        if on {
            s = s.union(flag);
        }
    }
    FlagSet {
        system: s,
        keywords: meta.keywords.iter().cloned().collect(),
    }
}

pub(super) fn to_meta(set: &FlagSet, recent: bool) -> mb::MessageMeta {
    let s = set.system;
    mb::MessageMeta {
        flags: mb::Flags {
            seen: s.contains(SystemFlags::SEEN),
            answered: s.contains(SystemFlags::ANSWERED),
            flagged: s.contains(SystemFlags::FLAGGED),
            deleted: s.contains(SystemFlags::DELETED),
            draft: s.contains(SystemFlags::DRAFT),
            recent,
        },
        keywords: set
            .keywords
            .iter()
            .filter(|k| mb::metadata::is_valid_keyword(k))
            .cloned()
            .collect(),
        uid: None,
    }
}

/// A writer that counts the RFC 822 size of what passes through.
#[derive(Default)]
pub(super) struct Crlf {
    pub(super) size: u64,
    last: u8,
}

impl Write for Crlf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            if b == b'\n' && self.last != b'\r' {
                self.size += 1;
            }
            self.size += 1;
            self.last = b;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Scans (and syncs UIDs when needed), blocking.
pub(super) fn scan(
    mbox: &Mailbox,
    name: String,
    sizes: &SizeCache,
) -> Result<(MailboxSnapshot, Vec<mb::Entry>), StoreError> {
    let mut snap = mbox.scan().map_err(map_err)?;
    if snap.needs_sync {
        mbox.sync().map_err(map_err)?;
        snap = mbox.scan().map_err(map_err)?;
    }
    let uid_validity = snap.folder.as_ref().map_or(1, |f| f.uid_validity);
    let mut messages = Vec::with_capacity(snap.messages.len());
    let mut entries = Vec::with_capacity(snap.messages.len());
    for e in snap.messages {
        let Some(uid) = e.uid else { continue };
        let key = (e.file_id.0, e.file_id.1, e.info.offset);
        let cached = sizes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied();
        let size = match cached {
            Some(s) => s,
            None => {
                let mut c = Crlf::default();
                mbox.copy_to(&e, &mut c).map_err(map_err)?;
                sizes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, c.size);
                c.size
            }
        };
        let internal_date = e
            .info
            .envelope
            .time()
            .and_then(|t| u64::try_from(t).ok())
            .map_or(UNIX_EPOCH, |t| UNIX_EPOCH + Duration::from_secs(t));
        messages.push(MessageMeta {
            uid,
            flags: to_flag_set(&e.meta),
            size,
            internal_date,
            modseq: 0,
        });
        entries.push(e);
    }
    Ok((
        MailboxSnapshot {
            name,
            uid_validity,
            uid_next: snap.uid_next,
            highest_modseq: 0,
            messages,
        },
        entries,
    ))
}

/// A private, already unlinked temporary file.
pub(super) fn temp_file() -> io::Result<File> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!(
            ".mailhub-mbox-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

pub(super) struct FileBody {
    pub(super) file: Option<File>,
    pub(super) len: u64,
    pub(super) runtime: SharedRuntime,
}

#[async_trait]
impl MessageBody for FileBody {
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

pub(super) fn envelope(date: Option<SystemTime>) -> Result<Envelope, StoreError> {
    let t = date
        .unwrap_or_else(SystemTime::now)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Envelope::new("MAILER-DAEMON", t).map_err(map_err)
}
