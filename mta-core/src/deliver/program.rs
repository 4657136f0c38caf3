//! Delivery to alias targets that are not mailboxes: `|command` (a program reading the
//! message on its standard input) and `/path` (a file the message is appended to in mbox
//! format). Both are off unless `LocalOptions::allow_programs` /
//! `LocalOptions::allow_files` (and, before that, the router's `allow_programs` /
//! `allow_files`) turn them on: a program run by the mail system is a classic hole.
//!
//! # Programs
//!
//! - Shell: the command is executed directly (split on spaces) when it holds no shell
//!   meta character, else through `/bin/sh -c` — Postfix local(8)'s rule ("executed directly
//!   where possible; the shell is used only when the command contains shell magic
//!   characters"). Direct execution means a plain `/usr/bin/procmail -a x` line cannot be
//!   turned into something else by an odd argument, and costs one process less.
//! - Environment: cleared, then as Postfix local(8) sets it: `SENDER`, `RECIPIENT`,
//!   `ORIGINAL_RECIPIENT`, `LOCAL`, `DOMAIN`, `EXTENSION` (the `+detail`), `USER` and
//!   `LOGNAME` (the local part), `HOME` `/`, `SHELL` `/bin/sh`, `PATH` `/usr/bin:/bin`, plus
//!   `QUEUE_ID`. The working directory is `/`.
//! - Input: the message as a mailbox would get it (`Return-Path:`, `Delivered-To:`, the
//!   message), no `From ` line.
//! - Exit status, per sysexits(3) as Postfix maps it (RFC 3463 codes): 0 delivered;
//!   `EX_TEMPFAIL` (75) deferred, retried later; every other status a bounce, with the
//!   sysexits meaning and the first `LocalOptions::max_program_output` octets of what the
//!   program printed (stdout and stderr, control characters removed) in the DSN. Killed by a
//!   signal: deferred. Running longer than `LocalOptions::program_timeout`: killed and
//!   bounced (5.3.0), as Postfix does at `command_time_limit`.
//! - Limit: only the program itself is killed at the timeout; a background child it started
//!   and that keeps the output pipe open is left alone (the delivery does not wait for it).
//!
//! # Files
//!
//! Appended with [`mailhub_mbox::Mailbox::append_plain`]: the `From ` line, the message
//! quoted the mboxrd way (or the file's own variant), a blank line, under the dot-lock and
//! fcntl lock mutt and procmail use, fsynced, a torn append cut back by the next writer. The
//! file is created (mode 0600) when missing. A file is no store with UIDs, so a crash between
//! the append and the queue's record can leave two copies in it (the Maildir and mbox
//! stores are checked for that, see `deliver::local`); a failure to write is a temporary failure.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Outcome;

/// How a program run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunEnd {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past the time limit and was killed.
    TimedOut,
}

/// Shell built-ins and keywords that cannot be executed directly.
const SHELL_WORDS: &[&str] = &[
    "exit", "exec", "cd", "export", "set", "unset", ".", ":", "eval", "if", "for", "while",
    "until", "case", "test", "[", "read", "trap", "umask", "ulimit", "wait", "true", "false",
    "echo", "printf",
];

/// Whether `cmd` needs `/bin/sh` (Postfix's test: a shell meta character, or a first word
/// that is a shell built-in).
pub(crate) fn needs_shell(cmd: &str) -> bool {
    let first = cmd.split_ascii_whitespace().next().unwrap_or("");
    SHELL_WORDS.contains(&first)
        || cmd.chars().any(|c| {
            matches!(
                c,
                '|' | '&'
                    | ';'
                    | '<'
                    | '>'
                    | '('
                    | ')'
                    | '$'
                    | '`'
                    | '\\'
                    | '"'
                    | '\''
                    | '*'
                    | '?'
                    | '['
                    | ']'
                    | '#'
                    | '~'
                    | '='
                    | '%'
                    | '{'
                    | '}'
                    | '\n'
            )
        })
}

