//! Every response form this crate knows, from RFC 3501 §7, RFC 9051 §7 and the extension
//! RFCs' examples: parsed, then serialized back byte-exact.

use mailhub_imap_proto::framing::Limits;
use mailhub_imap_proto::response::{Code, Continue, Data, MessageData};
use mailhub_imap_proto::{ParseError, Response, StatusKind};

const CANONICAL: &[&str] = &[
    "* OK IMAP4rev1 Service Ready",
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN] Dovecot ready.",
    "* PREAUTH IMAP4rev1 server logged in as Smith",
    "* BYE Autologout; idle for too long",
    "a001 OK LOGIN completed",
    "A044 BAD No such command as \"BLURDYBLOOP\"",
    "A223 NO COPY failed: disk is full",
    "* OK [ALERT] System shutdown in 10 minutes",
    "* OK [PARSE] bad header",
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited",
    "* OK [UNSEEN 12] Message 12 is first unseen",
    "* OK [UIDVALIDITY 3857529045] UIDs valid",
    "* OK [UIDNEXT 4392] Predicted next UID",
    "A142 OK [READ-WRITE] SELECT completed",
    "A932 OK [READ-ONLY] EXAMINE completed",
    "A003 NO [TRYCREATE] No such mailbox",
    "A003 OK [APPENDUID 38505 3955] APPEND completed",
    "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done",
    "A005 OK [APPENDUID 38505 3955:3957] MULTIAPPEND done",
    "* NO [UIDNOTSTICKY] Non-persistent UIDs",
    "* OK [HIGHESTMODSEQ 715194045007] Highest",
    "* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences",
    "d105 OK [MODIFIED 7,9] Conditional STORE failed",
    "* OK [CLOSED] Previous mailbox closed",
    "a NO [BADCHARSET (UTF-8 US-ASCII)] unsupported",
    "a NO [BADCHARSET] unsupported",
    "a NO [AUTHENTICATIONFAILED] Authentication failed",
    "a NO [UNAVAILABLE] try later",
    "a NO [OVERQUOTA] full",
    "a NO [ALREADYEXISTS] exists",
    "a NO [NONEXISTENT] no such mailbox",
    "a NO [INUSE] busy",
    "a NO [EXPUNGEISSUED] gone",
    "a NO [NOPERM] no",
    "a NO [CANNOT] cannot",
    "a NO [LIMIT] limit",
    "a NO [CONTACTADMIN] admin",
    "a NO [SERVERBUG] oops",
    "a BAD [CLIENTBUG] oops",
    "a NO [PRIVACYREQUIRED] tls",
    "a NO [EXPIRED] expired",
    "a NO [AUTHORIZATIONFAILED] no",
    "a NO [CORRUPTION] bad",
    "a NO [NOTSAVED] not saved",
    "a NO [USEATTR] \\All not supported",
    "a NO [COMPRESSIONACTIVE] already",
    "a NO [UNKNOWN-CTE] bad encoding",
    "a NO [TOOBIG] too big",
    "a NO [HASCHILDREN] has children",
    "* OK [X-CUSTOM some stuff] text",
    "* OK [XYZZY] text",
    "A142 OK [READ-WRITE]",
    "+ Ready for additional command text",
    "+ [ALERT] go ahead",
    "+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzmeTxSPLrA==",
    "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED",
    "* LIST (\\Noselect) \"/\" \"\"",
    "* LIST (\\Noselect) \".\" #news.",
    "* LIST () NIL Flat",
    "* LIST (\\Marked \\Noinferiors) \"/\" INBOX",
    "* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\" (\"CHILDINFO\" (\"SUBSCRIBED\"))",
    "* LIST (\\HasNoChildren) \"/\" \"NewName\" (\"OLDNAME\" (\"OldMailbox\"))",
    "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
    "* LSUB () \".\" #news.comp.mail.misc",
    "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)",
    "* STATUS INBOX (HIGHESTMODSEQ 7011231777 SIZE 44421 DELETED 3)",
    "* STATUS INBOX (APPENDLIMIT NIL MESSAGES 2)",
    "* SEARCH 2 3 6",
    "* SEARCH",
    "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)",
    "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3",
    "* ESEARCH (TAG \"A283\") UID ALL 4:18,21,28",
    "* ESEARCH (TAG \"A284\")",
    "* ESEARCH UID COUNT 17 ALL 4:18,21,28 MODSEQ 12345",
    "* SORT 2 84 882",
    "* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(189)(190)(191)(192)(193)(194)(195)(196)(197)(198)(199)(200)(202)(203)(204)(205)(206 207)(209)(211)(210)(212)(213)(214)(215)(216))(182)(184)(185)(186)(187)(188)(201)(208)(217)",
    "* THREAD (2)(3 6 (4 23)(44 7 96))",
    "* THREAD",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    "* 23 EXISTS",
    "* 5 RECENT",
    "* 44 EXPUNGE",
    "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540",
    "* VANISHED 405,407,410,425",
    "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))",
    "* 12 FETCH (BODY[HEADER] {5}\r\nab\r\nc)",
    "* 2 FETCH (FLAGS (\\Deleted \\Seen) UID 4827313 MODSEQ (65402))",
    "* 1 FETCH (BODY[1.2]<100> \"partial\" BODY[HEADER.FIELDS (DATE FROM)] NIL RFC822.SIZE 44)",
    "* 1 FETCH (BINARY[1] ~{3}\r\na\0b BINARY.SIZE[2] 1200 BINARY[]<5> NIL)",
    "* 1 FETCH (RFC822 {2}\r\nhi RFC822.HEADER \"\" RFC822.TEXT NIL)",
    "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL))",
    "* NAMESPACE ((\"\" \"/\")) NIL NIL",
    "* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))",
    "* NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL",
    "* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"os-version\" \"5.5\" \"support-url\" \"mailto:cyrus-bugs+@andrew.cmu.edu\")",
    "* ID NIL",
    "* ENABLED CONDSTORE QRESYNC",
    "* ENABLED",
    "* QUOTA \"\" (STORAGE 10 512)",
    "* QUOTA \"!partition/sda4\" (STORAGE 104 10923847 MESSAGE 2 100)",
    "* QUOTAROOT INBOX \"\"",
    "* QUOTAROOT comp.mail.mime",
    "* ACL INBOX Fred rwipsldexta",
    "* ACL INBOX/Drafts Fred rwipslxetad Chris lrswi",
    "* LISTRIGHTS ~/Mail/saved smith la r swicdkxte",
    "* MYRIGHTS INBOX rwiptsldaex",
];

