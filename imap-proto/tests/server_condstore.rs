//! CONDSTORE (RFC 7162 §3.1): SELECT (CONDSTORE), MODSEQ in FETCH and in flag updates once
//! enabled, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ with the highest mod-sequence.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

fn setup() -> (World, usize, usize) {
    let mut w = World::new();
    for i in 0..4 {
        w.deliver(
            "INBOX",
            format!("Subject: {i}\r\n\r\nx\r\n").as_bytes(),
            vec![],
        );
    }
    let a = w.connect(ServerOptions::default());
    let b = w.connect(ServerOptions::default());
    w.send(a, "e ENABLE IMAP4rev2\r\n");
    w.send(b, "e ENABLE IMAP4rev2\r\n");
    (w, a, b)
}

#[test]
fn select_condstore_turns_on_modseq_in_flag_updates() {
    let (mut w, a, b) = setup();
    let out = w.send(a, "a1 SELECT INBOX (CONDSTORE)\r\n");
    assert!(out.contains("* OK [HIGHESTMODSEQ 5] Highest\r\n"), "{out}");
    w.send(b, "b1 SELECT INBOX\r\n");
    assert_eq!(
        w.send(b, "b2 STORE 2 +FLAGS (\\Flagged)\r\n"),
        lines("* 2 FETCH (FLAGS (\\Flagged))\nb2 OK STORE completed"),
        "b did not enable CONDSTORE"
    );
    assert_eq!(
        w.send(a, "a2 NOOP\r\n"),
        lines("* 2 FETCH (FLAGS (\\Flagged) MODSEQ (6))\na2 OK NOOP completed")
    );
}

#[test]
fn changedsince_unchangedsince_and_search_modseq() {
    let (mut w, a, _) = setup();
    w.send(a, "a1 SELECT INBOX\r\n");
    w.send(a, "a2 STORE 3 +FLAGS (\\Seen)\r\n");
    assert_eq!(
        w.send(a, "a3 FETCH 1:* (FLAGS) (CHANGEDSINCE 5)\r\n"),
        lines("* 3 FETCH (FLAGS (\\Seen) MODSEQ (6))\na3 OK FETCH completed")
    );
    assert_eq!(
        w.send(
            a,
            "a4 UID STORE 1,3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted)\r\n"
        ),
        lines("* 1 FETCH (UID 1 MODSEQ (7))\na4 OK [MODIFIED 3] Conditional STORE failed")
    );
    assert_eq!(
        w.send(a, "a5 SEARCH MODSEQ 6\r\n"),
        lines("* SEARCH 1 3 (MODSEQ 7)\na5 OK SEARCH completed")
    );
    assert_eq!(w.mailboxes["INBOX"].messages[0].flags, vec![Flag::Deleted]);
}
