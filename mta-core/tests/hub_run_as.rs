//! `[server] run_as`: a child process (this test binary, re-executed) starts the hub as root
//! with `run_as = "nobody"` on a multi-threaded tokio runtime, SMTP on a privileged port
//! (below 1024, which only root may bind here). The parent checks that the port answers,
//! that every thread of the child has real, effective, saved and file-system uid and gid of
//! nobody (`/proc/<pid>/task/*/status`), and that a message sent through it lands in a
//! Maildir file owned by nobody, as do the queue, the users file and the generated key.
//!
//! Also: an existing data directory that belongs to another user is refused with a message
//! naming the fix, and so is one the user cannot reach (checked after the switch); a hub started as nobody with `run_as = "nobody"` just runs; one started
//! as nobody with `run_as = "daemon"` is refused.
//!
//! The tests need root (CI runs as root) and fail otherwise; every wait is bounded.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mailhub_mta_core::config::{Config, Hub, Service};

const DIR_VAR: &str = "MAILHUB_RUN_AS_DIR";
const PORT_VAR: &str = "MAILHUB_RUN_AS_PORT";
const USER_VAR: &str = "MAILHUB_RUN_AS_USER";
const NOBODY: u32 = 65534;

/// The child: start a hub from the variables, print `READY <port>` or `ERROR <message>`,
/// then wait to be killed. Does nothing in a normal test run.
#[test]
#[ignore = "child-process entry: run by the parent tests with --ignored"]
fn run_as_child_starts_a_hub() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let port: u16 = std::env::var(PORT_VAR).unwrap().parse().unwrap();
    // Several workers: the switch must reach threads that exist before it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = Config::default_config();
        config.server.data_dir = Path::new(&dir).join("data");
        config.server.run_as = Some(std::env::var(USER_VAR).unwrap());
        for s in Service::ALL {
            let l = config.listen.get_mut(s);
            l.clear();
            match s {
                Service::Smtp => l.push(([127, 0, 0, 1], port).into()),
                Service::Imap => l.push(([127, 0, 0, 1], 0).into()),
                _ => {}
            }
        }
        match Hub::start(config).await {
            Ok(hub) => {
                println!("READY {}", hub.addr(Service::Smtp).unwrap().port());
                std::io::stdout().flush().unwrap();
                // Bounded even if the parent dies without killing us.
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Err(e) => {
                println!("ERROR {e}");
                std::io::stdout().flush().unwrap();
            }
        }
    });
}

struct Started {
    child: Child,
    /// `READY <port>` or `ERROR <message>`, without the word.
    outcome: Result<u16, String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the child; `as_user` runs it as that uid/gid instead of root.
fn spawn(dir: &Path, port: u16, run_as: &str, as_user: Option<u32>) -> Started {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "run_as_child_starts_a_hub",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(DIR_VAR, dir)
    .env(PORT_VAR, port.to_string())
    .env(USER_VAR, run_as)
    .env("RUST_BACKTRACE", "0")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if let Some(id) = as_user {
        cmd.uid(id).gid(id);
    }
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            // libtest prints the test's name first on the same line.
            if let Some(i) = l.find("READY ") {
                let _ = tx.send(Ok(l[i + 6..].trim().parse().unwrap()));
                return;
            }
            if let Some(i) = l.find("ERROR ") {
                let _ = tx.send(Err(l[i + 6..].to_owned()));
                return;
            }
        }
        let _ = tx.send(Err("the child ended without a word".into()));
    });
    let outcome = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| Err("the child did not answer in 30 s".into()));
    Started { child, outcome }
}

fn need_root() {
    assert_eq!(
        std::fs::metadata("/proc/self").unwrap().uid(),
        0,
        "these tests start the hub as root: run them as root (CI does)"
    );
}

/// A temporary folder nobody may enter.
fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A free port below 1024 on loopback.
fn privileged_port() -> u16 {
    (600..1000)
        .rev()
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port below 1024")
}