/// Runs `cmd` with `env`, `input` on its stdin; returns how it ended and the first
/// `max_output` octets of its stdout and stderr. Blocks (run it through the runtime's
/// blocking pool).
pub(crate) fn run_program(
    cmd: &str,
    env: &[(String, String)],
    input: Vec<u8>,
    timeout: Duration,
    max_output: usize,
) -> std::io::Result<(RunEnd, Vec<u8>)> {
    let mut c = if needs_shell(cmd) {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(cmd);
        c
    } else {
        let mut words = cmd.split_ascii_whitespace();
        let program = words
            .next()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let mut c = Command::new(program);
        c.args(words);
        c
    };
    let (mut out_r, out_w) = std::io::pipe()?;
    c.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(out_w.try_clone()?)
        .stderr(out_w);
    let mut child = c.spawn()?;
    // Our copies of the pipe's write end go with the Command, so EOF comes when the program
    // (and whatever it passed the pipe to) is done.
    drop(c);
    let mut stdin = child.stdin.take();
    // A program that exits without reading everything makes this write fail (EPIPE): fine.
    std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&input);
        }
    });
    let captured = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    {
        let captured = captured.clone();
        std::thread::spawn(move || {
            // Keep reading past the limit, or a chatty program would block on a full pipe.
            let mut buf = [0u8; 4096];
            loop {
                match out_r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut c = captured.lock().unwrap_or_else(|e| e.into_inner());
                        let room = max_output.saturating_sub(c.len());
                        c.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
            let _ = done_tx.send(());
        });
    }
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let end = loop {
        if let Some(status) = child.try_wait()? {
            use std::os::unix::process::ExitStatusExt;
            break match (status.code(), status.signal()) {
                (Some(code), _) => RunEnd::Exited(code),
                (None, Some(sig)) => RunEnd::Signal(sig),
                (None, None) => RunEnd::Signal(0),
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break RunEnd::TimedOut;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    // The output is complete once the pipe closes; a background child holding it open is
    // not waited for long.
    let _ = done_rx.recv_timeout(Duration::from_millis(500));
    let output = captured.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok((end, output))
}

/// The program's output as one printable line for a reply.
fn printable(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s
}

/// The outcome of a program run (sysexits(3), as Postfix's `sys_exits.c` maps them).
pub(crate) fn program_outcome(cmd: &str, end: RunEnd, output: &[u8]) -> Outcome {
    let out = printable(output);
    let tail = if out.is_empty() {
        String::new()
    } else {
        format!(": {out}")
    };
    match end {
        RunEnd::Exited(0) => Outcome::Delivered(format!("250 2.0.0 delivered to command {cmd}")),
        RunEnd::Exited(75) => Outcome::Deferred(format!(
            "451 4.3.0 command {cmd} asked to try again later (EX_TEMPFAIL){tail}"
        )),
        RunEnd::Exited(code) => {
            let (status, meaning) = match code {
                64 => ("5.3.0", "command line usage error"),
                65 => ("5.6.0", "data format error"),
                66 => ("5.3.0", "cannot open input"),
                67 => ("5.1.1", "user unknown"),
                68 => ("5.1.2", "host name unknown"),
                69 => ("5.3.0", "service unavailable"),
                70 => ("5.3.0", "internal software error"),
                71 => ("5.3.0", "system resource problem"),
                72 => ("5.3.0", "critical OS file missing"),
                73 => ("5.2.0", "cannot create output file"),
                74 => ("5.3.0", "input/output error"),
                76 => ("5.5.0", "remote protocol error"),
                77 => ("5.7.0", "permission denied"),
                78 => ("5.3.5", "local configuration error"),
                _ => ("5.3.0", "unknown error"),
            };
            Outcome::Failed(format!(
                "554 {status} command {cmd} exited with status {code} ({meaning}){tail}"
            ))
        }
        RunEnd::Signal(sig) => Outcome::Deferred(format!(
            "451 4.3.0 command {cmd} was killed by signal {sig}{tail}"
        )),
        RunEnd::TimedOut => Outcome::Failed(format!(
            "554 5.3.0 command {cmd} ran past the time limit and was killed{tail}"
        )),
    }
}

/// Appends `message` to the file at `path` in mbox format (module doc). Blocks.
pub(crate) fn append_to_file(
    path: &Path,
    sender: &str,
    time: i64,
    message: &[u8],
    fsync: bool,
) -> Result<(), mailhub_mbox::Error> {
    use std::os::unix::fs::OpenOptionsExt;
    if !path.is_absolute() {
        return Err(std::io::Error::other("a file target must be an absolute path").into());
    }
    // Created empty if missing, never truncated; the mbox locks are taken by the append.
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let mut opts = mailhub_mbox::MailboxOptions::default();
    opts.fsync = fsync;
    let mbox = mailhub_mbox::Mailbox::open(path, opts)?;
    let sender = if sender.is_empty() {
        "MAILER-DAEMON"
    } else {
        sender
    };
    let env = mailhub_mbox::Envelope::new(sender, time)?;
    mbox.append_plain(&env, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_only_when_needed() {
        assert!(!needs_shell("/usr/bin/procmail -a list"));
        assert!(needs_shell("/bin/cat > /tmp/x"));
        assert!(needs_shell("exit 75"));
        assert!(!needs_shell("/bin/true"));
        assert!(needs_shell("echo $HOME"));
    }

    #[test]
    fn sysexits_mapping() {
        assert!(matches!(
            program_outcome("x", RunEnd::Exited(0), b""),
            Outcome::Delivered(_)
        ));
        assert!(matches!(
            program_outcome("x", RunEnd::Exited(75), b""),
            Outcome::Deferred(_)
        ));
        match program_outcome("x", RunEnd::Exited(67), b"no\x07 such\nuser\n") {
            Outcome::Failed(r) => {
                assert!(r.starts_with("554 5.1.1 "), "{r}");
                assert!(r.ends_with(": no such user"), "{r}");
            }
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            program_outcome("x", RunEnd::TimedOut, b""),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            program_outcome("x", RunEnd::Signal(9), b""),
            Outcome::Deferred(_)
        ));
    }
}
