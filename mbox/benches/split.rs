//! Splitting a large mbox into messages (bytes/s), warm page cache.
//!
//! The file is generated once in cargo's target tmp dir (not committed): `MBOX_BENCH_MB`
//! megabytes (default 512) of mboxrd messages of 1–64 KiB whose bodies have quoted `>From `
//! lines. `benches/python_split.py` times Python's `mailbox.mbox` on the same file for the
//! side-by-side ratio.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_mbox::write::{StoreHeaders, encode_message};
use mailhub_mbox::{Envelope, ReadOptions, Reader, Variant};

fn bench_file() -> PathBuf {
    let mb: u64 = std::env::var("MBOX_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{mb}M.mbox"));
    let want = mb << 20;
    if fs::metadata(&path).is_ok_and(|m| m.len() >= want) {
        return path;
    }
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&path).unwrap());
    let mut written = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut n = 0u64;
    while written < want {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let size = 1024 + (seed % (63 * 1024)) as usize;
        let mut m = format!("From: sender{n}@example.org\nTo: rcpt@example.net\nSubject: message {n}\nMessage-ID: <{n}@bench>\n\n").into_bytes();
        let mut line = 0;
        while m.len() < size {
            if line % 40 == 7 {
                m.extend_from_slice(b"From the desk of the sender, a line that needs quoting\n");
            }
            m.extend_from_slice(
                format!("body line {line} of message {n}: lorem ipsum dolor sit amet\n").as_bytes(),
            );
            line += 1;
        }
        let env =
            Envelope::new(&format!("sender{n}@example.org"), 1_700_000_000 + n as i64).unwrap();
        let stored = encode_message(&env, &m, Variant::Mboxrd, StoreHeaders::default());
        w.write_all(&stored).unwrap();
        written += stored.len() as u64;
        n += 1;
    }
    w.flush().unwrap();
    path
}

fn split(c: &mut Criterion) {
    let path = bench_file();
    let len = fs::metadata(&path).unwrap().len();
    let mut g = c.benchmark_group("mbox_split");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(len));
    for (name, opts) in [
        ("offsets", ReadOptions::new(Variant::Mboxrd)),
        (
            "offsets+headers",
            ReadOptions::new(Variant::Mboxrd).with_headers(),
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut r = Reader::new(File::open(&path).unwrap(), opts.clone()).unwrap();
                let mut count = 0u64;
                while let Some(info) = r.next_message().unwrap() {
                    count += black_box(info.data_len) & 1 | 1;
                }
                count
            })
        });
    }
    g.finish();
}

// The macro's generated function has no doc comment.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::split);
}

criterion_main!(group::benches);
