//! RFC 2920 §3.2 examples: the pipelined commands arrive in one read and the replies leave in
//! order, in one write.

mod common;

use common::{Decision, reply, transcript};
use mailhub_smtp_proto::server::{Event, Extensions, ServerOptions};
use mailhub_smtp_proto::{ForwardPath, ReversePath};

fn innosoft() -> ServerOptions {
    let mut o = ServerOptions::new("innosoft.com");
    o.extensions = Extensions {
        pipelining: true,
        ..Extensions::default()
    };
    o
}

/// The embedding server of the RFC's examples, with its reply texts.
fn rfc_texts(e: &Event) -> Option<Decision> {
    Some(match e {
        Event::Connect => Decision::AcceptWith(reply(220, "innosoft.com SMTP service ready")),
        Event::Hello { .. } => return None,
        Event::Mail {
            from: ReversePath::Mailbox(m),
            ..
        } => Decision::AcceptWith(reply(250, &format!("sender <{m}> OK"))),
        Event::Rcpt {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.host.to_string() == "innosoft.com" => {
            Decision::AcceptWith(reply(250, &format!("recipient <{m}> OK")))
        }
        Event::Rcpt {
            to: ForwardPath::Mailbox(m),
            ..
        } => Decision::Reject(reply(550, &format!("remote mail to <{m}> not allowed"))),
        Event::DataStart => Decision::AcceptWith(reply(
            354,
            "enter mail, end with line containing only \".\"",
        )),
        Event::MessageEnd { .. } => Decision::AcceptWith(reply(250, "message sent")),
        _ => return None,
    })
}

#[test]
fn rfc2920_without_pipelining() {
    let (_, seen) = transcript(
        innosoft(),
        "S: 220 innosoft.com SMTP service ready
         C: HELO dbc.mtview.ca.us
         S: 250 innosoft.com
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         S: 250 sender <mrose@dbc.mtview.ca.us> OK
         C: RCPT TO:<ned@innosoft.com>
         S: 250 recipient <ned@innosoft.com> OK
         C: RCPT TO:<dan@innosoft.com>
         S: 250 recipient <dan@innosoft.com> OK
         C: RCPT TO:<kvc@innosoft.com>
         S: 250 recipient <kvc@innosoft.com> OK
         C: DATA
         S: 354 enter mail, end with line containing only \".\"
         C: Hello
         C: .
         S: 250 message sent
         C: QUIT
         S: 221 innosoft.com Service closing transmission channel",
        rfc_texts,
    );
    assert_eq!(seen.messages, vec![b"Hello\r\n".to_vec()]);
}

#[test]
fn rfc2920_pipelined() {
    let (server, seen) = transcript(
        innosoft(),
        "S: 220 innosoft.com SMTP service ready
         C: EHLO dbc.mtview.ca.us
         S: 250-innosoft.com Hello
         S: 250 PIPELINING
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<ned@innosoft.com>
         C: RCPT TO:<dan@innosoft.com>
         C: RCPT TO:<kvc@innosoft.com>
         C: DATA
         S: 250 sender <mrose@dbc.mtview.ca.us> OK
         S: 250 recipient <ned@innosoft.com> OK
         S: 250 recipient <dan@innosoft.com> OK
         S: 250 recipient <kvc@innosoft.com> OK
         S: 354 enter mail, end with line containing only \".\"
         C: Hello
         C: .
         C: QUIT
         S: 250 message sent
         S: 221 innosoft.com Service closing transmission channel",
        rfc_texts,
    );
    assert_eq!(seen.messages, vec![b"Hello\r\n".to_vec()]);
    assert!(server.is_closed());
}

#[test]
fn rfc2920_no_valid_recipients() {
    let (_, seen) = transcript(
        innosoft(),
        "S: 220 innosoft.com SMTP service ready
         C: EHLO dbc.mtview.ca.us
         S: 250-innosoft.com Hello
         S: 250 PIPELINING
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<nsb@thumper.bellcore.com>
         C: RCPT TO:<galvin@tis.com>
         C: DATA
         S: 250 sender <mrose@dbc.mtview.ca.us> OK
         S: 550 remote mail to <nsb@thumper.bellcore.com> not allowed
         S: 550 remote mail to <galvin@tis.com> not allowed
         S: 554 No valid recipients
         C: QUIT
         S: 221 innosoft.com Service closing transmission channel",
        rfc_texts,
    );
    assert!(!seen.events.contains(&Event::DataStart));
}

#[test]
fn commands_split_across_reads_and_pipelined_after_data() {
    // The end of DATA and the next commands arrive in one read; the content never runs into
    // the commands, and a command split over two reads is still one command.
    let (_, seen) = transcript(
        innosoft(),
        "S: 220 innosoft.com SMTP service ready
         C: EHLO a.example
         S: 250-innosoft.com Hello
         S: 250 PIPELINING
         C: MAIL FROM:<a@a.example>
         C: RCPT TO:<b@innosoft.com>
         C: DATA
         C: x
         C: .
         C: RSET
         C: MAIL FROM:<c@a.exa<no-crlf>
         S: 250 sender <a@a.example> OK
         S: 250 recipient <b@innosoft.com> OK
         S: 354 enter mail, end with line containing only \".\"
         S: 250 message sent
         S: 250 OK
         C: mple>
         S: 250 sender <c@a.example> OK",
        rfc_texts,
    );
    assert_eq!(seen.messages, vec![b"x\r\n".to_vec()]);
}
