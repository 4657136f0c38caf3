//! The queue's remote [`Transport`]: delivery of a batch to another host over SMTP
//! through a [`Connection`] of the client driver, with a cache of idle sessions.
//!
//! For each batch (one message, recipients of one remote domain) [`SmtpTransport`] finds the
//! hosts — the smart host ([`SmartHost`], Postfix `relayhost`), or the domain's MX hosts in
//! preference order with equal preferences shuffled, the domain itself as implicit MX
//! (RFC 5321 §5.1), none for a null MX (RFC 7505: a permanent failure, no fallback to the
//! address records) — and tries every address of every host in turn until one session runs
//! to the end of its transaction (RFC 5321 §4.5.4.1: on a connection failure or a
//! session-level refusal, the next address is tried; at most
//! [`SmtpTransport::with_max_addresses`] of them). When no host has an address at all the
//! domain cannot take mail (§5.1: "MUST be reported as an error"). Sockets belong to the
//! embedder's runtime, so connections come from a [`Connector`].
//!
//! One connection carries several messages (RFC 5321 §4.1.4), as Postfix's connection cache
//! does: after a message the session is reset (RSET) and kept idle for
//! [`ConnectionReuse::idle_time`]; the next batch for any host and address of the same
//! destination takes it. The cache holds at most [`ConnectionReuse::max_idle`] sessions, and
//! a session carries at most [`ConnectionReuse::max_messages`] messages over at most
//! [`ConnectionReuse::max_age`]. A cached session the server dropped meanwhile (it fails, or
//! answers 421, before any reply to the new transaction) is replaced by a fresh connection
//! without counting as a failed attempt. The crate spawns nothing: idle sessions past their
//! time are closed when the transport is next used, or by [`SmtpTransport::close_idle`].

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use mailhub_smtp_proto::client::Envelope;
use mailhub_smtp_proto::params::{Notify, Orcpt, Ret};
use mailhub_smtp_proto::{ForwardPath, MailParams, RcptParams, ReversePath};

pub(crate) use super::io::{Deadline, timeout};
use super::smtp_client::{
    Connection, DeliverError, DeliveryReport, FileBody, RcptStatus, SmtpClientConfig,
};
use crate::deliver::resolve::{ResolveError, Resolver, mail_hosts};
use crate::deliver::{DeliveryJob, Outcome, SmartHost, Transport};
use crate::queue;
use crate::route::Destination;

/// A byte stream a [`Connector`] opens.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// Opens TCP connections (with tokio: `TcpStream::connect(addr).await?.compat()`, boxed).
#[async_trait]
pub trait Connector: Send + Sync {
    /// Connects to `addr`.
    async fn connect(&self, addr: SocketAddr) -> io::Result<Box<dyn AsyncStream>>;
}

/// A client session over a connector's stream.
pub type ClientConnection = Connection<Box<dyn AsyncStream>>;

/// How sessions are reused for several messages (Postfix's `smtp_connection_cache_*` and
/// `smtp_connection_reuse_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionReuse {
    /// How long a session waits idle for the next message (zero: one message per
    /// connection). Short, so a remote server's resources are not held: 5 s by default.
    pub idle_time: Duration,
    /// Most idle sessions kept, over all destinations (16).
    pub max_idle: usize,
    /// Most messages one session carries (100).
    pub max_messages: u32,
    /// Longest life of a session that is reused (300 s).
    pub max_age: Duration,
}

impl Default for ConnectionReuse {
    fn default() -> Self {
        ConnectionReuse {
            idle_time: Duration::from_secs(5),
            max_idle: 16,
            max_messages: 100,
            max_age: Duration::from_secs(300),
        }
    }
}

impl ConnectionReuse {
    /// No reuse: QUIT after each message.
    pub const NEVER: ConnectionReuse = ConnectionReuse {
        idle_time: Duration::ZERO,
        max_idle: 0,
        max_messages: 1,
        max_age: Duration::ZERO,
    };
}

