//! Dovecot-compatible dot-locks: `<file>.lock` created with `O_CREAT|O_EXCL`.
//!
//! This is the locking Dovecot uses for `dovecot-uidlist` and `dovecot-keywords` (its
//! `file_dotlock_create` with `dotlock_use_excl`, the default): whoever creates the lock file
//! owns the right to replace the file. A lock whose file has not been modified for the stale
//! timeout (Dovecot: 2 minutes for the uid list, `MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT`) is taken
//! to belong to a dead process and is removed.
//!
//! Waiting two minutes after a crash is long, so, like Dovecot's `file_dotlock_create`
//! (`lib/file-dotlock.c`), a new lock file holds `<pid>:<hostname>` (no newline). A
//! process finding the lock taken reads it; when the host is this host and `kill(pid, 0)` says
//! no such process (`ESRCH`), the lock is stale at once. Anything else (another host, a live or
//! foreign process, an empty file, a lock Dovecot made with new contents already in it, a pid
//! since reused) falls back to the mtime rule.
//!
//! Dovecot writes the new contents into the lock file itself and renames it over the target.
//! We do not: a process killed between overwriting its pid and the rename (the fsync in
//! between takes milliseconds) would leave a lock that names nobody, and every delivery after
//! the restart would wait out the two-minute rule (the SIGKILL fault test of mailhub-mta-core
//! hit exactly that). Instead the new contents go to `<file>.new`, which only the lock holder
//! writes, are fsynced and renamed over the target, and only then is the lock removed; the
//! lock names its owner for as long as it exists. Readers see the old or the new file, never
//! a torn one, as before.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
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

/// A held dot-lock. Dropping it (which [`DotLock::replace`] does last) removes the lock file.
#[derive(Debug)]
pub(crate) struct DotLock {
    lock_path: PathBuf,
    target: PathBuf,
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
        // The tag is written into a private file that is then hard-linked to the lock name
        // (as Dovecot does), so the lock never exists without its owner's pid: a process
        // killed between creating an empty lock and writing the tag would leave one only the
        // two-minute rule could break. Where links are not supported, create-then-write.
        let mut tagged = TaggedTemp::new(&lock_path);
        loop {
            let taken = match tagged.as_ref().map(|t| fs::hard_link(&t.0, &lock_path)) {
                Some(Ok(())) => true,
                Some(Err(e)) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Some(Err(_)) => {
                    tagged = None;
                    continue;
                }
                None => match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&lock_path)
                {
                    Ok(mut file) => {
                        // Best effort: without the pid the lock is still a lock, only broken
                        // later (by mtime) if we die holding it.
                        let _ = file.write_all(owner_tag().as_bytes());
                        true
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                    Err(e) => return Err(Error::io("create lock", &lock_path, e)),
                },
            };
            if taken {
                return Ok(DotLock {
                    lock_path,
                    target: target.to_owned(),
                });
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

    /// Writes `data` as the new contents of the target and releases the lock: write
    /// `<target>.new`, fsync it, rename it over the target, fsync the directory, remove the
    /// lock (see the module doc for why not Dovecot's rename of the lock file itself).
    pub(crate) fn replace(self, data: &[u8]) -> Result<(), Error> {
        let new_path = new_path_for(&self.target);
        // Only the lock holder writes this name; a leftover of a holder that died is
        // truncated here.
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&new_path)
            .map_err(|e| Error::io("create", &new_path, e))?;
        file.write_all(data)
            .map_err(|e| Error::io("write", &new_path, e))?;
        file.sync_all()
            .map_err(|e| Error::io("fsync", &new_path, e))?;
        drop(file);
        fs::rename(&new_path, &self.target).map_err(|e| Error::io("rename", &self.target, e))?;
        if let Some(dir) = self.target.parent() {
            crate::fsutil::fsync_dir(dir)?;
        }
        // Dropping `self` removes the lock file.
        Ok(())
    }
}

fn new_path_for(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

/// A file holding [`owner_tag`], removed on drop: what [`DotLock::acquire`] links to the
/// lock name. Named `<lock name>.<pid>.<n>.tmp` so no two acquirers share one, and made in
/// the Maildir's `tmp/` when the lock's directory has one: a process killed before removing
/// it leaves it where [`crate::Maildir::clean_tmp`] (and Dovecot) clear old files.
struct TaggedTemp(PathBuf);

impl TaggedTemp {
    fn new(lock_path: &Path) -> Option<TaggedTemp> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = lock_path.parent()?;
        let tmp = dir.join("tmp");
        let dir = if tmp.is_dir() { tmp } else { dir.to_owned() };
        let mut name = lock_path.file_name()?.to_owned();
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .ok()?;
        let t = TaggedTemp(path);
        file.write_all(owner_tag().as_bytes()).ok()?;
        Some(t)
    }
}

impl Drop for TaggedTemp {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock_path);
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
    fn the_lock_names_its_owner_until_released_and_a_leftover_new_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        // A holder killed between writing `.new` and renaming it left a torn file.
        fs::write(new_path_for(&target), b"torn, longer than what comes next").unwrap();
        let opts = LockOptions {
            timeout: Duration::from_millis(50),
            ..LockOptions::default()
        };
        let a = DotLock::acquire(&target, &opts).unwrap();
        a.replace(b"3 V1 N1\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"3 V1 N1\n");
        assert!(!new_path_for(&target).exists());
        assert!(!lock_path_for(&target).exists());
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
