//! Limits, timeouts, refusal mode, enhanced status codes, SMTPUTF8 and the advertised list.

mod common;

use std::time::{Duration, Instant};

use common::{Decision, Seen, drive, reply, transcript};
use mailhub_smtp_proto::server::{Event, Extensions, Server, ServerOptions};

fn opts() -> ServerOptions {
    let mut o = ServerOptions::new("mx.example");
    o.extensions = Extensions {
        size: true,
        enhanced_status_codes: true,
        smtputf8: true,
        ..Extensions::default()
    };
    o.limits.max_message_size = 100;
    o.limits.max_recipients = 2;
    o.limits.max_errors = 4;
    o
}

#[test]
fn only_enabled_extensions_are_advertised() {
    transcript(
        ServerOptions::new("mx.example"),
        "S: 220 mx.example ESMTP Service ready
         C: EHLO a.example
         S: 250 mx.example Hello
         C: MAIL FROM:<a@a.example> BODY=8BITMIME
         S: 555 BODY parameter not supported
         C: MAIL FROM:<a@a.example> SMTPUTF8
         S: 555 SMTPUTF8 parameter not supported",
        |_| None,
    );
    let mut all = ServerOptions::new("mx.example");
    all.extensions = Extensions::all();
    all.tls = true;
    all.limits.max_message_size = 5000;
    transcript(
        all,
        "S: 220 mx.example ESMTP Service ready
         C: EHLO a.example
         S: 250-mx.example Hello
         S: 250-SIZE 5000
         S: 250-PIPELINING
         S: 250-8BITMIME
         S: 250-BINARYMIME
         S: 250-CHUNKING
         S: 250-SMTPUTF8
         S: 250-DSN
         S: 250-ENHANCEDSTATUSCODES
         S: 250-REQUIRETLS
         S: 250-MT-PRIORITY
         S: 250-DELIVERBY
         S: 250 AUTH PLAIN LOGIN
         C: MAIL FROM:<a@a.example> SIZE=10 BODY=BINARYMIME SMTPUTF8 RET=HDRS ENVID=x AUTH=<> REQUIRETLS BY=60;R MT-PRIORITY=3
         S: 250 2.1.0 OK
         C: RCPT TO:<b@b.example> NOTIFY=NEVER ORCPT=rfc822;b@b.example
         S: 250 2.1.0 OK",
        |_| None,
    );
}

#[test]
fn size_recipients_utf8_and_status_codes() {
    let (_, seen) = transcript(
        opts(),
        "S: 220 mx.example ESMTP Service ready
         C: EHLO a.example
         S: 250-mx.example Hello
         S: 250-SIZE 100
         S: 250-SMTPUTF8
         S: 250 ENHANCEDSTATUSCODES
         C: MAIL FROM:<a@a.example> SIZE=101
         S: 552 5.3.4 Message size exceeds fixed maximum message size
         C: MAIL FROM:<jö@a.example>
         S: 550 5.6.7 Non-ASCII addresses require SMTPUTF8
         C: MAIL FROM:<a@a.example>
         S: 250 2.1.0 OK
         C: RCPT TO:<ü@b.example>
         S: 553 5.6.7 Non-ASCII addresses require SMTPUTF8
         C: RCPT TO:<b@b.example>
         S: 250 2.1.0 OK
         C: RCPT TO:<c@b.example>
         S: 250 2.1.0 OK
         C: RCPT TO:<d@b.example>
         S: 452 4.5.3 Too many recipients
         C: DATA
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         C: 0123456789012345678901234567890123456789012345678901234567890123456789
         C: 0123456789012345678901234567890123456789
         C: .
         S: 552 5.3.4 Message size exceeds fixed maximum message size
         C: RSET
         S: 250 2.0.0 OK
         C: MAIL FROM:<jö@a.example> SMTPUTF8
         S: 250 2.1.0 OK
         C: RCPT TO:<ü@b.example>
         S: 250 2.1.0 OK
         C: HELO a.example
         S: 250 mx.example
         C: NOOP
         S: 250 2.0.0 OK",
        |_| None,
    );
    assert_eq!(seen.rejected, 1);
    assert!(seen.events.contains(&Event::Reset));
}

