//! LMTP as a queue transport (RFC 2033): [`LmtpTransport`] hands each batch to an LMTP server
//! — another store such as Dovecot or Cyrus, or our own LMTP listener — over TCP or a Unix
//! socket.
//!
//! The session is the SMTP client driver's in LMTP mode: LHLO (§4.1), the transaction
//! pipelined when PIPELINING is offered, and after the content one reply per recipient the
//! server accepted at RCPT (§4.2). Each reply becomes that recipient's [`Outcome`]: 2yz
//! delivered, 4yz deferred (a full mailbox waits in the queue), 5yz failed; a recipient
//! refused at RCPT keeps that reply. A session that fails as a whole (no connection, a
//! refused greeting) defers every recipient, or fails them when the failure is permanent.
//! Sessions are reused for the next batch as [`ConnectionReuse`] says, like the SMTP
//! transport's (RSET between messages, §4.1 keeps RFC 5321's transaction model).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mailhub_smtp_proto::client::TlsPolicy;

use super::{DeliveryJob, JobRecipient, Outcome, Transport};
use crate::route::Destination;
use crate::session::smtp_client::{Connection, DeliverError, SmtpClientConfig};
use crate::session::smtp_transport::{
    AsyncStream, ConnectionReuse, Deadline, Idle, Sessions, envelope_with, timeout,
};

/// Where the LMTP server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LmtpTarget {
    /// A TCP address (LMTP must not use port 25, RFC 2033 §5).
    Tcp(SocketAddr),
    /// A Unix socket (Dovecot's `/var/run/dovecot/lmtp`).
    Unix(PathBuf),
}

impl std::fmt::Display for LmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LmtpTarget::Tcp(a) => write!(f, "lmtp:{a}"),
            LmtpTarget::Unix(p) => write!(f, "lmtp:unix:{}", p.display()),
        }
    }
}

/// Opens connections to an [`LmtpTarget`] (sockets belong to the embedder's runtime; with
/// tokio: `TcpStream::connect` or `UnixStream::connect`, then `.compat()`, boxed).
#[async_trait]
pub trait LmtpConnector: Send + Sync {
    /// Connects to `target`.
    async fn connect(&self, target: &LmtpTarget) -> io::Result<Box<dyn AsyncStream>>;
}

/// [`LmtpConnector`] over tokio's sockets.
#[cfg(feature = "tokio")]
struct TokioLmtp;

#[cfg(feature = "tokio")]
#[async_trait]
impl LmtpConnector for TokioLmtp {
    async fn connect(&self, target: &LmtpTarget) -> io::Result<Box<dyn AsyncStream>> {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        match target {
            LmtpTarget::Tcp(a) => Ok(Box::new(tokio::net::TcpStream::connect(a).await?.compat())),
            #[cfg(unix)]
            LmtpTarget::Unix(p) => Ok(Box::new(tokio::net::UnixStream::connect(p).await?.compat())),
            #[cfg(not(unix))]
            LmtpTarget::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets need a Unix system",
            )),
        }
    }
}

/// How each recipient is named in RCPT TO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LmtpRecipient {
    /// The address as queued (RCPT TO of the incoming message): what Dovecot and Cyrus
    /// expect when they know the domains.
    #[default]
    Address,
    /// The local user the address was routed to (after aliases), with `+detail` when routing
    /// chose a folder, at the queued address's domain (`user+detail@domain`; LMTP takes
    /// RFC 5321 paths, so a domain is needed): for a store that knows users, not aliases.
    User,
}

/// Delivers batches over LMTP.
pub struct LmtpTransport {
    client: SmtpClientConfig,
    target: LmtpTarget,
    connector: Arc<dyn LmtpConnector>,
    recipient: LmtpRecipient,
    connect_timeout: Duration,
    sessions: Sessions,
}

impl std::fmt::Debug for LmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmtpTransport")
            .field("target", &self.target)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

