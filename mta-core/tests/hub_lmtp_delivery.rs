//! `[delivery] lmtp`: a hub whose local mail goes over LMTP to another hub's LMTP listener
//! (as it would to Dovecot's), on ephemeral loopback ports. The message accepted by hub A's
//! SMTP listener lands in hub B's Maildir and not in A's; a bad `lmtp` value is a
//! configuration error that names its line.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use mailhub_mta_core::config::{Config, ConfigError, Hub, Service};

const LIMIT: Duration = Duration::from_secs(60);

async fn start_with(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Hub {
    let mut config = Config::default_config();
    config.server.data_dir = dir.to_owned();
    for s in Service::ALL {
        for a in config.listen.get_mut(s) {
            a.set_port(0);
        }
    }
    tweak(&mut config);
    Hub::start(config).await.unwrap()
}

/// One SMTP transaction, each reply checked for its code.
fn send(port: u16, rcpt: &str, body: &str) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "wanted {code}, got {line:?}");
        if line.as_bytes().get(3) == Some(&b' ') {
            return;
        }
    };
    expect("220");
    for (cmd, code) in [
        ("EHLO client.test".to_string(), "250"),
        ("MAIL FROM:<someone@remote.test>".to_string(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        write!(w, "{cmd}\r\n").unwrap();
        expect(code);
    }
    write!(w, "{body}.\r\n").unwrap();
    expect("250");
    write!(w, "QUIT\r\n").unwrap();
    expect("221");
}

/// Every file under `<maildir>/{new,cur}`.
fn messages(maildir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
            for e in rd.flatten() {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mail_goes_over_lmtp_to_the_other_store() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let b = start_with(&dir.path().join("b"), |_| {}).await;
        let lmtp = b.addr(Service::Lmtp).unwrap();
        let a = start_with(&dir.path().join("a"), |c| {
            c.delivery.lmtp = Some(lmtp.to_string());
        })
        .await;
        let smtp = a.addr(Service::Smtp).unwrap().port();
        let body = "Subject: over lmtp\r\nMessage-ID: <lmtp-hop@test>\r\n\r\nhanded on\r\n";
        tokio::task::spawn_blocking(move || send(smtp, "demo@localhost", body))
            .await
            .unwrap();
        let b_inbox = dir.path().join("b/mail/demo");
        let mut got = Vec::new();
        for _ in 0..400 {
            got = messages(&b_inbox);
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(got.len(), 1, "one copy in B's Maildir");
        let text = String::from_utf8_lossy(&got[0]).into_owned();
        assert!(text.ends_with(body), "{text}");
        // A's Received (the SMTP hop) and B's (the LMTP hop) are both there.
        assert_eq!(text.matches("Received:").count(), 2, "{text}");
        assert!(text.contains("LMTP"), "{text}");
        assert!(
            messages(&dir.path().join("a/mail/demo")).is_empty(),
            "nothing in A's own store"
        );
        a.shutdown(Duration::from_secs(5)).await;
        b.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

#[test]
fn a_bad_lmtp_address_names_its_line() {
    for bad in ["127.0.0.1:25", "unix:relative/sock", "nohostport"] {
        let text = mailhub_mta_core::config::DEFAULT_CONFIG.replace(
            "# lmtp = \"unix:/var/run/dovecot/lmtp\"",
            &format!("lmtp = {bad:?}"),
        );
        assert_ne!(text, mailhub_mta_core::config::DEFAULT_CONFIG);
        match Config::parse(&text, "test.toml") {
            Err(ConfigError::Invalid { line, message, .. }) => {
                let want = text
                    .lines()
                    .position(|l| l == format!("lmtp = {bad:?}"))
                    .unwrap()
                    + 1;
                assert_eq!(line, want, "{message}");
                assert!(message.contains("lmtp"), "{message}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let ok = mailhub_mta_core::config::DEFAULT_CONFIG.replace(
        "# lmtp = \"unix:/var/run/dovecot/lmtp\"",
        "lmtp = \"unix:/run/dovecot/lmtp\"",
    );
    assert!(Config::parse(&ok, "test.toml").is_ok());
}
