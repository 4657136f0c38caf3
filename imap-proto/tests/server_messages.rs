//! Commands that change messages: EXPUNGE, UID EXPUNGE, CLOSE, STORE (.SILENT,
//! UNCHANGEDSINCE), COPY and MOVE with COPYUID (RFC 3501 §6.4, RFC 9051 §6.4, RFC 4315,
//! RFC 6851, RFC 7162 §3.1.3), across two sessions on the in-memory store.

mod server_support;

use mailhub_imap_proto::server::{ServerOptions, State};
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

/// INBOX with `n` messages (UIDs 1..=n), the ones in `deleted` flagged `\Deleted`, and two
/// sessions: `a` selected it first (it owns `\Recent`), `b` second.
fn setup(n: u32, deleted: &[u32]) -> (World, usize, usize) {
    let mut w = World::new();
    for i in 1..=n {
        let flags = if deleted.contains(&i) {
            vec![Flag::Deleted]
        } else {
            vec![Flag::Seen]
        };
        w.deliver(
            "INBOX",
            format!("Subject: {i}\r\n\r\nx\r\n").as_bytes(),
            flags,
        );
    }
    let a = w.connect(ServerOptions::default());
    let b = w.connect(ServerOptions::default());
    w.send(a, "a0 ENABLE IMAP4rev2\r\n");
    w.send(b, "b0 ENABLE IMAP4rev2\r\n");
    w.send(a, "a0 SELECT INBOX\r\n");
    w.send(b, "b0 SELECT INBOX\r\n");
    (w, a, b)
}

#[test]
fn rfc3501_expunge_renumbers_as_it_goes() {
    // RFC 3501 §6.4.3: messages 3, 4, 7 and 11 had \Deleted set.
    let (mut w, a, b) = setup(11, &[3, 4, 7, 11]);
    assert_eq!(
        w.send(a, "A202 EXPUNGE\r\n"),
        lines(
            "* 3 EXPUNGE
             * 3 EXPUNGE
             * 5 EXPUNGE
             * 8 EXPUNGE
             A202 OK EXPUNGE completed"
        )
    );
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 7);
    // The other session learns it on its next NOOP, not during its FETCH.
    assert_eq!(
        w.send(b, "b1 FETCH 11 UID\r\n"),
        lines("* 11 FETCH (UID 11)\nb1 OK FETCH completed")
    );
    assert_eq!(
        w.send(b, "b2 NOOP\r\n"),
        lines("* 3 EXPUNGE\n* 3 EXPUNGE\n* 5 EXPUNGE\n* 8 EXPUNGE\nb2 OK NOOP completed")
    );
}

#[test]
fn uid_expunge_only_touches_the_set() {
    let (mut w, a, _) = setup(5, &[2, 4]);
    assert_eq!(
        w.send(a, "a1 UID EXPUNGE 3:5\r\n"),
        lines("* 4 EXPUNGE\na1 OK EXPUNGE completed")
    );
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 4);
}

