//! QRESYNC (RFC 7162 §3.2) against the server engine over the in-memory test store: the
//! examples of §3.2.5.1 (SELECT with known UIDs), §3.2.5.2 (sequence match data, with a
//! store that forgot its expunges), §3.2.6 (UID FETCH … VANISHED) and §3.2.10.2 (VANISHED
//! instead of EXPUNGE), replayed as C:/S: transcripts with the RFC's mailboxes rebuilt, plus
//! the BAD cases of §3.2.3, §3.2.5 and §3.2.6.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::{Atom, Flag};
use server_support::{Mailbox, Stored, World, date, lines};

fn qresync_options() -> ServerOptions {
    let mut o = ServerOptions::default();
    o.qresync = true;
    o
}

fn kw(s: &str) -> Flag {
    Flag::Keyword(Atom::new(s).unwrap())
}

fn stored(uid: u32, flags: Vec<Flag>, modseq: u64) -> Stored {
    Stored {
        uid,
        flags,
        data: format!("Subject: {uid}\r\n\r\nbody\r\n").into_bytes(),
        date: date(1),
        modseq,
        // Somebody else's \Recent: the transcripts stay free of it.
        recent_owner: Some(usize::MAX),
    }
}

/// Replaces INBOX with these messages and expunge records.
fn inbox(w: &mut World, validity: u32, uid_next: u32, modseq: u64, messages: Vec<Stored>) {
    let mut mb = Mailbox::new(validity);
    mb.uid_next = uid_next;
    mb.modseq = modseq;
    mb.messages = messages;
    w.mailboxes.insert("INBOX".into(), mb);
}

/// A session with QRESYNC enabled.
fn session(w: &mut World) -> usize {
    let c = w.connect(qresync_options());
    assert_eq!(
        w.send(c, "e1 ENABLE QRESYNC\r\n"),
        lines("* ENABLED QRESYNC\ne1 OK ENABLE completed")
    );
    assert!(w.clients[c].server.is_enabled("CONDSTORE"), "implied");
    c
}

/// The SELECT responses before the QRESYNC part (IMAP4rev1 session, no \Recent).
fn select_head(exists: u32, unseen: u32, validity: u32, next: u32, highest: u64) -> String {
    format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n\
         * {exists} EXISTS\n\
         * 0 RECENT\n\
         * OK [UNSEEN {unseen}] Message {unseen} is first unseen\n\
         * OK [UIDVALIDITY {validity}] UIDs valid\n\
         * OK [UIDNEXT {next}] Predicted next UID\n\
         * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted\n\
         * OK [HIGHESTMODSEQ {highest}] Highest\n"
    )
}

/// RFC 7162 §3.2.5.1: A03 SELECT INBOX (QRESYNC (67890007 90060115194045000
/// 41:211,214:541)). UIDs 1–40 and 542–597 are there besides 42, 117, 119 and 541.
#[test]
fn rfc7162_3_2_5_1_select_reports_vanished_earlier_and_changed_flags() {
    let mut w = World::new();
    let old = 90060115194045000;
    let seen = vec![Flag::Seen];
    let mut msgs: Vec<Stored> = (1..=40).map(|u| stored(u, seen.clone(), 5)).collect();
    msgs.push(stored(42, seen.clone(), old - 1));
    msgs.push(stored(117, vec![Flag::Seen, Flag::Answered], old + 1));
    msgs.push(stored(119, vec![Flag::Draft, kw("$MDNSent")], old + 308));
    msgs.push(stored(541, vec![Flag::Seen, kw("$Forwarded")], old + 1));
    msgs.extend((542..=597).map(|u| stored(u, seen.clone(), 5)));
    inbox(&mut w, 67890007, 600, 90060115205545359, msgs);
    let mb = w.mailboxes.get_mut("INBOX").unwrap();
    // Expunged after the client's mod-sequence; 212 and 213 are not among the client's UIDs,
    // so they are not reported.
    let gone = (41..=541).filter(|u| ![42, 117, 119, 541].contains(u));
    mb.expunged = gone.map(|u| (u, old + 7)).collect();
    let c = session(&mut w);
    let mut want = select_head(100, 43, 67890007, 600, 90060115205545359);
    want.push_str(
        "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\n\
         * 42 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))\n\
         * 43 FETCH (UID 119 FLAGS (\\Draft $MDNSent) MODSEQ (90060115194045308))\n\
         * 44 FETCH (UID 541 FLAGS (\\Seen $Forwarded) MODSEQ (90060115194045001))\n\
         A03 OK [READ-WRITE] SELECT completed",
    );
    assert_eq!(
        w.send(
            c,
            "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n"
        ),
        lines(&want)
    );
    // Only what was expunged after the client's mod-sequence is reported.
    let mb = w.mailboxes.get_mut("INBOX").unwrap();
    for e in &mut mb.expunged {
        if e.0 < 100 {
            e.1 = old;
        }
    }
    let out = w.send(
        c,
        "A04 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n",
    );
    assert!(
        out.contains("* VANISHED (EARLIER) 100:116,118,120:211,214:540\r\n"),
        "{out}"
    );
    assert!(out.contains("* OK [CLOSED]"), "{out}");
}

