//! Several processes on one mbox: concurrent appenders and a flag rewriter, and writers killed
//! at random points. The children are this test binary run again with `MAILHUB_MBOX_CHILD` set
//! (see `child_entry`), so the test needs nothing but itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mailhub_mbox::{
    Action, Envelope, Flags, Mailbox, MailboxOptions, MessageMeta, NewMessage, ReadOptions, Reader,
    Variant, read_message,
};

fn opts(fsync: bool) -> MailboxOptions {
    let mut o = MailboxOptions::default();
    o.variant = Some(Variant::Mboxrd);
    o.fsync = fsync;
    o
}

/// A message whose content can be recomputed from its id; bodies full of From lines.
fn message(id: &str, size: usize) -> Vec<u8> {
    let mut m = format!("Message-ID: <{id}@test>\nSubject: {id}\n\nFrom {id} Thu Nov 20 00:14:56 2025\n>From quoted {id}\n").into_bytes();
    let mut n = 0usize;
    while m.len() < size {
        m.extend_from_slice(format!("line {n} of {id} From the body\n").as_bytes());
        n += 1;
    }
    m
}

fn message_id(m: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(m);
    let start = s.find("Message-ID: <")? + 13;
    Some(s[start..start + s[start..].find('@')?].to_owned())
}

/// Every message of the file as (id, UID, content), read directly with the reader (honouring an
/// unfinished append's journal the way `Mailbox::scan` does).
fn contents(mb: &Mailbox) -> Vec<(String, Option<u32>, Vec<u8>)> {
    let snap = mb.scan().unwrap();
    let file = File::open(mb.path()).unwrap();
    let mut r = Reader::with_len(file, ReadOptions::new(Variant::Mboxrd), snap.len).unwrap();
    let uids: BTreeMap<u64, Option<u32>> = snap
        .messages
        .iter()
        .map(|e| (e.info.offset, e.uid))
        .collect();
    let mut out = Vec::new();
    while let Some(info) = r.next_message().unwrap() {
        let Some(uid) = uids.get(&info.offset) else {
            continue;
        }; // the pseudo-message
        let raw = read_message(r.get_mut(), &info, Variant::Mboxrd, 1 << 30).unwrap();
        let (head, body) = mailhub_mbox::write::split_header(&raw);
        let mut clean = mailhub_mbox::metadata::strip_metadata(head);
        clean.extend_from_slice(body);
        let id =
            message_id(&clean).unwrap_or_else(|| panic!("message without id at {}", info.offset));
        out.push((id, *uid, clean));
    }
    out
}

/// Checks that every message is intact (its content is what its id says) and appears once.
fn check_intact(all: &[(String, Option<u32>, Vec<u8>)], size: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (id, _, content) in all {
        let want = message(id, size);
        assert!(
            content == &want,
            "message {id} damaged: {} bytes, want {}",
            content.len(),
            want.len()
        );
        assert!(seen.insert(id.clone()), "message {id} twice");
    }
    let uids: Vec<u32> = all.iter().filter_map(|x| x.1).collect();
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "UIDs not ascending: {uids:?}"
    );
    seen
}

