//! The sample sessions of RFC 3501 §8 and RFC 9051 §8 and examples from the extension RFCs,
//! as C:/S: transcripts. The client lines go through a server-side framer and the command
//! parser, the server lines through a client-side framer and the response parser; every unit
//! must parse, and serialize back byte-exact (`C:`/`S:`) or to the same value with keywords
//! and spacing normalized (`C~`/`S~`, e.g. a lower-case `login`). `C!` is a command whose
//! synchronising literal the server refuses (the client then never sends it).
//!
//! Where the RFC text folds a long line for print, the line is joined here; where the RFC
//! omits the client's command (RFC 3501 §8 and RFC 9051 §8 skip a003–a005), it is restored.

use mailhub_imap_proto::command::{AuthenticateData, parse_authenticate_data, parse_idle_done};
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::{Command, Response};

struct Stream {
    bytes: Vec<u8>,
    /// (offset where a line starts, whether the unit starting there must be byte-exact,
    /// whether its literal is refused)
    starts: Vec<(usize, bool, bool)>,
}

fn units(side: Side, s: &Stream) -> Vec<(Vec<u8>, bool)> {
    let mut f = Framer::new(side, Limits::client());
    f.handle_input(&s.bytes);
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(e) = f.poll_event() {
        let line = s.starts.iter().find(|(o, ..)| *o == offset).copied();
        let (_, exact, refuse) = line.unwrap_or_else(|| panic!("unit does not start a line"));
        match e {
            FrameEvent::LiteralAnnounced { .. } if refuse => {
                offset += f.unit_so_far().len();
                f.reject_literal();
            }
            FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
            FrameEvent::Unit(u) => {
                offset += u.len();
                out.push((u, exact));
            }
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(offset, s.bytes.len(), "every byte framed");
    out
}

/// Replays a transcript; returns (commands, responses) checked.
fn replay(t: &str) -> (usize, usize) {
    let mut c = Stream {
        bytes: Vec::new(),
        starts: Vec::new(),
    };
    let mut s = Stream {
        bytes: Vec::new(),
        starts: Vec::new(),
    };
    for line in t.lines() {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        let (who, rest) = line.split_at(2);
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let st = match &who[..1] {
            "C" => &mut c,
            "S" => &mut s,
            _ => panic!("bad transcript line {line:?}"),
        };
        st.starts
            .push((st.bytes.len(), &who[1..] != "~", &who[1..] == "!"));
        st.bytes.extend_from_slice(rest.as_bytes());
        st.bytes.extend_from_slice(b"\r\n");
    }
    let mut nc = 0;
    for (u, exact) in units(Side::Server, &c) {
        let text = String::from_utf8_lossy(&u).into_owned();
        match Command::parse(&u) {
            Ok(cmd) => {
                let again = cmd.to_bytes();
                assert_eq!(Command::parse(&again).unwrap(), cmd, "{text}");
                if exact {
                    assert_eq!(String::from_utf8_lossy(&again), text, "byte-exact");
                }
            }
            Err(e) => {
                // Not a command: the DONE that ends IDLE or a line of an AUTHENTICATE exchange.
                let ok = parse_idle_done(&u)
                    || matches!(
                        parse_authenticate_data(&u),
                        Ok(AuthenticateData::Continue(_))
                    );
                assert!(ok, "{text}: {e:?}");
            }
        }
        nc += 1;
    }
    let mut ns = 0;
    for (u, exact) in units(Side::Client, &s) {
        let text = String::from_utf8_lossy(&u).into_owned();
        let r = Response::parse(&u).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let again = r.to_bytes();
        assert_eq!(Response::parse(&again).unwrap(), r, "{text}");
        if exact {
            assert_eq!(String::from_utf8_lossy(&again), text, "byte-exact");
        }
        ns += 1;
    }
    (nc, ns)
}

const RFC3501_8: &str = r##"
S: * OK IMAP4rev1 Service Ready
C~ a001 login mrc secret
S: a001 OK LOGIN completed
C~ a002 select inbox
S: * 18 EXISTS
S: * 2 RECENT
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: a002 OK [READ-WRITE] SELECT completed
C~ a003 fetch 12 full
S: * 12 FETCH (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))
S: a003 OK FETCH completed
C~ a004 fetch 12 body[header]
S: * 12 FETCH (BODY[HEADER] {342}
S: Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
S: From: Terry Gray <gray@cac.washington.edu>
S: Subject: IMAP4rev1 WG mtg summary and minutes
S: To: imap@cac.washington.edu
S: cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
S: Message-Id: <B27397-0100000@cac.washington.edu>
S: MIME-Version: 1.0
S: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
S:
S: )
S: a004 OK FETCH completed
C~ a005 store 12 +flags \deleted
S: * 12 FETCH (FLAGS (\Seen \Deleted))
S: a005 OK +FLAGS completed
C~ a006 logout
S: * BYE IMAP4rev1 server terminating connection
S: a006 OK LOGOUT completed
"##;

const RFC9051_8: &str = r##"
S: * OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready
C~ a000 starttls
S: a000 OK Proceed with TLS negotiation
C: A001 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=
S: + cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=
C: Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==
S: + dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==
C:
S: A001 OK SCRAM-SHA-256 authentication successful
C: babc ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: babc OK Some capabilities enabled
C~ a002 select inbox
S: * 18 EXISTS
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S~ * LIST () "/" INBOX ("OLDNAME" ("inbox"))
S: a002 OK [READ-WRITE] SELECT completed
C~ a003 fetch 12 (flags internaldate rfc822.size envelope body)
S: * 12 FETCH (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.ed>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))
S: a003 OK FETCH completed
C~ a004 fetch 12 body.peek[header]
S: * 12 FETCH (BODY[HEADER] {342}
S: Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
S: From: Terry Gray <gray@cac.washington.edu>
S: Subject: IMAP4rev2 WG mtg summary and minutes
S: To: imap@cac.washington.edu
S: cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
S: Message-Id: <B27397-0100000@cac.washington.edu>
S: MIME-Version: 1.0
S: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
S:
S: )
S: a004 OK FETCH completed
C~ a005 store 12 +flags \deleted
S: * 12 FETCH (FLAGS (\Seen \Deleted))
S: a005 OK +FLAGS completed
C~ a006 logout
S: * BYE IMAP4rev2 server terminating connection
S: a006 OK LOGOUT completed
"##;

