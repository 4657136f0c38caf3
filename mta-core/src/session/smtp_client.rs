//! The SMTP and LMTP client driver: delivers messages to a next hop over
//! `mailhub-smtp-proto`'s client engine.
//!
//! [`deliver`] runs one connection for one message; a [`Connection`] carries several
//! (RFC 5321 §4.1.4: RSET between them), which the transports' connection cache keeps idle
//! between batches. A session runs: greeting, EHLO (HELO fallback) or LHLO, STARTTLS
//! (RFC 3207; opportunistic by default, required when [`ClientOptions::starttls`] says so,
//! with the rustls client configuration of [`crate::tls::client_config`]), AUTH for a smart host
//! (RFC 4954, the strongest mechanism both sides can run, chosen by [`mailhub_sasl::client::choose`];
//! `-PLUS` mechanisms get the `tls-exporter` channel binding, RFC 9266), the transaction
//! pipelined when offered (RFC 2920), the content streamed from a [`BodySource`] in chunks, and
//! QUIT. The result is one [`RecipientResult`] per envelope recipient — 2xx delivered, 4xx
//! deferred, 5xx failed, with the server's reply (and its RFC 3463 enhanced code) — which a
//! queue turns into a retry or a bounce. Failures of the whole session (connection, greeting,
//! TLS, AUTH) are a [`DeliverError`], whose [`DeliverError::is_permanent`] says whether to
//! retry.
//!
//! In LMTP mode (RFC 2033 §4.2) each accepted recipient gets its own reply after the content.
//!
//! A session that sat idle may have been dropped by the server (a timeout, a restart): when a
//! transaction fails before any reply of it, or is answered only by 421,
//! [`Connection::went_stale`] says so, and resending on a fresh connection cannot duplicate
//! the message.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use mailhub_sasl::{ClientCredentials, ClientSession, Mechanism, Secret};
use mailhub_smtp_proto::client::{Client, ClientOptions, Envelope, Event};
use mailhub_smtp_proto::{ClientError, Reply, ReplyCode, UsageError};
use rustls_pki_types::ServerName;
use tracing::Instrument;

use super::io::{Deadline, SessionId, read_until, timeout, write_all};
use crate::runtime::{SharedRuntime, unblock};
use crate::tls::Stream;

/// How to reach and talk to one next hop.
#[derive(Clone)]
pub struct SmtpClientConfig {
    /// Engine options: HELO name, LMTP, STARTTLS policy, pipelining, chunking, timeouts.
    pub options: ClientOptions,
    /// The TLS client configuration for STARTTLS or implicit TLS; `None` never uses TLS
    /// (and fails when [`ClientOptions::starttls`] requires it).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// TLS from the first byte (port 465, RFC 8314 §3.3).
    pub implicit_tls: bool,
    /// The name the server's certificate must carry (and SNI).
    pub server_name: String,
    /// AUTH user name and password (a smart host); `None`: no AUTH.
    pub credentials: Option<(String, Secret<String>)>,
    /// Whether a mechanism that exposes the password (PLAIN, LOGIN) may run without TLS
    /// (loopback only).
    pub allow_plaintext_auth: bool,
    /// Blocking work and timers.
    pub runtime: SharedRuntime,
    /// Longest wait for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Longest wait for the server to take our bytes.
    pub write_timeout: Duration,
}

impl std::fmt::Debug for SmtpClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClientConfig")
            .field("options", &self.options)
            .field("implicit_tls", &self.implicit_tls)
            .field("server_name", &self.server_name)
            .field("auth", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

impl SmtpClientConfig {
    /// A configuration with the engine's defaults (opportunistic STARTTLS when `tls` is
    /// given), no AUTH, 30 s for a handshake and 5 minutes for a write.
    pub fn new(
        options: ClientOptions,
        tls: Option<Arc<rustls::ClientConfig>>,
        server_name: impl Into<String>,
        runtime: SharedRuntime,
    ) -> SmtpClientConfig {
        SmtpClientConfig {
            options,
            tls,
            implicit_tls: false,
            server_name: server_name.into(),
            credentials: None,
            allow_plaintext_auth: false,
            runtime,
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(300),
        }
    }
}

/// The content of a message to send, in chunks.
#[async_trait]
pub trait BodySource: Send {
    /// The next chunk; `None` at the end.
    async fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>>;
}

/// A message in memory, sent in chunks of 64 KiB.
#[derive(Debug, Clone)]
pub struct BytesBody {
    data: Vec<u8>,
    pos: usize,
}

impl BytesBody {
    /// A body of these octets.
    pub fn new(data: Vec<u8>) -> BytesBody {
        BytesBody { data, pos: 0 }
    }
}

#[async_trait]
impl BodySource for BytesBody {
    async fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let end = (self.pos + 64 * 1024).min(self.data.len());
        let chunk = self.data[self.pos..end].to_vec();
        self.pos = end;
        Ok(Some(chunk))
    }
}

