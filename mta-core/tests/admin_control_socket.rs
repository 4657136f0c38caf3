//! Queue administration of a running hub over its control socket (`config::control`): a hub
//! from the default configuration on ephemeral loopback ports, whose smart host refuses
//! connections so remote mail stays queued. Messages relayed to it over SMTP are listed,
//! shown, held, released, flushed and deleted through the socket (what `mailhub_admin queue`
//! does), and the queue's own view agrees after each step. The socket is mode 0600, refuses
//! malformed commands and over-long lines with `ERR`, and is gone after shutdown.

use std::path::Path;
use std::time::Duration;

use mailhub_mta_core::config::control::{self, Answer, MAX_LINE};
use mailhub_mta_core::config::{Config, Hub, Service};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};

const LIMIT: Duration = Duration::from_secs(60);

async fn start(dir: &Path) -> Hub {
    let mut config = Config::default_config();
    config.server.data_dir = dir.join("data");
    for s in Service::ALL {
        for a in config.listen.get_mut(s) {
            a.set_port(0);
        }
    }
    // Nothing listens on port 1: every remote delivery is deferred, the message stays queued.
    config.relay.smart_host = Some("127.0.0.1:1".into());
    Hub::start(config).await.unwrap()
}

/// One SMTP transaction from loopback (a relay network in the default configuration).
async fn relay(port: u16, rcpt: &str, body: &str) {
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r).lines();
    let mut expect = async |code: &str| loop {
        let l = r.next_line().await.unwrap().expect("the server closed");
        assert!(l.starts_with(code), "expected {code}, got {l}");
        if l.as_bytes().get(3) == Some(&b' ') {
            return;
        }
    };
    expect("220").await;
    for (cmd, code) in [
        ("EHLO client.test".to_owned(), "250"),
        ("MAIL FROM:<sender@localhost>".to_owned(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_owned(), "354"),
        (format!("Subject: {body}\r\n\r\n{body}\r\n."), "250"),
        ("QUIT".to_owned(), "221"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        expect(code).await;
    }
}

async fn ask(dir: &Path, command: &str) -> Answer {
    control::request(&dir.join("data"), command).await.unwrap()
}

fn id_of(line: &str) -> String {
    line.split(' ').next().unwrap().to_owned()
}

#[tokio::test]
async fn list_show_hold_release_flush_delete_over_the_socket() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let smtp = hub.addr(Service::Smtp).unwrap().port();

        let empty = ask(dir.path(), "LIST").await;
        assert!(empty.ok && empty.lines.is_empty(), "{empty:?}");

        relay(smtp, "far@remote.test", "first").await;
        relay(smtp, "away@remote.test", "second").await;
        let list = ask(dir.path(), "list").await;
        assert!(list.ok, "{list:?}");
        assert_eq!(list.lines.len(), 2, "{list:?}");
        assert_eq!(hub.queue().list().len(), 2);
        for l in &list.lines {
            // <id> <size> <arrival> <state> <sender> <pending>/<recipients>
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 6, "{l}");
            assert!(f[1].parse::<u64>().unwrap() > 0, "{l}");
            assert_eq!((f[3], f[4], f[5]), ("queued", "sender@localhost", "1/1"));
        }
        let first = id_of(&list.lines[0]);
        let second = id_of(&list.lines[1]);

        let show = ask(dir.path(), &format!("SHOW {first}")).await;
        assert!(show.ok, "{show:?}");
        assert!(show.lines.contains(&format!("id {first}")), "{show:?}");
        let rcpt = show
            .lines
            .iter()
            .find(|l| l.starts_with("rcpt "))
            .expect("a recipient line");
        assert!(rcpt.starts_with("rcpt far@remote.test pending "), "{rcpt}");

        // HOLD and RELEASE change the queue's own record.
        let held = ask(dir.path(), &format!("HOLD {first}")).await;
        assert!(held.ok, "{held:?}");
        let q = |id: &str| {
            let id = mailhub_mta_core::queue::QueueId::parse(id).unwrap();
            hub.queue().show(&id)
        };
        assert!(q(&first).unwrap().held);
        let list = ask(dir.path(), "LIST").await;
        let line = list.lines.iter().find(|l| l.starts_with(&first)).unwrap();
        assert!(line.contains(" held "), "{line}");
        assert!(ask(dir.path(), &format!("RELEASE {first}")).await.ok);
        assert!(!q(&first).unwrap().held);

        // FLUSH makes the recipient due now: the smart host is tried again (and defers).
        let before = q(&second).unwrap().recipients[0].attempts;
        assert!(ask(dir.path(), &format!("FLUSH {second}")).await.ok);
        for _ in 0..400 {
            if q(&second).unwrap().recipients[0].attempts > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(q(&second).unwrap().recipients[0].attempts > before);
        assert!(ask(dir.path(), "FLUSH").await.ok);

        // DELETE removes it from the queue and from the spool.
        let data = hub
            .queue()
            .data_path(&mailhub_mta_core::queue::QueueId::parse(&first).unwrap());
        assert!(data.exists());
        let deleted = ask(dir.path(), &format!("DELETE {first}")).await;
        assert!(deleted.ok, "{deleted:?}");
        assert!(q(&first).is_none());
        assert!(!data.exists());
        let list = ask(dir.path(), "LIST").await;
        assert_eq!(list.lines.len(), 1);
        assert!(list.lines[0].starts_with(&second));

        // Unknown ids and bad commands are answered, not fatal.
        for bad in [
            format!("SHOW {first}"),
            format!("DELETE {first}"),
            format!("HOLD {first}"),
            format!("FLUSH {first}"),
            "SHOW ../../etc/passwd".into(),
            "SHOW".into(),
            "LIST everything".into(),
            "EXPLODE".into(),
        ] {
            let a = ask(dir.path(), &bad).await;
            assert!(!a.ok && !a.status.is_empty(), "{bad}: {a:?}");
        }
        assert!(ask(dir.path(), "RELOAD").await.ok);
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn the_socket_is_private_bounded_and_removed_at_shutdown() {
    use std::os::unix::fs::PermissionsExt;
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let path = hub.control_socket().to_owned();
        assert_eq!(path, dir.path().join("data").join(control::SOCKET_NAME));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");

        // Several commands on one connection, answered in order; CRLF is accepted.
        let s = UnixStream::connect(&path).await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r).lines();
        w.write_all(b"LIST\r\nNOPE\nQUIT\n").await.unwrap();
        let mut got = Vec::new();
        while let Some(l) = r.next_line().await.unwrap() {
            got.push(l);
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].starts_with("OK"), "{got:?}");
        assert!(got[1].starts_with("ERR unknown command"), "{got:?}");
        assert!(got[2].starts_with("OK"), "{got:?}");

        // A line longer than the limit is refused without being read whole, and the
        // connection closes.
        let s = UnixStream::connect(&path).await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r).lines();
        let long = vec![b'A'; MAX_LINE * 4];
        // The hub may close before all of it is written: that is the point.
        let _ = w.write_all(&long).await;
        let l = r.next_line().await.unwrap().unwrap();
        assert_eq!(l, "ERR line too long");
        assert_eq!(r.next_line().await.ok().flatten(), None);

        // A second hub on the same data directory is refused: its control socket answers.
        let mut config = hub.config().clone();
        for s in Service::ALL {
            config.listen.get_mut(s).clear();
        }
        let err = Hub::start(config).await.unwrap_err().to_string();
        assert!(err.contains("another hub"), "{err}");

        hub.shutdown(Duration::from_secs(5)).await;
        assert!(!path.exists());
        let e = control::request(&dir.path().join("data"), "LIST")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is the hub running"), "{e}");
    })
    .await
    .expect("test timed out");
}