/// RFC 2177 (IDLE), RFC 4959 (SASL-IR), RFC 4978 (COMPRESS), RFC 5161 (ENABLE).
const SESSION_EXTENSIONS: &str = r##"
C: A001 SELECT INBOX
S: * FLAGS (Deleted Seen)
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY 1]
S: A001 OK SELECT completed
C: A002 IDLE
S: + idling
S: * 4 EXISTS
C: DONE
S: A002 OK IDLE terminated
C: A003 FETCH 4 ALL
S: A003 OK FETCH completed
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=EXTERNAL
S: C01 OK Completed
C: A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: A01 OK Success (tls protection)
C: A02 AUTHENTICATE EXTERNAL =
C: A03 AUTHENTICATE PLAIN
S~ +
C: dGVzdAB0ZXN0AHRlc3Q=
S: A03 OK Success (tls protection)
S: * OK [CAPABILITY IMAP4REV1 STARTTLS COMPRESS=DEFLATE]
C~ c compress deflate
S: c NO [COMPRESSIONACTIVE] DEFLATE active via TLS
C: t1 CAPABILITY
S: * CAPABILITY IMAP4rev1 ID LITERAL+ ENABLE X-GOOD-IDEA
S: t1 OK foo
C: t2 ENABLE CONDSTORE X-GOOD-IDEA
S: * ENABLED X-GOOD-IDEA
S: t2 OK foo
C: a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")
S: * ID NIL
S: a023 OK ID completed
"##;

