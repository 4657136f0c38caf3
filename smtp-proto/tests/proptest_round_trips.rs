//! proptest: `parse(serialize(x)) == x` for replies, paths, parameters and commands, and the
//! DATA codec round trip in any split.

use mailhub_smtp_proto::params::{Body, ByMode, DeliverBy, Notify, Orcpt, Ret};
use mailhub_smtp_proto::{
    Command, CommandRef, DataDecoder, DataEncoder, Domain, EnhancedStatus, ForwardPath, Host,
    LineEndings, LocalPart, MailParams, Mailbox, RcptParams, Reply, ReplyCode, ReversePath,
};
use proptest::prelude::*;

fn code() -> impl Strategy<Value = ReplyCode> {
    (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).unwrap())
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        code(),
        any::<bool>(),
        0u16..=999,
        0u16..=999,
        prop::collection::vec("([a-zA-Z][a-zA-Z0-9 ,.<>@=+-]{0,30})?", 1..4),
    )
        .prop_map(|(code, with, s, d, lines)| {
            let status = EnhancedStatus::new(code.class(), s, d).filter(|_| with);
            Reply::multiline(code, status, lines).unwrap()
        })
}

fn domain() -> impl Strategy<Value = Domain> {
    prop::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 1..4)
        .prop_map(|labels| Domain::new(labels.join(".")).unwrap())
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        3 => domain().prop_map(Host::Domain),
        1 => any::<[u8; 4]>().prop_map(|a| Host::parse(&format!("[{}.{}.{}.{}]", a[0], a[1], a[2], a[3])).unwrap()),
        1 => any::<[u16; 8]>().prop_map(|a| Host::parse(&format!("[IPv6:{}]", std::net::Ipv6Addr::from(a))).unwrap()),
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (
        prop_oneof![
            "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-zA-Z0-9_-]{1,8}){0,2}",
            "[ -~]{0,20}",
            "[a-zé]{1,6}",
        ],
        host(),
    )
        .prop_map(|(l, host)| Mailbox {
            local: LocalPart::new(l).unwrap(),
            host,
        })
}

fn reverse_path() -> impl Strategy<Value = ReversePath> {
    prop_oneof![
        Just(ReversePath::Null),
        mailbox().prop_map(ReversePath::Mailbox)
    ]
}

fn forward_path() -> impl Strategy<Value = ForwardPath> {
    prop_oneof![
        Just(ForwardPath::Postmaster),
        mailbox().prop_map(ForwardPath::Mailbox)
    ]
}