/// A message in a file (a queue's spool file), read in chunks of 64 KiB on the blocking pool.
pub struct FileBody {
    file: Option<std::fs::File>,
    runtime: SharedRuntime,
}

impl std::fmt::Debug for FileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBody").finish_non_exhaustive()
    }
}

impl FileBody {
    /// Opens `path` (on the blocking pool).
    pub async fn open(path: std::path::PathBuf, runtime: SharedRuntime) -> io::Result<FileBody> {
        let file = unblock(&*runtime, move || std::fs::File::open(path)).await?;
        Ok(FileBody {
            file: Some(file),
            runtime,
        })
    }
}

#[async_trait]
impl BodySource for FileBody {
    async fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(mut file) = self.file.take() else {
            return Ok(None);
        };
        let (file, r) = unblock(&*self.runtime, move || {
            use std::io::Read;
            let mut buf = vec![0u8; 64 * 1024];
            let r = file.read(&mut buf).map(|n| {
                buf.truncate(n);
                buf
            });
            (file, r)
        })
        .await;
        let buf = r?;
        if buf.is_empty() {
            return Ok(None);
        }
        self.file = Some(file);
        Ok(Some(buf))
    }
}

/// What became of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcptStatus {
    /// Accepted for delivery (2yz after the content).
    Delivered,
    /// Try again later (4yz, or no answer).
    Deferred,
    /// Refused for good (5yz): bounce.
    Failed,
}

/// One recipient's result, with the server's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// Delivered, deferred or failed.
    pub status: RcptStatus,
    /// The reply that decided it (RCPT's when refused there, else the content's).
    pub reply: Reply,
}

impl RecipientResult {
    fn from_reply(reply: Reply) -> RecipientResult {
        let status = match reply.code().class() {
            2 => RcptStatus::Delivered,
            5 => RcptStatus::Failed,
            _ => RcptStatus::Deferred,
        };
        RecipientResult { status, reply }
    }
}

/// The outcome of a session that ran to the end of the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// One result per envelope recipient, in order.
    pub recipients: Vec<RecipientResult>,
    /// Whether TLS protected the transaction.
    pub tls: bool,
    /// Whether AUTH succeeded.
    pub authenticated: bool,
    /// The SASL mechanism AUTH used.
    pub mechanism: Option<Mechanism>,
}

/// Why no recipient got a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The connection failed or broke.
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    /// The server refused the session in its greeting.
    #[error("greeting refused: {}", .0.text())]
    Greeting(Reply),
    /// The server broke the protocol, timed out, or lacks a required extension (STARTTLS).
    #[error("protocol: {0}")]
    Protocol(#[from] ClientError),
    /// AUTH was refused.
    #[error("authentication refused: {}", .0.text())]
    AuthFailed(Reply),
    /// Credentials are configured but no offered mechanism can be used on this channel, or
    /// the server did not prove itself at the end of SCRAM.
    #[error("authentication not possible: {0}")]
    AuthUnavailable(String),
    /// TLS is required but no TLS configuration was given.
    #[error("TLS required but not configured")]
    TlsNotConfigured,
    /// The next hop cannot take this message: it needs an extension the server does not
    /// offer (SMTPUTF8 for a non-ASCII address, BINARYMIME), or it is larger than the
    /// server's SIZE (RFC 1870 §6).
    #[error("the server cannot take this message: {0}")]
    Unsupported(String),
}

impl DeliverError {
    /// Whether retrying is pointless (a 5yz greeting or AUTH refusal); everything else is a
    /// temporary failure of this attempt.
    pub fn is_permanent(&self) -> bool {
        match self {
            DeliverError::Greeting(r) | DeliverError::AuthFailed(r) => r.code().class() == 5,
            DeliverError::Unsupported(_) => true,
            _ => false,
        }
    }
}

