//! The store: create, append, scan, fetch, flag updates, expunge, UID sync, recovery, Maildir.

use std::fs;

use mailhub_mbox::maildir::{maildir_to_mbox, mbox_to_maildir};
use mailhub_mbox::{Action, Envelope, Flags, Mailbox, MailboxOptions, MessageMeta, Variant};

fn opts(v: Variant) -> MailboxOptions {
    let mut o = MailboxOptions::default();
    o.variant = Some(v);
    o.fsync = false;
    o
}

fn msg(i: usize) -> Vec<u8> {
    format!(
        "Subject: message {i}\nMessage-ID: <{i}@test>\n\nFrom the body of {i}\n>From quoted\nend\n"
    )
    .into_bytes()
}

#[test]
fn append_scan_fetch_update_expunge_per_variant() {
    for v in Variant::ALL {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("INBOX");
        let mb = Mailbox::create(&p, opts(v), 4242).unwrap();
        let env = Envelope::new("a@b", 1_700_000_000).unwrap();
        let mut uids = Vec::new();
        for i in 0..5 {
            uids.push(
                mb.append(&env, &msg(i), &MessageMeta::default())
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(uids, [1, 2, 3, 4, 5], "{v}");
        let snap = mb.scan().unwrap();
        assert!(snap.has_pseudo && !snap.needs_sync, "{v}");
        assert_eq!(snap.folder.as_ref().unwrap().uid_validity, 4242);
        assert_eq!(snap.uid_next, 6);
        assert_eq!(snap.messages.len(), 5);
        let fetched = mb.fetch(&snap.messages[2]).unwrap();
        // Metadata headers are hidden; quoting undone (mboxo-family reads >From as From).
        let want = if matches!(v, Variant::Mboxo | Variant::Mboxcl) {
            String::from_utf8(msg(2))
                .unwrap()
                .replace(">From", "From")
                .into_bytes()
        } else {
            msg(2)
        };
        assert_eq!(fetched, want, "{v}");

        // Flag message 2 as seen+flagged with a keyword, expunge message 4.
        let report = mb
            .update(|e| match e.uid {
                Some(4) => Action::Expunge,
                Some(2) => Action::Keep(MessageMeta {
                    flags: Flags {
                        seen: true,
                        flagged: true,
                        ..Flags::default()
                    },
                    keywords: vec!["$Work".into()],
                    uid: None,
                }),
                _ => Action::Keep(e.meta.clone()),
            })
            .unwrap();
        assert_eq!((report.kept, report.expunged.as_slice()), (4, &[4][..]));
        let snap = mb.scan().unwrap();
        let got: Vec<_> = snap.messages.iter().map(|e| e.uid.unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 5], "{v}");
        assert!(snap.messages[1].meta.flags.seen && snap.messages[1].meta.flags.flagged);
        assert_eq!(snap.messages[1].meta.keywords, ["$Work"]);
        assert_eq!(snap.folder.as_ref().unwrap().keywords, ["$Work"]);
        assert_eq!(
            mb.fetch(&snap.messages[3]).unwrap(),
            mb.fetch(&snap.messages[3]).unwrap()
        );
        // New appends continue after the highest UID, never reusing 5.
        assert_eq!(
            mb.append(&env, &msg(9), &MessageMeta::default()).unwrap(),
            Some(6)
        );
        // Expunging everything keeps the folder data in the pseudo-message.
        mb.update(|_| Action::Expunge).unwrap();
        let snap = mb.scan().unwrap();
        assert!(snap.messages.is_empty() && snap.has_pseudo);
        assert_eq!(
            (snap.uid_next, snap.folder.unwrap().uid_validity),
            (7, 4242)
        );
        // No temporary or journal file is left.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["INBOX"], "{v}");
    }
}

#[test]
fn foreign_mbox_gets_uids_on_sync() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mbox");
    // Written by a plain MDA: no metadata, one message with a stale UID out of order.
    fs::write(
        &p,
        "From a Thu Nov 20 00:14:56 2025\nS: 1\nX-UID: 9\n\nx\n\nFrom b Thu Nov 20 00:14:56 2025\nS: 2\nX-UID: 3\n\ny\n\nFrom c Thu Nov 20 00:14:56 2025\nS: 3\nStatus: RO\n\nz",
    )
    .unwrap();
    let mb = Mailbox::open(&p, opts(Variant::Mboxo)).unwrap();
    let snap = mb.scan().unwrap();
    assert!(snap.needs_sync && snap.folder.is_none());
    assert_eq!(
        snap.messages.iter().map(|e| e.uid).collect::<Vec<_>>(),
        [Some(9), None, None]
    );
    assert!(snap.messages[2].meta.flags.seen && !snap.messages[2].meta.flags.recent);
    mb.sync().unwrap();
    let snap = mb.scan().unwrap();
    assert!(!snap.needs_sync);
    assert_eq!(
        snap.messages
            .iter()
            .map(|e| e.uid.unwrap())
            .collect::<Vec<_>>(),
        [9, 10, 11]
    );
    assert_eq!(snap.uid_next, 12);
    assert_eq!(mb.fetch(&snap.messages[2]).unwrap(), b"S: 3\n\nz\n");
    // Appending to a file without the blank line at the end keeps messages apart.
    let mb2 = Mailbox::open(&p, opts(Variant::Mboxo)).unwrap();
    let raw = fs::read(&p).unwrap();
    fs::write(&p, &raw[..raw.len() - 1]).unwrap();
    assert_eq!(
        mb2.append(
            &Envelope::new("d", 0).unwrap(),
            b"S: 4\n\nw\n",
            &MessageMeta::default()
        )
        .unwrap(),
        Some(12)
    );
    assert_eq!(mb2.scan().unwrap().messages.len(), 4);
}

