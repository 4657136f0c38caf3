//! A loopback IMAP (and POP3) server on a Maildir store for the IMAP driver's tests, Python
//! runner, and a small line client for IDLE and for misbehaving clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailhub_mta_core::auth::{AuthPolicy, Authenticator, Plaintext};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::imap::{ImapConfig, TlsMode, refuse, serve};
use mailhub_mta_core::session::pop3::Pop3Config;
use mailhub_mta_core::session::{ConnectionLimiter, ConnectionLimits};
use mailhub_mta_core::store::{AppendRequest, MailStore, MaildirStore};
use mailhub_mta_core::tls::{ServerTls, self_signed_pem};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

pub(crate) const LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct Hub {
    pub(crate) addr: SocketAddr,
    pub(crate) pop3: SocketAddr,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cert: PathBuf,
    pub(crate) store: Arc<dyn MailStore>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Tls {
    None,
    Starttls,
    Implicit,
}

pub(crate) fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\nTo: dave@example.org\nSubject: {subject}\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <{subject}@example.org>\n\n{body}\n"
    )
    .into_bytes()
}

/// A hub on a Maildir store under a temporary directory, `messages` in dave's INBOX.
pub(crate) async fn start(
    tls: Tls,
    plaintext: Plaintext,
    messages: &[Vec<u8>],
    tweak: impl FnOnce(&mut ImapConfig),
    limits: ConnectionLimits,
) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::under(dir.path().join("mail"), default_runtime());
    start_on(
        Arc::new(store),
        dir,
        tls,
        plaintext,
        messages,
        tweak,
        limits,
    )
    .await
}

/// A hub on `store`, `messages` in dave's INBOX; users dave (password `secret`) and erin
/// (`secret2`).
pub(crate) async fn start_on(
    store: Arc<dyn MailStore>,
    dir: tempfile::TempDir,
    tls: Tls,
    plaintext: Plaintext,
    messages: &[Vec<u8>],
    tweak: impl FnOnce(&mut ImapConfig),
    limits: ConnectionLimits,
) -> Hub {
    let runtime = default_runtime();
    let mail = store.open("dave").await.unwrap();
    for m in messages {
        let req = AppendRequest {
            data: m.clone().into(),
            ..Default::default()
        };
        mail.append("INBOX", req).await.unwrap();
    }
    let users = PasswdFile::parse("dave:{PLAIN}secret\nerin:{PLAIN}secret2\n").unwrap();
    let policy = AuthPolicy {
        plaintext,
        failure_delay: Duration::from_millis(10),
        ..AuthPolicy::default()
    };
    let auth = Arc::new(Authenticator::new(
        Registry::default(),
        users,
        policy,
        runtime.clone(),
    ));
    let (cert_pem, key_pem) =
        self_signed_pem(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    let server_tls = ServerTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let mut config = ImapConfig::new(store.clone(), auth.clone(), runtime.clone());
    config.tls = match tls {
        Tls::None => TlsMode::None,
        Tls::Starttls => TlsMode::StartTls(server_tls),
        Tls::Implicit => TlsMode::Implicit(server_tls),
    };
    tweak(&mut config);
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limiter = ConnectionLimiter::new(limits);
    let imap = tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let config = config.clone();
            let limiter = limiter.clone();
            tokio::spawn(async move {
                match limiter.try_acquire(peer.ip()) {
                    Ok(_permit) => drop(serve(tcp.compat(), peer, &config).await),
                    Err(e) => drop(refuse(tcp.compat(), &e.to_string(), &config).await),
                }
            });
        }
    });
    // POP3 on the same store, for the POP3-deletes-IMAP-sees-expunge test.
    let pop3_config = Arc::new(Pop3Config::new(store.clone(), auth, runtime));
    let pop3_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pop3 = pop3_listener.local_addr().unwrap();
    let pop3_task = tokio::spawn(async move {
        while let Ok((tcp, peer)) = pop3_listener.accept().await {
            let config = pop3_config.clone();
            tokio::spawn(async move {
                let _ = mailhub_mta_core::session::pop3::serve(tcp.compat(), peer, &config).await;
            });
        }
    });
    Hub {
        addr,
        pop3,
        dir,
        cert,
        store,
        tasks: vec![imap, pop3_task],
    }
}

/// Runs a Python script with the IMAP port, the certificate path and the POP3 port as
/// arguments; returns its stdout.
pub(crate) async fn python(hub: &Hub, script: &str) -> String {
    let child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(hub.addr.port().to_string())
        .arg(&hub.cert)
        .arg(hub.pop3.port().to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, child)
        .await
        .expect("python timed out")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `script` after [`PRELUDE`].
pub(crate) fn run_script(script: &str) -> String {
    format!("{PRELUDE}{script}")
}

pub(crate) const PRELUDE: &str = r#"
import imaplib, poplib, ssl, sys, base64
port = int(sys.argv[1]); cafile = sys.argv[2]; pop3_port = int(sys.argv[3])
def ctx():
    return ssl.create_default_context(cafile=cafile)
"#;

/// A line client for the scenarios imaplib cannot drive (IDLE, a client that never reads).
pub(crate) struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (r, w) = tcp.into_split();
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c
    }

    /// The write half, for partial lines.
    pub(crate) fn writer_mut(&mut self) -> &mut tokio::net::tcp::OwnedWriteHalf {
        &mut self.writer
    }

    pub(crate) async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.write_all(b"\r\n").await.unwrap();
    }

    /// One line, without CRLF; `None` at the end of the stream.
    pub(crate) async fn read(&mut self) -> Option<String> {
        let mut s = String::new();
        match self.reader.read_line(&mut s).await {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(s.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    /// One line, without CRLF; empty at the end of the stream.
    pub(crate) async fn line(&mut self) -> String {
        self.read().await.unwrap_or_default()
    }

    /// Lines up to and including the tagged one.
    pub(crate) async fn until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let Some(l) = self.read().await else {
                panic!("connection closed; got {lines:?}");
            };
            let done = l.starts_with(&format!("{tag} "));
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Sends a command with `tag` and returns its response lines.
    pub(crate) async fn command(&mut self, tag: &str, cmd: &str) -> Vec<String> {
        self.send(&format!("{tag} {cmd}")).await;
        self.until(tag).await
    }

    pub(crate) async fn login(&mut self) {
        let r = self.command("l", "LOGIN dave secret").await;
        assert!(r.last().unwrap().starts_with("l OK"), "{r:?}");
    }

    /// Everything until the server closes the connection.
    pub(crate) async fn rest(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = self.reader.read_to_end(&mut v).await;
        v
    }
}
