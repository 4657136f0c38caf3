//! Fuzz entry points for the IMAP codec of `mailhub-imap-proto`, shared by the cargo-fuzz
//! targets `imap_command`, `imap_response`, `imap_command_roundtrip` and
//! `imap_response_roundtrip`, and by `imap-proto/tests/fuzz_corpus.rs`, which replays the
//! committed seeds in a normal `cargo test`.
//!
//! - [`command`] / [`response`]: octet 0 picks how the rest is split into reads (1 to 64
//!   octets) and, in its top bit, whether literals are streamed instead of buffered; the rest
//!   is what a peer sent. Every unit the framer finds is parsed; whatever parses must
//!   serialize back to something that parses to the same value and frames as one unit.
//! - [`command_roundtrip`] / [`response_roundtrip`]: the whole input is one unit given to the
//!   parser directly, with the same round-trip check.

use mailhub_imap_proto::command::parse_streamed_append;
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side, StreamedLiteral};
use mailhub_imap_proto::{Command, CommandBody, MailboxName, Response};

fn limits() -> Limits {
    // Small limits so the fuzzer reaches the over-limit paths.
    Limits::server()
        .with_max_line_length(1024)
        .with_max_unit_size(4096)
        .with_max_literal_size(2048)
        .with_max_depth(16)
}

/// Frames `bytes` for `side`; returns the complete units with their streamed literals. Checks
/// the framer's own invariants: nothing it holds grows past its limits, chunks of a streamed
/// literal add up to its length.
fn frame(side: Side, data: &[u8]) -> Vec<(Vec<u8>, Vec<StreamedLiteral>)> {
    let Some((&ctl, bytes)) = data.split_first() else {
        return Vec::new();
    };
    let split = usize::from(ctl & 0x3f) + 1;
    let stream = ctl & 0x80 != 0;
    let limits = limits();
    let mut f = Framer::new(side, limits.clone());
    let mut units = Vec::new();
    let mut streaming: Option<u64> = None;
    for chunk in bytes.chunks(split) {
        f.handle_input(chunk);
        while let Some(e) = f.poll_event() {
            match e {
                FrameEvent::LiteralAnnounced { length, .. } => {
                    if length > 1024 {
                        f.reject_literal();
                    } else if stream {
                        if f.stream_literal().is_ok() {
                            streaming = Some(length);
                        }
                    } else {
                        let _ = f.accept_literal();
                    }
                }
                FrameEvent::LiteralChunk { data, last } => {
                    let left = streaming
                        .as_mut()
                        .expect("chunk without a streamed literal");
                    *left = left
                        .checked_sub(data.len() as u64)
                        .expect("chunk past the literal");
                    if last {
                        assert_eq!(*left, 0, "literal ended early");
                        streaming = None;
                    }
                }
                FrameEvent::Unit(u) => {
                    assert!(streaming.is_none(), "unit inside a literal");
                    assert!(u.len() <= limits.max_unit_size + limits.max_line_length);
                    units.push((u, f.last_unit_streamed().to_vec()));
                }
                FrameEvent::Error { .. } => {}
            }
            assert!(f.unit_so_far().len() <= limits.max_unit_size + limits.max_line_length);
        }
        assert!(f.buffered() <= split + limits.max_line_length + 2);
    }
    units
}

fn check_mailbox(m: &MailboxName) {
    if let Ok(name) = m.to_utf8()
        && let Ok(again) = MailboxName::from_utf8(&name)
    {
        assert_eq!(again.to_utf8().as_deref(), Ok(name.as_str()));
    }
}

/// Parses a command unit; whatever parses round-trips.
pub fn command_roundtrip(unit: &[u8]) {
    let Ok(c) = Command::parse_with_limits(unit, &limits()) else {
        return;
    };
    let bytes = c.to_bytes();
    let again = Command::parse(&bytes).expect("serialized command parses");
    assert_eq!(again, c);
    let mut f = Framer::new(Side::Server, Limits::client());
    f.handle_input(&bytes);
    let mut n = 0;
    while let Some(e) = f.poll_event() {
        match e {
            FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
            FrameEvent::Unit(u) => {
                assert_eq!(u, bytes);
                n += 1;
            }
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(n, 1);
    if let CommandBody::Select { mailbox, .. } | CommandBody::Create { mailbox, .. } = &c.body {
        check_mailbox(mailbox);
    }
}

/// Parses a response unit; whatever parses round-trips.
pub fn response_roundtrip(unit: &[u8]) {
    let Ok(r) = Response::parse_with_limits(unit, &limits()) else {
        return;
    };
    let bytes = r.to_bytes();
    let again = Response::parse(&bytes).expect("serialized response parses");
    assert_eq!(again, r);
}

/// A client's byte stream as a server reads it.
pub fn command(data: &[u8]) {
    for (u, streamed) in frame(Side::Server, data) {
        if streamed.is_empty() {
            command_roundtrip(&u);
        } else {
            let _ = parse_streamed_append(&u);
            if let Ok(c) = Command::parse_streamed(&u, &streamed) {
                assert_eq!(Command::parse(&c.to_bytes()).as_ref(), Ok(&c));
            }
        }
    }
}

/// A server's byte stream as a client reads it.
pub fn response(data: &[u8]) {
    for (u, streamed) in frame(Side::Client, data) {
        if streamed.is_empty() {
            response_roundtrip(&u);
        } else if let Ok(r) = Response::parse_streamed(&u, &streamed) {
            assert_eq!(Response::parse(&r.to_bytes()).as_ref(), Ok(&r));
        }
    }
}
