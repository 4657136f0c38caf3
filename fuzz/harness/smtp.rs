//! Fuzz entry points for `mailhub-smtp-proto`, shared by the cargo-fuzz targets
//! `smtp_server`, `smtp_client`, `smtp_path`, `smtp_data` and `smtp_command` and by
//! `smtp-proto/tests/fuzz_corpus.rs`, which replays the committed seeds in a normal
//! `cargo test`.
//!
//! Input layout of `server_input`, `client_input` and `data_stream`: octet 0 holds flags,
//! octet 1 the size of the pieces the rest is fed in (`1 + octet % 64`, or all at once when it
//! is 0), the rest is what the peer sends. `path` and `command` take the whole input as one
//! line.

use std::time::{Duration, Instant};

use mailhub_smtp_proto::client::{self, Client, ClientOptions, Envelope, TlsPolicy};
use mailhub_smtp_proto::server::{self, Extensions, Server, ServerOptions};
use mailhub_smtp_proto::{
    Command, CommandRef, DataDecoder, DataEncoder, ForwardPath, Host, LineEndings, MailParams,
    Mailbox, RcptParams, Reply, ReplyCode, ReversePath,
};

fn split(data: &[u8]) -> (u8, usize, &[u8]) {
    let flags = data.first().copied().unwrap_or(0);
    let step = match data.get(1).copied().unwrap_or(0) {
        0 => usize::MAX,
        s => 1 + usize::from(s) % 64,
    };
    (flags, step, data.get(2..).unwrap_or(&[]))
}

/// Every byte the server sends must read back as whole, valid replies.
fn check_replies(mut out: &[u8]) {
    while !out.is_empty() {
        match Reply::parse(out, 100_000, 100_000) {
            Ok(Some((_, used))) => out = &out[used..],
            other => panic!("server sent something that is not a reply: {other:?}"),
        }
    }
}

/// The server engine fed arbitrary client bytes. Flags: bit 0 LMTP, bit 1 normalise bare line
/// ends, bit 2 every extension on, bits 3–7 which decisions are rejected.
pub fn server_input(data: &[u8]) {
    let (flags, step, input) = split(data);
    let mut o = ServerOptions::new("mx.example");
    o.lmtp = flags & 1 != 0;
    if flags & 2 != 0 {
        o.line_endings = LineEndings::Normalize;
    }
    if flags & 4 != 0 {
        o.extensions = Extensions::all();
        o.extensions.auth_requires_tls = false;
    } else {
        o.extensions.pipelining = true;
        o.extensions.chunking = true;
        o.extensions.size = true;
    }
    o.limits.max_command_line = 256;
    o.limits.max_auth_line = 512;
    o.limits.max_message_size = 64 * 1024;
    let line_limit = 512;
    let t0 = Instant::now();
    let mut s = Server::new(o, t0);
    let no = Reply::new(ReplyCode::new(550).unwrap(), None, "no").unwrap();
    let mut n = u32::from(flags >> 3);
    for (i, piece) in input.chunks(step.min(input.len().max(1))).enumerate() {
        s.handle_input(piece);
        assert!(
            s.buffered() <= piece.len() + line_limit + 8,
            "buffer grew past its limit"
        );
        while let Some(e) = s.poll_event() {
            n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let reject = n >> 16 & 3 == 0;
            let r = match e {
                server::Event::Auth { .. } | server::Event::AuthResponse(_) => {
                    if reject {
                        s.auth_challenge(b"more")
                    } else {
                        s.auth_success()
                    }
                }
                server::Event::StartTls => s.tls_established(),
                server::Event::MessageEnd { recipients } if s.options().lmtp => s.lmtp_replies(
                    (0..recipients)
                        .map(|_| Reply::new(ReplyCode::OK, None, "ok").unwrap())
                        .collect(),
                ),
                server::Event::BodyChunk(_)
                | server::Event::MessageRejected(_)
                | server::Event::Reset
                | server::Event::AuthCancelled => Ok(()),
                _ if reject => s.reject(no.clone()),
                _ => s.accept(),
            };
            r.expect("the harness answers only pending decisions");
        }
        if let Some(out) = s.poll_transmit() {
            check_replies(&out);
        }
        s.handle_timeout(t0 + Duration::from_secs(i as u64));
    }
    s.handle_timeout(t0 + Duration::from_secs(1_000_000));
    if let Some(out) = s.poll_transmit() {
        check_replies(&out);
    }
    assert!(s.is_closed());
}

