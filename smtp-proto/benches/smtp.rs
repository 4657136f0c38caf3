//! Throughput of command parsing and of DATA ingestion (dot-unstuffing, bare CR/LF policy),
//! with the published `smtp-proto` crate (Stalwart) on the same inputs as a reference.
//!
//! Like for like: `smtp_proto::Request::parse` returns `Request<Cow<str>>` borrowed from the
//! line, as `CommandRef` does; `Command` is the owned form (it allocates for every mailbox).
//! Work that differs: both parsers check paths and parameters, but only ours checks domains
//! label by label, xtext, ENVID/ORCPT/BY/MT-PRIORITY values and duplicate parameters. In DATA,
//! `DataReceiver` only unstuffs and finds `CRLF . CRLF`; `DataDecoder` also refuses bare CR and
//! bare LF (SMTP smuggling) and flags lines over 1000 octets, so it reads every octet.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_smtp_proto::server::{Event, Server, ServerOptions};
use mailhub_smtp_proto::{Command, CommandRef, DataDecoder, DataEncoder, LineEndings, Reply};

const COMMANDS: &[&str] = &[
    "EHLO mail.example.org\r\n",
    "MAIL FROM:<sender.name@example.org> SIZE=123456 BODY=8BITMIME\r\n",
    "RCPT TO:<first.recipient@example.net>\r\n",
    "RCPT TO:<second@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;second@example.net\r\n",
    "DATA\r\n",
    "BDAT 65536 LAST\r\n",
    "RSET\r\n",
    "QUIT\r\n",
];

