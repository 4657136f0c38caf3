//! Locking an mbox the way the other programs that share it do.
//!
//! Three mechanisms exist in the wild and must be combined for a mailbox shared with mutt, the
//! MTA's local delivery agent and Dovecot or UW IMAP:
//!
//! - **dotlock**: a file `<mbox>.lock` that exists while the lock is held. It is made with the
//!   NFS-safe link trick: write a unique temporary file (created with `O_EXCL`), `link(2)` it to
//!   the lock name, and count the lock as taken when the link succeeds or when the temporary file
//!   then has two links (the link may have succeeded although NFS reported an error). The file
//!   holds `<pid>:<hostname>`, as Dovecot writes it. A lock whose owner is a dead process on this
//!   host is broken at once; any other lock is broken when it has not been touched for
//!   [`LockOptions::dotlock_stale_after`] (a holder doing long work calls [`MboxLock::refresh`]).
//! - **fcntl** (`F_SETLK` on the whole file; POSIX record locks, NFS-aware).
//! - **flock** (BSD locks).
//!
//! The default order is Dovecot's (`mbox_read_locks = fcntl`, `mbox_write_locks = dotlock
//! fcntl`), which is also what mutt uses, so all three exclude each other. Waiting is bounded by
//! [`LockOptions::timeout`]; running out gives [`Error::LockTimeout`], a temporary error.
//!
//! POSIX fcntl locks belong to the process, not the file handle: two handles in one process do
//! not exclude each other, and closing any descriptor of the file drops the lock. This module
//! keeps exactly one descriptor per lock and never opens a second one on the locked file.
//!
//! After the fd locks are taken the locked descriptor is compared with the path (device and
//! inode): a writer may have replaced the file by rename meanwhile ([`crate::Mailbox::update`]
//! does), and then the lock is on a file nobody uses any more, so it is taken again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::FlockOperation;

use crate::Error;

/// One locking mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockMethod {
    /// `<mbox>.lock`, NFS-safe.
    Dotlock,
    /// POSIX `fcntl(F_SETLK)` on the whole file.
    Fcntl,
    /// BSD `flock(2)`.
    Flock,
}

/// Shared (reading) or exclusive (writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Several readers at once; no writer.
    Read,
    /// One writer, no reader.
    Write,
}

/// Which locks to take, in which order, and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockOptions {
    /// Locks for reading, in order. Default: fcntl.
    pub read: Vec<LockMethod>,
    /// Locks for writing, in order. Default: dotlock, then fcntl.
    pub write: Vec<LockMethod>,
    /// How long to wait for all the locks together. Default: 5 minutes (Dovecot's
    /// `mbox_lock_timeout`).
    pub timeout: Duration,
    /// A dotlock untouched for this long is stale and broken. Default: 2 minutes (Dovecot's
    /// `mbox_dotlock_change_timeout`).
    pub dotlock_stale_after: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            read: vec![LockMethod::Fcntl],
            write: vec![LockMethod::Dotlock, LockMethod::Fcntl],
            timeout: Duration::from_secs(300),
            dotlock_stale_after: Duration::from_secs(120),
        }
    }
}

/// A held lock on an mbox, with the one open descriptor of the file. Dropping it releases
/// everything.
#[derive(Debug)]
pub struct MboxLock {
    file: File,
    dotlock: Option<DotLock>,
    mode: LockMode,
}

impl MboxLock {
    /// Takes the locks of `mode` on the mbox at `path` (which must exist), in the configured
    /// order, waiting at most the configured timeout.
    pub fn acquire(path: &Path, mode: LockMode, opts: &LockOptions) -> Result<MboxLock, Error> {
        let deadline = Instant::now() + opts.timeout;
        let methods = match mode {
            LockMode::Read => &opts.read,
            LockMode::Write => &opts.write,
        };
        loop {
            let mut dotlock = None;
            let mut file: Option<File> = None;
            for m in methods {
                match m {
                    LockMethod::Dotlock => {
                        if dotlock.is_none() {
                            dotlock =
                                Some(DotLock::acquire(path, deadline, opts.dotlock_stale_after)?);
                        }
                    }
                    LockMethod::Fcntl | LockMethod::Flock => {
                        if file.is_none() {
                            file = Some(open(path, mode)?);
                        }
                        let f = file.as_ref().expect("opened above");
                        fd_lock(f, *m, mode, deadline, path)?;
                    }
                }
            }
            let file = match file {
                Some(f) => f,
                None => open(path, mode)?,
            };
            if same_file(&file, path)? {
                return Ok(MboxLock {
                    file,
                    dotlock,
                    mode,
                });
            }
            // Replaced while we waited: the locks are on an orphan. Release and start over.
            drop(file);
            drop(dotlock);
            if Instant::now() >= deadline {
                return Err(Error::LockTimeout {
                    path: path.to_owned(),
                });
            }
        }
    }