/// The client engine fed arbitrary server bytes, sending one message when it can. Flags:
/// bit 0 LMTP, bit 1 no pipelining, bit 2 no chunking, bit 3 STARTTLS required, bits 4–7
/// when RSET and NOOP are slipped in.
pub fn client_input(data: &[u8]) {
    let (flags, step, input) = split(data);
    let mut o = ClientOptions::new(Host::parse("client.example").unwrap());
    o.lmtp = flags & 1 != 0;
    o.pipelining = flags & 2 == 0;
    o.chunking = flags & 4 == 0;
    o.starttls = if flags & 8 != 0 {
        TlsPolicy::Required
    } else {
        TlsPolicy::Opportunistic
    };
    o.max_reply_line = 1024;
    o.max_reply_lines = 64;
    let t0 = Instant::now();
    let mut c = Client::new(o, t0);
    let mut sent = false;
    for (i, piece) in input.chunks(step.min(input.len().max(1))).enumerate() {
        c.handle_input(piece);
        while let Some(e) = c.poll_event() {
            match e {
                client::Event::StartTls => c.tls_established().unwrap(),
                client::Event::Ready(caps) => {
                    if caps.has_auth("PLAIN") && i % 2 == 0 {
                        let _ = c.authenticate("PLAIN", None, Box::new(|ch| Ok(ch.to_vec())));
                    } else if !sent {
                        sent = true;
                        let env = Envelope {
                            from: ReversePath::parse("<a@client.example>").unwrap(),
                            params: MailParams::default(),
                            recipients: vec![
                                (
                                    ForwardPath::parse("<b@mx.example>").unwrap(),
                                    RcptParams::default(),
                                ),
                                (ForwardPath::Postmaster, RcptParams::default()),
                            ],
                        };
                        c.send_mail(env).unwrap();
                    }
                }
                client::Event::BodyReady => {
                    let _ = c.send_body(b"Subject: x\r\n\r\n.dot\r\n");
                    let _ = c.finish_body();
                }
                client::Event::MessageResult(_) | client::Event::MessageFailed(_) => {
                    let _ = c.quit();
                }
                _ => {}
            }
            // Bits 4-7: poke the session with RSET or NOOP at odd moments.
            match (flags >> 4).wrapping_add(i as u8) % 8 {
                0 => {
                    let _ = c.reset();
                }
                1 => {
                    let _ = c.noop();
                }
                _ => {}
            }
        }
        let _ = c.poll_transmit();
        c.handle_timeout(t0 + Duration::from_secs(i as u64 * 30));
    }
    c.handle_timeout(t0 + Duration::from_secs(1_000_000));
    c.handle_timeout(t0 + Duration::from_secs(2_000_000));
    while c.poll_event().is_some() {}
}

