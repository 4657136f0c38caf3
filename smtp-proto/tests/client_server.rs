//! The client engine against the server engine in memory, on a virtual clock, for every
//! combination of the extensions that change the wire exchange.

use std::time::{Duration, Instant};

use mailhub_smtp_proto::client::{self, Client, ClientOptions, Envelope, TlsPolicy};
use mailhub_smtp_proto::params::Body;
use mailhub_smtp_proto::server::{self, Extensions, Server, ServerOptions};
use mailhub_smtp_proto::{
    ClientError, Domain, ForwardPath, Host, MailParams, Mailbox, RcptParams, Reply, ReplyCode,
    ReversePath,
};

#[derive(Clone, Copy, Debug)]
struct Combo {
    pipelining: bool,
    client_pipelining: bool,
    chunking: bool,
    starttls: bool,
    enhanced: bool,
    lmtp: bool,
    auth: bool,
    smtputf8: bool,
    binary: bool,
}

fn mbox(s: &str) -> Mailbox {
    Mailbox::parse(s).unwrap()
}

/// What the server side saw and the client side got.
#[derive(Default, Debug)]
struct Outcome {
    delivered: Vec<(Vec<String>, Vec<u8>)>,
    results: Vec<Vec<(usize, u16)>>,
    failed: Vec<u16>,
    rcpt_replies: Vec<(usize, u16)>,
    authenticated: bool,
    client_tls: bool,
    closed: bool,
    errors: Vec<ClientError>,
    bdat_chunks: usize,
    data_commands: usize,
}

