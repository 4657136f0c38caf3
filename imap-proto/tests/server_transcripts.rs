//! The sample sessions of RFC 3501 §8 and RFC 9051 §8 replayed against the server engine over
//! the in-memory test store: the RFCs' client lines, and their server lines with this
//! server's status texts and item order (the RFCs' texts are examples). Message 12 is built
//! to have the RFC's envelope and body structure; its sizes are its own (the RFC's 342-octet
//! header and 4286-octet RFC822.SIZE do not add up).

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::{Date, DateTime, Flag};
use server_support::{World, lines};

fn message_12() -> String {
    let mut body = String::new();
    for i in 0..92 {
        let n = if i == 91 { 23 } else { 31 };
        body.push_str(&"m".repeat(n));
        body.push_str("\r\n");
    }
    assert_eq!(body.len(), 3028);
    format!(
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n{body}"
    )
}

/// INBOX with 18 messages: 1–16 seen and not recent, 17–18 new; message 12 as above.
fn world() -> (World, String) {
    let mut w = World::new();
    let m12 = message_12();
    for i in 1..=18u32 {
        let flags = if i <= 16 { vec![Flag::Seen] } else { vec![] };
        let data = if i == 12 {
            m12.clone()
        } else {
            format!("Subject: {i}\r\n\r\nx\r\n")
        };
        w.deliver("INBOX", data.as_bytes(), flags);
    }
    let mb = w.mailboxes.get_mut("INBOX").unwrap();
    for m in &mut mb.messages {
        if m.uid <= 16 {
            m.recent_owner = Some(usize::MAX);
        }
        if m.uid == 12 {
            m.date = DateTime::new(Date::new(1996, 7, 17).unwrap(), 2, 44, 25, -420).unwrap();
        }
    }
    (w, m12)
}

const ENVELOPE: &str = "ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
\"<B27397-0100000@cac.washington.edu>\")";

#[test]
fn rfc3501_section_8_sample_session() {
    let (mut w, m12) = world();
    let c = w.connect(ServerOptions::default());
    // `connect` makes PREAUTH sessions; this one logs in, so its engine is replaced.
    w.clients[c].server = mailhub_imap_proto::server::Server::new(
        {
            let mut o = ServerOptions::default();
            o.allow_plaintext = true;
            o
        },
        w.now,
    );
    let greeting = w.output(c);
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
        "{greeting}"
    );
    // The test store does not check passwords; the decision is made here.
    w.clients[c]
        .server
        .handle_input(b"a001 login mrc secret\r\n");
    match w.clients[c].server.poll_event() {
        Some(mailhub_imap_proto::server::ServerEvent::Login {
            username, password, ..
        }) => {
            assert_eq!(
                (username.as_str(), password.expose().as_slice()),
                ("mrc", &b"secret"[..])
            );
            w.clients[c].server.accept_login("mrc").unwrap();
        }
        other => panic!("{other:?}"),
    }
    let ok = w.output(c);
    assert!(
        ok.starts_with("a001 OK [CAPABILITY IMAP4rev1 ") && ok.ends_with("] Logged in\r\n"),
        "{ok}"
    );
    assert_eq!(
        w.send(c, "a002 select inbox\r\n"),
        lines(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
             * 18 EXISTS
             * 2 RECENT
             * OK [UNSEEN 17] Message 17 is first unseen
             * OK [UIDVALIDITY 3857529045] UIDs valid
             * OK [UIDNEXT 19] Predicted next UID
             * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted
             * OK [HIGHESTMODSEQ 19] Highest
             a002 OK [READ-WRITE] SELECT completed"
        )
    );
    assert_eq!(
        w.send(c, "a003 fetch 12 full\r\n"),
        lines(&format!(
            "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE {} {ENVELOPE} \
             BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))
             a003 OK FETCH completed",
            m12.len()
        ))
    );
    let header = &m12[..m12.len() - 3028];
    assert_eq!(
        w.send(c, "a004 fetch 12 body[header]\r\n"),
        format!(
            "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{header})\r\na004 OK FETCH completed\r\n",
            header.len()
        )
    );
    assert_eq!(
        w.send(c, "a005 store 12 +flags \\deleted\r\n"),
        lines("* 12 FETCH (FLAGS (\\Seen \\Deleted))\na005 OK STORE completed")
    );
    assert_eq!(
        w.send(c, "a006 logout\r\n"),
        lines("* BYE Logging out\na006 OK LOGOUT completed")
    );
    assert!(w.clients[c].server.is_closed());
}

#[test]
fn rfc9051_section_8_sample_session() {
    let (mut w, m12) = world();
    let c = w.connect(ServerOptions::default());
    w.send(c, "a000 ENABLE IMAP4rev2\r\n");
    assert_eq!(
        w.send(c, "a002 select inbox\r\n"),
        lines(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
             * 18 EXISTS
             * OK [UIDVALIDITY 3857529045] UIDs valid
             * OK [UIDNEXT 19] Predicted next UID
             * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted
             * OK [HIGHESTMODSEQ 19] Highest
             * LIST () \"/\" INBOX
             a002 OK [READ-WRITE] SELECT completed"
        )
    );
    assert_eq!(
        w.send(c, "a003 fetch 12 full\r\n"),
        lines(&format!(
            "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE {} {ENVELOPE} \
             BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))
             a003 OK FETCH completed",
            m12.len()
        ))
    );
    assert_eq!(
        w.send(c, "a005 store 12 +flags \\deleted\r\n"),
        lines("* 12 FETCH (FLAGS (\\Seen \\Deleted))\na005 OK STORE completed")
    );
    assert_eq!(
        w.send(c, "a006 logout\r\n"),
        lines("* BYE Logging out\na006 OK LOGOUT completed")
    );
}
