//! `\Recent` (RFC 3501 §2.3.2) given to exactly one session, over loopback TCP with the line
//! client, on the Maildir store (the session whose rename takes the message from `new/` to
//! `cur/` owns it, Dovecot's rule) and on the memory store (a per-mailbox claim mark): two
//! sessions selecting the same INBOX after a delivery, a delivery while sessions are selected
//! (NOOP, IDLE), EXAMINE and STATUS claiming nothing, and IMAP4rev2 sessions (RFC 9051 has no
//! `\Recent`) neither seeing nor taking it. Every test is bounded by a timeout.

mod imap_support;

use std::sync::Arc;

use imap_support::{Client, Hub, LIMIT, Tls, message, start, start_on};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;
use mailhub_mta_core::store::{AppendRequest, MemoryStore};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Maildir,
    Memory,
}

async fn hub(kind: Kind, messages: &[Vec<u8>]) -> Hub {
    match kind {
        Kind::Maildir => {
            start(
                Tls::None,
                Plaintext::Loopback,
                messages,
                |_| {},
                ConnectionLimits::default(),
            )
            .await
        }
        Kind::Memory => {
            start_on(
                Arc::new(MemoryStore::new()),
                tempfile::tempdir().unwrap(),
                Tls::None,
                Plaintext::Loopback,
                messages,
                |_| {},
                ConnectionLimits::default(),
            )
            .await
        }
    }
}

/// A delivery into dave's INBOX through the store, as the local delivery agent makes it.
async fn deliver(hub: &Hub, subject: &str) {
    let mail = hub.store.open("dave").await.unwrap();
    let req = AppendRequest {
        data: message(subject, "body").into(),
        ..Default::default()
    };
    mail.append("INBOX", req).await.unwrap();
}

async fn session(hub: &Hub) -> Client {
    let mut c = Client::connect(hub.addr).await;
    c.login().await;
    c
}

fn ok(lines: &[String], tag: &str) {
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with(&format!("{tag} OK"))),
        "{lines:?}"
    );
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

/// The flags of message `seq` in a FETCH response, as sent.
async fn flags(c: &mut Client, seq: u32) -> String {
    let r = c.command("f", &format!("FETCH {seq} (FLAGS)")).await;
    ok(&r, "f");
    r.iter()
        .find(|l| l.starts_with(&format!("* {seq} FETCH (")))
        .cloned()
        .unwrap_or_else(|| panic!("no FETCH for {seq}: {r:?}"))
}

/// Files in dave's Maildir INBOX `new/` (Maildir only).
fn in_new(hub: &Hub) -> usize {
    std::fs::read_dir(hub.dir.path().join("mail/dave/new"))
        .unwrap()
        .count()
}

