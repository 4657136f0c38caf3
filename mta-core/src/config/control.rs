//! The control socket: how `mailhub_admin` reaches the running hub's queue.
//!
//! The queue recovers its spool when it opens ([`crate::queue::Queue::open`]), so a second
//! process must never open it while the hub runs. Instead the hub listens on a Unix socket,
//! `<data_dir>/control` ([`SOCKET_NAME`]), mode 0600; each connection's peer credentials
//! (SO_PEERCRED) must be root's or the hub's own uid, so the file mode is not the only gate.
//!
//! # Protocol
//!
//! Lines of UTF-8 ending in LF (a CR before it is ignored), one command a line, answered in
//! order; a connection may send several. Every answer is zero or more data lines starting
//! with `* `, then one status line, `OK [text]` or `ERR <reason>`. Commands (case-insensitive
//! names; `<id>` is a queue id as `LIST` prints it):
//!
//! ```text
//! LIST                one line a message: * <id> <size> <arrival> <state> <sender> <pending>/<recipients>
//!                     (arrival in Unix seconds; state queued, held or done; sender <> when empty)
//! SHOW <id>           * id, sender, arrival, size, state, kind [, envid] lines, then one line a
//!                     recipient: * rcpt <address> <pending|delivered|failed> <attempts> <next> [last reply]
//! FLUSH [<id>]        every pending recipient (of one message, or all) is due now
//! DELETE <id>         removes a message without a DSN
//! HOLD <id>           keeps a message from delivery until RELEASE
//! RELEASE <id>
//! RELOAD              what SIGHUP does: users, aliases and policy tables
//! QUIT                closes the connection
//! ```
//!
//! Fields of data lines have spaces, `%` and control characters percent-encoded (`%20`),
//! except the last reply at the end of a `rcpt` line, which only loses control characters.
//!
//! The socket lives in the data directory so that it shares its permissions and needs no
//! other setting; its path must fit a Unix socket address (about 100 octets), or the hub
//! does not start.
//!
//! Limits: a line of more than [`MAX_LINE`] octets is answered `ERR line too long` and the
//! connection closed (never buffered whole); at most [`MAX_CLIENTS`] connections at once
//! (more are answered `ERR busy`); a connection idle for [`IDLE`] is closed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, watch};

use crate::queue::{Envelope, Kind, Queue, QueueError, QueueId, State};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "control";
/// The longest command line, in octets (LF included).
pub const MAX_LINE: usize = 1024;
/// Connections served at once.
pub const MAX_CLIENTS: usize = 16;
/// How long a connection may wait between commands.
pub const IDLE: Duration = Duration::from_secs(60);

/// A command of the control protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `LIST`.
    List,
    /// `SHOW <id>`.
    Show(QueueId),
    /// `FLUSH [<id>]`.
    Flush(Option<QueueId>),
    /// `DELETE <id>`.
    Delete(QueueId),
    /// `HOLD <id>`.
    Hold(QueueId),
    /// `RELEASE <id>`.
    Release(QueueId),
    /// `RELOAD`.
    Reload,
    /// `QUIT`.
    Quit,
}

impl Command {
    /// Parses one line (without its line ending). The error is the `ERR` reason.
    pub fn parse(line: &str) -> Result<Command, String> {
        let mut words = line.split_ascii_whitespace();
        let name = words.next().ok_or("empty command")?.to_ascii_uppercase();
        let arg = words.next();
        if words.next().is_some() {
            return Err("too many arguments".into());
        }
        let id = || -> Result<QueueId, String> {
            let a = arg.ok_or("a queue id is needed")?;
            QueueId::parse(a).ok_or_else(|| format!("{} is not a queue id", field(a)))
        };
        let none = |c: Command| match arg {
            None => Ok(c),
            Some(_) => Err(format!("{name} takes no argument")),
        };
        match name.as_str() {
            "LIST" => none(Command::List),
            "SHOW" => Ok(Command::Show(id()?)),
            "FLUSH" => Ok(Command::Flush(arg.map(|_| id()).transpose()?)),
            "DELETE" => Ok(Command::Delete(id()?)),
            "HOLD" => Ok(Command::Hold(id()?)),
            "RELEASE" => Ok(Command::Release(id()?)),
            "RELOAD" => none(Command::Reload),
            "QUIT" => none(Command::Quit),
            _ => Err(format!("unknown command {}", field(&name))),
        }
    }
}

