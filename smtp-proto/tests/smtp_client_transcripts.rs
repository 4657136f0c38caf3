//! The client engine's side of RFC examples, byte for byte: RFC 3030 §4.2 (pipelined
//! BINARYMIME in BDAT chunks) and RFC 4954 §7 (AUTH PLAIN with an initial response, and after
//! an empty 334 challenge).

use std::time::Instant;

use mailhub_smtp_proto::client::{Client, ClientOptions, Envelope, Event, TlsPolicy};
use mailhub_smtp_proto::params::Body;
use mailhub_smtp_proto::{ForwardPath, Host, MailParams, RcptParams, ReversePath, Secret};

fn client(name: &str) -> Client {
    let mut o = ClientOptions::new(Host::parse(name).unwrap());
    o.starttls = TlsPolicy::Never;
    Client::new(o, Instant::now())
}

fn step(c: &mut Client, server: &str) -> (Vec<Event>, String) {
    c.handle_input(server.as_bytes());
    let mut events = Vec::new();
    while let Some(e) = c.poll_event() {
        events.push(e);
    }
    let out = c
        .poll_transmit()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    (events, out.unwrap_or_default())
}

#[test]
fn rfc3030_pipelined_binarymime_from_the_client() {
    let mut c = client("ymir.claremont.edu");
    let (_, out) = step(&mut c, "220 cnri.reston.va.us SMTP service ready\r\n");
    assert_eq!(out, "EHLO ymir.claremont.edu\r\n");
    let (ev, _) = step(
        &mut c,
        "250-cnri.reston.va.us says hello\r\n250-PIPELINING\r\n250-BINARYMIME\r\n250 CHUNKING\r\n",
    );
    assert!(matches!(&ev[..], [Event::Ready(caps)] if caps.binarymime && caps.chunking));
    c.send_mail(Envelope {
        from: ReversePath::parse("<ned@ymir.claremont.edu>").unwrap(),
        params: MailParams {
            body: Some(Body::BinaryMime),
            ..MailParams::default()
        },
        recipients: [
            "<gvaudre@cnri.reston.va.us>",
            "<jstewart@cnri.reston.va.us>",
        ]
        .iter()
        .map(|r| (ForwardPath::parse(r).unwrap(), RcptParams::default()))
        .collect(),
    })
    .unwrap();
    assert_eq!(
        String::from_utf8(c.poll_transmit().unwrap()).unwrap(),
        "MAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME\r\n\
         RCPT TO:<gvaudre@cnri.reston.va.us>\r\nRCPT TO:<jstewart@cnri.reston.va.us>\r\n"
    );
    let (ev, _) = step(
        &mut c,
        "250 <ned@ymir.claremont.edu>... Sender and BINARYMIME ok\r\n\
         250 <gvaudre@cnri.reston.va.us>... Recipient ok\r\n\
         250 <jstewart@cnri.reston.va.us>... Recipient ok\r\n",
    );
    assert_eq!(ev.last(), Some(&Event::BodyReady));
    // Binary content goes as is: bare LF, lone dots and NULs included.
    let first = vec![b'\n'; 100];
    let second = b".\r\n\0.".to_vec();
    c.send_body(&first).unwrap();
    c.send_body(&second).unwrap();
    c.finish_body().unwrap();
    let mut want = b"BDAT 100\r\n".to_vec();
    want.extend_from_slice(&first);
    want.extend_from_slice(b"BDAT 5\r\n");
    want.extend_from_slice(&second);
    want.extend_from_slice(b"BDAT 0 LAST\r\n");
    assert_eq!(c.poll_transmit().unwrap(), want);
    let (ev, _) = step(
        &mut c,
        "250 100 octets received\r\n250 5 octets received\r\n250 Message OK, 105 octets received\r\n",
    );
    assert!(matches!(&ev[..], [Event::MessageResult(r)] if r.len() == 2 && r[1].0 == 1));
}

#[test]
fn rfc4954_auth_plain_from_the_client() {
    for with_ir in [true, false] {
        let mut c = client("client.example.com");
        step(&mut c, "220 smtp.example.com ESMTP Server\r\n");
        let (ev, _) = step(
            &mut c,
            "250-smtp.example.com Hello client.example.com\r\n250 AUTH GSSAPI DIGEST-MD5 PLAIN\r\n",
        );
        assert!(matches!(&ev[..], [Event::Ready(_)]));
        let creds = b"test\0test\x001234".to_vec();
        let ir = with_ir.then(|| Secret::new(creds.clone()));
        let answer = creds.clone();
        c.authenticate(
            "PLAIN",
            ir,
            Box::new(move |challenge| {
                assert!(challenge.is_empty());
                Ok(answer.clone())
            }),
        )
        .unwrap();
        let line = String::from_utf8(c.poll_transmit().unwrap()).unwrap();
        if with_ir {
            assert_eq!(line, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
        } else {
            assert_eq!(line, "AUTH PLAIN\r\n");
            let (ev, out) = step(&mut c, "334 \r\n");
            assert!(ev.is_empty());
            assert_eq!(out, "dGVzdAB0ZXN0ADEyMzQ=\r\n");
        }
        let (ev, _) = step(&mut c, "235 2.7.0 Authentication successful\r\n");
        assert_eq!(ev, vec![Event::Authenticated]);
    }
}

#[test]
fn auth_step_failure_cancels_with_a_star() {
    let mut c = client("client.example.com");
    step(&mut c, "220 smtp.example.com ESMTP\r\n");
    step(&mut c, "250-smtp.example.com\r\n250 AUTH SCRAM-SHA-256\r\n");
    c.authenticate("SCRAM-SHA-256", None, Box::new(|_| Err("bad nonce".into())))
        .unwrap();
    assert_eq!(c.poll_transmit().unwrap(), b"AUTH SCRAM-SHA-256\r\n");
    let (_, out) = step(&mut c, "334 cj1mb28=\r\n");
    assert_eq!(out, "*\r\n");
    let (ev, _) = step(&mut c, "501 5.0.0 Authentication cancelled\r\n");
    assert!(matches!(&ev[..], [Event::AuthFailed(r)] if r.code().value() == 501));
}

#[test]
fn empty_challenge_response_is_an_empty_line_not_equals() {
    // RFC 4954 §4: `=` means an empty *initial* response; an empty answer to a 334 challenge
    // (SCRAM's answer to the server's final message) is an empty line.
    let mut c = client("client.example.com");
    step(&mut c, "220 smtp.example.com ESMTP\r\n");
    step(&mut c, "250-smtp.example.com\r\n250 AUTH SCRAM-SHA-256\r\n");
    c.authenticate("SCRAM-SHA-256", None, Box::new(|_| Ok(Vec::new())))
        .unwrap();
    assert_eq!(c.poll_transmit().unwrap(), b"AUTH SCRAM-SHA-256\r\n");
    let (_, out) = step(&mut c, "334 dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9\r\n");
    assert_eq!(out, "\r\n");
}
