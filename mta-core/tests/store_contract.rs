//! The same scenario against every store implementation: what the IMAP and POP3 drivers rely
//! on (UIDs, flags, keywords, copy/move, expunge, mailbox management, notification, locks).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::executor::block_on;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::store::{
    AppendRequest, Change, FlagOp, FlagSet, MailStore, MaildirStore, MboxStore, MemoryStore,
    MessageData, StoreError, SystemFlags, UserStore,
};

async fn read_all(u: &dyn UserStore, mailbox: &str, uid: u32) -> Vec<u8> {
    let mut body = u.open_message(mailbox, uid).await.unwrap();
    let mut out = Vec::new();
    while let Some(c) = body.next_chunk().await.unwrap() {
        out.extend_from_slice(&c);
    }
    assert_eq!(out.len() as u64, body.len());
    out
}

fn msg(n: usize) -> Vec<u8> {
    format!("Subject: test {n}\nFrom: a@example.org\n\nbody line\n.leading dot\n").into_bytes()
}

/// Mailbox names of the scenario: maildir and memory let a mailbox hold children, mbox does
/// not (a name is a file or a directory).
struct Names {
    a: &'static str,
    b: &'static str,
    rename_from: &'static str,
    renamed_a: &'static str,
    renamed_b: &'static str,
}

const NESTED: Names = Names {
    a: "Archive",
    b: "Archive/2024",
    rename_from: "Archive",
    renamed_a: "Old",
    renamed_b: "Old/2024",
};