/// The last message of the mailbox is UID 29997 + 4 newer ones; only multiples of 3 are
/// left. A store that forgot its expunges.
fn thirds(w: &mut World) {
    let old = 90060115194045000;
    let mut msgs: Vec<Stored> = (1..=9999)
        .map(|k| stored(3 * k, vec![Flag::Seen], 9))
        .collect();
    msgs.extend((1..=4).map(|k| stored(29997 + 3 * k, vec![], 9)));
    msgs[0].flags = vec![Flag::Seen, Flag::Answered, kw("$Important")];
    msgs[0].modseq = old + 1;
    msgs[9889 - 1].modseq = old + 27;
    msgs[9999 - 1].flags = vec![Flag::Seen, kw("$Forwarded")];
    msgs[9999 - 1].modseq = old + 31;
    inbox(w, 67890007, 30013, 90060115205545359, msgs);
    w.mailboxes.get_mut("INBOX").unwrap().forgets_expunges = true;
}

/// What RFC 7162 §3.2.5.2's first example elides as `[...]`: every UID up to 29997 that is
/// not a multiple of 3, as ranges.
fn not_thirds() -> String {
    let mut parts = Vec::new();
    let mut u = 1;
    while u < 29997 {
        parts.push(format!("{}:{}", u, u + 1));
        u += 3;
    }
    parts.join(",")
}

/// RFC 7162 §3.2.5.2, both examples: without sequence match data the server that does not
/// remember expunges reports every unknown UID; with it, none.
#[test]
fn rfc7162_3_2_5_2_sequence_match_data_narrows_vanished() {
    let mut w = World::new();
    thirds(&mut w);
    let c = session(&mut w);
    let tail = "* 1 FETCH (UID 3 FLAGS (\\Seen \\Answered $Important) MODSEQ (90060115194045001))\n\
                * 9889 FETCH (UID 29667 FLAGS (\\Seen) MODSEQ (90060115194045027))\n\
                * 9999 FETCH (UID 29997 FLAGS (\\Seen $Forwarded) MODSEQ (90060115194045031))\n";
    let mut want = select_head(10003, 10000, 67890007, 30013, 90060115205545359);
    want.push_str(&format!("* VANISHED (EARLIER) {}\n", not_thirds()));
    want.push_str(tail);
    want.push_str("A04 OK [READ-WRITE] SELECT completed");
    let out = w.send(
        c,
        "A04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997))\r\n",
    );
    assert_eq!(out, lines(&want));

    let mut want = String::from("* OK [CLOSED] Previous mailbox closed\n");
    want.push_str(&select_head(
        10003,
        10000,
        67890007,
        30013,
        90060115205545359,
    ));
    want.push_str(tail);
    want.push_str("B04 OK [READ-WRITE] SELECT completed");
    let out = w.send(
        c,
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 \
         (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,\
         29988,29991,29994,29997)))\r\n",
    );
    assert_eq!(out, lines(&want));

    // A pair that does not match stops the walk: expunges above the last matching UID
    // (15000) are reported again.
    let out = w.send(
        c,
        "B05 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22501)))\r\n",
    );
    assert!(
        out.contains("* VANISHED (EARLIER) 15001:15002,15004:15005,"),
        "{out}"
    );
    assert!(!out.contains(",14998:14999,"), "{out}");
}

