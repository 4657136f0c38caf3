//! FETCH of message contents through the engine (RFC 3501 §6.4.5, RFC 9051 §6.4.5): sections,
//! partial fetches, `\Seen` on non-PEEK fetches, BODYSTRUCTURE of a nested message, and a
//! message expunged by another session meanwhile.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

const MSG: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
\r\n\
Hello\r\n";

fn setup(n: usize) -> (World, usize) {
    let mut w = World::new();
    for _ in 0..n {
        w.deliver("INBOX", MSG.as_bytes(), vec![]);
    }
    let c = w.connect(ServerOptions::default());
    w.send(c, "e ENABLE IMAP4rev2\r\n");
    w.send(c, "s SELECT INBOX\r\n");
    (w, c)
}

#[test]
fn rfc3501_fetch_header_fields_of_several_messages() {
    let (mut w, c) = setup(4);
    let hdr = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\n\r\n";
    let mut expected = String::new();
    for n in 2..=4 {
        expected.push_str(&format!(
            "* {n} FETCH (FLAGS () BODY[HEADER.FIELDS (DATE FROM)] {{{}}}\r\n{hdr})\r\n",
            hdr.len()
        ));
    }
    expected.push_str("A654 OK FETCH completed\r\n");
    assert_eq!(
        w.send(
            c,
            "A654 FETCH 2:4 (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)])\r\n"
        ),
        expected
    );
}

#[test]
fn body_fetch_sets_seen_and_peek_does_not() {
    let (mut w, c) = setup(2);
    assert_eq!(
        w.send(c, "a1 FETCH 1 BODY.PEEK[TEXT]\r\n"),
        lines("* 1 FETCH (BODY[TEXT] {7}\r\nHello\r\n)\na1 OK FETCH completed")
    );
    assert!(w.mailboxes["INBOX"].messages[0].flags.is_empty());
    assert_eq!(
        w.send(c, "a2 FETCH 1 BODY[TEXT]<2.3>\r\n"),
        lines("* 1 FETCH (BODY[TEXT]<2> {3}\r\nllo FLAGS (\\Seen))\na2 OK FETCH completed")
    );
    assert_eq!(w.mailboxes["INBOX"].messages[0].flags, vec![Flag::Seen]);
    assert_eq!(
        w.send(c, "a3 FETCH 1 (FLAGS BODY[TEXT]<100.3>)\r\n"),
        lines("* 1 FETCH (FLAGS (\\Seen) BODY[TEXT]<100> \"\")\na3 OK FETCH completed")
    );
    let e = w.connect(ServerOptions::default());
    w.send(e, "x EXAMINE INBOX\r\n");
    w.send(e, "y FETCH 2 RFC822.TEXT\r\n");
    assert!(
        w.mailboxes["INBOX"].messages[1].flags.is_empty(),
        "EXAMINE sets no \\Seen"
    );
}

#[test]
fn bodystructure_envelope_and_rfc822_items_through_fetch() {
    let (mut w, c) = setup(1);
    let out = w.send(c, "a1 UID FETCH 1 (ENVELOPE BODYSTRUCTURE RFC822.SIZE)\r\n");
    assert_eq!(
        out,
        lines(&format!(
            "* 1 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" \
             ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
             ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL NIL NIL NIL) \
             BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1 NIL NIL NIL NIL) RFC822.SIZE {} UID 1)
             a1 OK FETCH completed",
            MSG.len()
        ))
    );
    let out = w.send(c, "a2 FETCH 1 (RFC822.HEADER BINARY.SIZE[1])\r\n");
    let head = format!("* 1 FETCH (RFC822.HEADER {{{}}}\r\nDate:", MSG.len() - 7);
    assert!(out.starts_with(&head), "{out}");
    assert!(out.contains("BINARY.SIZE[1] 7)"), "{out}");
}

#[test]
fn fetch_of_a_message_expunged_meanwhile_answers_no_after_the_others() {
    let (mut w, c) = setup(3);
    // Gone from the store without this session hearing of it yet.
    w.mailboxes
        .get_mut("INBOX")
        .unwrap()
        .messages
        .retain(|m| m.uid != 2);
    let out = w.send(c, "a1 FETCH 1:3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n");
    assert!(
        out.contains("* 1 FETCH") && out.contains("* 3 FETCH") && !out.contains("* 2 FETCH"),
        "{out}"
    );
    assert!(
        out.ends_with("a1 NO Some messages could not be fetched\r\n"),
        "{out}"
    );
}
