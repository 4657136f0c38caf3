//! Memory held by idle IMAP sessions: 10,000 sessions over in-memory duplex pipes, first
//! right after the greeting, then logged in with INBOX selected and in IDLE (each watching
//! the store for changes); prints the growth of the resident set per session. Criterion
//! measures time, not memory, so this bench has its own harness (as `idle_sessions` for
//! POP3). Linux only (reads `/proc/self/statm`).
//!
//! Run: `cargo bench -p mailhub-mta-core --bench imap_idle`.

use std::sync::Arc;

use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::imap::{ImapConfig, serve};
use mailhub_mta_core::store::{AppendRequest, MailStore, MemoryStore};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

const N: usize = 10_000;

fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Reads until a line starting with `prefix` has been read.
async fn until(c: &mut DuplexStream, prefix: &[u8]) {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        assert_eq!(c.read(&mut b).await.unwrap(), 1, "server closed");
        line.push(b[0]);
        if b[0] == b'\n' {
            if line.starts_with(prefix) {
                return;
            }
            line.clear();
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = default_runtime();
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse("dave:{PLAIN}pw\n").unwrap(),
        AuthPolicy::default(),
        runtime.clone(),
    );
    let store: Arc<dyn MailStore> = Arc::new(MemoryStore::new());
    let config = Arc::new(ImapConfig::new(store.clone(), Arc::new(auth), runtime));
    rt.block_on(async {
        let mail = store.open("dave").await.unwrap();
        for i in 0..10 {
            let data = format!("Subject: {i}\r\n\r\nbody\r\n").into_bytes();
            let req = AppendRequest {
                data: data.into(),
                ..Default::default()
            };
            mail.append("INBOX", req).await.unwrap();
        }
        let before = rss();
        let mut clients = Vec::with_capacity(N);
        for _ in 0..N {
            let (mut client, server) = tokio::io::duplex(4096);
            let cfg = config.clone();
            tokio::spawn(async move {
                let peer = "127.0.0.1:1".parse().unwrap();
                let _ = serve(server.compat(), peer, &cfg).await;
            });
            until(&mut client, b"* OK").await;
            clients.push(client);
        }
        let greeted = rss();
        for c in clients.iter_mut() {
            c.write_all(b"l LOGIN dave pw\r\ns SELECT INBOX\r\ni IDLE\r\n")
                .await
                .unwrap();
            until(c, b"+ ").await;
        }
        let idling = rss();
        println!(
            "idle IMAP sessions: {N}; after greeting {:.1} KiB each, logged in + INBOX \
             selected (10 messages) + IDLE {:.1} KiB each (resident set growth, includes the \
             test pipes and tasks)",
            (greeted.saturating_sub(before)) as f64 / N as f64 / 1024.0,
            (idling.saturating_sub(before)) as f64 / N as f64 / 1024.0,
        );
        drop(clients);
    });
}
