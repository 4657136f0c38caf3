//! RFC 5321 Appendix D scenarios replayed against the server engine. The server texts are
//! this engine's (and the embedding server's replies where the scenario has a special one);
//! codes, line structure and order are the RFC's.

mod common;

use common::{Decision, reply, transcript};
use mailhub_smtp_proto::ForwardPath;
use mailhub_smtp_proto::server::{Event, Extensions, ServerOptions};

fn foo_com() -> ServerOptions {
    let mut o = ServerOptions::new("foo.com");
    o.extensions = Extensions {
        size: true,
        eightbitmime: true,
        dsn: true,
        ..Extensions::default()
    };
    o.limits.max_message_size = 1_000_000;
    o
}

fn no_green(e: &Event) -> Option<Decision> {
    match e {
        Event::Rcpt {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.local.as_str() == "Green" => Some(Decision::Reject(reply(550, "No such user here"))),
        _ => None,
    }
}

#[test]
fn d1_typical_transaction() {
    let (server, seen) = transcript(
        foo_com(),
        "S: 220 foo.com ESMTP Service ready
         C: EHLO bar.com
         S: 250-foo.com Hello
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 DSN
         C: MAIL FROM:<Smith@bar.com>
         S: 250 OK
         C: RCPT TO:<Jones@foo.com>
         S: 250 OK
         C: RCPT TO:<Green@foo.com>
         S: 550 No such user here
         C: RCPT TO:<Brown@foo.com>
         S: 250 OK
         C: DATA
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         C: Blah blah blah...
         C: ...etc. etc. etc.
         C: .
         S: 250 OK
         C: QUIT
         S: 221 foo.com Service closing transmission channel",
        no_green,
    );
    assert_eq!(
        seen.messages,
        vec![b"Blah blah blah...\r\n..etc. etc. etc.\r\n".to_vec()]
    );
    assert!(seen.events.contains(&Event::MessageEnd { recipients: 2 }));
    assert!(server.is_closed());
}

#[test]
fn d2_aborted_transaction() {
    let (_, seen) = transcript(
        foo_com(),
        "S: 220 foo.com ESMTP Service ready
         C: EHLO bar.com
         S: 250-foo.com Hello
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 DSN
         C: MAIL FROM:<Smith@bar.com>
         S: 250 OK
         C: RCPT TO:<Jones@foo.com>
         S: 250 OK
         C: RCPT TO:<Green@foo.com>
         S: 550 No such user here
         C: RSET
         S: 250 OK
         C: QUIT
         S: 221 foo.com Service closing transmission channel",
        no_green,
    );
    assert!(seen.events.contains(&Event::Reset));
    assert!(seen.messages.is_empty());
}

#[test]
fn d3_relayed_message_content() {
    let (_, seen) = transcript(
        foo_com(),
        "S: 220 foo.com ESMTP Service ready
         C: EHLO bar.com
         S: 250-foo.com Hello
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 DSN
         C: MAIL FROM:<JQP@bar.com>
         S: 250 OK
         C: RCPT TO:<Jones@XYZ.COM>
         S: 250 OK
         C: DATA
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         C: Date: Thu, 21 May 1998 05:33:29 -0700
         C: From: John Q. Public <JQP@bar.com>
         C: Subject: The Next Meeting of the Board
         C: To: Jones@xyz.com
         C:
         C: Bill:
         C: The next meeting of the board of directors will be
         C: on Tuesday.
         C: John.
         C: .
         S: 250 OK
         C: QUIT
         S: 221 foo.com Service closing transmission channel",
        |_| None,
    );
    let body = String::from_utf8(seen.messages[0].clone()).unwrap();
    assert!(body.starts_with("Date: Thu, 21 May 1998 05:33:29 -0700\r\nFrom:"));
    assert!(body.ends_with("\r\n\r\nBill:\r\nThe next meeting of the board of directors will be\r\non Tuesday.\r\nJohn.\r\n"));
}

#[test]
fn d4_verifying_and_sending() {
    let mut o = foo_com();
    o.vrfy = true;
    let (_, seen) = transcript(
        o,
        "S: 220 foo.com ESMTP Service ready
         C: EHLO bar.com
         S: 250-foo.com Hello
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 DSN
         C: VRFY Crispin
         S: 250 Mark Crispin <Admin.MRC@foo.com>
         C: MAIL FROM:<EAK@bar.com>
         S: 250 OK
         C: RCPT TO:<Admin.MRC@foo.com>
         S: 250 OK
         C: DATA
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         C: Blah blah blah...
         C: ...etc. etc. etc.
         C: .
         S: 250 OK
         C: QUIT
         S: 221 foo.com Service closing transmission channel",
        |e| match e {
            Event::Vrfy(who) if who == "Crispin" => Some(Decision::AcceptWith(reply(
                250,
                "Mark Crispin <Admin.MRC@foo.com>",
            ))),
            _ => None,
        },
    );
    assert_eq!(seen.messages.len(), 1);
}

#[test]
fn vrfy_and_expn_defaults() {
    transcript(
        foo_com(),
        "S: 220 foo.com ESMTP Service ready
         C: HELO bar.com
         S: 250 foo.com
         C: VRFY Crispin
         S: 252 Cannot VRFY user, but will accept message and attempt delivery
         C: EXPN staff
         S: 502 EXPN not available
         C: HELP
         S: 214 See RFC 5321
         C: NOOP
         S: 250 OK
         C: MAIL FROM:<a@bar.com> SIZE=10
         S: 555 ESMTP parameter not supported",
        |_| None,
    );
}

#[test]
fn sequence_errors() {
    transcript(
        foo_com(),
        "S: 220 foo.com ESMTP Service ready
         C: MAIL FROM:<a@bar.com>
         S: 503 Send HELO/EHLO first
         C: EHLO bar.com
         S: 250-foo.com Hello
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 DSN
         C: RCPT TO:<b@foo.com>
         S: 503 Need MAIL command
         C: DATA
         S: 503 Need MAIL command
         C: MAIL FROM:<a@bar.com>
         S: 250 OK
         C: MAIL FROM:<a@bar.com>
         S: 503 Nested MAIL command
         C: DATA
         S: 503 Need RCPT command
         C: FOO
         S: 500 Command unrecognized
         C: RCPT TO:<b@foo.com> NOTIFY=SOMETIMES
         S: 501 Invalid parameter
         C: RCPT TO:b@foo.com
         S: 501 Bad address syntax
         C: RCPT TO:<b@foo.com> X-FOO=1
         S: 555 X-FOO parameter not supported
         C: MAIL FROM:<a@bar.com> SMTPUTF8
         S: 503 Nested MAIL command",
        |_| None,
    );
}
