//! A `dovecot-uidlist.lock` left by a process that died holding it (SIGKILL, power cut of a
//! container) is broken at once when it names a dead process of this host, as Dovecot's
//! dot-locks do; any other lock keeps the wait-then-mtime rule.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use mailhub_maildir::{Error, LockOptions, Maildir, Options, UIDLIST};

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// A Maildir whose lock waits end quickly, so a lock wrongly kept fails the test fast.
fn maildir(dir: &Path, timeout: Duration) -> Maildir {
    let mut lock = LockOptions::default();
    lock.timeout = timeout;
    let mut opts = Options::default();
    opts.fsync = false;
    opts.lock = lock;
    Maildir::create(dir).unwrap().with_options(opts)
}

fn lock_path(md: &Maildir) -> PathBuf {
    md.path().join(format!("{UIDLIST}.lock"))
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn lock_of_dead_local_process_is_broken_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let md = maildir(dir.path(), Duration::from_secs(5));
    md.deliver(b"Subject: x\n\nbody\n").unwrap();
    fs::write(lock_path(&md), format!("{}:{}", dead_pid(), hostname())).unwrap();
    assert!(md.uidlist_locked());
    // Fresh mtime: only the dead pid can make it stale before the 120 s rule.
    let snap = md.sync_uids().unwrap();
    assert_eq!(snap.messages.len(), 1);
    assert!(!md.uidlist_locked());
}

#[test]
fn lock_of_live_process_is_kept_until_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let md = maildir(dir.path(), Duration::from_millis(100));
    let mut child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let tag = format!("{}:{}", child.id(), hostname());
    fs::write(lock_path(&md), &tag).unwrap();
    let held = md.sync_uids();
    let kill = child.kill();
    child.wait().unwrap();
    kill.unwrap();
    assert!(matches!(held, Err(Error::LockTimeout { .. })), "{held:?}");
    assert_eq!(fs::read_to_string(lock_path(&md)).unwrap(), tag);
    // Its holder is gone now: the same lock file is broken on the next try.
    md.sync_uids().unwrap();
    assert!(!md.uidlist_locked());
}

#[test]
fn lock_of_own_process_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let md = maildir(dir.path(), Duration::from_millis(50));
    let tag = format!("{}:{}", std::process::id(), hostname());
    fs::write(lock_path(&md), &tag).unwrap();
    assert!(matches!(md.sync_uids(), Err(Error::LockTimeout { .. })));
    assert_eq!(fs::read_to_string(lock_path(&md)).unwrap(), tag);
}

#[test]
fn dead_pid_of_another_host_falls_back_to_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let md = maildir(dir.path(), Duration::from_millis(50));
    let tag = format!("{}:{}-elsewhere", dead_pid(), hostname());
    fs::write(lock_path(&md), &tag).unwrap();
    assert!(matches!(md.sync_uids(), Err(Error::LockTimeout { .. })));
    assert_eq!(fs::read_to_string(lock_path(&md)).unwrap(), tag);
}

#[test]
fn garbage_lock_falls_back_to_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let md = maildir(dir.path(), Duration::from_millis(50));
    // What Dovecot's uid list lock holds while it writes: the new list, no pid.
    for contents in [&b""[..], b"3 V1 N1 G0\n", b"\xff\xfe:junk"] {
        fs::write(lock_path(&md), contents).unwrap();
        assert!(
            matches!(md.sync_uids(), Err(Error::LockTimeout { .. })),
            "{contents:?}"
        );
        assert_eq!(fs::read(lock_path(&md)).unwrap(), contents);
        // Old enough: stale by the 120 s rule, as before.
        let f = fs::File::options()
            .write(true)
            .open(lock_path(&md))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(600))
            .unwrap();
        drop(f);
        md.sync_uids().unwrap();
        assert!(!md.uidlist_locked());
    }
}