fn spawn(role: &str, path: &Path, args: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MAILHUB_MBOX_CHILD", role)
        .env("MAILHUB_MBOX_PATH", path)
        .env("MAILHUB_MBOX_ARGS", args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Not a test by itself: the body of the child processes.
#[test]
#[ignore = "child-process entry: run by the parent test with --ignored"]
fn child_entry() {
    let Ok(role) = std::env::var("MAILHUB_MBOX_CHILD") else {
        return;
    };
    let path = std::env::var("MAILHUB_MBOX_PATH").unwrap();
    let args = std::env::var("MAILHUB_MBOX_ARGS").unwrap();
    let a: Vec<&str> = args.split(',').collect();
    let env = Envelope::new("child@test", 1_700_000_000).unwrap();
    match role.as_str() {
        "append" => {
            let mb = Mailbox::open(&path, opts(false)).unwrap();
            let (prefix, n, size): (&str, usize, usize) =
                (a[0], a[1].parse().unwrap(), a[2].parse().unwrap());
            for i in 0..n {
                let id = format!("{prefix}-{i}");
                mb.append(&env, &message(&id, size), &MessageMeta::default())
                    .unwrap();
                println!("\nACK {id}");
            }
        }
        "flags" => {
            let mb = Mailbox::open(&path, opts(false)).unwrap();
            for round in 0..a[0].parse::<u32>().unwrap() {
                mb.update(|e| {
                    let mut m = e.meta.clone();
                    m.flags.seen = !m.flags.seen;
                    m.flags.flagged = round % 2 == 0;
                    m.keywords = vec![format!("round{}", round % 3)];
                    Action::Keep(m)
                })
                .unwrap();
                println!("\nACK flags {round}");
            }
        }
        "expunge" => {
            let mb = Mailbox::open(&path, opts(true)).unwrap();
            let modulo: u32 = a[0].parse().unwrap();
            let report = mb
                .update(|e| match e.uid {
                    Some(u) if u % modulo == 0 => Action::Expunge,
                    _ => Action::Keep(MessageMeta {
                        flags: Flags {
                            seen: true,
                            ..e.meta.flags
                        },
                        ..e.meta.clone()
                    }),
                })
                .unwrap();
            println!("\nACK expunged {}", report.expunged_count);
        }
        "append-too-big" => {
            // Run under `ulimit -f` with SIGXFSZ ignored: the write fails with EFBIG midway.
            let mb = Mailbox::open(&path, opts(true)).unwrap();
            let before = fs::read(&path).unwrap();
            let err = mb
                .append(&env, &message("big", 1 << 20), &MessageMeta::default())
                .unwrap_err();
            assert!(matches!(err, mailhub_mbox::Error::Io(_)), "{err}");
            let after = fs::read(&path).unwrap();
            // Only the last-UID digits may differ (advanced in place: a harmless gap).
            assert_eq!(after.len(), before.len(), "not truncated back");
            let diff = before.iter().zip(&after).filter(|(a, b)| a != b).count();
            assert!(diff <= 10, "{diff} bytes changed");
            assert!(
                !Path::new(&path)
                    .with_file_name(".INBOX.mailhub-append")
                    .exists()
            );
            println!("\nACK rolled-back");
        }
        other => panic!("unknown role {other}"),
    }
}

fn acks(child: Child) -> (Vec<String>, bool) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let acks = text
        .lines()
        .filter_map(|l| l.strip_prefix("ACK "))
        .map(str::to_owned)
        .collect();
    (acks, out.status.success())
}

/// A cheap random number from the std hasher's random keys.
fn random(max: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(0u8) % max.max(1)
}

#[test]
fn concurrent_appenders_and_a_flag_rewriter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("INBOX");
    Mailbox::create(&path, opts(false), 99).unwrap();
    let (appenders, per, size) = (4, 40, 600);
    let mut kids: Vec<Child> = (0..appenders)
        .map(|p| spawn("append", &path, &format!("p{p},{per},{size}")))
        .collect();
    kids.push(spawn("flags", &path, "15"));
    let mut acked = BTreeSet::new();
    for k in kids {
        let (a, ok) = acks(k);
        assert!(ok, "a child failed");
        acked.extend(a.into_iter().filter(|a| !a.starts_with("flags")));
    }
    let mb = Mailbox::open(&path, opts(false)).unwrap();
    let all = contents(&mb);
    let seen = check_intact(&all, size);
    assert_eq!(seen, acked);
    assert_eq!(seen.len(), appenders * per);
    assert!(all.iter().all(|x| x.1.is_some()), "every message has a UID");
}

