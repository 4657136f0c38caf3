//! Dovecot-compatible dot-locks: `<file>.lock` created with `O_CREAT|O_EXCL`.
//!
//! This is the locking Dovecot uses for `dovecot-uidlist` and `dovecot-keywords` (its
//! `file_dotlock_create` with `dotlock_use_excl`, the default): whoever creates the lock file
//! owns the right to replace the file; the new contents are written into the lock file itself,
//! fsynced, and the lock file is renamed over the target, which releases the lock in the same
//! step. A lock whose file has not been modified for the stale timeout (Dovecot: 2 minutes for
//! the uid list, `MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT`) is taken to belong to a dead process and
//! is removed.
//!
//! Waiting two minutes after a crash is long, so, like Dovecot's `file_dotlock_create`
//! (`lib/file-dotlock.c`), a new lock file first holds `<pid>:<hostname>` (no newline). A
//! process finding the lock taken reads it; when the host is this host and `kill(pid, 0)` says
//! no such process (`ESRCH`), the lock is stale at once. Anything else (another host, a live or
//! foreign process, an empty file, a lock Dovecot made with new contents already in it, a pid
//! since reused) falls back to the mtime rule. The owner overwrites the pid with the new
//! contents before renaming, so the target never sees it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;

/// How long to wait for a lock and when to call one stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockOptions {
    /// Give up with [`Error::LockTimeout`] after waiting this long. Default 30 s.
    pub timeout: Duration,
    /// A lock file not modified for this long is removed as stale. Default 120 s, as Dovecot.
    pub stale_after: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            timeout: Duration::from_secs(30),
            stale_after: Duration::from_secs(120),
        }
    }
}

/// A held dot-lock. Dropping it without [`DotLock::replace`] removes the lock file.
#[derive(Debug)]
pub(crate) struct DotLock {
    lock_path: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

pub(crate) fn lock_path_for(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

impl DotLock {
    /// Takes the lock on `target`, waiting (with back-off) up to `opts.timeout`.
    pub(crate) fn acquire(target: &Path, opts: &LockOptions) -> Result<DotLock, Error> {
        let lock_path = lock_path_for(target);
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&lock_path)
            {
                Ok(mut file) => {
                    // Best effort: without the pid the lock is still a lock, only broken
                    // later (by mtime) if we die holding it.
                    let _ = file.write_all(owner_tag().as_bytes());
                    return Ok(DotLock {
                        lock_path,
                        target: target.to_owned(),
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create lock", &lock_path, e)),
            }
            if remove_if_owner_dead(&lock_path) {
                continue;
            }
            if is_stale(&lock_path, opts.stale_after) {
                // Someone else may remove it at the same moment; either way, try again.
                let _ = fs::remove_file(&lock_path);
                continue;
            }
            if start.elapsed() >= opts.timeout {
                return Err(Error::LockTimeout { path: lock_path });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Writes `data` as the new contents of the target and releases the lock: write into the
    /// lock file, fsync it, rename it over the target, fsync the directory.
    pub(crate) fn replace(mut self, data: &[u8]) -> Result<(), Error> {
        let mut file = self.file.take().expect("lock file present until replaced");
        // Overwrite the `pid:host` tag; cut what is left of it if `data` is shorter.
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(data))
            .and_then(|()| file.set_len(data.len() as u64))
            .map_err(|e| Error::io("write", &self.lock_path, e))?;
        file.sync_all()
            .map_err(|e| Error::io("fsync", &self.lock_path, e))?;
        drop(file);
        fs::rename(&self.lock_path, &self.target)
            .map_err(|e| Error::io("rename", &self.target, e))?;
        // The rename consumed the lock file: nothing left for Drop to remove.
        self.lock_path = PathBuf::new();
        if let Some(dir) = self.target.parent() {
            crate::fsutil::fsync_dir(dir)?;
        }
        Ok(())
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        if !self.lock_path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.lock_path);
        }
    }
}

/// `<pid>:<hostname>`, as Dovecot writes into its dot-locks.
fn owner_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("{}:{}", std::process::id(), hostname()))
}

/// The node name, as `gethostname()` gives it (and Dovecot's `my_hostname`).
fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    })
}

