//! The IMAP driver's extensions over real loopback TCP: UNAUTHENTICATE (RFC 8437) leaves
//! nothing of the first user behind, WITHIN (RFC 5032) searches against the time of day,
//! a multi-megabyte `BODY[]` streamed from the store arrives byte for byte (RFC 3501
//! §6.4.5), and QRESYNC (RFC 7162 §3.2.5) resynchronises a client after another session
//! expunged and changed flags, on the Maildir store (no expunge history: the engine falls
//! back to the client's UIDs that are gone) and on the memory store (real history).
//!
//! The streaming test needs `python3` (standard library only). Every test is bounded by a
//! timeout.

mod imap_support;

use std::sync::Arc;

use imap_support::{Client, Hub, LIMIT, Tls, message, python, run_script, start, start_on};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;
use mailhub_mta_core::store::{AppendRequest, MemoryStore};

async fn hub(messages: &[Vec<u8>]) -> Hub {
    let limits = ConnectionLimits::default();
    start(Tls::None, Plaintext::Loopback, messages, |_| {}, limits).await
}

fn ok(r: &[String], tag: &str) {
    assert!(
        r.last()
            .is_some_and(|l| l.starts_with(&format!("{tag} OK"))),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticate_then_another_user_sees_only_their_mail() {
    tokio::time::timeout(LIMIT, async {
        let hub = hub(&[message("for-dave", "dave's"), message("dave-2", "x")]).await;
        let erin = hub.store.open("erin").await.unwrap();
        let req = AppendRequest {
            data: message("for-erin", "erin's").into(),
            ..AppendRequest::default()
        };
        erin.append("INBOX", req).await.unwrap();

        let mut c = Client::connect(hub.addr).await;
        c.login().await;
        let caps = c.command("c", "CAPABILITY").await;
        assert!(caps[0].contains(" UNAUTHENTICATE"), "{caps:?}");
        let r = c.command("s", "SELECT INBOX").await;
        assert!(r.contains(&"* 2 EXISTS".to_owned()), "{r:?}");
        let r = c.command("u", "UNAUTHENTICATE").await;
        ok(&r, "u");
        // Not authenticated any more: mailbox commands are refused.
        let r = c.command("x", "SELECT INBOX").await;
        assert!(r.last().unwrap().starts_with("x BAD") || r.last().unwrap().starts_with("x NO"));
        let r = c.command("l", "LOGIN erin secret2").await;
        ok(&r, "l");
        let r = c.command("s2", "SELECT INBOX").await;
        assert!(r.contains(&"* 1 EXISTS".to_owned()), "{r:?}");
        let r = c
            .command("f", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .await;
        let all = r.join("\n");
        assert!(all.contains("Subject: for-erin"), "{all}");
        assert!(!all.contains("dave"), "{all}");
        // A delivery to dave's INBOX is not reported to erin's session.
        let dave = hub.store.open("dave").await.unwrap();
        let req = AppendRequest {
            data: message("late", "for dave").into(),
            ..AppendRequest::default()
        };
        dave.append("INBOX", req).await.unwrap();
        let r = c.command("n", "NOOP").await;
        assert_eq!(r.len(), 1, "{r:?}");
        ok(&r, "n");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_searches_against_the_time_of_day() {
    tokio::time::timeout(LIMIT, async {
        let hub = hub(&[message("one", "1"), message("two", "2")]).await;
        let old = AppendRequest {
            data: message("old", "from last year").into(),
            internal_date: Some(
                std::time::SystemTime::now() - std::time::Duration::from_secs(400 * 86_400),
            ),
            ..AppendRequest::default()
        };
        hub.store
            .open("dave")
            .await
            .unwrap()
            .append("INBOX", old)
            .await
            .unwrap();
        let mut c = Client::connect(hub.addr).await;
        let caps = c.command("c", "CAPABILITY").await;
        assert!(caps[0].contains(" WITHIN"), "{caps:?}");
        c.login().await;
        c.command("s", "SELECT INBOX").await;
        let r = c.command("y", "UID SEARCH YOUNGER 3600").await;
        assert_eq!(r[0], "* SEARCH 1 2", "{r:?}");
        let r = c.command("o", "UID SEARCH OLDER 86400").await;
        assert_eq!(r[0], "* SEARCH 3", "{r:?}");
    })
    .await
    .expect("test timed out");
}

/// Every file under `dir` whose contents start with `prefix`.
fn files_starting_with(dir: &std::path::Path, prefix: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_starting_with(&p, prefix));
        } else if let Ok(data) = std::fs::read(&p)
            && data.starts_with(prefix)
        {
            out.push(data);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_megabyte_body_streams_byte_for_byte() {
    tokio::time::timeout(LIMIT, async {
        // 4 MB with CRLF line ends (what the file holds is what the client gets) and a
        // 1 MB one with bare LF (the client gets CRLF, as many octets as RFC822.SIZE).
        let crlf: Vec<u8> = std::iter::once("Subject: big\r\n\r\n".to_owned())
            .chain(
                (0..80_000).map(|i| format!("line {i:06} of a large message, padded to fifty\r\n")),
            )
            .collect::<String>()
            .into_bytes();
        let lf: Vec<u8> = std::iter::once("Subject: lf\n\n".to_owned())
            .chain((0..20_000).map(|i| format!("bare line feed {i:06} ................ here\n")))
            .collect::<String>()
            .into_bytes();
        // A rendering limit far below both: only the streamed path can answer.
        let limits = ConnectionLimits::default();
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[crlf.clone(), lf.clone()],
            |c| c.max_fetch = 64 * 1024,
            limits,
        )
        .await;
        let on_disk = files_starting_with(hub.dir.path(), b"Subject: big\r\n");
        assert_eq!(on_disk.len(), 1, "one file holds the big message");
        assert_eq!(on_disk[0], crlf);
        let out_dir = tempfile::tempdir().unwrap();
        let got1 = out_dir.path().join("1");
        let got2 = out_dir.path().join("2");
        let out = python(
            &hub,
            &run_script(&format!(
                r#"
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
M.login("dave", "secret")
M.select("INBOX")
typ, data = M.fetch("1", "(BODY[])")
open({got1:?}, "wb").write(data[0][1])
typ, data = M.fetch("2", "(UID RFC822.SIZE BODY.PEEK[])")
print("HEAD2", data[0][0])
open({got2:?}, "wb").write(data[0][1])
print("FLAGS", M.fetch("1:2", "(FLAGS)")[1])
print("PARTIAL", M.fetch("1", "(BODY.PEEK[]<0.12>)")[0])
print("LOGOUT", M.logout()[0])
"#,
                got1 = got1.display().to_string(),
                got2 = got2.display().to_string(),
            )),
        )
        .await;
        assert!(out.contains("LOGOUT BYE"), "{out}");
        assert!(
            std::fs::read(&got1).unwrap() == crlf,
            "BODY[] differs from the file"
        );
        let expected2 = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n");
        let got2 = std::fs::read(&got2).unwrap();
        assert!(got2 == expected2.as_bytes(), "bare LF not turned into CRLF");
        assert!(
            out.contains(&format!(
                "RFC822.SIZE {} BODY[] {{{}}}",
                got2.len(),
                got2.len()
            )),
            "{out}"
        );
        // BODY[] set \Seen on 1, BODY.PEEK[] did not on 2 (both \Recent in the one session).
        assert!(out.contains(r"1 (FLAGS (\\Seen \\Recent))"), "{out}");
        assert!(out.contains(r"2 (FLAGS (\\Recent))"), "{out}");
        // A partial fetch is rendered, not streamed: over max_fetch it is refused, and the
        // session goes on (LOGOUT above answered).
        assert!(out.contains("PARTIAL NO"), "{out}");
    })
    .await
    .expect("test timed out");
}

/// Session A learns the mailbox, session B flags message 1 and expunges message 2, then a
/// QRESYNC SELECT with A's UIDVALIDITY and HIGHESTMODSEQ gets `VANISHED (EARLIER) 2` and
/// the new flags of 1, nothing about 3; an EXPUNGE under QRESYNC answers VANISHED and the
/// new HIGHESTMODSEQ. Returns the UIDVALIDITY and that HIGHESTMODSEQ.
async fn qresync_after_another_session_changed_the_mailbox(hub: &Hub) -> (u64, u64) {
    let mut a = Client::connect(hub.addr).await;
    let caps = a.command("c", "CAPABILITY").await;
    assert!(caps[0].contains(" QRESYNC"), "{caps:?}");
    a.login().await;
    ok(&a.command("e", "ENABLE QRESYNC").await, "e");
    let r = a.command("s", "SELECT INBOX").await;
    ok(&r, "s");
    let validity = code(&r, "UIDVALIDITY");
    let modseq = code(&r, "HIGHESTMODSEQ");
    assert!(modseq > 0, "{r:?}");
    a.command("o", "LOGOUT").await;

    let mut b = Client::connect(hub.addr).await;
    b.login().await;
    b.command("s", "SELECT INBOX").await;
    ok(&b.command("f", r"UID STORE 1 +FLAGS (\Flagged)").await, "f");
    ok(
        &b.command("d", r"UID STORE 2 +FLAGS.SILENT (\Deleted)")
            .await,
        "d",
    );
    let r = b.command("x", "EXPUNGE").await;
    assert_eq!(r[0], "* 2 EXPUNGE", "{r:?}");
    b.command("o", "LOGOUT").await;

    let mut c = Client::connect(hub.addr).await;
    c.login().await;
    ok(&c.command("e", "ENABLE QRESYNC").await, "e");
    let r = c
        .command(
            "s",
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq}))"),
        )
        .await;
    ok(&r, "s");
    assert!(r.contains(&"* VANISHED (EARLIER) 2".to_owned()), "{r:?}");
    let fetches: Vec<&String> = r.iter().filter(|l| l.contains(" FETCH ")).collect();
    assert_eq!(fetches.len(), 1, "{r:?}");
    assert!(
        fetches[0].starts_with("* 1 FETCH (")
            && fetches[0].contains("UID 1")
            && fetches[0].contains(r"\Flagged")
            && fetches[0].contains("MODSEQ ("),
        "{r:?}"
    );
    let before = code(&r, "HIGHESTMODSEQ");
    assert!(before > modseq, "{r:?}");
    ok(
        &c.command("d", r"UID STORE 3 +FLAGS.SILENT (\Deleted)")
            .await,
        "d",
    );
    let r = c.command("x", "EXPUNGE").await;
    assert_eq!(r[0], "* VANISHED 3", "{r:?}");
    let after = code(&r, "HIGHESTMODSEQ");
    assert!(after > before, "{r:?}");
    (validity, after)
}

/// The number in the response code `[name n]` of `lines`.
fn code(lines: &[String], name: &str) -> u64 {
    let l = lines
        .iter()
        .find_map(|l| l.split_once(&format!("[{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
        .1;
    l[..l.find(']').unwrap()].parse().unwrap()
}

/// After [`qresync_after_another_session_changed_the_mailbox`] (2 and 3 gone by
/// `modseq`), another session changes message 1; a QRESYNC SELECT from `modseq` naming
/// known UIDs 1:3 gets the flags of 1 and, depending on the store's memory, 2:3 as vanished.
async fn resync_naming_uids_expunged_before(hub: &Hub, validity: u64, modseq: u64) -> Vec<String> {
    let mut b = Client::connect(hub.addr).await;
    b.login().await;
    b.command("s", "SELECT INBOX").await;
    ok(&b.command("f", r"UID STORE 1 -FLAGS (\Flagged)").await, "f");
    b.command("o", "LOGOUT").await;
    let mut c = Client::connect(hub.addr).await;
    c.login().await;
    ok(&c.command("e", "ENABLE QRESYNC").await, "e");
    let r = c
        .command(
            "s",
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq} 1:3))"),
        )
        .await;
    ok(&r, "s");
    let fetches: Vec<&String> = r.iter().filter(|l| l.contains(" FETCH ")).collect();
    assert_eq!(fetches.len(), 1, "{r:?}");
    assert!(
        fetches[0].starts_with("* 1 FETCH (") && fetches[0].contains("FLAGS ()"),
        "{r:?}"
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qresync_select_on_maildir_reports_vanished_and_changed_flags() {
    tokio::time::timeout(LIMIT, async {
        let hub = hub(&[
            message("one", "1"),
            message("two", "2"),
            message("three", "3"),
        ])
        .await;
        let (validity, modseq) = qresync_after_another_session_changed_the_mailbox(&hub).await;
        // No expunge history: every known UID that is gone is reported (RFC 7162 §3.2.5).
        let r = resync_naming_uids_expunged_before(&hub, validity, modseq).await;
        assert!(r.contains(&"* VANISHED (EARLIER) 2:3".to_owned()), "{r:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qresync_select_on_the_memory_store_uses_its_expunge_history() {
    tokio::time::timeout(LIMIT, async {
        let msgs = [
            message("one", "1"),
            message("two", "2"),
            message("three", "3"),
        ];
        let hub = start_on(
            Arc::new(MemoryStore::new()),
            tempfile::tempdir().unwrap(),
            Tls::None,
            Plaintext::Loopback,
            &msgs,
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let (validity, modseq) = qresync_after_another_session_changed_the_mailbox(&hub).await;
        // The store remembers 2 and 3 went before `modseq`: nothing is reported vanished.
        let r = resync_naming_uids_expunged_before(&hub, validity, modseq).await;
        assert!(!r.iter().any(|l| l.contains("VANISHED")), "{r:?}");
    })
    .await
    .expect("test timed out");
}