fn synthetic(code: u16, status: &str, text: &str) -> Reply {
    let code = ReplyCode::new(code).expect("a valid code");
    Reply::new(
        code,
        mailhub_smtp_proto::EnhancedStatus::parse(status).ok(),
        text,
    )
    .expect("a valid reply")
}

/// Delivers one message over `stream` (already connected to the next hop) and returns each
/// recipient's result: [`Connection::open`], [`Connection::send`] and [`Connection::quit`]
/// in one call.
///
/// A queue's `Transport` calls it once per batch: connect (MX order, or the smart host),
/// build the [`Envelope`] from the job's sender and recipients (NOTIFY/ORCPT/ENVID/RET as
/// parameters when the server offers DSN), open the spool file as a [`FileBody`], and map
/// [`RcptStatus`] to its outcomes; a [`DeliverError`] defers every recipient (or fails them
/// when [`DeliverError::is_permanent`]).
pub async fn deliver<S>(
    stream: S,
    config: &SmtpClientConfig,
    envelope: Envelope,
    body: &mut dyn BodySource,
) -> Result<DeliveryReport, DeliverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut c = Connection::open(stream, config).await?;
    let r = c.send(envelope, body).await;
    if r.is_ok() {
        c.quit().await;
    }
    r
}

/// One session with a next hop that can carry several messages (RFC 5321 §4.1.4: after a
/// transaction, or after RSET, the session takes another MAIL).
///
/// [`open`](Connection::open) runs the greeting, EHLO/LHLO, STARTTLS and AUTH;
/// [`send`](Connection::send) runs one transaction; [`reset`](Connection::reset) sends RSET
/// and says whether the session can take another (a connection cache keeps it idle then);
/// [`quit`](Connection::quit) ends it. After a [`DeliverError`] the session is over.
pub struct Connection<S> {
    d: Delivery<S>,
    span: tracing::Span,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.d.config.server_name)
            .field("transactions", &self.d.transactions)
            .field("closed", &self.d.client.is_closed())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Opens a session over `stream` (connected to the next hop): greeting, EHLO (HELO
    /// fallback) or LHLO, STARTTLS, AUTH when `config` has credentials.
    pub async fn open(stream: S, config: &SmtpClientConfig) -> Result<Connection<S>, DeliverError> {
        let id = SessionId::next();
        let span = tracing::info_span!("smtp_client", session = %id, server = %config.server_name);
        let d = Delivery::open(stream, config.clone())
            .instrument(span.clone())
            .await;
        match d {
            Ok(d) => Ok(Connection { d, span }),
            Err(e) => {
                span.in_scope(|| tracing::info!(error = %e, "session failed"));
                Err(e)
            }
        }
    }

    /// Runs one transaction: MAIL, RCPT for each recipient, the content from `body`.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        body: &mut dyn BodySource,
    ) -> Result<DeliveryReport, DeliverError> {
        let span = self.span.clone();
        async move {
            let r = self.d.transaction(envelope, body).await;
            match &r {
                Ok(rep) => tracing::info!(
                    delivered = rep
                        .recipients
                        .iter()
                        .filter(|r| r.status == RcptStatus::Delivered)
                        .count(),
                    recipients = rep.recipients.len(),
                    tls = rep.tls,
                    transaction = self.d.transactions,
                    "delivery attempt done"
                ),
                Err(e) => tracing::info!(error = %e, "delivery attempt failed"),
            }
            r
        }
        .instrument(span)
        .await
    }

    /// Sends RSET and waits for its reply; returns whether the session can take another
    /// transaction (250 to RSET, the connection still open).
    pub async fn reset(&mut self) -> bool {
        let span = self.span.clone();
        self.d.reset().instrument(span).await
    }

    /// Sends QUIT and waits (within the engine's command timeout) for the server to close.
    pub async fn quit(mut self) {
        let span = self.span.clone();
        async move {
            let _ = self.d.client.quit();
            self.d.goal = Goal::Closed;
            let _ = self.d.main_loop(&mut BytesBody::new(Vec::new())).await;
        }
        .instrument(span)
        .await;
    }

    /// Whether the session can take a transaction now.
    pub fn is_usable(&self) -> bool {
        self.d.error.is_none() && !self.d.client.is_closed()
    }

    /// Whether the last [`send`](Connection::send) failed before the server answered
    /// anything of its transaction, or was answered only by 421: a session that had been
    /// idle and that the server had meanwhile dropped. Resending on a fresh connection cannot
    /// duplicate the message.
    pub fn went_stale(&self) -> bool {
        self.d.stale
    }

    /// The transactions this session ran.
    pub fn transactions(&self) -> u32 {
        self.d.transactions
    }
}

