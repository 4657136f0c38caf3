//! SMTP sessions over loopback TCP at the byte level: a pipelined transaction (RFC 2920) with
//! replies in order, the connection limit per client address (421), the idle timeout (421,
//! RFC 5321 §4.5.3.2.7), the error limit, a slow-loris client and a client that never reads
//! not stalling another client's delivery, and swaks (the Debian package) with STARTTLS and
//! AUTH PLAIN.
//!
//! Every test is bounded by a timeout. The swaks test fails when swaks is not installed.

mod smtp_support;

use std::time::Duration;

use mailhub_mta_core::session::ConnectionLimits;
use smtp_support::{LIMIT, PRELUDE, Setup, Tls, python, split_trace, start};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// Reads one (possibly multi-line) reply; returns its lines.
async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap() == 0 {
            return lines;
        }
        let done = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line.trim_end().to_owned());
        if done {
            return lines;
        }
    }
}

fn code(lines: &[String]) -> &str {
    lines.last().map_or("EOF", |l| &l[..3.min(l.len())])
}

#[tokio::test]
async fn pipelined_transaction_gets_replies_in_order() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let (r, mut w) = tcp.into_split();
        let mut r = BufReader::new(r);
        assert_eq!(code(&reply(&mut r).await), "220");
        w.write_all(b"EHLO c.test\r\n").await.unwrap();
        let ehlo = reply(&mut r).await;
        assert!(ehlo.iter().any(|l| l.ends_with("PIPELINING")), "{ehlo:?}");
        // One write: MAIL, four RCPTs, DATA (RFC 2920 §3.1).
        w.write_all(
            b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<dave@example.test>\r\n\
              RCPT TO:<nobody@example.test>\r\nRCPT TO:<moved@example.test>\r\n\
              RCPT TO:<other@remote.test>\r\nDATA\r\n",
        )
        .await
        .unwrap();
        let mut codes = Vec::new();
        for _ in 0..6 {
            codes.push(code(&reply(&mut r).await).to_owned());
        }
        assert_eq!(codes, ["250", "250", "550", "551", "554", "354"]);
        w.write_all(b"Subject: p\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
            .await
            .unwrap();
        let done = reply(&mut r).await;
        assert_eq!(code(&done), "250", "{done:?}");
        assert_eq!(code(&reply(&mut r).await), "221");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        assert_eq!(split_trace(&got[0]).1, b"Subject: p\r\n\r\n.dot\r\n");
    })
    .await;
}

#[tokio::test]
async fn connections_per_address_are_limited() {
    bounded(async {
        let hub = start(Setup {
            limits: ConnectionLimits {
                max_total: 10,
                max_per_address: 1,
            },
            ..Setup::default()
        })
        .await;
        let first = TcpStream::connect(hub.addr).await.unwrap();
        let (r1, _w1) = first.into_split();
        let mut r1 = BufReader::new(r1);
        assert_eq!(code(&reply(&mut r1).await), "220");
        let second = TcpStream::connect(hub.addr).await.unwrap();
        let (r2, _w2) = second.into_split();
        let mut r2 = BufReader::new(r2);
        let refused = reply(&mut r2).await;
        assert_eq!(code(&refused), "421", "{refused:?}");
        assert!(reply(&mut r2).await.is_empty(), "closed after 421");
    })
    .await;
}

#[tokio::test]
async fn idle_clients_and_error_floods_are_disconnected() {
    bounded(async {
        let hub = start(Setup {
            tweak: Box::new(|c| {
                c.options.timeouts.command = Duration::from_millis(300);
                c.options.limits.max_errors = 3;
            }),
            ..Setup::default()
        })
        .await;
        let idle = TcpStream::connect(hub.addr).await.unwrap();
        let (r, _w) = idle.into_split();
        let mut r = BufReader::new(r);
        assert_eq!(code(&reply(&mut r).await), "220");
        assert_eq!(code(&reply(&mut r).await), "421");
        assert!(reply(&mut r).await.is_empty());

        let noisy = TcpStream::connect(hub.addr).await.unwrap();
        let (r, mut w) = noisy.into_split();
        let mut r = BufReader::new(r);
        assert_eq!(code(&reply(&mut r).await), "220");
        w.write_all(b"BOGUS\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\n")
            .await
            .unwrap();
        let mut last = Vec::new();
        loop {
            let rep = reply(&mut r).await;
            if rep.is_empty() {
                break;
            }
            last = rep;
        }
        assert_eq!(code(&last), "421", "{last:?}");
    })
    .await;
}

#[tokio::test]
async fn slow_loris_and_non_reader_do_not_stall_others() {
    bounded(async {
        let hub = start(Setup::default()).await;
        // A slow loris: half a command, then silence.
        let mut loris = TcpStream::connect(hub.addr).await.unwrap();
        loris.write_all(b"EHL").await.unwrap();
        // A client that pipelines many commands and never reads a reply.
        let mut deaf = TcpStream::connect(hub.addr).await.unwrap();
        let flood = b"NOOP\r\n".repeat(20_000);
        let _ = tokio::time::timeout(Duration::from_millis(500), deaf.write_all(&flood)).await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port, timeout=20)
s.ehlo('c.test')
assert s.sendmail('a@remote.test', ['dave@example.test'], b'Subject: x\\r\\n\\r\\ny\\r\\n') == {{}}
s.quit()
"
        );
        python(&hub, &script).await;
        assert_eq!(hub.messages("dave").len(), 1);
        drop((loris, deaf));
    })
    .await;
}

#[tokio::test]
async fn swaks_with_starttls_and_auth_plain() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Starttls,
            ..Setup::default()
        })
        .await;
        let child = tokio::process::Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port"])
            .arg(hub.addr.port().to_string())
            .args(["--ehlo", "swaks.test", "--from", "dave@example.test"])
            .args(["--to", "dave@example.test", "--tls"])
            .args([
                "--auth",
                "PLAIN",
                "--auth-user",
                "dave",
                "--auth-password",
                "secret",
            ])
            .args([
                "--header",
                "Subject: from swaks",
                "--body",
                "hello from swaks",
            ])
            .kill_on_drop(true)
            .output();
        let out = child
            .await
            .expect("swaks must be installed (Debian package swaks)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "swaks failed:\n{text}");
        // swaks marks what it read over TLS with `<~`.
        assert!(text.contains("<~  235 "), "{text}");
        assert!(text.contains("235 2.7.0"), "{text}");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let stored = String::from_utf8_lossy(&got[0]);
        assert!(stored.contains(" with ESMTPSA id "), "{stored}");
        assert!(stored.contains("Subject: from swaks\r\n"), "{stored}");
        assert!(stored.contains("hello from swaks"), "{stored}");
    })
    .await;
}
