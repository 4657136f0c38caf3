//! Loopback IMAP FETCH of one 32 MB message: `BODY.PEEK[]` (streamed from the store in
//! chunks by the driver) against `BODY.PEEK[TEXT]` (read whole and rendered), on the memory
//! and Maildir stores; reported as bytes per second.
//!
//! Run: `cargo bench -p mailhub-mta-core --bench imap_fetch_stream`.

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

const SIZE: usize = 32 * 1024 * 1024;

fn message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    while m.len() < SIZE {
        m.extend_from_slice(b"body text body text body text body text body text\r\n");
    }
    m
}

/// Reads until the tagged line `tag` (the end of the response).
async fn until(c: &mut TcpStream, tag: &[u8]) -> usize {
    let mut total = 0;
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
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

fn fetch_body(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = default_runtime();
    let mut g = c.benchmark_group("imap_fetch_stream");
    g.throughput(Throughput::Bytes(SIZE as u64));
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
            let req = AppendRequest {
                data: message().into(),
                ..Default::default()
            };
            mail.append("INBOX", req).await.unwrap();
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
        for (what, cmd) in [
            ("streamed_body", &b"f FETCH 1 (BODY.PEEK[])\r\n"[..]),
            ("rendered_text", &b"f FETCH 1 (BODY.PEEK[TEXT])\r\n"[..]),
        ] {
            g.bench_function(format!("32mb_{what}_{name}"), |b| {
                b.iter(|| {
                    rt.block_on(async {
                        client.write_all(cmd).await.unwrap();
                        let n = until(&mut client, b"f OK").await;
                        assert!(n > SIZE - 100, "{n} octets");
                    })
                })
            });
        }
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::fetch_body);
}
criterion_main!(group::benches);