fn roundtrip(s: &str) -> Response {
    let wire = format!("{s}\r\n");
    let r = Response::parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}"));
    let again = r.to_bytes();
    assert_eq!(String::from_utf8_lossy(&again), wire, "byte-exact");
    r
}

#[test]
fn canonical_responses_serialize_byte_exact() {
    for s in CANONICAL {
        roundtrip(s);
    }
}

#[test]
fn parsed_values_are_typed() {
    assert!(matches!(
        roundtrip("* 23 EXISTS"),
        Response::Data(Data::Exists(23))
    ));
    let Response::Status(s) = roundtrip("A003 OK [APPENDUID 38505 3955] APPEND completed") else {
        panic!()
    };
    assert_eq!(s.kind, StatusKind::Ok);
    assert!(matches!(s.code, Some(Code::AppendUid { .. })));
    assert!(matches!(
        roundtrip("+ YGgG"),
        Response::Continue(Continue::Base64(_))
    ));
    assert!(matches!(
        roundtrip("+ Ready"),
        Response::Continue(Continue::Text { .. })
    ));
    let Response::Data(Data::Fetch { items, .. }) =
        roundtrip("* 12 FETCH (BODY[HEADER] {5}\r\nab\r\nc)")
    else {
        panic!()
    };
    assert!(
        matches!(&items[0], MessageData::BodySection { data, .. } if data.as_bytes() == Some(&b"ab\r\nc"[..]))
    );
}