impl LmtpTransport {
    /// LMTP to `target` with `client`'s options (LMTP mode is set here; without a TLS
    /// configuration STARTTLS is not tried), reusing sessions as
    /// [`ConnectionReuse::default`] says.
    pub fn new(
        mut client: SmtpClientConfig,
        target: LmtpTarget,
        connector: Arc<dyn LmtpConnector>,
    ) -> LmtpTransport {
        client.options.lmtp = true;
        if client.tls.is_none() && client.options.starttls == TlsPolicy::Opportunistic {
            client.options.starttls = TlsPolicy::Never;
        }
        if client.server_name.is_empty() {
            client.server_name = match &target {
                LmtpTarget::Tcp(a) => a.ip().to_string(),
                LmtpTarget::Unix(_) => "localhost".into(),
            };
        }
        let sessions = Sessions::new(ConnectionReuse::default(), client.runtime.clone());
        LmtpTransport {
            client,
            target,
            connector,
            recipient: LmtpRecipient::default(),
            connect_timeout: Duration::from_secs(30),
            sessions,
        }
    }

    /// LMTP to `target` over tokio's TCP and Unix sockets (feature `tokio`): what the hub
    /// runner uses.
    #[cfg(feature = "tokio")]
    pub fn on_tokio(client: SmtpClientConfig, target: LmtpTarget) -> LmtpTransport {
        LmtpTransport::new(client, target, Arc::new(TokioLmtp))
    }

    /// How recipients are named.
    pub fn with_recipient(mut self, recipient: LmtpRecipient) -> LmtpTransport {
        self.recipient = recipient;
        self
    }

    /// How sessions are reused ([`ConnectionReuse::NEVER`]: one connection per batch).
    pub fn with_reuse(mut self, reuse: ConnectionReuse) -> LmtpTransport {
        self.sessions = Sessions::new(reuse, self.client.runtime.clone());
        self
    }

    /// The idle sessions kept now.
    pub fn idle_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Closes idle sessions past their idle time, or all of them with `all`.
    pub async fn close_idle(&self, all: bool) {
        self.sessions.sweep(all).await;
    }

    fn name(&self, r: &JobRecipient) -> String {
        match (&self.recipient, &r.destination) {
            (LmtpRecipient::User, Destination::Local { user, folder }) => {
                let domain = r.address.rsplit_once('@').map_or("localhost", |(_, d)| d);
                match folder {
                    Some(f) => format!("{user}+{f}@{domain}"),
                    None => format!("{user}@{domain}"),
                }
            }
            (_, Destination::Remote(a)) => a.clone(),
            _ => r.address.clone(),
        }
    }

    async fn open(&self) -> Result<Connection<Box<dyn AsyncStream>>, DeliverError> {
        let rt = &*self.client.runtime;
        let connect = self.connector.connect(&self.target);
        let stream = match timeout(rt, self.connect_timeout, connect).await {
            Deadline::Done(s) => s?,
            Deadline::Expired => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect").into());
            }
        };
        Connection::open(stream, &self.client).await
    }
}

#[async_trait]
impl Transport for LmtpTransport {
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        let n = job.recipients.len();
        let envelope = match envelope_with(job, |r| self.name(r)) {
            Ok(e) => e,
            Err(e) => return vec![Outcome::Failed(format!("553 5.1.3 {e}")); n],
        };
        let key = self.target.to_string();
        let failed = |e: DeliverError| {
            if e.is_permanent() {
                vec![Outcome::Failed(format!("554 5.0.0 {key}: {e}")); n]
            } else {
                vec![Outcome::Deferred(format!("451 4.4.1 {key}: {e}")); n]
            }
        };
        match self
            .sessions
            .run_cached(std::slice::from_ref(&key), job, &envelope)
            .await
        {
            Some(Ok(out)) => return out,
            Some(Err(e)) => return failed(e),
            None => {}
        }
        let opened = Instant::now();
        let conn = match self.open().await {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(target = %key, error = %e, "LMTP server unavailable");
                return failed(e);
            }
        };
        let session = Idle::new(&key, &key, opened, conn);
        match self.sessions.run(session, job, envelope, false).await {
            Ok(out) => out,
            Err((e, _)) => failed(e),
        }
    }
}