async fn contract(store: Arc<dyn MailStore>, n: Names) {
    let u = store.open("alice").await.unwrap();
    assert_eq!(u.user(), "alice");
    let empty = u.select("inbox").await.unwrap();
    assert!(empty.messages.is_empty());

    let mut watch = u.watch("INBOX");
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let a = u
        .append(
            "INBOX",
            AppendRequest {
                data: msg(1).into(),
                flags: FlagSet::default(),
                internal_date: Some(date),
            },
        )
        .await
        .unwrap();
    // A realistic large message: headers, then 300 kB of lines (a message without a header
    // block cannot carry mbox metadata, see the report on mailhub-mbox).
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..5_000 {
        big.extend_from_slice(format!("line {i:05} {}\r\n", "y".repeat(48)).as_bytes());
    }
    let b = u
        .append(
            "INBOX",
            AppendRequest {
                data: big.clone().into(),
                flags: FlagSet {
                    system: SystemFlags::SEEN,
                    keywords: ["$Label1".to_owned()].into(),
                },
                internal_date: None,
            },
        )
        .await
        .unwrap();
    assert!(b.uid > a.uid);
    assert_eq!(a.uid_validity, b.uid_validity);
    assert_eq!(
        watch.try_next(),
        Some(Change::Appended { uids: vec![a.uid] })
    );
    assert_eq!(
        watch.try_next(),
        Some(Change::Appended { uids: vec![b.uid] })
    );

    let snap = u.select("INBOX").await.unwrap();
    assert_eq!(snap.uid_validity, a.uid_validity);
    assert_eq!(
        snap.uid_next,
        b.uid + 1,
        "{:?} a={a:?} b={b:?}",
        snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>()
    );
    assert_eq!(snap.messages.len(), 2);
    let m1 = &snap.messages[0];
    assert_eq!(m1.uid, a.uid);
    // Five LF line ends become CRLF in the RFC 822 size.
    assert_eq!(m1.size, msg(1).len() as u64 + 5);
    assert_eq!(m1.internal_date, date);
    let m2 = &snap.messages[1];
    assert!(m2.flags.system.contains(SystemFlags::SEEN));
    assert!(m2.flags.keywords.contains("$Label1"));
    assert_eq!(read_all(&*u, "INBOX", a.uid).await, msg(1));
    assert_eq!(read_all(&*u, "INBOX", b.uid).await, big);

    // Flags.
    let change = FlagSet {
        system: SystemFlags::DELETED | SystemFlags::FLAGGED,
        keywords: ["Work".to_owned()].into(),
    };
    let metas = u
        .store("INBOX", &[a.uid, 999], FlagOp::Add, &change)
        .await
        .unwrap();
    assert_eq!(metas.len(), 1);
    assert!(metas[0].flags.system.contains(SystemFlags::DELETED));
    assert!(metas[0].flags.keywords.contains("Work"));
    assert_eq!(
        watch.try_next(),
        Some(Change::FlagsChanged { uids: vec![a.uid] })
    );
    let metas = u
        .store(
            "INBOX",
            &[a.uid],
            FlagOp::Replace,
            &FlagSet::system(SystemFlags::ANSWERED),
        )
        .await
        .unwrap();
    assert_eq!(metas[0].flags, FlagSet::system(SystemFlags::ANSWERED));

    // Mailboxes.
    u.create(n.a).await.unwrap();
    u.create(n.b).await.unwrap();
    assert!(matches!(
        u.create(n.a).await,
        Err(StoreError::MailboxExists(_))
    ));
    u.subscribe(n.a, true).await.unwrap();
    let list = u.list().await.unwrap();
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names[0], "INBOX");
    assert!(names.contains(&n.b), "{names:?}");
    assert!(list.iter().any(|m| m.name == n.a && m.subscribed));

    // Copy and move.
    let copied = u.copy("INBOX", &[a.uid], n.a).await.unwrap();
    assert_eq!(copied.uids.len(), 1);
    let arch = u.select(n.a).await.unwrap();
    assert_eq!(arch.uid_validity, copied.uid_validity);
    assert_eq!(arch.messages[0].uid, copied.uids[0].1);
    assert_eq!(
        read_all(&*u, n.a, copied.uids[0].1).await,
        msg(1),
        "copy keeps the octets"
    );
    let moved = u.move_messages("INBOX", &[b.uid], n.b).await.unwrap();
    assert_eq!(moved.uids[0].0, b.uid);
    assert_eq!(read_all(&*u, n.b, moved.uids[0].1).await, big);
    let inbox = u.select("INBOX").await.unwrap();
    assert_eq!(inbox.messages.len(), 1);

    // Remove, as POP3's UPDATE does.
    assert_eq!(
        u.remove("INBOX", &[a.uid, 12345]).await.unwrap(),
        vec![a.uid]
    );
    assert!(u.select("INBOX").await.unwrap().messages.is_empty());
    assert!(matches!(
        u.open_message("INBOX", a.uid).await,
        Err(StoreError::NoSuchMessage(_))
    ));

    // Rename and delete.
    u.rename(n.rename_from, "Old").await.unwrap();
    let names: Vec<String> = u
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(names.contains(&n.renamed_b.to_owned()), "{names:?}");
    assert!(!names.contains(&n.b.to_owned()));
    assert_eq!(u.select(n.renamed_a).await.unwrap().messages.len(), 1);
    u.delete(n.renamed_b).await.unwrap();
    assert!(matches!(
        u.select(n.renamed_b).await,
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(u.delete("INBOX").await.is_err());

    // UIDs never come back after an expunge.
    let c = u
        .append(
            "INBOX",
            AppendRequest {
                data: msg(3).into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(c.uid > b.uid);

    // POP3 maildrop lock, shared by handles of the same store.
    let other = store.open("alice").await.unwrap();
    let lock = u.lock_maildrop().unwrap();
    assert_eq!(other.lock_maildrop().unwrap_err(), StoreError::InUse);
    drop(lock);
    other.lock_maildrop().unwrap();

    // Another handle's change reaches this handle's subscription, and the new message can be
    // read and flagged through this handle without selecting again (IMAP after IDLE).
    let mut w = u.watch("INBOX");
    u.select("INBOX").await.unwrap();
    let d = other
        .append(
            "INBOX",
            AppendRequest {
                data: msg(4).into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(read_all(&*u, "INBOX", d.uid).await, msg(4));
    let flagged = u
        .store(
            "INBOX",
            &[d.uid],
            FlagOp::Add,
            &FlagSet::system(SystemFlags::SEEN),
        )
        .await
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert!(matches!(w.next().await, Some(Change::Appended { .. })));
}

#[test]
fn memory_store_contract() {
    block_on(contract(Arc::new(MemoryStore::new()), NESTED));
}

#[test]
fn maildir_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::under(dir.path(), default_runtime());
    block_on(contract(Arc::new(store), NESTED));
    // The files are where Dovecot looks for them.
    assert!(dir.path().join("alice/dovecot-uidlist").exists());
    assert!(dir.path().join("alice/.Old/cur").exists());
}

#[test]
fn memory_quota_is_a_temporary_failure() {
    block_on(async {
        let store = MemoryStore::with_quota(100);
        let u = store.open("bob").await.unwrap();
        u.append(
            "INBOX",
            AppendRequest {
                data: vec![b'a'; 60].into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let err = u
            .append(
                "INBOX",
                AppendRequest {
                    data: vec![b'a'; 60].into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::OverQuota(_)));
        assert!(err.is_temporary());
        let q = u.quota().await.unwrap().unwrap();
        assert_eq!((q.storage_used, q.storage_limit), (60, Some(100)));
    });
}

#[test]
fn maildir_store_refuses_unsafe_user_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::under(dir.path(), default_runtime());
    for bad in ["..", "../x", "a/b", ".hidden", ""] {
        assert!(block_on(store.open(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn mbox_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = MboxStore::classic(
        dir.path().join("spool"),
        dir.path().join("home"),
        default_runtime(),
    );
    let names = Names {
        a: "Archive",
        b: "Lists/2024",
        rename_from: "Lists",
        renamed_a: "Archive",
        renamed_b: "Old/2024",
    };
    block_on(contract(Arc::new(store), names));
    // UW layout: INBOX is the spool file, folders are files under ~/mail.
    let inbox = std::fs::read_to_string(dir.path().join("spool/alice")).unwrap();
    assert!(inbox.contains("X-UID: "), "{inbox}");
    assert!(dir.path().join("home/alice/mail/Archive").is_file());
    assert!(dir.path().join("home/alice/mail/Old").is_dir());
}

#[test]
fn mbox_quota_is_a_temporary_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = MboxStore::classic(
        dir.path().join("s"),
        dir.path().join("h"),
        default_runtime(),
    )
    .with_quota(2_000);
    block_on(async {
        let u = store.open("bob").await.unwrap();
        u.append(
            "INBOX",
            AppendRequest {
                data: vec![b'a'; 500].into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let err = u
            .append(
                "INBOX",
                AppendRequest {
                    data: vec![b'a'; 1_600].into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::OverQuota(_)), "{err:?}");
        let q = u.quota().await.unwrap().unwrap();
        assert!(q.storage_used > 500 && q.storage_used < 2_000, "{q:?}");
    });
}

#[test]
fn maildir_quota_is_a_temporary_failure_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let md = mailhub_maildir::Store::create(dir.path().join("bob")).unwrap();
    md.set_quota(mailhub_maildir::quota::QuotaDef::parse("1000S,10C").unwrap())
        .unwrap();
    let store = MaildirStore::under(dir.path(), default_runtime());
    block_on(async {
        let u = store.open("bob").await.unwrap();
        let req = || AppendRequest {
            data: vec![b'a'; 600].into(),
            ..Default::default()
        };
        u.append("INBOX", req()).await.unwrap();
        let err = u.append("INBOX", req()).await.unwrap_err();
        assert!(matches!(err, StoreError::OverQuota(_)), "{err:?}");
        assert!(err.is_temporary());
        let q = u.quota().await.unwrap().unwrap();
        assert_eq!(q.storage_limit, Some(1000));
        assert_eq!(q.messages_limit, Some(10));
        assert_eq!((q.storage_used, q.messages_used), (600, 1));
    });
}

#[test]
fn append_from_a_file_in_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool-file");
    let body = b"Subject: from a file\n\nqueued\n".to_vec();
    std::fs::write(&spool, &body).unwrap();
    let stores: Vec<Arc<dyn MailStore>> = vec![
        Arc::new(MemoryStore::new()),
        Arc::new(MaildirStore::under(
            dir.path().join("md"),
            default_runtime(),
        )),
        Arc::new(MboxStore::classic(
            dir.path().join("sp"),
            dir.path().join("h"),
            default_runtime(),
        )),
    ];
    for store in stores {
        block_on(async {
            let u = store.open("carol").await.unwrap();
            let req = AppendRequest {
                data: MessageData::File(spool.clone()),
                ..Default::default()
            };
            let r = u.append("INBOX", req).await.unwrap();
            assert_eq!(read_all(&*u, "INBOX", r.uid).await, body);
            let missing = AppendRequest {
                data: MessageData::File(dir.path().join("nope")),
                ..Default::default()
            };
            assert!(u.append("INBOX", missing).await.is_err());
        });
    }
}
