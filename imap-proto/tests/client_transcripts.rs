//! The sample sessions of RFC 3501 §8 and RFC 9051 §8, and IDLE (RFC 2177 §3) and SASL-IR
//! (RFC 4959 §3) examples, replayed from the client's side: for each `C:` line the test asks
//! the engine for that command (or the engine sends it by itself: SASL responses from the
//! step function, DONE, CAPABILITY refreshes) and the engine must send exactly that line
//! (commands in the codec's canonical form: upper-case keywords, a lone FETCH item in
//! parentheses); the `S:` lines are fed to it and the events
//! it reports are compared with what the RFC session means.
//!
//! Lines the RFCs do not print: RFC 3501 §8 and RFC 9051 §8 skip the commands a003–a005
//! (restored); in RFC 9051 §8 the engine asks for CAPABILITY after STARTTLS and after
//! AUTHENTICATE, as RFC 9051 §6.2.1/§6.2.2 require of a client that has no fresh list
//! (`A1`, `A2`, answered by lines added here).

#[path = "client_support.rs"]
mod support;

use std::sync::{Arc, Mutex};

use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_imap_proto::{Atom, Command, Secret, Tag};
use support::{brief, drain};

/// Replays `t`; `sasl` are the step function's answers in order (decoded). Returns the event
/// summaries and the challenges the step function saw.
fn replay(t: &str, opts: ClientOptions, sasl: Vec<Vec<u8>>) -> (Vec<String>, Vec<Vec<u8>>) {
    let mut c = Client::new(opts, std::time::Instant::now());
    let mut events = Vec::new();
    let mut server: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    let answers = Arc::new(Mutex::new(sasl));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let flush = |c: &mut Client, server: &mut Vec<u8>, events: &mut Vec<String>| {
        c.handle_input(server);
        server.clear();
        for e in drain(c) {
            if e == ClientEvent::StartTls {
                c.tls_established().unwrap();
            }
            events.push(brief(&e));
        }
    };
    for line in t.lines() {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        let (who, rest) = line.split_at(2);
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        match who {
            "S:" => {
                server.extend_from_slice(rest.as_bytes());
                server.extend_from_slice(b"\r\n");
            }
            "C:" => {
                flush(&mut c, &mut server, &mut events);
                out.extend(c.poll_transmit().unwrap_or_default());
                if out.is_empty() {
                    issue(&mut c, rest, &answers, &seen);
                    out.extend(c.poll_transmit().unwrap_or_default());
                }
                let want = canonical(rest);
                let got = String::from_utf8_lossy(&out[..want.len().min(out.len())]).into_owned();
                assert!(
                    got == want,
                    "expected {want:?}, engine sent {:?}",
                    String::from_utf8_lossy(&out)
                );
                out.drain(..want.len());
            }
            _ => panic!("bad line {line:?}"),
        }
    }
    flush(&mut c, &mut server, &mut events);
    out.extend(c.poll_transmit().unwrap_or_default());
    assert!(
        out.is_empty(),
        "unexpected output {:?}",
        String::from_utf8_lossy(&out)
    );
    let seen = seen.lock().unwrap().clone();
    (events, seen)
}

/// The line the engine must send for a `C:` line: the line itself for SASL responses and
/// DONE; for a command, the codec's canonical form of it, which must parse to the same
/// command and differs only in letter case and in writing a single FETCH item in
/// parentheses.
fn canonical(line: &str) -> String {
    let raw = format!("{line}\r\n");
    let Ok(cmd) = Command::parse(raw.as_bytes()) else {
        return raw;
    };
    let again = String::from_utf8(cmd.to_bytes()).unwrap();
    assert_eq!(Command::parse(again.as_bytes()).unwrap(), cmd);
    let loose = |s: &str| s.to_ascii_uppercase().replace(['(', ')'], "");
    assert_eq!(
        loose(&again),
        loose(&raw),
        "only case and parentheses differ"
    );
    again
}

