//! The SMTP driver never logs passwords or AUTH payloads, at any level, while logins,
//! failures, deliveries, the session id and the client address are logged. Runs over an
//! in-memory pipe, so it needs no socket.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::policy::{Policy, PolicyOptions};
use mailhub_mta_core::route::{AliasTable, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, serve};
use mailhub_mta_core::session::smtp_sink::StoreSink;
use mailhub_mta_core::store::{INBOX, MailStore, MemoryStore};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

mod log_capture;

#[tokio::test]
async fn smtp_auth_secrets_are_never_logged() {
    let buf = log_capture::Logs::capture_trace();

    let runtime = default_runtime();
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse("dave:{PLAIN}right-SECRET-0\n").unwrap(),
        AuthPolicy {
            failure_delay: Duration::from_millis(1),
            ..AuthPolicy::default()
        },
        runtime.clone(),
    );
    let store = Arc::new(MemoryStore::new());
    let mut route = RouteOptions::default();
    route.local_domains.insert("example.test".into());
    let users: HashSet<String> = ["dave".to_owned()].into();
    let config = SmtpConfig::new(
        SmtpMode::Submission,
        "mx.example.test",
        Arc::new(auth),
        Arc::new(Policy::new(PolicyOptions {
            require_auth: true,
            ..PolicyOptions::default()
        })),
        Router::new(route, AliasTable::default(), Arc::new(users)),
        Arc::new(StoreSink::new(store.clone(), 1 << 20)),
        runtime,
    );
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let srv = tokio::spawn(async move {
        let peer = "127.0.0.1:4242".parse().unwrap();
        serve(server.compat(), peer, &config).await
    });
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let script = format!(
        "EHLO c.test\r\nAUTH PLAIN {}\r\nAUTH LOGIN\r\n{}\r\n{}\r\nAUTH PLAIN {}\r\n\
         MAIL FROM:<dave@example.test>\r\nRCPT TO:<dave@example.test>\r\nDATA\r\n\
         Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        b64(b"\0dave\0plain-SECRET-1"),
        b64(b"dave"),
        b64(b"login-SECRET-2"),
        b64(b"\0dave\0right-SECRET-0"),
    );
    client.write_all(script.as_bytes()).await.unwrap();
    let mut transcript = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        client.read_to_string(&mut transcript),
    )
    .await
    .expect("session ended")
    .unwrap();
    srv.await.unwrap().unwrap();
    let replies: Vec<&str> = transcript.lines().map(|l| &l[..3]).collect();
    assert!(replies.contains(&"535"), "{transcript}");
    assert!(replies.contains(&"235"), "{transcript}");
    assert_eq!(replies.last(), Some(&"221"), "{transcript}");
    let mail = store.open("dave").await.unwrap();
    assert_eq!(mail.select(INBOX).await.unwrap().messages.len(), 1);

    let logs = buf.text();
    for secret in ["SECRET", "right-", "plain-", "login-"] {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
    for payload in [
        b64(b"\0dave\0plain-SECRET-1"),
        b64(b"login-SECRET-2"),
        b64(b"\0dave\0right-SECRET-0"),
    ] {
        assert!(!logs.contains(&payload), "payload in logs:\n{logs}");
    }
    assert!(logs.contains("authentication failed"), "{logs}");
    assert!(logs.contains("login"), "{logs}");
    assert!(logs.contains("message accepted"), "{logs}");
    assert!(logs.contains("peer=127.0.0.1:4242"), "{logs}");
}
