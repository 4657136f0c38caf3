//! Exactly-once local delivery across a crash, store by store: a message recovered from the
//! spool (its queue id made by another run of the process) whose copy an earlier run already
//! stored is not stored again; a different message recovered the same way is; and a message
//! queued in this run is delivered without looking (the common case pays nothing), unless
//! its previous attempt failed after the store had kept the copy. The whole-hub version with
//! SIGKILLs is `queue_fault.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use futures::executor::block_on;
use mailhub_mta_core::deliver::{
    DeliveryJob, JobRecipient, LocalDelivery, LocalOptions, Outcome, Transport,
};
use mailhub_mta_core::queue::{
    NewMessage, NewRecipient, Queue, QueueId, QueueOptions, SystemClock,
};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::store::{
    AppendRequest, AppendResult, CopyResult, FlagOp, FlagSet, INBOX, MailStore, MailboxInfo,
    MailboxSnapshot, MaildirStore, MaildropLock, MboxStore, MemoryStore, MessageBody, MessageMeta,
    Quota, StoreError, Subscription, Uid, UserStore,
};

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
    let local = LocalDelivery::new(store.clone(), default_runtime(), LocalOptions::default());
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

/// A store whose next append stores the message and then reports a temporary error, as a
/// Maildir does when the UID list lock times out after the file is in `new/`.
struct FailAfterStoring {
    inner: MemoryStore,
    fail_next: Arc<AtomicBool>,
}

struct FailAfterStoringUser {
    inner: Arc<dyn UserStore>,
    fail_next: Arc<AtomicBool>,
}

#[async_trait]
impl MailStore for FailAfterStoring {
    async fn open(&self, user: &str) -> Result<Arc<dyn UserStore>, StoreError> {
        Ok(Arc::new(FailAfterStoringUser {
            inner: self.inner.open(user).await?,
            fail_next: self.fail_next.clone(),
        }))
    }
}

#[async_trait]
impl UserStore for FailAfterStoringUser {
    fn user(&self) -> &str {
        self.inner.user()
    }
    async fn list(&self) -> Result<Vec<MailboxInfo>, StoreError> {
        self.inner.list().await
    }
    async fn create(&self, name: &str) -> Result<(), StoreError> {
        self.inner.create(name).await
    }
    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete(name).await
    }
    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.rename(from, to).await
    }
    async fn subscribe(&self, name: &str, subscribe: bool) -> Result<(), StoreError> {
        self.inner.subscribe(name, subscribe).await
    }
    async fn select(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError> {
        self.inner.select(mailbox).await
    }
    async fn open_message(
        &self,
        mailbox: &str,
        uid: Uid,
    ) -> Result<Box<dyn MessageBody>, StoreError> {
        self.inner.open_message(mailbox, uid).await
    }
    async fn append(
        &self,
        mailbox: &str,
        request: AppendRequest,
    ) -> Result<AppendResult, StoreError> {
        let r = self.inner.append(mailbox, request).await?;
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Temporary("lock timed out after storing".into()));
        }
        Ok(r)
    }
    async fn store(
        &self,
        mailbox: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: &FlagSet,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        self.inner.store(mailbox, uids, op, flags).await
    }
    async fn remove(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        self.inner.remove(mailbox, uids).await
    }
    async fn copy(&self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreError> {
        self.inner.copy(from, uids, to).await
    }
    async fn move_messages(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        self.inner.move_messages(from, uids, to).await
    }
    async fn quota(&self) -> Result<Option<Quota>, StoreError> {
        self.inner.quota().await
    }
    fn watch(&self, mailbox: &str) -> Subscription {
        self.inner.watch(mailbox)
    }
    fn lock_maildrop(&self) -> Result<MaildropLock, StoreError> {
        self.inner.lock_maildrop()
    }
}

#[test]
fn a_retry_after_a_store_error_that_kept_the_copy_does_not_store_it_twice() {
    let dir = tempfile::tempdir().unwrap();
    let fail_next = Arc::new(AtomicBool::new(true));
    let store: Arc<dyn MailStore> = Arc::new(FailAfterStoring {
        inner: MemoryStore::new(),
        fail_next: fail_next.clone(),
    });
    let local = LocalDelivery::new(store.clone(), default_runtime(), LocalOptions::default());
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
    let mut new = NewMessage::default();
    new.recipients.push(NewRecipient {
        address: "demo@localhost".into(),
        destination: Destination::Local {
            user: "demo".into(),
            folder: None,
        },
        orcpt: None,
        notify: None,
    });
    let id = block_on(q.enqueue(new, &message(7))).unwrap();
    assert!(id.is_from_this_run());
    let path = dir.path().join("m7");
    std::fs::write(&path, message(7)).unwrap();
    let arrival = SystemTime::now() - Duration::from_secs(1);
    let out = block_on(local.deliver(&job(id.clone(), path.clone(), arrival)));
    assert!(matches!(out[..], [Outcome::Deferred(_)]), "{out:?}");
    assert_eq!(
        count(&*store),
        1,
        "the store kept the copy despite its error"
    );
    let out = block_on(local.deliver(&job(id, path, arrival)));
    assert!(delivered(&out).contains("earlier attempt"), "{out:?}");
    assert_eq!(count(&*store), 1, "a second copy was stored");
    assert!(!fail_next.load(Ordering::SeqCst));
}