/// What `RELOAD` runs (the hub's reload); its error is the `ERR` reason.
pub(crate) type Reload = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Percent-encodes spaces, `%` and control characters so a value stays one field.
fn field(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' || c == '%' || c.is_control() {
            let mut b = [0; 4];
            for x in c.encode_utf8(&mut b).bytes() {
                o.push_str(&format!("%{x:02X}"));
            }
        } else {
            o.push(c);
        }
    }
    o
}

fn secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn state(e: &Envelope) -> &'static str {
    if e.is_done() {
        "done"
    } else if e.held {
        "held"
    } else {
        "queued"
    }
}

fn sender(e: &Envelope) -> String {
    if e.sender.is_empty() {
        "<>".into()
    } else {
        field(&e.sender)
    }
}

fn list_line(e: &Envelope) -> String {
    let pending = e
        .recipients
        .iter()
        .filter(|r| r.state == State::Pending)
        .count();
    format!(
        "* {} {} {} {} {} {pending}/{}\n",
        e.id,
        e.size,
        secs(e.arrival),
        state(e),
        sender(e),
        e.recipients.len()
    )
}

fn show_lines(e: &Envelope) -> String {
    let kind = match e.kind {
        Kind::Normal => "normal",
        Kind::Bounce => "bounce",
        Kind::DoubleBounce => "double-bounce",
    };
    let mut o = format!(
        "* id {}\n* sender {}\n* arrival {}\n* size {}\n* state {}\n* kind {kind}\n",
        e.id,
        sender(e),
        secs(e.arrival),
        e.size,
        state(e)
    );
    if let Some(envid) = &e.envid {
        o.push_str(&format!("* envid {}\n", field(envid)));
    }
    for r in &e.recipients {
        let st = match r.state {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Failed => "failed",
        };
        o.push_str(&format!(
            "* rcpt {} {st} {} {}",
            field(&r.new.address),
            r.attempts,
            secs(r.next_attempt)
        ));
        if let Some(last) = &r.last_reply {
            o.push(' ');
            o.extend(last.chars().map(|c| if c.is_control() { ' ' } else { c }));
        }
        o.push('\n');
    }
    o
}

fn queue_err(e: QueueError) -> String {
    match e {
        QueueError::NoSuchMessage(id) => format!("no such message {id}"),
        e => e.to_string(),
    }
}

/// Runs one command; the answer with its status line.
pub(crate) async fn execute(queue: &Queue, reload: &Reload, cmd: &Command) -> String {
    let done = |r: Result<(), QueueError>, what: &str| match r {
        Ok(()) => format!("OK {what}\n"),
        Err(e) => format!("ERR {}\n", queue_err(e)),
    };
    match cmd {
        Command::List => {
            let mut l = queue.list();
            l.sort_by(|a, b| a.arrival.cmp(&b.arrival).then(a.id.cmp(&b.id)));
            let mut o: String = l.iter().map(list_line).collect();
            o.push_str(&format!("OK {} messages\n", l.len()));
            o
        }
        Command::Show(id) => match queue.show(id) {
            Some(e) => show_lines(&e) + "OK\n",
            None => format!("ERR no such message {id}\n"),
        },
        Command::Flush(None) => {
            queue.flush(None);
            "OK flushed\n".into()
        }
        Command::Flush(Some(id)) => match queue.show(id) {
            Some(_) => {
                queue.flush(Some(id));
                format!("OK flushed {id}\n")
            }
            None => format!("ERR no such message {id}\n"),
        },
        Command::Delete(id) => done(queue.delete(id).await, "deleted"),
        Command::Hold(id) => done(queue.hold(id, true).await, "held"),
        Command::Release(id) => done(queue.hold(id, false).await, "released"),
        Command::Reload => match reload() {
            Ok(()) => "OK reloaded\n".into(),
            // One line whatever the error's text holds.
            Err(e) => format!("ERR {}\n", e.replace(|c: char| c.is_control(), " ")),
        },
        Command::Quit => "OK bye\n".into(),
    }
}

/// Binds the control socket of `data_dir`: a stale socket file left by a hub that is gone is
/// replaced; one that answers means another hub runs on this data directory, an error.
pub(crate) async fn bind(data_dir: &Path) -> io::Result<(UnixListener, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(SOCKET_NAME);
    if std::fs::symlink_metadata(&path).is_ok() {
        if UnixStream::connect(&path).await.is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another hub serves this data directory (its control socket answers)",
            ));
        }
        std::fs::remove_file(&path)?;
    }
    let l = UnixListener::bind(&path)?;
    // The peer-credential check in `serve` covers the moment before this chmod.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok((l, path))
}