/// Longest lock contents read as a `pid:host` tag; hostnames are at most 255 bytes.
const MAX_TAG: u64 = 300;

/// The pid in a `pid:host` tag if `host` is this host; `None` for anything else.
fn local_pid(tag: &[u8]) -> Option<rustix::process::Pid> {
    let tag = std::str::from_utf8(tag).ok()?;
    let tag = tag.strip_suffix('\n').unwrap_or(tag);
    let (pid, host) = tag.split_once(':')?;
    if host != hostname() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rustix::process::Pid::from_raw(pid.parse().ok()?)
}

/// Removes the lock at `path` if it names a process of this host that no longer exists.
/// Returns whether it removed it.
///
/// The lock is removed only if the file at `path` is still the one read (same device, inode,
/// size, mtime and ctime): between reading and removing, its owner may have been replaced by a
/// live process that created a new lock, perhaps on the freed inode, and writing its own tag
/// into it changes the ctime. The window left (between the last `lstat` and `unlink`) is the
/// one Dovecot leaves as well.
fn remove_if_owner_dead(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let Ok(before) = file.metadata() else {
        return false;
    };
    if before.len() > MAX_TAG {
        return false;
    }
    let mut tag = Vec::new();
    if file.take(MAX_TAG + 1).read_to_end(&mut tag).is_err() || tag.len() as u64 != before.len() {
        return false;
    }
    let Some(pid) = local_pid(&tag) else {
        return false;
    };
    // Only "no such process" counts; EPERM means it exists under another user.
    if rustix::process::test_kill_process(pid) != Err(rustix::io::Errno::SRCH) {
        return false;
    }
    let Ok(now) = fs::symlink_metadata(path) else {
        return false;
    };
    let same = (
        now.dev(),
        now.ino(),
        now.len(),
        now.mtime(),
        now.mtime_nsec(),
    ) == (
        before.dev(),
        before.ino(),
        before.len(),
        before.mtime(),
        before.mtime_nsec(),
    ) && (now.ctime(), now.ctime_nsec()) == (before.ctime(), before.ctime_nsec());
    same && fs::remove_file(path).is_ok()
}

fn is_stale(path: &Path, stale_after: Duration) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    let Ok(mtime) = meta.modified() else {
        return false;
    };
    SystemTime::now()
        .duration_since(mtime)
        .is_ok_and(|age| age >= stale_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_then_released() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let opts = LockOptions {
            timeout: Duration::from_millis(50),
            ..LockOptions::default()
        };
        let a = DotLock::acquire(&target, &opts).unwrap();
        let tag = fs::read(dir.path().join("dovecot-uidlist.lock")).unwrap();
        assert_eq!(
            tag,
            format!("{}:{}", std::process::id(), hostname()).as_bytes()
        );
        assert!(matches!(
            DotLock::acquire(&target, &opts),
            Err(Error::LockTimeout { .. })
        ));
        // Shorter than the pid tag: what is left of the tag must be cut off.
        a.replace(b"hello").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
        let b = DotLock::acquire(&target, &opts).unwrap();
        drop(b);
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
        assert_eq!(fs::read(&target).unwrap(), b"hello");
    }

    #[test]
    fn tag_parsing() {
        let host = hostname();
        assert_eq!(
            local_pid(format!("4242:{host}").as_bytes()).map(|p| p.as_raw_nonzero().get()),
            Some(4242)
        );
        assert!(local_pid(format!("4242:{host}\n").as_bytes()).is_some());
        for bad in [
            format!("4242:{host}x"),
            format!("0:{host}"),
            format!("-5:{host}"),
            format!("+5:{host}"),
            format!(":{host}"),
            format!("99999999999:{host}"),
            "4242".to_owned(),
            String::new(),
            "3 V1 U1 N1\n".to_owned(),
        ] {
            assert!(local_pid(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(local_pid(b"\xff:\xff").is_none());
    }

    #[test]
    fn stale_lock_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let f = File::create(lock_path_for(&target)).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(600))
            .unwrap();
        let opts = LockOptions {
            timeout: Duration::from_millis(50),
            ..LockOptions::default()
        };
        DotLock::acquire(&target, &opts).unwrap();
    }
}
