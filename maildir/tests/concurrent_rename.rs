//! Concurrency: other processes rename and remove messages while this crate lists, opens and
//! syncs UIDs. A message renamed between a listing and an open is found again, not reported
//! lost, and keeps its UID.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};

use mailhub_maildir::{Error, Flags, Maildir, Subdir};

#[test]
fn message_renamed_by_another_process_between_list_and_open_is_found() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    md.deliver(b"Subject: x\n\nhello\n").unwrap();
    let listed = md.list(Subdir::New).unwrap().pop().unwrap();

    // Another program (here mv(1), as a mail reader would) takes it to cur/ and flags it.
    let from = md.entry_path(&listed);
    let to = md
        .path()
        .join("cur")
        .join(format!("{}:2,S", listed.file_name()));
    let st = Command::new("mv").arg(&from).arg(&to).status().unwrap();
    assert!(st.success());

    let (mut file, now) = md.open_message(&listed).unwrap();
    let mut body = String::new();
    file.read_to_string(&mut body).unwrap();
    assert_eq!(body, "Subject: x\n\nhello\n");
    assert_eq!((now.subdir(), now.flags()), (Subdir::Cur, Flags::SEEN));
    assert_eq!(now.base(), listed.base());
    assert_eq!(md.message_size(&listed).unwrap(), 18);

    // A flag change on the stale entry keeps the flag the other program set.
    let changed = md
        .update_flags(&listed, |f| f.union(Flags::FLAGGED))
        .unwrap();
    assert_eq!(changed.flags(), Flags::SEEN | Flags::FLAGGED);

    // Removed by another program: reported as gone, not as an I/O error.
    fs::remove_file(md.entry_path(&changed)).unwrap();
    assert!(matches!(
        md.open_message(&listed),
        Err(Error::MessageGone { .. })
    ));
    assert!(!md.expunge(&listed).unwrap());
}

#[test]
fn uids_stay_while_another_process_keeps_renaming() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    for i in 0..20 {
        md.deliver(format!("Subject: {i}\n\n").as_bytes()).unwrap();
    }
    let first = md.sync_uids().unwrap();
    let victim = md.move_to_cur(&first.by_uid(7).unwrap().entry).unwrap();
    let mut expected = String::new();
    md.open_message(&victim)
        .unwrap()
        .0
        .read_to_string(&mut expected)
        .unwrap();
    let cur = md.path().join("cur");
    let (a, b) = (
        cur.join(victim.file_name()),
        cur.join(format!("{}S", victim.file_name())),
    );
    // A second process flips the Seen flag of message 7 as fast as it can.
    let script = format!(
        "while :; do mv '{a}' '{b}' 2>/dev/null; mv '{b}' '{a}' 2>/dev/null; done",
        a = a.display(),
        b = b.display()
    );
    let flipper = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stops only the process this test started, by its pid, even when an assertion fails.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let flipper = Stop(flipper);
    // Wait until the flipper is running: the original name has vanished at least once.
    let start = std::time::Instant::now();
    while a.exists() {
        assert!(
            start.elapsed().as_secs() < 10,
            "the renaming process never started"
        );
    }
    let mut opened = 0;
    for _ in 0..100 {
        let (mut f, _) = md.open_message(&victim).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, expected);
        opened += 1;
    }
    for _ in 0..20 {
        let snap = md.sync_uids().unwrap();
        let uids: Vec<u32> = snap.messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, (1..=20).collect::<Vec<_>>());
        assert_eq!(snap.by_uid(7).unwrap().entry.base(), victim.base());
    }
    drop(flipper);
    assert_eq!(opened, 100);
    let snap = md.sync_uids().unwrap();
    assert_eq!(snap.uid_validity, first.uid_validity);
    assert_eq!(snap.messages.len(), 20);
}
