//! `[delivery]` of the hub, on ephemeral loopback ports. `lmtp`: hub A's local mail goes
//! over LMTP to hub B's LMTP listener (as it would to Dovecot's) and lands in B's Maildir,
//! not A's; a bad `lmtp` value is a configuration error naming its line. For alias and
//! `.forward` targets: file targets are refused at RCPT unless `files` is on, then appended in mbox
//! format; a `.forward` in `<data_dir>/forward/<user>` is read only with `forward_files`;
//! `programs` on a hub that would run them as root refuses to start. Run as root (as CI
//! does): the last test fails otherwise.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use mailhub_mta_core::config::{Config, ConfigError, Hub, HubError, Service};

const LIMIT: Duration = Duration::from_secs(60);

fn config(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default_config();
    config.server.data_dir = dir.to_owned();
    for s in Service::ALL {
        for a in config.listen.get_mut(s) {
            a.set_port(0);
        }
    }
    tweak(&mut config);
    config
}

/// One SMTP transaction; returns the reply to RCPT and, when it was 250, to the content.
fn send(port: u16, rcpt: &str, body: &str) -> (String, Option<String>) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    };
    assert!(reply().starts_with("220"));
    write!(w, "EHLO client.test\r\n").unwrap();
    assert!(reply().starts_with("250"));
    write!(w, "MAIL FROM:<someone@remote.test>\r\n").unwrap();
    assert!(reply().starts_with("250"));
    write!(w, "RCPT TO:<{rcpt}>\r\n").unwrap();
    let rcpt_reply = reply();
    if !rcpt_reply.starts_with("250") {
        write!(w, "QUIT\r\n").unwrap();
        return (rcpt_reply, None);
    }
    write!(w, "DATA\r\n").unwrap();
    assert!(reply().starts_with("354"));
    write!(w, "{body}.\r\n").unwrap();
    let end = reply();
    write!(w, "QUIT\r\n").unwrap();
    (rcpt_reply, Some(end))
}

async fn wait_for(path: &Path) -> String {
    for _ in 0..400 {
        if let Ok(t) = std::fs::read_to_string(path)
            && !t.is_empty()
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_targets_only_when_files_is_on() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("archive.mbox");
        let aliases = format!("archive: {}\n", target.display());
        for on in [false, true] {
            let data = dir.path().join(format!("data-{on}"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("aliases"), &aliases).unwrap();
            let hub = Hub::start(config(&data, |c| c.delivery.files = on))
                .await
                .unwrap();
            let port = hub.addr(Service::Smtp).unwrap().port();
            let body = format!("Subject: archived {on}\r\n\r\nkept\r\n");
            let (rcpt, end) =
                tokio::task::spawn_blocking(move || send(port, "archive@localhost", &body))
                    .await
                    .unwrap();
            if on {
                assert!(rcpt.starts_with("250"), "{rcpt}");
                assert!(end.unwrap().starts_with("250"));
                let text = wait_for(&target).await;
                assert!(text.starts_with("From someone@remote.test "), "{text}");
                assert!(
                    text.contains("\nSubject: archived true\r\n\r\nkept\r\n"),
                    "{text}"
                );
            } else {
                assert!(rcpt.starts_with('5'), "refused at RCPT when off: {rcpt}");
                assert!(!target.exists());
            }
            hub.shutdown(Duration::from_secs(5)).await;
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_file_is_read_only_with_forward_files() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("forwarded.mbox");
        for on in [false, true] {
            let data = dir.path().join(format!("data-{on}"));
            std::fs::create_dir_all(data.join("forward")).unwrap();
            std::fs::write(data.join("forward/demo"), format!("{}\n", target.display())).unwrap();
            let hub = Hub::start(config(&data, |c| {
                c.delivery.files = true;
                c.delivery.forward_files = on;
            }))
            .await
            .unwrap();
            let port = hub.addr(Service::Smtp).unwrap().port();
            let body = format!("Subject: forward {on}\r\n\r\nhello\r\n");
            let (rcpt, _) =
                tokio::task::spawn_blocking(move || send(port, "demo@localhost", &body))
                    .await
                    .unwrap();
            assert!(rcpt.starts_with("250"), "{rcpt}");
            if on {
                let text = wait_for(&target).await;
                assert!(text.contains("Subject: forward true"), "{text}");
                assert!(!text.contains("Subject: forward false"), "{text}");
            } else {
                // Without forward_files the message goes to demo's Maildir.
                let new = data.join("mail/demo/new");
                let mut found = false;
                for _ in 0..400 {
                    if std::fs::read_dir(&new)
                        .map(|d| d.count() > 0)
                        .unwrap_or(false)
                    {
                        found = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert!(found, "delivered to the Maildir");
                assert!(!target.exists());
            }
            hub.shutdown(Duration::from_secs(5)).await;
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn programs_never_run_as_root() {
    assert!(
        nix_is_root(),
        "this test runs as root (as CI does): it proves a root hub refuses programs"
    );
    let dir = tempfile::tempdir().unwrap();
    match Hub::start(config(dir.path(), |c| c.delivery.programs = true)).await {
        Err(HubError::Delivery { key, message }) => {
            assert_eq!(key, "programs");
            assert!(message.contains("run_as"), "{message}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a root hub with programs on must not start"),
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|u| u.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap()
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
        let b = Hub::start(config(&dir.path().join("b"), |_| {}))
            .await
            .unwrap();
        let lmtp = b.addr(Service::Lmtp).unwrap();
        let a = Hub::start(config(&dir.path().join("a"), |c| {
            c.delivery.lmtp = Some(lmtp.to_string());
        }))
        .await
        .unwrap();
        let smtp = a.addr(Service::Smtp).unwrap().port();
        let body = "Subject: over lmtp\r\nMessage-ID: <lmtp-hop@test>\r\n\r\nhanded on\r\n";
        let (rcpt, end) = tokio::task::spawn_blocking(move || send(smtp, "demo@localhost", body))
            .await
            .unwrap();
        assert!(rcpt.starts_with("250"), "{rcpt}");
        assert!(end.unwrap().starts_with("250"));
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