async fn two_selects_one_recent(kind: Kind) {
    let hub = hub(kind, &[]).await;
    deliver(&hub, "one").await;
    let mut a = session(&hub).await;
    let mut b = session(&hub).await;
    let r = a.command("s", "SELECT INBOX").await;
    ok(&r, "s");
    assert!(has(&r, "* 1 EXISTS") && has(&r, "* 1 RECENT"), "{r:?}");
    if kind == Kind::Maildir {
        assert_eq!(in_new(&hub), 0, "the claiming session moved it to cur/");
    }
    let r = b.command("s", "SELECT INBOX").await;
    ok(&r, "s");
    assert!(has(&r, "* 1 EXISTS") && has(&r, "* 0 RECENT"), "{r:?}");
    assert_eq!(flags(&mut a, 1).await, r"* 1 FETCH (FLAGS (\Recent))");
    assert_eq!(flags(&mut b, 1).await, "* 1 FETCH (FLAGS ())");
    // Reselecting does not hand it out again: it was claimed once, for good.
    let r = b.command("s", "SELECT INBOX").await;
    assert!(has(&r, "* 0 RECENT"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_two_selects_one_recent() {
    tokio::time::timeout(LIMIT, two_selects_one_recent(Kind::Maildir))
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_two_selects_one_recent() {
    tokio::time::timeout(LIMIT, two_selects_one_recent(Kind::Memory))
        .await
        .expect("test timed out");
}

async fn delivery_while_selected(kind: Kind) {
    let hub = hub(kind, &[message("one", "1")]).await;
    let mut a = session(&hub).await;
    let r = a.command("s", "SELECT INBOX").await;
    assert!(has(&r, "* 1 RECENT"), "{r:?}");
    // NOOP: the new message is this session's.
    deliver(&hub, "two").await;
    let r = a.command("n", "NOOP").await;
    ok(&r, "n");
    assert!(has(&r, "* 2 EXISTS") && has(&r, "* 2 RECENT"), "{r:?}");
    assert_eq!(flags(&mut a, 2).await, r"* 2 FETCH (FLAGS (\Recent))");
    // A session selecting afterwards gets none of them.
    let mut b = session(&hub).await;
    let r = b.command("s", "SELECT INBOX").await;
    assert!(has(&r, "* 2 EXISTS") && has(&r, "* 0 RECENT"), "{r:?}");

    // IDLE in one session, the other merely selected: exactly one of them gets the third.
    a.send("i IDLE").await;
    assert!(a.line().await.starts_with("+ "));
    deliver(&hub, "three").await;
    assert_eq!(a.line().await, "* 3 EXISTS");
    a.send("DONE").await;
    let idle = a.until("i").await;
    ok(&idle, "i");
    let r = b.command("n", "NOOP").await;
    assert!(has(&r, "* 3 EXISTS"), "{r:?}");
    let in_a = flags(&mut a, 3).await.contains(r"\Recent");
    let in_b = flags(&mut b, 3).await.contains(r"\Recent");
    assert!(in_a != in_b, "one session only: a {in_a}, b {in_b}");
    // The RECENT count announced agrees with who got it.
    assert_eq!(has(&idle, "* 3 RECENT"), in_a, "{idle:?}");
    assert_eq!(has(&r, "* 1 RECENT"), in_b, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_delivery_while_selected_is_recent_there_only() {
    tokio::time::timeout(LIMIT, delivery_while_selected(Kind::Maildir))
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_delivery_while_selected_is_recent_there_only() {
    tokio::time::timeout(LIMIT, delivery_while_selected(Kind::Memory))
        .await
        .expect("test timed out");
}

async fn examine_and_status_claim_nothing(kind: Kind) {
    let hub = hub(kind, &[]).await;
    deliver(&hub, "one").await;
    let mut e = session(&hub).await;
    let r = e.command("st", "STATUS INBOX (MESSAGES RECENT)").await;
    ok(&r, "st");
    assert_eq!(r[0], "* STATUS INBOX (MESSAGES 1 RECENT 1)");
    let r = e.command("x", "EXAMINE INBOX").await;
    ok(&r, "x");
    assert!(has(&r, "* 1 EXISTS") && has(&r, "* 0 RECENT"), "{r:?}");
    assert_eq!(flags(&mut e, 1).await, "* 1 FETCH (FLAGS ())");
    if kind == Kind::Maildir {
        assert_eq!(in_new(&hub), 1, "EXAMINE leaves new/ alone");
    }
    // A message arriving while examined is not taken either.
    deliver(&hub, "two").await;
    let r = e.command("n", "NOOP").await;
    assert!(
        has(&r, "* 2 EXISTS") && !r.iter().any(|l| l.ends_with(" RECENT")),
        "{r:?}"
    );
    let mut s = session(&hub).await;
    let r = s.command("st", "STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS INBOX (RECENT 2)");
    let r = s.command("s", "SELECT INBOX").await;
    assert!(has(&r, "* 2 RECENT"), "{r:?}");
    let r = s.command("st", "STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS INBOX (RECENT 0)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_examine_and_status_claim_nothing() {
    tokio::time::timeout(LIMIT, examine_and_status_claim_nothing(Kind::Maildir))
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_examine_and_status_claim_nothing() {
    tokio::time::timeout(LIMIT, examine_and_status_claim_nothing(Kind::Memory))
        .await
        .expect("test timed out");
}

async fn rev2_neither_sees_nor_takes(kind: Kind) {
    let hub = hub(kind, &[]).await;
    deliver(&hub, "one").await;
    let mut v2 = session(&hub).await;
    let r = v2.command("e", "ENABLE IMAP4rev2").await;
    ok(&r, "e");
    let r = v2.command("s", "SELECT INBOX").await;
    ok(&r, "s");
    assert!(!r.iter().any(|l| l.ends_with(" RECENT")), "{r:?}");
    assert_eq!(flags(&mut v2, 1).await, "* 1 FETCH (FLAGS ())");
    let mut v1 = session(&hub).await;
    let r = v1.command("s", "SELECT INBOX").await;
    assert!(has(&r, "* 1 RECENT"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_rev2_session_neither_sees_nor_takes_recent() {
    tokio::time::timeout(LIMIT, rev2_neither_sees_nor_takes(Kind::Maildir))
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_rev2_session_neither_sees_nor_takes_recent() {
    tokio::time::timeout(LIMIT, rev2_neither_sees_nor_takes(Kind::Memory))
        .await
        .expect("test timed out");
}
