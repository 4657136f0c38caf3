//! Streaming bulk data through the framer. Server side: an APPEND's literal is announced
//! before its octets, the command so far says it is an APPEND (mailbox, flags, size), the
//! message streams as chunks and never enters the unit; a literal over the limit is refused
//! without being read. Client side: a large FETCH body streams and the rest of the response
//! still parses.

use mailhub_imap_proto::command::parse_streamed_append;
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::{Command, CommandBody, FrameError, LiteralMode, MailboxName};

#[test]
fn multiappend_streams_each_message_and_refuses_too_big() {
    let mut f = Framer::new(Side::Server, Limits::server().with_max_literal_size(1000));
    let msg1 = b"Subject: one\r\n\r\nfirst\r\n";
    let msg2 = b"Subject: two\r\n\r\nsecond\r\n";
    let mut input = format!("A1 APPEND Drafts (\\Draft) {{{}+}}\r\n", msg1.len()).into_bytes();
    input.extend_from_slice(msg1);
    input.extend_from_slice(format!(" UTF8 (~{{{}+}}\r\n", msg2.len()).as_bytes());
    input.extend_from_slice(msg2);
    input.extend_from_slice(b")\r\nA2 APPEND INBOX {5000}\r\nA3 NOOP\r\n");

    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current = Vec::new();
    let mut units = Vec::new();
    let mut refused = Vec::new();
    // Feed in 7-octet reads, as a slow client would.
    for chunk in input.chunks(7) {
        f.handle_input(chunk);
        while let Some(e) = f.poll_event() {
            match e {
                FrameEvent::LiteralAnnounced {
                    tag,
                    length,
                    mode,
                    needs_continuation,
                } => {
                    let head = parse_streamed_append(f.unit_so_far()).unwrap().unwrap();
                    let last = head.messages.last().unwrap();
                    assert_eq!((last.length, last.mode), (length, mode));
                    match f.stream_literal() {
                        Ok(()) => assert!(!needs_continuation),
                        Err(e) => {
                            // The caller answers `A2 NO [TOOBIG]`; the client never sends it.
                            assert!(needs_continuation && mode == LiteralMode::Sync);
                            assert_eq!(
                                e,
                                FrameError::LiteralTooLarge {
                                    length: 5000,
                                    limit: 1000
                                }
                            );
                            refused.push((tag.unwrap().to_string(), head.mailbox));
                        }
                    }
                }
                FrameEvent::LiteralChunk { data, last } => {
                    current.extend_from_slice(&data);
                    if last {
                        messages.push(std::mem::take(&mut current));
                    }
                }
                FrameEvent::Unit(u) => units.push(u),
                FrameEvent::Error { .. } => panic!("no framing error expected"),
            }
        }
    }
    assert_eq!(messages, vec![msg1.to_vec(), msg2.to_vec()]);
    assert_eq!(refused, vec![("A2".to_string(), MailboxName::Inbox)]);
    assert_eq!(
        units.len(),
        2,
        "the APPEND (without its messages) and the NOOP"
    );
    let done = parse_streamed_append(&units[0]).unwrap().unwrap();
    assert!(done.complete && done.messages.len() == 2 && done.messages[1].utf8);
    assert!(units[0].len() < 80, "message octets never entered the unit");
    assert!(matches!(
        Command::parse(&units[1]).unwrap().body,
        CommandBody::Noop
    ));
}

#[test]
fn client_streams_a_large_fetch_body_and_parses_the_rest() {
    use mailhub_imap_proto::Response;
    use mailhub_imap_proto::response::{Data, MessageData};

    let body = vec![b'x'; 200_000];
    let mut input = format!("* 3 FETCH (UID 9 BODY[] {{{}}}\r\n", body.len()).into_bytes();
    input.extend_from_slice(&body);
    input.extend_from_slice(b" BODY[HEADER] {4}\r\nab\r\n FLAGS (\\Seen))\r\n* 4 EXISTS\r\n");
    let mut f = Framer::new(Side::Client, Limits::client().with_max_unit_size(1024));
    let mut got = 0;
    let mut parsed = Vec::new();
    for chunk in input.chunks(4096) {
        f.handle_input(chunk);
        while let Some(e) = f.poll_event() {
            match e {
                // Stream the big one, keep the small one in the unit.
                FrameEvent::LiteralAnnounced { length, .. } if length > 100 => {
                    f.stream_literal().unwrap()
                }
                FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
                FrameEvent::LiteralChunk { data, .. } => got += data.len(),
                FrameEvent::Unit(u) => {
                    parsed.push(Response::parse_streamed(&u, f.last_unit_streamed()).unwrap());
                }
                FrameEvent::Error { error, .. } => panic!("{error}"),
            }
        }
    }
    assert_eq!(got, body.len());
    let Response::Data(Data::Fetch { items, .. }) = &parsed[0] else {
        panic!()
    };
    assert!(
        matches!(&items[1], MessageData::BodySection { data, .. } if data.as_bytes() == Some(&b""[..]))
    );
    assert!(
        matches!(&items[2], MessageData::BodySection { data, .. } if data.as_bytes() == Some(&b"ab\r\n"[..]))
    );
    assert!(matches!(items[3], MessageData::Flags(_)));
    assert!(matches!(parsed[1], Response::Data(Data::Exists(4))));
}