/// An idle session in the cache.
pub(crate) struct Idle {
    key: String,
    label: String,
    conn: ClientConnection,
    opened: Instant,
    idle_since: Instant,
}

impl Idle {
    /// A session just opened to `label` (the host) under `key`.
    pub(crate) fn new(key: &str, label: &str, opened: Instant, conn: ClientConnection) -> Idle {
        Idle {
            key: key.to_owned(),
            label: label.to_owned(),
            conn,
            opened,
            idle_since: opened,
        }
    }
}

/// Idle sessions by destination key (for SMTP the host name and the address: the TLS
/// certificate was checked against the name), with the reuse rules: the part of a transport
/// that carries several messages over one connection.
pub(crate) struct Sessions {
    reuse: ConnectionReuse,
    runtime: crate::runtime::SharedRuntime,
    idle: Mutex<Vec<Idle>>,
}

impl Sessions {
    pub(crate) fn new(reuse: ConnectionReuse, runtime: crate::runtime::SharedRuntime) -> Sessions {
        Sessions {
            reuse,
            runtime,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the sessions whose idle time or age is over (all of them with `all`).
    pub(crate) async fn sweep(&self, all: bool) {
        let now = Instant::now();
        let reuse = self.reuse;
        let old: Vec<Idle> = {
            let mut idle = self.lock();
            let (old, keep) = std::mem::take(&mut *idle).into_iter().partition(|i| {
                all || now.saturating_duration_since(i.idle_since) >= reuse.idle_time
                    || now.saturating_duration_since(i.opened) >= reuse.max_age
            });
            *idle = keep;
            old
        };
        for i in old {
            close(&*self.runtime, i.conn).await;
        }
    }

    /// Takes an idle session to one of `keys`, preferring the earliest.
    pub(crate) fn take(&self, keys: &[String]) -> Option<Idle> {
        let mut idle = self.lock();
        for key in keys {
            if let Some(i) = idle.iter().position(|i| &i.key == key) {
                return Some(idle.swap_remove(i));
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// After a transaction: parks the session for the next message, or closes it.
    async fn release(&self, key: &str, label: &str, opened: Instant, mut conn: ClientConnection) {
        let r = &self.reuse;
        let keep = !r.idle_time.is_zero()
            && r.max_idle > 0
            && conn.transactions() < r.max_messages
            && opened.elapsed() < r.max_age
            && conn.is_usable();
        if !keep || !conn.reset().await {
            close(&*self.runtime, conn).await;
            return;
        }
        let entry = Idle {
            key: key.to_owned(),
            label: label.to_owned(),
            conn,
            opened,
            idle_since: Instant::now(),
        };
        let evicted = {
            let mut idle = self.lock();
            let evicted = if idle.len() >= r.max_idle {
                (0..idle.len())
                    .min_by_key(|&i| idle[i].idle_since)
                    .map(|oldest| idle.swap_remove(oldest))
            } else {
                None
            };
            idle.push(entry);
            evicted
        };
        if let Some(old) = evicted {
            close(&*self.runtime, old.conn).await;
        }
    }

    /// Runs one transaction of `job` on `conn` and maps its results to outcomes (each
    /// prefixed with `label`, the host); the session is parked or closed afterwards. The
    /// error says whether a cached session had gone stale (then try a fresh one).
    pub(crate) async fn run(
        &self,
        session: Idle,
        job: &DeliveryJob,
        envelope: Envelope,
        cached: bool,
    ) -> Result<Vec<Outcome>, (DeliverError, bool)> {
        let Idle {
            key,
            label,
            mut conn,
            opened,
            ..
        } = session;
        let r = match FileBody::open(job.data.clone(), self.runtime.clone()).await {
            Ok(mut body) => conn.send(envelope, &mut body).await,
            Err(e) => Err(e.into()),
        };
        if cached && conn.went_stale() {
            tracing::debug!(%label, "cached session was closed by the server");
            return Err((
                io::Error::new(io::ErrorKind::NotConnected, "stale").into(),
                true,
            ));
        }
        match r {
            Ok(report) => {
                tracing::info!(id = %job.id.as_str(), %label, tls = report.tls, reused = cached, "relayed");
                let out = outcomes(&label, &report);
                self.release(&key, &label, opened, conn).await;
                Ok(out)
            }
            Err(e) => Err((e, false)),
        }
    }

    /// Delivers on an idle session to one of `keys`, if there is one: `None` when there is
    /// none or it had gone stale (then open a fresh one).
    pub(crate) async fn run_cached(
        &self,
        keys: &[String],
        job: &DeliveryJob,
        envelope: &Envelope,
    ) -> Option<Result<Vec<Outcome>, DeliverError>> {
        self.sweep(false).await;
        let session = self.take(keys)?;
        match self.run(session, job, envelope.clone(), true).await {
            Ok(out) => Some(Ok(out)),
            Err((_, true)) => None,
            Err((e, false)) => Some(Err(e)),
        }
    }
}

/// Delivers remote destinations over SMTP.
pub struct SmtpTransport {
    client: SmtpClientConfig,
    resolver: Arc<dyn Resolver>,
    connector: Arc<dyn Connector>,
    smart_host: Option<SmartHost>,
    port: u16,
    connect_timeout: Duration,
    max_addresses: usize,
    sessions: Sessions,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("smart_host", &self.smart_host)
            .field("port", &self.port)
            .field("reuse", &self.sessions.reuse)
            .finish_non_exhaustive()
    }
}

/// Closes a session politely (QUIT), but gives up after a second: the server may be gone.
async fn close(runtime: &dyn crate::runtime::Runtime, conn: ClientConnection) {
    let _ = timeout(runtime, Duration::from_secs(1), conn.quit()).await;
}

impl SmtpTransport {
    /// Delivery to MX hosts on port 25 with `client`'s options (its `server_name`, AUTH and
    /// implicit TLS are set per host; give it an opportunistic TLS configuration for MX
    /// delivery, RFC 7435), reusing sessions as [`ConnectionReuse::default`] says.
    pub fn new(
        client: SmtpClientConfig,
        resolver: Arc<dyn Resolver>,
        connector: Arc<dyn Connector>,
    ) -> SmtpTransport {
        SmtpTransport {
            resolver,
            connector,
            smart_host: None,
            port: 25,
            connect_timeout: Duration::from_secs(30),
            max_addresses: 20,
            sessions: Sessions::new(ConnectionReuse::default(), client.runtime.clone()),
            client,
        }
    }

    /// Sends everything to a smart host instead (port 465 means implicit TLS).
    pub fn with_smart_host(mut self, smart_host: SmartHost) -> SmtpTransport {
        self.smart_host = Some(smart_host);
        self
    }

    /// The port of MX hosts (25; tests use another).
    pub fn with_port(mut self, port: u16) -> SmtpTransport {
        self.port = port;
        self
    }

    /// The most addresses tried for one batch, over all MX hosts in order (20).
    pub fn with_max_addresses(mut self, max: usize) -> SmtpTransport {
        self.max_addresses = max;
        self
    }

    /// How long a connection may take to open (30 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> SmtpTransport {
        self.connect_timeout = timeout;
        self
    }

    /// How sessions are reused ([`ConnectionReuse::NEVER`]: one connection per message).
    pub fn with_reuse(mut self, reuse: ConnectionReuse) -> SmtpTransport {
        self.sessions = Sessions::new(reuse, self.client.runtime.clone());
        self
    }

    /// The idle sessions the cache holds now.
    pub fn idle_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Closes idle sessions: those past their idle time, or all of them with `all` (at
    /// shutdown). An embedder with a timer calls it now and then; otherwise expired sessions
    /// are closed at the next delivery.
    pub async fn close_idle(&self, all: bool) {
        self.sessions.sweep(all).await;
    }

    async fn hosts(&self, domain: &str) -> Result<(Vec<String>, u16), Outcome> {
        if let Some(s) = &self.smart_host {
            if s.no_mx {
                return Ok((vec![s.host.clone()], s.port));
            }
            return match mail_hosts(&*self.resolver, &s.host, seed()).await {
                Ok(h) => Ok((h, s.port)),
                Err(e) => Err(Outcome::Deferred(format!("451 4.4.3 smart host: {e}"))),
            };
        }
        match mail_hosts(&*self.resolver, domain, seed()).await {
            Ok(h) if h.is_empty() => Err(Outcome::Failed(format!(
                "556 5.1.10 {domain} accepts no mail (null MX)"
            ))),
            Ok(h) => Ok((h, self.port)),
            Err(ResolveError::NoSuchDomain(d)) => {
                Err(Outcome::Failed(format!("550 5.1.2 no such domain: {d}")))
            }
            Err(e) => Err(Outcome::Deferred(format!("451 4.4.3 {e}"))),
        }
    }

    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let mut ips = self.resolver.ip(host).await?;
        let mut seen = std::collections::HashSet::new();
        ips.retain(|ip| seen.insert(*ip));
        Ok(ips)
    }

    /// Every (host, address) to try, in order; or the outcome when there is none.
    async fn candidates(&self, domain: &str) -> Result<Vec<(String, SocketAddr)>, Outcome> {
        let (hosts, port) = self.hosts(domain).await?;
        let mut out = Vec::new();
        let mut temporary = None;
        for host in &hosts {
            match self.addresses(host).await {
                Ok(ips) => out.extend(
                    ips.into_iter()
                        .map(|ip| (host.clone(), SocketAddr::new(ip, port))),
                ),
                Err(e @ ResolveError::Temporary(_)) => temporary = Some(e),
                Err(_) => {}
            }
        }
        if out.is_empty() {
            return Err(match temporary {
                Some(e) => Outcome::Deferred(format!("451 4.4.3 {e}")),
                None => {
                    Outcome::Failed(format!("550 5.4.4 no mail host of {domain} has an address"))
                }
            });
        }
        // A domain with dozens of MX hosts must not hold a delivery for hours of connect
        // timeouts (Postfix's smtp_mx_address_limit does the same).
        out.truncate(self.max_addresses.max(1));
        Ok(out)
    }

    async fn open(&self, host: &str, addr: SocketAddr) -> Result<ClientConnection, DeliverError> {
        let rt = &*self.client.runtime;
        let stream = match timeout(rt, self.connect_timeout, self.connector.connect(addr)).await {
            Deadline::Done(s) => s?,
            Deadline::Expired => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect").into());
            }
        };
        let mut config = self.client.clone();
        config.server_name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if let Some(s) = &self.smart_host {
            config.implicit_tls = s.port == 465;
            if s.require_tls {
                config.options.starttls = mailhub_smtp_proto::client::TlsPolicy::Required;
            }
            if let (Some(u), Some(p)) = (&s.username, &s.password) {
                config.credentials = Some((u.clone(), p.clone()));
            }
        }
        Connection::open(stream, &config).await
    }
}

fn outcomes(host: &str, report: &DeliveryReport) -> Vec<Outcome> {
    report
        .recipients
        .iter()
        .map(|r| {
            let line = format!("{host}: {}", reply_line(&r.reply));
            match r.status {
                RcptStatus::Delivered => Outcome::Delivered(line),
                RcptStatus::Deferred => Outcome::Deferred(line),
                RcptStatus::Failed => Outcome::Failed(line),
            }
        })
        .collect()
}

/// A seed for shuffling MX hosts of equal preference.
fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into())
}

