//! Every command form this crate knows, from RFC 3501 §6, RFC 9051 §6 and the extension
//! RFCs' examples: parsed, then serialized back byte-exact.

use mailhub_imap_proto::command::{
    AuthenticateData, SelectParam, StoreMode, parse_authenticate_data, parse_idle_done,
};
use mailhub_imap_proto::framing::Limits;
use mailhub_imap_proto::search::SearchKey;
use mailhub_imap_proto::{Command, CommandBody, MailboxName, ParseError, Tag};

/// Canonical forms: serializing the parsed command gives the same bytes.
const CANONICAL: &[&str] = &[
    "a001 CAPABILITY",
    "a002 NOOP",
    "a003 LOGOUT",
    "a004 STARTTLS",
    "A001 AUTHENTICATE GSSAPI",
    "A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
    "A02 AUTHENTICATE EXTERNAL =",
    "a001 LOGIN SMITH SESAME",
    "a001 LOGIN \"fred foo\" {6}\r\nsesame",
    "a001 LOGIN fred {6+}\r\nsesame",
    "t1 ENABLE CONDSTORE QRESYNC",
    "A142 SELECT INBOX",
    "A932 EXAMINE blurdybloop",
    "A142 SELECT INBOX (CONDSTORE)",
    "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
    "B01 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,17,21,29:31 \
     1:15,17,21,29:31)))",
    "A003 CREATE owatagusiam/",
    "t1 CREATE \"Important Messages\" (USE (\\Important))",
    "t1 CREATE MySpecial (USE (\\Drafts \\Sent))",
    "A683 DELETE blurdybloop",
    "A683 RENAME blurdybloop sarasoop",
    "A683 RENAME INBOX old-mail",
    "A002 SUBSCRIBE #news.comp.mail.mime",
    "A002 UNSUBSCRIBE #news.comp.mail.mime",
    "A101 LIST \"\" \"\"",
    "A102 LIST #news.comp.mail.misc \"\"",
    "A202 LIST ~/Mail/ %",
    "A01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (CHILDREN)",
    "A02 LIST \"\" (INBOX Drafts \"Sent Items\")",
    "A03 LIST (SPECIAL-USE) \"\" * RETURN (SPECIAL-USE)",
    "A04 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN SIZE))",
    "A002 LSUB #news. comp.mail.*",
    "A001 NAMESPACE",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
    "A043 STATUS INBOX (HIGHESTMODSEQ DELETED SIZE APPENDLIMIT)",
    "A003 APPEND saved-messages (\\Seen) {23}\r\nDate: Mon, 7 Feb 1994\r\n",
    "A003 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {3}\r\nabc",
    "A003 APPEND saved-messages {3+}\r\nabc (\\Seen $Junk) {2}\r\nde",
    "A003 APPEND saved-messages ~{3}\r\na\0c",
    "a002 IDLE",
    "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)",
    "a024 ID NIL",
    "G0001 GETQUOTA \"!partition/sda4\"",
    "G0002 GETQUOTAROOT INBOX",
    "S0000 SETQUOTA \"\" (STORAGE 512)",
    "A001 SETACL INBOX/Drafts John lrQswicda",
    "A002 DELETEACL INBOX/Drafts Fred",
    "A003 GETACL INBOX",
    "a001 LISTRIGHTS ~/Mail/saved smith",
    "A003 MYRIGHTS INBOX",
    "a COMPRESS DEFLATE",
    "A1 UNAUTHENTICATE",
    "FXXZ CHECK",
    "A341 CLOSE",
    "A342 UNSELECT",
    "A202 EXPUNGE",
    "A003 UID EXPUNGE 3000:3002",
    "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
    "A283 SEARCH TEXT \"string not in mailbox\"",
    "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX",
    "A285 UID SEARCH RETURN (MIN COUNT) UNDELETED UNKEYWORD $Junk",
    "A286 SEARCH RETURN () OR (SEEN LARGER 100) NOT 1:3,5,7:*",
    "A287 UID SEARCH RETURN (SAVE) FLAGGED",
    "A288 UID FETCH $ (UID FLAGS)",
    "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
    "a SEARCH HEADER Message-ID <abc@x> YOUNGER 3600",
    "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
    "A654 FETCH 2:4 FULL",
    "A655 FETCH 1 (BODY.PEEK[1.2.MIME]<0.2048>)",
    "A656 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
    "A657 FETCH 1 (BINARY.PEEK[1.1] BINARY.SIZE[2] BINARY[]<0.100> MODSEQ)",
    "A003 STORE 2:4 +FLAGS (\\Deleted)",
    "A004 STORE 1 FLAGS.SILENT ()",
    "d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
    "A005 UID STORE 1:* -FLAGS ($Label1 \\Flagged)",
    "A003 COPY 2:4 MEETING",
    "A004 UID COPY 1:3 Trash",
    "a MOVE 1:3 Trash",
    "a UID MOVE 42:69 foo",
    "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
    "A283 UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
    "A284 SORT RETURN (MIN MAX) (REVERSE ARRIVAL) US-ASCII ALL",
    "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
    "A284 UID THREAD REFERENCES US-ASCII TEXT \"gewp\"",
];