fn run(c: Combo, messages: Vec<(Envelope, Vec<u8>)>, now: Instant) -> Outcome {
    let mut so = ServerOptions::new("mx.example");
    so.lmtp = c.lmtp;
    so.extensions = Extensions {
        size: true,
        pipelining: c.pipelining,
        eightbitmime: true,
        chunking: c.chunking,
        binarymime: c.binary,
        smtputf8: c.smtputf8,
        dsn: true,
        enhanced_status_codes: c.enhanced,
        starttls: c.starttls,
        auth: if c.auth { vec!["PLAIN".into()] } else { vec![] },
        auth_requires_tls: c.starttls,
        ..Extensions::default()
    };
    let mut co = ClientOptions::new(Host::Domain(Domain::new("client.example").unwrap()));
    co.lmtp = c.lmtp;
    co.pipelining = c.client_pipelining;
    co.starttls = if c.starttls {
        TlsPolicy::Required
    } else {
        TlsPolicy::Opportunistic
    };
    let mut srv = Server::new(so, now);
    let mut cli = Client::new(co, now);
    let mut out = Outcome::default();
    let mut queue = messages.into_iter();
    let mut current: Option<Vec<u8>> = None;
    let mut body_sent = 0;
    let mut rcpts: Vec<String> = Vec::new();
    let mut body = Vec::new();
    let mut auth_started = false;
    for _round in 0..10_000 {
        let mut progress = false;
        while let Some(e) = srv.poll_event() {
            progress = true;
            use server::Event as S;
            match e {
                S::Rcpt { to, .. } => {
                    let refuse =
                        matches!(&to, ForwardPath::Mailbox(m) if m.local.as_str() == "nobody");
                    if refuse {
                        srv.reject(
                            Reply::new(ReplyCode::new(550).unwrap(), None, "no such user").unwrap(),
                        )
                        .unwrap();
                    } else {
                        rcpts.push(to.to_string());
                        srv.accept().unwrap();
                    }
                }
                S::BodyChunk(b) => body.extend_from_slice(&b),
                S::BdatStart { .. } => {
                    out.bdat_chunks += 1;
                    srv.accept().unwrap();
                }
                S::DataStart => {
                    out.data_commands += 1;
                    srv.accept().unwrap();
                }
                S::MessageEnd { .. } => {
                    out.delivered
                        .push((std::mem::take(&mut rcpts), std::mem::take(&mut body)));
                    srv.accept().unwrap();
                }
                S::MessageRejected(_) | S::Reset => {
                    rcpts.clear();
                    body.clear();
                }
                S::Auth {
                    initial_response, ..
                } => {
                    let ok = initial_response.is_some_and(|r| r.expose() == b"\0user\0pass");
                    if ok {
                        srv.auth_success().unwrap();
                    } else {
                        srv.auth_challenge(b"").unwrap();
                    }
                }
                S::AuthResponse(r) => {
                    assert_eq!(r.expose(), b"\0user\0pass");
                    srv.auth_success().unwrap();
                }
                S::StartTls => srv.tls_established().unwrap(),
                S::AuthCancelled => {}
                _ => srv.accept().unwrap(),
            }
        }
        if let Some(b) = srv.poll_transmit() {
            progress = true;
            cli.handle_input(&b);
        }
        while let Some(e) = cli.poll_event() {
            progress = true;
            use client::Event as C;
            match e {
                C::StartTls => cli.tls_established().unwrap(),
                C::Ready(caps) => {
                    out.client_tls = cli.is_tls();
                    if c.auth && !auth_started {
                        auth_started = true;
                        assert!(caps.has_auth("PLAIN"));
                        // Half the combinations use the initial response, half a 334.
                        let ir = c.pipelining.then(|| b"\0user\0pass".to_vec().into());
                        cli.authenticate("PLAIN", ir, Box::new(|_| Ok(b"\0user\0pass".to_vec())))
                            .unwrap();
                    } else {
                        next_message(&mut cli, &mut queue, &mut current, &mut body_sent);
                    }
                }
                C::Authenticated => {
                    out.authenticated = true;
                    next_message(&mut cli, &mut queue, &mut current, &mut body_sent);
                }
                C::RcptResult { index, reply } => {
                    out.rcpt_replies.push((index, reply.code().value()))
                }
                C::BodyReady => {
                    let b = current.as_ref().unwrap();
                    // Three pieces; without pipelining BDAT needs one BodyReady per piece.
                    let step = b.len().div_ceil(3).max(1);
                    loop {
                        if body_sent >= b.len() {
                            match cli.finish_body() {
                                Ok(()) => {}
                                Err(_) => break,
                            }
                            break;
                        }
                        let end = (body_sent + step).min(b.len());
                        if cli.send_body(&b[body_sent..end]).is_err() {
                            break;
                        }
                        body_sent = end;
                        if body_sent < b.len() && !c.client_pipelining {
                            // Without pipelining, wait for the next BodyReady (BDAT) — DATA
                            // takes everything.
                            if cli.send_body(&[]).is_ok() {
                                continue;
                            }
                            break;
                        }
                    }
                }
                C::MessageResult(r) => {
                    out.results
                        .push(r.iter().map(|(i, r)| (*i, r.code().value())).collect());
                    next_message(&mut cli, &mut queue, &mut current, &mut body_sent);
                }
                C::MessageFailed(r) => {
                    out.failed.push(r.code().value());
                    next_message(&mut cli, &mut queue, &mut current, &mut body_sent);
                }
                C::Closed => out.closed = true,
                C::Error(e) => out.errors.push(e),
                _ => {}
            }
        }
        if let Some(b) = cli.poll_transmit() {
            progress = true;
            srv.handle_input(&b);
        }
        if !progress {
            break;
        }
    }
    assert!(
        out.closed || !out.errors.is_empty(),
        "{c:?}: session did not end: {out:?}"
    );
    out
}

fn next_message(
    cli: &mut Client,
    queue: &mut dyn Iterator<Item = (Envelope, Vec<u8>)>,
    current: &mut Option<Vec<u8>>,
    sent: &mut usize,
) {
    match queue.next() {
        Some((env, body)) => {
            *current = Some(body);
            *sent = 0;
            cli.send_mail(env).unwrap();
        }
        None => cli.quit().unwrap(),
    }
}

fn envelope(rcpts: &[&str], smtputf8: bool, binary: bool) -> Envelope {
    Envelope {
        from: ReversePath::Mailbox(mbox(if smtputf8 {
            "jö@a.example"
        } else {
            "a@a.example"
        })),
        params: MailParams {
            size: Some(100),
            smtputf8,
            body: binary.then_some(Body::BinaryMime),
            ..MailParams::default()
        },
        recipients: rcpts
            .iter()
            .map(|r| (ForwardPath::Mailbox(mbox(r)), RcptParams::default()))
            .collect(),
    }
}

const BODY: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare\nLF and bare\rCR\r\nend\r\n";
const BODY_CANONICAL: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare\r\nLF and bare\r\nCR\r\nend\r\n";

