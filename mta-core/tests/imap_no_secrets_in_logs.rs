//! IMAP: passwords and SASL payloads never reach the logs, at any level (LOGIN with a quoted
//! string and with a literal, AUTHENTICATE PLAIN with SASL-IR and after a challenge), while
//! logins, failures, the session id and the client address do.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::imap::{ImapConfig, serve};
use mailhub_mta_core::store::MemoryStore;
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

mod log_capture;

#[tokio::test]
async fn imap_passwords_and_payloads_are_never_logged() {
    let buf = log_capture::Logs::capture_trace();

    let runtime = default_runtime();
    let policy = AuthPolicy {
        failure_delay: Duration::from_millis(1),
        ..AuthPolicy::default()
    };
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse("dave:{PLAIN}right-SECRET-0\n").unwrap(),
        policy,
        runtime.clone(),
    );
    let config = ImapConfig::new(Arc::new(MemoryStore::new()), Arc::new(auth), runtime);
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let srv = tokio::spawn(async move {
        let peer = "127.0.0.1:4242".parse().unwrap();
        serve(server.compat(), peer, &config).await
    });
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let script = format!(
        "a LOGIN dave wrong-SECRET-1\r\nb LOGIN dave {{14}}\r\nlit-SECRET-3xx\r\n\
         c AUTHENTICATE PLAIN {}\r\nd AUTHENTICATE PLAIN\r\n{}\r\ne SELECT INBOX\r\n\
         f LOGOUT\r\n",
        b64(b"\0dave\0plain-SECRET-2"),
        b64(b"\0dave\0right-SECRET-0"),
    );
    client.write_all(script.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), client.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    srv.await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("d OK"), "{out}");
    assert!(out.contains("e OK"), "{out}");
    assert!(out.contains("b NO") && out.contains("c NO"), "{out}");

    let logs = buf.text();
    assert!(logs.contains("authentication failed"), "{logs}");
    assert!(logs.contains("logged in"), "{logs}");
    assert!(logs.contains("127.0.0.1:4242"), "{logs}");
    assert!(logs.contains("imap{session="), "{logs}");
    assert!(
        !logs.contains("SECRET"),
        "a password reached the logs:\n{logs}"
    );
    for payload in [
        b64(b"\0dave\0plain-SECRET-2"),
        b64(b"\0dave\0right-SECRET-0"),
    ] {
        assert!(!logs.contains(&payload), "a SASL payload reached the logs");
    }
}
