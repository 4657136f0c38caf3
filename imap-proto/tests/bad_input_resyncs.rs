//! Malformed input from a client: every bad command gets a BAD with its tag when the tag could
//! be read (an untagged BAD otherwise), over-long lines and refused literals are skipped
//! without being kept, and the next command is read normally (RFC 3501 §7.1.3).

use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::{Command, CommandBody, Response, Status};

/// Runs `input` through a server-side framer and parser; returns what a server would send
/// for the bad parts and the good commands it read.
fn serve(input: &[u8], limits: Limits) -> (Vec<String>, Vec<CommandBody>) {
    let mut f = Framer::new(Side::Server, limits);
    let mut replies = Vec::new();
    let mut good = Vec::new();
    for chunk in input.chunks(5) {
        f.handle_input(chunk);
        while let Some(e) = f.poll_event() {
            let status = match e {
                FrameEvent::Unit(u) => match Command::parse(&u) {
                    Ok(c) => {
                        good.push(c.body);
                        continue;
                    }
                    Err(e) => Status::for_parse_error(&e),
                },
                FrameEvent::Error { tag, error } => Status::for_frame_error(tag, &error),
                FrameEvent::LiteralAnnounced { tag, length, .. } if length > 10 => {
                    f.reject_literal();
                    Status::no(
                        tag,
                        Some(mailhub_imap_proto::response::Code::TooBig),
                        "Too large",
                    )
                }
                FrameEvent::LiteralAnnounced { .. } => {
                    f.accept_literal().unwrap();
                    continue;
                }
                FrameEvent::LiteralChunk { .. } => unreachable!("nothing streamed"),
            };
            let bytes = Response::Status(status).to_bytes();
            replies.push(String::from_utf8(bytes).unwrap());
        }
    }
    (replies, good)
}

#[test]
fn each_bad_command_gets_its_own_bad_and_the_session_goes_on() {
    let input = "a1 NOOP\r\n\
        a2 FROB x\r\n\
        a3 FETCH 0 FLAGS\r\n\
        )(*&^\r\n\
        a4 SEARCH TEXT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\
        a5 LOGIN {400}\r\n\
        a6 APPEND x {400+}\r\n{X400}\r\n\
        a7 LOGIN fred {6}\r\nsesame\r\n\
        a8 LOGOUT\r\n"
        .replace("{X400}", &"x".repeat(400));
    let (replies, good) = serve(input.as_bytes(), Limits::server().with_max_line_length(64));
    assert_eq!(
        replies,
        vec![
            "a2 BAD Unknown command\r\n",
            "a3 BAD Syntax error\r\n",
            "* BAD Syntax error\r\n",
            "a4 BAD Line too long\r\n",
            "a5 NO [TOOBIG] Too large\r\n",
            "a6 NO [TOOBIG] Too large\r\n",
        ]
    );
    assert_eq!(good.len(), 3, "{good:?}");
    assert!(matches!(good[0], CommandBody::Noop));
    assert!(matches!(good[1], CommandBody::Login { .. }));
    assert!(matches!(good[2], CommandBody::Logout));
}
