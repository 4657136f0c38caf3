//! Property tests: `parse(serialize(x)) == x` for commands, status lines, capabilities and
//! listings; dot-stuffing then unstuffing gives back the message, whatever the chunking on
//! either side; and arbitrary bytes never make either engine panic.

mod common;

use std::time::Instant;

use common::Backend;
use mailhub_pop3_proto::client::{Client, ClientOptions};
use mailhub_pop3_proto::server::{Server, ServerOptions};
use mailhub_pop3_proto::{
    Capability, Command, DotStuffer, DotUnstuffer, Expire, ListEntry, RespCode, Secret, Status,
    StatusLine, UidlEntry, UniqueId,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,20}"
}

fn mechanism() -> impl Strategy<Value = String> {
    "[A-Z0-9_-]{1,20}"
}

fn msg() -> impl Strategy<Value = u32> {
    1..=u32::MAX
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        token().prop_map(Command::User),
        "[ -~]{0,40}".prop_map(|p| Command::Pass(Secret::new(p))),
        (token(), "[0-9a-f]{32}").prop_map(|(user, digest)| Command::Apop { user, digest }),
        (
            mechanism(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
        )
            .prop_map(|(mechanism, ir)| Command::Auth {
                mechanism,
                initial_response: ir.map(Secret::new)
            }),
        Just(Command::Stls),
        Just(Command::Capa),
        Just(Command::Stat),
        proptest::option::of(msg()).prop_map(Command::List),
        msg().prop_map(Command::Retr),
        msg().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Quit),
        (msg(), any::<u32>()).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        proptest::option::of(msg()).prop_map(Command::Uidl),
        Just(Command::Utf8),
    ]
}

fn resp_code() -> impl Strategy<Value = RespCode> {
    prop_oneof![
        Just(RespCode::InUse),
        Just(RespCode::LoginDelay),
        Just(RespCode::SysTemp),
        Just(RespCode::SysPerm),
        Just(RespCode::Auth),
        Just(RespCode::Utf8),
        "X-[A-Z0-9]{1,8}(/[A-Z0-9-]{1,8}){0,2}".prop_map(|s| RespCode::parse(&s).unwrap()),
    ]
}

fn status_line() -> impl Strategy<Value = StatusLine> {
    (
        prop_oneof![Just(Status::Ok), Just(Status::Err)],
        proptest::option::of(resp_code()),
        "([!-Z\\\\-~][ -~]{0,40})?|[a-zé ]{0,10}",
    )
        .prop_map(|(status, code, text)| StatusLine { status, code, text })
        .prop_filter("text must not start a code", |s| !s.text.starts_with('['))
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        Just(Capability::Top),
        Just(Capability::User),
        proptest::collection::vec(mechanism(), 0..4).prop_map(Capability::Sasl),
        Just(Capability::RespCodes),
        (any::<u32>(), any::<bool>())
            .prop_map(|(seconds, per_user)| Capability::LoginDelay { seconds, per_user }),
        Just(Capability::Pipelining),
        (proptest::option::of(any::<u32>()), any::<bool>()).prop_map(|(d, per_user)| {
            Capability::Expire {
                policy: d.map_or(Expire::Never, Expire::Days),
                per_user,
            }
        }),
        Just(Capability::Uidl),
        "[!-~]([ -~]{0,30}[!-~])?".prop_map(Capability::Implementation),
        Just(Capability::Stls),
        any::<bool>().prop_map(|user| Capability::Utf8 { user }),
        ("X-[A-Z]{1,10}", proptest::collection::vec(token(), 0..3))
            .prop_map(|(tag, params)| Capability::Other { tag, params }),
    ]
}

fn strip_crlf(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r\n")
        .expect("serialized lines end with CRLF")
}

