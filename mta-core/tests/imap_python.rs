//! The IMAP driver over real loopback TCP against Python's imaplib on the Maildir store:
//! LOGIN, AUTHENTICATE PLAIN, LOGINDISABLED before TLS, STARTTLS and IMAPS with a test
//! certificate made at test time, SELECT, FETCH (FLAGS, BODY[], BODY.PEEK[HEADER],
//! BODYSTRUCTURE), STORE, COPY, EXPUNGE, APPEND, LIST, CREATE/RENAME/DELETE, STATUS, QUOTA,
//! and two sessions on one mailbox seeing each other's changes on NOOP.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

mod imap_support;

use imap_support::{LIMIT, PRELUDE, Tls, message, python, start};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;

fn run(script: &str) -> String {
    format!("{PRELUDE}{script}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_fetch_store_copy_expunge_append_and_mailboxes() {
    tokio::time::timeout(LIMIT, async {
        let msgs = [message("one", "first body"), message("two", "second body")];
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &msgs,
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
print("CAPS", M.capabilities)
print("LOGIN", M.login("dave", "secret")[0])
typ, data = M.select("INBOX")
print("SELECT", typ, data)
print("FLAGS", M.fetch("1:*", "(UID FLAGS RFC822.SIZE)")[1])
typ, data = M.fetch("1", "(BODY.PEEK[HEADER])")
print("HEADER", data[0][1])
typ, data = M.fetch("1", "(BODYSTRUCTURE)")
print("BS", data)
typ, data = M.fetch("2", "(BODY[])")
print("BODY", data[0][1])
print("SEEN", M.fetch("2", "(FLAGS)")[1])
print("STORE", M.store("1", "+FLAGS", "(\\Flagged $Work)")[1])
print("COPY-NONE", M.copy("1", "Archive"))
print("CREATE", M.create("Archive"))
print("COPY", M.copy("1:2", "Archive"))
print("LIST", M.list()[1])
print("STATUS", M.status("Archive", "(MESSAGES UIDNEXT UNSEEN)")[1])
print("RENAME", M.rename("Archive", "Old"))
print("LIST2", M.list()[1])
print("APPEND", M.append("INBOX", "(\\Seen)", None, b"Subject: appended\r\n\r\nhello\r\n"))
print("NOOP", M.noop())
print("DEL-FLAG", M.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
print("EXPUNGE", M.expunge())
print("SEARCH", M.uid("SEARCH", "ALL"))
print("QUOTAROOT", M.getquotaroot("INBOX"))
print("DELETE", M.delete("Old"))
print("LIST3", M.list()[1])
print("LOGOUT", M.logout()[0])
"#),
        )
        .await;
        let l = |p: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("{p} ")))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            l("CAPS").contains("'IDLE'") && l("CAPS").contains("'AUTH=PLAIN'"),
            "{out}"
        );
        assert_eq!(l("LOGIN"), "LOGIN OK");
        assert!(l("SELECT").contains("OK [b'2']"), "{out}");
        assert!(
            // The first session to select the new mail owns it as \Recent (RFC 3501 §2.3.2).
            l("FLAGS").contains(r"UID 1 FLAGS (\\Recent)") && l("FLAGS").contains("UID 2"),
            "{out}"
        );
        // The stored message has bare LF; IMAP sends CRLF, as RFC822.SIZE counted.
        assert!(l("HEADER").contains(r"Subject: one\r\n"), "{out}");
        assert!(!l("HEADER").contains("first body"), "{out}");
        assert!(
            l("BS").contains(r#"("TEXT" "PLAIN""#) || l("BS").contains(r#"("text" "plain""#),
            "{out}"
        );
        assert!(l("BODY").contains(r"\r\n\r\nsecond body\r\n"), "{out}");
        assert!(
            l("SEEN").contains(r"\\Seen"),
            "non-PEEK fetch sets \\Seen: {out}"
        );
        assert!(
            l("STORE").contains(r"\\Flagged") && l("STORE").contains("$Work"),
            "{out}"
        );
        assert!(
            l("COPY-NONE").contains("'NO'") && l("COPY-NONE").contains("TRYCREATE"),
            "{out}"
        );
        assert!(
            l("COPY").contains("'OK'") && l("COPY").contains("COPYUID"),
            "{out}"
        );
        assert!(l("LIST").contains("Archive"), "{out}");
        assert!(
            l("STATUS").contains("MESSAGES 2") && l("STATUS").contains("UNSEEN 1"),
            "{out}"
        );
        assert!(
            l("LIST2").contains("Old") && !l("LIST2").contains("Archive"),
            "{out}"
        );
        assert!(l("APPEND").contains("APPENDUID"), "{out}");
        assert!(l("NOOP").contains("'OK'"), "{out}");
        assert!(l("EXPUNGE").contains("[b'1']"), "{out}");
        assert!(l("SEARCH").contains("b'2 3'"), "{out}");
        assert!(
            l("DELETE").contains("'OK'") && !l("LIST3").contains("Old"),
            "{out}"
        );
        assert_eq!(l("LOGOUT"), "LOGOUT BYE");
        // The Maildir holds what the session left: messages 2 and the appended one.
        let mail = hub.store.open("dave").await.unwrap();
        let snap = mail.select("INBOX").await.unwrap();
        assert_eq!(
            snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![2, 3]
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logindisabled_without_tls_then_authenticate_plain() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(
            Tls::Starttls,
            Plaintext::Never,
            &[message("a", "b")],
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
print("CAPS", M.capabilities)
try:
    M.login("dave", "secret"); print("LOGIN ok?!")
except imaplib.IMAP4.error as e:
    print("LOGIN refused", e)
M.starttls(ssl_context=ctx())
print("CAPS2", M.capabilities)
typ, data = M.authenticate("PLAIN", lambda _: b"\0dave\0secret")
print("AUTH", typ)
print("SELECT", M.select("INBOX"))
M.logout()
"#),
        )
        .await;
        let l = |p: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("{p} ")))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            l("CAPS").contains("LOGINDISABLED") && l("CAPS").contains("STARTTLS"),
            "{out}"
        );
        assert!(!l("CAPS").contains("AUTH=PLAIN"), "{out}");
        assert!(l("LOGIN").starts_with("LOGIN refused"), "{out}");
        assert!(
            !l("CAPS2").contains("LOGINDISABLED") && l("CAPS2").contains("AUTH=PLAIN"),
            "{out}"
        );
        assert_eq!(l("AUTH"), "AUTH OK");
        assert!(l("SELECT").contains("'OK'"), "{out}");

        // Wrong password over AUTHENTICATE is a NO, the session goes on.
        let out = python(
            &hub,
            &run(r#"
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
M.starttls(ssl_context=ctx())
try:
    M.authenticate("PLAIN", lambda _: b"\0dave\0wrong"); print("AUTH ok?!")
except imaplib.IMAP4.error as e:
    print("AUTH refused", e)
print("LOGIN", M.login("dave", "secret")[0])
M.logout()
"#),
        )
        .await;
        assert!(
            out.contains("AUTH refused") && out.contains("AUTHENTICATIONFAILED"),
            "{out}"
        );
        assert!(out.contains("LOGIN OK"), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_login_and_fetch() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(
            Tls::Implicit,
            Plaintext::Never,
            &[message("tls", "over tls")],
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
M = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx(), timeout=20)
print("CAPS", M.capabilities)
M.login("dave", "secret")
M.select("INBOX", readonly=True)
print("BODY", M.fetch("1", "(BODY[TEXT])")[1][0][1])
print("FLAGS", M.fetch("1", "(FLAGS)")[1])
M.logout()
"#),
        )
        .await;
        assert!(
            !out.contains("LOGINDISABLED") && !out.contains("STARTTLS"),
            "{out}"
        );
        assert!(out.contains(r"BODY b'over tls\r\n'"), "{out}");
        // EXAMINE: the fetch of BODY[TEXT] did not set \Seen.
        assert!(out.contains("FLAGS [b'1 (FLAGS ())']"), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_see_each_others_changes() {
    tokio::time::timeout(LIMIT, async {
        let msgs = [message("one", "1"), message("two", "2")];
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &msgs,
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
A = imaplib.IMAP4("127.0.0.1", port, timeout=20); A.login("dave", "secret"); A.select("INBOX")
B = imaplib.IMAP4("127.0.0.1", port, timeout=20); B.login("dave", "secret"); B.select("INBOX")
B.store("1", "+FLAGS", "(\\Flagged)")
B.append("INBOX", None, None, b"Subject: from B\r\n\r\nx\r\n")
A.noop()
print("A-FETCH", A.untagged_responses.get("FETCH"))
print("A-EXISTS", A.untagged_responses.get("EXISTS"))
A.store("2", "+FLAGS", "(\\Deleted)"); A.expunge()
B.noop()
print("B-EXPUNGE", B.untagged_responses.get("EXPUNGE"))
print("B-COUNT", B.fetch("1:*", "(UID)")[1])
A.logout(); B.logout()
"#),
        )
        .await;
        let l = |p: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("{p} ")))
                .unwrap_or_default()
                .to_owned()
        };
        // A selected first: message 1 is \Recent there.
        assert!(
            l("A-FETCH").contains(r"FLAGS (\\Flagged \\Recent)"),
            "{out}"
        );
        assert!(l("A-EXISTS").contains("b'3'"), "{out}");
        assert!(l("B-EXPUNGE").contains("b'2'"), "{out}");
        assert!(
            l("B-COUNT").contains("(UID 1)") && l("B-COUNT").contains("(UID 3)"),
            "{out}"
        );
        assert!(!l("B-COUNT").contains("(UID 2)"), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_append_goes_through_the_spool() {
    tokio::time::timeout(LIMIT, async {
        let spool = tempfile::tempdir().unwrap();
        let spool_path = spool.path().to_owned();
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[],
            |c| c.append_spool = Some(spool_path),
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
body = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a big appended message\r\n" % i for i in range(10000))
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
M.login("dave", "secret")
print("APPEND", M.append("INBOX", "(\\Seen)", None, body))
M.select("INBOX")
typ, data = M.fetch("1", "(FLAGS BODY.PEEK[])")
print("SAME", data[0][1] == body, len(body))
print("FLAGS", data[0][0])
M.logout()
"#),
        )
        .await;
        assert!(out.contains("APPENDUID"), "{out}");
        assert!(out.contains("SAME True"), "{out}");
        assert!(out.contains(r"\\Seen"), "{out}");
        let left: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
        assert!(left.is_empty(), "spool files left: {left:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_large_appends_use_the_spool() {
    tokio::time::timeout(LIMIT, async {
        // A spool directory that does not exist: a large APPEND cannot be spooled and is
        // refused as a temporary failure, a small one is held in memory and succeeds.
        let missing = std::env::temp_dir().join("mailhub-no-such-spool-dir/x");
        let hub = start(
            Tls::None,
            Plaintext::Loopback,
            &[],
            |c| c.append_spool = Some(missing),
            ConnectionLimits::default(),
        )
        .await;
        let out = python(
            &hub,
            &run(r#"
M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
M.login("dave", "secret")
print("SMALL", M.append("INBOX", None, None, b"Subject: s\r\n\r\nsmall\r\n"))
try:
    print("BIG", M.append("INBOX", None, None, b"Subject: b\r\n\r\n" + b"x" * 100000 + b"\r\n"))
except imaplib.IMAP4.error as e:
    print("BIG refused", e)
M.logout()
"#),
        )
        .await;
        assert!(out.contains("SMALL ('OK'"), "{out}");
        assert!(out.contains("UNAVAILABLE"), "{out}");
    })
    .await
    .expect("test timed out");
}
