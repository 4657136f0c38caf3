//! Reloading policy tables (SIGHUP, `Hub::reload`, the control socket's `RELOAD`) without
//! dropping sessions: the hub runs from a configuration file on disk; an SMTP session opened
//! before the reload keeps its tables to the end of its transaction, and a session opened
//! after it sees the new access table (a sender rejected), the new relay networks
//! (loopback no longer relays) and the new rate limit. A broken access file is refused and the old tables stay.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mailhub_mta_core::config::{Config, DEFAULT_CONFIG, Hub, Service, control};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const LIMIT: Duration = Duration::from_secs(60);

/// Writes a configuration file for `dir`: the default, on ephemeral ports, remote mail to a
/// smart host that refuses connections (so relayed mail just waits in the queue).
fn write_config(dir: &Path, relay_networks: &str, per_client: u32) -> PathBuf {
    let mut text = DEFAULT_CONFIG.replace(
        "data_dir = \"./mailhub-data\"",
        &format!("data_dir = {:?}", dir.join("data").display().to_string()),
    );
    for port in [2525, 2587, 2465, 1143, 1993, 1110, 1995, 2424] {
        text = text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:0");
    }
    text = text.replace(
        "networks = [\"127.0.0.0/8\", \"::1/128\"]",
        &format!("networks = {relay_networks}\nsmart_host = \"127.0.0.1:1\""),
    );
    text = text.replace(
        "max_messages_per_client = 1000",
        &format!("max_messages_per_client = {per_client}"),
    );
    let path = dir.join("mailhub.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Smtp {
    r: Lines<BufReader<OwnedReadHalf>>,
    w: OwnedWriteHalf,
}

impl Smtp {
    async fn open(port: u16) -> Smtp {
        let (r, w) = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap()
            .into_split();
        let mut s = Smtp {
            r: BufReader::new(r).lines(),
            w,
        };
        assert_eq!(s.reply().await.0, 220);
        assert_eq!(s.cmd("EHLO client.test").await.0, 250);
        s
    }

    async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let l = self
                .r
                .next_line()
                .await
                .unwrap()
                .expect("the server closed");
            text.push_str(&l);
            text.push('\n');
            if l.as_bytes().get(3) == Some(&b' ') {
                return (l[..3].parse().unwrap(), text);
            }
        }
    }

    async fn cmd(&mut self, c: &str) -> (u16, String) {
        self.w
            .write_all(format!("{c}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}

fn hub_port(hub: &Hub) -> u16 {
    hub.addr(Service::Smtp).unwrap().port()
}

#[tokio::test]
async fn a_session_keeps_its_tables_and_a_new_one_sees_the_reloaded_ones() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(dir.path(), "[\"127.0.0.0/8\", \"::1/128\"]", 1000);
        let hub = Hub::start(Config::load(&file).unwrap()).await.unwrap();
        let port = hub_port(&hub);

        let mut old = Smtp::open(port).await;
        assert_eq!(old.cmd("MAIL FROM:<x@spam.test>").await.0, 250);

        // New tables: a sender domain refused, loopback no longer a relay network, two
        // messages per client address.
        std::fs::write(
            dir.path().join("data/access"),
            "sender @spam.test REJECT 550 5.7.1 No mail from spam.test\n",
        )
        .unwrap();
        write_config(dir.path(), "[]", 2);
        hub.reload().unwrap();

        // The session opened before keeps what it had: relaying from loopback, the sender.
        assert_eq!(old.cmd("RCPT TO:<far@remote.test>").await.0, 250);
        assert_eq!(old.cmd("DATA").await.0, 354);
        assert_eq!(old.cmd("Subject: old\r\n\r\nold\r\n.").await.0, 250);
        assert_eq!(old.cmd("MAIL FROM:<y@spam.test>").await.0, 250);
        assert_eq!(old.cmd("RSET").await.0, 250);

        // A new session gets the new ones.
        let mut new = Smtp::open(port).await;
        let (code, text) = new.cmd("MAIL FROM:<x@spam.test>").await;
        assert_eq!(code, 550, "{text}");
        assert!(text.contains("No mail from spam.test"), "{text}");
        assert_eq!(new.cmd("MAIL FROM:<x@good.test>").await.0, 250);
        let (code, text) = new.cmd("RCPT TO:<far@remote.test>").await;
        assert!((550..=554).contains(&code), "relay refused now: {text}");
        // Local mail still goes in.
        assert_eq!(new.cmd("RCPT TO:<demo@localhost>").await.0, 250);
        // The new rate limit: the refused sender did not count, the third MAIL is too many.
        assert_eq!(new.cmd("RSET").await.0, 250);
        assert_eq!(new.cmd("MAIL FROM:<x@good.test>").await.0, 250);
        assert_eq!(new.cmd("RSET").await.0, 250);
        let (code, text) = new.cmd("MAIL FROM:<x@good.test>").await;
        assert_eq!(code, 450, "{text}");
        assert_eq!(new.cmd("QUIT").await.0, 221);
        // The old session's policy still has the old limit.
        for _ in 0..3 {
            assert_eq!(old.cmd("MAIL FROM:<z@good.test>").await.0, 250);
            assert_eq!(old.cmd("RSET").await.0, 250);
        }
        assert_eq!(old.cmd("QUIT").await.0, 221);

        // A broken access file is an error and the tables stay as they were, also through
        // the control socket.
        std::fs::write(dir.path().join("data/access"), "sender\n").unwrap();
        let e = hub.reload().unwrap_err().to_string();
        assert!(e.contains("access") && e.contains("line 1"), "{e}");
        let a = control::request(&dir.path().join("data"), "RELOAD")
            .await
            .unwrap();
        assert!(!a.ok && a.status.contains("access"), "{a:?}");
        let mut after = Smtp::open(port).await;
        assert_eq!(after.cmd("MAIL FROM:<x@spam.test>").await.0, 550);
        // Fixed, and reloaded through the control socket (what `mailhub_admin reload` does).
        std::fs::write(dir.path().join("data/access"), "# nothing\n").unwrap();
        let a = control::request(&dir.path().join("data"), "RELOAD")
            .await
            .unwrap();
        assert!(a.ok, "{a:?}");
        let mut last = Smtp::open(port).await;
        assert_eq!(last.cmd("MAIL FROM:<x@spam.test>").await.0, 250);
        drop((after, last));
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

/// The real signal: `kill -HUP` on this process while `run_until_signal` runs the hub.
#[tokio::test]
async fn sighup_reloads_the_access_table() {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::time::timeout(LIMIT, async {
        // Until the hub's own handlers exist, these keep SIGHUP and SIGTERM from ending
        // the test process.
        let _hup = signal(SignalKind::hangup()).unwrap();
        let _term = signal(SignalKind::terminate()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(dir.path(), "[\"127.0.0.0/8\", \"::1/128\"]", 1000);
        let hub = Hub::start(Config::load(&file).unwrap()).await.unwrap();
        let port = hub_port(&hub);
        let running = tokio::spawn(hub.run_until_signal());
        let mut open = Smtp::open(port).await;
        assert_eq!(open.cmd("MAIL FROM:<x@spam.test>").await.0, 250);
        std::fs::write(
            dir.path().join("data/access"),
            // A bare domain: it and its subdomains; plain REJECT answers 554.
            "sender spam.test REJECT\n",
        )
        .unwrap();
        let kill = |sig: &'static str| async move {
            let pid = std::process::id().to_string();
            let ok = tokio::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .await
                .unwrap();
            assert!(ok.success());
        };
        // The hub may not be waiting for signals yet: send until the new table is seen.
        let mut refused = false;
        for _ in 0..200 {
            kill("-HUP").await;
            tokio::time::sleep(Duration::from_millis(25)).await;
            let mut s = Smtp::open(port).await;
            if s.cmd("MAIL FROM:<x@spam.test>").await.0 == 554 {
                refused = true;
                break;
            }
        }
        assert!(refused, "SIGHUP did not reload the access table");
        // The session opened before the signal is still served.
        assert_eq!(open.cmd("RCPT TO:<demo@localhost>").await.0, 250);
        assert_eq!(open.cmd("QUIT").await.0, 221);
        kill("-TERM").await;
        running.await.unwrap().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    })
    .await
    .expect("test timed out");
}
