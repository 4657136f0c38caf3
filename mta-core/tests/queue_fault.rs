//! The fault test: a child process (this test binary, re-executed) runs the whole hub from its
//! default configuration on an ephemeral loopback SMTP port; the parent sends messages over
//! several connections at once and SIGKILLs the child at random moments, restarting it on the
//! same data directory. At the end every message that got a 250 is in the recipient's Maildir
//! exactly once (by Message-ID), and no message is there twice.
//!
//! N is the 1,000 (about 15 s on two cores); the seed is fixed so a failure can be
//! replayed. Loopback only; every wait is bounded.
//!
//! What it caught, and where the fixes are:
//! - a hub killed while rewriting `dovecot-uidlist` left `dovecot-uidlist.lock` holding the
//!   half-written list instead of its pid (or, killed right after creating it, empty), so
//!   the restarted hub could not tell the owner was dead and waited for the two-minute stale
//!   rule: every delivery timed out and was deferred by the retry backoff (mailhub-maildir's
//!   `dotlock`: the tag is linked into place, the new list written beside the lock);
//! - a message stored in the Maildir, then the hub killed before the queue recorded it, was
//!   delivered again after recovery (`deliver::LocalDelivery` now looks for the copy before
//!   delivering a recovered message again).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailhub_mta_core::config::{Config, Hub, Service};

const DIR_VAR: &str = "MAILHUB_QUEUE_FAULT_DIR";
const N: u64 = 1000;
const CONNECTIONS: usize = 4;
const KILLS: usize = 5;

/// The child: run the hub until killed. Does nothing in a normal test run.
#[test]
#[ignore = "child-process entry: run by the parent test with --ignored"]
fn fault_child_runs_a_hub_until_killed() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = Config::default_config();
        config.server.data_dir = Path::new(&dir).join("data");
        for s in Service::ALL {
            let l = config.listen.get_mut(s);
            if s == Service::Smtp {
                for a in l.iter_mut() {
                    a.set_port(0);
                }
            } else {
                l.clear();
            }
        }
        let hub = Hub::start(config).await.unwrap();
        let port = hub.addr(Service::Smtp).unwrap().port();
        println!("PORT {port}");
        std::io::stdout().flush().unwrap();
        // Bounded even if the parent dies without killing us.
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
}

fn spawn(dir: &Path) -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "fault_child_runs_a_hub_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(p) = l.find("PORT ").map(|i| &l[i + 5..]) {
                    break p.trim().parse().unwrap();
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child hub did not start");
            }
        }
    };
    (child, port)
}

/// Reads one SMTP reply; returns its code.
fn reply(r: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line.len() < 4 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        if line.as_bytes()[3] == b' ' {
            return line[..3]
                .parse()
                .map_err(|_| std::io::ErrorKind::InvalidData.into());
        }
    }
}

fn command(w: &mut TcpStream, r: &mut BufReader<TcpStream>, cmd: &str) -> std::io::Result<u16> {
    w.write_all(cmd.as_bytes())?;
    reply(r)
}

fn message(n: u64) -> String {
    let mut m = format!(
        "From: <s@remote.test>\r\nTo: <demo@localhost>\r\nSubject: fault {n}\r\nMessage-ID: <fault-{n}@remote.test>\r\n\r\n"
    );
    for i in 0..16 {
        m.push_str(&format!(
            "line {i:02} of message {n:06} .......................\r\n"
        ));
    }
    m
}