type Shared = Arc<Mutex<Vec<Vec<u8>>>>;

/// Asks the engine for the command of a `C:` line.
fn issue(c: &mut Client, line: &str, answers: &Shared, seen: &Shared) {
    let (tag, rest) = line.split_once(' ').expect("tagged command");
    let tag = Tag::new(tag).unwrap();
    let words: Vec<&str> = rest.split(' ').collect();
    if rest.eq_ignore_ascii_case("IDLE") {
        c.set_next_tag(tag);
        c.idle().unwrap();
    } else if words[0].eq_ignore_ascii_case("AUTHENTICATE") {
        c.set_next_tag(tag);
        let ir = words.get(2).map(|b| {
            use base64::Engine as _;
            let raw = if *b == "=" { "" } else { b };
            Secret::new(
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap(),
            )
        });
        let (answers, seen) = (answers.clone(), seen.clone());
        let step = Box::new(move |challenge: &[u8]| {
            seen.lock().unwrap().push(challenge.to_vec());
            let mut a = answers.lock().unwrap();
            (!a.is_empty()).then(|| a.remove(0))
        });
        c.authenticate(Atom::new(words[1]).unwrap(), ir, step)
            .unwrap();
    } else {
        let cmd = Command::parse(format!("{line}\r\n").as_bytes()).unwrap();
        c.send_with_tag(cmd.tag, cmd.body).unwrap();
    }
}

fn no_refresh() -> ClientOptions {
    ClientOptions::default().with_refresh_capabilities(false)
}

const RFC3501_8: &str = r##"
S: * OK IMAP4rev1 Service Ready
C: a001 login mrc secret
S: a001 OK LOGIN completed
C: a002 select inbox
S: * 18 EXISTS
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * 2 RECENT
S: * OK [UNSEEN 17] Message 17 is the first unseen message
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: a002 OK [READ-WRITE] SELECT completed
C: a003 fetch 12 full
S: * 12 FETCH (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))
S: a003 OK FETCH completed
C: a004 fetch 12 body[header]
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
C: a005 store 12 +flags \deleted
S: * 12 FETCH (FLAGS (\Seen \Deleted))
S: a005 OK +FLAGS completed
C: a006 logout
S: * BYE IMAP4rev1 server terminating connection
S: a006 OK LOGOUT completed
"##;

#[test]
fn rfc3501_section_8_from_the_client() {
    let (events, _) = replay(RFC3501_8, no_refresh(), Vec::new());
    assert_eq!(
        events,
        [
            "greeting OK",
            "a001 OK",
            "* 18 EXISTS",
            "* FLAGS",
            "* 2 RECENT",
            "* OK [Unseen]",
            "* OK [UidValidity]",
            "a002 OK [ReadWrite]",
            "* 12 FETCH Flags,InternalDate,Rfc822Size,Envelope,Body",
            "a003 OK",
            "* 12 FETCH BodySection",
            "a004 OK",
            "* 12 FETCH Flags",
            "a005 OK",
            "* BYE",
            "a006 OK",
            "closed Logout",
        ]
    );
}

