//! Criterion benches of the client engine (framing, parsing and event delivery together):
//!
//! - `fetch_flags_10k`: 10,000 `* n FETCH (UID n FLAGS (…) RFC822.SIZE n)` responses and the
//!   tagged OK, fed 16 KiB at a time (messages/s);
//! - `fetch_envelope_1k`: 1,000 FETCH responses with ENVELOPE and BODYSTRUCTURE (messages/s);
//! - `body_stream_10m`: one 10 MiB `BODY[]` streamed as chunk events, fed 64 KiB at a time
//!   (bytes/s).

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions};

const ENVELOPE_ITEMS: &str = "ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 40000 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL NIL NIL)";

/// A session after the greeting with one FETCH outstanding (tag `A1`), and the server's
/// answer to it.
fn session(answer: impl Fn(u32) -> String, n: u32) -> (Vec<u8>, Vec<u8>) {
    let greeting = b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n".to_vec();
    let mut body = Vec::new();
    for i in 1..=n {
        body.extend(answer(i).into_bytes());
    }
    body.extend_from_slice(b"A1 OK FETCH completed\r\n");
    (greeting, body)
}

fn run(greeting: &[u8], body: &[u8], read: usize) -> usize {
    let mut c = Client::new(ClientOptions::default(), Instant::now());
    c.handle_input(greeting);
    while c.poll_event().is_some() {}
    let cmd = mailhub_imap_proto::Command::parse(b"x UID FETCH 1:* (FLAGS)\r\n").unwrap();
    c.send(cmd.body).unwrap();
    let _ = c.poll_transmit();
    let mut n = 0;
    for chunk in body.chunks(read) {
        c.handle_input(chunk);
        while let Some(e) = c.poll_event() {
            if !matches!(e, ClientEvent::FetchBodyChunk { .. }) {
                n += 1;
            }
        }
    }
    n
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("client");
    let (greet, body) = session(
        |i| {
            format!(
                "* {i} FETCH (UID {} FLAGS (\\Seen $Forwarded) RFC822.SIZE {})\r\n",
                i + 1000,
                i * 37
            )
        },
        10_000,
    );
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("fetch_flags_10k", |b| {
        b.iter(|| assert_eq!(run(&greet, &body, 16 * 1024), 10_001));
    });
    let (greet, body) = session(
        |i| format!("* {i} FETCH (UID {i} {ENVELOPE_ITEMS})\r\n"),
        1_000,
    );
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("fetch_envelope_1k", |b| {
        b.iter(|| assert_eq!(run(&greet, &body, 16 * 1024), 1_001));
    });
    let size = 10 * 1024 * 1024;
    let mut big = format!("* 1 FETCH (BODY[] {{{size}}}\r\n").into_bytes();
    big.extend(std::iter::repeat_n(b'x', size));
    big.extend_from_slice(b")\r\nA1 OK done\r\n");
    let greet = b"* PREAUTH ready\r\n".to_vec();
    g.throughput(Throughput::Bytes(size as u64));
    g.bench_function("body_stream_10m", |b| {
        b.iter(|| assert_eq!(run(&greet, &big, 64 * 1024), 3));
    });
    g.finish();
}

// criterion_group! defines an undocumented pub fn; keep the allow on that one item.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(client, super::benches);
}
criterion_main!(group::client);
