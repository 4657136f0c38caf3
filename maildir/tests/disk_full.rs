//! A full disk, a file-size limit or the Maildir++ quota makes a delivery fail with a
//! temporary error (an MDA's 4xx) and leaves nothing behind in `tmp/`, `new/` or `cur/`.
//!
//! This file is its own test harness (`harness = false`) because the disk has to really be
//! full for the process that delivers. It re-executes itself as a child:
//!
//! - `file_size_limit`: the child runs under `sh -c 'trap "" XFSZ; ulimit -f 128; exec ..'`,
//!   so a write past 64–128 KiB (the shell's block size) fails with `EFBIG` instead of
//!   killing the process with `SIGXFSZ`. It delivers 1 KiB (which must succeed: the limit is
//!   not what broke the test) and then 1 MiB.
//! - `tmpfs_full`: the child runs in its own mount namespace (`unshare -m`) with a 256 KiB
//!   tmpfs mounted over an empty directory, creates the Maildir there, fills most of it with
//!   small messages and then delivers one that does not fit (`ENOSPC`). The namespace dies
//!   with the child, so nothing stays mounted whatever happens. Mounting needs root (or a
//!   user namespace); where it is not permitted the test says so and passes on the
//!   strength of `file_size_limit`, which needs no privilege.
//! - `over_quota`: no child needed; deliveries, IMAP APPENDs (into `cur/`) and copies over the
//!   `maildirsize` limit.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use mailhub_maildir::quota::QuotaDef;
use mailhub_maildir::{Delivery, Error, Flags, Maildir, Store};

