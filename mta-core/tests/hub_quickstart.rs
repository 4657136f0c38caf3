//! The README's quick start, command by command, with the real example binaries
//! (`cargo run --example ...` through the same cargo that runs the tests; under
//! `cargo test --workspace` the examples are already built, alone the first run builds them):
//!
//! - the quick-start block is exactly the two commands this file knows;
//! - `cargo run --example full_mailhub`, in an empty working directory: it makes
//!   `./mailhub-data`, listens on the ports the README lists, prints the banner, whose
//!   "Try it" commands work as printed; SIGTERM stops it and exits 0;
//! - `--config mailhub.toml --check` on the repository's sample and a broken file (line and
//!   column named, exit 1); `--config` runs a hub from a file;
//! - `cargo run --example mailhub_admin -- --help`, and its commands against that running
//!   hub: `passwd`, `quota`, `reload`, `queue list|show|hold|release|flush|delete`;
//! - `bash .ci/run` is CI itself (it cannot run inside the tests it runs): its apt list
//!   installs every program these hub tests start, and its last step is the README's test
//!   command.
//!
//! The default configuration's fixed ports (2525 and so on) are used by the first run only;
//! if another test run holds them, it is retried for a while. Needs `curl`, `python3` (the
//! banner's commands) and `swaks`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The first `cargo run` may build the examples.
const BUILD: Duration = Duration::from_secs(540);
const LIMIT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo <sub> --manifest-path <root>/Cargo.toml <args>` in `cwd`: the README's command, run
/// from anywhere.
fn cargo(cwd: &Path, sub: &str, args: &[&str]) -> Command {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(program);
    c.arg(sub)
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .args(["--quiet", "--locked"])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

/// Runs to the end; (exit success, stdout, stderr).
async fn output(mut c: Command, limit: Duration) -> (bool, String, String) {
    let o = tokio::time::timeout(limit, c.output())
        .await
        .expect("command timed out")
        .expect("command starts");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn admin(cwd: &Path, config: &Path, args: &[&str]) -> (bool, String, String) {
    let mut a = vec!["--example", "mailhub_admin", "--", "--config"];
    let config = config.display().to_string();
    a.push(&config);
    a.extend(args);
    output(cargo(cwd, "run", &a), LIMIT).await
}

/// A running `full_mailhub` and the banner it printed.
struct Running {
    child: Child,
    banner: String,
}

/// Starts `full_mailhub` with `args` in `cwd`; waits for the banner's last line. An error
/// (what it printed) when it exited first. Its output is drained to the end, so its log
/// lines never fill a pipe and stall it.
async fn start(cwd: &Path, args: &[&str]) -> Result<Running, String> {
    let mut a = vec!["--example", "full_mailhub", "--"];
    a.extend(args);
    let mut child = cargo(cwd, "run", &a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(l)) = err.next_line().await {
            text.push_str(&l);
            text.push('\n');
        }
        text
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut banner = String::new();
        let mut tx = Some(tx);
        while let Ok(Some(l)) = out.next_line().await {
            if tx.is_none() {
                continue;
            }
            banner.push_str(&l);
            banner.push('\n');
            if l.starts_with("Stop with Ctrl-C") {
                let _ = tx.take().unwrap().send(Ok(banner.clone()));
            }
        }
        if let Some(tx) = tx {
            let _ = tx.send(Err(banner));
        }
    });
    match tokio::time::timeout(BUILD, rx)
        .await
        .expect("no banner")
        .unwrap()
    {
        Ok(banner) => Ok(Running { child, banner }),
        Err(out) => {
            let _ = child.wait().await;
            Err(format!("{out}\n{}", errors.await.unwrap()))
        }
    }
}

impl Running {
    /// SIGTERM, then the exit status must be success.
    async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(ok.success());
        let status = tokio::time::timeout(LIMIT, self.child.wait())
            .await
            .expect("the hub did not stop on SIGTERM")
            .unwrap();
        assert!(status.success(), "{status}");
    }

    /// The port the banner shows for a service.
    fn port(&self, service: &str) -> u16 {
        self.banner
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(service)).then(|| w.next())?
            })
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no {service} in the banner:\n{}", self.banner))
    }
}

/// The banner's "Try it" commands, each through `sh -c` in the hub's working directory (the
/// certificate path is relative to it) until it succeeds (reading waits for the queue to
/// deliver the first message).
async fn try_it(cwd: &Path, banner: &str) {
    let commands: Vec<&str> = banner
        .lines()
        .skip_while(|l| !l.starts_with("Try it:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert_eq!(commands.len(), 7, "{banner}");
    for c in commands {
        let mut out = None;
        for _ in 0..400 {
            let o = Command::new("sh")
                .arg("-c")
                .arg(c)
                .current_dir(cwd)
                .output()
                .await
                .unwrap();
            if o.status.success() {
                out = Some(String::from_utf8_lossy(&o.stdout).into_owned());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let out = out.unwrap_or_else(|| panic!("{c} never succeeded"));
        if c.contains("pop3") || c.contains("poplib") || c.contains("imap") {
            assert!(out.contains("Hi there!"), "{c}: {out}");
        }
    }
}

#[test]
fn the_quick_start_block_is_the_commands_tested_here() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("a quick start section");
    let block = readme[start..]
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --example full_mailhub", "bash .ci/run"],
        "the README's quick start changed: test the new commands here"
    );
}

#[test]
fn ci_installs_what_the_hub_tests_start_and_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let apt = ci
        .lines()
        .find(|l| l.starts_with("apt_packages=("))
        .expect("the apt list");
    for pkg in ["python3", "curl", "swaks", "isync"] {
        assert!(apt.split([' ', '(', ')']).any(|w| w == pkg), "{pkg}: {apt}");
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("`cargo test --workspace`"));
    let last = ci.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(last.starts_with("cargo test --workspace"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_commands_work() {
    let cwd = tempfile::tempdir().unwrap();
    let cwd = cwd.path();

    // `cargo run --example full_mailhub`, as printed, in an empty folder.
    let mut tries = 0;
    let hub = loop {
        match start(cwd, &[]).await {
            Ok(r) => break r,
            // Another run of this test holds the default ports: wait for it.
            Err(e) if e.contains("cannot listen") && tries < 60 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("full_mailhub did not start:\n{e}"),
        }
    };
    for (service, port) in [
        ("smtp", 2525),
        ("submission", 2587),
        ("submissions", 2465),
        ("imap", 1143),
        ("imaps", 1993),
        ("pop3", 1110),
        ("pop3s", 1995),
        ("lmtp", 2424),
    ] {
        assert_eq!(hub.port(service), port, "{}", hub.banner);
    }
    assert!(cwd.join("mailhub-data/tls/cert.pem").exists());
    assert!(cwd.join("mailhub-data/users").exists());
    tokio::time::timeout(LIMIT, try_it(cwd, &hub.banner))
        .await
        .expect("the banner's commands timed out");
    hub.stop().await;

    // `--check`: the default, the repository's sample, a broken file.
    let sample = root().join("mailhub.toml").display().to_string();
    for args in [vec!["--check"], vec!["--config", &sample, "--check"]] {
        let mut a = vec!["--example", "full_mailhub", "--"];
        a.extend(&args);
        let (ok, out, err) = output(cargo(cwd, "run", &a), LIMIT).await;
        assert!(
            ok && out.contains("configuration OK"),
            "{args:?}: {out}{err}"
        );
    }
    let text = std::fs::read_to_string(root().join("mailhub.toml")).unwrap();
    let broken = cwd.join("broken.toml");
    std::fs::write(
        &broken,
        text.replace("max_recipients = 100", "max_recipients = -1"),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("max_recipients"))
        .unwrap()
        + 1;
    let b = broken.display().to_string();
    let a = ["--example", "full_mailhub", "--", "--config", &b, "--check"];
    let (ok, out, err) = output(cargo(cwd, "run", &a), LIMIT).await;
    assert!(!ok, "{out}");
    assert!(err.contains(&format!("broken.toml:{line}:")), "{err}");

    // `--config`: the sample, on ephemeral ports, data in this folder.
    let mut own = text.replace("./mailhub-data", "./from-file");
    for port in [2525, 2587, 2465, 1143, 1993, 1110, 1995, 2424] {
        own = own.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:0");
    }
    // Remote mail waits in the queue: nothing listens on port 1.
    own = own.replace(
        "# smart_host = \"smtp.example.net:587\"",
        "smart_host = \"127.0.0.1:1\"",
    );
    let config = cwd.join("mailhub.toml");
    std::fs::write(&config, own).unwrap();
    let c = config.display().to_string();
    let hub = start(cwd, &["--config", &c]).await.unwrap();
    assert!(cwd.join("from-file/control").exists());

    // mailhub_admin: --help, then each command against the running hub.
    let (ok, out, err) = output(
        cargo(cwd, "run", &["--example", "mailhub_admin", "--", "--help"]),
        LIMIT,
    )
    .await;
    assert!(ok, "{err}");
    for word in ["passwd", "quota", "queue", "reload"] {
        assert!(out.contains(word), "{word}: {out}");
    }
    let (ok, out, err) = admin(cwd, &config, &["passwd", "alice"]).await;
    assert!(ok && out.contains("added alice"), "{out}{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password")
        .to_owned();
    let users = std::fs::read_to_string(cwd.join("from-file/users")).unwrap();
    assert!(users.contains("alice:") && !users.contains(&password));
    let (ok, out, err) = admin(cwd, &config, &["reload"]).await;
    assert!(ok, "{out}{err}");
    // The new user logs in after the reload.
    let pop3 = format!("pop3://127.0.0.1:{}/", hub.port("pop3"));
    let (ok, out, err) = output(
        {
            let mut c = Command::new("curl");
            c.args(["-sS", "-u", &format!("alice:{password}"), &pop3]);
            c
        },
        LIMIT,
    )
    .await;
    assert!(ok, "alice cannot log in: {out}{err}");
    let (ok, out, err) = admin(cwd, &config, &["quota", "demo"]).await;
    assert!(ok && out.starts_with("demo:"), "{out}{err}");

    // A relayed message waits in the queue; the admin sees it and acts on it.
    let smtp = hub.port("smtp").to_string();
    let (ok, out, err) = output(
        {
            let mut c = Command::new("swaks");
            c.args([
                "--server",
                "127.0.0.1",
                "--port",
                &smtp,
                "--from",
                "demo@localhost",
                "--to",
                "far@remote.test",
            ]);
            c
        },
        LIMIT,
    )
    .await;
    assert!(ok, "swaks: {out}{err}");
    let (ok, out, err) = admin(cwd, &config, &["queue", "list"]).await;
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let id = lines[0].split(' ').next().unwrap().to_owned();
    let (ok, out, _) = admin(cwd, &config, &["queue", "show", &id]).await;
    assert!(ok && out.contains("rcpt far@remote.test pending"), "{out}");
    for (cmd, state) in [("hold", " held "), ("release", " queued ")] {
        let (ok, out, err) = admin(cwd, &config, &["queue", cmd, &id]).await;
        assert!(ok, "{cmd}: {out}{err}");
        let (_, out, _) = admin(cwd, &config, &["queue", "list"]).await;
        assert!(out.contains(state), "{cmd}: {out}");
    }
    let (ok, _, err) = admin(cwd, &config, &["queue", "flush"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = admin(cwd, &config, &["queue", "delete", &id]).await;
    assert!(ok, "{err}");
    let (ok, out, _) = admin(cwd, &config, &["queue", "list"]).await;
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, _, err) = admin(cwd, &config, &["queue", "show", &id]).await;
    assert!(!ok && err.contains("no such message"), "{err}");
    hub.stop().await;
    // Stopped: the admin says so instead of opening the spool itself.
    let (ok, _, err) = admin(cwd, &config, &["queue", "list"]).await;
    assert!(!ok && err.contains("is the hub running"), "{err}");
}