#[test]
fn rfc3501_store_answers_with_flags_and_silent_does_not() {
    let (mut w, a, b) = setup(4, &[]);
    assert_eq!(
        w.send(a, "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
        lines(
            "* 2 FETCH (FLAGS (\\Seen \\Deleted))
             * 3 FETCH (FLAGS (\\Seen \\Deleted))
             * 4 FETCH (FLAGS (\\Seen \\Deleted))
             A003 OK STORE completed"
        )
    );
    assert_eq!(
        w.send(a, "A004 STORE 1 FLAGS.SILENT (\\Flagged)\r\n"),
        "A004 OK STORE completed\r\n"
    );
    assert_eq!(
        w.send(a, "A005 UID STORE 4 -FLAGS (\\Deleted \\Recent)\r\n"),
        lines("* 4 FETCH (FLAGS (\\Seen) UID 4)\nA005 OK STORE completed")
    );
    // Flags changed by session a arrive at session b on NOOP.
    assert_eq!(
        w.send(b, "b1 NOOP\r\n"),
        lines(
            "* 1 FETCH (FLAGS (\\Flagged))
             * 2 FETCH (FLAGS (\\Seen \\Deleted))
             * 3 FETCH (FLAGS (\\Seen \\Deleted))
             * 4 FETCH (FLAGS (\\Seen))
             b1 OK NOOP completed"
        )
    );
}

#[test]
fn store_unchangedsince_reports_modified_and_examine_refuses_changes() {
    let (mut w, a, b) = setup(3, &[]);
    // Message 2 changes after the client's modseq 4 (each delivery bumped it).
    w.send(b, "b1 STORE 2 +FLAGS (\\Answered)\r\n");
    let out = w.send(
        a,
        "a1 STORE 1:3 (UNCHANGEDSINCE 4) +FLAGS.SILENT (\\Flagged)\r\n",
    );
    assert!(
        out.ends_with("a1 OK [MODIFIED 2] Conditional STORE failed\r\n"),
        "{out}"
    );
    assert!(!out.contains("* 2 FETCH (MODSEQ"), "{out}");
    let c = w.connect(ServerOptions::default());
    w.send(c, "c1 EXAMINE INBOX\r\n");
    assert_eq!(
        w.send(c, "c2 STORE 1 +FLAGS (\\Seen)\r\n"),
        "c2 NO Mailbox is read-only\r\n"
    );
    assert_eq!(
        w.send(c, "c3 EXPUNGE\r\n"),
        "c3 NO Mailbox is read-only\r\n"
    );
}

#[test]
fn rfc4315_copy_answers_copyuid_and_trycreate() {
    let (mut w, a, _) = setup(4, &[]);
    assert_eq!(
        w.send(a, "A003 COPY 2:4 MEETING\r\n"),
        "A003 NO [TRYCREATE] No such mailbox\r\n"
    );
    w.send(a, "A004 CREATE MEETING\r\n");
    let v = w.mailboxes["MEETING"].uid_validity;
    assert_eq!(
        w.send(a, "A005 COPY 2:4 MEETING\r\n"),
        format!("A005 OK [COPYUID {v} 2:4 1:3] COPY completed\r\n")
    );
    assert_eq!(w.mailboxes["MEETING"].messages.len(), 3);
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 4);
}

#[test]
fn rfc6851_move_sends_copyuid_then_expunges() {
    let (mut w, a, b) = setup(5, &[]);
    w.send(a, "a1 CREATE foo\r\n");
    let v = w.mailboxes["foo"].uid_validity;
    assert_eq!(
        w.send(a, "a2 UID MOVE 2:3,5 foo\r\n"),
        lines(&format!(
            "* OK [COPYUID {v} 2:3,5 1:3] Moved
             * 2 EXPUNGE
             * 2 EXPUNGE
             * 3 EXPUNGE
             a2 OK MOVE completed"
        ))
    );
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 2);
    assert_eq!(
        w.send(b, "b1 NOOP\r\n"),
        lines("* 2 EXPUNGE\n* 2 EXPUNGE\n* 3 EXPUNGE\nb1 OK NOOP completed")
    );
}

#[test]
fn close_expunges_silently_and_leaves_the_selected_state() {
    let (mut w, a, b) = setup(3, &[1, 3]);
    assert_eq!(w.send(a, "a1 CLOSE\r\n"), "a1 OK CLOSE completed\r\n");
    assert_eq!(w.clients[a].server.state(), State::Authenticated);
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 1);
    assert_eq!(
        w.send(b, "b1 NOOP\r\n"),
        lines("* 1 EXPUNGE\n* 2 EXPUNGE\nb1 OK NOOP completed")
    );
    let c = w.connect(ServerOptions::default());
    w.send(c, "c1 EXAMINE INBOX\r\n");
    w.send(b, "b2 STORE 1 +FLAGS (\\Deleted)\r\n");
    assert_eq!(w.send(c, "c2 CLOSE\r\n"), "c2 OK CLOSE completed\r\n");
    assert_eq!(
        w.mailboxes["INBOX"].messages.len(),
        1,
        "EXAMINE never expunges"
    );
}