#[test]
fn every_extension_combination() {
    let now = Instant::now();
    let mut n = 0;
    for bits in 0u32..512 {
        let bit = |i: u32| bits & (1 << i) != 0;
        let c = Combo {
            pipelining: bit(0),
            client_pipelining: bit(1),
            chunking: bit(2),
            starttls: bit(3),
            enhanced: bit(4),
            lmtp: bit(5),
            auth: bit(6),
            smtputf8: bit(7),
            binary: bit(8),
        };
        if c.binary && !c.chunking {
            continue;
        }
        n += 1;
        let body: Vec<u8> = if c.binary {
            (0..=255u8).chain(b"\n.\r\n".iter().copied()).collect()
        } else {
            BODY.to_vec()
        };
        let expected = if c.binary {
            body.clone()
        } else {
            BODY_CANONICAL.to_vec()
        };
        let messages = vec![
            (
                envelope(
                    &["b@mx.example", "nobody@mx.example", "c@mx.example"],
                    c.smtputf8,
                    c.binary,
                ),
                body.clone(),
            ),
            (
                envelope(&["nobody@mx.example"], c.smtputf8, c.binary),
                body.clone(),
            ),
            (
                envelope(&["d@mx.example"], c.smtputf8, c.binary),
                body.clone(),
            ),
        ];
        let o = run(c, messages, now);
        assert!(o.errors.is_empty(), "{c:?}: {:?}", o.errors);
        assert_eq!(o.client_tls, c.starttls, "{c:?}");
        assert_eq!(o.authenticated, c.auth, "{c:?}");
        assert_eq!(o.delivered.len(), 2, "{c:?}: {o:?}");
        assert_eq!(
            o.delivered[0].0,
            vec!["<b@mx.example>", "<c@mx.example>"],
            "{c:?}"
        );
        assert_eq!(o.delivered[0].1, expected, "{c:?}");
        assert_eq!(o.delivered[1].0, vec!["<d@mx.example>"], "{c:?}");
        assert_eq!(
            o.results,
            vec![vec![(0, 250), (2, 250)], vec![(0, 250)]],
            "{c:?}"
        );
        assert_eq!(o.failed.len(), 1, "{c:?}: {o:?}");
        // Three pieces and a LAST per delivered message with BDAT, two DATA without.
        assert_eq!(
            (o.bdat_chunks, o.data_commands),
            if c.chunking { (8, 0) } else { (0, 2) },
            "{c:?}"
        );
        assert_eq!(
            o.rcpt_replies,
            vec![(0, 250), (1, 550), (2, 250), (0, 550), (0, 250)],
            "{c:?}"
        );
    }
    assert!(n > 300);
}

#[test]
fn smtputf8_and_extensions_the_server_lacks_are_refused_before_sending() {
    use mailhub_smtp_proto::UsageError;
    let now = Instant::now();
    let mut so = ServerOptions::new("mx.example");
    so.extensions.size = true;
    let mut srv = Server::new(so, now);
    let mut cli = Client::new(ClientOptions::new(Host::parse("c.example").unwrap()), now);
    let mut ready = false;
    for _ in 0..10 {
        while let Some(_e) = srv.poll_event() {
            srv.accept().unwrap();
        }
        if let Some(b) = srv.poll_transmit() {
            cli.handle_input(&b);
        }
        while let Some(e) = cli.poll_event() {
            if let client::Event::Ready(caps) = e {
                assert!(!caps.smtputf8 && !caps.pipelining);
                ready = true;
            }
        }
        if let Some(b) = cli.poll_transmit() {
            srv.handle_input(&b);
        }
    }
    assert!(ready);
    assert_eq!(
        cli.send_mail(envelope(&["b@mx.example"], true, false)),
        Err(UsageError::NotOffered("SMTPUTF8"))
    );
    let mut e = envelope(&["b@mx.example"], false, false);
    e.params.size = None;
    e.recipients[0].1.notify = Some(Default::default());
    assert_eq!(cli.send_mail(e), Err(UsageError::NotOffered("DSN")));
    let mut e = envelope(&["b@mx.example"], false, false);
    e.params.size = Some(26 * 1024 * 1024);
    assert_eq!(
        cli.send_mail(e),
        Err(UsageError::TooBig {
            size: 26 * 1024 * 1024,
            limit: 25 * 1024 * 1024
        })
    );
}

