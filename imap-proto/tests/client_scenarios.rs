//! Client engine scenarios, each named after what it proves.

#[path = "client_support.rs"]
mod support;

use std::time::{Duration, Instant};

use mailhub_imap_proto::client::{
    Client, ClientError, ClientEvent, ClientOptions, ClientState, CloseReason, TimeoutKind,
    UsageError,
};
use mailhub_imap_proto::response::{Data, MessageData, StreamedItem};
use mailhub_imap_proto::{Atom, CommandBody, MailboxName, Secret, StatusKind, Tag};
use support::{briefs, drain, feed, greeted, sent};

const PLAIN: &[u8] = b"* OK IMAP4rev1 ready\r\n";

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

fn login_with_literal(c: &mut Client) -> Tag {
    // A password with a CR forces a literal.
    c.login("fred", &Secret::new("pa\rss".into())).unwrap()
}

#[test]
fn synchronising_literal_waits_for_continuation_and_holds_later_commands() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    let t = login_with_literal(&mut c);
    let n = c.noop().unwrap();
    assert_eq!(sent(&mut c), format!("{t} LOGIN fred {{5}}\r\n"));
    assert_eq!(c.poll_transmit(), None, "nothing more before `+`");
    assert!(feed(&mut c, b"+ go ahead\r\n").is_empty());
    // LOGIN is a barrier: NOOP waits for its completion.
    assert_eq!(sent(&mut c), "pa\rss\r\n");
    let ev = feed(
        &mut c,
        format!("{t} OK [CAPABILITY IMAP4rev1] done\r\n").as_bytes(),
    );
    assert_eq!(briefs(&ev), [format!("{t} OK [Capability]")]);
    assert_eq!(sent(&mut c), format!("{n} NOOP\r\n"));
    assert_eq!(c.state(), ClientState::Authenticated);
}

#[test]
fn literal_refused_with_no_instead_of_continuation_ends_the_command() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    let t = login_with_literal(&mut c);
    let _ = sent(&mut c);
    let ev = feed(&mut c, format!("{t} NO [LIMIT] too long\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{t} NO [Limit]")]);
    assert_eq!(c.poll_transmit(), None, "the literal is never sent");
    let n = c.noop().unwrap();
    assert_eq!(sent(&mut c), format!("{n} NOOP\r\n"));
}

#[test]
fn literal_plus_sends_everything_at_once() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n",
    );
    let t = login_with_literal(&mut c);
    assert_eq!(sent(&mut c), format!("{t} LOGIN fred {{5+}}\r\npa\rss\r\n"));
}

#[test]
fn literal_minus_only_for_small_literals() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* OK [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n",
    );
    let big = "\n".repeat(5000);
    let t = c.login(&big, &Secret::new("a\rb".into())).unwrap();
    let first = sent(&mut c);
    assert_eq!(first, format!("{t} LOGIN {{5000}}\r\n"));
    let _ = feed(&mut c, b"+ \r\n");
    assert_eq!(sent(&mut c), format!("{big} {{3+}}\r\na\rb\r\n"));
}

#[test]
fn sasl_ir_inline_when_offered() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n",
    );
    let ir = Secret::new(b"\0u\0p".to_vec());
    let t = c
        .authenticate(Atom::new("PLAIN").unwrap(), Some(ir), Box::new(|_| None))
        .unwrap();
    assert_eq!(sent(&mut c), format!("{t} AUTHENTICATE PLAIN AHUAcA==\r\n"));
    let ev = feed(&mut c, format!("{t} OK welcome\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{t} OK")]);
    // No CAPABILITY code in the OK: the engine asks again (RFC 9051 §6.2.2).
    assert_eq!(c.capabilities(), None);
    assert!(sent(&mut c).ends_with(" CAPABILITY\r\n"));
}

#[test]
fn without_sasl_ir_the_initial_response_answers_the_empty_challenge() {
    let (mut c, _) = greeted(
        ClientOptions::default().with_refresh_capabilities(false),
        b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
    );
    let ir = Secret::new(b"\0u\0p".to_vec());
    let t = c
        .authenticate(Atom::new("PLAIN").unwrap(), Some(ir), Box::new(|_| None))
        .unwrap();
    assert_eq!(sent(&mut c), format!("{t} AUTHENTICATE PLAIN\r\n"));
    assert!(feed(&mut c, b"+ \r\n").is_empty());
    assert_eq!(sent(&mut c), "AHUAcA==\r\n");
}

