//! The queue's remote [`Transport`]: delivery of a batch to another host over SMTP (or LMTP)
//! through [`smtp_client::deliver`](super::smtp_client::deliver).
//!
//! For each batch (one message, recipients of one remote domain) [`SmtpTransport`] finds the
//! hosts — the smart host ([`SmartHost`], Postfix `relayhost`), or the domain's MX hosts in
//! preference order with equal preferences shuffled, the domain itself as implicit MX
//! (RFC 5321 §5.1), none for a null MX (RFC 7505) — and tries their addresses in turn until
//! one session runs to the end of its transaction (RFC 5321 §4.5.4.1: on a connection failure
//! or a session-level refusal, the next host is tried). Sockets belong to the embedder's
//! runtime, so connections come from a [`Connector`].

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use mailhub_smtp_proto::client::Envelope;
use mailhub_smtp_proto::params::{Notify, Orcpt, Ret};
use mailhub_smtp_proto::{ForwardPath, MailParams, RcptParams, ReversePath};

use super::io::{Deadline, timeout};
use super::smtp_client::{
    DeliverError, DeliveryReport, FileBody, RcptStatus, SmtpClientConfig, deliver,
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

/// Delivers remote destinations over SMTP.
pub struct SmtpTransport {
    client: SmtpClientConfig,
    resolver: Arc<dyn Resolver>,
    connector: Arc<dyn Connector>,
    smart_host: Option<SmartHost>,
    port: u16,
    connect_timeout: Duration,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("smart_host", &self.smart_host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// Delivery to MX hosts on port 25 with `client`'s options (its `server_name`, AUTH and
    /// implicit TLS are set per host; give it an opportunistic TLS configuration for MX
    /// delivery, RFC 7435).
    pub fn new(
        client: SmtpClientConfig,
        resolver: Arc<dyn Resolver>,
        connector: Arc<dyn Connector>,
    ) -> SmtpTransport {
        SmtpTransport {
            client,
            resolver,
            connector,
            smart_host: None,
            port: 25,
            connect_timeout: Duration::from_secs(30),
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

    async fn addresses(&self, host: &str) -> Vec<IpAddr> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return vec![ip];
        }
        self.resolver.ip(host).await.unwrap_or_default()
    }

    async fn attempt(
        &self,
        host: &str,
        addr: SocketAddr,
        job: &DeliveryJob,
    ) -> Result<DeliveryReport, DeliverError> {
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
        let envelope = envelope(job).map_err(DeliverError::Unsupported)?;
        let mut body = FileBody::open(job.data.clone(), self.client.runtime.clone()).await?;
        deliver(stream, &config, envelope, &mut body).await
    }
}

/// A seed for shuffling MX hosts of equal preference.
fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into())
}

/// The client envelope of a batch: the queued sender, and each recipient's remote address
/// with its NOTIFY and ORCPT (RFC 3461), ENVID and RET passed on.
fn envelope(job: &DeliveryJob) -> Result<Envelope, String> {
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
        let addr = match &r.destination {
            Destination::Remote(a) => a.clone(),
            _ => r.address.clone(),
        };
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

fn reply_line(r: &mailhub_smtp_proto::Reply) -> String {
    let text = r.text();
    match r.status() {
        Some(s) => format!("{} {s} {text}", r.code()),
        None => format!("{} {text}", r.code()),
    }
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
        let (hosts, port) = match self.hosts(&domain).await {
            Ok(h) => h,
            Err(o) => return vec![o; n],
        };
        let mut last = format!("451 4.4.1 no host of {domain} could be reached");
        for host in &hosts {
            for ip in self.addresses(host).await {
                let addr = SocketAddr::new(ip, port);
                match self.attempt(host, addr, job).await {
                    Ok(report) => {
                        tracing::info!(id = %job.id.as_str(), %host, %addr, tls = report.tls, "relayed");
                        return report
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
                            .collect();
                    }
                    Err(e) if e.is_permanent() => {
                        return vec![Outcome::Failed(format!("554 5.0.0 {host}: {e}")); n];
                    }
                    Err(e) => {
                        tracing::info!(%host, %addr, error = %e, "next hop failed");
                        last = format!("451 4.4.1 {host}: {e}");
                    }
                }
            }
        }
        vec![Outcome::Deferred(last); n]
    }
}
