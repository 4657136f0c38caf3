//! Passwords and SASL payloads never reach the logs, at any level, while logins, failures,
//! the session id and the client address do.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, serve};
use mailhub_mta_core::store::MemoryStore;
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

mod log_capture;

#[tokio::test]
async fn passwords_and_payloads_are_never_logged() {
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
    let config = Pop3Config::new(Arc::new(MemoryStore::new()), Arc::new(auth), runtime);
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let srv = tokio::spawn(async move {
        let peer = "127.0.0.1:4242".parse().unwrap();
        serve(server.compat(), peer, &config).await
    });
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let script = format!(
        "USER dave\r\nPASS wrong-SECRET-1\r\nAUTH PLAIN {}\r\nAUTH PLAIN\r\n{}\r\nQUIT\r\n",
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
    assert!(out.contains("+OK maildrop has 0 messages"), "{out}");

    let logs = buf.text();
    assert!(logs.contains("authentication failed"), "{logs}");
    assert!(logs.contains("login"), "{logs}");
    assert!(logs.contains("127.0.0.1:4242"), "{logs}");
    assert!(logs.contains("pop3{session="), "{logs}");
    assert!(
        !logs.contains("SECRET"),
        "a password reached the logs:\n{logs}"
    );
    for payload in [
        b64(b"\0dave\0plain-SECRET-2"),
        b64(b"\0dave\0right-SECRET-0"),
    ] {
        assert!(
            !logs.contains(&payload),
            "a SASL payload reached the logs:\n{logs}"
        );
    }
}
