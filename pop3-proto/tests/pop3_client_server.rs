//! The client engine against the server engine, in memory: a whole session with awkward
//! message bodies and chunkings, pipelining on and off, STLS, AUTH with a held-back initial
//! response, and the client's own failure modes.

mod common;

use std::time::Duration;

use common::{Backend, now, pump};
use mailhub_pop3_proto::client::{Client, ClientCloseReason, ClientEvent, ClientOptions};
use mailhub_pop3_proto::server::{Server, ServerOptions};
use mailhub_pop3_proto::{CommandKind, ListEntry, RespCode, Secret};

/// What a message looks like on the wire after unstuffing: CRLF line ends, ending in CRLF.
fn normalized(m: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in m.iter().enumerate() {
        if b == b'\n' && (i == 0 || m[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if out.ends_with(b"\r") {
        out.push(b'\n');
    } else if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

const AWKWARD: [&[u8]; 6] = [
    b"Subject: plain\r\n\r\nbody\r\n",
    b"Subject: lf only\n\n.\n..\n...x\nend\n",
    b"Subject: no final newline\r\n\r\nlast line",
    b".starts with a dot\r\n\r\n.\r\n",
    b"",
    b"Subject: cr\r\n\r\nends with cr\r",
];

fn bodies(events: &[ClientEvent]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut open = false;
    for ev in events {
        match ev {
            ClientEvent::MessageStart { .. } => {
                assert!(!open);
                open = true;
                out.push(Vec::new());
            }
            ClientEvent::MessageChunk(c) => out.last_mut().unwrap().extend_from_slice(c),
            ClientEvent::MessageEnd => open = false,
            _ => {}
        }
    }
    assert!(!open, "a body did not end");
    out
}

fn session(chunk_size: usize, pipelining: bool) {
    let mut backend = Backend::default()
        .with_user("alice", "secret")
        .with_messages(&AWKWARD);
    backend.chunk_size = chunk_size;
    let opts = ServerOptions {
        loopback: true,
        pipelining,
        ..ServerOptions::default()
    };
    let mut server = Server::new(opts, now());
    let mut client = Client::new(ClientOptions::default(), now());
    client.capa().unwrap();
    pump(&mut client, &mut server, &mut backend);
    assert_eq!(client.is_pipelining(), pipelining);

    client.login("alice", Secret::from("secret")).unwrap();
    client.stat().unwrap();
    client.list(None).unwrap();
    client.uidl(Some(2)).unwrap();
    for n in 1..=AWKWARD.len() as u32 {
        client.retr(n).unwrap();
    }
    client.top(2, 1).unwrap();
    client.dele(1).unwrap();
    client.dele(1).unwrap();
    client.quit().unwrap();
    let events = pump(&mut client, &mut server, &mut backend);

    let expected: Vec<Vec<u8>> = AWKWARD.iter().map(|m| normalized(m)).collect();
    let got = bodies(&events);
    assert_eq!(got[..AWKWARD.len()], expected[..], "chunk {chunk_size}");
    assert_eq!(got[AWKWARD.len()], b"Subject: lf only\r\n\r\n.\r\n");
    let sizes: Vec<u64> = AWKWARD.iter().map(|m| common::crlf_size(m)).collect();
    assert!(events.contains(&ClientEvent::Stat {
        count: 6,
        size: sizes.iter().sum()
    }));
    let list: Vec<ListEntry> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| ListEntry {
            msg: i as u32 + 1,
            size,
        })
        .collect();
    assert!(events.contains(&ClientEvent::List(list)));
    assert!(events.iter().any(
        |e| matches!(e, ClientEvent::Uidl(v) if v.len() == 1 && v[0].uid.as_str() == "uid-1")
    ));
    let dele: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Reply {
                command: CommandKind::Dele,
                status,
            } => Some(status.is_ok()),
            _ => None,
        })
        .collect();
    assert_eq!(dele, [true, false]);
    assert!(matches!(
        events.last(),
        Some(ClientEvent::Closed(ClientCloseReason::Quit))
    ));
    assert_eq!(backend.deleted.len(), 1);
    assert!(server.is_closed() && client.is_closed());
}

#[test]
fn whole_session_with_awkward_messages() {
    for chunk in [0, 1, 2, 3, 7, 64] {
        session(chunk, true);
    }
    session(5, false);
}

#[test]
fn pipelining_sends_everything_at_once_only_when_offered() {
    for offered in [true, false] {
        let mut backend = Backend::default()
            .with_user("alice", "pw")
            .with_messages(&[b"a\r\n"]);
        let opts = ServerOptions {
            loopback: true,
            pipelining: offered,
            ..ServerOptions::default()
        };
        let mut server = Server::new(opts, now());
        let mut client = Client::new(ClientOptions::default(), now());
        client.capa().unwrap();
        pump(&mut client, &mut server, &mut backend);
        client.login("alice", Secret::from("pw")).unwrap();
        client.stat().unwrap();
        client.noop().unwrap();
        let first = client.poll_transmit().unwrap();
        let commands = first
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(commands, if offered { 4 } else { 1 });
        server.handle_input(&first);
        let events = pump(&mut client, &mut server, &mut backend);
        assert!(events.contains(&ClientEvent::Stat { count: 1, size: 3 }));
        assert_eq!(client.pending_commands(), 0);
    }
}

#[test]
fn stls_then_auth_with_a_long_initial_response() {
    let mut backend = Backend::default().with_user("alice", &"p".repeat(300));
    let opts = ServerOptions {
        stls: true,
        sasl_mechanisms: vec!["PLAIN".into()],
        ..ServerOptions::default()
    };
    let mut server = Server::new(opts, now());
    let mut client = Client::new(ClientOptions::default(), now());
    client.capa().unwrap();
    client.stls().unwrap();
    client.capa().unwrap();
    let ir = format!("\0alice\0{}", "p".repeat(300)).into_bytes();
    client
        .auth("plain", Some(Secret::new(ir)), Box::new(|_| None))
        .unwrap();
    client.stat().unwrap();
    let events = pump(&mut client, &mut server, &mut backend);
    assert!(events.contains(&ClientEvent::StartTls));
    assert_eq!(backend.tls_handshakes, 1);
    assert!(client.is_authenticated(), "{events:?}");
    assert!(events.contains(&ClientEvent::Stat { count: 0, size: 0 }));
    let caps = client.capabilities().unwrap();
    assert!(
        !caps.contains(&mailhub_pop3_proto::Capability::Stls),
        "capabilities were re-read after TLS"
    );
}

#[test]
fn auth_cancelled_by_the_step_function() {
    let mut backend = Backend::default();
    let opts = ServerOptions {
        loopback: true,
        sasl_mechanisms: vec!["PLAIN".into()],
        ..ServerOptions::default()
    };
    let mut server = Server::new(opts, now());
    let mut client = Client::new(ClientOptions::default(), now());
    client.auth("PLAIN", None, Box::new(|_| None)).unwrap();
    let events = pump(&mut client, &mut server, &mut backend);
    assert!(events.contains(&ClientEvent::AuthCancelled));
    assert!(events.iter().any(|e| matches!(e, ClientEvent::Reply { command: CommandKind::Auth, status } if !status.is_ok())));
    assert!(!client.is_authenticated());
}

#[test]
fn in_use_reaches_the_client_as_a_typed_code() {
    let mut backend = Backend::default().with_user("alice", "pw");
    backend.locked_by_other = true;
    let mut server = Server::new(
        ServerOptions {
            loopback: true,
            ..ServerOptions::default()
        },
        now(),
    );
    let mut client = Client::new(ClientOptions::default(), now());
    client.login("alice", Secret::from("pw")).unwrap();
    let events = pump(&mut client, &mut server, &mut backend);
    assert!(events.iter().any(|e| matches!(e, ClientEvent::Reply { command: CommandKind::Pass, status } if status.code == Some(RespCode::InUse))));
}

#[test]
fn client_failure_modes() {
    // A -ERR greeting ends the session.
    let mut c = Client::new(ClientOptions::default(), now());
    c.handle_input(b"-ERR [SYS/TEMP] go away\r\n");
    assert!(matches!(c.poll_event(), Some(ClientEvent::Greeting { .. })));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::Rejected))
    );

    // Garbage instead of a status line.
    let mut c = Client::new(ClientOptions::default(), now());
    c.handle_input(b"+OK hi\r\n");
    let _ = c.poll_event();
    c.stat().unwrap();
    let _ = c.poll_transmit();
    c.handle_input(b"* OK this is IMAP\r\n");
    assert!(matches!(
        c.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ProtocolError(_)))
    ));
    assert!(c.stat().is_err());

    // No answer in time.
    let t0 = now();
    let mut c = Client::new(
        ClientOptions {
            response_timeout: Duration::from_secs(30),
            ..ClientOptions::default()
        },
        t0,
    );
    c.handle_timeout(t0 + Duration::from_secs(29));
    assert!(c.poll_event().is_none());
    c.handle_timeout(t0 + Duration::from_secs(31));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::Timeout))
    );

    // Misuse.
    let mut c = Client::new(ClientOptions::default(), now());
    assert!(c.user("two words").is_err());
    assert!(c.pass(Secret::from("a\r\nDELE 1")).is_err());
    assert!(c.retr(0).is_err());
    assert!(c.auth("NOT A MECH", None, Box::new(|_| None)).is_err());
    c.quit().unwrap();
    assert!(c.noop().is_err());
}