#[test]
fn sasl_challenges_go_through_the_step_function_and_none_cancels() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    let mut round = 0;
    let step = Box::new(move |ch: &[u8]| {
        round += 1;
        (round == 1).then(|| [ch, b"!"].concat())
    });
    let t = c
        .authenticate(Atom::new("X-TEST").unwrap(), None, step)
        .unwrap();
    let _ = sent(&mut c);
    let _ = feed(&mut c, b"+ aGk=\r\n");
    assert_eq!(sent(&mut c), "aGkh\r\n", "base64 of \"hi!\"");
    let ev = feed(&mut c, b"+ aGk=\r\n");
    assert_eq!(briefs(&ev), [format!("{t} auth-cancelled")]);
    assert_eq!(sent(&mut c), "*\r\n");
    let ev = feed(&mut c, format!("{t} BAD cancelled\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{t} BAD")]);
    assert_eq!(c.state(), ClientState::NotAuthenticated);
}

#[test]
fn login_refused_when_the_server_says_logindisabled() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
    );
    let err = c.login("fred", &Secret::new("pw".into())).unwrap_err();
    assert_eq!(err, UsageError::LoginDisabled);
    assert_eq!(c.poll_transmit(), None);
    // Queued before the greeting announced it: refused when it would be sent.
    let mut c = Client::new(ClientOptions::default(), Instant::now());
    let t = c.login("fred", &Secret::new("pw".into())).unwrap();
    assert_eq!(c.poll_transmit(), None, "nothing before the greeting");
    let ev = feed(
        &mut c,
        b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n",
    );
    assert_eq!(
        briefs(&ev),
        ["greeting OK [Capability]", &format!("{t} refused")]
    );
    assert_eq!(c.poll_transmit(), None, "the password never goes out");
}

#[test]
fn starttls_drops_what_came_in_the_clear_and_refreshes_capabilities() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
    );
    let t = c.starttls().unwrap();
    let n = c.noop().unwrap();
    assert_eq!(sent(&mut c), format!("{t} STARTTLS\r\n"), "NOOP waits");
    let ev = feed(
        &mut c,
        format!("{t} OK begin TLS\r\n* 99 EXISTS\r\n{n} OK injected\r\n").as_bytes(),
    );
    assert_eq!(briefs(&ev), [format!("{t} OK"), "starttls".into()]);
    assert_eq!(c.capabilities(), None, "stale after STARTTLS");
    assert_eq!(c.poll_transmit(), None, "nothing until TLS is up");
    c.handle_input(b"* 98 EXISTS\r\n");
    assert_eq!(c.poll_event(), None, "clear-text input is dropped");
    c.tls_established().unwrap();
    let out = sent(&mut c);
    assert!(
        out.ends_with(&format!(" CAPABILITY\r\n{n} NOOP\r\n")),
        "{out}"
    );
    let cap_tag = out.split(' ').next().unwrap().to_owned();
    let ev = feed(
        &mut c,
        format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{cap_tag} OK\r\n{n} OK\r\n").as_bytes(),
    );
    assert_eq!(briefs(&ev), ["* CAPABILITY", &format!("{n} OK")]);
    assert!(c.has_capability("auth=plain") && !c.has_capability("LOGINDISABLED"));
    assert_eq!(c.tls_established(), Err(UsageError::NoTlsPending));
}

#[test]
fn idle_reports_exists_and_done_waits_for_the_continuation() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    assert_eq!(c.state(), ClientState::Authenticated);
    let t = c.idle().unwrap();
    assert_eq!(sent(&mut c), format!("{t} IDLE\r\n"));
    c.idle_done().unwrap(); // before `+`: DONE is held back
    assert_eq!(c.poll_transmit(), None);
    let ev = feed(&mut c, b"+ idling\r\n* 5 EXISTS\r\n* 2 EXPUNGE\r\n");
    assert_eq!(
        briefs(&ev),
        [
            format!("{t} idling"),
            "* 5 EXISTS".into(),
            "* 2 EXPUNGE".into()
        ]
    );
    assert_eq!(sent(&mut c), "DONE\r\n");
    let ev = feed(&mut c, format!("{t} OK done\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{t} OK")]);
    assert_eq!(c.idle_done(), Err(UsageError::NotIdling));
}

