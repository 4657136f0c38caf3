//! The selected-mailbox view: SELECT/EXAMINE responses (RFC 3501 §6.3.1, RFC 9051 §6.3.2),
//! sequence numbers and UIDs, `\Recent` for one session, and changes from other sessions
//! reported only when RFC 3501 §7.4.1 allows. Scenario tests over the in-memory store.

mod server_support;

use mailhub_imap_proto::server::{ServerEvent, ServerOptions, State};
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

fn world_with(n: usize) -> World {
    let mut w = World::new();
    for i in 0..n {
        let flags = if i < 2 { vec![Flag::Seen] } else { vec![] };
        w.deliver(
            "INBOX",
            format!("Subject: {i}\r\n\r\nbody\r\n").as_bytes(),
            flags,
        );
    }
    w
}

#[test]
fn rfc3501_select_response_with_recent_and_unseen() {
    let mut w = world_with(3);
    let c = w.connect(ServerOptions::default());
    let out = w.send(c, "A142 SELECT INBOX\r\n");
    assert_eq!(
        out,
        lines(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
             * 3 EXISTS
             * 3 RECENT
             * OK [UNSEEN 3] Message 3 is first unseen
             * OK [UIDVALIDITY 3857529045] UIDs valid
             * OK [UIDNEXT 4] Predicted next UID
             * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted
             * OK [HIGHESTMODSEQ 4] Highest
             A142 OK [READ-WRITE] SELECT completed"
        )
    );
    assert_eq!(w.clients[c].server.state(), State::Selected);
}

#[test]
fn imap4rev2_select_has_no_recent_and_a_list_line_and_examine_is_read_only() {
    let mut w = world_with(1);
    let c = w.connect(ServerOptions::default());
    w.send(c, "e ENABLE IMAP4rev2\r\n");
    let out = w.send(c, "A932 EXAMINE INBOX\r\n");
    assert_eq!(
        out,
        lines(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
             * 1 EXISTS
             * OK [UIDVALIDITY 3857529045] UIDs valid
             * OK [UIDNEXT 2] Predicted next UID
             * OK [PERMANENTFLAGS ()] Flags permitted
             * OK [HIGHESTMODSEQ 2] Highest
             * LIST () \"/\" INBOX
             A932 OK [READ-ONLY] EXAMINE completed"
        )
    );
}

#[test]
fn failed_select_leaves_the_authenticated_state_and_closes_the_old_mailbox() {
    let mut w = world_with(1);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    let out = w.send(c, "a2 SELECT nosuch\r\n");
    assert_eq!(
        out,
        lines(
            "* OK [CLOSED] Previous mailbox closed
             a2 NO [NONEXISTENT] No such mailbox"
        )
    );
    assert_eq!(w.clients[c].server.state(), State::Authenticated);
    assert_eq!(
        w.send(c, "a3 FETCH 1 FLAGS\r\n"),
        "a3 BAD No mailbox selected\r\n"
    );
    assert!(w.clients[c].events.contains(&ServerEvent::Unselected));
}

#[test]
fn recent_goes_to_one_session_only() {
    let mut w = world_with(0);
    let a = w.connect(ServerOptions::default());
    let b = w.connect(ServerOptions::default());
    w.send(a, "a1 SELECT INBOX\r\n");
    w.send(b, "b1 SELECT INBOX\r\n");
    w.deliver("INBOX", b"Subject: new\r\n\r\nx\r\n", vec![]);
    assert_eq!(
        w.send(a, "a2 NOOP\r\n"),
        lines("* 1 EXISTS\n* 1 RECENT\na2 OK NOOP completed")
    );
    assert_eq!(
        w.send(b, "b2 NOOP\r\n"),
        lines("* 1 EXISTS\nb2 OK NOOP completed")
    );
    assert_eq!(
        w.send(a, "a3 FETCH 1 FLAGS\r\n"),
        lines("* 1 FETCH (FLAGS (\\Recent))\na3 OK FETCH completed")
    );
    assert_eq!(
        w.send(b, "b3 FETCH 1 FLAGS\r\n"),
        lines("* 1 FETCH (FLAGS ())\nb3 OK FETCH completed")
    );
}

#[test]
fn flags_changed_by_another_session_arrive_on_noop() {
    let mut w = world_with(3);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    w.set_flags("INBOX", 2, vec![Flag::Seen, Flag::Flagged]);
    assert_eq!(
        w.send(c, "a2 NOOP\r\n"),
        lines("* 2 FETCH (FLAGS (\\Seen \\Flagged \\Recent))\na2 OK NOOP completed")
    );
    assert_eq!(
        w.send(c, "a3 NOOP\r\n"),
        "a3 OK NOOP completed\r\n",
        "reported once"
    );
}

#[test]
fn expunge_while_another_session_fetches_waits_for_a_command_that_allows_it() {
    let mut w = world_with(4);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    w.expunge("INBOX", &[2, 3]);
    // FETCH must not see an EXPUNGE: the numbers stay as the client knows them.
    assert_eq!(
        w.send(c, "a2 FETCH 2:4 (UID RFC822.SIZE)\r\n"),
        lines(
            "* 2 FETCH (UID 2 RFC822.SIZE 20)
             * 3 FETCH (UID 3 RFC822.SIZE 20)
             * 4 FETCH (UID 4 RFC822.SIZE 20)
             a2 OK FETCH completed"
        )
    );
    // A UID command may get them (RFC 3501 §7.4.1 note), after its own answer, in ascending
    // order with renumbering.
    assert_eq!(
        w.send(c, "a3 UID FETCH 4 FLAGS\r\n"),
        lines(
            "* 4 FETCH (FLAGS (\\Recent) UID 4)
             * 2 EXPUNGE
             * 2 EXPUNGE
             a3 OK FETCH completed"
        )
    );
    assert_eq!(
        w.send(c, "a4 FETCH 2 UID\r\n"),
        lines("* 2 FETCH (UID 4)\na4 OK FETCH completed")
    );
    assert_eq!(w.clients[c].server.selected_exists(), Some(2));
}

