//! isync's `mbsync` against the IMAP driver over IMAPS: a full sync of INBOX and a folder into
//! a local Maildir, then a delivery on the server and a flag set locally, synced both ways.
//!
//! Needs `mbsync` (Debian package `isync`); the test fails when it is missing.

mod imap_support;

use imap_support::{LIMIT, Tls, message, start};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;
use mailhub_mta_core::store::{AppendRequest, SystemFlags};

async fn mbsync(config: &std::path::Path) -> String {
    let child = tokio::process::Command::new("mbsync")
        .arg("-c")
        .arg(config)
        .arg("-a")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, child)
        .await
        .expect("mbsync timed out")
        .expect("mbsync runs (install the isync package)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mbsync failed:\n{text}");
    text
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            v.extend(rd.map(|e| e.unwrap().path()));
        }
    }
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbsync_pulls_and_pushes() {
    tokio::time::timeout(LIMIT * 2, async {
        let hub = start(
            Tls::Implicit,
            Plaintext::Never,
            &[message("one", "1"), message("two", "2")],
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let mail = hub.store.open("dave").await.unwrap();
        mail.create("Work").await.unwrap();
        let req = AppendRequest {
            data: message("work", "w").into(),
            ..Default::default()
        };
        mail.append("Work", req).await.unwrap();
        let local = hub.dir.path().join("local");
        std::fs::create_dir_all(&local).unwrap();
        let config = hub.dir.path().join("mbsyncrc");
        std::fs::write(
            &config,
            format!(
                "IMAPAccount hub\nHost 127.0.0.1\nPort {}\nUser dave\nPass secret\n\
                 SSLType IMAPS\nCertificateFile {}\n\n\
                 IMAPStore remote\nAccount hub\n\n\
                 MaildirStore local\nPath {}/\nInbox {}/INBOX\nSubFolders Verbatim\n\n\
                 Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n\
                 SyncState *\nExpunge Both\n",
                hub.addr.port(),
                hub.cert.display(),
                local.display(),
                local.display(),
            ),
        )
        .unwrap();
        mbsync(&config).await;
        assert_eq!(files(&local.join("INBOX")).len(), 2);
        assert_eq!(files(&local.join("Work")).len(), 1);

        // A delivery on the server, and a message flagged locally.
        let req = AppendRequest {
            data: message("three", "3").into(),
            ..Default::default()
        };
        mail.append("INBOX", req).await.unwrap();
        let first = files(&local.join("INBOX")).remove(0);
        let name = first.file_name().unwrap().to_string_lossy().into_owned();
        let (base, flags) = name.split_once(":2,").unwrap_or((&name, ""));
        let flagged = local.join("INBOX/cur").join(format!("{base}:2,F{flags}"));
        std::fs::rename(&first, &flagged).unwrap();
        mbsync(&config).await;
        assert_eq!(files(&local.join("INBOX")).len(), 3);
        let snap = mail.select("INBOX").await.unwrap();
        let n = snap
            .messages
            .iter()
            .filter(|m| m.flags.system.contains(SystemFlags::FLAGGED))
            .count();
        assert_eq!(n, 1, "the local flag reached the server");
    })
    .await
    .expect("test timed out");
}