#[test]
fn helo_fallback_garbage_and_timeouts() {
    let now = Instant::now();
    let opts = || {
        let mut o = ClientOptions::new(Host::parse("c.example").unwrap());
        o.starttls = TlsPolicy::Never;
        o
    };
    // An old server: EHLO refused, HELO accepted.
    let mut cli = Client::new(opts(), now);
    cli.handle_input(b"220 old.example ready\r\n");
    assert!(matches!(cli.poll_event(), Some(client::Event::Greeting(_))));
    assert_eq!(cli.poll_transmit().unwrap(), b"EHLO c.example\r\n");
    cli.handle_input(b"500 what?\r\n");
    assert_eq!(cli.poll_event(), None);
    assert_eq!(cli.poll_transmit().unwrap(), b"HELO c.example\r\n");
    cli.handle_input(b"250 old.example\r\n");
    assert!(matches!(cli.poll_event(), Some(client::Event::Ready(c)) if !c.esmtp));

    // Garbage instead of a reply: a typed error, not a hang.
    let mut cli = Client::new(opts(), now);
    cli.handle_input(b"HTTP/1.1 400 Bad Request\r\n");
    assert_eq!(
        cli.poll_event(),
        Some(client::Event::Error(ClientError::BadReply(
            mailhub_smtp_proto::ReplyError::Garbage
        )))
    );
    assert!(cli.is_closed());

    // A reply that never ends: bounded by the line limit.
    let mut cli = Client::new(opts(), now);
    cli.handle_input(&[b'2'; 10_000]);
    assert!(matches!(
        cli.poll_event(),
        Some(client::Event::Error(ClientError::BadReply(_)))
    ));

    // A 3xx where none is possible.
    let mut cli = Client::new(opts(), now);
    cli.handle_input(b"354 go ahead\r\n");
    assert_eq!(
        cli.poll_event(),
        Some(client::Event::Error(ClientError::Unexpected(
            354,
            "a command without 3xx"
        )))
    );

    // A 250 where DATA needs 354 or a failure.
    let mut o2 = opts();
    o2.chunking = false;
    let mut cli = Client::new(o2, now);
    cli.handle_input(b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
    while cli.poll_event().is_some() {}
    let env = Envelope {
        from: ReversePath::Null,
        params: MailParams::default(),
        recipients: vec![(ForwardPath::Postmaster, RcptParams::default())],
    };
    cli.send_mail(env).unwrap();
    cli.handle_input(b"250 ok\r\n250 ok\r\n250 ok\r\n");
    let mut last = None;
    while let Some(e) = cli.poll_event() {
        last = Some(e);
    }
    assert_eq!(
        last,
        Some(client::Event::Error(ClientError::Unexpected(250, "DATA")))
    );

    // Silence: the greeting timeout (RFC 5321 §4.5.3.2.1) on a virtual clock.
    let mut cli = Client::new(opts(), now);
    assert_eq!(cli.poll_timeout(), Some(now + Duration::from_secs(300)));
    cli.handle_timeout(now + Duration::from_secs(299));
    assert_eq!(cli.poll_event(), None);
    cli.handle_timeout(now + Duration::from_secs(300));
    assert_eq!(
        cli.poll_event(),
        Some(client::Event::Error(ClientError::Timeout("greeting")))
    );
    assert!(cli.is_closed());
}

#[test]
fn client_pipelines_rfc2920_group_and_matches_replies() {
    // The RFC 2920 §3.2 pipelined example, from the client's side.
    let now = Instant::now();
    let mut o = ClientOptions::new(Host::parse("dbc.mtview.ca.us").unwrap());
    o.starttls = TlsPolicy::Never;
    o.chunking = false;
    let mut cli = Client::new(o, now);
    cli.handle_input(b"220 innosoft.com SMTP service ready\r\n");
    assert!(matches!(cli.poll_event(), Some(client::Event::Greeting(_))));
    assert_eq!(cli.poll_transmit().unwrap(), b"EHLO dbc.mtview.ca.us\r\n");
    cli.handle_input(b"250-innosoft.com\r\n250 PIPELINING\r\n");
    assert!(matches!(cli.poll_event(), Some(client::Event::Ready(c)) if c.pipelining));
    let env = Envelope {
        from: ReversePath::parse("<mrose@dbc.mtview.ca.us>").unwrap(),
        params: MailParams::default(),
        recipients: [
            "<ned@innosoft.com>",
            "<dan@innosoft.com>",
            "<kvc@innosoft.com>",
        ]
        .iter()
        .map(|r| (ForwardPath::parse(r).unwrap(), RcptParams::default()))
        .collect(),
    };
    cli.send_mail(env).unwrap();
    assert_eq!(
        String::from_utf8(cli.poll_transmit().unwrap()).unwrap(),
        "MAIL FROM:<mrose@dbc.mtview.ca.us>\r\nRCPT TO:<ned@innosoft.com>\r\nRCPT TO:<dan@innosoft.com>\r\nRCPT TO:<kvc@innosoft.com>\r\nDATA\r\n"
    );
    cli.handle_input(b"250 sender <mrose@dbc.mtview.ca.us> OK\r\n250 recipient <ned@innosoft.com> OK\r\n550 no dan here\r\n250 recipient <kvc@innosoft.com> OK\r\n354 enter mail, end with line containing only \".\"\r\n");
    let mut events = Vec::new();
    while let Some(e) = cli.poll_event() {
        events.push(e);
    }
    let rcpts: Vec<(usize, u16)> = events
        .iter()
        .filter_map(|e| match e {
            client::Event::RcptResult { index, reply } => Some((*index, reply.code().value())),
            _ => None,
        })
        .collect();
    assert_eq!(rcpts, vec![(0, 250), (1, 550), (2, 250)]);
    assert_eq!(events.last(), Some(&client::Event::BodyReady));
    cli.send_body(b"Hello").unwrap();
    cli.finish_body().unwrap();
    cli.quit().unwrap();
    assert_eq!(cli.poll_transmit().unwrap(), b"Hello\r\n.\r\nQUIT\r\n");
    cli.handle_input(b"250 message sent\r\n221 goodbye\r\n");
    assert_eq!(
        cli.poll_event(),
        Some(client::Event::MessageResult(vec![
            (0, Reply::new(ReplyCode::OK, None, "message sent").unwrap()),
            (2, Reply::new(ReplyCode::OK, None, "message sent").unwrap()),
        ]))
    );
    assert_eq!(cli.poll_event(), Some(client::Event::Closed));
    assert!(cli.is_closed());
}

#[test]
fn reset_mid_transaction_drops_the_owed_replies() {
    use mailhub_smtp_proto::UsageError;
    let now = Instant::now();
    let env = || Envelope {
        from: ReversePath::Null,
        params: MailParams::default(),
        recipients: vec![(ForwardPath::Postmaster, RcptParams::default())],
    };
    let mut o = ClientOptions::new(Host::parse("c.example").unwrap());
    o.starttls = TlsPolicy::Never;
    // With DATA in the pipelined group, RSET must wait: after a 354 it would be content.
    let mut cli = Client::new(o.clone(), now);
    cli.handle_input(b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
    while cli.poll_event().is_some() {}
    cli.send_mail(env()).unwrap();
    assert!(matches!(cli.reset(), Err(UsageError::InvalidState(_))));
    // With BDAT there is no DATA: RSET goes at once and the owed replies are dropped.
    let mut cli = Client::new(o, now);
    cli.handle_input(b"220 mx\r\n250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n");
    while cli.poll_event().is_some() {}
    cli.send_mail(env()).unwrap();
    cli.reset().unwrap();
    assert!(
        String::from_utf8(cli.poll_transmit().unwrap())
            .unwrap()
            .ends_with("RSET\r\n")
    );
    cli.handle_input(b"250 ok\r\n250 ok\r\n250 reset\r\n");
    let mut events = Vec::new();
    while let Some(e) = cli.poll_event() {
        events.push(e);
    }
    assert_eq!(
        events,
        vec![client::Event::Reply(
            Reply::new(ReplyCode::OK, None, "reset").unwrap()
        )]
    );
}

#[test]
fn server_options_cannot_break_reply_lines() {
    let mut o = ServerOptions::new("mx.example\r\n250 injected");
    o.extensions.auth = vec!["PLAIN".into(), "BAD\r\nNAME".into()];
    o.extensions.auth_requires_tls = false;
    let mut s = Server::new(o, Instant::now());
    let _ = s.poll_event();
    s.accept().unwrap();
    s.handle_input(b"EHLO c.example\r\n");
    while s.poll_event().is_some() {
        s.accept().unwrap();
    }
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        "220 mx.example250 injected ESMTP Service ready\r\n250-mx.example250 injected Hello\r\n250 AUTH PLAIN\r\n"
    );
}