const RFC9051_8: &str = r##"
S: * OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready
C: a000 starttls
S: a000 OK Proceed with TLS negotiation
C: A1 CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=SCRAM-SHA-256
S: A1 OK done
C: A001 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=
S: + cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=
C: Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==
S: + dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==
C:
S: A001 OK SCRAM-SHA-256 authentication successful
C: A2 CAPABILITY
S: * CAPABILITY IMAP4rev2 ENABLE IDLE
S: A2 OK done
C: babc ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: babc OK Some capabilities enabled
C: a002 select inbox
S: * 18 EXISTS
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * LIST () "/" INBOX ("OLDNAME" ("inbox"))
S: a002 OK [READ-WRITE] SELECT completed
C: a003 fetch 12 (flags internaldate rfc822.size envelope body)
S: * 12 FETCH (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.ed>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))
S: a003 OK FETCH completed
C: a004 fetch 12 body.peek[header]
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
C: a005 store 12 +flags \deleted
S: * 12 FETCH (FLAGS (\Seen \Deleted))
S: a005 OK +FLAGS completed
C: a006 logout
S: * BYE IMAP4rev2 server terminating connection
S: a006 OK LOGOUT completed
"##;

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn rfc9051_section_8_from_the_client() {
    let answers = vec![
        b64(
            "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==",
        ),
        Vec::new(),
    ];
    let (events, seen) = replay(RFC9051_8, ClientOptions::default(), answers);
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="));
    assert!(seen[1].starts_with(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
    assert_eq!(
        events,
        [
            "greeting OK [Capability]",
            "a000 OK",
            "starttls",
            "* CAPABILITY",
            "A001 OK",
            "* CAPABILITY",
            "* ENABLED",
            "babc OK",
            "* 18 EXISTS",
            "* OK [UidValidity]",
            "* LIST",
            "a002 OK [ReadWrite]",
            "* 12 FETCH Flags,InternalDate,Rfc822Size,Envelope,Body",
            "a003 OK",
            "* 12 FETCH BodySection",
            "a004 OK",
            "* 12 FETCH Flags",
            "a005 OK",
            "* BYE",
            "a006 OK",
            "closed Logout",
        ]
    );
}

/// RFC 2177 §3 (IDLE with EXISTS arriving) and RFC 4959 §3 (SASL-IR offered, then the
/// empty-response form `=`, then no initial response where the server does not offer it).
const IDLE_AND_SASL_IR: &str = r##"
S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=EXTERNAL IDLE] ready
C: A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: A01 OK [CAPABILITY IMAP4rev1 IDLE] Success (tls protection)
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
"##;

#[test]
fn idle_and_sasl_ir_from_the_client() {
    // `DONE` is the caller's decision: the replay ends IDLE when the transcript says so.
    let mut c = Client::new(ClientOptions::default(), std::time::Instant::now());
    let mut log = Vec::new();
    let mut lines = IDLE_AND_SASL_IR
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let mut server = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    for line in lines.by_ref() {
        let (who, rest) = line.split_at(2);
        let rest = rest.trim_start();
        if who == "S:" {
            server.extend_from_slice(format!("{rest}\r\n").as_bytes());
            continue;
        }
        log.extend(support::feed(&mut c, &server).iter().map(brief));
        server.clear();
        if rest == "DONE" {
            c.idle_done().unwrap();
        } else if rest.contains("AUTHENTICATE") {
            c.set_next_tag(Tag::new("A01").unwrap());
            let ir = Secret::new(b"test\0test\0test".to_vec());
            c.authenticate(Atom::new("PLAIN").unwrap(), Some(ir), Box::new(|_| None))
                .unwrap();
        } else if rest.ends_with("IDLE") {
            c.set_next_tag(Tag::new("A002").unwrap());
            c.idle().unwrap();
        } else {
            let cmd = Command::parse(format!("{rest}\r\n").as_bytes()).unwrap();
            c.send_with_tag(cmd.tag, cmd.body).unwrap();
        }
        out.extend(c.poll_transmit().unwrap_or_default());
        assert_eq!(String::from_utf8_lossy(&out), format!("{rest}\r\n"));
        out.clear();
    }
    log.extend(support::feed(&mut c, &server).iter().map(brief));
    assert_eq!(c.poll_transmit(), None, "no CAPABILITY: the OK carried it");
    assert_eq!(
        log,
        [
            "greeting OK [Capability]",
            "A01 OK [Capability]",
            "* FLAGS",
            "* 3 EXISTS",
            "* 0 RECENT",
            "* OK [UidValidity]",
            "A001 OK",
            "A002 idling",
            "* 4 EXISTS",
            "A002 OK",
            "A003 OK",
        ]
    );
}