fn roundtrip(s: &str) -> Command {
    let wire = format!("{s}\r\n");
    let c = Command::parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}"));
    let again = c.to_bytes();
    assert_eq!(Command::parse(&again).unwrap(), c, "{s}");
    c
}

#[test]
fn canonical_commands_serialize_byte_exact() {
    for s in CANONICAL {
        let c = roundtrip(s);
        // Dates and keyword case are normalized; everything else is byte-exact.
        if !s.contains("-MAR-") {
            assert_eq!(String::from_utf8_lossy(&c.to_bytes()), format!("{s}\r\n"));
        }
    }
}

#[test]
fn lenient_forms_parse_to_the_same_value() {
    let a = roundtrip("a1 fetch 1:2 (flags)");
    let b = roundtrip("a1 FETCH 1:2 FLAGS");
    assert_eq!(a, b);
    let s = roundtrip("a uid store 1 +flags \\Seen $X");
    assert!(
        matches!(s.body, CommandBody::Store { mode: StoreMode::Add, ref flags, .. } if flags.len() == 2)
    );
    let l = roundtrip("a select inbox");
    assert!(matches!(
        l.body,
        CommandBody::Select {
            mailbox: MailboxName::Inbox,
            ..
        }
    ));
    let q = roundtrip("a SELECT x (QRESYNC (1 2))");
    assert!(matches!(&q.body, CommandBody::Select { params, .. }
        if matches!(params[0], SelectParam::Qresync { known_uids: None, .. })));
    let s = roundtrip("a SEARCH SINCE \"01-Feb-1994\"");
    assert!(
        matches!(&s.body, CommandBody::Search { criteria, .. } if matches!(criteria[0], SearchKey::Since(_)))
    );
}

#[test]
fn errors_keep_the_tag() {
    let tag = Tag::new("A1").unwrap();
    let bad = |s: &str| Command::parse(s.as_bytes()).unwrap_err();
    assert_eq!(
        bad("A1 FROB\r\n"),
        ParseError::UnknownCommand {
            tag: tag.clone(),
            name: "FROB".into()
        }
    );
    assert_eq!(bad("A1 FETCH\r\n").tag(), Some(&tag));
    assert_eq!(bad("A1 FETCH 0 FLAGS\r\n").tag(), Some(&tag));
    assert_eq!(bad("A1 NOOP extra\r\n").tag(), Some(&tag));
    assert_eq!(bad("A1 LOGIN a\r\n").tag(), Some(&tag));
    assert_eq!(
        bad("A1 UID NOOP\r\n"),
        ParseError::UnknownCommand {
            tag,
            name: "UID NOOP".into()
        }
    );
    assert_eq!(bad("+ NOOP\r\n").tag(), None);
    assert_eq!(bad("\r\n").tag(), None);
    assert!(
        matches!(bad("A1 NOOP"), ParseError::Syntax { .. }),
        "CRLF is required"
    );
    let deep = format!("A1 SEARCH {}ALL\r\n", "NOT ".repeat(10));
    let limits = Limits::server().with_max_depth(5);
    assert!(matches!(
        Command::parse_with_limits(deep.as_bytes(), &limits),
        Err(ParseError::TooDeep { limit: 5, .. })
    ));
    assert!(Command::parse(deep.as_bytes()).is_ok());
}

#[test]
fn pieces_wait_for_continuation() {
    let c = roundtrip("A003 APPEND saved-messages {3+}\r\nabc (\\Seen $Junk) {2}\r\nde");
    let e = c.encode();
    assert_eq!(e.pieces().len(), 2);
    assert!(e.pieces()[0].ends_with(b"{2}\r\n"));
    let c = roundtrip("a001 LOGIN fred {6}\r\nsesame");
    assert!(
        !format!("{c:?}").contains("sesame"),
        "passwords are redacted in Debug"
    );
}

#[test]
fn authenticate_lines_and_done() {
    assert_eq!(
        parse_authenticate_data(b"*\r\n").unwrap(),
        AuthenticateData::Cancel
    );
    assert!(
        matches!(parse_authenticate_data(b"dGVzdA==\r\n").unwrap(), AuthenticateData::Continue(d) if d.expose() == b"dGVzdA==")
    );
    assert!(parse_authenticate_data(b"dGV?zdA==\r\n").is_err());
    assert!(parse_authenticate_data(b"abc===\r\n").is_err());
    assert!(parse_idle_done(b"done\r\n") && !parse_idle_done(b"DONE \r\n"));
    assert!(parse_idle_done(mailhub_imap_proto::command::IDLE_DONE));
    for line in [&b"*\r\n"[..], b"dGVzdA==\r\n", b"\r\n"] {
        assert_eq!(parse_authenticate_data(line).unwrap().to_bytes(), line);
    }
}
