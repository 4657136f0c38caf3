//! Exactly-once local delivery across a crash, store by store: a message recovered from the
//! spool (its queue id made by another run of the process) whose copy an earlier run already
//! stored is not stored again; a different message recovered the same way is; and a message
//! queued in this run is delivered without looking (the common case pays nothing). The
//! whole-hub version with SIGKILLs is `queue_fault.rs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::executor::block_on;
use mailhub_mta_core::deliver::{
    DeliveryJob, JobRecipient, LocalDelivery, LocalOptions, Outcome, Transport,
};
use mailhub_mta_core::queue::{
    NewMessage, NewRecipient, Queue, QueueId, QueueOptions, SystemClock,
};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::store::{INBOX, MailStore, MaildirStore, MboxStore, MemoryStore};

fn message(n: u32) -> Vec<u8> {
    format!(
        "Received: from a ([127.0.0.1])\r\n\tby mx with ESMTP id {n}; Sat, 21 Nov 2026 03:00:00 +0000\r\n\
         Subject: redelivery {n}\r\nMessage-ID: <r{n}@x>\r\n\r\nbody of {n}\r\nFrom here on\r\n"
    )
    .into_bytes()
}

fn job(id: QueueId, data: std::path::PathBuf, arrival: SystemTime) -> DeliveryJob {
    DeliveryJob {
        id,
        sender: "s@remote.test".into(),
        envid: None,
        ret: None,
        size: std::fs::metadata(&data).unwrap().len(),
        data,
        recipients: vec![JobRecipient {
            address: "demo@localhost".into(),
            destination: Destination::Local {
                user: "demo".into(),
                folder: None,
            },
            orcpt: None,
            notify: None,
        }],
        arrival,
    }
}

fn count(store: &dyn MailStore) -> usize {
    block_on(async {
        let u = store.open("demo").await.unwrap();
        u.select(INBOX).await.unwrap().messages.len()
    })
}

fn delivered(out: &[Outcome]) -> &str {
    match out {
        [Outcome::Delivered(reply)] => reply,
        other => panic!("not delivered: {other:?}"),
    }
}

fn check(store: Arc<dyn MailStore>) {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalDelivery::new(store.clone(), default_runtime(), LocalOptions::default());
    let arrival = SystemTime::now() - Duration::from_secs(5);
    // An id of the old format (no run tag) is never this run's: a recovered message.
    let old = QueueId::parse("0123456789abcdef01234500aa").unwrap();
    assert!(!old.is_from_this_run());
    let path = dir.path().join("m1");
    std::fs::write(&path, message(1)).unwrap();

    let first = block_on(local.deliver(&job(old.clone(), path.clone(), arrival)));
    assert!(!delivered(&first).contains("earlier attempt"));
    assert_eq!(count(&*store), 1);
    // The run died before the queue recorded it; the next run tries again.
    let again = block_on(local.deliver(&job(old.clone(), path.clone(), arrival)));
    assert!(delivered(&again).contains("earlier attempt"), "{again:?}");
    assert_eq!(count(&*store), 1, "a second copy was stored");

    // Another recovered message is not taken for the first one.
    let path2 = dir.path().join("m2");
    std::fs::write(&path2, message(2)).unwrap();
    let other = QueueId::parse("0123456789abcdef01234500bb").unwrap();
    let out = block_on(local.deliver(&job(other, path2, arrival)));
    assert!(!delivered(&out).contains("earlier attempt"));
    assert_eq!(count(&*store), 2);

    // A message queued in this run is not looked for: the same octets under such an id are
    // stored again (which is how the check above is known to be what prevents the copy).
    let (q, _) = block_on(Queue::open(
        &dir.path().join("spool"),
        QueueOptions {
            fsync: false,
            ..QueueOptions::default()
        },
        Arc::new(SystemClock),
        default_runtime(),
    ))
    .unwrap();
    let id = block_on(q.enqueue(
        NewMessage {
            sender: "s@remote.test".into(),
            recipients: vec![NewRecipient {
                address: "demo@localhost".into(),
                destination: Destination::Local {
                    user: "demo".into(),
                    folder: None,
                },
                orcpt: None,
                notify: None,
            }],
            ..NewMessage::default()
        },
        &message(1),
    ))
    .unwrap();
    assert!(id.is_from_this_run());
    let out = block_on(local.deliver(&job(id, path, arrival)));
    assert!(!delivered(&out).contains("earlier attempt"));
    assert_eq!(count(&*store), 3);
}

#[test]
fn recovered_message_already_in_a_maildir_is_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    check(Arc::new(MaildirStore::under(
        dir.path().join("mail"),
        default_runtime(),
    )));
}

#[test]
fn recovered_message_already_in_an_mbox_is_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    check(Arc::new(
        MboxStore::under(dir.path(), default_runtime()).unwrap(),
    ));
}

#[test]
fn recovered_message_already_in_the_memory_store_is_not_stored_twice() {
    check(Arc::new(MemoryStore::new()));
}
