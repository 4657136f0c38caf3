//! The examples of RFC 1939 §10, RFC 2449 §5 and §8.1.2, and RFC 5034 §3 and §6, replayed as
//! `C:`/`S:` transcripts against the server engine and, where the client's lines are fixed by
//! the example, against the client engine too.

mod common;

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{Backend, Script, Step, lines, now, parse_transcript, replay_server, same_line};
use mailhub_pop3_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_pop3_proto::server::{PlaintextPolicy, Server, ServerOptions};
use mailhub_pop3_proto::{Capability, CommandKind, Expire, ListEntry, Secret};

const APOP_TS: &str = "<1896.697170952@dbc.mtview.ca.us>";

/// A message of exactly `size` octets with CRLF line ends.
fn message(size: usize, subject: &str, dot_line: bool) -> Vec<u8> {
    let mut m = format!("Subject: {subject}\r\n\r\n").into_bytes();
    if dot_line {
        m.extend_from_slice(b".a line starting with a dot\r\n");
    }
    while m.len() + 2 < size {
        let room = size - m.len() - 2;
        let line = "x".repeat(room.min(60));
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    assert_eq!(m.len(), size);
    m
}

const RFC1939_SECTION10: &str = "
      S:    +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
      C:    APOP mrose c4c9334bac560ecc979e58001b3e22fb
      S:    +OK mrose's maildrop has 2 messages (320 octets)
      C:    STAT
      S:    +OK 2 320
      C:    LIST
      S:    +OK 2 messages (320 octets)
      S:    1 120
      S:    2 200
      S:    .
      C:    RETR 1
      S:    +OK 120 octets
      S:    <message 1>
      S:    .
      C:    DELE 1
      S:    +OK message 1 deleted
      C:    RETR 2
      S:    +OK 200 octets
      S:    <message 2>
      S:    .
      C:    DELE 2
      S:    +OK message 2 deleted
      C:    QUIT
      S:    +OK dewey POP3 server signing off (maildrop empty)
";

fn rfc1939_backend() -> Backend {
    let mut b = Backend::default().with_user("mrose", "tanstaaf");
    b.messages = vec![message(120, "one", false), message(200, "two", true)];
    b
}

fn rfc1939_options() -> ServerOptions {
    ServerOptions {
        apop_timestamp: Some(APOP_TS.into()),
        ..ServerOptions::default()
    }
}

#[test]
fn rfc1939_section10_server() {
    let mut backend = rfc1939_backend();
    let mut server = Server::new(rfc1939_options(), now());
    replay_server(&mut server, &mut backend, RFC1939_SECTION10);
    assert_eq!(backend.updates, 1);
    let deleted: Vec<u32> = backend.deleted.iter().map(|m| m.msg).collect();
    assert_eq!(deleted, [1, 2]);
    assert!(server.poll_transmit().is_none());
    assert!(server.is_closed());
}

/// Feeds the transcript's `S:` lines to the client and checks that it sends the `C:` lines.
fn replay_client(client: &mut Client, transcript: &str, messages: &[Vec<u8>]) -> Vec<ClientEvent> {
    let steps = parse_transcript(transcript, messages);
    let mut events = Vec::new();
    let mut sent: VecDeque<String> = VecDeque::new();
    for step in steps {
        match step {
            Step::Server(line) => {
                client.handle_input(format!("{line}\r\n").as_bytes());
                while let Some(ev) = client.poll_event() {
                    if ev == ClientEvent::StartTls {
                        client.tls_established().unwrap();
                    }
                    events.push(ev);
                }
            }
            Step::Client(expected) => {
                if sent.is_empty() {
                    sent.extend(lines(&client.poll_transmit().unwrap_or_default()));
                }
                let actual = sent
                    .pop_front()
                    .unwrap_or_else(|| panic!("client did not send {expected:?}"));
                assert_eq!(actual, expected);
            }
        }
    }
    assert!(sent.is_empty(), "client sent more: {sent:?}");
    events
}

#[test]
fn rfc1939_section10_client() {
    let messages = rfc1939_backend().messages;
    let mut client = Client::new(ClientOptions::default(), now());
    client.apop("mrose", &Secret::from("tanstaaf")).unwrap_err(); // no greeting yet
    // Queue the session's commands as soon as the greeting is in.
    client.handle_input(format!("+OK POP3 server ready {APOP_TS}\r\n").as_bytes());
    let ev = client.poll_event().unwrap();
    assert!(matches!(ev, ClientEvent::Greeting { timestamp: Some(ref t), .. } if t == APOP_TS));
    client.apop("mrose", &Secret::from("tanstaaf")).unwrap();
    client.stat().unwrap();
    client.list(None).unwrap();
    client.retr(1).unwrap();
    client.dele(1).unwrap();
    client.retr(2).unwrap();
    client.dele(2).unwrap();
    client.quit().unwrap();
    let rest: String = RFC1939_SECTION10
        .lines()
        .skip(2)
        .collect::<Vec<_>>()
        .join("\n");
    let events = replay_client(&mut client, &rest, &messages);

    assert!(client.is_authenticated());
    assert!(events.contains(&ClientEvent::Stat {
        count: 2,
        size: 320
    }));
    assert!(events.contains(&ClientEvent::List(vec![
        ListEntry { msg: 1, size: 120 },
        ListEntry { msg: 2, size: 200 }
    ])));
    // The bodies come back unstuffed and whole.
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for ev in &events {
        match ev {
            ClientEvent::MessageStart { .. } => bodies.push(Vec::new()),
            ClientEvent::MessageChunk(c) => bodies.last_mut().unwrap().extend_from_slice(c),
            _ => {}
        }
    }
    assert_eq!(bodies, messages);
    assert!(matches!(events.last(), Some(ClientEvent::Closed(_))));
}

#[test]
fn rfc2449_capa_example() {
    let transcript = "
             C: CAPA
             S: +OK Capability list follows
             S: TOP
             S: USER
             S: SASL CRAM-MD5 KERBEROS_V4
             S: RESP-CODES
             S: LOGIN-DELAY 900
             S: PIPELINING
             S: EXPIRE 60
             S: UIDL
             S: IMPLEMENTATION Shlemazle-Plotz-v302
             S: .
    ";
    let options = ServerOptions {
        plaintext: PlaintextPolicy::Always,
        sasl_mechanisms: vec!["CRAM-MD5".into(), "KERBEROS_V4".into()],
        login_delay: Some((900, false)),
        expire: Some((Expire::Days(60), false)),
        implementation: Some("Shlemazle-Plotz-v302".into()),
        ..ServerOptions::default()
    };
    let mut server = Server::new(options, now());
    let mut backend = Backend::default();
    let full = format!("S: +OK POP3 server ready\n{transcript}");
    replay_server(&mut server, &mut backend, &full);

    // The client reads the same answer into typed capabilities and turns pipelining on.
    let mut client = Client::new(ClientOptions::default(), now());
    client.capa().unwrap();
    let events = replay_client(&mut client, &full, &[]);
    let Some(ClientEvent::Capabilities(caps)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(caps.len(), 9);
    assert!(caps.contains(&Capability::LoginDelay {
        seconds: 900,
        per_user: false
    }));
    assert!(client.is_pipelining());
}

#[test]
fn rfc2449_in_use_example() {
    let transcript = "
           S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
           C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
           S: -ERR [IN-USE] Do you have another POP session running?
    ";
    let mut backend = rfc1939_backend();
    backend.locked_by_other = true;
    let mut server = Server::new(rfc1939_options(), now());
    replay_server(&mut server, &mut backend, transcript);
    assert_eq!(
        server.state(),
        mailhub_pop3_proto::server::State::Authorization
    );
}

fn rfc5034_options() -> ServerOptions {
    ServerOptions {
        greeting: "pop.example.com BlurdyBlurp POP3 server ready".into(),
        plaintext: PlaintextPolicy::Never,
        stls: true,
        user_pass: false,
        top: false,
        uidl: false,
        pipelining: false,
        resp_codes: false,
        sasl_mechanisms: ["PLAIN", "DIGEST-MD5", "GSSAPI", "ANONYMOUS"]
            .map(String::from)
            .to_vec(),
        implementation: Some("BlurdyBlurp POP3 server".into()),
        ..ServerOptions::default()
    }
}

const RFC5034_PLAIN_IR: &str = "
        S: +OK pop.example.com BlurdyBlurp POP3 server ready
        C: CAPA
        S: +OK List of capabilities follows
        S: SASL DIGEST-MD5 GSSAPI ANONYMOUS
        S: STLS
        S: IMPLEMENTATION BlurdyBlurp POP3 server
        S: .
        C: STLS
        S: +OK Begin TLS negotiation now
        C: CAPA
        S: +OK List of capabilities follows
        S: SASL PLAIN DIGEST-MD5 GSSAPI ANONYMOUS
        S: IMPLEMENTATION BlurdyBlurp POP3 server
        S: .
        C: AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=
        S: +OK Maildrop locked and ready
";

const RFC5034_PLAIN_NO_IR: &str = "
        S: +OK pop.example.com BlurdyBlurp POP3 server ready
        C: STLS
        S: +OK Begin TLS negotiation now
        C: CAPA
        S: +OK List of capabilities follows
        S: SASL PLAIN DIGEST-MD5 GSSAPI ANONYMOUS
        S: IMPLEMENTATION BlurdyBlurp POP3 server
        S: .
        C: AUTH PLAIN
        S: +
        C: dGVzdAB0ZXN0AHRlc3Q=
        S: +OK Maildrop locked and ready
";

// RFC 5034 §6, third example; the RFC breaks the long lines for editorial clarity only.
const DIGEST_CHALLENGE_1: &str = "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA==";
const DIGEST_RESPONSE_1: &str = "Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iY2hyaXMiLHJlYWxtPSJlbHdvb2QuaW5ub3NvZnQuY29tIixub25jZT0iT0E2TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9InBvcC9lbHdvb2QuaW5ub3NvZnQuY29tIixyZXNwb25zZT1iMGQ1NmQyZjA1NGMyNGI2MjA3MjMyMjEwNjQ2OGRiOSxxb3A9YXV0aA==";
const DIGEST_CHALLENGE_2: &str = "cnNwYXV0aD0wYjk3MTQ2MmNlZjVlOGY5MzBkYjlhMzNiMDJmYzlhMA==";

fn rfc5034_digest_transcript() -> String {
    format!(
        "
         S: +OK pop.example.com BlurdyBlurp POP3 server ready
         C: CAPA
         S: +OK List of capabilities follows
         S: SASL DIGEST-MD5 GSSAPI ANONYMOUS
         S: STLS
         S: IMPLEMENTATION BlurdyBlurp POP3 server
         S: .
         C: AUTH DIGEST-MD5
         S: + {DIGEST_CHALLENGE_1}
         C: {DIGEST_RESPONSE_1}
         S: + {DIGEST_CHALLENGE_2}
         C:
         S: +OK Maildrop locked and ready
"
    )
}

fn rfc5034_backend() -> Backend {
    let mut b = Backend::default().with_user("test", "test");
    let d = |s: &str| BASE64.decode(s).unwrap();
    b.scripts.insert(
        "DIGEST-MD5".into(),
        Script {
            challenges: vec![d(DIGEST_CHALLENGE_1), d(DIGEST_CHALLENGE_2)],
            responses: vec![d(DIGEST_RESPONSE_1), Vec::new()],
            user: "chris".into(),
        },
    );
    b
}

#[test]
fn rfc5034_examples_server() {
    for transcript in [
        RFC5034_PLAIN_IR.to_owned(),
        RFC5034_PLAIN_NO_IR.to_owned(),
        rfc5034_digest_transcript(),
    ] {
        let mut backend = rfc5034_backend();
        let mut server = Server::new(rfc5034_options(), now());
        replay_server(&mut server, &mut backend, &transcript);
        assert_eq!(
            server.state(),
            mailhub_pop3_proto::server::State::Transaction
        );
        assert_eq!(backend.logins.len(), 1);
    }
}

#[test]
fn rfc5034_examples_client() {
    let plain = b"test\0test\0test".to_vec();

    let mut c = Client::new(ClientOptions::default(), now());
    c.capa().unwrap();
    c.stls().unwrap();
    c.capa().unwrap();
    c.auth(
        "PLAIN",
        Some(Secret::new(plain.clone())),
        Box::new(|_| None),
    )
    .unwrap();
    let ev = replay_client(&mut c, RFC5034_PLAIN_IR, &[]);
    assert!(ev.contains(&ClientEvent::StartTls));
    assert!(c.is_authenticated());

    let mut c = Client::new(ClientOptions::default(), now());
    c.stls().unwrap();
    c.capa().unwrap();
    let ir = plain.clone();
    c.auth(
        "PLAIN",
        None,
        Box::new(move |challenge| challenge.is_empty().then(|| ir.clone())),
    )
    .unwrap();
    replay_client(&mut c, RFC5034_PLAIN_NO_IR, &[]);
    assert!(c.is_authenticated());

    let mut c = Client::new(ClientOptions::default(), now());
    c.capa().unwrap();
    let mut round = 0;
    c.auth(
        "DIGEST-MD5",
        None,
        Box::new(move |challenge| {
            round += 1;
            match round {
                1 => {
                    assert_eq!(challenge, BASE64.decode(DIGEST_CHALLENGE_1).unwrap());
                    Some(BASE64.decode(DIGEST_RESPONSE_1).unwrap())
                }
                _ => Some(Vec::new()),
            }
        }),
    )
    .unwrap();
    let ev = replay_client(&mut c, &rfc5034_digest_transcript(), &[]);
    assert!(ev.iter().any(
        |e| matches!(e, ClientEvent::Reply { command: CommandKind::Auth, status } if status.is_ok())
    ));
}

#[test]
fn transcript_comparison_can_fail() {
    // The runner's line comparison must tell different answers apart.
    assert!(!same_line("+OK 2 320", "-ERR no"));
    assert!(!same_line("-ERR [IN-USE] x", "-ERR [AUTH] x"));
    assert!(!same_line("1 120", "1 121"));
    assert!(!same_line("+OK ready <a@b>", "+OK ready <c@d>"));
    assert!(same_line("+OK 2 messages (320 octets)", "+OK 2 messages"));
}