/// RFC 7162 §3.2.5: a UIDVALIDITY mismatch is answered as a plain SELECT.
#[test]
fn uidvalidity_mismatch_ignores_the_rest() {
    let mut w = World::new();
    thirds(&mut w);
    let c = session(&mut w);
    let out = w.send(c, "A02 SELECT INBOX (QRESYNC (67890008 5 41,43:211))\r\n");
    let mut want = select_head(10003, 10000, 67890007, 30013, 90060115205545359);
    want.push_str("A02 OK [READ-WRITE] SELECT completed");
    assert_eq!(out, lines(&want));
    assert!(w.clients[c].events.iter().all(|e| !matches!(
        e,
        mailhub_imap_proto::server::ServerEvent::ExpungedSince { .. }
    )));
}

/// RFC 7162 §3.2.6 Example 1: UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED).
#[test]
fn rfc7162_3_2_6_uid_fetch_vanished() {
    let mut w = World::new();
    let msgs = vec![
        stored(404, vec![Flag::Seen], 65402),
        stored(406, vec![Flag::Deleted], 75403),
        stored(407, vec![], 12000),
        stored(
            408,
            vec![kw("$NoJunk"), kw("$AutoJunk"), kw("$MDNSent")],
            29738,
        ),
        stored(410, vec![], 100),
        stored(412, vec![], 12345),
    ];
    inbox(&mut w, 1, 600, 80000, msgs);
    let mb = w.mailboxes.get_mut("INBOX").unwrap();
    mb.expunged = (300..=310).map(|u| (u, 20000)).collect();
    mb.expunged.extend((311..=403).map(|u| (u, 12000)));
    mb.expunged
        .extend([(405, 12346), (409, 12345), (411, 50000), (501, 60000)]);
    let c = session(&mut w);
    w.send(c, "s1 SELECT INBOX\r\n");
    assert_eq!(
        w.send(
            c,
            "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n"
        ),
        lines(
            "* VANISHED (EARLIER) 300:310,405,411\n\
             * 1 FETCH (FLAGS (\\Seen) UID 404 MODSEQ (65402))\n\
             * 2 FETCH (FLAGS (\\Deleted) UID 406 MODSEQ (75403))\n\
             * 4 FETCH (FLAGS ($NoJunk $AutoJunk $MDNSent) UID 408 MODSEQ (29738))\n\
             s100 OK FETCH completed"
        )
    );
    // A content FETCH goes on after the VANISHED too.
    let out = w.send(
        c,
        "s101 UID FETCH 405:406 (BODY.PEEK[HEADER]) (CHANGEDSINCE 12345 VANISHED)\r\n",
    );
    assert_eq!(
        out,
        "* VANISHED (EARLIER) 405\r\n\
         * 2 FETCH (BODY[HEADER] {16}\r\nSubject: 406\r\n\r\n UID 406 MODSEQ (75403))\r\n\
         s101 OK FETCH completed\r\n"
    );
}

