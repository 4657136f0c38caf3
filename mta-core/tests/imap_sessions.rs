//! The IMAP driver with a raw line client over loopback TCP: IDLE woken by a delivery through
//! the store (no disk polling: the store's change hub wakes the session), a POP3 deletion
//! reported as EXPUNGE to an IMAP session, an APPEND over the limit refused before its octets
//! are read, a client that never reads not stalling another session, and the connection
//! limit answered with `* BYE [UNAVAILABLE]`. Every test is bounded by a timeout.

mod imap_support;

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use imap_support::{Client, LIMIT, Tls, message, python, run_script, start};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;
use mailhub_mta_core::store::AppendRequest;

async fn hub(messages: &[Vec<u8>]) -> imap_support::Hub {
    start(
        Tls::None,
        Plaintext::Loopback,
        messages,
        |_| {},
        ConnectionLimits::default(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_is_woken_by_a_delivery_through_the_store() {
    tokio::time::timeout(LIMIT, async {
        let hub = hub(&[message("one", "1")]).await;
        let mut c = Client::connect(hub.addr).await;
        c.login().await;
        let r = c.command("s", "SELECT INBOX").await;
        assert!(r.iter().any(|l| l == "* 1 EXISTS"), "{r:?}");
        c.send("i IDLE").await;
        assert!(c.line().await.starts_with("+ "));
        // A delivery, as the local delivery agent or the SMTP driver's store sink makes it.
        let mail = hub.store.open("dave").await.unwrap();
        let req = AppendRequest {
            data: message("two", "2").into(),
            ..Default::default()
        };
        mail.append("INBOX", req).await.unwrap();
        assert_eq!(c.line().await, "* 2 EXISTS");
        // This session is the first to see it: \Recent here (RFC 3501 §2.3.2).
        assert_eq!(c.line().await, "* 2 RECENT");
        // A flag change by someone else arrives too.
        let flags =
            mailhub_mta_core::store::FlagSet::system(mailhub_mta_core::store::SystemFlags::FLAGGED);
        mail.store("INBOX", &[1], mailhub_mta_core::store::FlagOp::Add, &flags)
            .await
            .unwrap();
        assert_eq!(c.line().await, r"* 1 FETCH (FLAGS (\Flagged \Recent))");
        c.send("DONE").await;
        assert!(c.line().await.starts_with("i OK"));
        let r = c
            .command("f", "FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .await;
        assert!(r.iter().any(|l| l == "Subject: two"), "{r:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pop3_deletion_is_an_expunge_in_imap() {
    tokio::time::timeout(LIMIT, async {
        let hub = hub(&[message("one", "1"), message("two", "2")]).await;
        let mut c = Client::connect(hub.addr).await;
        c.login().await;
        c.command("s", "SELECT INBOX").await;
        c.send("i IDLE").await;
        assert!(c.line().await.starts_with("+ "));
        let out = python(
            &hub,
            &run_script(
                r#"
p = poplib.POP3("127.0.0.1", pop3_port, timeout=20)
p.user("dave"); p.pass_("secret")
p.dele(1)
print(p.quit())
"#,
            ),
        )
        .await;
        assert!(out.contains("+OK"), "{out}");
        assert_eq!(c.line().await, "* 1 EXPUNGE");
        c.send("DONE").await;
        assert!(c.line().await.starts_with("i OK"));
        let r = c.command("f", "UID FETCH 1:* (FLAGS)").await;
        assert!(
            r[0].starts_with("* 1 FETCH (") && r[0].contains("UID 2"),
            "{r:?}"
        );
        assert_eq!(r.len(), 2, "{r:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_over_the_limit_is_refused_unread() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[],
            |c| c.max_append = 1000,
            ConnectionLimits::default(),
        )
        .await;
        let mut c = Client::connect(hub.addr).await;
        c.login().await;
        c.send("a APPEND INBOX {100000000}").await;
        // No "+ " continuation: the refusal comes at once, without reading the literal.
        let l = c.line().await;
        assert!(l.starts_with("a NO [TOOBIG]"), "{l}");
        c.send("b APPEND INBOX {12}").await;
        let l = c.line().await;
        assert!(l.starts_with("+ "), "{l}");
        c.send("Subject: x\r\n").await;
        let r = c.until("b").await;
        assert!(r.last().unwrap().starts_with("b OK [APPENDUID "), "{r:?}");
        let r = c.command("s", "STATUS INBOX (MESSAGES APPENDLIMIT)").await;
        assert!(
            r[0].contains("MESSAGES 1") && r[0].contains("APPENDLIMIT 1000"),
            "{r:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_stall_others() {
    tokio::time::timeout(LIMIT, async {
        let big: String = (0..20_000)
            .map(|i| format!("line {i:05} of a large message, padded to fifty\n"))
            .collect();
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[message("big", &big)],
            |c| c.write_timeout = Duration::from_secs(2),
            ConnectionLimits::default(),
        )
        .await;
        if std::env::var("DBG").is_ok() {
            let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        }
        let mut stuck = Client::connect(hub.addr).await;
        stuck.login().await;
        stuck.command("s", "SELECT INBOX").await;
        // Megabytes of responses asked for and never read.
        for i in 0..40 {
            stuck.send(&format!("f{i} FETCH 1 BODY.PEEK[]")).await;
        }
        let mut other = Client::connect(hub.addr).await;
        other.login().await;
        other.command("s", "SELECT INBOX").await;
        let r = other.command("f", "FETCH 1 (RFC822.SIZE)").await;
        assert!(r.last().unwrap().starts_with("f OK"), "{r:?}");
        other.command("o", "LOGOUT").await;
        // The stuck session is cut once its write timeout passes (were it not, reading to the
        // end would never finish and the test would time out): reading after that gets the
        // responses that fitted in the socket buffers and then the end of the stream.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let rest = stuck.rest().await;
        assert!(
            rest.len() < 40 * big.len(),
            "the server gave up on the client"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_bye() {
    tokio::time::timeout(LIMIT, async {
        let limits = ConnectionLimits {
            max_total: 10,
            max_per_address: 1,
        };
        let hub = start(Tls::None, Plaintext::Loopback, &[], |_| {}, limits).await;
        let _first = Client::connect(hub.addr).await;
        let tcp = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
        let mut second = tokio::io::BufReader::new(tcp);
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut second, &mut line)
            .await
            .unwrap();
        assert!(line.starts_with("* BYE [UNAVAILABLE]"), "{line}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_is_logged_out_without_stalling_others() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[message("one", "1")],
            |c| c.options.limits.login_timeout = Duration::from_secs(1),
            ConnectionLimits::default(),
        )
        .await;
        let mut loris = Client::connect(hub.addr).await;
        // Half a command, then nothing.
        loris.writer_mut().write_all(b"a LOG").await.unwrap();
        let mut other = Client::connect(hub.addr).await;
        other.login().await;
        let r = other.command("s", "SELECT INBOX").await;
        assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
        // The login timer ends the slow client's session with BYE (were it not, this read
        // would wait for ever and the test time out).
        let l = loris.line().await;
        assert!(l.starts_with("* BYE"), "{l}");
        assert!(loris.read().await.is_none(), "connection closed after BYE");
        // The logged-in session is still served (its timer is the 30-minute autologout).
        let r = other.command("n", "NOOP").await;
        assert!(r.last().unwrap().starts_with("n OK"), "{r:?}");
    })
    .await
    .expect("test timed out");
}