    /// The locked file (read-only for a read lock, read-write for a write lock). Do not open
    /// the file a second time while the lock is held (see the module documentation).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The mode held.
    pub fn mode(&self) -> LockMode {
        self.mode
    }

    /// Touches the dotlock so that other processes do not consider it stale during long work.
    pub fn refresh(&self) -> Result<(), Error> {
        if let Some(d) = &self.dotlock {
            d.refresh()?;
        }
        Ok(())
    }
}

fn open(path: &Path, mode: LockMode) -> io::Result<File> {
    match mode {
        LockMode::Read => File::open(path),
        LockMode::Write => OpenOptions::new().read(true).write(true).open(path),
    }
}

fn same_file(file: &File, path: &Path) -> io::Result<bool> {
    let a = file.metadata()?;
    match fs::metadata(path) {
        Ok(b) => Ok(a.dev() == b.dev() && a.ino() == b.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Polls a non-blocking lock with a growing pause until the deadline.
fn fd_lock(
    f: &File,
    m: LockMethod,
    mode: LockMode,
    deadline: Instant,
    path: &Path,
) -> Result<(), Error> {
    let op = match mode {
        LockMode::Read => FlockOperation::NonBlockingLockShared,
        LockMode::Write => FlockOperation::NonBlockingLockExclusive,
    };
    let mut pause = Duration::from_millis(2);
    loop {
        let r = match m {
            LockMethod::Fcntl => rustix::fs::fcntl_lock(f, op),
            _ => rustix::fs::flock(f, op),
        };
        match r {
            Ok(()) => return Ok(()),
            Err(e)
                if e == rustix::io::Errno::AGAIN
                    || e == rustix::io::Errno::ACCESS
                    || e == rustix::io::Errno::INTR => {}
            Err(e) => return Err(io::Error::from(e).into()),
        }
        if Instant::now() >= deadline {
            return Err(Error::LockTimeout {
                path: path.to_owned(),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A held `<mbox>.lock`; removed on drop if it is still ours.
#[derive(Debug)]
struct DotLock {
    path: PathBuf,
    content: Vec<u8>,
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

fn dotlock_path(mbox: &Path) -> PathBuf {
    let mut s = mbox.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

impl DotLock {
    fn acquire(mbox: &Path, deadline: Instant, stale_after: Duration) -> Result<DotLock, Error> {
        let path = dotlock_path(mbox);
        let host = hostname();
        let pid = std::process::id();
        let content = format!("{pid}:{host}").into_bytes();
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{host}.{pid}.{nanos}"));
        let tmp = PathBuf::from(tmp);
        let mut pause = Duration::from_millis(2);
        loop {
            let got = Self::try_link(&path, &tmp, &content);
            let _ = fs::remove_file(&tmp);
            match got {
                Ok(true) => return Ok(DotLock { path, content }),
                Ok(false) => {}
                Err(e) => return Err(e.into()),
            }
            if Self::break_if_stale(&path, &host, stale_after)? {
                continue;
            }
            if Instant::now() >= deadline {
                return Err(Error::LockTimeout {
                    path: mbox.to_owned(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// One attempt of the link trick.
    fn try_link(path: &Path, tmp: &Path, content: &[u8]) -> io::Result<bool> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
        f.write_all(content)?;
        drop(f);
        match fs::hard_link(tmp, path) {
            Ok(()) => Ok(true),
            // NFS may report a failure for a link that was made: the link count tells.
            Err(e) => match fs::metadata(tmp) {
                Ok(m) if m.nlink() == 2 => Ok(true),
                _ if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                _ => Err(e),
            },
        }
    }

    /// Removes the lock when its owner is dead (same host) or it is older than `stale_after`.
    /// Returns whether it was removed (or vanished).
    fn break_if_stale(path: &Path, host: &str, stale_after: Duration) -> io::Result<bool> {
        let Ok(meta) = fs::metadata(path) else {
            return Ok(true);
        };
        let mut content = Vec::new();
        if let Ok(mut f) = File::open(path) {
            let _ = Read::by_ref(&mut f).take(256).read_to_end(&mut content);
        }
        let owner_dead = parse_owner(&content).is_some_and(|(pid, h)| h == host && !pid_alive(pid));
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok());
        let stale = owner_dead || age.is_some_and(|a| a > stale_after);
        if !stale {
            return Ok(false);
        }
        // Shrink the race with another breaker: remove only the file we judged.
        match fs::metadata(path) {
            Ok(again) if again.ino() == meta.ino() && again.mtime() == meta.mtime() => {
                match fs::remove_file(path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(true),
        }
    }

    fn refresh(&self) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .open(&self.path)?
            .set_modified(SystemTime::now())
    }
}

fn parse_owner(content: &[u8]) -> Option<(i32, String)> {
    let s = std::str::from_utf8(content).ok()?.trim();
    let (pid, host) = s.split_once(':')?;
    Some((pid.parse().ok().filter(|&p: &i32| p > 0)?, host.to_owned()))
}

fn pid_alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        // Remove only our own lock: if it was broken as stale and retaken, it is not ours.
        let mut content = Vec::new();
        if let Ok(mut f) = File::open(&self.path) {
            let _ = Read::by_ref(&mut f).take(256).read_to_end(&mut content);
        }
        if content == self.content {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> LockOptions {
        LockOptions {
            timeout: Duration::from_millis(100),
            ..LockOptions::default()
        }
    }

    #[test]
    fn dotlock_excludes_and_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inbox");
        fs::write(&p, b"").unwrap();
        let l = MboxLock::acquire(&p, LockMode::Write, &quick()).unwrap();
        assert!(dotlock_path(&p).exists());
        // Same process: fcntl does not exclude, the dotlock does (owner alive).
        let err = MboxLock::acquire(&p, LockMode::Write, &quick()).unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }) && err.is_temporary());
        drop(l);
        assert!(!dotlock_path(&p).exists());
        drop(MboxLock::acquire(&p, LockMode::Write, &quick()).unwrap());
    }

    #[test]
    fn stale_dotlocks_are_broken() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inbox");
        fs::write(&p, b"").unwrap();
        // A dead owner on this host: broken at once. (pid 0x7fff_fff0 does not exist.)
        fs::write(dotlock_path(&p), format!("{}:{}", 0x7fff_fff0, hostname())).unwrap();
        drop(MboxLock::acquire(&p, LockMode::Write, &quick()).unwrap());
        // An old lock of another host: broken by age.
        fs::write(dotlock_path(&p), b"1:elsewhere").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(dotlock_path(&p))
            .unwrap()
            .set_modified(old)
            .unwrap();
        drop(MboxLock::acquire(&p, LockMode::Write, &quick()).unwrap());
        // A fresh lock of another host: respected.
        fs::write(dotlock_path(&p), b"1:elsewhere").unwrap();
        assert!(MboxLock::acquire(&p, LockMode::Write, &quick()).is_err());
        // Readers (fcntl only by default) are not held up by a dotlock.
        drop(MboxLock::acquire(&p, LockMode::Read, &quick()).unwrap());
    }

    #[test]
    fn flock_excludes_between_handles_and_order_is_configurable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inbox");
        fs::write(&p, b"").unwrap();
        // flock locks belong to the open file, so two handles in one process conflict.
        let flock = LockOptions {
            read: vec![LockMethod::Flock],
            write: vec![LockMethod::Flock, LockMethod::Dotlock],
            ..quick()
        };
        let w = MboxLock::acquire(&p, LockMode::Write, &flock).unwrap();
        assert!(dotlock_path(&p).exists(), "dotlock taken after flock");
        assert!(matches!(
            MboxLock::acquire(&p, LockMode::Read, &flock),
            Err(Error::LockTimeout { .. })
        ));
        drop(w);
        let r1 = MboxLock::acquire(&p, LockMode::Read, &flock).unwrap();
        let r2 = MboxLock::acquire(&p, LockMode::Read, &flock).unwrap();
        assert!(MboxLock::acquire(&p, LockMode::Write, &flock).is_err());
        drop((r1, r2));
        // No lock at all is allowed too (a private mailbox).
        let none = LockOptions {
            read: vec![],
            write: vec![],
            ..quick()
        };
        let l = MboxLock::acquire(&p, LockMode::Write, &none).unwrap();
        assert_eq!(l.mode(), LockMode::Write);
    }
}
