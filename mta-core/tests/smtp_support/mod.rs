//! A loopback SMTP/LMTP hub for the driver tests: a Maildir store under a temporary folder,
//! users `dave` (password `secret`), `full` (over its 300-octet Maildir++ quota) and `small`
//! (an empty mailbox with a 300-octet quota), the local
//! domain `example.test`, `moved@example.test` relocated, and a self-signed certificate.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mailhub_maildir::{Maildir, Subdir};
use mailhub_mta_core::auth::{AuthPolicy, Authenticator, Plaintext};
use mailhub_mta_core::policy::{Policy, PolicyOptions};
use mailhub_mta_core::queue::Queue;
use mailhub_mta_core::route::{AliasTable, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, TlsMode, refuse, serve};
use mailhub_mta_core::session::smtp_sink::{
    Committed, Envelope, MessageSink, MessageWriter, QueueSink, SinkError, StoreSink,
};
use mailhub_mta_core::session::{ConnectionLimiter, ConnectionLimits};
use mailhub_mta_core::store::{MailStore, MaildirStore};
use mailhub_mta_core::tls::{ServerTls, self_signed_pem};
use mailhub_sasl::{PasswdFile, Registry};
use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Messages a collecting sink kept.
pub(crate) type Collected = Arc<Mutex<Vec<(Envelope, Vec<u8>)>>>;

pub(crate) const LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct Hub {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub server_tls: ServerTls,
    pub collected: Collected,
    /// Connections accepted so far.
    pub accepts: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hub {
    pub(crate) fn messages(&self, user: &str) -> Vec<Vec<u8>> {
        let Ok(m) = Maildir::open(self.dir.path().join("mail").join(user)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for sub in [Subdir::New, Subdir::Cur] {
            for e in m.list(sub).unwrap() {
                out.push(std::fs::read(m.entry_path(&e)).unwrap());
            }
        }
        out
    }
}

/// What a test changes.
pub(crate) struct Setup {
    pub mode: SmtpMode,
    pub tls: Tls,
    pub plaintext: Plaintext,
    /// Collect messages in memory (accepting remote recipients) instead of the Maildir sink.
    pub collect: bool,
    /// Put messages into this queue (with the quota check against the Maildir store).
    pub queue: Option<Queue>,
    /// The store sink's message limit.
    pub store_sink_limit: u64,
    pub limits: ConnectionLimits,
    pub policy: PolicyOptions,
    pub tweak: Box<dyn FnOnce(&mut SmtpConfig) + Send>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    None,
    Starttls,
    Implicit,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            mode: SmtpMode::Mta,
            tls: Tls::None,
            plaintext: Plaintext::Loopback,
            collect: false,
            queue: None,
            store_sink_limit: 64 * 1024 * 1024,
            limits: ConnectionLimits::default(),
            policy: PolicyOptions::default(),
            tweak: Box::new(|_| {}),
        }
    }
}

/// A sink that keeps messages in memory and accepts every destination.
struct Collect(Collected);

struct CollectWriter(Collected, Envelope, Vec<u8>);

#[async_trait]
impl MessageSink for Collect {
    async fn begin(&self, envelope: &Envelope) -> Result<Box<dyn MessageWriter>, SinkError> {
        Ok(Box::new(CollectWriter(
            self.0.clone(),
            envelope.clone(),
            Vec::new(),
        )))
    }
}

#[async_trait]
impl MessageWriter for CollectWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.2.extend_from_slice(chunk);
        Ok(())
    }
    async fn commit(self: Box<Self>) -> Result<Committed, SinkError> {
        let n = self.1.recipients.len();
        let mut all = self.0.lock().unwrap();
        all.push((self.1, self.2));
        Ok(Committed {
            id: format!("C{}", all.len()),
            recipients: vec![Ok(()); n],
        })
    }
    async fn abort(self: Box<Self>) {}
}