fn ids(status: &str, key: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_default()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

/// One SMTP reply's code.
fn reply(r: &mut BufReader<TcpStream>) -> u16 {
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "the server closed");
        if line.as_bytes().get(3) == Some(&b' ') {
            return line[..3].parse().unwrap();
        }
    }
}

fn send(port: u16) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(reply(&mut r), 220);
    for (cmd, code) in [
        ("EHLO client.test", 250),
        ("MAIL FROM:<someone@remote.test>", 250),
        ("RCPT TO:<demo@localhost>", 250),
        ("DATA", 354),
        ("Subject: run_as\r\n\r\nDelivered by nobody.\r\n.", 250),
        ("QUIT", 221),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        assert_eq!(reply(&mut r), code, "{cmd}");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn started_as_root_it_binds_then_runs_as_nobody() {
    need_root();
    let dir = open_tempdir();
    let port = privileged_port();
    let started = spawn(dir.path(), port, "nobody", None);
    let smtp = started.outcome.clone().expect("the hub starts");
    assert_eq!(smtp, port);
    let pid = started.child.id();

    // Every thread: real, effective, saved, file-system ids are nobody's.
    let tasks = files_under(Path::new(&format!("/proc/{pid}/task")));
    assert!(tasks.len() > 1, "a multi-threaded child: {tasks:?}");
    for t in &tasks {
        let status = std::fs::read_to_string(t.join("status")).unwrap();
        assert_eq!(ids(&status, "Uid:"), vec![NOBODY; 4], "{}", t.display());
        assert_eq!(ids(&status, "Gid:"), vec![NOBODY; 4], "{}", t.display());
        assert_eq!(
            status
                .lines()
                .find(|l| l.starts_with("Groups:"))
                .unwrap()
                .trim(),
            format!("Groups:\t{NOBODY}").trim(),
            "{}",
            t.display()
        );
    }

    // The privileged port answers, and what arrives through it belongs to nobody.
    send(port);
    let new = dir.path().join("data/mail/demo/new");
    let deadline = Instant::now() + Duration::from_secs(30);
    let file = loop {
        if let Some(f) = files_under(&new).into_iter().next() {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no delivery in {}",
            new.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with("Delivered by nobody.\r\n"), "{text}");
    for p in [
        file.clone(),
        dir.path().join("data/mail/demo"),
        dir.path().join("data"),
        dir.path().join("data/queue"),
        dir.path().join("data/users"),
        dir.path().join("data/tls/key.pem"),
        dir.path().join("data/control"),
    ] {
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (NOBODY, NOBODY), "{}", p.display());
    }
}

#[test]
fn a_data_directory_of_another_user_is_refused() {
    need_root();
    let dir = open_tempdir();
    // Made by root beforehand: nobody could not write it.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let started = spawn(dir.path(), 0, "nobody", None);
    let err = started.outcome.clone().unwrap_err();
    assert!(
        err.contains("belongs to uid 0") && err.contains("chown -R nobody"),
        "{err}"
    );
}

#[test]
fn a_data_directory_the_user_cannot_reach_is_refused_after_the_switch() {
    need_root();
    // A 0700 root folder: the data directory inside is made for nobody, who then cannot
    // get through its parent. The check after the switch says so.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let started = spawn(dir.path(), 0, "nobody", None);
    let err = started.outcome.clone().unwrap_err();
    assert!(
        err.contains("not usable by nobody") && err.contains("every parent folder"),
        "{err}"
    );
}

#[test]
fn started_as_a_user_run_as_is_that_user_or_an_error() {
    need_root();
    let dir = open_tempdir();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::os::unix::fs::chown(dir.path().join("data"), Some(NOBODY), Some(NOBODY)).unwrap();
    // Already nobody: nothing to switch, the hub runs.
    let started = spawn(dir.path(), 0, "nobody", Some(NOBODY));
    assert!(started.outcome.is_ok(), "{:?}", started.outcome);
    drop(started);
    // Nobody cannot become daemon.
    let started = spawn(dir.path(), 0, "daemon", Some(NOBODY));
    let err = started.outcome.clone().unwrap_err();
    assert!(
        err.contains("needs the hub to start as root") && err.contains("uid 65534"),
        "{err}"
    );
}