#[test]
fn new_mail_during_fetch_is_announced_but_star_keeps_its_meaning() {
    let mut w = world_with(2);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    w.deliver("INBOX", b"Subject: late\r\n\r\nx\r\n", vec![]);
    assert_eq!(
        w.send(c, "a2 FETCH * UID\r\n"),
        lines("* 2 FETCH (UID 2)\n* 3 EXISTS\n* 3 RECENT\na2 OK FETCH completed")
    );
    assert_eq!(
        w.send(c, "a3 FETCH * UID\r\n"),
        lines("* 3 FETCH (UID 3)\na3 OK FETCH completed")
    );
}

#[test]
fn idle_wakes_up_with_new_mail_expunges_and_flag_changes() {
    let mut w = world_with(2);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 EXAMINE INBOX\r\n");
    assert_eq!(w.send(c, "a2 IDLE\r\n"), "+ idling\r\n");
    w.deliver("INBOX", b"Subject: ping\r\n\r\nx\r\n", vec![]);
    assert_eq!(w.output(c), "* 3 EXISTS\r\n");
    w.expunge("INBOX", &[1]);
    assert_eq!(w.output(c), "* 1 EXPUNGE\r\n");
    w.set_flags("INBOX", 3, vec![Flag::Answered]);
    assert_eq!(w.output(c), "* 2 FETCH (FLAGS (\\Answered))\r\n");
    assert_eq!(w.send(c, "DONE\r\n"), "a2 OK IDLE terminated\r\n");
    w.deliver("INBOX", b"Subject: later\r\n\r\nx\r\n", vec![]);
    assert_eq!(
        w.output(c),
        "",
        "no update after IDLE ended until the next command"
    );
}

#[test]
fn sequence_numbers_beyond_exists_are_bad_and_unknown_uids_are_skipped() {
    let mut w = world_with(2);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    assert_eq!(
        w.send(c, "a2 FETCH 3 FLAGS\r\n"),
        "a2 BAD Invalid message sequence number\r\n"
    );
    assert_eq!(
        w.send(c, "a3 UID FETCH 5:* FLAGS\r\n"),
        lines("* 2 FETCH (FLAGS (\\Seen \\Recent) UID 2)\na3 OK FETCH completed"),
        "5:* always contains the last UID (RFC 3501 §6.4.8)"
    );
    assert_eq!(
        w.send(c, "a3b UID FETCH 5:7 FLAGS\r\n"),
        "a3b OK FETCH completed\r\n"
    );
    assert_eq!(
        w.send(c, "a4 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)\r\n"),
        lines(
            "* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \" 1-Jan-2024 10:00:00 +0100\" RFC822.SIZE 20)
             a4 OK FETCH completed"
        )
    );
}

#[test]
fn unselect_returns_to_authenticated_without_expunging() {
    let mut w = world_with(1);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    assert_eq!(w.send(c, "a2 UNSELECT\r\n"), "a2 OK UNSELECT completed\r\n");
    assert_eq!(w.clients[c].server.state(), State::Authenticated);
    assert_eq!(
        w.send(c, "a3 UNSELECT\r\n"),
        "a3 BAD No mailbox selected\r\n"
    );
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 1);
}

#[test]
fn changes_for_messages_expunged_meanwhile_are_dropped() {
    let mut w = world_with(3);
    let c = w.connect(ServerOptions::default());
    w.send(c, "a1 SELECT INBOX\r\n");
    w.set_flags("INBOX", 2, vec![Flag::Deleted]);
    w.expunge("INBOX", &[2]);
    let uid = w.deliver("INBOX", b"Subject: n\r\n\r\nx\r\n", vec![]);
    w.expunge("INBOX", &[uid]);
    assert_eq!(
        w.send(c, "a2 NOOP\r\n"),
        lines("* 2 EXPUNGE\na2 OK NOOP completed"),
        "no FETCH for an expunged message, no EXISTS for one that came and went"
    );
}

#[test]
fn answering_a_decision_with_the_wrong_method_keeps_it_pending() {
    use mailhub_imap_proto::server::{Greeting, SelectData, Server};
    use std::num::NonZeroU32;
    let mut o = ServerOptions::default();
    o.greeting = Greeting::PreAuth { user: "u".into() };
    let mut s = Server::new(o, std::time::Instant::now());
    let _ = s.poll_transmit();
    s.handle_input(b"a SELECT INBOX\r\n");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Select { .. })));
    assert!(s.accept_login("x").is_err());
    assert!(s.done().is_err());
    assert!(s.stored(&[]).is_err());
    let one = NonZeroU32::new(1).unwrap();
    s.select_mailbox(SelectData {
        uid_validity: one,
        uid_next: one,
        highest_modseq: None,
        flags: vec![],
        permanent_flags: vec![],
        read_only: false,
        messages: vec![],
    })
    .unwrap();
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert!(
        out.ends_with("a OK [READ-WRITE] SELECT completed\r\n"),
        "{out}"
    );
}
