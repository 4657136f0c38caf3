//! Streamed FETCH bodies: a 200 KB message goes out as `BODY[]` in 4 KB chunks, the engine
//! never holding more than one chunk, and the bytes equal those of the same FETCH answered
//! whole; `\Seen` is set as for a rendered FETCH; only whole-message FETCHes stream; a
//! stream cannot be overrun or refused half-way.

mod server_support;

use mailhub_imap_proto::server::{ServerEvent, ServerOptions, StoredFlags, UsageError};
use mailhub_imap_proto::types::Flag;
use server_support::{World, nz};

fn big_message() -> Vec<u8> {
    let mut m = b"Subject: big\r\nFrom: a@b.c\r\n\r\n".to_vec();
    while m.len() < 200_000 {
        m.extend_from_slice(
            b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n",
        );
    }
    m
}

/// Session `c` has INBOX selected; the FETCH's FetchMessage event is pending.
fn fetching(w: &mut World, c: usize, command: &str) {
    let server = &mut w.clients[c].server;
    server.handle_input(command.as_bytes());
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::FetchMessage { .. })
    ));
}

#[test]
fn a_streamed_body_equals_the_rendered_one_and_stays_in_chunks() {
    let mut w = World::new();
    let msg = big_message();
    w.deliver("INBOX", &msg, vec![Flag::Flagged]);
    let whole = w.connect(ServerOptions::default());
    let streamed = w.connect(ServerOptions::default());
    for c in [whole, streamed] {
        // IMAP4rev2: no \Recent, which only one of the two would see.
        w.send(c, "e ENABLE IMAP4rev2\r\n");
        w.send(c, "s SELECT INBOX\r\n");
    }
    fetching(&mut w, streamed, "f UID FETCH 1 (UID FLAGS BODY[])\r\n");
    let server = &mut w.clients[streamed].server;
    assert!(server.fetch_streamable());
    server.fetch_stream_start(msg.len() as u64).unwrap();
    let mut got = server.poll_transmit().unwrap();
    assert!(
        got.len() < 200,
        "only the head so far: {} octets",
        got.len()
    );
    for chunk in msg.chunks(4096) {
        server.fetch_stream_data(chunk).unwrap();
        let out = server.poll_transmit().unwrap();
        assert!(out.len() <= 4096 + 3, "{} octets at once", out.len());
        got.extend(out);
    }
    // The \Seen goes to the store at the end, as for a rendered FETCH.
    let Some(ServerEvent::Store { uids, flags, .. }) = server.poll_event() else {
        panic!("no STORE of \\Seen")
    };
    assert_eq!((uids, flags), (vec![nz(1)], vec![Flag::Seen]));
    let result = [StoredFlags {
        uid: nz(1),
        flags: vec![Flag::Flagged, Flag::Seen],
        modseq: 9,
    }];
    server.stored(&result).unwrap();
    got.extend(server.poll_transmit().unwrap());
    // The same FETCH answered whole by the other session (which was not told of the
    // \Seen, stored by hand above).
    let want = w.send(whole, "f UID FETCH 1 (UID FLAGS BODY[])\r\n");
    assert!(want.contains("\\Seen"), "the rendered FETCH set \\Seen");
    let got = String::from_utf8(got).unwrap();
    if got != want {
        let at = got
            .bytes()
            .zip(want.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let around = |s: &str| s[at.saturating_sub(60)..(at + 60).min(s.len())].to_string();
        panic!(
            "streamed and rendered differ at {at}:\n{:?}\n{:?}",
            around(&got),
            around(&want)
        );
    }
}

#[test]
fn peek_rfc822_and_empty_bodies_stream_and_other_items_do_not() {
    let mut w = World::new();
    w.deliver("INBOX", b"Subject: s\r\n\r\nshort\r\n", vec![]);
    let c = w.connect(ServerOptions::default());
    w.send(c, "s EXAMINE INBOX\r\n");
    // A section or a partial needs the message parsed: no streaming.
    for cmd in [
        "a FETCH 1 (BODY.PEEK[TEXT])\r\n",
        "b FETCH 1 (BODY.PEEK[]<0.3>)\r\n",
        "c FETCH 1 (ENVELOPE BODY.PEEK[])\r\n",
        "d FETCH 1 (BODY.PEEK[] RFC822)\r\n",
    ] {
        fetching(&mut w, c, cmd);
        let server = &mut w.clients[c].server;
        assert!(!server.fetch_streamable(), "{cmd}");
        assert!(server.fetch_stream_start(3).is_err());
        server.fetch_missing().unwrap();
        let _ = server.poll_transmit();
    }
    fetching(&mut w, c, "e FETCH 1 (RFC822 RFC822.SIZE)\r\n");
    let server = &mut w.clients[c].server;
    server.fetch_stream_start(5).unwrap();
    assert_eq!(
        server.fetch_stream_data(b"123456"),
        Err(UsageError::Overrun { extra: 1 })
    );
    // Half a literal is out: refusing now would corrupt the stream.
    assert!(server.reject(None, "no").is_err());
    server.fetch_stream_data(b"12").unwrap();
    server.fetch_stream_data(b"345").unwrap();
    // Read-only: no \Seen, no STORE.
    assert_eq!(server.poll_event(), None);
    let out = String::from_utf8(server.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        "* 1 FETCH (RFC822.SIZE 21 RFC822 {5}\r\n12345)\r\ne OK FETCH completed\r\n"
    );
    fetching(&mut w, c, "f FETCH 1 (BODY.PEEK[])\r\n");
    let server = &mut w.clients[c].server;
    server.fetch_stream_start(0).unwrap();
    let out = String::from_utf8(server.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        "* 1 FETCH (BODY[] {0}\r\n)\r\nf OK FETCH completed\r\n"
    );
}