#[test]
fn idle_renew_timer_fires_while_idling() {
    let now = Instant::now();
    let mut c = Client::new(ClientOptions::default(), now);
    let _ = feed(&mut c, b"* PREAUTH ready\r\n");
    let t = c.idle().unwrap();
    let _ = sent(&mut c);
    let _ = feed(&mut c, b"+ idling\r\n");
    let at = c.poll_timeout().unwrap();
    c.handle_timeout(at);
    let ev = drain(&mut c);
    assert!(
        ev.contains(&ClientEvent::Timeout(TimeoutKind::IdleRenew)),
        "{ev:?}"
    );
    assert!(!c.is_closed());
    c.idle_done().unwrap();
    assert_eq!(sent(&mut c), "DONE\r\n");
    let ev = feed(&mut c, format!("{t} OK\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{t} OK")]);
}

#[test]
fn server_bye_mid_session_abandons_outstanding_commands() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let a = c.send(CommandBody::Namespace).unwrap();
    let b = c.idle().unwrap();
    let _ = sent(&mut c);
    let ev = feed(&mut c, b"* BYE [UNAVAILABLE] shutting down\r\n");
    assert_eq!(
        briefs(&ev),
        [
            "* BYE [Unavailable]".to_owned(),
            format!("{a} abandoned"),
            format!("{b} abandoned"),
            "closed Bye".into()
        ]
    );
    assert!(c.is_closed());
    assert_eq!(c.noop(), Err(UsageError::Closed));
}

#[test]
fn greeting_bye_closes_and_garbage_greeting_is_an_error() {
    let (c, ev) = greeted(ClientOptions::default(), b"* BYE go away\r\n");
    assert_eq!(briefs(&ev), ["greeting BYE", "closed Bye"]);
    assert!(c.is_closed());
    let (_, ev) = greeted(ClientOptions::default(), b"a1 OK hello\r\n");
    assert_eq!(
        ev.last(),
        Some(&ClientEvent::Closed(CloseReason::Protocol(
            ClientError::BadGreeting
        )))
    );
}

#[test]
fn garbage_from_the_server_is_a_typed_error_and_closes() {
    for junk in [
        &b"\x00\x01\xff garbage\r\n"[..],
        b"zz9 OK who are you\r\n",
        b"+ nobody asked\r\n",
        b"* 1 FETCH (FLAGS (\\Seen)\r\n",
    ] {
        let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
        let t = c.noop().unwrap();
        let _ = sent(&mut c);
        let ev = feed(&mut c, junk);
        assert!(
            matches!(
                ev.as_slice(),
                [ClientEvent::Abandoned { tag }, ClientEvent::Closed(CloseReason::Protocol(_))]
                    if *tag == t
            ),
            "{junk:?}: {ev:?}"
        );
        assert!(c.is_closed());
        assert_eq!(c.poll_transmit(), None);
    }
}

