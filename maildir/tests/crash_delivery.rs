//! Crash test: a process killed (SIGKILL) at random points while delivering never leaves a
//! partial message in `new/` or `cur/`.
//!
//! This file is its own test harness (`harness = false`): run without arguments it is the
//! parent, which re-executes itself with `--child <dir>` and kills the child after a random
//! delay, again and again, checking the Maildir after each kill. The child delivers messages
//! of up to 2 MiB in a loop, with fsync, into `new/` and (as IMAP APPEND does) into `cur/`,
//! with a `maildirsize` quota in place so the quota path is crossed too.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailhub_maildir::quota::QuotaDef;
use mailhub_maildir::{Delivery, Flags, MessageName, Store};

const ROUNDS: usize = 30;
const TRAILER: &[u8] = b"\n-- end of message --\n";

/// The body of message `n` of `len` bytes: its own number spelled out over and over, so a
/// message cut short or mixed with another one cannot pass the check.
fn message(n: u64, len: usize) -> Vec<u8> {
    let mut m = format!("Subject: {n} {len}\n\n").into_bytes();
    let pattern = format!("{n:016x}\n");
    while m.len() < len {
        m.extend_from_slice(pattern.as_bytes());
    }
    m.extend_from_slice(TRAILER);
    m
}

fn child(dir: &Path) {
    let store = Store::open(dir).unwrap();
    let mut n = std::process::id() as u64 * 1_000_000;
    loop {
        n += 1;
        let len = (n as usize * 7919) % (2 << 20);
        let msg = message(n, len);
        let how = if n.is_multiple_of(3) {
            Delivery::default().with_flags(Flags::SEEN)
        } else {
            Delivery::default()
        };
        store.inbox().deliver_from(&msg[..], &how).unwrap();
    }
}

/// Checks every file of `new/` and `cur/`: a valid name, `,S=` equal to the file size, and
/// exactly the content its subject line announces.
fn check(dir: &Path) -> usize {
    let mut count = 0;
    for sub in ["new", "cur"] {
        for e in fs::read_dir(dir.join(sub)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let parsed = MessageName::parse(&name).unwrap();
            let data = fs::read(e.path()).unwrap();
            assert_eq!(
                parsed.size(),
                Some(data.len() as u64),
                "size field of {sub}/{name}"
            );
            let header = data.split(|&b| b == b'\n').next().unwrap();
            let header = std::str::from_utf8(header).unwrap();
            let mut words = header
                .strip_prefix("Subject: ")
                .expect("subject")
                .split(' ');
            let n: u64 = words.next().unwrap().parse().unwrap();
            let len: usize = words.next().unwrap().parse().unwrap();
            assert!(
                data == message(n, len),
                "{sub}/{name} is not the whole message {n}"
            );
            count += 1;
        }
    }
    count
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    // `cargo test -- --list` and name filters: behave like a harness with one test.
    const NAME: &str = "killed_delivery_never_leaves_a_partial_message";
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return;
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        println!("running 0 tests (filtered out)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Maildir");
    let store = Store::create(&dir).unwrap();
    store
        .set_quota(QuotaDef {
            bytes: Some(1 << 40),
            count: None,
        })
        .unwrap();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut partial_rounds = 0;
    for _ in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(2_000 + seed % 60_000);
        let mut c = Command::new(std::env::current_exe().unwrap())
            .arg("--child")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // Only the child this test started: Child::kill sends SIGKILL to its pid.
        c.kill().unwrap();
        let status = c.wait().unwrap();
        assert!(
            status.code().is_none(),
            "child must die by the signal, not exit: {status}"
        );
        check(&dir);
        if fs::read_dir(dir.join("tmp")).unwrap().next().is_some() {
            partial_rounds += 1;
        }
        // What a crash leaves in tmp/ is removed by the 36-hour cleanup; clear it now so the
        // next round's evidence is its own.
        for e in fs::read_dir(dir.join("tmp")).unwrap() {
            fs::remove_file(e.unwrap().path()).unwrap();
        }
    }
    let delivered = check(&dir);
    println!(
        "test {NAME} ... ok ({ROUNDS} kills, {delivered} whole messages delivered, {partial_rounds} kills \
         caught a delivery half written in tmp/)"
    );
}
