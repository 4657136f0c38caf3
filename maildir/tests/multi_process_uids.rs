//! Several processes deliver and sync UIDs on one Maildir at the same time: the dot-lock on
//! `dovecot-uidlist` must keep every process agreeing on one UID per message, with no UID
//! given twice and none lost.
//!
//! Its own harness (`harness = false`): the parent re-executes this binary with
//! `--child <dir>` several times at once; each child delivers, syncs and changes flags in a
//! loop, printing every `<uid> <base>` it sees; the parent checks all the children's views
//! against each other and against a final sync.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use mailhub_maildir::{Flags, Maildir};

const NAME: &str = "processes_agree_on_uids";
const CHILDREN: usize = 4;
const ROUNDS: usize = 25;

fn child(dir: &Path) {
    let mut opts = mailhub_maildir::Options::default();
    opts.fsync = false;
    let md = Maildir::open(dir).unwrap().with_options(opts);
    for i in 0..ROUNDS {
        let e = md
            .deliver(format!("Subject: {} {i}\n\n", std::process::id()).as_bytes())
            .unwrap();
        if i % 3 == 0 {
            // Flag changes by rename race with the other processes' listings.
            md.update_flags(&e, |f| f.union(Flags::SEEN)).unwrap();
        }
        let snap = md.sync_uids().unwrap();
        for m in &snap.messages {
            println!("{} {}", m.uid, m.entry.base());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
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
    let dir = tmp.path().join("M");
    let md = Maildir::create(&dir).unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .arg("--child")
                .arg(&dir)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut uid_of: HashMap<String, u32> = HashMap::new();
    let mut base_of: HashMap<u32, String> = HashMap::new();
    let mut observations = 0usize;
    for mut c in children {
        let out = c.stdout.take().unwrap();
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            let (uid, base) = line.split_once(' ').unwrap();
            let uid: u32 = uid.parse().unwrap();
            let old = uid_of.insert(base.to_owned(), uid);
            assert!(
                old.is_none_or(|o| o == uid),
                "{base} had UID {old:?}, now {uid}"
            );
            let old = base_of.insert(uid, base.to_owned());
            assert!(
                old.as_deref().is_none_or(|o| o == base),
                "UID {uid} given to {old:?} and {base}"
            );
            observations += 1;
        }
        assert!(c.wait().unwrap().success(), "a child failed");
    }
    let total = CHILDREN * ROUNDS;
    let snap = md.sync_uids().unwrap();
    let uids: Vec<u32> = snap.messages.iter().map(|m| m.uid).collect();
    assert_eq!(
        uids,
        (1..=total as u32).collect::<Vec<_>>(),
        "no UID lost or skipped"
    );
    for m in &snap.messages {
        assert_eq!(
            uid_of.get(m.entry.base()),
            Some(&m.uid),
            "children saw {}",
            m.entry.base()
        );
    }
    println!(
        "test {NAME} ... ok ({CHILDREN} processes, {total} messages, {observations} UID \
         observations, all consistent)"
    );
}
