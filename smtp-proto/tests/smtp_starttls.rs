//! RFC 3207: STARTTLS resets the session and drops plaintext pipelined behind it
//! (the CVE-2011-0411 command injection).

mod common;

use common::{Seen, drive, transcript};
use mailhub_smtp_proto::server::{Event, Extensions, Server, ServerOptions};

fn opts() -> ServerOptions {
    let mut o = ServerOptions::new("mx.example");
    o.extensions = Extensions {
        pipelining: true,
        starttls: true,
        requiretls: true,
        ..Extensions::default()
    };
    o
}

#[test]
fn injected_commands_after_starttls_are_dropped() {
    let mut s = Server::new(opts(), std::time::Instant::now());
    let mut seen = Seen::default();
    let mut tls_seen = false;
    while let Some(e) = s.poll_event() {
        assert_eq!(e, Event::Connect);
        s.accept().unwrap();
    }
    s.handle_input(
        b"EHLO a.example\r\nSTARTTLS\r\nMAIL FROM:<evil@a.example>\r\nRCPT TO:<x@mx.example>\r\n",
    );
    while let Some(e) = s.poll_event() {
        match e {
            Event::Hello { .. } => s.accept().unwrap(),
            Event::StartTls => tls_seen = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(tls_seen);
    assert_eq!(
        String::from_utf8(s.poll_transmit().unwrap()).unwrap(),
        "220 mx.example ESMTP Service ready\r\n250-mx.example Hello\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 Ready to start TLS\r\n"
    );
    // Bytes fed before the handshake completes are not SMTP either.
    s.handle_input(b"RCPT TO:<y@mx.example>\r\n");
    assert_eq!(s.poll_event(), None);
    s.tls_established().unwrap();
    s.handle_input(b"MAIL FROM:<a@a.example>\r\nEHLO a.example\r\n");
    drive(&mut s, &mut seen, &mut |_| None);
    assert_eq!(
        String::from_utf8(s.poll_transmit().unwrap()).unwrap(),
        "503 Send HELO/EHLO first\r\n250-mx.example Hello\r\n250-PIPELINING\r\n250 REQUIRETLS\r\n"
    );
    assert!(s.is_tls());
    assert!(s.tls_established().is_err());
}

#[test]
fn starttls_rules() {
    let mut o = opts();
    o.extensions.starttls = false;
    transcript(
        o,
        "S: 220 mx.example ESMTP Service ready
         C: STARTTLS
         S: 502 Command not implemented
         C: EHLO a.example
         S: 250-mx.example Hello
         S: 250 PIPELINING
         C: MAIL FROM:<a@a.example> REQUIRETLS
         S: 555 REQUIRETLS parameter not supported",
        |_| None,
    );
    let mut o = opts();
    o.tls = true;
    transcript(
        o,
        "S: 220 mx.example ESMTP Service ready
         C: STARTTLS
         S: 503 TLS already active
         C: EHLO a.example
         S: 250-mx.example Hello
         S: 250-PIPELINING
         S: 250 REQUIRETLS
         C: MAIL FROM:<a@a.example> REQUIRETLS
         S: 250 OK",
        |_| None,
    );
}
