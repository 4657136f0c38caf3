//! proptest: arbitrary bytes in any server state never panic, and the input buffer never
//! grows past one read plus the line limit.

use std::time::{Duration, Instant};

use mailhub_smtp_proto::LineEndings;
use mailhub_smtp_proto::server::{Event, Extensions, Server, ServerOptions};
use proptest::prelude::*;

const PREFIXES: &[&[u8]] = &[
    b"",
    b"EHLO a.example\r\n",
    b"EHLO a.example\r\nMAIL FROM:<a@a.example>\r\nRCPT TO:<b@b.example>\r\nDATA\r\n",
    b"EHLO a.example\r\nMAIL FROM:<a@a.example> BODY=BINARYMIME\r\nRCPT TO:<b@b.example>\r\nBDAT 100\r\n",
    b"EHLO a.example\r\nMAIL FROM:<a@a.example>\r\nRCPT TO:<b@b.example>\r\nBDAT 50 LAST\r\n",
    b"EHLO a.example\r\nAUTH LOGIN\r\n",
    b"LHLO a.example\r\nMAIL FROM:<>\r\nRCPT TO:<b@b.example>\r\nDATA\r\n",
];

const WORDS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b".",
    b"\r\n.\r\n",
    b"MAIL FROM:<x@y.z>",
    b"RCPT TO:<p@q.r>",
    b"DATA",
    b"BDAT 3",
    b"BDAT 2 LAST",
    b"AUTH PLAIN",
    b"*",
    b"STARTTLS",
    b"RSET",
    b"EHLO h",
    b"LHLO h",
    b"QUIT",
    b" ",
    b"SIZE=99999999999",
    b"<>",
    b"\0",
    b"\xff",
];

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        prop::collection::vec(prop::sample::select(WORDS), 0..20).prop_map(|w| w.concat()),
    ]
}

fn options(lmtp: bool, normalize: bool) -> ServerOptions {
    let mut o = ServerOptions::new("mx.example");
    o.lmtp = lmtp;
    o.extensions = Extensions::all();
    o.extensions.auth_requires_tls = false;
    o.limits.max_command_line = 128;
    o.limits.max_auth_line = 256;
    o.limits.max_message_size = 4096;
    o.line_endings = if normalize {
        LineEndings::Normalize
    } else {
        LineEndings::Reject
    };
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_input_never_panics(
        prefix in prop::sample::select(PREFIXES),
        pieces in prop::collection::vec(piece(), 0..12),
        normalize in any::<bool>(),
        choice in any::<u64>(),
    ) {
        let lmtp = prefix.starts_with(b"LHLO");
        let t0 = Instant::now();
        let mut s = Server::new(options(lmtp, normalize), t0);
        let mut n = choice;
        let mut feed = vec![prefix.to_vec()];
        feed.extend(pieces);
        for (i, p) in feed.iter().enumerate() {
            s.handle_input(p);
            prop_assert!(s.buffered() <= p.len() + 256 + 8, "buffered {}", s.buffered());
            while let Some(e) = s.poll_event() {
                n = n.rotate_left(3);
                let _ = match e {
                    Event::Auth { .. } | Event::AuthResponse(_) => {
                        if n & 1 == 0 { s.auth_challenge(b"ok") } else { s.auth_success() }
                    }
                    Event::StartTls => s.tls_established(),
                    Event::MessageEnd { recipients } if lmtp => s.lmtp_replies(
                        (0..recipients).map(|_| mailhub_smtp_proto::Reply::new(
                            mailhub_smtp_proto::ReplyCode::OK, None, "ok").unwrap()).collect()),
                    _ if n & 7 == 0 => s.reject(mailhub_smtp_proto::Reply::new(
                        mailhub_smtp_proto::ReplyCode::new(550).unwrap(), None, "no").unwrap()),
                    _ => s.accept(),
                };
            }
            let _ = s.poll_transmit();
            s.handle_timeout(t0 + Duration::from_secs(i as u64));
        }
        s.handle_timeout(t0 + Duration::from_secs(10_000));
        let _ = s.poll_transmit();
        prop_assert!(s.is_closed());
    }
}