/// About 10 MB of 76-column text with a dot-leading line every 50 lines, stuffed for DATA and
/// ended with CRLF.CRLF; and the content it must decode to.
fn message() -> (Vec<u8>, Vec<u8>) {
    let mut content = Vec::with_capacity(10_600_000);
    content
        .extend_from_slice(b"From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0usize;
    while content.len() < 10 * 1024 * 1024 {
        if i.is_multiple_of(50) {
            content.push(b'.');
        }
        for j in 0..76 {
            content.push(alphabet[(i * 7 + j) % 64]);
        }
        content.extend_from_slice(b"\r\n");
        i += 1;
    }
    let mut wire = Vec::with_capacity(content.len() + 300_000);
    let mut e = DataEncoder::new();
    e.encode(&content, &mut wire);
    e.finish(&mut wire);
    (wire, content)
}

const PIECE: usize = 64 * 1024;

fn commands(c: &mut Criterion) {
    let mut g = c.benchmark_group("command_parse");
    g.throughput(Throughput::Elements(COMMANDS.len() as u64));
    // `CommandRef` borrows from the line as `smtp_proto::Request<Cow<str>>` does: the like
    // for like comparison. `Command` is the owned form built from it.
    g.bench_function("mailhub borrowed", |b| {
        b.iter(|| {
            for line in COMMANDS {
                let l = line.as_bytes();
                black_box(CommandRef::parse(black_box(&l[..l.len() - 2])).unwrap());
            }
        })
    });
    g.bench_function("mailhub owned", |b| {
        b.iter(|| {
            for line in COMMANDS {
                let l = line.as_bytes();
                black_box(Command::parse(black_box(&l[..l.len() - 2])).unwrap());
            }
        })
    });
    g.bench_function("smtp-proto 0.2", |b| {
        b.iter(|| {
            for line in COMMANDS {
                black_box(
                    smtp_proto::Request::parse(&mut black_box(line.as_bytes()).iter()).unwrap(),
                );
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("command_parse_each");
    let labels = [
        "EHLO",
        "MAIL+params",
        "RCPT",
        "RCPT+DSN",
        "DATA",
        "BDAT",
        "RSET",
        "QUIT",
    ];
    for (line, name) in COMMANDS.iter().zip(labels) {
        let l = line.as_bytes();
        g.bench_function(format!("{name}/mailhub borrowed"), |b| {
            b.iter(|| black_box(CommandRef::parse(black_box(&l[..l.len() - 2])).unwrap()))
        });
        g.bench_function(format!("{name}/mailhub owned"), |b| {
            b.iter(|| black_box(Command::parse(black_box(&l[..l.len() - 2])).unwrap()))
        });
        g.bench_function(format!("{name}/smtp-proto 0.2"), |b| {
            b.iter(|| black_box(smtp_proto::Request::parse(&mut black_box(l).iter()).unwrap()))
        });
    }
    g.finish();

    let ehlo = b"250-mx.example.org Hello\r\n250-SIZE 26214400\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n";
    let mut g = c.benchmark_group("reply_parse_ehlo");
    g.throughput(Throughput::Bytes(ehlo.len() as u64));
    g.bench_function("mailhub", |b| {
        b.iter(|| black_box(Reply::parse(black_box(ehlo), 4096, 100).unwrap()))
    });
    g.bench_function("smtp-proto 0.2", |b| {
        b.iter(|| {
            let mut r = smtp_proto::response::parser::ResponseReceiver::default();
            black_box(r.parse(&mut black_box(&ehlo[..]).iter()).unwrap())
        })
    });
    g.finish();
}

fn data(c: &mut Criterion) {
    let (wire, content) = message();
    // Sanity: every contender decodes the same content.
    {
        let mut d = DataDecoder::new(true, LineEndings::Reject, 1000);
        let mut out = Vec::new();
        let r = d.decode(&wire, &mut out);
        assert!(r.done && out == content);
        let mut rx = smtp_proto::request::receiver::DataReceiver::new();
        let mut out2 = Vec::new();
        assert!(rx.ingest(&mut wire.iter(), &mut out2));
        assert_eq!(out2.len(), content.len());
    }
    let mut g = c.benchmark_group("data_ingest_10MB");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.sample_size(20);
    g.bench_function("mailhub DataDecoder", |b| {
        let mut out = Vec::with_capacity(PIECE);
        b.iter(|| {
            let mut d = DataDecoder::new(true, LineEndings::Reject, 1000);
            let mut held = 0;
            let mut pos = 0;
            while pos < wire.len() {
                let end = (pos + PIECE).min(wire.len());
                out.clear();
                let r = d.decode(&wire[pos - held..end], &mut out);
                black_box(&out);
                held = end - (pos - held) - r.consumed;
                pos = end;
                if r.done {
                    break;
                }
            }
        })
    });
    g.bench_function("mailhub Server (BodyChunk events)", |b| {
        b.iter(|| {
            let mut s = Server::new(ServerOptions::new("mx.example"), Instant::now());
            let _ = s.poll_event();
            s.accept().unwrap();
            s.handle_input(b"EHLO a.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            let mut total = 0;
            let mut feed = wire.chunks(PIECE);
            loop {
                match s.poll_event() {
                    Some(Event::BodyChunk(c)) => total += c.len(),
                    Some(Event::MessageEnd { .. }) => {
                        s.accept().unwrap();
                        break;
                    }
                    Some(_) => s.accept().unwrap(),
                    None => match feed.next() {
                        Some(p) => s.handle_input(p),
                        None => break,
                    },
                }
            }
            assert_eq!(total, content.len());
            black_box(s.poll_transmit())
        })
    });
    g.bench_function("smtp-proto 0.2 DataReceiver", |b| {
        let mut out = Vec::with_capacity(PIECE);
        b.iter(|| {
            let mut rx = smtp_proto::request::receiver::DataReceiver::new();
            for piece in wire.chunks(PIECE) {
                out.clear();
                if rx.ingest(&mut piece.iter(), &mut out) {
                    break;
                }
                black_box(&out);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("data_encode_10MB");
    g.throughput(Throughput::Bytes(content.len() as u64));
    g.sample_size(20);
    g.bench_function("mailhub DataEncoder", |b| {
        let mut out = Vec::with_capacity(PIECE + 4096);
        b.iter(|| {
            let mut e = DataEncoder::new();
            for piece in content.chunks(PIECE) {
                out.clear();
                e.encode(piece, &mut out);
                black_box(&out);
            }
            e.finish(&mut out);
        })
    });
    g.finish();
}

// The macro's generated function has no doc comment to carry.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::commands, super::data);
}
criterion_main!(group::benches);
