//! Fuzz entry point for the IMAP client engine of `mailhub-imap-proto`, shared by the
//! cargo-fuzz target `imap_client`, by `imap-proto/tests/fuzz_corpus_client.rs` (which
//! replays the committed seeds in a normal `cargo test`) and by the client proptest.
//!
//! [`client_input`]: octet 0 picks how the rest is split into reads (1 to 64 octets, low six
//! bits) and whether bodies stream from 8 octets on (bit 6) and the session starts with a
//! pipelined batch of commands (bit 7: LOGIN with literals, SELECT, FETCH, APPEND streamed,
//! AUTHENTICATE, IDLE); the rest is what the server sent. The caller side answers every
//! decision the way a real one would. Invariants checked: no panic; streamed chunks add up to
//! the announced length; nothing comes after `Closed`; the output stays bounded by what was
//! queued; the engine never reports more events than the input can explain.

use std::time::{Duration, Instant};

use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_imap_proto::framing::Limits;
use mailhub_imap_proto::{Atom, CommandBody, MailboxName, Secret};

/// A server's byte stream as the client engine reads it.
pub fn client_input(data: &[u8]) {
    let Some((&ctl, bytes)) = data.split_first() else {
        return;
    };
    let split = usize::from(ctl & 0x3f) + 1;
    let limits = Limits::client()
        .with_max_line_length(1024)
        .with_max_unit_size(4096)
        .with_max_literal_size(1 << 20)
        .with_max_depth(16);
    let mut opts = ClientOptions::default()
        .with_limits(limits)
        .with_response_timeout(Duration::from_secs(5));
    if ctl & 0x40 != 0 {
        opts = opts.with_stream_threshold(8);
    }
    let start = Instant::now();
    let mut c = Client::new(opts, start);
    if ctl & 0x80 != 0 {
        let _ = c.login("fred\r", &Secret::new("p\nw".into()));
        let _ = c.select(MailboxName::Inbox);
        if let Ok(cmd) = mailhub_imap_proto::Command::parse(b"x FETCH 1:* (FLAGS BODY[])\r\n") {
            let _ = c.send(cmd.body);
        }
        let _ = c.append_streamed(MailboxName::Inbox, None, None, 5, false);
        let step = Box::new(|ch: &[u8]| (ch.len() < 64).then(|| ch.to_vec()));
        let _ = c.authenticate(Atom::new("PLAIN").unwrap(), None, step);
        let _ = c.idle();
        let _ = c.send(CommandBody::Logout);
    } else {
        let _ = c.noop();
    }
    let mut out_total = 0usize;
    let mut streaming: Option<u64> = None;
    let mut closed = false;
    let mut now = start;
    for chunk in bytes.chunks(split) {
        c.handle_input(chunk);
        let mut n = 0;
        while let Some(e) = c.poll_event() {
            n += 1;
            assert!(!closed, "event after Closed: {e:?}");
            assert!(n <= 2 * chunk.len() + 16, "more events than input explains");
            match e {
                ClientEvent::FetchBodyStart { length, .. } => {
                    assert!(streaming.is_none(), "body inside a body");
                    streaming = Some(length);
                }
                ClientEvent::FetchBodyChunk { data, last, .. } => {
                    let left = streaming.as_mut().expect("chunk without a body");
                    *left = left
                        .checked_sub(data.len() as u64)
                        .expect("chunk past the body");
                    if last {
                        assert_eq!(*left, 0, "body ended early");
                        streaming = None;
                    }
                }
                ClientEvent::AppendReady { .. } => {
                    let _ = c.append_data(b"hello");
                }
                ClientEvent::IdleStarted { .. } => {
                    let _ = c.idle_done();
                }
                ClientEvent::StartTls => {
                    let _ = c.tls_established();
                }
                ClientEvent::Closed(_) => closed = true,
                _ => {}
            }
        }
        if let Some(out) = c.poll_transmit() {
            out_total += out.len();
        }
        assert!(
            out_total < 64 * 1024,
            "output grows without the caller asking"
        );
        now += Duration::from_secs(1);
        c.handle_timeout(now);
    }
    if closed {
        assert!(
            c.is_closed(),
            "Closed reported but the session is not closed"
        );
        assert_eq!(c.poll_transmit(), None, "output after Closed was drained");
    }
}
