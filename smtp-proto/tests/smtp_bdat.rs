//! RFC 3030 §4 examples: BDAT chunks, BINARYMIME, pipelined chunks.

mod common;

use common::{Decision, reply, transcript};
use mailhub_smtp_proto::server::{Event, Extensions, ServerOptions};

fn cnri(pipelining: bool) -> ServerOptions {
    let mut o = ServerOptions::new("cnri.reston.va.us");
    o.extensions = Extensions {
        pipelining,
        binarymime: pipelining,
        chunking: true,
        ..Extensions::default()
    };
    o
}

#[test]
fn rfc3030_simple_chunking() {
    let msg = "To: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: This is a bodyless test message\r\n";
    assert_eq!(msg.len(), 86);
    // Built by hand: the chunk is binary-exact, so feed it directly.
    use mailhub_smtp_proto::server::Server;
    let mut s = Server::new(cnri(false), std::time::Instant::now());
    let mut seen = common::Seen::default();
    let mut decide = |e: &Event| match e {
        Event::MessageEnd { .. } => Some(Decision::AcceptWith(reply(
            250,
            "Message OK, 86 octets received",
        ))),
        _ => None,
    };
    common::drive(&mut s, &mut seen, &mut decide);
    for (input, want) in [
        (
            "EHLO ymir.claremont.edu\r\n",
            "220 cnri.reston.va.us ESMTP Service ready\r\n250-cnri.reston.va.us Hello\r\n250 CHUNKING\r\n",
        ),
        ("MAIL FROM:<Sam@Random.com>\r\n", "250 OK\r\n"),
        ("RCPT TO:<Susan@Random.com>\r\n", "250 OK\r\n"),
        (
            &format!("BDAT 86 LAST\r\n{msg}"),
            "250 Message OK, 86 octets received\r\n",
        ),
        (
            "QUIT\r\n",
            "221 cnri.reston.va.us Service closing transmission channel\r\n",
        ),
    ] {
        s.handle_input(input.as_bytes());
        common::drive(&mut s, &mut seen, &mut decide);
        assert_eq!(String::from_utf8(s.poll_transmit().unwrap()).unwrap(), want);
    }
    assert_eq!(seen.messages, vec![msg.as_bytes().to_vec()]);
}

#[test]
fn rfc3030_pipelined_binarymime() {
    use mailhub_smtp_proto::server::Server;
    let mut s = Server::new(cnri(true), std::time::Instant::now());
    let mut seen = common::Seen::default();
    let mut decide = |e: &Event| match e {
        Event::MessageEnd { .. } => Some(Decision::AcceptWith(reply(
            250,
            "Message OK, 100324 octets received",
        ))),
        _ => None,
    };
    common::drive(&mut s, &mut seen, &mut decide);
    // Binary content with bare CR, bare LF and lone dots: BINARYMIME passes it untouched.
    let first: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let second: Vec<u8> = b"\n.\n\r.\r".iter().copied().cycle().take(324).collect();
    let mut input = b"EHLO ymir.claremont.edu\r\nMAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME\r\nRCPT TO:<gvaudre@cnri.reston.va.us>\r\nRCPT TO:<jstewart@cnri.reston.va.us>\r\nBDAT 100000\r\n".to_vec();
    input.extend_from_slice(&first);
    input.extend_from_slice(b"BDAT 324\r\n");
    input.extend_from_slice(&second);
    input.extend_from_slice(b"BDAT 0 LAST\r\nQUIT\r\n");
    // Fed in awkward pieces to exercise chunk boundaries.
    for piece in input.chunks(4093) {
        s.handle_input(piece);
        common::drive(&mut s, &mut seen, &mut decide);
    }
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        "220 cnri.reston.va.us ESMTP Service ready\r\n\
         250-cnri.reston.va.us Hello\r\n250-PIPELINING\r\n250-BINARYMIME\r\n250 CHUNKING\r\n\
         250 OK\r\n250 OK\r\n250 OK\r\n\
         250 100000 octets received\r\n250 100324 octets received\r\n\
         250 Message OK, 100324 octets received\r\n\
         221 cnri.reston.va.us Service closing transmission channel\r\n"
    );
    let mut want = first;
    want.extend_from_slice(&second);
    assert_eq!(seen.messages, vec![want]);
}

#[test]
fn bdat_errors_still_consume_the_chunk() {
    // Without MAIL, and without CHUNKING, the announced octets are read and dropped: the
    // "QUIT" inside them must not end the session.
    transcript(
        cnri(false),
        "S: 220 cnri.reston.va.us ESMTP Service ready
         C: EHLO a.example
         S: 250-cnri.reston.va.us Hello
         S: 250 CHUNKING
         C: BDAT 6
         C: QUIT
         S: 503 Need MAIL command
         C: MAIL FROM:<a@a.example>
         C: RCPT TO:<b@b.example>
         C: DATA
         C: x
         C: .
         C: BDAT 6 LAST
         C: QUIT
         S: 250 OK
         S: 250 OK
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         S: 250 OK
         S: 503 Need MAIL command
         C: NOOP
         S: 250 OK",
        |_| None,
    );
    let mut o = cnri(false);
    o.extensions.chunking = false;
    transcript(
        o,
        "S: 220 cnri.reston.va.us ESMTP Service ready
         C: BDAT 6 LAST
         C: QUIT
         S: 502 Command not implemented
         C: NOOP
         S: 250 OK",
        |_| None,
    );
}

#[test]
fn bdat_rejected_by_the_caller_and_data_after_bdat() {
    let (_, seen) = transcript(
        cnri(false),
        "S: 220 cnri.reston.va.us ESMTP Service ready
         C: EHLO a.example
         S: 250-cnri.reston.va.us Hello
         S: 250 CHUNKING
         C: MAIL FROM:<a@a.example>
         C: RCPT TO:<b@b.example>
         C: BDAT 5
         C: abc
         C: DATA
         S: 250 OK
         S: 250 OK
         S: 452 Insufficient storage
         S: 503 DATA after BDAT",
        |e| match e {
            Event::BdatStart { .. } => Some(Decision::Reject(reply(452, "Insufficient storage"))),
            _ => None,
        },
    );
    assert!(seen.messages.is_empty());
}
