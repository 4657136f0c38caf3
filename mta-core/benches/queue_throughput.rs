//! Messages per second into the durable queue (fsync of file and directories before each
//! acknowledgement) from 20 concurrent senders, 5 KB messages; and queue → Maildir delivery
//! (with the Maildir's own fsync).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use mailhub_mta_core::deliver::{LocalDelivery, LocalOptions, Transport};
use mailhub_mta_core::queue::{NewMessage, NewRecipient, Queue, QueueOptions, SystemClock};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::store::MaildirStore;

const SENDERS: u64 = 20;

fn body() -> Vec<u8> {
    let mut b = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bench\r\n\r\n".to_vec();
    while b.len() < 5 * 1024 {
        b.extend_from_slice(
            b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
        );
    }
    b
}

fn message(user: &str) -> NewMessage {
    NewMessage {
        sender: "a@example.org".into(),
        recipients: vec![NewRecipient {
            address: format!("{user}@example.org"),
            destination: Destination::Local {
                user: user.into(),
                folder: None,
            },
            orcpt: None,
            notify: None,
        }],
        ..NewMessage::default()
    }
}

async fn fill(q: &Queue, n: u64, body: &[u8]) {
    let per = n.div_ceil(SENDERS);
    futures::future::join_all((0..SENDERS).map(|s| async move {
        for i in 0..per {
            let mut w = q.writer().await.unwrap();
            for chunk in body.chunks(1024) {
                w.write(chunk).await.unwrap();
            }
            w.commit(message(&format!("u{}", (s * per + i) % 50)))
                .await
                .unwrap();
        }
    }))
    .await;
}

fn bench(c: &mut Criterion) {
    let body = body();
    let mut g = c.benchmark_group("queue");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SENDERS * 10));
    g.bench_function("enqueue_fsync_20_senders_5k", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            let (q, _) = block_on(Queue::open(
                dir.path(),
                QueueOptions::default(),
                Arc::new(SystemClock),
                default_runtime(),
            ))
            .unwrap();
            let start = Instant::now();
            block_on(fill(&q, iters * SENDERS * 10, &body));
            start.elapsed()
        })
    });
    g.bench_function("deliver_to_maildir_fsync", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            let (q, _) = block_on(Queue::open(
                &dir.path().join("spool"),
                QueueOptions {
                    max_per_bucket: 20,
                    ..QueueOptions::default()
                },
                Arc::new(SystemClock),
                default_runtime(),
            ))
            .unwrap();
            block_on(fill(&q, iters * SENDERS * 10, &body));
            let store = Arc::new(MaildirStore::under(
                dir.path().join("mail"),
                default_runtime(),
            ));
            let local = LocalDelivery::new(store, default_runtime(), LocalOptions::default());
            let start = Instant::now();
            while !q.list().is_empty() {
                block_on(q.run_due(&local as &dyn Transport));
            }
            start.elapsed()
        })
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group! {
        name = benches;
        config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
        targets = bench
    }
}
criterion_main!(group::benches);