/// The client envelope of a batch: the queued sender, and each recipient's address for the
/// next hop (a remote destination's address, else the address as queued) with its NOTIFY
/// and ORCPT (RFC 3461), ENVID and RET passed on.
pub(crate) fn envelope(job: &DeliveryJob) -> Result<Envelope, String> {
    envelope_with(job, |r| match &r.destination {
        Destination::Remote(a) => a.clone(),
        _ => r.address.clone(),
    })
}

/// [`envelope`] with the recipient address chosen by `address`.
pub(crate) fn envelope_with(
    job: &DeliveryJob,
    address: impl Fn(&crate::deliver::JobRecipient) -> String,
) -> Result<Envelope, String> {
    let from = if job.sender.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::parse(&format!("<{}>", job.sender)).map_err(|e| e.to_string())?
    };
    let mut params = MailParams {
        envid: job.envid.clone(),
        ret: job.ret.map(|r| match r {
            queue::Ret::Full => Ret::Full,
            queue::Ret::Headers => Ret::Hdrs,
        }),
        size: Some(job.size),
        ..MailParams::default()
    };
    params.smtputf8 = !from.is_ascii();
    let mut recipients = Vec::with_capacity(job.recipients.len());
    for r in &job.recipients {
        let addr = address(r);
        let to = ForwardPath::parse(&format!("<{addr}>")).map_err(|e| e.to_string())?;
        params.smtputf8 |= !to.is_ascii();
        let rp = RcptParams {
            notify: r.notify.map(|n| Notify {
                success: n.success,
                failure: n.failure,
                delay: n.delay,
            }),
            orcpt: r.orcpt.as_ref().and_then(|o| {
                let (t, a) = o.split_once(';')?;
                Some(Orcpt {
                    addr_type: t.to_owned(),
                    address: a.to_owned(),
                })
            }),
            ..RcptParams::default()
        };
        recipients.push((to, rp));
    }
    Ok(Envelope {
        from,
        params,
        recipients,
    })
}