/// Paths, mailboxes and command lines: what parses must write back to the same value.
pub fn path(data: &[u8]) {
    if let Ok(c) = Command::parse(data) {
        let wire = c.to_bytes();
        assert_eq!(
            Command::parse(&wire[..wire.len() - 2]).as_ref(),
            Ok(&c),
            "command round trip"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = ReversePath::parse(text) {
        assert_eq!(ReversePath::parse(&p.to_string()), Ok(p));
    }
    if let Ok(p) = ForwardPath::parse(text) {
        assert_eq!(ForwardPath::parse(&p.to_string()), Ok(p));
    }
    if let Ok(m) = Mailbox::parse(text) {
        assert_eq!(Mailbox::parse(&m.to_string()), Ok(m));
    }
    if let Ok(p) = MailParams::parse(text) {
        assert_eq!(MailParams::parse(&p.to_string()), Ok(p));
    }
    if let Ok(p) = RcptParams::parse(text) {
        assert_eq!(RcptParams::parse(&p.to_string()), Ok(p));
    }
}

/// The borrowed command parser against the owned one: both accept the same lines with the
/// same errors, every borrowed accessor agrees with the owned value, and the owned command
/// written out parses back (borrowed) to itself.
pub fn command(data: &[u8]) {
    let owned = Command::parse(data);
    let borrowed = CommandRef::parse(data);
    let c = match (&borrowed, &owned) {
        (Ok(b), Ok(o)) => {
            assert_eq!(&b.to_command(), o, "borrowed and owned differ");
            assert_eq!(b.verb(), o.verb());
            b
        }
        (Err(e), Err(f)) => {
            assert_eq!(e, f, "different errors");
            return;
        }
        _ => panic!("one parser accepts, the other refuses: {borrowed:?} / {owned:?}"),
    };
    let o = c.to_command();
    match (c, &o) {
        (
            CommandRef::Mail { from, params },
            Command::Mail {
                from: of,
                params: op,
            },
        ) => {
            assert_eq!(&from.to_reverse_path(), of);
            assert_eq!(from.is_ascii(), of.is_ascii());
            if let (mailhub_smtp_proto::ReversePathRef::Mailbox(m), ReversePath::Mailbox(om)) =
                (from, of)
            {
                assert_eq!(m.local_part(), om.local.as_str());
                assert_eq!(Host::parse(m.host_as_written()).as_ref(), Ok(&om.host));
            }
            assert_eq!(params.size, op.size);
            assert_eq!(params.body, op.body);
            assert_eq!(params.envid_decoded().as_deref(), op.envid.as_deref());
            assert_eq!(params.auth().is_some(), op.auth.is_some());
            let other: Vec<_> = params
                .other()
                .map(|(k, v)| (k.to_ascii_uppercase(), v.map(str::to_owned)))
                .collect();
            assert_eq!(other, op.other);
            assert_eq!(params.is_empty(), op.is_empty());
            assert_eq!(MailParams::parse(params.as_str()).as_ref(), Ok(op));
        }
        (CommandRef::Rcpt { to, params }, Command::Rcpt { to: ot, params: op }) => {
            assert_eq!(&to.to_forward_path(), ot);
            assert_eq!(params.notify, op.notify);
            assert_eq!(
                params.orcpt().map(|o| o.address_decoded().into_owned()),
                op.orcpt.as_ref().map(|o| o.address.clone())
            );
            assert_eq!(params.other().count(), op.other.len());
            assert_eq!(RcptParams::parse(params.as_str()).as_ref(), Ok(op));
        }
        (CommandRef::Ehlo(h) | CommandRef::Helo(h) | CommandRef::Lhlo(h), _) => {
            assert_eq!(Host::parse(h.as_str()), Ok(h.to_host()));
        }
        _ => {}
    }
    let wire = o.to_bytes();
    let again = CommandRef::parse(&wire[..wire.len() - 2]).map(|c| c.to_command());
    assert_eq!(again.as_ref(), Ok(&o), "written command does not read back");
}

/// The DATA decoder on arbitrary content in arbitrary pieces. Flags: bit 0 normalise, bit 1
/// BDAT (no dots). Checks: at most two octets held back; with Normalize only CRLF line ends
/// come out; content without bare line ends survives encode → decode unchanged.
/// Feeds `input` in `step`-octet reads the way a server does (unconsumed octets held back and
/// offered again), then `finish` when dots are off: (output, whether the end was seen, the
/// decoder).
fn decode_all(
    mut d: DataDecoder,
    input: &[u8],
    step: usize,
    dots: bool,
) -> (Vec<u8>, bool, DataDecoder) {
    let mut out = Vec::new();
    let mut held: Vec<u8> = Vec::new();
    let mut done = false;
    for piece in input.chunks(step.min(input.len().max(1))) {
        held.extend_from_slice(piece);
        let r = d.decode(&held, &mut out);
        held.drain(..r.consumed);
        if r.done {
            done = true;
            break;
        }
        assert!(held.len() <= 2, "decoder held back {} octets", held.len());
    }
    if !dots {
        d.finish(&mut out);
    }
    (out, done, d)
}

pub fn data_stream(data: &[u8]) {
    let (flags, step, input) = split(data);
    let policy = if flags & 1 != 0 {
        LineEndings::Normalize
    } else {
        LineEndings::Reject
    };
    let dots = flags & 2 == 0;
    let decoder = DataDecoder::new(dots, policy, 1000);
    // The fast path's two scans (AVX2 where the CPU has it, the portable one everywhere)
    // must agree on every input and every split.
    let portable = decode_all(decoder.clone().without_avx2(), input, step, dots);
    let (out, done, d) = decode_all(decoder, input, step, dots);
    assert_eq!(out, portable.0, "the two scans' output");
    assert_eq!(done, portable.1, "the two scans' end");
    assert_eq!(
        (d.saw_bare_line_ending(), d.saw_long_line()),
        (
            portable.2.saw_bare_line_ending(),
            portable.2.saw_long_line()
        ),
        "the two scans' flags"
    );
    if policy == LineEndings::Normalize && (done || !dots) {
        for (i, &b) in out.iter().enumerate() {
            if b == b'\n' {
                assert!(i > 0 && out[i - 1] == b'\r', "bare LF after normalising");
            }
            if b == b'\r' {
                assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR after normalising");
            }
        }
    }
    if done && !d.saw_bare_line_ending() {
        let mut wire = Vec::new();
        let mut e = DataEncoder::new();
        e.encode(&out, &mut wire);
        e.finish(&mut wire);
        let mut d2 = DataDecoder::new(true, LineEndings::Reject, 0);
        let mut again = Vec::new();
        let r = d2.decode(&wire, &mut again);
        assert!(r.done && r.consumed == wire.len());
        assert_eq!(again, out, "encode/decode round trip");
    }
}