/// One sending connection: takes message numbers from `next` until N or the first error
/// (the child was killed). Records the numbers that got 250 after the data.
fn sender(port: u16, next: Arc<AtomicU64>, acked: Arc<Mutex<Vec<u64>>>) {
    let run = || -> std::io::Result<()> {
        let w = TcpStream::connect(("127.0.0.1", port))?;
        w.set_read_timeout(Some(Duration::from_secs(15)))?;
        w.set_write_timeout(Some(Duration::from_secs(15)))?;
        let mut r = BufReader::new(w.try_clone()?);
        let mut w = w;
        if reply(&mut r)? != 220 || command(&mut w, &mut r, "EHLO fault.test\r\n")? != 250 {
            return Ok(());
        }
        loop {
            let n = next.fetch_add(1, Ordering::SeqCst);
            if n >= N {
                let _ = command(&mut w, &mut r, "QUIT\r\n");
                return Ok(());
            }
            if command(&mut w, &mut r, "MAIL FROM:<s@remote.test>\r\n")? != 250
                || command(&mut w, &mut r, "RCPT TO:<demo@localhost>\r\n")? != 250
                || command(&mut w, &mut r, "DATA\r\n")? != 354
            {
                let _ = command(&mut w, &mut r, "RSET\r\n")?;
                continue;
            }
            let code = command(&mut w, &mut r, &format!("{}.\r\n", message(n)))?;
            if code == 250 {
                acked.lock().unwrap().push(n);
            }
        }
    };
    let _ = run();
}

/// Message-ID → copies in demo's Maildir.
fn delivered(dir: &Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join("data/mail/demo").join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let mut text = String::new();
            if std::fs::File::open(e.path())
                .and_then(|mut f| f.read_to_string(&mut text))
                .is_err()
            {
                continue;
            }
            if let Some(id) = text.lines().find_map(|l| l.strip_prefix("Message-ID: ")) {
                *out.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    out
}

/// Five SIGKILLs while 1,000 messages arrive over four connections; after the last restart
/// every acknowledged message is in the Maildir once, none twice.
#[test]
fn every_acknowledged_message_is_delivered_exactly_once_across_sigkills() {
    if std::env::var(DIR_VAR).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(Vec::new()));
    // Another seed (other kill moments) for exploring: MAILHUB_QUEUE_FAULT_SEED=<u64>.
    let mut seed: u64 = std::env::var("MAILHUB_QUEUE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the test ran too long");
        let (mut child, port) = spawn(dir.path());
        let senders: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (next, acked) = (next.clone(), acked.clone());
                std::thread::spawn(move || sender(port, next, acked))
            })
            .collect();
        let last = kills == KILLS;
        if !last {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(50 + seed % 400));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        }
        for s in senders {
            s.join().unwrap();
        }
        if last || next.load(Ordering::SeqCst) >= N {
            // The final life: let the queue deliver what it holds, then check.
            if !last {
                let (c, _) = spawn(dir.path());
                child = c;
            }
            let acked = acked.lock().unwrap().clone();
            let want: Vec<String> = acked
                .iter()
                .map(|n| format!("<fault-{n}@remote.test>"))
                .collect();
            let wait_until = Instant::now() + Duration::from_secs(20);
            let mut got = delivered(dir.path());
            while Instant::now() < wait_until && !want.iter().all(|w| got.contains_key(w)) {
                std::thread::sleep(Duration::from_millis(100));
                got = delivered(dir.path());
            }
            // Let any stray redelivery happen before counting copies.
            std::thread::sleep(Duration::from_millis(300));
            let got = delivered(dir.path());
            let _ = child.kill();
            let _ = child.wait();
            assert!(acked.len() >= 100, "too few acknowledged: {}", acked.len());
            let missing: Vec<_> = want.iter().filter(|w| !got.contains_key(*w)).collect();
            let twice: Vec<_> = got.iter().filter(|(_, c)| **c > 1).collect();
            if !missing.is_empty() || !twice.is_empty() {
                // Keep the spool and the Maildir for a look.
                let kept = dir.keep();
                panic!(
                    "{} acknowledged but not delivered (first: {:?}); {} delivered more than \
                     once (first: {:?}); data kept in {}",
                    missing.len(),
                    &missing[..missing.len().min(5)],
                    twice.len(),
                    &twice[..twice.len().min(5)],
                    kept.display()
                );
            }
            eprintln!(
                "{} sent, {} acknowledged, {} delivered, {kills} SIGKILLs",
                next.load(Ordering::SeqCst).min(N),
                acked.len(),
                got.len()
            );
            return;
        }
    }
}