/// RETR output as the client sees it: CRLF line ends and a final line end.
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trip(c in command()) {
        prop_assert_eq!(Command::parse(strip_crlf(&c.to_bytes())), Ok(c));
    }

    #[test]
    fn status_line_round_trip(s in status_line()) {
        prop_assert_eq!(StatusLine::parse(strip_crlf(&s.to_bytes())), Ok(s));
    }

    #[test]
    fn capability_round_trip(c in capability()) {
        prop_assert!(c.is_well_formed());
        prop_assert_eq!(Capability::parse(c.to_line().as_bytes()), Ok(c));
    }

    #[test]
    fn listing_round_trip(msg in msg(), size in any::<u64>(), uid in "[!-~]{1,70}") {
        let l = ListEntry { msg, size };
        prop_assert_eq!(ListEntry::parse(l.to_line().as_bytes()), Ok(l));
        let u = UidlEntry { msg, uid: UniqueId::try_from(uid.as_str()).unwrap() };
        prop_assert_eq!(UidlEntry::parse(u.to_line().as_bytes()), Ok(u));
    }

    #[test]
    fn stuff_then_unstuff_gives_the_message_back(
        message in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..300),
        cut in 1usize..40,
        cut2 in 1usize..40,
    ) {
        let mut stuffer = DotStuffer::new();
        let mut wire = Vec::new();
        for chunk in message.chunks(cut) {
            prop_assert!(stuffer.push(chunk, &mut wire));
        }
        stuffer.finish(&mut wire);
        wire.extend_from_slice(b"+OK next response");

        let mut unstuffer = DotUnstuffer::new();
        let mut got = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut rest = None;
        for chunk in wire.chunks(cut2) {
            pending.extend_from_slice(chunk);
            if rest.is_some() { continue; }
            let r = unstuffer.push(&pending, &mut got);
            pending.drain(..r.consumed);
            if r.done { rest = Some(()); }
        }
        prop_assert!(rest.is_some(), "terminator not found");
        prop_assert_eq!(&pending[..], b"+OK next response");
        prop_assert_eq!(got, normalized(&message));
    }

    #[test]
    fn parsers_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Command::parse(&line);
        let _ = StatusLine::parse(&line);
        let _ = Capability::parse(&line);
        let _ = ListEntry::parse(&line);
        let _ = UidlEntry::parse(&line);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn server_never_panics(
        chunks in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                prop_oneof![
                    Just(b"USER alice\r\n".to_vec()), Just(b"PASS pw\r\n".to_vec()),
                    Just(b"RETR 1\r\n".to_vec()), Just(b"TOP 1 1\r\n".to_vec()),
                    Just(b"DELE 1\r\n".to_vec()), Just(b"AUTH PLAIN\r\n".to_vec()),
                    Just(b"STLS\r\n".to_vec()), Just(b"QUIT\r\n".to_vec()),
                    Just(b"LIST\r\n".to_vec()), Just(b"UIDL\r\n".to_vec()),
                ],
            ],
            0..20,
        )
    ) {
        let mut backend = Backend::default()
            .with_user("alice", "pw")
            .with_messages(&[b"Subject: x\r\n\r\n.body\r\n", b"y"]);
        let opts = ServerOptions { loopback: true, stls: true, sasl_mechanisms: vec!["PLAIN".into()], ..ServerOptions::default() };
        let mut server = Server::new(opts, Instant::now());
        for c in &chunks {
            server.handle_input(c);
            backend.drive(&mut server);
            if let Some(out) = server.poll_transmit() {
                prop_assert!(out.ends_with(b"\r\n"));
            }
        }
    }

    #[test]
    fn client_never_panics(
        chunks in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                prop_oneof![
                    Just(b"+OK\r\n".to_vec()), Just(b"-ERR [IN-USE] x\r\n".to_vec()),
                    Just(b"+ \r\n".to_vec()), Just(b".\r\n".to_vec()), Just(b"..x\r\n".to_vec()),
                    Just(b"1 2\r\n".to_vec()), Just(b"PIPELINING\r\n".to_vec()),
                ],
            ],
            0..20,
        )
    ) {
        let mut client = Client::new(ClientOptions::default(), Instant::now());
        client.capa().unwrap();
        client.login("u", Secret::from("p")).unwrap();
        client.auth("PLAIN", None, Box::new(|_| Some(b"\0u\0p".to_vec()))).unwrap();
        client.list(None).unwrap();
        client.retr(1).unwrap();
        client.uidl(Some(1)).unwrap();
        for c in &chunks {
            client.handle_input(c);
            while let Some(ev) = client.poll_event() {
                if ev == mailhub_pop3_proto::client::ClientEvent::StartTls {
                    client.tls_established().unwrap();
                }
            }
            let _ = client.poll_transmit();
        }
    }
}