#[test]
fn failed_append_is_truncated_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("INBOX");
    let mb = Mailbox::create(&path, opts(false), 7).unwrap();
    let env = Envelope::new("a@b", 0).unwrap();
    for i in 0..3 {
        mb.append(
            &env,
            &message(&format!("small-{i}"), 500),
            &MessageMeta::default(),
        )
        .unwrap();
    }
    let blocks = fs::metadata(&path).unwrap().len() / 512 + 8;
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" --ignored --exact child_entry --nocapture --test-threads=1"))
        .arg(std::env::current_exe().unwrap())
        .env("MAILHUB_MBOX_CHILD", "append-too-big")
        .env("MAILHUB_MBOX_PATH", &path)
        .env("MAILHUB_MBOX_ARGS", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("ACK rolled-back"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = check_intact(&contents(&mb), 500);
    assert_eq!(seen.len(), 3);
    // The next append works and gets a fresh UID after the gap.
    assert_eq!(
        mb.append(&env, &message("small-3", 500), &MessageMeta::default())
            .unwrap(),
        Some(5)
    );
}

#[test]
fn killed_appenders_leave_no_partial_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("INBOX");
    Mailbox::create(&path, opts(false), 7).unwrap();
    let size = 300_000; // large, so that kills land inside a write
    let mut acked = BTreeSet::new();
    for round in 0..6 {
        let child = spawn("append", &path, &format!("r{round},1000,{size}"));
        std::thread::sleep(Duration::from_millis(5 + random(60)));
        let mut child = child;
        let _ = child.kill();
        let (a, _) = acks(child);
        acked.extend(a);
        let mb = Mailbox::open(&path, opts(false)).unwrap();
        let seen = check_intact(&contents(&mb), size);
        // Nothing acknowledged is missing; at most the one in flight is there unacknowledged.
        assert!(
            acked.is_subset(&seen),
            "acknowledged message lost in round {round}"
        );
        assert!(
            seen.len() <= acked.len() + 1,
            "round {round}: {} vs {}",
            seen.len(),
            acked.len()
        );
        acked = seen;
    }
    // A writer recovers what the dead ones left; then the file holds exactly what was seen.
    let mb = Mailbox::open(&path, opts(false)).unwrap();
    mb.sync().unwrap();
    assert_eq!(check_intact(&contents(&mb), size), acked);
    assert!(!dir.path().join(".INBOX.mailhub-append").exists());
}

#[test]
fn killed_expunge_rewrite_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("INBOX");
    let mb = Mailbox::create(&path, opts(false), 7).unwrap();
    let size = 20_000;
    let env = Envelope::new("a@b", 0).unwrap();
    let ids: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let bodies: Vec<Vec<u8>> = ids.iter().map(|id| message(id, size)).collect();
    let meta = MessageMeta::default();
    let batch: Vec<NewMessage<'_>> = bodies
        .iter()
        .map(|m| NewMessage {
            envelope: &env,
            message: m,
            meta: &meta,
        })
        .collect();
    mb.append_many(&batch).unwrap();
    let mut expected: BTreeMap<String, u32> = contents(&mb)
        .into_iter()
        .map(|(id, uid, _)| (id, uid.unwrap()))
        .collect();
    let (mut interrupted, mut completed) = (0, 0);
    // Round 0 runs to the end: it checks a finished rewrite and measures how long one takes,
    // so that the later rounds kill their child at random points inside that span.
    let mut span = Duration::from_millis(200);
    for round in 0..9u32 {
        let modulo = 5 + round;
        let started = std::time::Instant::now();
        let mut child = spawn("expunge", &path, &modulo.to_string());
        if round > 0 {
            std::thread::sleep(Duration::from_micros(random(
                span.as_micros() as u64 * 5 / 4,
            )));
            let _ = child.kill();
        }
        let (a, ok) = acks(child);
        if round == 0 {
            assert!(ok, "the uninterrupted rewrite failed");
            span = started.elapsed();
        }
        let after = check_intact(&contents(&mb), size);
        let survivors: BTreeMap<String, u32> = expected
            .iter()
            .filter(|(_, u)| *u % modulo != 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let old: BTreeSet<String> = expected.keys().cloned().collect();
        let new: BTreeSet<String> = survivors.keys().cloned().collect();
        if after == new && after != old {
            completed += 1;
            expected = survivors;
        } else {
            assert_eq!(after, old, "round {round}: neither the old nor the new set");
            assert!(
                a.is_empty() || new == old,
                "round {round}: acknowledged but not done"
            );
            interrupted += 1;
        }
    }
    assert!(completed >= 1);
    eprintln!(
        "expunge crash test: {interrupted} rewrites killed before the rename, {completed} completed (one rewrite: {span:?})"
    );
    // The next writer removes the temporaries of killed rewrites.
    mb.sync().unwrap();
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["INBOX"]);
}