/// What the read loop runs until.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// EHLO, STARTTLS and AUTH done.
    Ready,
    /// The transaction's results are in.
    Done,
    /// RSET answered.
    Reset,
    /// The session is over.
    Closed,
}

struct Delivery<S> {
    config: SmtpClientConfig,
    stream: Stream<S>,
    client: Client,
    goal: Goal,
    ready: bool,
    envelope: Option<Envelope>,
    results: Vec<Option<Reply>>,
    sasl: Option<Arc<Mutex<ClientSession>>>,
    authenticated: bool,
    mechanism: Option<Mechanism>,
    /// A chunk the engine could not take yet (BDAT without PIPELINING).
    pending: Option<Vec<u8>>,
    finish_pending: bool,
    done: bool,
    /// The reply to RSET: whether it was positive.
    reset: Option<bool>,
    /// Events of the current transaction so far (stale-session detection).
    answers: usize,
    stale: bool,
    transactions: u32,
    error: Option<DeliverError>,
}

fn usage(e: mailhub_smtp_proto::UsageError) -> DeliverError {
    DeliverError::Io(io::Error::other(format!("SMTP client driver bug: {e}")))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Delivery<S> {
    async fn open(stream: S, config: SmtpClientConfig) -> Result<Delivery<S>, DeliverError> {
        let mut stream = Stream::Plain(stream);
        let mut options = config.options.clone();
        if config.implicit_tls {
            stream = Self::handshake(&config, stream).await?;
            options.tls = true;
        }
        let mut d = Delivery {
            config,
            stream,
            client: Client::new(options, Instant::now()),
            goal: Goal::Ready,
            ready: false,
            envelope: None,
            results: Vec::new(),
            sasl: None,
            authenticated: false,
            mechanism: None,
            pending: None,
            finish_pending: false,
            done: false,
            reset: None,
            answers: 0,
            stale: false,
            transactions: 0,
            error: None,
        };
        d.main_loop(&mut BytesBody::new(Vec::new())).await?;
        if let Some(e) = d.error.take() {
            return Err(e);
        }
        if !d.ready {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "session closed").into());
        }
        Ok(d)
    }

    async fn transaction(
        &mut self,
        envelope: Envelope,
        body: &mut dyn BodySource,
    ) -> Result<DeliveryReport, DeliverError> {
        if self.error.is_some() || self.client.is_closed() {
            self.stale = true;
            return Err(io::Error::new(io::ErrorKind::NotConnected, "session closed").into());
        }
        let n = envelope.recipients.len();
        self.results = vec![None; n];
        self.pending = None;
        self.finish_pending = false;
        self.done = false;
        self.answers = 0;
        self.stale = false;
        self.transactions += 1;
        self.goal = Goal::Done;
        self.envelope = Some(envelope);
        self.send_mail()?;
        let r = self.main_loop(body).await;
        if let Err(e) = r {
            self.stale = self.answers == 0;
            self.error = Some(DeliverError::Io(io::Error::other("session failed")));
            return Err(e);
        }
        if let Some(e) = self.error.take() {
            self.stale = self.answers == 0;
            self.error = Some(DeliverError::Io(io::Error::other("session failed")));
            return Err(e);
        }
        if !self.done {
            self.stale = self.answers == 0;
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "session closed").into());
        }
        let lost = synthetic(451, "4.4.2", "No reply for this recipient");
        Ok(DeliveryReport {
            recipients: std::mem::take(&mut self.results)
                .into_iter()
                .map(|r| RecipientResult::from_reply(r.unwrap_or_else(|| lost.clone())))
                .collect(),
            tls: self.client.is_tls(),
            authenticated: self.authenticated,
            mechanism: self.mechanism.filter(|_| self.authenticated),
        })
    }

    async fn reset(&mut self) -> bool {
        if self.error.is_some() || self.client.reset().is_err() {
            return false;
        }
        self.reset = None;
        self.goal = Goal::Reset;
        let ok = self
            .main_loop(&mut BytesBody::new(Vec::new()))
            .await
            .is_ok();
        ok && self.error.is_none() && self.reset == Some(true) && !self.client.is_closed()
    }

    async fn handshake(
        config: &SmtpClientConfig,
        stream: Stream<S>,
    ) -> Result<Stream<S>, DeliverError> {
        let tls = config.tls.clone().ok_or(DeliverError::TlsNotConfigured)?;
        let name = ServerName::try_from(config.server_name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let connector = futures_rustls::TlsConnector::from(tls);
        let rt = &*config.runtime;
        match timeout(
            rt,
            config.handshake_timeout,
            stream.connect(&connector, name),
        )
        .await
        {
            Deadline::Done(s) => Ok(s?),
            Deadline::Expired => {
                Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake").into())
            }
        }
    }

    async fn flush(&mut self) -> Result<(), DeliverError> {
        if let Some(out) = self.client.poll_transmit() {
            let rt = &*self.config.runtime;
            write_all(rt, &mut self.stream, &out, self.config.write_timeout).await?;
        }
        Ok(())
    }

    fn goal_met(&self) -> bool {
        match self.goal {
            Goal::Ready => self.ready,
            Goal::Done => self.done,
            Goal::Reset => self.reset.is_some(),
            Goal::Closed => false,
        }
    }

    async fn main_loop(&mut self, body: &mut dyn BodySource) -> Result<(), DeliverError> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(ev) = self.client.poll_event() {
                self.event(ev, body).await?;
            }
            self.flush().await?;
            if self.client.is_closed() || (self.error.is_none() && self.goal_met()) {
                return Ok(());
            }
            let deadline = self.client.poll_timeout();
            let rt = &*self.config.runtime;
            match read_until(rt, &mut self.stream, &mut buf, deadline).await {
                Deadline::Done(Ok(0)) => {
                    if self.goal == Goal::Closed || self.error.is_some() {
                        return Ok(());
                    }
                    return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
                }
                Deadline::Done(Ok(n)) => {
                    self.client.handle_input(&buf[..n]);
                    self.client.handle_timeout(Instant::now());
                }
                Deadline::Done(Err(e)) => return Err(e.into()),
                Deadline::Expired => self.client.handle_timeout(Instant::now()),
            }
        }
    }

    fn fail(&mut self, e: DeliverError) -> Result<(), DeliverError> {
        if self.error.is_none() && !(self.goal == Goal::Done && self.done) {
            self.error = Some(e);
        }
        // QUIT may be refused when the session is already closing; either way it ends.
        let _ = self.client.quit();
        Ok(())
    }

    async fn event(&mut self, ev: Event, body: &mut dyn BodySource) -> Result<(), DeliverError> {
        match ev {
            Event::Greeting(r) if !r.code().is_positive_completion() => {
                self.fail(DeliverError::Greeting(r))?;
            }
            Event::Greeting(_) => {}
            Event::Reply(r) => {
                if self.goal == Goal::Reset {
                    self.reset = Some(r.code().is_positive_completion());
                }
            }
            Event::Ready(caps) => {
                if self.config.credentials.is_some() && !self.authenticated {
                    self.start_auth(&caps.auth)?;
                } else {
                    self.ready = true;
                }
            }
            Event::StartTls => {
                self.flush().await?;
                let plain = std::mem::replace(&mut self.stream, Stream::Closed);
                self.stream = Self::handshake(&self.config, plain).await?;
                tracing::debug!(tls = ?self.stream.tls_summary(), "STARTTLS done");
                self.client.tls_established().map_err(usage)?;
            }
            Event::Authenticated => {
                let verified = self
                    .sasl
                    .take()
                    .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).finish(None));
                if let Some(Err(e)) = verified {
                    return self.fail(DeliverError::AuthUnavailable(e.to_string()));
                }
                self.authenticated = true;
                self.ready = true;
            }
            Event::AuthFailed(r) => self.fail(DeliverError::AuthFailed(r))?,
            Event::RcptResult { index, reply } => {
                self.answers += 1;
                if let Some(slot) = self.results.get_mut(index) {
                    *slot = Some(reply);
                }
            }
            Event::BodyReady => self.pump(body).await?,
            Event::MessageResult(replies) => {
                self.answers += 1;
                for (i, r) in replies {
                    if let Some(slot) = self.results.get_mut(i) {
                        *slot = Some(r);
                    }
                }
                self.done = true;
            }
            Event::MessageFailed(r) => {
                // A 421 as the first answer of a transaction is a server that gave up on an
                // idle session: nothing of this message reached it.
                if !(self.answers == 0 && r.code().value() == 421) {
                    self.answers += 1;
                }
                // Recipients refused at RCPT keep that reply; the others share this one.
                for slot in &mut self.results {
                    if slot
                        .as_ref()
                        .is_none_or(|s| s.code().is_positive_completion())
                    {
                        *slot = Some(r.clone());
                    }
                }
                self.done = true;
                self.stale = self.answers == 0;
            }
            Event::Error(e) => self.fail(DeliverError::Protocol(e))?,
            Event::Closed => {}
            other => tracing::warn!(event = ?other, "unhandled SMTP client event"),
        }
        Ok(())
    }

    fn send_mail(&mut self) -> Result<(), DeliverError> {
        let Some(mut env) = self.envelope.take() else {
            return Ok(());
        };
        // Parameters the server does not offer are dropped where that loses nothing the
        // message needs: SIZE is advisory, and DSN requests end here (RFC 3461 §4: the queue
        // reports such recipients as relayed), as do MT-PRIORITY and BY.
        let caps = self.client.capabilities().clone();
        let p = &mut env.params;
        if caps.size.is_none() {
            p.size = None;
        }
        if !caps.dsn {
            p.ret = None;
            p.envid = None;
            for (_, r) in &mut env.recipients {
                r.notify = None;
                r.orcpt = None;
            }
        }
        if !caps.mt_priority {
            p.mt_priority = None;
        }
        if caps.deliverby.is_none() {
            p.by = None;
        }
        if caps.auth.is_empty() {
            p.auth = None;
        }
        match self.client.send_mail(env) {
            Ok(()) => Ok(()),
            Err(e @ (UsageError::NotOffered(_) | UsageError::TooBig { .. })) => {
                self.fail(DeliverError::Unsupported(e.to_string()))
            }
            Err(e) => Err(usage(e)),
        }
    }

    fn start_auth(&mut self, offered: &[String]) -> Result<(), DeliverError> {
        let Some((user, password)) = &self.config.credentials else {
            return Ok(());
        };
        let mut creds = ClientCredentials::password(user.clone(), password.expose().clone());
        creds.channel_binding = self.stream.channel_binding();
        let tls = self.client.is_tls();
        let allow = self.config.allow_plaintext_auth;
        let Some(mech) =
            mailhub_sasl::client::choose(offered.iter().map(String::as_str), &creds, tls, allow)
        else {
            return self.fail(DeliverError::AuthUnavailable(format!(
                "no usable mechanism among {offered:?}"
            )));
        };
        let mut session = match ClientSession::new(mech, creds) {
            Ok(s) => s,
            Err(e) => return self.fail(DeliverError::AuthUnavailable(e.to_string())),
        };
        let ir = match session.start(true) {
            Ok(ir) => ir,
            Err(e) => return self.fail(DeliverError::AuthUnavailable(e.to_string())),
        };
        let shared = Arc::new(Mutex::new(session));
        let stepper = shared.clone();
        let step = Box::new(move |challenge: &[u8]| {
            stepper
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .step(challenge)
                .map_err(|e| e.to_string())
        });
        self.sasl = Some(shared);
        self.mechanism = Some(mech);
        tracing::debug!(mechanism = mech.name(), "AUTH");
        let ir = ir.map(mailhub_smtp_proto::Secret::new);
        self.client
            .authenticate(Mechanism::name(mech), ir, step)
            .map_err(usage)
    }

    /// Sends content until the source ends or the engine wants a reply first.
    async fn pump(&mut self, body: &mut dyn BodySource) -> Result<(), DeliverError> {
        if self.finish_pending {
            if self.client.finish_body().is_ok() {
                self.finish_pending = false;
            }
            return Ok(());
        }
        loop {
            let chunk = match self.pending.take() {
                Some(c) => Some(c),
                None => body.next_chunk().await?,
            };
            let Some(chunk) = chunk else {
                if self.client.finish_body().is_err() {
                    self.finish_pending = true;
                }
                return Ok(());
            };
            if self.client.send_body(&chunk).is_err() {
                self.pending = Some(chunk);
                return Ok(());
            }
            self.flush().await?;
        }
    }
}