/// Serves the control socket until `stop` turns true; removes the socket file then.
pub(crate) async fn serve(
    listener: UnixListener,
    path: PathBuf,
    queue: Queue,
    reload: Reload,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let me = nix::unistd::geteuid().as_raw();
    loop {
        let stream = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let allowed = stream
            .peer_cred()
            .is_ok_and(|c| c.uid() == 0 || c.uid() == me);
        let permit = slots.clone().try_acquire_owned();
        let (queue, reload) = (queue.clone(), reload.clone());
        tokio::spawn(async move {
            let mut stream = stream;
            if !allowed {
                let _ = stream.write_all(b"ERR permission denied\n").await;
                return;
            }
            let Ok(_permit) = permit else {
                let _ = stream.write_all(b"ERR busy\n").await;
                return;
            };
            if let Err(e) = session(stream, &queue, &reload).await {
                tracing::debug!(error = %e, "control connection ended");
            }
        });
    }
    let _ = std::fs::remove_file(&path);
}

async fn session(stream: UnixStream, queue: &Queue, reload: &Reload) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    loop {
        line.clear();
        // One octet more than the limit tells a full-length line from a longer one.
        let mut limited = (&mut r).take(MAX_LINE as u64 + 1);
        let n = match tokio::time::timeout(IDLE, limited.read_until(b'\n', &mut line)).await {
            Ok(n) => n?,
            Err(_) => {
                w.write_all(b"ERR idle too long\n").await?;
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            if line.len() > MAX_LINE {
                w.write_all(b"ERR line too long\n").await?;
            }
            // Else the peer closed in the middle of a line: nothing to answer.
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let answer = match Command::parse(text.trim_end_matches(['\r', '\n'])) {
            Ok(cmd) => {
                let a = execute(queue, reload, &cmd).await;
                if cmd == Command::Quit {
                    w.write_all(a.as_bytes()).await?;
                    return Ok(());
                }
                a
            }
            Err(e) => format!("ERR {e}\n"),
        };
        w.write_all(answer.as_bytes()).await?;
    }
}

/// The hub's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The data lines, without their `* ` prefix.
    pub lines: Vec<String>,
    /// Whether the status was `OK`.
    pub ok: bool,
    /// The status line's text after `OK`/`ERR`.
    pub status: String,
}

/// Sends one command to the hub whose data directory is `data_dir` and reads its answer.
pub async fn request(data_dir: &Path, command: &str) -> io::Result<Answer> {
    let path = data_dir.join(SOCKET_NAME);
    let stream = UnixStream::connect(&path).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "{}: {e} (is the hub running with this data directory?)",
                path.display()
            ),
        )
    })?;
    if command.contains(['\r', '\n']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a command is one line",
        ));
    }
    let (r, mut w) = stream.into_split();
    w.write_all(format!("{command}\n").as_bytes()).await?;
    let mut lines = BufReader::new(r).lines();
    let mut data = Vec::new();
    while let Some(l) = lines.next_line().await? {
        if let Some(d) = l.strip_prefix("* ") {
            data.push(d.to_owned());
        } else if let Some(s) = l.strip_prefix("OK") {
            return Ok(Answer {
                lines: data,
                ok: true,
                status: s.trim_start().to_owned(),
            });
        } else if let Some(s) = l.strip_prefix("ERR") {
            return Ok(Answer {
                lines: data,
                ok: false,
                status: s.trim_start().to_owned(),
            });
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the hub closed the control connection without an answer",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        let id = QueueId::parse("0123abcd").unwrap();
        assert_eq!(Command::parse("list"), Ok(Command::List));
        assert_eq!(Command::parse("FLUSH"), Ok(Command::Flush(None)));
        assert_eq!(
            Command::parse("flush 0123ABCD"),
            Ok(Command::Flush(Some(id.clone())))
        );
        assert_eq!(Command::parse(" hold  0123abcd "), Ok(Command::Hold(id)));
        assert!(Command::parse("").is_err());
        assert!(Command::parse("show").is_err());
        assert!(Command::parse("show x y").is_err());
        assert!(Command::parse("delete ../../etc").is_err());
        assert!(Command::parse("list 1").is_err());
        assert!(Command::parse("rm").unwrap_err().contains("RM"));
    }

    #[test]
    fn fields_stay_one_word() {
        assert_eq!(field("a b%c\r\n"), "a%20b%25c%0D%0A");
        assert_eq!(field(""), "-");
        assert_eq!(field("jöe@x"), "jöe@x");
    }
}