/// RFC 7162 §3.2.3, §3.2.5, §3.2.6: BAD without ENABLE QRESYNC, VANISHED with FETCH or
/// without CHANGEDSINCE; no QRESYNC unless the option is on.
#[test]
fn qresync_misuse_is_bad() {
    let mut w = World::new();
    w.deliver("INBOX", b"Subject: a\r\n\r\nx\r\n", vec![]);
    let plain = w.connect(ServerOptions::default());
    let caps = w.send(plain, "c CAPABILITY\r\n");
    assert!(
        caps.contains(" CONDSTORE") && !caps.contains("QRESYNC"),
        "{caps}"
    );
    assert_eq!(
        w.send(plain, "e ENABLE QRESYNC\r\n"),
        lines("* ENABLED\ne OK ENABLE completed")
    );
    let q = w.connect(qresync_options());
    assert!(w.send(q, "c CAPABILITY\r\n").contains(" QRESYNC"));
    assert_eq!(
        w.send(q, "a SELECT INBOX (QRESYNC (1 2))\r\n"),
        lines("a BAD SELECT parameter not supported")
    );
    w.send(q, "e ENABLE QRESYNC\r\n");
    w.send(q, "s SELECT INBOX\r\n");
    assert_eq!(
        w.send(q, "b FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n"),
        lines("b BAD VANISHED needs UID FETCH")
    );
    assert_eq!(
        w.send(q, "c UID FETCH 1 (FLAGS) (VANISHED)\r\n"),
        lines("c BAD VANISHED needs CHANGEDSINCE")
    );
    assert_eq!(
        w.send(plain, "s SELECT INBOX\r\n").lines().last(),
        Some("s OK [READ-WRITE] SELECT completed")
    );
    assert_eq!(
        w.send(plain, "d UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n"),
        lines("d BAD VANISHED needs ENABLE QRESYNC")
    );
}

/// RFC 7162 §3.2.10.2's example: EXPUNGE answers VANISHED with the new HIGHESTMODSEQ
/// (§3.2.7); another session's expunge arrives as VANISHED, never during FETCH; CLOSE sends
/// no HIGHESTMODSEQ (§3.2.8).
#[test]
fn rfc7162_3_2_10_2_vanished_replaces_expunge() {
    let mut w = World::new();
    let d = Flag::Deleted;
    let uids = [1, 504, 505, 507, 508, 509, 510, 511, 512, 513, 625];
    let deleted = [505, 507, 510, 625];
    let msgs = uids
        .iter()
        .map(|&u| {
            stored(
                u,
                if deleted.contains(&u) {
                    vec![d.clone()]
                } else {
                    vec![]
                },
                5,
            )
        })
        .collect();
    inbox(&mut w, 1, 700, 10, msgs);
    let c = session(&mut w);
    let other = w.connect(qresync_options());
    w.send(c, "s SELECT INBOX\r\n");
    w.send(other, "s SELECT INBOX\r\n");
    assert_eq!(
        w.send(c, "A202 EXPUNGE\r\n"),
        lines("* VANISHED 505,507,510,625\nA202 OK [HIGHESTMODSEQ 11] EXPUNGE completed")
    );
    w.send(c, "A209 STORE 2:3 +FLAGS.SILENT (\\Deleted)\r\n");
    assert_eq!(
        w.send(c, "A210 EXPUNGE\r\n"),
        lines("* VANISHED 504,508\nA210 OK [HIGHESTMODSEQ 14] EXPUNGE completed")
    );
    // The other session, which has not enabled QRESYNC, gets EXPUNGEs; not during FETCH.
    assert_eq!(
        w.send(other, "o1 FETCH 3 (UID)\r\n"),
        lines("* 3 FETCH (UID 505)\no1 OK FETCH completed")
    );
    assert_eq!(
        w.send(other, "o2 NOOP\r\n"),
        lines(
            "* 2 EXPUNGE\n* 2 EXPUNGE\n* 2 EXPUNGE\n* 2 EXPUNGE\n* 3 EXPUNGE\n* 6 EXPUNGE\n\
             o2 OK NOOP completed"
        )
    );
    let q = session(&mut w);
    w.send(q, "s SELECT INBOX\r\n");
    w.expunge("INBOX", &[509]);
    assert_eq!(
        w.send(q, "q1 FETCH 2 (UID)\r\n"),
        lines("* 2 FETCH (UID 509)\nq1 OK FETCH completed")
    );
    assert_eq!(
        w.send(q, "q2 NOOP\r\n"),
        lines("* VANISHED 509\nq2 OK NOOP completed")
    );
    w.send(q, "q3 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    assert_eq!(w.send(q, "q4 CLOSE\r\n"), lines("q4 OK CLOSE completed"));
}
