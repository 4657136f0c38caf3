//! The SMTP smuggling matrix: every bare-CR/bare-LF/dot variant inside DATA and BDAT, under
//! both line-ending policies, fed whole and in small pieces. Whatever the variant, the
//! smuggled MAIL/RCPT/DATA inside the content must never become commands.

mod common;

use common::{Seen, drive};
use mailhub_smtp_proto::LineEndings;
use mailhub_smtp_proto::server::{Event, Extensions, Server, ServerOptions};

const SMUGGLED: &str = "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@mx.example>\r\nDATA\r\nFrom: ceo@mx.example\r\n\r\nsmuggled\r\n";

/// Every way to write "end of line, dot, end of line" but the real one.
fn variants() -> Vec<(String, Vec<u8>)> {
    let ends: [(&str, &[u8]); 3] = [("LF", b"\n"), ("CR", b"\r"), ("CRLF", b"\r\n")];
    let mut v = Vec::new();
    for (pn, p) in ends {
        for (sn, s) in ends {
            if pn == "CRLF" && sn == "CRLF" {
                continue;
            }
            let mut seq = p.to_vec();
            seq.push(b'.');
            seq.extend_from_slice(s);
            v.push((format!("{pn}.{sn}"), seq));
        }
    }
    // Odd ones seen in the 2023 smuggling reports.
    v.push(("CRLF.CRCRLF".into(), b"\r\n.\r\r\n".to_vec()));
    v.push(("CRLF.NUL CRLF".into(), b"\r\n.\0\r\n".to_vec()));
    v.push(("LF..LF".into(), b"\n..\n".to_vec()));
    v
}

/// Whether the bytes hold a CR not followed by LF or an LF not preceded by CR.
fn has_bare(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| {
        c == b'\r' && b.get(i + 1) != Some(&b'\n') || c == b'\n' && (i == 0 || b[i - 1] != b'\r')
    })
}

fn options(policy: LineEndings) -> ServerOptions {
    let mut o = ServerOptions::new("mx.example");
    o.extensions = Extensions {
        pipelining: true,
        chunking: true,
        ..Extensions::default()
    };
    o.line_endings = policy;
    o
}

fn run(policy: LineEndings, input: &[u8], step: usize) -> (Seen, String) {
    let mut s = Server::new(options(policy), std::time::Instant::now());
    let mut seen = Seen::default();
    let mut out = Vec::new();
    drive(&mut s, &mut seen, &mut |_| None);
    for piece in input.chunks(step) {
        s.handle_input(piece);
        drive(&mut s, &mut seen, &mut |_| None);
        out.extend(s.poll_transmit().unwrap_or_default());
    }
    (seen, String::from_utf8_lossy(&out).into_owned())
}

fn mails(seen: &Seen) -> usize {
    seen.events
        .iter()
        .filter(|e| matches!(e, Event::Mail { .. }))
        .count()
}

fn data_input(seq: &[u8]) -> Vec<u8> {
    let mut input = b"EHLO relay.example\r\nMAIL FROM:<a@relay.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nSubject: hi\r\n\r\nbody".to_vec();
    input.extend_from_slice(seq);
    input.extend_from_slice(SMUGGLED.as_bytes());
    input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
    input
}

fn bdat_input(seq: &[u8]) -> Vec<u8> {
    let mut content = b"Subject: hi\r\n\r\nbody".to_vec();
    content.extend_from_slice(seq);
    content.extend_from_slice(SMUGGLED.as_bytes());
    let mut input = format!(
        "EHLO relay.example\r\nMAIL FROM:<a@relay.example>\r\nRCPT TO:<b@mx.example>\r\nBDAT {} LAST\r\n",
        content.len()
    )
    .into_bytes();
    input.extend_from_slice(&content);
    input.extend_from_slice(b"QUIT\r\n");
    input
}

#[test]
fn data_reject_policy() {
    for (name, seq) in variants() {
        let input = data_input(&seq);
        for step in [1, 2, 3, 7, 64, input.len()] {
            let (seen, out) = run(LineEndings::Reject, &input, step);
            let bare = has_bare(&input);
            assert_eq!(mails(&seen), 1, "{name} step {step}: {out}");
            if bare {
                assert_eq!(seen.rejected, 1, "{name} step {step}: {out}");
                assert!(seen.messages.is_empty(), "{name}");
                assert!(out.contains("550 Bare CR or LF"), "{name}: {out}");
            } else {
                // `.\0` is an ordinary (unstuffed) line: accepted, smuggled text is content.
                assert_eq!(seen.messages.len(), 1, "{name}");
            }
            assert!(out.ends_with("221 mx.example Service closing transmission channel\r\n"));
        }
    }
}

#[test]
fn data_normalize_policy() {
    for (name, seq) in variants() {
        let input = data_input(&seq);
        for step in [1, 3, 64, input.len()] {
            let (seen, out) = run(LineEndings::Normalize, &input, step);
            assert_eq!(mails(&seen), 1, "{name} step {step}: {out}");
            assert_eq!(seen.messages.len(), 1, "{name} step {step}: {out}");
            let body = &seen.messages[0];
            let text = String::from_utf8_lossy(body);
            assert!(
                text.contains("MAIL FROM:<evil@attacker.example>\r\n"),
                "{name}: {text:?}"
            );
            // Only CRLF remains as a line end.
            let crs = body.iter().filter(|b| **b == b'\r').count();
            let lfs = body.iter().filter(|b| **b == b'\n').count();
            assert_eq!(crs, lfs, "{name}: {text:?}");
            assert!(
                !body.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
                "{name}"
            );
        }
    }
}

#[test]
fn bdat_both_policies() {
    for (name, seq) in variants() {
        let input = bdat_input(&seq);
        let plain_crlf = !has_bare(&input);
        for step in [1, 5, input.len()] {
            let (seen, out) = run(LineEndings::Reject, &input, step);
            assert_eq!(mails(&seen), 1, "{name}: {out}");
            assert_eq!(seen.rejected, usize::from(!plain_crlf), "{name}: {out}");
            let (seen, out) = run(LineEndings::Normalize, &input, step);
            assert_eq!(mails(&seen), 1, "{name}: {out}");
            assert_eq!(seen.messages.len(), 1, "{name}: {out}");
            // BDAT has no dot-stuffing: the dot stays as sent.
            assert!(seen.messages[0].windows(3).any(|w| w[1] == b'.'), "{name}");
        }
    }
}

#[test]
fn the_real_terminator_still_works_next_to_bare_endings() {
    let input = b"EHLO r.example\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nx\r\n.\r\nMAIL FROM:<c@r.example>\r\n";
    let (seen, out) = run(LineEndings::Reject, input, 1);
    assert_eq!(seen.messages, vec![b"x\r\n".to_vec()]);
    assert_eq!(mails(&seen), 2, "{out}");
}
