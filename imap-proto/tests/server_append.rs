//! APPEND and MULTIAPPEND with streamed messages and APPENDUID (RFC 3501 §6.3.11, RFC 3502,
//! RFC 4315 §3, RFC 7888): refused before the octets are read, streamed in chunks, committed
//! at the command's end, announced to the sessions that have the mailbox selected.

mod server_support;

use mailhub_imap_proto::server::{ServerEvent, ServerLimits, ServerOptions};
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

const MSG: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

#[test]
fn rfc3501_append_with_continuation_and_appenduid() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    w.send(c, "a0 CREATE saved\r\n");
    let v = w.mailboxes["saved"].uid_validity;
    assert_eq!(
        w.send(
            c,
            &format!("A003 APPEND saved (\\Seen) {{{}}}\r\n", MSG.len())
        ),
        "+ Ready for literal data\r\n"
    );
    // The message arrives in pieces; the caller sees it as chunks.
    let (head, tail) = MSG.split_at(40);
    assert_eq!(w.send(c, head), "");
    assert_eq!(
        w.send(c, &format!("{tail}\r\n")),
        format!("A003 OK [APPENDUID {v} 1] APPEND completed\r\n")
    );
    let stored = &w.mailboxes["saved"].messages[0];
    assert_eq!(stored.data, MSG.as_bytes());
    assert_eq!(stored.flags, vec![Flag::Seen]);
    let chunks = w.clients[c]
        .events
        .iter()
        .filter(|e| matches!(e, ServerEvent::AppendData { .. }))
        .count();
    assert!(chunks >= 2, "{chunks} chunks");
}

#[test]
fn multiappend_commits_all_messages_with_one_appenduid() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    let v = w.mailboxes["INBOX"].uid_validity;
    let input =
        "A1 APPEND INBOX (\\Seen) {3+}\r\none \" 7-Feb-1994 22:43:04 -0800\" {3+}\r\ntwo\r\n";
    assert_eq!(
        w.send(c, input),
        format!("A1 OK [APPENDUID {v} 1:2] APPEND completed\r\n")
    );
    let data: Vec<_> = w.mailboxes["INBOX"]
        .messages
        .iter()
        .map(|m| m.data.clone())
        .collect();
    assert_eq!(data, vec![b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn append_to_a_missing_mailbox_is_refused_before_the_message_is_sent() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    assert_eq!(
        w.send(c, "A1 APPEND nosuch {500000}\r\n"),
        "A1 NO [TRYCREATE] No such mailbox\r\n"
    );
    // The client never sends the octets; the next command is read as a command.
    assert_eq!(w.send(c, "A2 NOOP\r\n"), "A2 OK NOOP completed\r\n");
    // A non-synchronising literal arrives anyway and is skipped.
    let mut input = "A3 APPEND nosuch {2000+}\r\n".to_string();
    input.push_str(&"x".repeat(2000));
    input.push_str("\r\nA4 NOOP\r\n");
    assert_eq!(
        w.send(c, &input),
        lines("A3 NO [TRYCREATE] No such mailbox\nA4 OK NOOP completed")
    );
    assert!(w.mailboxes["INBOX"].messages.is_empty());
}

#[test]
fn append_larger_than_the_limits_is_refused_with_toobig() {
    let mut w = World::new();
    w.max_message = 100;
    let c = w.connect(ServerOptions::default());
    assert_eq!(
        w.send(c, "A1 APPEND INBOX {101}\r\n"),
        "A1 NO [TOOBIG] Too big\r\n"
    );
    let mut o = ServerOptions::default();
    let mut limits = ServerLimits::default();
    limits.framing = limits.framing.with_max_literal_size(10);
    o.limits = limits;
    let c = w.connect(o);
    assert_eq!(
        w.send(c, "A2 APPEND INBOX {50}\r\n"),
        "A2 NO [TOOBIG] Message too large\r\n"
    );
    assert!(w.clients[c].events.contains(&ServerEvent::AppendAborted));
}

#[test]
fn append_to_the_selected_mailbox_announces_exists_before_the_ok() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    let v = w.mailboxes["INBOX"].uid_validity;
    assert_eq!(
        w.send(c, "a2 APPEND INBOX {5+}\r\nhello\r\n"),
        lines(&format!(
            "* 1 EXISTS\n* 1 RECENT\na2 OK [APPENDUID {v} 1] APPEND completed"
        ))
    );
}

#[test]
fn garbage_after_the_message_aborts_the_append() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    assert_eq!(
        w.send(c, "a1 APPEND INBOX {5+}\r\nhello garbage\r\n"),
        "a1 BAD Syntax error after message\r\n"
    );
    assert!(w.mailboxes["INBOX"].messages.is_empty());
    assert!(w.clients[c].events.contains(&ServerEvent::AppendAborted));
    assert_eq!(
        w.send(c, "a2 APPEND INBOX (\\Bogus {5+}\r\nhello\r\n"),
        "a2 BAD Syntax error\r\n"
    );
}
