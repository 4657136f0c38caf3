//! isync's `mbsync` reading the mailbox of the whole hub (`Hub` from its default
//! configuration, not the IMAP driver alone): a message sent with swaks over SMTP goes
//! through the queue into the demo user's Maildir; mbsync, logged in as the demo user with
//! the password first start generated and trusting the generated certificate, pulls INBOX
//! over IMAPS and over IMAP with STARTTLS. The message file it writes is byte for byte the
//! file the hub delivered (trace fields and all) and ends with what swaks sent; a flag set
//! locally reaches the hub's Maildir on the next sync.
//!
//! Needs `mbsync` (Debian package `isync`) and `swaks`: the test fails when they are missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mailhub_mta_core::config::{Config, Hub, Service};

const LIMIT: Duration = Duration::from_secs(90);

async fn run(program: &str, args: &[&str]) -> String {
    let child = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, child)
        .await
        .unwrap_or_else(|_| panic!("{program} timed out"))
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// The message files of a Maildir folder.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            v.extend(rd.map(|e| e.unwrap().path()));
        }
    }
    v.sort();
    v
}

/// A message as mbsync writes it to a local Maildir: LF line ends (its default).
fn as_mbsync_stores(on_hub: &[u8]) -> String {
    String::from_utf8(on_hub.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
}

/// The local file without mbsync's `X-TUID:` line.
fn without_tuid(local: &[u8]) -> String {
    let text = String::from_utf8(local.to_vec()).unwrap();
    let (head, body) = text.split_once("\n\n").expect("a header and a body");
    let kept: Vec<&str> = head
        .lines()
        .filter(|l| !l.starts_with("X-TUID: "))
        .collect();
    assert_eq!(
        kept.len() + 1,
        head.lines().count(),
        "one X-TUID field: {head}"
    );
    format!("{}\n\n{body}", kept.join("\n"))
}

fn mbsyncrc(hub: &Hub, local: &Path, service: Service) -> String {
    let demo = hub.prepared().demo.clone().unwrap();
    let ssl = match service {
        Service::Imaps => "IMAPS",
        _ => "STARTTLS",
    };
    format!(
        "IMAPAccount hub\nHost 127.0.0.1\nPort {}\nUser {}\nPass {}\n\
         SSLType {ssl}\nCertificateFile {}\n\n\
         IMAPStore remote\nAccount hub\n\n\
         MaildirStore local\nPath {}/\nInbox {}/INBOX\n\n\
         Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\n\
         SyncState *\n",
        hub.addr(service).unwrap().port(),
        demo.name,
        demo.password.expose(),
        hub.prepared().cert_path.display(),
        local.display(),
        local.display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbsync_reads_what_swaks_sent_through_the_hub() {
    tokio::time::timeout(LIMIT * 2, async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_config();
        config.server.data_dir = dir.path().join("data");
        for s in Service::ALL {
            for a in config.listen.get_mut(s) {
                a.set_port(0);
            }
        }
        let hub = Hub::start(config).await.unwrap();

        let msg: &[u8] = b"From: x@remote.test\r\nTo: demo@localhost\r\nSubject: for mbsync\r\n\
            Date: Sat, 21 Nov 2026 03:00:00 +0000\r\nMessage-ID: <mbsync@remote.test>\r\n\r\n\
            Read by isync.\r\n.a dot line\r\n";
        let eml = dir.path().join("msg.eml");
        // swaks ends the data with CRLF "." CRLF itself: the file leaves out the last CRLF.
        std::fs::write(&eml, &msg[..msg.len() - 2]).unwrap();
        let smtp = hub.addr(Service::Smtp).unwrap();
        run(
            "swaks",
            &[
                "--server",
                "127.0.0.1",
                "--port",
                &smtp.port().to_string(),
                "--from",
                "x@remote.test",
                "--to",
                "demo@localhost",
                "--data",
                &eml.display().to_string(),
            ],
        )
        .await;

        // The queue delivers in the background.
        let inbox = dir.path().join("data/mail/demo");
        let mut delivered = Vec::new();
        for _ in 0..600 {
            delivered = files(&inbox);
            if !delivered.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(delivered.len(), 1, "{}", inbox.display());
        let on_hub = std::fs::read(&delivered[0]).unwrap();
        assert!(
            on_hub.ends_with(msg),
            "{}",
            String::from_utf8_lossy(&on_hub)
        );

        for (service, name) in [(Service::Imaps, "imaps"), (Service::Imap, "imap")] {
            let local = dir.path().join(name);
            std::fs::create_dir_all(&local).unwrap();
            let rc = dir.path().join(format!("{name}.mbsyncrc"));
            std::fs::write(&rc, mbsyncrc(&hub, &local, service)).unwrap();
            run("mbsync", &["-c", &rc.display().to_string(), "-a"]).await;
            let got = files(&local.join("INBOX"));
            assert_eq!(got.len(), 1, "{name}: {got:?}");
            let text = std::fs::read(&got[0]).unwrap();
            assert_eq!(
                as_mbsync_stores(&on_hub),
                without_tuid(&text),
                "{name}:\n{}",
                String::from_utf8_lossy(&text)
            );
        }

        // Seen locally (over IMAPS), pushed to the hub by the next sync.
        let local = dir.path().join("imaps/INBOX");
        let file = files(&local).remove(0);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let base = name.split_once(":2,").map_or(name.as_str(), |(b, _)| b);
        std::fs::rename(&file, local.join("cur").join(format!("{base}:2,S"))).unwrap();
        let rc = dir.path().join("imaps.mbsyncrc");
        run("mbsync", &["-c", &rc.display().to_string(), "-a"]).await;
        let on_hub = files(&inbox);
        assert_eq!(on_hub.len(), 1);
        let hub_name = on_hub[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            hub_name
                .rsplit_once(":2,")
                .is_some_and(|(_, f)| f.contains('S')),
            "{hub_name}"
        );
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}
