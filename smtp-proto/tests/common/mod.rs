//! Shared helpers: a C:/S: transcript runner for the server engine.
#![allow(dead_code, unreachable_pub)]

use std::time::Instant;

use mailhub_smtp_proto::server::{Event, Server, ServerOptions};
use mailhub_smtp_proto::{Reply, ReplyCode};

/// The caller's answer to one decision event.
pub enum Decision {
    Accept,
    AcceptWith(Reply),
    Reject(Reply),
    AuthChallenge(Vec<u8>),
    AuthSuccess,
    Lmtp(Vec<Reply>),
}

/// What a run observed.
#[derive(Default, Debug)]
pub struct Seen {
    pub events: Vec<Event>,
    /// Completed message bodies (concatenated chunks).
    pub messages: Vec<Vec<u8>>,
    pub body: Vec<u8>,
    pub rejected: usize,
}

pub fn reply(code: u16, text: &str) -> Reply {
    Reply::new(ReplyCode::new(code).unwrap(), None, text).unwrap()
}

pub fn default_decision(e: &Event) -> Option<Decision> {
    match e {
        Event::Auth { .. } | Event::AuthResponse(_) => Some(Decision::AuthSuccess),
        Event::Connect
        | Event::Hello { .. }
        | Event::Mail { .. }
        | Event::Rcpt { .. }
        | Event::DataStart
        | Event::BdatStart { .. }
        | Event::MessageEnd { .. }
        | Event::Vrfy(_)
        | Event::Expn(_) => Some(Decision::Accept),
        _ => None,
    }
}

/// Drains events, answering decisions with `decide` (falling back to accepting).
pub fn drive(
    server: &mut Server,
    seen: &mut Seen,
    decide: &mut dyn FnMut(&Event) -> Option<Decision>,
) {
    while let Some(e) = server.poll_event() {
        match &e {
            Event::BodyChunk(c) => seen.body.extend_from_slice(c),
            Event::MessageEnd { .. } => seen.messages.push(std::mem::take(&mut seen.body)),
            Event::MessageRejected(_) => {
                seen.rejected += 1;
                seen.body.clear();
            }
            _ => {}
        }
        let d = decide(&e).or_else(|| default_decision(&e));
        if let Some(d) = d {
            let r = match d {
                Decision::Accept => server.accept(),
                Decision::AcceptWith(r) => server.accept_with(r),
                Decision::Reject(r) => server.reject(r),
                Decision::AuthChallenge(c) => server.auth_challenge(&c),
                Decision::AuthSuccess => server.auth_success(),
                Decision::Lmtp(v) => server.lmtp_replies(v),
            };
            r.unwrap_or_else(|err| panic!("decision on {e:?}: {err}"));
        }
        if matches!(e, Event::StartTls) {
            // The transcript stands in for the TLS handshake.
            server.tls_established().unwrap();
        }
        seen.events.push(e);
    }
}

/// Replays a transcript: `C:` lines are sent (consecutive ones together, as a pipelining
/// client would), `S:` lines must be exactly what the server sends at that point. A `C:` line
/// is sent with CRLF; the marker `<no-crlf>` at its end sends it without.
pub fn transcript(
    opts: ServerOptions,
    script: &str,
    mut decide: impl FnMut(&Event) -> Option<Decision>,
) -> (Server, Seen) {
    let now = Instant::now();
    let mut server = Server::new(opts, now);
    let mut seen = Seen::default();
    drive(&mut server, &mut seen, &mut decide);
    let mut input = Vec::new();
    let mut expected = String::new();
    let lines: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let flush_expected = |server: &mut Server, expected: &mut String, at: &str| {
        if expected.is_empty() {
            return;
        }
        let got = server.poll_transmit().unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&got),
            expected.as_str(),
            "server output before {at:?}"
        );
        expected.clear();
    };
    for line in lines {
        if let Some(c) = line.strip_prefix("C:") {
            flush_expected(&mut server, &mut expected, line);
            let c = c.strip_prefix(' ').unwrap_or(c);
            let c = &c
                .replace("<sp>", " ")
                .replace("<LF>", "\n")
                .replace("<CR>", "\r");
            match c.strip_suffix("<no-crlf>") {
                Some(c) => input.extend_from_slice(c.as_bytes()),
                None => {
                    input.extend_from_slice(c.as_bytes());
                    input.extend_from_slice(b"\r\n");
                }
            }
        } else if let Some(s) = line.strip_prefix("S:") {
            if !input.is_empty() {
                server.handle_input(&std::mem::take(&mut input));
                drive(&mut server, &mut seen, &mut decide);
            }
            expected.push_str(&s.strip_prefix(' ').unwrap_or(s).replace("<sp>", " "));
            expected.push_str("\r\n");
        } else {
            panic!("transcript line without C: or S: {line:?}");
        }
    }
    if !input.is_empty() {
        server.handle_input(&input);
        drive(&mut server, &mut seen, &mut decide);
    }
    flush_expected(&mut server, &mut expected, "the end");
    (server, seen)
}