/// RFC 4315 (UIDPLUS), RFC 6851 (MOVE), RFC 3502 (MULTIAPPEND), RFC 7888 (LITERAL+),
/// RFC 3516 (BINARY).
const MAILBOX_EXTENSIONS: &str = r##"
C: A003 UID EXPUNGE 3000:3002
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: A003 OK UID EXPUNGE completed
C: A003 APPEND saved-messages (\Seen) {10+}
C: Hello Joe!
S: A003 OK [APPENDUID 38505 3955] APPEND completed
C: A004 COPY 2:4 meeting
S: A004 OK [COPYUID 38505 304,319:320 3956:3958] Done
C: A007 SELECT funny
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] Message 1 is first unseen
S: * OK [UIDVALIDITY 3857529045] Validity session-only
S: * OK [UIDNEXT 2] Predicted next UID
S: * NO [UIDNOTSTICKY] Non-persistent UIDs
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen)] Limited
S: A007 OK [READ-WRITE] SELECT completed
C: a UID MOVE 42:69 foo
S: * OK [COPYUID 432432 42:69 1202:1229]
S: * 22 EXPUNGE
S: a OK Done
C: A003 APPEND saved-messages (\Seen) {3+}
C: abc (\Seen) " 7-Feb-1994 22:43:04 -0800" {4+}
C: 3:30
S: A003 OK [APPENDUID 38505 3955:3956] APPEND completed
C! A004 APPEND bogusname (\Flagged) {1023}
S: A004 NO [TRYCREATE] No such mailbox as bogusname
C: A005 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])
S: * 1 FETCH (BINARY.SIZE[1] 4 BINARY[1] ~{4}
S: ab
S: )
S: A005 OK done
"##;

/// RFC 5258/5819/6154 (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), RFC 2342 (NAMESPACE),
/// RFC 9208 (QUOTA), RFC 4314 (ACL).
const LIST_EXTENSIONS: &str = r##"
C: A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
S~ * LIST () "." "INBOX"
S~ * STATUS "INBOX" (MESSAGES 17 UNSEEN 16)
S~ * LIST (\NoSelect) "." "bar"
S: A01 OK List completed.
S~ * LIST () "." "foo" (CHILDINFO ("SUBSCRIBED"))
C: t1 LIST "" "%"
S~ * LIST (\Marked \HasNoChildren) "/" Inbox
S: * LIST (\Sent \HasNoChildren) "/" SentMail
S: t1 OK done
C: t3 LIST (SPECIAL-USE) "" "*"
S: * LIST (\Trash) "/" Trash
C: t1 CREATE "Important Messages" (USE (\Important))
S: t1 NO [USEATTR] \Important not supported
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")("#ftp/" "/")("#news." "."))
S: A001 OK NAMESPACE command completed
C: G0001 GETQUOTA "!partition/sda4"
S: * QUOTA "!partition/sda4" (STORAGE 104 10923847)
S: G0001 OK Getquota complete
C: G0002 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX ""
S: * QUOTA "" (STORAGE 10 512)
S: G0002 OK Getquota complete
C: A001 SETACL INBOX/Drafts John lrQswicda
S: A001 BAD Uppercase rights are not allowed
C: A002 GETACL INBOX/Drafts
S: * ACL INBOX/Drafts Fred rwipslxcetda David lrswi
S: A002 OK Getacl complete
"##;