#[test]
fn unfinished_append_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("INBOX");
    let mb = Mailbox::create(&p, opts(Variant::Mboxrd), 1).unwrap();
    let env = Envelope::new("a@b", 0).unwrap();
    mb.append(&env, &msg(1), &MessageMeta::default()).unwrap();
    let good = fs::read(&p).unwrap();
    // Simulate a writer killed mid-append: journal written, half a message at the end.
    fs::write(
        dir.path().join(".INBOX.mailhub-append"),
        good.len().to_string(),
    )
    .unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(b"From a@b Thu Jan  1 00:00:00 1970\nSubject: half");
    fs::write(&p, &torn).unwrap();
    // Readers ignore the torn tail; the next writer cuts it off.
    assert_eq!(mb.scan().unwrap().messages.len(), 1);
    assert_eq!(
        mb.append(&env, &msg(2), &MessageMeta::default()).unwrap(),
        Some(2)
    );
    let snap = mb.scan().unwrap();
    assert_eq!(snap.messages.len(), 2);
    assert_eq!(mb.fetch(&snap.messages[1]).unwrap(), msg(2));
    assert!(!dir.path().join(".INBOX.mailhub-append").exists());
}

#[test]
fn maildir_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("INBOX");
    let mb = Mailbox::create(&p, opts(Variant::Mboxrd), 7).unwrap();
    let metas = [
        MessageMeta {
            flags: Flags {
                recent: true,
                ..Flags::default()
            },
            ..MessageMeta::default()
        },
        MessageMeta {
            flags: Flags {
                seen: true,
                answered: true,
                ..Flags::default()
            },
            keywords: vec!["Work".into()],
            uid: None,
        },
        MessageMeta {
            flags: Flags {
                deleted: true,
                draft: true,
                flagged: true,
                ..Flags::default()
            },
            ..MessageMeta::default()
        },
    ];
    for (i, m) in metas.iter().enumerate() {
        let env = Envelope::new("s@x", 1_000_000 + i as i64).unwrap();
        mb.append(&env, &msg(i), m).unwrap();
    }
    let md = dir.path().join("Maildir");
    assert_eq!(mbox_to_maildir(&mb, &md).unwrap(), 3);
    assert_eq!(fs::read_dir(md.join("new")).unwrap().count(), 1);
    assert_eq!(fs::read_dir(md.join("cur")).unwrap().count(), 2);
    let back = Mailbox::create(dir.path().join("back"), opts(Variant::Mboxcl2), 8).unwrap();
    assert_eq!(maildir_to_mbox(&md, &back, 1 << 20).unwrap(), 3);
    let (a, b) = (mb.scan().unwrap(), back.scan().unwrap());
    assert_eq!(b.messages.len(), 3);
    for (x, y) in a.messages.iter().zip(&b.messages) {
        assert_eq!(mb.fetch(x).unwrap(), back.fetch(y).unwrap());
        assert_eq!(x.meta.flags, y.meta.flags);
        assert_eq!(x.meta.keywords, y.meta.keywords);
        assert_eq!(x.info.envelope.time(), y.info.envelope.time());
    }
}

#[test]
fn plain_append_writes_no_imap_state_and_cuts_a_torn_append() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("archive");
    fs::write(&p, b"").unwrap();
    let mb = Mailbox::open(&p, opts(Variant::Mboxrd)).unwrap();
    let env = Envelope::new("a@b", 0).unwrap();
    mb.append_plain(&env, &msg(1)).unwrap();
    let good = fs::read(&p).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    assert!(text.starts_with("From a@b "), "{text}");
    assert!(
        !text.contains("X-IMAP") && !text.contains("X-UID"),
        "{text}"
    );
    assert!(text.contains("\n>From the body of 1\n"), "{text}");
    // A writer killed mid-append: the next plain append cuts the torn tail first.
    fs::write(
        dir.path().join(".archive.mailhub-append"),
        good.len().to_string(),
    )
    .unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(b"From a@b Thu Jan  1 00:00:00 1970\nSubject: half");
    fs::write(&p, &torn).unwrap();
    mb.append_plain(&env, &msg(2)).unwrap();
    let snap = mb.scan().unwrap();
    assert_eq!(snap.messages.len(), 2);
    assert_eq!(mb.fetch(&snap.messages[0]).unwrap(), msg(1));
    assert_eq!(mb.fetch(&snap.messages[1]).unwrap(), msg(2));
    assert!(!fs::read_to_string(&p).unwrap().contains("half"));
}