pub(crate) async fn start(setup: Setup) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let runtime = default_runtime();
    let store = MaildirStore::under(dir.path().join("mail"), runtime.clone());
    // `full` has a Maildir++ quota of 300 octets (maildirquota.txt).
    store.open("full").await.unwrap();
    std::fs::write(dir.path().join("mail/full/maildirsize"), "300S\n400 1\n").unwrap();
    store.open("small").await.unwrap();
    std::fs::write(dir.path().join("mail/small/maildirsize"), "300S\n0 0\n").unwrap();
    let store: Arc<dyn MailStore> = Arc::new(store);
    let users = PasswdFile::parse("dave:{PLAIN}secret\n").unwrap();
    let auth_policy = AuthPolicy {
        plaintext: setup.plaintext,
        failure_delay: Duration::from_millis(10),
        ..AuthPolicy::default()
    };
    let auth = Authenticator::new(Registry::default(), users, auth_policy, runtime.clone());
    let mut route = RouteOptions::default();
    route.local_domains.insert("example.test".into());
    route
        .relocated
        .insert("moved@example.test".into(), "moved@elsewhere.test".into());
    let known: HashSet<String> = ["dave", "full", "small", "root"].map(String::from).into();
    let router = Router::new(route, AliasTable::default(), Arc::new(known));
    let collected = Arc::new(Mutex::new(Vec::new()));
    let sink: Arc<dyn MessageSink> = if let Some(q) = setup.queue {
        Arc::new(QueueSink::new(q).with_quota_check(store.clone()))
    } else if setup.collect {
        Arc::new(Collect(collected.clone()))
    } else {
        Arc::new(StoreSink::new(store.clone(), setup.store_sink_limit))
    };
    let (cert_pem, key_pem) =
        self_signed_pem(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    let server_tls = ServerTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let mut config = SmtpConfig::new(
        setup.mode,
        "mx.example.test",
        Arc::new(auth),
        Arc::new(Policy::new(setup.policy)),
        router,
        sink,
        runtime,
    );
    config.tls = match setup.tls {
        Tls::None => TlsMode::None,
        Tls::Starttls => TlsMode::StartTls(server_tls.clone()),
        Tls::Implicit => TlsMode::Implicit(server_tls.clone()),
    };
    (setup.tweak)(&mut config);
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limiter = ConnectionLimiter::new(setup.limits);
    let accepts = Arc::new(AtomicUsize::new(0));
    let counter = accepts.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            let limiter = limiter.clone();
            tokio::spawn(async move {
                match limiter.try_acquire(peer.ip()) {
                    Ok(_permit) => {
                        let _ = serve(tcp.compat(), peer, &config).await;
                    }
                    Err(e) => {
                        let _ = refuse(tcp.compat(), &e.to_string(), &config).await;
                    }
                }
            });
        }
    });
    Hub {
        addr,
        dir,
        cert,
        server_tls,
        collected,
        accepts,
        task,
    }
}

/// Runs a Python script with the port and the certificate path as arguments; returns its
/// stdout. The script fails the test by raising.
pub(crate) async fn python(hub: &Hub, script: &str) -> String {
    let child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(hub.addr.port().to_string())
        .arg(&hub.cert)
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

pub(crate) const PRELUDE: &str = r#"
import smtplib, ssl, sys
port = int(sys.argv[1]); cafile = sys.argv[2]
def ctx():
    c = ssl.create_default_context(cafile=cafile)
    return c
def expect(code, f, *a, **k):
    try:
        r = f(*a, **k)
    except smtplib.SMTPResponseException as e:
        assert e.smtp_code == code, (code, e.smtp_code, e.smtp_error)
        return e
    except smtplib.SMTPRecipientsRefused as e:
        got = list(e.recipients.values())[0][0]
        assert got == code, (code, e.recipients)
        return e
    raise AssertionError("expected %d, got %r" % (code, r))
"#;

/// Splits a delivered message into its trace header lines (Return-Path, Delivered-To,
/// Received with its continuation lines) and the rest.
pub(crate) fn split_trace(stored: &[u8]) -> (String, Vec<u8>) {
    let mut pos = 0;
    let mut in_received = false;
    while pos < stored.len() {
        let end = stored[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(stored.len(), |p| pos + p + 2);
        let line = &stored[pos..end];
        let trace = line.starts_with(b"Return-Path:")
            || line.starts_with(b"Delivered-To:")
            || line.starts_with(b"Received:");
        let cont = in_received && (line.starts_with(b"\t") || line.starts_with(b" "));
        if !(trace || cont) {
            break;
        }
        in_received = line.starts_with(b"Received:") || cont;
        pos = end;
    }
    (
        String::from_utf8_lossy(&stored[..pos]).into_owned(),
        stored[pos..].to_vec(),
    )
}
