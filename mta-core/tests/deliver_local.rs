//! Local delivery end to end: RCPT decisions from the router, the queue, and local delivery
//! into a store — alias chains, plus-address folders, trace headers, over-quota deferral then
//! bounce, and loop detection.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use futures::executor::block_on;
use mailhub_mta_core::bounce::DsnOptions;
use mailhub_mta_core::deliver::{self, LocalDelivery, LocalOptions, NoRemote, Transport};
use mailhub_mta_core::queue::{
    Kind, ManualClock, NewMessage, NewRecipient, Queue, QueueOptions, State,
};
use mailhub_mta_core::route::{AliasLimits, AliasTable, RcptDecision, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::store::{MailStore, MemoryStore};

struct Hub {
    queue: Queue,
    clock: Arc<ManualClock>,
    router: Router,
    store: Arc<MemoryStore>,
    transport: deliver::Router,
    _dir: tempfile::TempDir,
}

fn hub(store: MemoryStore) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let users: HashSet<String> = ["alice", "bob", "root"].map(String::from).into();
    let aliases = AliasTable::parse(
        "team: alice, bob+lists\npostmaster: root\n",
        &AliasLimits::default(),
    )
    .unwrap();
    let router = Router::new(
        RouteOptions {
            local_domains: ["example.org".to_string()].into(),
            ..RouteOptions::default()
        },
        aliases,
        Arc::new(users),
    );
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    ));
    let opts = QueueOptions {
        fsync: false,
        dsn: DsnOptions::new("mx.example.org"),
        ..QueueOptions::default()
    };
    let (queue, _) = block_on(Queue::open(
        dir.path(),
        opts,
        clock.clone(),
        default_runtime(),
    ))
    .unwrap();
    let queue = queue.with_bounce_router(router.clone());
    let store = Arc::new(store);
    let local = LocalDelivery::new(store.clone(), default_runtime(), LocalOptions::default());
    let transport = deliver::Router::new(Arc::new(local), Arc::new(NoRemote));
    Hub {
        queue,
        clock,
        router,
        store,
        transport,
        _dir: dir,
    }
}

impl Hub {
    /// What an SMTP driver does: RCPT decisions, then queue the accepted destinations.
    fn submit(&self, sender: &str, rcpts: &[&str], body: &[u8]) {
        let mut recipients = Vec::new();
        for r in rcpts {
            match self.router.resolve(r) {
                RcptDecision::Accept(dests) => {
                    recipients.extend(dests.into_iter().map(|d| NewRecipient {
                        address: r.to_string(),
                        destination: d,
                        orcpt: None,
                        notify: None,
                    }))
                }
                other => panic!("{r}: {other:?}"),
            }
        }
        block_on(self.queue.enqueue(
            NewMessage {
                sender: sender.into(),
                recipients,
                ..NewMessage::default()
            },
            body,
        ))
        .unwrap();
    }

    fn run(&self) {
        block_on(self.queue.run_due(&self.transport as &dyn Transport));
    }

    fn mailbox(&self, user: &str, mailbox: &str) -> Vec<String> {
        block_on(async {
            let u = self.store.open(user).await.unwrap();
            let snap = match u.select(mailbox).await {
                Ok(s) => s,
                Err(_) => return Vec::new(),
            };
            let mut out = Vec::new();
            for m in snap.messages {
                let mut b = u.open_message(mailbox, m.uid).await.unwrap();
                let mut v = Vec::new();
                while let Some(c) = b.next_chunk().await.unwrap() {
                    v.extend_from_slice(&c);
                }
                out.push(String::from_utf8(v).unwrap());
            }
            out
        })
    }
}

const BODY: &[u8] = b"From: carol@remote.example\r\nSubject: hi\r\n\r\nhello\r\n";

#[test]
fn alias_chain_and_plus_addressing_land_in_the_right_folders() {
    let h = hub(MemoryStore::new());
    block_on(async {
        h.store
            .open("bob")
            .await
            .unwrap()
            .create("Lists")
            .await
            .unwrap()
    });
    h.submit(
        "carol@remote.example",
        &["team@example.org", "bob+nosuchfolder@example.org"],
        BODY,
    );
    h.run();
    let alice = h.mailbox("alice", "INBOX");
    assert_eq!(alice.len(), 1);
    assert!(
        alice[0].starts_with(
            "Return-Path: <carol@remote.example>\r\nDelivered-To: team@example.org\r\n"
        ),
        "{}",
        alice[0]
    );
    assert!(alice[0].ends_with("hello\r\n"));
    assert_eq!(
        h.mailbox("bob", "Lists").len(),
        1,
        "bob+lists went to the Lists folder"
    );
    let inbox = h.mailbox("bob", "INBOX");
    assert_eq!(inbox.len(), 1, "an unknown folder falls back to INBOX");
    assert!(inbox[0].contains("Delivered-To: bob+nosuchfolder@example.org"));
    assert!(h.queue.list().is_empty());
}

#[test]
fn over_quota_defers_and_bounces_when_the_message_expires() {
    let h = hub(MemoryStore::with_quota(60));
    h.submit("carol@remote.example", &["alice@example.org"], BODY);
    h.run();
    let q = h.queue.list();
    assert_eq!(q.len(), 1, "deferred, still queued");
    let r = &q[0].recipients[0];
    assert_eq!(r.state, State::Pending);
    assert!(
        r.last_reply.as_deref().unwrap().starts_with("452 4.2.2"),
        "{:?}",
        r.last_reply
    );
    assert!(h.mailbox("alice", "INBOX").is_empty());
    // Five days of retries, then a bounce to the (remote) sender, which waits for a remote
    // transport.
    for _ in 0..(5 * 24 + 1) {
        h.clock.advance(Duration::from_secs(3600));
        h.run();
    }
    let q = h.queue.list();
    let bounces: Vec<_> = q.iter().filter(|e| e.kind == Kind::Bounce).collect();
    assert_eq!(bounces.len(), 2, "a delay warning and a bounce: {q:?}");
    assert!(
        bounces
            .iter()
            .all(|b| b.sender.is_empty() && b.recipients[0].new.address == "carol@remote.example")
    );
    assert!(
        q.iter().all(|e| e.kind == Kind::Bounce),
        "the original is gone"
    );
}

#[test]
fn a_local_senders_bounce_is_delivered_locally() {
    let h = hub(MemoryStore::new());
    h.submit(
        "alice@example.org",
        &["bob@example.org"],
        b"Delivered-To: bob@example.org\r\nSubject: loop\r\n\r\nx\r\n",
    );
    h.run();
    h.run();
    assert!(
        h.mailbox("bob", "INBOX").is_empty(),
        "a Delivered-To loop is not delivered"
    );
    let alice = h.mailbox("alice", "INBOX");
    assert_eq!(alice.len(), 1);
    assert!(
        alice[0].contains("Status: 5.4.6") && alice[0].contains("Return-Path: <>"),
        "{}",
        alice[0]
    );
}

#[test]
fn too_many_received_fields_is_a_loop() {
    let h = hub(MemoryStore::new());
    let mut msg = String::new();
    for i in 0..60 {
        msg.push_str(&format!(
            "Received: from hop{i}.example by hop{}.example; Tue, 14 Nov 2023 22:13:20 +0000\r\n",
            i + 1
        ));
    }
    msg.push_str("Subject: loop\r\n\r\nx\r\n");
    h.submit("", &["bob@example.org"], msg.as_bytes());
    h.run();
    assert!(h.mailbox("bob", "INBOX").is_empty());
    assert!(h.queue.list().is_empty(), "failed, and no bounce to <>");
}
