//! Fuzz entry points for `mailhub-pop3-proto`, shared by the cargo-fuzz targets `pop3_server`
//! and `pop3_client` and by `pop3-proto/tests/fuzz_corpus.rs`, which replays the committed
//! seeds in a normal `cargo test`.
//!
//! Input layout (both functions):
//! - octet 0: flags (server: bit 0 loopback, bit 1 APOP on, bit 2 implicit TLS, bit 3 UTF8
//!   offered, bit 4 SASL PLAIN offered, bit 5 the maildrop is in use; client: which commands to
//!   queue, see [`client_input`]);
//! - octet 1: the chunk size the rest is fed in (1 + octet % 64);
//! - the rest: what the peer sends.
//!
//! Besides "never panics", the harness checks cheap invariants: every decision the engine asks
//! for is accepted, output always ends with CRLF, nothing comes out after the session closed,
//! message chunks only appear inside a message, and every line that parses as a command,
//! status line or capability serializes back to the same value.

use std::time::{Duration, Instant};

use mailhub_pop3_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_pop3_proto::server::{
    Maildrop, MessageInfo, PlaintextPolicy, Server, ServerEvent, ServerOptions,
};
use mailhub_pop3_proto::{Capability, Command, RespCode, Secret, StatusLine, UniqueId};

const MESSAGES: [&[u8]; 3] = [
    b"Subject: one\r\n\r\nbody\r\n.dot\r\n",
    b"Subject: two\n\nlf only\n.\n",
    b"no header, no final newline",
];

fn split(data: &[u8]) -> (u8, usize, &[u8]) {
    match data {
        [flags, chunk, rest @ ..] => (*flags, 1 + usize::from(*chunk % 64), rest),
        _ => (0, 1, &[]),
    }
}

fn check_output(out: &[u8]) {
    assert!(out.ends_with(b"\r\n"), "output must end with CRLF");
}

/// Every line that parses as a command serializes to a line that parses to the same command.
fn check_command_round_trip(line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Ok(c) = Command::parse(line) {
        let bytes = c.to_bytes();
        let again = Command::parse(&bytes[..bytes.len() - 2]).expect("serialized command parses");
        assert_eq!(again, c);
    }
}

fn check_response_round_trip(line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Ok(s) = StatusLine::parse(line)
        && !s.text.contains('\r')
    {
        let bytes = s.to_bytes();
        assert_eq!(
            StatusLine::parse(&bytes[..bytes.len() - 2]).as_ref(),
            Ok(&s)
        );
    }
    if let Ok(c) = Capability::parse(line)
        && c.is_well_formed()
    {
        assert_eq!(Capability::parse(c.to_line().as_bytes()).as_ref(), Ok(&c));
    }
}

fn maildrop() -> Maildrop {
    Maildrop {
        messages: MESSAGES
            .iter()
            .enumerate()
            .map(|(i, m)| MessageInfo {
                size: m.len() as u64,
                uid: UniqueId::try_from(format!("uid{i}")).expect("valid uid"),
            })
            .collect(),
        ..Maildrop::default()
    }
}

fn drive_server(server: &mut Server, in_use: bool) {
    while let Some(ev) = server.poll_event() {
        match ev {
            ServerEvent::Login { user, .. } => server.accept_login(user).expect("login pending"),
            ServerEvent::ApopLookup { .. } => server
                .apop_secret(Some(&Secret::from("tanstaaf")))
                .expect("apop pending"),
            ServerEvent::AuthStart {
                initial_response: None,
                ..
            } => server.auth_challenge(b"").expect("auth pending"),
            ServerEvent::AuthStart { .. } | ServerEvent::AuthResponse { .. } => {
                server.accept_login("fuzz").expect("auth pending")
            }
            ServerEvent::LockMaildrop { .. } if in_use => server
                .reject(Some(RespCode::InUse), "locked")
                .expect("maildrop pending"),
            ServerEvent::LockMaildrop { .. } => {
                server.load_maildrop(maildrop()).expect("maildrop pending")
            }
            ServerEvent::StartTls => server.tls_established().expect("stls pending"),
            ServerEvent::Retrieve { message, .. } => {
                for chunk in MESSAGES[message.index].chunks(5) {
                    if !server.message_chunk(chunk).expect("message pending") {
                        break;
                    }
                }
                server.message_end().expect("message pending");
            }
            ServerEvent::Update { .. } => server.update_done().expect("update pending"),
            _ => {}
        }
    }
}

