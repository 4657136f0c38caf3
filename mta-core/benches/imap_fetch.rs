//! Loopback IMAP FETCH throughput, one session over TCP, on the Maildir store and on the
//! in-memory store:
//! - `imap_fetch`: `BODY.PEEK[HEADER]` of 10,000 messages of about 1 KB in one command,
//!   reported as messages per second;
//! - `imap_fetch_stream`: one 32 MB message, `BODY.PEEK[]` (streamed from the store in chunks
//!   by the driver) against `BODY.PEEK[TEXT]` (read whole and rendered), as bytes per second.
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
use tokio::runtime::Runtime;
use tokio_util::compat::TokioAsyncReadCompatExt;

const MESSAGES: usize = 10_000;
const BIG: usize = 32 * 1024 * 1024;
const BODY_LINE: &[u8] = b"body text body text body text body text body text\r\n";

fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: dave@example.org\r\n\
         Subject: message number {i}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
         Message-ID: <{i}@example.org>\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 1000 {
        m.extend_from_slice(BODY_LINE);
    }
    m
}

fn big_message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    while m.len() < BIG {
        m.extend_from_slice(BODY_LINE);
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

fn tokio_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The memory store and a Maildir store under `dir`, by name.
fn stores(dir: &std::path::Path) -> [(&'static str, Arc<dyn MailStore>); 2] {
    [
        ("memory", Arc::new(MemoryStore::new())),
        (
            "maildir",
            Arc::new(MaildirStore::under(dir.join("mail"), default_runtime())),
        ),
    ]
}

/// Puts `messages` in dave's INBOX of `store`, serves it over loopback IMAP and returns a
/// client that has logged in and selected INBOX.
fn selected_client(
    rt: &Runtime,
    store: Arc<dyn MailStore>,
    messages: impl Iterator<Item = Vec<u8>>,
) -> TcpStream {
    let runtime = default_runtime();
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse("dave:{PLAIN}secret\n").unwrap(),
        AuthPolicy::default(),
        runtime.clone(),
    );
    let config = Arc::new(ImapConfig::new(store.clone(), Arc::new(auth), runtime));
    rt.block_on(async {
        let mail = store.open("dave").await.unwrap();
        for data in messages {
            let req = AppendRequest {
                data: data.into(),
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
    })
}

/// Times `command` until its tagged `f OK`, checking the answer is at least `min` octets.
fn bench_command(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    client: &mut TcpStream,
    name: String,
    command: &[u8],
    min: usize,
) {
    g.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                client.write_all(command).await.unwrap();
                let n = until(client, b"f OK").await;
                assert!(n > min, "{n} octets");
            })
        })
    });
}

fn fetch_headers(c: &mut Criterion) {
    let rt = tokio_runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("imap_fetch");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.sample_size(10);
    for (name, store) in stores(dir.path()) {
        let mut client = selected_client(&rt, store, (0..MESSAGES).map(message));
        let cmd = b"f FETCH 1:* (BODY.PEEK[HEADER])\r\n";
        let name = format!("10k_headers_{name}");
        bench_command(&mut g, &rt, &mut client, name, cmd, MESSAGES * 150);
    }
    g.finish();
}

fn fetch_big_body(c: &mut Criterion) {
    let rt = tokio_runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("imap_fetch_stream");
    g.throughput(Throughput::Bytes(BIG as u64));
    g.sample_size(10);
    for (name, store) in stores(dir.path()) {
        let mut client = selected_client(&rt, store, std::iter::once(big_message()));
        for (what, cmd) in [
            ("streamed_body", &b"f FETCH 1 (BODY.PEEK[])\r\n"[..]),
            ("rendered_text", &b"f FETCH 1 (BODY.PEEK[TEXT])\r\n"[..]),
        ] {
            let name = format!("32mb_{what}_{name}");
            bench_command(&mut g, &rt, &mut client, name, cmd, BIG - 100);
        }
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::fetch_headers, super::fetch_big_body);
}
criterion_main!(group::benches);
