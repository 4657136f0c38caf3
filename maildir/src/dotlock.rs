//! Dovecot-compatible dot-locks: `<file>.lock` created with `O_CREAT|O_EXCL`.
//!
//! This is the locking Dovecot uses for `dovecot-uidlist` and `dovecot-keywords` (its
//! `file_dotlock_create` with `dotlock_use_excl`, the default): whoever creates the lock file
//! owns the right to replace the file; the new contents are written into the lock file itself,
//! fsynced, and the lock file is renamed over the target, which releases the lock in the same
//! step. A lock whose file has not been modified for the stale timeout (Dovecot: 2 minutes for
//! the uid list, `MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT`) is taken to belong to a dead process and
//! is removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
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
                Ok(file) => {
                    return Ok(DotLock {
                        lock_path,
                        target: target.to_owned(),
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create lock", &lock_path, e)),
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
        file.write_all(data)
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
        assert!(dir.path().join("dovecot-uidlist.lock").exists());
        assert!(matches!(
            DotLock::acquire(&target, &opts),
            Err(Error::LockTimeout { .. })
        ));
        a.replace(b"hello").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
        let b = DotLock::acquire(&target, &opts).unwrap();
        drop(b);
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
        assert_eq!(fs::read(&target).unwrap(), b"hello");
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