/// Every name in `tmp/`, `new/` and `cur/` of `dir`, sorted, prefixed by the subdirectory.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["tmp", "new", "cur"] {
        for e in fs::read_dir(dir.join(sub)).unwrap() {
            out.push(format!(
                "{sub}/{}",
                e.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    out.sort();
    out
}

fn message(len: usize) -> Vec<u8> {
    let mut m = b"Subject: big\n\n".to_vec();
    m.resize(len, b'x');
    m
}

/// Outcome of one delivery, printed by a child for the parent: `ok <file>` or
/// `err temporary=<bool> nospace=<bool> <message>`.
fn outcome(r: Result<mailhub_maildir::Entry, Error>) -> String {
    match r {
        Ok(e) => format!("ok {}", e.file_name()),
        Err(e) => format!(
            "err temporary={} nospace={} {e}",
            e.is_temporary(),
            matches!(e, Error::NoSpace { .. })
        ),
    }
}

/// Child: deliver one message of `len` bytes into the Maildir at `dir`, print the outcome.
fn child_deliver(dir: &Path, len: usize) {
    let md = Maildir::open(dir).unwrap();
    println!("{}", outcome(md.deliver(&message(len))));
}

/// Child in its own mount namespace, on a fresh 256 KiB tmpfs at `dir`: fill it, then deliver
/// one message that does not fit, into `new/` and into `cur/`. Prints the outcomes and what
/// is left, since the parent cannot see this mount.
fn child_tmpfs(dir: &Path) {
    let store = Store::create(dir.join("Maildir")).unwrap();
    let md = store.inbox();
    // 16 KiB at a time until the disk refuses: the last of those failures already is the case
    // under test, but its size is not controlled, so go on with a clearly too big one.
    let mut small = 0;
    while md.deliver(&message(16 << 10)).is_ok() {
        small += 1;
        assert!(small < 1000, "a 256 KiB tmpfs took 16 MiB: not mounted?");
    }
    let before = files(&dir.join("Maildir"));
    println!("filled {small}");
    println!("{}", outcome(md.deliver(&message(1 << 20))));
    let appended = md.deliver_from(
        &message(1 << 20)[..],
        &Delivery::default().with_flags(Flags::SEEN),
    );
    println!("{}", outcome(appended));
    let after = files(&dir.join("Maildir"));
    println!("unchanged {}", before == after);
    println!("tmp-empty {}", !after.iter().any(|f| f.starts_with("tmp/")));
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn file_size_limit() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("Maildir");
    Maildir::create(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let limited = |len: usize| {
        let out = run(Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"trap "" XFSZ; ulimit -f 128 || exit 99; exec "$@""#)
            .arg("sh")
            .arg(&exe)
            .arg("--child-deliver")
            .arg(&dir)
            .arg(len.to_string()));
        assert!(out.status.success(), "child: {}", out.status);
        String::from_utf8(out.stdout).unwrap()
    };
    // Under the limit: delivered, so the limit is what makes the next one fail.
    let small = limited(1024);
    assert!(small.starts_with("ok "), "{small}");
    let before = files(&dir);
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].starts_with("new/"));

    let big = limited(1 << 20);
    assert!(big.starts_with("err temporary=true "), "{big}");
    assert!(big.contains("File too large"), "{big}");
    assert_eq!(files(&dir), before, "nothing left behind: {big}");
    println!("  file_size_limit: {}", big.trim());
}

fn tmpfs_full() {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .arg("-m")
        .arg("/bin/sh")
        .arg("-c")
        .arg(
            r#"mount --make-rprivate / 2>/dev/null; mount -t tmpfs -o size=256k,mode=0700 tmpfs "$1" || exit 99; shift; exec "$@""#,
        )
        .arg("sh")
        .arg(&mnt)
        .arg(&exe)
        .arg("--child-tmpfs")
        .arg(&mnt)
        .output();
    // A check that skips itself passes without checking: refuse instead. `.ci/run` runs as root,
    // where a private mount namespace and a tmpfs are always available.
    let cannot = |why: &str| -> ! {
        panic!(
            "tmpfs_full needs root (or a user namespace) and util-linux's unshare and mount \
             to mount a small tmpfs: {why}"
        )
    };
    let out = match out {
        Err(e) => cannot(&e.to_string()),
        // unshare refused (exit 1) or mount refused (99): not root, no namespaces.
        Ok(o) if o.stdout.is_empty() && matches!(o.status.code(), Some(1 | 99)) => {
            cannot(String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(o) => {
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
            o
        }
    };
    assert!(out.status.success(), "child: {}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let filled: usize = lines[0].strip_prefix("filled ").unwrap().parse().unwrap();
    assert!(filled >= 4, "the tmpfs took only {filled} messages: {text}");
    for l in &lines[1..3] {
        assert!(l.starts_with("err temporary=true nospace=true "), "{text}");
    }
    assert_eq!(lines[3], "unchanged true", "{text}");
    assert_eq!(lines[4], "tmp-empty true", "{text}");
    println!(
        "  tmpfs_full: {filled} messages filled it; then {}",
        lines[1]
    );
}

fn over_quota() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::create(t.path().join("M")).unwrap();
    let work = store
        .create_folder(&mailhub_maildir::FolderName::new("Work", '/').unwrap())
        .unwrap();
    let kept = work.deliver(&message(30_000)).unwrap();
    store
        .set_quota(QuotaDef {
            bytes: Some(50_000),
            count: None,
        })
        .unwrap();
    store.inbox().deliver(&message(10_000)).unwrap();
    let root = store.root().to_owned();
    let before = (files(&root), files(work.path()));
    let usage = |store: &Store| {
        let q = store.quota().unwrap().unwrap();
        (q.bytes, q.count)
    };
    assert_eq!(usage(&store), (40_000, 2));

    let checks: [(&str, Result<_, Error>); 4] = [
        ("deliver", store.inbox().deliver(&message(20_000))),
        (
            "append",
            store.inbox().deliver_from(
                &message(20_000)[..],
                &Delivery::default().with_flags(Flags::SEEN),
            ),
        ),
        ("folder", work.deliver(&message(20_000))),
        ("copy", work.copy_to(&kept, store.inbox(), None)),
    ];
    for (what, r) in checks {
        let err = r.expect_err(what);
        assert!(matches!(err, Error::OverQuota { .. }), "{what}: {err}");
        assert!(err.is_temporary(), "{what}");
        assert_eq!(
            (files(&root), files(work.path())),
            before,
            "{what} left something"
        );
    }
    // Over quota, maildirsize may be recalculated (maildirquota asks for it before refusing),
    // but a refused message is not counted.
    assert_eq!(
        usage(&store),
        (40_000, 2),
        "a refused delivery is not counted"
    );
    // Just under the limit still goes in.
    store.inbox().deliver(&message(9_000)).unwrap();
    println!("  over_quota: deliver, append, folder delivery and copy refused, nothing left");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-deliver") {
        child_deliver(Path::new(&args[i + 1]), args[i + 2].parse().unwrap());
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child-tmpfs") {
        child_tmpfs(Path::new(&args[i + 1]));
        return;
    }
    let tests: [(&str, fn()); 3] = [
        ("file_size_limit", file_size_limit),
        ("tmpfs_full", tmpfs_full),
        ("over_quota", over_quota),
    ];
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return;
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for (name, test) in tests {
        if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
            test();
            println!("test {name} ... ok");
            ran += 1;
        }
    }
    println!("{ran} tests passed");
}