/// RFC 7162 (CONDSTORE, QRESYNC), RFC 4731 (ESEARCH), RFC 5182 (SEARCHRES),
/// RFC 5256 (SORT, THREAD).
const SEARCH_EXTENSIONS: &str = r##"
C: A142 SELECT INBOX (CONDSTORE)
S: * OK [HIGHESTMODSEQ 715194045007] Highest
S: A142 OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled
C: s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
S: * 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\Seen))
S: s100 OK FETCH completed
C: d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
S: * 5 FETCH (MODSEQ (320162350))
S: d105 OK [MODIFIED 7,9] Conditional STORE failed
C: a SEARCH MODSEQ "/flags/\\draft" all 620162338
S: * SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)
S: a OK Search complete
C: B01 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))
S: * OK [CLOSED]
S: * VANISHED (EARLIER) 41,43:116,118,120:211,214:540
S: B01 OK [READ-WRITE] mailbox selected
C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A282") MIN 2 COUNT 3
S: A282 OK SEARCH completed
C: A301 UID SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: A301 OK SEARCH completed, result saved
C: A302 UID COPY $ "foo"
S: A302 OK [COPYUID 1 2,4 7:8] done
C: A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994
S: * SORT 2 84 882
S: A282 OK SORT completed
C~ A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000
S: * THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(189)(190)(191)(192)(193)(194)(195)(196)(197)(198)(199)(200)(202)(203)(204)(205)(206 207)(209)(211)(210)(212)(213)(214)(215)(216))(182)(184)(185)(186)(187)(188)(201)(208)(217)
S: A283 OK THREAD completed
C: A284 THREAD REFERENCES US-ASCII SINCE 1-Feb-1994
S: * THREAD (2)(3 6 (4 23)(44 7 96))
S: A284 OK THREAD completed
"##;

/// RFC 7162 (CONDSTORE) §3.1 examples, folded lines joined.
const CONDSTORE_7162: &str = r##"
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * OK [HIGHESTMODSEQ 715194045007]
S: A142 OK [READ-WRITE] SELECT completed
S: * OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences
C: a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted)
S: * 1 FETCH (UID 4 MODSEQ (12121231000))
S: * 2 FETCH (UID 6 MODSEQ (12121230852))
S: * 4 FETCH (UID 8 MODSEQ (12121230956))
S: a103 OK Conditional Store completed
C: a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted $Processed)
S: * 50 FETCH (MODSEQ (12111230047))
S: a104 OK Store (conditional) completed
C: d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
S: * 7 FETCH (MODSEQ (320162342) FLAGS (\Seen \Deleted))
S: * 5 FETCH (MODSEQ (320162350))
S: * 9 FETCH (MODSEQ (320162349) FLAGS (\Answered))
S: d105 OK [MODIFIED 7,9] Conditional STORE failed
C: a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)
S: a102 OK [MODIFIED 12] Conditional STORE failed
C~ B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\SEEN)
S~ * 1 FETCH (MODSEQ (320172342) FLAGS (\SEEN))
S: B001 NO [MODIFIED 2] Some of the messages no longer exist.
C: B002 NOOP
S: * 4 EXPUNGE
S: * 2 FETCH (MODSEQ (320172340) FLAGS (\Deleted \Answered))
S: B002 OK NOOP Completed.
C: s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
S: * 4 FETCH (UID 8 MODSEQ (29738) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
C: a FETCH 1:3 (MODSEQ)
S: * 1 FETCH (MODSEQ (624140003))
S: a OK Fetch complete
C: t SEARCH OR NOT MODSEQ 720162338 LARGER 50000
S: * SEARCH
S: t OK Search complete, nothing found
C: A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)
S: A042 OK STATUS completed
C: a SEARCH RETURN (ALL) MODSEQ 1234
S: * ESEARCH (TAG "a") ALL 1:3,5 MODSEQ 1236
S: a OK Extended SEARCH completed
"##;

#[test]
fn rfc3501_section_8() {
    assert_eq!(replay(RFC3501_8), (6, 14));
}

#[test]
fn rfc9051_section_8() {
    assert_eq!(replay(RFC9051_8), (10, 19));
}

#[test]
fn session_extensions() {
    assert_eq!(replay(SESSION_EXTENSIONS), (13, 22));
}

#[test]
fn mailbox_extensions() {
    assert_eq!(replay(MAILBOX_EXTENSIONS), (7, 22));
}

#[test]
fn list_extensions() {
    assert_eq!(replay(LIST_EXTENSIONS), (9, 20));
}

#[test]
fn search_extensions() {
    assert_eq!(replay(SEARCH_EXTENSIONS), (11, 21));
}

#[test]
fn condstore_examples() {
    assert_eq!(replay(CONDSTORE_7162), (12, 36));
}
