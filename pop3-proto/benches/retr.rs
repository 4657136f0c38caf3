//! RETR of a 10 MB message through the server engine (dot-stuffing, LF → CRLF) and the client
//! engine (framing, dot-unstuffing), in bytes of message per second; and each side alone.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_pop3_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_pop3_proto::server::{Maildrop, MessageInfo, Server, ServerEvent, ServerOptions};
use mailhub_pop3_proto::{DotStuffer, DotUnstuffer, Secret, UniqueId};

const SIZE: usize = 10 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// A text message of `SIZE` octets: 76-character lines, one in 50 starting with a dot.
fn message() -> Vec<u8> {
    let mut m = b"Subject: bench\r\nFrom: a@example.org\r\n\r\n".to_vec();
    let mut i = 0;
    while m.len() < SIZE {
        if i % 50 == 0 {
            m.push(b'.');
        }
        m.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, 74));
        m.extend_from_slice(b"\r\n");
        i += 1;
    }
    // End on a whole line, so the client receives exactly SIZE octets.
    m.truncate(SIZE - 2);
    if m.ends_with(b"\r") {
        *m.last_mut().unwrap() = b'x';
    }
    m.extend_from_slice(b"\r\n");
    m
}

/// A client and a server in the TRANSACTION state.
fn session(size: u64) -> (Client, Server) {
    let now = Instant::now();
    let mut server = Server::new(
        ServerOptions {
            loopback: true,
            ..ServerOptions::default()
        },
        now,
    );
    let mut client = Client::new(ClientOptions::default(), now);
    client.login("u", Secret::from("p")).unwrap();
    for _ in 0..10 {
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::Login { user, .. } => server.accept_login(user).unwrap(),
                ServerEvent::LockMaildrop { .. } => server
                    .load_maildrop(Maildrop {
                        messages: vec![MessageInfo {
                            size,
                            uid: UniqueId::try_from("m1").unwrap(),
                        }],
                        ..Maildrop::default()
                    })
                    .unwrap(),
                other => panic!("{other:?}"),
            }
        }
        if let Some(b) = server.poll_transmit() {
            client.handle_input(&b);
        }
        while client.poll_event().is_some() {}
        if let Some(b) = client.poll_transmit() {
            server.handle_input(&b);
        }
    }
    assert!(client.is_authenticated());
    (client, server)
}

fn retr_once(client: &mut Client, server: &mut Server, message: &[u8]) -> usize {
    client.retr(1).unwrap();
    server.handle_input(&client.poll_transmit().unwrap());
    let Some(ServerEvent::Retrieve { .. }) = server.poll_event() else {
        panic!("no RETR")
    };
    let mut received = 0;
    let mut drain = |client: &mut Client, server: &mut Server| {
        if let Some(bytes) = server.poll_transmit() {
            client.handle_input(&bytes);
        }
        while let Some(ev) = client.poll_event() {
            if let ClientEvent::MessageChunk(c) = ev {
                received += c.len();
            }
        }
    };
    for chunk in message.chunks(CHUNK) {
        server.message_chunk(chunk).unwrap();
        drain(client, server);
    }
    server.message_end().unwrap();
    drain(client, server);
    received
}

fn bench(c: &mut Criterion) {
    let message = message();
    let mut group = c.benchmark_group("pop3_retr_10MB");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(10);

    let (mut client, mut server) = session(SIZE as u64);
    assert_eq!(retr_once(&mut client, &mut server, &message), SIZE);
    group.bench_function("server_and_client", |b| {
        b.iter(|| black_box(retr_once(&mut client, &mut server, &message)))
    });

    group.bench_function("dot_stuff_only", |b| {
        let mut out = Vec::with_capacity(SIZE + SIZE / 32);
        b.iter(|| {
            out.clear();
            let mut s = DotStuffer::new();
            for chunk in message.chunks(CHUNK) {
                s.push(chunk, &mut out);
            }
            s.finish(&mut out);
            black_box(out.len())
        })
    });

    let mut wire = Vec::new();
    let mut s = DotStuffer::new();
    s.push(&message, &mut wire);
    s.finish(&mut wire);
    group.bench_function("dot_unstuff_only", |b| {
        let mut out = Vec::with_capacity(SIZE);
        b.iter(|| {
            out.clear();
            let mut u = DotUnstuffer::new();
            let mut done = false;
            // A chunk may end inside a possible terminator; those bytes are offered again.
            let mut carry: Vec<u8> = Vec::new();
            for chunk in wire.chunks(CHUNK) {
                let input = if carry.is_empty() {
                    chunk
                } else {
                    carry.extend_from_slice(chunk);
                    &carry[..]
                };
                let r = u.push(input, &mut out);
                done |= r.done;
                carry = input[r.consumed..].to_vec();
            }
            assert!(done);
            black_box(out.len())
        })
    });
    group.finish();
}

// The macro defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