#[test]
fn independent_commands_are_pipelined_and_completions_matched_by_tag() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let s = c.select(MailboxName::Inbox).unwrap();
    let expunge = c.send(CommandBody::Expunge).unwrap();
    let status = c
        .send(CommandBody::Status {
            mailbox: MailboxName::from_utf8("Sent").unwrap(),
            items: vec![mailhub_imap_proto::command::StatusItem::Messages],
        })
        .unwrap();
    let fetch_seq = c
        .send(
            mailhub_imap_proto::Command::parse(b"x FETCH 1:* FLAGS\r\n")
                .unwrap()
                .body,
        )
        .unwrap();
    // SELECT is a barrier.
    assert_eq!(sent(&mut c), format!("{s} SELECT INBOX\r\n"));
    let _ = feed(
        &mut c,
        format!("* 3 EXISTS\r\n{s} OK [READ-WRITE] ok\r\n").as_bytes(),
    );
    assert_eq!(c.state(), ClientState::Selected);
    // EXPUNGE and STATUS go together; FETCH by sequence number waits for the EXPUNGE.
    assert_eq!(
        sent(&mut c),
        format!("{expunge} EXPUNGE\r\n{status} STATUS Sent (MESSAGES)\r\n")
    );
    let ev = feed(
        &mut c,
        format!("* STATUS Sent (MESSAGES 2)\r\n{status} OK\r\n* 1 EXPUNGE\r\n").as_bytes(),
    );
    assert_eq!(
        briefs(&ev),
        [
            "* STATUS".to_owned(),
            format!("{status} OK"),
            "* 1 EXPUNGE".into()
        ]
    );
    assert_eq!(c.poll_transmit(), None);
    let ev = feed(&mut c, format!("{expunge} OK\r\n").as_bytes());
    assert_eq!(briefs(&ev), [format!("{expunge} OK")]);
    assert_eq!(sent(&mut c), format!("{fetch_seq} FETCH 1:* (FLAGS)\r\n"));
}

#[test]
fn failed_select_leaves_the_authenticated_state() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let s = c.select(MailboxName::Inbox).unwrap();
    let _ = sent(&mut c);
    let _ = feed(&mut c, format!("{s} OK\r\n").as_bytes());
    let s2 = c.select(MailboxName::from_utf8("nope").unwrap()).unwrap();
    let _ = sent(&mut c);
    let ev = feed(&mut c, format!("{s2} NO [NONEXISTENT] no\r\n").as_bytes());
    assert!(matches!(
        &ev[0],
        ClientEvent::Completed {
            kind: StatusKind::No,
            ..
        }
    ));
    assert_eq!(c.state(), ClientState::Authenticated);
}

#[test]
fn ten_megabyte_fetch_body_streams_in_chunks() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let size = 10 * 1024 * 1024;
    let body: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = format!("* 7 FETCH (UID 42 BODY[] {{{size}}}\r\n").into_bytes();
    input.extend_from_slice(&body);
    input.extend_from_slice(b" FLAGS (\\Seen))\r\n");
    let mut got = Vec::new();
    let mut chunks = 0;
    let mut events = Vec::new();
    for read in input.chunks(64 * 1024) {
        for e in feed(&mut c, read) {
            match e {
                ClientEvent::FetchBodyChunk { seq, data, last } => {
                    assert_eq!(seq.get(), 7);
                    assert!(data.len() <= 64 * 1024, "a chunk is at most one read");
                    got.extend_from_slice(&data);
                    chunks += 1;
                    assert_eq!(last, got.len() == size);
                }
                e => events.push(e),
            }
        }
    }
    assert!(got == body, "the body arrives whole and in order");
    assert!(chunks >= 160);
    assert!(matches!(
        &events[0],
        ClientEvent::FetchBodyStart { item: StreamedItem::Body { section, origin: None }, length, .. }
            if section.part.is_empty() && section.text.is_none() && *length == size as u64
    ));
    let ClientEvent::Data(Data::Fetch { seq, items }) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(seq.get(), 7);
    assert!(matches!(&items[0], MessageData::Uid(u) if u.get() == 42));
    assert!(
        matches!(&items[1], MessageData::BodySection { data, .. } if data.as_bytes() == Some(&b""[..])),
        "streamed data is not repeated"
    );
    assert!(matches!(&items[2], MessageData::Flags(_)));
}

#[test]
fn small_fetch_bodies_are_not_streamed() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let ev = feed(&mut c, b"* 1 FETCH (BODY[TEXT] {5}\r\nhello)\r\n");
    assert!(matches!(
        &ev[..],
        [ClientEvent::Data(Data::Fetch { items, .. })]
            if matches!(&items[0], MessageData::BodySection { data, .. } if data.as_bytes() == Some(&b"hello"[..]))
    ));
}

