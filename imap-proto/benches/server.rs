#![allow(missing_docs)]

//! Server engine throughput: FETCH FLAGS / ENVELOPE / BODYSTRUCTURE / BODY[] (whole and
//! streamed) of 10,000 messages, SEARCH TEXT and THREAD=REFERENCES over 10,000 messages
//! (messages per second), the caller answering every
//! message request from memory.

use std::num::NonZeroU32;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailhub_imap_proto::server::{
    Greeting, MessageInfo, SelectData, Server, ServerEvent, ServerOptions,
};
use mailhub_imap_proto::types::{Date, DateTime, Flag, FlagPerm};

const N: u32 = 10_000;

fn message(i: u32) -> Vec<u8> {
    format!(
        "From: Sender {i} <sender{i}@example.com>\r\n\
To: rcpt@example.org, \"Other, Person\" <other@example.net>\r\n\
Subject: =?utf-8?q?Report_n=C2=B0{i}?= for the week\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <{i}@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b{i}\"\r\n\
\r\n\
--b{i}\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello, this is message {i}. The quarterly numbers look fine.\r\n\
--b{i}\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Hello, this is message {i}.</p>\r\n\
--b{i}--\r\n"
    )
    .into_bytes()
}

fn selected(messages: &[Vec<u8>]) -> Server {
    let mut o = ServerOptions::default();
    o.greeting = Greeting::PreAuth { user: "u".into() };
    let mut s = Server::new(o, Instant::now());
    s.handle_input(b"s SELECT INBOX\r\n");
    while let Some(e) = s.poll_event() {
        if let ServerEvent::Select { .. } = e {
            let date = DateTime::new(Date::new(2024, 1, 1).unwrap(), 10, 0, 0, 0).unwrap();
            let msgs = (1..=messages.len() as u32)
                .map(|u| MessageInfo {
                    uid: NonZeroU32::new(u).unwrap(),
                    flags: if u % 3 == 0 { vec![Flag::Seen] } else { vec![] },
                    size: messages[u as usize - 1].len() as u64,
                    internal_date: date,
                    modseq: u64::from(u),
                    recent: false,
                })
                .collect();
            s.select_mailbox(SelectData {
                uid_validity: NonZeroU32::new(1).unwrap(),
                uid_next: NonZeroU32::new(N + 1).unwrap(),
                highest_modseq: Some(u64::from(N)),
                flags: vec![Flag::Seen],
                permanent_flags: vec![FlagPerm::Wildcard],
                read_only: false,
                messages: msgs,
            })
            .unwrap();
        }
    }
    let _ = s.poll_transmit();
    s
}

/// `message(i)` in threads of five: each reply's References name the thread's first message
/// and the one before it.
fn threaded(i: u32) -> Vec<u8> {
    let mut m = message(i);
    let root = (i - 1) / 5 * 5 + 1;
    if i != root {
        let refs = format!(
            "References: <{root}@example.com> <{}@example.com>\r\n",
            i - 1
        );
        m.splice(0..0, refs.into_bytes());
    }
    m
}

/// As [`run`], streaming whole-message bodies in 4 KiB chunks when the engine allows it.
fn run_streamed(s: &mut Server, messages: &[Vec<u8>], command: &[u8]) -> usize {
    s.handle_input(command);
    let mut out = 0;
    while let Some(e) = s.poll_event() {
        if let ServerEvent::FetchMessage { uid, .. } = e {
            let m = &messages[uid.get() as usize - 1];
            assert!(s.fetch_streamable());
            s.fetch_stream_start(m.len() as u64).unwrap();
            for chunk in m.chunks(4096) {
                s.fetch_stream_data(chunk).unwrap();
                out += s.poll_transmit().map_or(0, |o| o.len());
            }
        }
        if let Some(o) = s.poll_transmit() {
            out += o.len();
        }
    }
    out + s.poll_transmit().map_or(0, |o| o.len())
}

/// Runs one command to completion, answering message requests; returns the output size.
fn run(s: &mut Server, messages: &[Vec<u8>], command: &[u8]) -> usize {
    s.handle_input(command);
    let mut out = 0;
    while let Some(e) = s.poll_event() {
        if let ServerEvent::FetchMessage { uid, .. } = e {
            s.fetch_message(&messages[uid.get() as usize - 1]).unwrap();
        }
        if let Some(o) = s.poll_transmit() {
            out += o.len();
        }
    }
    out + s.poll_transmit().map_or(0, |o| o.len())
}

fn bench(c: &mut Criterion) {
    let messages: Vec<Vec<u8>> = (1..=N).map(message).collect();
    let mut s = selected(&messages);
    let mut g = c.benchmark_group("imap_server");
    g.throughput(Throughput::Elements(u64::from(N)));
    g.sample_size(10);
    for (name, cmd) in [
        ("fetch_flags_10k", &b"f FETCH 1:* (UID FLAGS)\r\n"[..]),
        ("fetch_envelope_10k", &b"f FETCH 1:* ENVELOPE\r\n"[..]),
        (
            "fetch_bodystructure_10k",
            &b"f FETCH 1:* BODYSTRUCTURE\r\n"[..],
        ),
        ("search_text_10k", &b"f SEARCH TEXT quarterly\r\n"[..]),
    ] {
        assert!(run(&mut s, &messages, cmd) > 0);
        g.bench_function(name, |b| b.iter(|| run(&mut s, &messages, cmd)));
    }
    let body = &b"f FETCH 1:* BODY.PEEK[]\r\n"[..];
    g.bench_function("fetch_body_10k", |b| {
        b.iter(|| run(&mut s, &messages, body))
    });
    g.bench_function("fetch_body_streamed_10k", |b| {
        b.iter(|| run_streamed(&mut s, &messages, body))
    });
    let threads: Vec<Vec<u8>> = (1..=N).map(threaded).collect();
    let mut t = selected(&threads);
    let cmd = &b"t THREAD REFERENCES UTF-8 ALL\r\n"[..];
    assert!(run(&mut t, &threads, cmd) > 0);
    g.bench_function("thread_references_10k", |b| {
        b.iter(|| run(&mut t, &threads, cmd))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