#[test]
fn long_lines_are_skipped_without_buffering() {
    let mut s = Server::new(opts(), Instant::now());
    let mut seen = Seen::default();
    drive(&mut s, &mut seen, &mut |_| None);
    let _ = s.poll_transmit();
    let junk = vec![b'x'; 64 * 1024];
    for _ in 0..32 {
        s.handle_input(&junk);
        drive(&mut s, &mut seen, &mut |_| None);
        assert!(s.buffered() <= 2048 + junk.len(), "{}", s.buffered());
    }
    s.handle_input(b"\r\nNOOP\r\n");
    drive(&mut s, &mut seen, &mut |_| None);
    assert_eq!(
        String::from_utf8(s.poll_transmit().unwrap()).unwrap(),
        "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
    );
    // A long text line inside DATA is refused at the end of the message.
    let mut o = opts();
    o.limits.max_message_size = 10_000;
    let line = "y".repeat(1200);
    transcript(
        o,
        &format!(
            "S: 220 mx.example ESMTP Service ready
             C: EHLO a.example
             S: 250-mx.example Hello
             S: 250-SIZE 10000
             S: 250-SMTPUTF8
             S: 250 ENHANCEDSTATUSCODES
             C: MAIL FROM:<a@a.example>
             C: RCPT TO:<b@b.example>
             C: DATA
             S: 250 2.1.0 OK
             S: 250 2.1.0 OK
             S: 354 Start mail input; end with <CRLF>.<CRLF>
             C: {line}
             C: .
             S: 500 5.5.2 Line too long"
        ),
        |_| None,
    );
}

#[test]
fn too_many_errors_close_the_session() {
    let (s, _) = transcript(
        opts(),
        "S: 220 mx.example ESMTP Service ready
         C: FOO
         C: BAR
         C: RCPT TO:<a@b.example>
         C: BAZ
         C: NOOP
         S: 500 5.5.1 Command unrecognized
         S: 500 5.5.1 Command unrecognized
         S: 503 5.5.1 Need MAIL command
         S: 500 5.5.1 Command unrecognized
         S: 421 4.7.0 mx.example Error: too many errors",
        |_| None,
    );
    assert!(s.is_closed());
}

#[test]
fn refusal_mode_serves_only_quit() {
    let (s, _) = transcript(
        opts(),
        "S: 554 No SMTP service here
         C: EHLO a.example
         S: 503 5.5.1 Bad sequence of commands: service refused
         C: QUIT
         S: 221 2.0.0 mx.example Service closing transmission channel",
        |e| match e {
            Event::Connect => Some(Decision::Reject(reply(554, "No SMTP service here"))),
            _ => None,
        },
    );
    assert!(s.is_closed());
}

#[test]
fn idle_timeout_on_a_virtual_clock() {
    let t0 = Instant::now();
    let mut s = Server::new(opts(), t0);
    let mut seen = Seen::default();
    drive(&mut s, &mut seen, &mut |_| None);
    let _ = s.poll_transmit();
    s.handle_timeout(t0);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(300));
    // Input at 200 s moves the deadline.
    s.handle_input(b"NOOP\r\n");
    drive(&mut s, &mut seen, &mut |_| None);
    s.handle_timeout(t0 + Duration::from_secs(200));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(500)));
    s.handle_timeout(t0 + Duration::from_secs(499));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(500));
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert!(
        out.ends_with("421 4.4.2 mx.example Error: timeout exceeded\r\n"),
        "{out}"
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn decisions_are_checked() {
    use mailhub_smtp_proto::UsageError;
    let mut s = Server::new(opts(), Instant::now());
    assert!(matches!(s.accept(), Err(UsageError::NoDecisionPending(_))));
    assert_eq!(s.poll_event(), Some(Event::Connect));
    assert!(matches!(
        s.reject(reply(250, "x")),
        Err(UsageError::WrongReplyClass(_))
    ));
    assert!(matches!(
        s.auth_success(),
        Err(UsageError::NoDecisionPending(_))
    ));
    s.accept().unwrap();
    assert_eq!(s.poll_event(), None);
}

#[test]
fn lenient_and_strict_hello_names() {
    let (_, seen) = transcript(
        ServerOptions::new("mx.example"),
        "S: 220 mx.example ESMTP Service ready
         C: EHLO my_pc
         S: 250 mx.example Hello
         C: HELO _gateway
         S: 250 mx.example
         C: EHLO
         S: 501 Syntax error in parameters
         C: EHLO a.example
         S: 250 mx.example Hello",
        |_| None,
    );
    use mailhub_smtp_proto::server::HelloName;
    let hosts: Vec<&HelloName> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Hello { host, .. } => Some(host),
            _ => None,
        })
        .collect();
    assert!(
        matches!(hosts[..], [HelloName::Other(a), HelloName::Other(b), HelloName::Host(c)]
        if a == "my_pc" && b == "_gateway" && c.to_string() == "a.example")
    );
    let mut strict = ServerOptions::new("mx.example");
    strict.quirk_lenient_hello = false;
    transcript(
        strict,
        "S: 220 mx.example ESMTP Service ready
         C: EHLO my_pc
         S: 501 Syntax error in parameters",
        |_| None,
    );
}
