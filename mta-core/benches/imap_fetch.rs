//! Loopback IMAP FETCH throughput: one session over TCP fetches `BODY.PEEK[HEADER]` of 10,000
//! messages (about 1 KB each, on the Maildir store and on the in-memory store) in one
//! command; reported as messages per second.
//!
//! Run: `cargo bench -p mailhub-mta-core --bench imap_fetch`.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::imap::{ImapConfig, serve};
use mailhub_mta_core::store::{AppendRequest, MailStore, MaildirStore, MemoryStore};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

const MESSAGES: usize = 10_000;

fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: dave@example.org\r\n\
         Subject: message number {i}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
         Message-ID: <{i}@example.org>\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 1000 {
        m.extend_from_slice(b"body text body text body text body text body text\r\n");
    }
    m
}

/// Reads until the tagged line `tag` (the end of the response).
async fn until(c: &mut TcpStream, tag: &[u8]) -> usize {
    let mut total = 0;
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = c.read(&mut buf).await.unwrap();
        assert!(n > 0, "server closed");
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if let Some(p) = tail.windows(tag.len()).rposition(|w| w == tag)
            && tail[p..].ends_with(b"\r\n")
        {
            return total;
        }
        let keep = tail.len().saturating_sub(256);
        tail.drain(..keep);
    }
}

fn fetch_headers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = default_runtime();
    let mut g = c.benchmark_group("imap_fetch");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.sample_size(10);
    let stores: [(&str, Arc<dyn MailStore>); 2] = [
        ("memory", Arc::new(MemoryStore::new())),
        (
            "maildir",
            Arc::new(MaildirStore::under(
                dir.path().join("mail"),
                runtime.clone(),
            )),
        ),
    ];
    for (name, store) in stores {
        let auth = Authenticator::new(
            Registry::default(),
            PasswdFile::parse("dave:{PLAIN}secret\n").unwrap(),
            AuthPolicy::default(),
            runtime.clone(),
        );
        let config = Arc::new(ImapConfig::new(
            store.clone(),
            Arc::new(auth),
            runtime.clone(),
        ));
        let mut client = rt.block_on(async {
            let mail = store.open("dave").await.unwrap();
            for i in 0..MESSAGES {
                let req = AppendRequest {
                    data: message(i).into(),
                    ..Default::default()
                };
                mail.append("INBOX", req).await.unwrap();
            }
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                while let Ok((tcp, peer)) = listener.accept().await {
                    let config = config.clone();
                    tokio::spawn(async move { serve(tcp.compat(), peer, &config).await });
                }
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            until(&mut c, b"IMAP server ready").await;
            c.write_all(b"l LOGIN dave secret\r\ns SELECT INBOX\r\n")
                .await
                .unwrap();
            until(&mut c, b"s OK").await;
            c
        });
        g.bench_function(format!("10k_headers_{name}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    client
                        .write_all(b"f FETCH 1:* (BODY.PEEK[HEADER])\r\n")
                        .await
                        .unwrap();
                    let n = until(&mut client, b"f OK").await;
                    assert!(n > MESSAGES * 150, "{n} octets");
                })
            })
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::fetch_headers);
}
criterion_main!(group::benches);