#[test]
fn streamed_append_waits_for_continuation_then_takes_the_data() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let flags = Some(vec![mailhub_imap_proto::Flag::Seen]);
    let t = c
        .append_streamed(
            MailboxName::from_utf8("Sent").unwrap(),
            flags,
            None,
            11,
            false,
        )
        .unwrap();
    assert_eq!(sent(&mut c), format!("{t} APPEND Sent (\\Seen) {{11}}\r\n"));
    assert_eq!(c.append_data(b"x"), Err(UsageError::NoAppendInProgress));
    let ev = feed(&mut c, b"+ Ready\r\n");
    assert_eq!(briefs(&ev), [format!("{t} append-ready")]);
    c.append_data(b"Hello ").unwrap();
    assert_eq!(
        c.append_data(b"World!"),
        Err(UsageError::AppendOverrun { extra: 1 })
    );
    c.append_data(b"World").unwrap();
    assert_eq!(sent(&mut c), "Hello World\r\n");
    let ev = feed(
        &mut c,
        format!("{t} OK [APPENDUID 38505 3955] done\r\n").as_bytes(),
    );
    assert_eq!(briefs(&ev), [format!("{t} OK [AppendUid]")]);
}

#[test]
fn streamed_append_with_literal_plus_is_ready_at_once() {
    let (mut c, _) = greeted(
        ClientOptions::default(),
        b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n",
    );
    let t = c
        .append_streamed(MailboxName::Inbox, None, None, 3, false)
        .unwrap();
    let ev = drain(&mut c);
    assert_eq!(briefs(&ev), [format!("{t} append-ready")]);
    c.append_data(b"abc").unwrap();
    assert_eq!(sent(&mut c), format!("{t} APPEND INBOX {{3+}}\r\nabc\r\n"));
}

#[test]
fn silent_server_times_out_and_activity_rearms_the_timer() {
    let now = Instant::now();
    let opts = ClientOptions::default().with_response_timeout(Duration::from_secs(10));
    let mut c = Client::new(opts.clone(), now);
    c.handle_timeout(now + Duration::from_secs(11));
    assert_eq!(
        briefs(&drain(&mut c)),
        ["timeout Greeting", "closed Timeout"]
    );
    let mut c = Client::new(opts, now);
    let _ = feed(&mut c, PLAIN);
    let t = c.noop().unwrap();
    let _ = sent(&mut c);
    // Activity since the timer was armed: it re-arms instead of firing.
    c.handle_timeout(now + Duration::from_secs(10));
    assert!(drain(&mut c).is_empty());
    let at = c.poll_timeout().unwrap();
    assert_eq!(at, now + Duration::from_secs(20));
    c.handle_timeout(at);
    assert_eq!(
        briefs(&drain(&mut c)),
        [
            "timeout Response".to_owned(),
            format!("{t} abandoned"),
            "closed Timeout".into()
        ]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn caller_tags_are_kept_and_duplicates_refused() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    c.send_with_tag(tag("x1"), CommandBody::Noop).unwrap();
    assert_eq!(
        c.send_with_tag(tag("x1"), CommandBody::Noop),
        Err(UsageError::TagInUse(tag("x1")))
    );
    assert_eq!(
        c.send(CommandBody::Idle),
        Err(UsageError::UseDedicatedMethod("IDLE"))
    );
    assert_eq!(sent(&mut c), "x1 NOOP\r\n");
}

#[test]
fn logout_bye_then_ok_closes_cleanly() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    let t = c.logout().unwrap();
    let _ = sent(&mut c);
    let ev = feed(&mut c, format!("* BYE bye\r\n{t} OK done\r\n").as_bytes());
    assert_eq!(
        briefs(&ev),
        [
            "* BYE".to_owned(),
            format!("{t} OK"),
            "closed Logout".into()
        ]
    );
}

#[test]
fn unknown_untagged_data_is_reported_raw_not_fatal() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let t = c.noop().unwrap();
    let _ = sent(&mut c);
    let ev = feed(
        &mut c,
        format!("* METADATA \"INBOX\" (/shared/comment \"x\")\r\n{t} OK\r\n").as_bytes(),
    );
    assert_eq!(
        ev[0],
        ClientEvent::UnknownData(b"* METADATA \"INBOX\" (/shared/comment \"x\")\r\n".to_vec())
    );
    assert_eq!(briefs(&ev[1..]), [format!("{t} OK")]);
    // A known kind that is malformed is still a protocol error.
    let ev = feed(&mut c, b"* LIST garbage\r\n");
    assert!(matches!(
        ev.last(),
        Some(ClientEvent::Closed(CloseReason::Protocol(_)))
    ));
}