pub(crate) fn reply_line(r: &mailhub_smtp_proto::Reply) -> String {
    let text = r.text();
    match r.status() {
        Some(s) => format!("{} {s} {text}", r.code()),
        None => format!("{} {text}", r.code()),
    }
}

fn key(host: &str, addr: SocketAddr) -> String {
    format!("smtp:{host}:{addr}")
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        let n = job.recipients.len();
        let domain = job
            .recipients
            .first()
            .and_then(|r| r.destination.remote_domain())
            .unwrap_or_default();
        let envelope = match envelope(job) {
            Ok(e) => e,
            Err(e) => return vec![Outcome::Failed(format!("553 5.1.3 {e}")); n],
        };
        let candidates = match self.candidates(&domain).await {
            Ok(c) => c,
            Err(o) => return vec![o; n],
        };
        let keys: Vec<String> = candidates.iter().map(|(h, a)| key(h, *a)).collect();
        // A session left idle by an earlier message to this destination goes first.
        match self.sessions.run_cached(&keys, job, &envelope).await {
            Some(Ok(out)) => return out,
            Some(Err(e)) if e.is_permanent() => {
                return vec![Outcome::Failed(format!("554 5.0.0 {domain}: {e}")); n];
            }
            Some(Err(e)) => tracing::info!(%domain, error = %e, "cached session failed"),
            None => {}
        }
        // Like Postfix's smtp_skip_5xx_greeting: a host that refuses the session for good
        // (a 5yz greeting, a message it cannot take) does not stop the next from being tried;
        // the message fails only when every host refused it for good.
        let mut last = format!("451 4.4.1 no host of {domain} could be reached");
        let mut temporary = false;
        for ((host, addr), key) in candidates.iter().zip(&keys) {
            let opened = Instant::now();
            let attempt = match self.open(host, *addr).await {
                Ok(conn) => {
                    let session = Idle::new(key, host, opened, conn);
                    self.sessions
                        .run(session, job, envelope.clone(), false)
                        .await
                }
                Err(e) => Err((e, false)),
            };
            match attempt {
                Ok(out) => return out,
                Err((e, _)) => {
                    tracing::info!(%host, %addr, error = %e, "next hop failed");
                    if e.is_permanent() {
                        last = format!("554 5.0.0 {host}: {e}");
                    } else {
                        temporary = true;
                        last = format!("451 4.4.1 {host}: {e}");
                    }
                }
            }
        }
        if temporary {
            if last.starts_with('5') {
                last = format!("451 4.4.1 no host of {domain} took the message; last: {last}");
            }
            vec![Outcome::Deferred(last); n]
        } else {
            vec![Outcome::Failed(last); n]
        }
    }
}
