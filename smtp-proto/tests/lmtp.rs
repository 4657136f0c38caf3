//! RFC 2033 §4.2 example: LHLO, and one reply per accepted recipient after DATA and BDAT.

mod common;

use common::{Decision, reply, transcript};
use mailhub_smtp_proto::ForwardPath;
use mailhub_smtp_proto::server::{Event, Extensions, ServerOptions};

fn foo_edu() -> ServerOptions {
    let mut o = ServerOptions::new("foo.edu");
    o.lmtp = true;
    o.extensions = Extensions {
        pipelining: true,
        size: true,
        chunking: true,
        ..Extensions::default()
    };
    o.limits.max_message_size = 10_000;
    o
}

fn decide(e: &Event) -> Option<Decision> {
    match e {
        Event::Rcpt {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.local.as_str() == "jones" => Some(Decision::Reject(reply(550, "No such user here"))),
        Event::MessageEnd { recipients: 2 } => Some(Decision::Lmtp(vec![
            reply(250, "OK"),
            reply(452, "<green@foo.edu> is temporarily over quota"),
        ])),
        _ => None,
    }
}

#[test]
fn rfc2033_example() {
    let (_, seen) = transcript(
        foo_edu(),
        "S: 220 foo.edu LMTP Service ready
         C: LHLO foo.edu
         S: 250-foo.edu Hello
         S: 250-SIZE 10000
         S: 250-PIPELINING
         S: 250 CHUNKING
         C: MAIL FROM:<chris@bar.com>
         S: 250 OK
         C: RCPT TO:<pat@foo.edu>
         S: 250 OK
         C: RCPT TO:<jones@foo.edu>
         S: 550 No such user here
         C: RCPT TO:<green@foo.edu>
         S: 250 OK
         C: DATA
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         C: Blah blah blah...
         C: ...etc. etc. etc.
         C: .
         S: 250 OK
         S: 452 <green@foo.edu> is temporarily over quota
         C: QUIT
         S: 221 foo.edu Service closing transmission channel",
        decide,
    );
    assert_eq!(seen.messages.len(), 1);
}

#[test]
fn lmtp_bdat_and_policy_rejections_reply_per_recipient() {
    transcript(
        foo_edu(),
        "S: 220 foo.edu LMTP Service ready
         C: EHLO foo.edu
         S: 500 Command unrecognized
         C: LHLO foo.edu
         S: 250-foo.edu Hello
         S: 250-SIZE 10000
         S: 250-PIPELINING
         S: 250 CHUNKING
         C: MAIL FROM:<chris@bar.com>
         C: RCPT TO:<pat@foo.edu>
         C: RCPT TO:<green@foo.edu>
         C: BDAT 4 LAST
         C: ab
         S: 250 OK
         S: 250 OK
         S: 250 OK
         S: 250 OK
         S: 452 <green@foo.edu> is temporarily over quota
         C: MAIL FROM:<chris@bar.com>
         C: RCPT TO:<pat@foo.edu>
         C: RCPT TO:<green@foo.edu>
         C: DATA
         C: bare<LF>line
         C: .
         S: 250 OK
         S: 250 OK
         S: 250 OK
         S: 354 Start mail input; end with <CRLF>.<CRLF>
         S: 550 Bare CR or LF in message content not allowed
         S: 550 Bare CR or LF in message content not allowed",
        |e| match e {
            Event::MessageEnd { recipients: 2 } => Some(Decision::Lmtp(vec![
                reply(250, "OK"),
                reply(452, "<green@foo.edu> is temporarily over quota"),
            ])),
            _ => None,
        },
    );
}

#[test]
fn lmtp_replies_checks_the_count() {
    use mailhub_smtp_proto::UsageError;
    use mailhub_smtp_proto::server::Server;
    let mut s = Server::new(foo_edu(), std::time::Instant::now());
    let mut seen = common::Seen::default();
    common::drive(&mut s, &mut seen, &mut |_| None);
    s.handle_input(b"LHLO x.example\r\nMAIL FROM:<>\r\nRCPT TO:<a@foo.edu>\r\nDATA\r\nhi\r\n.\r\n");
    let mut last = None;
    while let Some(e) = s.poll_event() {
        if let Event::MessageEnd { .. } = e {
            last = Some(e);
            break;
        }
        s.accept().unwrap_or(());
    }
    assert_eq!(last, Some(Event::MessageEnd { recipients: 1 }));
    assert_eq!(
        s.lmtp_replies(vec![]),
        Err(UsageError::RecipientCount {
            expected: 1,
            got: 0
        })
    );
    s.lmtp_replies(vec![reply(250, "done")]).unwrap();
    assert!(
        String::from_utf8(s.poll_transmit().unwrap())
            .unwrap()
            .ends_with("250 done\r\n")
    );
}