#[test]
fn compress_hands_back_the_compressed_octets_that_followed_the_ok() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let t = c
        .send(CommandBody::Compress(Atom::new("DEFLATE").unwrap()))
        .unwrap();
    let n = c.noop().unwrap();
    assert_eq!(
        sent(&mut c),
        format!("{t} COMPRESS DEFLATE\r\n"),
        "NOOP waits"
    );
    let mut input = format!("{t} OK go\r\n").into_bytes();
    input.extend_from_slice(b"\x78\x9c\x01\x02");
    let ev = feed(&mut c, &input);
    assert_eq!(
        ev,
        [
            ClientEvent::Completed {
                tag: t,
                kind: StatusKind::Ok,
                code: None,
                text: "go".into()
            },
            ClientEvent::CompressionStarted {
                pending: b"\x78\x9c\x01\x02".to_vec()
            }
        ]
    );
    assert_eq!(sent(&mut c), format!("{n} NOOP\r\n"));
}

#[test]
fn unsolicited_exists_expunge_fetch_and_vanished_arrive_as_typed_data() {
    let (mut c, _) = greeted(ClientOptions::default(), b"* PREAUTH ready\r\n");
    let t = c
        .send(
            mailhub_imap_proto::Command::parse(b"x UID FETCH 1:* (FLAGS)\r\n")
                .unwrap()
                .body,
        )
        .unwrap();
    let _ = sent(&mut c);
    let ev = feed(
        &mut c,
        format!(
            "* 9 EXISTS\r\n* 3 EXPUNGE\r\n* 4 FETCH (FLAGS (\\Seen) UID 7)\r\n\
             * VANISHED 41,43:45\r\n* VANISHED (EARLIER) 1:2\r\n{t} OK\r\n"
        )
        .as_bytes(),
    );
    assert!(matches!(ev[0], ClientEvent::Data(Data::Exists(9))));
    assert!(matches!(&ev[1], ClientEvent::Data(Data::Expunge(n)) if n.get() == 3));
    assert!(
        matches!(&ev[2], ClientEvent::Data(Data::Fetch { seq, items }) if seq.get() == 4 && items.len() == 2)
    );
    assert!(matches!(
        &ev[3],
        ClientEvent::Data(Data::Vanished { earlier: false, .. })
    ));
    assert!(matches!(
        &ev[4],
        ClientEvent::Data(Data::Vanished { earlier: true, .. })
    ));
    assert_eq!(briefs(&ev[5..]), [format!("{t} OK")]);
}

#[test]
fn two_synchronising_literals_each_wait_for_their_continuation() {
    let (mut c, _) = greeted(ClientOptions::default(), PLAIN);
    let t = c.login("fr\red", &Secret::new("pa\rss".into())).unwrap();
    assert_eq!(sent(&mut c), format!("{t} LOGIN {{5}}\r\n"));
    let _ = feed(&mut c, b"+ \r\n");
    assert_eq!(sent(&mut c), "fr\red {5}\r\n");
    assert_eq!(c.poll_transmit(), None);
    let _ = feed(&mut c, b"+ \r\n");
    assert_eq!(sent(&mut c), "pa\rss\r\n");
}

#[test]
fn at_most_max_in_flight_commands_are_on_the_wire() {
    let mut opts = ClientOptions::default();
    opts.max_in_flight = 2;
    let (mut c, _) = greeted(opts, b"* PREAUTH hi\r\n");
    let tags: Vec<Tag> = (0..3).map(|_| c.noop().unwrap()).collect();
    assert_eq!(
        sent(&mut c),
        format!("{} NOOP\r\n{} NOOP\r\n", tags[0], tags[1])
    );
    let _ = feed(&mut c, format!("{} OK\r\n", tags[1]).as_bytes());
    assert_eq!(sent(&mut c), format!("{} NOOP\r\n", tags[2]));
    assert_eq!(c.pending_commands(), 2);
}