/// Feeds client bytes to a server engine.
pub fn server_input(data: &[u8]) {
    let (flags, chunk, rest) = split(data);
    let options = ServerOptions {
        loopback: flags & 1 != 0,
        apop_timestamp: (flags & 2 != 0).then(|| "<1.2@fuzz>".to_owned()),
        tls: flags & 4 != 0,
        stls: true,
        utf8: flags & 8 != 0,
        sasl_mechanisms: if flags & 16 != 0 {
            vec!["PLAIN".into(), "X-FUZZ".into()]
        } else {
            Vec::new()
        },
        plaintext: PlaintextPolicy::Loopback,
        ..ServerOptions::default()
    };
    let in_use = flags & 32 != 0;
    let t0 = Instant::now();
    let mut server = Server::new(options, t0);
    check_output(&server.poll_transmit().expect("greeting"));
    for line in rest.split(|&b| b == b'\n') {
        check_command_round_trip(line);
    }
    for (i, piece) in rest.chunks(chunk).enumerate() {
        let was_closed = server.is_closed();
        server.handle_input(piece);
        drive_server(&mut server, in_use);
        server.handle_timeout(t0 + Duration::from_secs(120 * i as u64));
        drive_server(&mut server, in_use);
        if let Some(out) = server.poll_transmit() {
            assert!(!was_closed, "output after close");
            check_output(&out);
        }
    }
}

/// Feeds server bytes to a client engine that queued a session's worth of commands (bits of
/// octet 0: 0 CAPA, 1 STLS, 2 USER/PASS, 3 APOP, 4 AUTH PLAIN, 5 STAT/LIST/UIDL, 6 RETR/TOP,
/// 7 DELE/QUIT).
pub fn client_input(data: &[u8]) {
    let (flags, chunk, rest) = split(data);
    let mut client = Client::new(
        ClientOptions {
            max_list_entries: 1000,
            ..ClientOptions::default()
        },
        Instant::now(),
    );
    let mut queued = false;
    let mut in_message = false;
    let mut closed = false;
    for line in rest.split(|&b| b == b'\n') {
        check_response_round_trip(line);
    }
    for piece in rest.chunks(chunk) {
        client.handle_input(piece);
        while let Some(ev) = client.poll_event() {
            assert!(!closed, "event after Closed");
            match ev {
                ClientEvent::Greeting { .. } if !queued => {
                    queued = true;
                    queue(&mut client, flags);
                }
                ClientEvent::MessageStart { .. } => {
                    assert!(!in_message);
                    in_message = true;
                }
                ClientEvent::MessageChunk(c) => assert!(in_message && !c.is_empty()),
                ClientEvent::MessageEnd => {
                    assert!(in_message);
                    in_message = false;
                }
                ClientEvent::StartTls => client.tls_established().expect("stls pending"),
                ClientEvent::Closed(_) => closed = true,
                _ => {}
            }
        }
        if let Some(out) = client.poll_transmit() {
            check_output(&out);
        }
    }
}

fn queue(client: &mut Client, flags: u8) {
    let on = |bit: u8| flags & (1 << bit) != 0;
    // Errors here are fine (a closed session, no APOP timestamp); panics are not.
    if on(0) {
        let _ = client.capa();
    }
    if on(1) {
        let _ = client.stls();
    }
    if on(2) {
        let _ = client.login("fuzz", Secret::from("pw"));
    }
    if on(3) {
        let _ = client.apop("fuzz", &Secret::from("pw"));
    }
    if on(4) {
        let _ = client.auth(
            "PLAIN",
            None,
            Box::new(|c: &[u8]| (c.len() < 8).then(|| b"\0u\0p".to_vec())),
        );
    }
    if on(5) {
        let _ = client.stat();
        let _ = client.list(None);
        let _ = client.list(Some(1));
        let _ = client.uidl(None);
        let _ = client.uidl(Some(2));
    }
    if on(6) {
        let _ = client.retr(1);
        let _ = client.top(2, 1);
    }
    if on(7) {
        let _ = client.dele(1);
        let _ = client.quit();
    }
}
