//! Memory held by idle POP3 sessions: 2,000 sessions over in-memory duplex pipes, first
//! right after the greeting, then logged in with an open (empty) maildrop; prints the growth
//! of the resident set per session. Criterion measures time, not memory, so this bench has its
//! own harness. Linux only (reads `/proc/self/statm`).
//!
//! Run: `cargo bench -p mailhub-mta-core --bench idle_sessions`.

use std::sync::Arc;

use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, serve};
use mailhub_mta_core::store::MemoryStore;
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

const N: usize = 2_000;

fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn read_line(c: &mut DuplexStream) {
    let mut b = [0u8; 1];
    loop {
        if c.read(&mut b).await.unwrap() == 0 || b[0] == b'\n' {
            return;
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
    let users: String = (0..N).map(|i| format!("u{i}:{{PLAIN}}pw\n")).collect();
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse(&users).unwrap(),
        AuthPolicy::default(),
        runtime.clone(),
    );
    let config = Arc::new(Pop3Config::new(
        Arc::new(MemoryStore::new()),
        Arc::new(auth),
        runtime,
    ));
    rt.block_on(async {
        let before = rss();
        let mut clients = Vec::with_capacity(N);
        for _ in 0..N {
            let (mut client, server) = tokio::io::duplex(4096);
            let cfg = config.clone();
            tokio::spawn(async move {
                let peer = "127.0.0.1:1".parse().unwrap();
                let _ = serve(server.compat(), peer, &cfg).await;
            });
            read_line(&mut client).await;
            clients.push(client);
        }
        let greeted = rss();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(format!("USER u{i}\r\nPASS pw\r\n").as_bytes())
                .await
                .unwrap();
            read_line(c).await;
            read_line(c).await;
        }
        let logged_in = rss();
        println!(
            "idle POP3 sessions: {N}; after greeting {:.1} KiB each, logged in {:.1} KiB each \
             (resident set growth, includes the test pipes and tasks)",
            (greeted.saturating_sub(before)) as f64 / N as f64 / 1024.0,
            (logged_in.saturating_sub(before)) as f64 / N as f64 / 1024.0,
        );
        drop(clients);
    });
}
