//! Throughput of the POP3 driver (RETR of a 10 MB message through engine, driver and store,
//! over an in-memory duplex pipe) and of a Maildir select (UID sync and metadata of 2,000
//! messages).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_main};
use futures::executor::block_on;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, serve};
use mailhub_mta_core::store::{AppendRequest, MailStore, MaildirStore, MemoryStore};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

const SIZE: usize = 10 << 20;

fn message() -> Vec<u8> {
    let mut m = b"Subject: big\r\n\r\n".to_vec();
    let line = format!("{}\r\n", "z".repeat(70));
    while m.len() < SIZE {
        m.extend_from_slice(line.as_bytes());
    }
    m
}

fn pop3_retr(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = default_runtime();
    let store = MemoryStore::new();
    let msg = message();
    let len = msg.len();
    block_on(async {
        let u = store.open("dave").await.unwrap();
        let req = AppendRequest {
            data: msg.into(),
            ..Default::default()
        };
        u.append("INBOX", req).await.unwrap();
    });
    let users = PasswdFile::parse("dave:{PLAIN}secret\n").unwrap();
    let auth = Authenticator::new(
        Registry::default(),
        users,
        AuthPolicy::default(),
        runtime.clone(),
    );
    let config = Arc::new(Pop3Config::new(Arc::new(store), Arc::new(auth), runtime));
    let mut g = c.benchmark_group("pop3");
    g.throughput(Throughput::Bytes(len as u64));
    g.sample_size(10);
    g.bench_function("retr_10MB_memory_store", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (client, server) = tokio::io::duplex(256 * 1024);
                let cfg = config.clone();
                let srv = tokio::spawn(async move {
                    let peer = "127.0.0.1:1".parse().unwrap();
                    serve(server.compat(), peer, &cfg).await.unwrap();
                });
                let mut client = client;
                client
                    .write_all(b"USER dave\r\nPASS secret\r\nRETR 1\r\nQUIT\r\n")
                    .await
                    .unwrap();
                let mut got = Vec::with_capacity(len + 4096);
                client.read_to_end(&mut got).await.unwrap();
                assert!(got.len() > len);
                srv.await.unwrap();
            })
        })
    });
    g.finish();
}

fn maildir_select(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = mailhub_maildir::Options::default();
    opts.fsync = false;
    let store = MaildirStore::under(dir.path(), default_runtime()).with_options(opts);
    let n = 2_000;
    let u = block_on(async {
        let u = store.open("dave").await.unwrap();
        for i in 0..n {
            let req = AppendRequest {
                data: format!("Subject: {i}\r\n\r\nbody\r\n").into_bytes().into(),
                ..Default::default()
            };
            u.append("INBOX", req).await.unwrap();
        }
        u
    });
    let mut g = c.benchmark_group("maildir");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("select_2000", |b| {
        b.iter(|| {
            let snap = block_on(u.select("INBOX")).unwrap();
            assert_eq!(snap.messages.len() as u64, n);
        })
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::pop3_retr, super::maildir_select);
}
criterion_main!(group::benches);