#[test]
fn lenient_inputs() {
    // Lower-case keywords, a space before CRLF in STATUS, spaces between addresses.
    assert!(Response::parse(b"* ok hi\r\n").is_ok());
    assert!(Response::parse(b"* STATUS x (MESSAGES 1) \r\n").is_ok());
    assert!(Response::parse(b"+\r\n").is_ok());
    assert!(Response::parse(b"* SEARCH 1 2 \r\n").is_ok());
}

#[test]
fn malformed_responses_are_errors() {
    for bad in [
        &b"* 0 EXPUNGE\r\n"[..],
        b"* SEARCH 0\r\n",
        b"* SEARCH 99999999999\r\n",
        b"* FROB\r\n",
        b"* LIST (\\Noselect) \"ab\" x\r\n",
        b"* 1 FETCH ()\r\n",
        b"* 1 FETCH (FLAGS (\\Seen)\r\n",
        b"* THREAD ()\r\n",
        b"A1 MAYBE\r\n",
        b"* OK hi",
    ] {
        let e = Response::parse(bad).unwrap_err();
        assert!(matches!(e, ParseError::Syntax { .. }), "{e:?}");
    }
    assert_eq!(
        Response::parse(b"A1 MAYBE\r\n")
            .unwrap_err()
            .tag()
            .map(|t| t.as_str()),
        Some("A1")
    );
    let deep = format!("* THREAD {}1{}\r\n", "(".repeat(80), ")".repeat(80));
    assert!(matches!(
        Response::parse_with_limits(deep.as_bytes(), &Limits::client().with_max_depth(10)),
        Err(ParseError::TooDeep { .. })
    ));
}

#[test]
fn nesting_at_the_default_limit_fits_a_small_stack() {
    // 60 levels, under the default depth limit of 64, parse on the 2 MiB stack a spawned
    // thread gets by default, even in a debug build: the limit keeps recursion bounded.
    let mut body = String::from("(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
    for _ in 0..60 {
        body = format!("({body} \"mixed\")");
    }
    let search = format!(
        "A1 SEARCH {}ALL{}\r\n",
        "NOT (OR ALL ".repeat(20),
        ")".repeat(20)
    );
    let thread = format!("* THREAD {}1{}\r\n", "(".repeat(60), ")".repeat(60));
    let h = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let fetch = format!("* 1 FETCH (BODYSTRUCTURE {body})\r\n");
            assert!(Response::parse(fetch.as_bytes()).is_ok());
            assert!(Response::parse(thread.as_bytes()).is_ok());
            assert!(mailhub_imap_proto::Command::parse(search.as_bytes()).is_ok());
        })
        .unwrap();
    h.join().unwrap();
}

#[test]
fn private_extensions_parse_and_round_trip() {
    // Gmail's FETCH items and an unknown LIST-EXTENDED item.
    for s in [
        "* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865 X-GM-LABELS (\\Inbox \\Sent Important \"Muy Importante\") UID 4)",
        "* LIST () \"/\" foo (\"X-THING\" (1 \"two\" three))",
        "* 1 FETCH (SAVEDATE NIL EMAILID (M6d99ac3275bb4e))",
    ] {
        roundtrip(s);
    }
    let Response::Data(Data::Fetch { items, .. }) =
        roundtrip("* 1 FETCH (X-GM-LABELS (\\Inbox) FLAGS (\\Seen))")
    else {
        panic!()
    };
    assert!(matches!(&items[0], MessageData::Other(name, _) if name.as_str() == "X-GM-LABELS"));
    assert!(matches!(items[1], MessageData::Flags(_)));
}
