//! Benches of the Maildir store.
//!
//! - `deliver/fsync`: deliveries per second of a 4 KiB message with every fsync on (file and
//!   directory), next to `disk/fsync`: the raw rate of "create a 4 KiB file, fsync it, fsync
//!   its directory" on the same disk in the same run, which bounds what a durable delivery can
//!   reach. `deliver/no-fsync` shows the cost of the rest.
//! - `list/100k-with-uids`: [`Maildir::sync_uids`] on a folder of 100,000 messages whose
//!   `dovecot-uidlist` is up to date (warm cache): lock, read the list, read `new/` and `cur/`,
//!   match by base name. `list/100k-readdir` is the directory listing alone.
//!   `list/100k-with-uids-cached` is [`UidView::refresh`] on the same idle folder: three
//!   `stat()`s and the cached snapshot.

use std::fs::{self, File};
use std::io::Write;
use std::time::SystemTime;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use mailhub_maildir::{Flags, Maildir, Options, UidView};

const MSG_4K: usize = 4096;

fn message() -> Vec<u8> {
    let mut m = b"From: bench@example.org\nSubject: bench\n\n".to_vec();
    m.resize(MSG_4K, b'x');
    m
}

fn delivery(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let msg = message();
    let mut g = c.benchmark_group("deliver");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);

    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    g.bench_function(BenchmarkId::new("disk", "fsync"), |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let p = raw.join(i.to_string());
            let mut f = File::create(&p).unwrap();
            f.write_all(&msg).unwrap();
            f.sync_all().unwrap();
            File::open(&raw).unwrap().sync_all().unwrap();
        });
    });

    let md = Maildir::create(dir.path().join("fsync")).unwrap();
    g.bench_function(BenchmarkId::new("deliver", "fsync"), |b| {
        b.iter(|| md.deliver(&msg).unwrap());
    });

    let mut opts = Options::default();
    opts.fsync = false;
    let md = Maildir::create(dir.path().join("nofsync"))
        .unwrap()
        .with_options(opts);
    g.bench_function(BenchmarkId::new("deliver", "no-fsync"), |b| {
        b.iter(|| md.deliver(&msg).unwrap());
    });
    g.finish();
}

const LARGE: usize = 100_000;

fn listing(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut opts = Options::default();
    opts.fsync = false;
    let md = Maildir::create(dir.path().join("big"))
        .unwrap()
        .with_options(opts);
    let start = SystemTime::now();
    for i in 0..LARGE {
        let e = md
            .deliver(format!("Subject: {i}\n\nx\n").as_bytes())
            .unwrap();
        // Half of them read and flagged, as in a real mailbox.
        if i % 2 == 0 {
            md.set_flags(&e, Flags::SEEN).unwrap();
        }
    }
    let snap = md.sync_uids().unwrap();
    assert_eq!(snap.messages.len(), LARGE);
    eprintln!("setup: {LARGE} messages in {:?}", start.elapsed().unwrap());

    let mut g = c.benchmark_group("list");
    g.throughput(Throughput::Elements(LARGE as u64));
    g.sample_size(10);
    g.bench_function("100k-with-uids", |b| {
        b.iter(|| {
            let s = md.sync_uids().unwrap();
            assert_eq!(s.messages.len(), LARGE);
        });
    });
    g.bench_function("100k-readdir", |b| {
        b.iter(|| assert_eq!(md.list_all().unwrap().len(), LARGE));
    });
    // An IMAP session's "anything new?" on an idle folder: UidView checks three stamps.
    // The directories are aged so that their mtimes are outside the untrusted recent window.
    for sub in ["new", "cur"] {
        let d = File::open(md.path().join(sub)).unwrap();
        d.set_modified(SystemTime::now() - std::time::Duration::from_secs(3600))
            .unwrap();
    }
    let mut view = UidView::new(md.clone());
    view.refresh().unwrap();
    g.bench_function("100k-with-uids-cached", |b| {
        b.iter(|| {
            let (s, synced) = view.refresh().unwrap();
            assert!(!synced);
            assert_eq!(s.messages.len(), LARGE);
        });
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::delivery, super::listing);
}

criterion_main!(group::benches);
