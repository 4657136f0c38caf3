//! Crash safety of the spool: a child process enqueues messages and reports each one the
//! queue acknowledged (the moment an SMTP server would answer 250); the parent kills it with
//! SIGKILL at a random moment, reopens the spool, and checks that every acknowledged message
//! is there, intact, with its envelope — and that nothing half-written survived recovery.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use mailhub_mta_core::queue::{NewMessage, NewRecipient, Queue, QueueOptions, SystemClock};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;

const DIR_VAR: &str = "MAILHUB_QUEUE_CRASH_DIR";

fn body(n: u64) -> Vec<u8> {
    let mut b = format!("Subject: message {n}\r\nX-Seq: {n}\r\n\r\n").into_bytes();
    // 5 KB bodies, written in several chunks.
    for i in 0..80 {
        b.extend_from_slice(
            format!("line {i:03} of message {n:08} ..................................\r\n")
                .as_bytes(),
        );
    }
    b
}

fn message(n: u64) -> NewMessage {
    NewMessage {
        sender: format!("sender{n}@example.org"),
        recipients: vec![NewRecipient {
            address: format!("rcpt{n}@example.net"),
            destination: Destination::Remote(format!("rcpt{n}@example.net")),
            orcpt: None,
            notify: None,
        }],
        ..NewMessage::default()
    }
}

/// The child: enqueue until killed. Does nothing in a normal test run.
#[test]
#[ignore = "child-process entry: run by the parent test with --ignored"]
fn crash_child_enqueues_until_killed() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let start: u64 = std::env::var("MAILHUB_QUEUE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let (q, _) = block_on(Queue::open(
        Path::new(&dir),
        QueueOptions::default(),
        Arc::new(SystemClock),
        default_runtime(),
    ))
    .unwrap();
    let mut out = std::io::stdout().lock();
    for n in start.. {
        let b = body(n);
        let id = block_on(async {
            let mut w = q.writer().await.unwrap();
            for chunk in b.chunks(1500) {
                w.write(chunk).await.unwrap();
            }
            w.commit(message(n)).await.unwrap()
        });
        use std::io::Write;
        writeln!(out, "ACK {n} {id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = 0u64;
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child_enqueues_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .env("MAILHUB_QUEUE_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Let it acknowledge between 5 and 40 messages, then kill it mid-flight.
        let wanted = 5 + (seed % 36) as usize;
        let reader = BufReader::new(child.stdout.take().unwrap());
        let mut lines = reader.lines();
        let mut got = 0;
        while got < wanted {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(rest) = l.find("ACK ").map(|i| &l[i + 4..]) {
                        let (n, id) = rest.split_once(' ').unwrap();
                        acked.push((n.parse().unwrap(), id.to_owned()));
                        got += 1;
                    }
                }
                _ => break,
            }
        }
        // A random extra pause so the kill lands anywhere in the commit sequence.
        std::thread::sleep(Duration::from_micros(seed % 3000));
        child.kill().unwrap(); // SIGKILL
        // Acknowledgements printed before the kill landed count too.
        for l in lines.map_while(Result::ok) {
            if let Some(rest) = l.find("ACK ").map(|i| &l[i + 4..]) {
                let (n, id) = rest.split_once(' ').unwrap();
                acked.push((n.parse().unwrap(), id.to_owned()));
            }
        }
        child.wait().unwrap();
        next = acked.iter().map(|a| a.0).max().unwrap_or(0) + 1000;

        // Restart: recovery, then every acknowledged message is intact.
        let (q, report) = block_on(Queue::open(
            dir.path(),
            QueueOptions::default(),
            Arc::new(SystemClock),
            default_runtime(),
        ))
        .unwrap();
        assert_eq!(report.corrupt, 0, "{report:?}");
        let queued = q.list();
        for (n, id) in &acked {
            let e = queued
                .iter()
                .find(|e| e.id.as_str() == id)
                .unwrap_or_else(|| panic!("acknowledged message {n} ({id}) lost"));
            assert_eq!(e.sender, format!("sender{n}@example.org"));
            assert_eq!(e.recipients[0].new.address, format!("rcpt{n}@example.net"));
            assert_eq!(
                std::fs::read(q.data_path(&e.id)).unwrap(),
                body(*n),
                "message {n} damaged"
            );
        }
        // At most one unacknowledged extra per crash (the one being committed). The harness
        // prints "test … ... " before the first ACK line, hence `find` above.
        let extra: Vec<&str> = queued
            .iter()
            .filter(|e| !acked.iter().any(|a| a.1 == e.id.as_str()))
            .map(|e| e.sender.as_str())
            .collect();
        assert!(
            extra.len() <= round + 1,
            "unacknowledged but queued after {} crashes: {extra:?}",
            round + 1
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
    assert!(
        acked.len() >= 30,
        "the child made progress: {}",
        acked.len()
    );
}