fn other() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::btree_map("X-[A-Z]{1,5}", prop::option::of("[a-z0-9]{1,5}"), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn mail_params() -> impl Strategy<Value = MailParams> {
    (
        (
            prop::option::of(any::<u64>()),
            prop::option::of(prop_oneof![
                Just(Body::SevenBit),
                Just(Body::EightBitMime),
                Just(Body::BinaryMime)
            ]),
            any::<bool>(),
            prop::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
            prop::option::of("[ -~]{1,30}"),
            prop::option::of(prop::option::of("[ -~]{1,30}")),
        ),
        (
            any::<bool>(),
            prop::option::of((1i64..=999_999_999, any::<bool>(), any::<bool>())),
            prop::option::of(-9i8..=9),
            other(),
        ),
    )
        .prop_map(
            |((size, body, smtputf8, ret, envid, auth), (requiretls, by, mt, other))| MailParams {
                size,
                body,
                smtputf8,
                ret,
                envid,
                auth,
                requiretls,
                by: by.map(|(seconds, r, trace)| DeliverBy {
                    seconds,
                    mode: if r { ByMode::Return } else { ByMode::Notify },
                    trace,
                }),
                mt_priority: mt,
                other,
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams> {
    (
        prop::option::of(any::<(bool, bool, bool)>()),
        prop::option::of(("rfc822|utf-8", "[ -~]{1,30}")),
        other(),
    )
        .prop_map(|(n, o, other)| RcptParams {
            notify: n.map(|(success, failure, delay)| Notify {
                success,
                failure,
                delay,
            }),
            orcpt: o.map(|(addr_type, address)| Orcpt { addr_type, address }),
            other,
        })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        host().prop_map(Command::Ehlo),
        host().prop_map(Command::Helo),
        host().prop_map(Command::Lhlo),
        (reverse_path(), mail_params()).prop_map(|(from, params)| Command::Mail { from, params }),
        (forward_path(), rcpt_params()).prop_map(|(to, params)| Command::Rcpt { to, params }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        Just(Command::Quit),
        Just(Command::StartTls),
        prop::option::of("[a-zA-Z0-9]{1,10}").prop_map(Command::Noop),
        "[a-zA-Z0-9@.]{1,20}".prop_map(Command::Vrfy),
        "[a-zA-Z0-9@.]{1,20}".prop_map(Command::Expn),
        prop::option::of("[a-zA-Z]{1,10}").prop_map(Command::Help),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reply_round_trip(r in reply()) {
        let wire = r.to_bytes();
        let (back, used) = Reply::parse(&wire, 1000, 100).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(back, r);
    }

    #[test]
    fn path_round_trip(r in reverse_path(), f in forward_path()) {
        prop_assert_eq!(ReversePath::parse(&r.to_string()), Ok(r));
        prop_assert_eq!(ForwardPath::parse(&f.to_string()), Ok(f));
    }

    #[test]
    fn params_round_trip(m in mail_params(), r in rcpt_params()) {
        prop_assert_eq!(MailParams::parse(&m.to_string()), Ok(m));
        prop_assert_eq!(RcptParams::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn command_round_trip(c in command()) {
        let wire = c.to_bytes();
        prop_assert!(wire.ends_with(b"\r\n"));
        prop_assert_eq!(Command::parse(&wire[..wire.len() - 2]), Ok(c));
    }

    #[test]
    fn borrowed_command_round_trip(c in command()) {
        let wire = c.to_bytes();
        let b = CommandRef::parse(&wire[..wire.len() - 2]);
        prop_assert_eq!(b.as_ref().map(CommandRef::to_command), Ok(c.clone()));
        prop_assert_eq!(b.map(|b| b.verb()), Ok(c.verb()));
    }

    #[test]
    fn parsers_never_panic(s in any::<Vec<u8>>()) {
        // The owned parse is the borrowed one made owned: they must agree on every input.
        prop_assert_eq!(Command::parse(&s), CommandRef::parse(&s).map(|c| c.to_command()));
        let _ = Reply::parse(&s, 512, 10);
        if let Ok(t) = std::str::from_utf8(&s) {
            let _ = ReversePath::parse(t);
            let _ = ForwardPath::parse(t);
            let _ = MailParams::parse(t);
            let _ = RcptParams::parse(t);
        }
    }

    #[test]
    fn data_codec_round_trip(body in prop::collection::vec(prop_oneof![
        Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()
    ], 0..300), step in 1usize..40) {
        let mut e = DataEncoder::new();
        let mut wire = Vec::new();
        for piece in body.chunks(step) {
            e.encode(piece, &mut wire);
        }
        e.finish(&mut wire);
        // Expected content: bare CR/LF written as CRLF, and a final CRLF.
        let mut want = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => { want.extend_from_slice(b"\r\n"); i += 2; continue }
                b'\r' | b'\n' => want.extend_from_slice(b"\r\n"),
                c => want.push(c),
            }
            i += 1;
        }
        if !want.is_empty() && !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        let mut d = DataDecoder::new(true, LineEndings::Reject, 0);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut done_at = None;
        for (n, piece) in wire.chunks(step).enumerate() {
            buf.extend_from_slice(piece);
            let r = d.decode(&buf, &mut out);
            buf.drain(..r.consumed);
            if r.done { done_at = Some(n); break; }
        }
        prop_assert!(done_at.is_some());
        prop_assert!(buf.is_empty());
        prop_assert!(!d.saw_bare_line_ending());
        prop_assert_eq!(out, want);
    }
}
