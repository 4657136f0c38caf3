//! The SMTP, submission and LMTP server driver over `mailhub-smtp-proto`'s server engine: one
//! driver, three configurations ([`SmtpMode`]).
//!
//! - **MTA** (port 25, RFC 5321): mail from anyone for local domains, relaying only as
//!   [`Policy`] allows (RFC 5321 §3.6.2, closed by default); STARTTLS (RFC 3207); AUTH
//!   (RFC 4954) for clients that relay through us.
//! - **Submission** (port 587, RFC 6409; or 465 with implicit TLS, RFC 8314 §3.3): AUTH is
//!   required before MAIL (530 5.7.0, RFC 6409 §4.3 and RFC 4954 §6), and the sender must belong
//!   to the authenticated user when the policy says so (RFC 6409 §6.1).
//! - **LMTP** (RFC 2033): LHLO, and after the content one reply per accepted recipient
//!   (§4.2), each from the sink's per-recipient result — a full mailbox is 452 for that
//!   recipient alone.
//!
//! Every decision goes through the shared services: [`Policy::check_client`] at connect,
//! [`Policy::check_helo`], [`Policy::check_sender`] at MAIL, [`Policy::check_recipient`] (which
//! routes through [`Router`]: unknown local user 550 5.1.1, relocated 551 5.1.6, relay denied
//! 554 5.7.1) and then [`MessageSink::check_recipient`] (a full mailbox: 452 4.2.2) at RCPT.
//! The content goes to the [`MessageSink`] behind a `Received:` field (RFC 5321 §4.4, with the
//! RFC 3848 protocol names ESMTPS/ESMTPA/ESMTPSA), and 250 is sent only after
//! [`MessageWriter::commit`] returned. When the policy has message hooks
//! ([`Policy::check_message`]: DKIM/DMARC, content filters) the content is held back — up to
//! [`PolicyOptions::max_hook_message`](policy::PolicyOptions::max_hook_message), then shown to
//! the hooks cut — and at its end (RFC 5321 §4.1.1.4, the last moment to refuse) the hooks
//! decide: the message is refused with their reply (5yz rejected, 4yz tempfailed), or goes to
//! the sink with the header fields they add (`Authentication-Results`, RFC 8601) on top.
//!
//! AUTH mechanisms are the authenticator's registry's, computed for "TLS possible"; the engine
//! offers AUTH before TLS only where the authenticator allows plaintext (loopback by default),
//! and the authenticator refuses a mechanism the channel does not allow.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::io::{AsyncRead, AsyncWrite};
use mailhub_sasl::{ChannelSecurity, ErrorKind, Secret};
use mailhub_smtp_proto::server::{Event, HeloKind, Server, ServerOptions};
use mailhub_smtp_proto::{EnhancedStatus, ForwardPath, Reply, ReplyCode, ReversePath};

use super::io::{Deadline, SessionId, handshake, in_span, read_until, refuse_with, write_all};
pub use super::pop3::TlsMode;
use super::smtp_sink::{Envelope, EnvelopeRecipient, MessageSink, MessageWriter, SinkError};
use crate::auth::{AuthError, Authenticator, ConnectionInfo, SaslExchange, SaslStep};
use crate::policy::{self, Client, HookVerdict, Policy, RcptVerdict, Verdict};
use crate::route::Router;
use crate::runtime::SharedRuntime;
use crate::tls::Stream;

/// Which service a listener runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpMode {
    /// An MTA (port 25).
    #[default]
    Mta,
    /// Message submission (port 587 or 465): AUTH before MAIL.
    Submission,
    /// LMTP (RFC 2033), over TCP or a Unix socket.
    Lmtp,
}

/// Everything an SMTP, submission or LMTP listener's sessions share.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Which service.
    pub mode: SmtpMode,
    /// Engine options: host name, extensions, limits, timeouts. The driver sets `lmtp`, `tls`,
    /// `extensions.starttls`, `extensions.auth` and `extensions.auth_requires_tls` itself
    /// for each connection, and lowers `limits.max_message_size` and
    /// `limits.max_recipients` to the policy's.
    pub options: ServerOptions,
    /// TLS.
    pub tls: TlsMode,
    /// The users.
    pub auth: Arc<Authenticator>,
    /// Relay control, access tables, limits.
    pub policy: Arc<Policy>,
    /// Recipient validation and routing.
    pub router: Router,
    /// Where accepted messages go.
    pub sink: Arc<dyn MessageSink>,
    /// Blocking work and timers.
    pub runtime: SharedRuntime,
    /// Longest wait for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Longest wait for the client to take a reply (a client that never reads).
    pub write_timeout: Duration,
    /// Size of one socket read.
    pub read_buffer: usize,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("mode", &self.mode)
            .field("options", &self.options)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// A configuration for `mode` with the usual extensions on (SIZE, PIPELINING, 8BITMIME,
    /// SMTPUTF8, DSN, ENHANCEDSTATUSCODES, CHUNKING), no TLS, and timeouts of 30 s for a
    /// handshake and 5 minutes for a write.
    pub fn new(
        mode: SmtpMode,
        hostname: &str,
        auth: Arc<Authenticator>,
        policy: Arc<Policy>,
        router: Router,
        sink: Arc<dyn MessageSink>,
        runtime: SharedRuntime,
    ) -> SmtpConfig {
        let mut options = ServerOptions::new(hostname);
        let e = &mut options.extensions;
        e.size = true;
        e.pipelining = true;
        e.eightbitmime = true;
        e.smtputf8 = true;
        e.dsn = true;
        e.enhanced_status_codes = true;
        e.chunking = true;
        SmtpConfig {
            mode,
            options,
            tls: TlsMode::None,
            auth,
            policy,
            router,
            sink,
            runtime,
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(300),
            read_buffer: 16 * 1024,
        }
    }
}

/// How a session ended, for the caller's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpEnd {
    /// The engine closed the session (QUIT, idle timeout, too many errors, a refusal).
    Closed,
    /// The client closed the connection or it broke.
    Disconnected,
}

/// Runs one SMTP (or LMTP) connection to its end. `peer` is the client's address (policy,
/// the plaintext rule, the failure limit, `Received:`, logs).
///
/// An accept loop is the POP3 driver's ([`super::pop3::serve`]) with [`serve`] and [`refuse`].
pub async fn serve<S>(stream: S, peer: SocketAddr, config: &SmtpConfig) -> io::Result<SmtpEnd>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let id = SessionId::next();
    let span = if config.mode == SmtpMode::Lmtp {
        tracing::info_span!("lmtp", session = %id, %peer)
    } else {
        tracing::info_span!("smtp", session = %id, %peer)
    };
    in_span(span, async move {
        tracing::debug!(mode = ?config.mode, "connected");
        Session::run(stream, peer, config, id).await
    })
    .await
}

/// Answers a connection refused by a connection limit with 421 4.7.0 and closes it
/// (RFC 5321 §3.8: the client tries again later).
pub async fn refuse<S>(stream: S, why: &str, config: &SmtpConfig) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let rt = &*config.runtime;
    let prefix = format!("421 4.7.0 {}", config.options.hostname);
    refuse_with(rt, stream, &prefix, why, config.write_timeout).await
}

/// A transaction in progress.
struct Tx {
    envelope: Envelope,
    discard: bool,
    writer: Option<Box<dyn MessageWriter>>,
    /// The first failure while writing content; the message is refused at its end.
    failed: Option<SinkError>,
    /// The content started (DATA's 354 or the first BDAT chunk accepted): later BDAT chunks
    /// belong to the same message even after a write failure.
    begun: bool,
    /// Submission only: the start of the content, held until its header block is complete so
    /// the missing `Date:`/`Message-ID:` can be added (RFC 6409 §8.2, §8.3); `None` once
    /// written (or in other modes).
    head: Option<Vec<u8>>,
    /// With message hooks: the content held for them (`None` once they ran).
    held: Option<Vec<u8>>,
    /// With message hooks: the `Received:` field, written with the held content.
    prefix: Vec<u8>,
    /// The message hooks refused the message with this reply.
    refused: Option<policy::Reply>,
}

/// The longest header block held back for the submission fix-ups; a longer one goes through
/// unchanged (bounded memory beats a fix-up).
const MAX_FIXUP_HEAD: usize = 64 * 1024;

/// Whether `head` holds a whole header block: its empty line has arrived.
fn header_complete(head: &[u8]) -> bool {
    head.starts_with(b"\n")
        || head.starts_with(b"\r\n")
        || head.windows(2).any(|w| w == b"\n\n")
        || head.windows(3).any(|w| w == b"\n\r\n")
}

struct Session<'a, S> {
    config: &'a SmtpConfig,
    id: SessionId,
    stream: Stream<S>,
    conn: ConnectionInfo,
    server: Server,
    client: Client,
    sasl: Option<SaslExchange>,
    tx: Option<Tx>,
    helo_discard: bool,
    esmtp: bool,
}

fn reply(code: u16, status: &str, text: &str) -> Reply {
    let status = EnhancedStatus::parse(status).ok();
    ReplyCode::new(code)
        .and_then(|c| Reply::new(c, status, text).ok())
        .unwrap_or_else(|| {
            Reply::new(
                ReplyCode::new(451).expect("451 is a reply code"),
                None,
                "Local error",
            )
            .expect("a valid reply")
        })
}

fn policy_reply(r: &policy::Reply) -> Reply {
    reply(r.code, &r.status, &r.text)
}

fn sink_reply(e: &SinkError) -> Reply {
    let (code, status, text) = e.reply_parts();
    reply(code, status, &text)
}

fn auth_reply(e: &AuthError) -> Reply {
    match e {
        AuthError::TooManyFailures => reply(454, "4.7.0", "Too many failed attempts, try later"),
        AuthError::EncryptionRequired => reply(538, "5.7.11", "Encryption required"),
        AuthError::Sasl(s) => match s.kind() {
            ErrorKind::Temporary => reply(454, "4.7.0", "Temporary authentication failure"),
            ErrorKind::EncryptionRequired => reply(538, "5.7.11", "Encryption required"),
            ErrorKind::Unsupported => reply(504, "5.5.4", "Mechanism not available"),
            ErrorKind::Syntax | ErrorKind::Cancelled => reply(501, "5.5.2", "Invalid exchange"),
            _ => reply(535, "5.7.8", "Authentication credentials invalid"),
        },
    }
}

/// A `UsageError` from the engine is a bug in this driver; it ends the session.
fn usage(e: mailhub_smtp_proto::UsageError) -> io::Error {
    io::Error::other(format!("SMTP driver bug: {e}"))
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin + Send> Session<'a, S> {
    async fn run(
        stream: S,
        peer: SocketAddr,
        config: &'a SmtpConfig,
        id: SessionId,
    ) -> io::Result<SmtpEnd> {
        let rt = &*config.runtime;
        let mut stream = Stream::Plain(stream);
        if let TlsMode::Implicit(tls) = &config.tls {
            stream = handshake(rt, config.handshake_timeout, stream, tls).await?;
            tracing::debug!(tls = ?stream.tls_summary(), "implicit TLS");
        }
        let conn = ConnectionInfo {
            peer,
            tls: stream.is_tls(),
            channel_binding: stream.channel_binding(),
        };
        let mut options = config.options.clone();
        let tls_possible = !matches!(config.tls, TlsMode::None);
        options.lmtp = config.mode == SmtpMode::Lmtp;
        options.tls = conn.tls;
        options.extensions.starttls = matches!(config.tls, TlsMode::StartTls(_));
        let possible = ChannelSecurity {
            tls: true,
            allow_plaintext: true,
            channel_binding: tls_possible,
        };
        options.extensions.auth = if options.lmtp {
            Vec::new()
        } else {
            config
                .auth
                .registry()
                .advertised(&possible)
                .iter()
                .map(|m| m.name().to_owned())
                .collect()
        };
        // Before TLS, AUTH only where plaintext passwords are allowed (loopback by default).
        options.extensions.auth_requires_tls = !config.auth.plaintext_allowed(&conn);
        let popts = config.policy.options();
        let limits = &mut options.limits;
        limits.max_message_size = limits.max_message_size.min(popts.max_message_size);
        limits.max_recipients = limits.max_recipients.min(popts.max_recipients);
        let server = Server::new(options, Instant::now());
        let mut s = Session {
            config,
            id,
            stream,
            conn,
            server,
            client: Client::new(peer.ip()),
            sasl: None,
            tx: None,
            helo_discard: false,
            esmtp: false,
        };
        let r = s.main_loop().await;
        s.abort_tx().await;
        r
    }

    async fn flush(&mut self) -> io::Result<()> {
        if let Some(out) = self.server.poll_transmit() {
            let rt = &*self.config.runtime;
            write_all(rt, &mut self.stream, &out, self.config.write_timeout).await?;
        }
        Ok(())
    }

    async fn main_loop(&mut self) -> io::Result<SmtpEnd> {
        let mut buf = vec![0u8; self.config.read_buffer.max(512)];
        loop {
            while let Some(ev) = self.server.poll_event() {
                self.event(ev).await?;
            }
            self.flush().await?;
            if self.server.is_closed() {
                return Ok(SmtpEnd::Closed);
            }
            let deadline = self.server.poll_timeout();
            let rt = &*self.config.runtime;
            match read_until(rt, &mut self.stream, &mut buf, deadline).await {
                Deadline::Done(Ok(0)) => {
                    tracing::debug!("client closed the connection");
                    return Ok(SmtpEnd::Disconnected);
                }
                Deadline::Done(Ok(n)) => {
                    self.server.handle_input(&buf[..n]);
                    self.server.handle_timeout(Instant::now());
                }
                Deadline::Done(Err(e)) => return Err(e),
                Deadline::Expired => self.server.handle_timeout(Instant::now()),
            }
        }
    }

    async fn decide(&mut self, verdict: Verdict) -> io::Result<bool> {
        match verdict {
            Verdict::Reject(r) => {
                self.server.reject(policy_reply(&r)).map_err(usage)?;
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    async fn event(&mut self, ev: Event) -> io::Result<()> {
        match ev {
            Event::Connect => {
                let v = self.config.policy.check_client(&self.client).await;
                if self.decide(v).await? {
                    self.server.accept().map_err(usage)?;
                } else {
                    tracing::info!("connection refused by policy");
                }
            }
            Event::Hello { host, kind } => {
                let name = host.to_string();
                self.esmtp = kind != HeloKind::Helo;
                match self.config.policy.check_helo(&self.client, &name) {
                    Verdict::Reject(r) => self.server.reject(policy_reply(&r)).map_err(usage)?,
                    v => {
                        self.helo_discard = v == Verdict::Discard;
                        self.client.helo = Some(name);
                        self.server.accept().map_err(usage)?;
                    }
                }
            }
            Event::Auth {
                mechanism,
                initial_response,
            } => {
                match self
                    .config
                    .auth
                    .start_sasl(&self.conn, &mechanism, false)
                    .await
                {
                    Ok(ex) => {
                        self.sasl = Some(ex);
                        let ir = initial_response.map(|s| Secret::new(s.expose().clone()));
                        self.sasl_step(ir).await?;
                    }
                    Err(e) => self.server.reject(auth_reply(&e)).map_err(usage)?,
                }
            }
            Event::AuthResponse(r) => {
                self.sasl_step(Some(Secret::new(r.expose().clone())))
                    .await?;
            }
            Event::AuthCancelled => self.sasl = None,
            Event::Mail { from, params } => self.mail(from, params).await?,
            Event::Rcpt { to, params } => self.rcpt(to, params).await?,
            Event::DataStart => {
                if self.begin(false).await? {
                    self.server.accept().map_err(usage)?;
                }
            }
            Event::BdatStart { .. } => {
                let started = self.tx.as_ref().is_some_and(|t| t.begun);
                if started || self.begin(true).await? {
                    self.server.accept().map_err(usage)?;
                }
            }
            Event::BodyChunk(chunk) => self.body(&chunk).await,
            Event::MessageEnd { .. } => self.message_end().await?,
            Event::MessageRejected(r) => {
                tracing::info!(reply = %r.text(), "message refused by the engine");
                self.abort_tx().await;
            }
            Event::Reset => self.abort_tx().await,
            Event::StartTls => self.start_tls().await?,
            Event::Vrfy(_) | Event::Expn(_) => {
                self.server
                    .reject(reply(502, "5.5.1", "Not implemented"))
                    .map_err(usage)?;
            }
            other => tracing::warn!(event = ?other, "unhandled SMTP event"),
        }
        Ok(())
    }

    async fn sasl_step(&mut self, input: Option<Secret<Vec<u8>>>) -> io::Result<()> {
        let Some(mut ex) = self.sasl.take() else {
            return self
                .server
                .reject(reply(503, "5.5.1", "No authentication in progress"))
                .map_err(usage);
        };
        match self.config.auth.step(&mut ex, input).await {
            Ok(SaslStep::Challenge(c)) => {
                self.sasl = Some(ex);
                self.server.auth_challenge(&c).map_err(usage)
            }
            Ok(SaslStep::Success { user, .. }) => {
                self.client.authenticated = Some(user);
                self.server.auth_success().map_err(usage)
            }
            Err(e) => self.server.reject(auth_reply(&e)).map_err(usage),
        }
    }

    async fn mail(
        &mut self,
        from: ReversePath,
        params: mailhub_smtp_proto::MailParams,
    ) -> io::Result<()> {
        if self.config.mode == SmtpMode::Submission && self.client.authenticated.is_none() {
            return self
                .server
                .reject(reply(530, "5.7.0", "Authentication required"))
                .map_err(usage);
        }
        let sender = match &from {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.to_string(),
        };
        let v = self
            .config
            .policy
            .check_sender(&self.client, &sender, params.size, Instant::now())
            .await;
        let discard = match v {
            Verdict::Reject(r) => {
                tracing::info!(%sender, reply = %r, "sender refused");
                return self.server.reject(policy_reply(&r)).map_err(usage);
            }
            v => v == Verdict::Discard || self.helo_discard,
        };
        self.tx = Some(Tx {
            envelope: Envelope {
                sender,
                params,
                recipients: Vec::new(),
                client_ip: self.client.ip,
                helo: self.client.helo.clone(),
                authenticated: self.client.authenticated.clone(),
                tls: self.conn.tls,
            },
            discard,
            writer: None,
            failed: None,
            begun: false,
            head: None,
            held: None,
            prefix: Vec::new(),
            refused: None,
        });
        self.server.accept().map_err(usage)
    }

    async fn rcpt(
        &mut self,
        to: ForwardPath,
        params: mailhub_smtp_proto::RcptParams,
    ) -> io::Result<()> {
        let Some(tx) = self.tx.as_mut() else {
            return self
                .server
                .reject(reply(503, "5.5.1", "MAIL first"))
                .map_err(usage);
        };
        let address = match &to {
            ForwardPath::Postmaster => "postmaster".to_owned(),
            ForwardPath::Mailbox(m) => m.to_string(),
        };
        let count = tx.envelope.recipients.len();
        let v = self
            .config
            .policy
            .check_recipient(
                &self.client,
                &tx.envelope.sender,
                &address,
                count,
                &self.config.router,
                Instant::now(),
            )
            .await;
        let destinations = match v {
            RcptVerdict::Accept(d) => d,
            RcptVerdict::Reject(r) => {
                tracing::info!(rcpt = %address, reply = %r, "recipient refused");
                return self.server.reject(policy_reply(&r)).map_err(usage);
            }
            // DISCARD (or /dev/null): accepted, delivered nowhere.
            _ => Vec::new(),
        };
        let size = tx.envelope.params.size;
        if let Err(e) = self.config.sink.check_recipient(&destinations, size).await {
            tracing::info!(rcpt = %address, error = %e, "recipient refused by the sink");
            return self.server.reject(sink_reply(&e)).map_err(usage);
        }
        tx.envelope.recipients.push(EnvelopeRecipient {
            address,
            destinations,
            params,
        });
        self.server.accept().map_err(usage)
    }

    /// The `Received:` field (RFC 5321 §4.4; protocol names from RFC 3848).
    fn received(&self, env: &Envelope) -> Vec<u8> {
        let opts = self.server.options();
        let proto = match (
            self.config.mode,
            self.esmtp,
            env.tls,
            env.authenticated.is_some(),
        ) {
            (SmtpMode::Lmtp, ..) => "LMTP",
            (_, false, _, _) => "SMTP",
            (_, true, false, false) => "ESMTP",
            (_, true, true, false) => "ESMTPS",
            (_, true, false, true) => "ESMTPA",
            (_, true, true, true) => "ESMTPSA",
        };
        let helo = env.helo.as_deref().unwrap_or("unknown");
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let date = mail_builder::headers::date::Date::new(secs as i64).to_rfc822();
        let mut h = format!(
            "Received: from {helo} ([{}])\r\n\tby {} with {proto} id {}",
            env.client_ip, opts.hostname, self.id
        );
        // RFC 8314 §4.3 asks for the TLS version and cipher in the trace field.
        if let Some(tls) = self.stream.tls_summary() {
            h.push_str(&format!("\r\n\t(using {tls})"));
        }
        if let [only] = env.recipients.as_slice() {
            h.push_str(&format!("\r\n\tfor <{}>", only.address));
        }
        h.push_str(&format!("; {date}\r\n"));
        // Nothing the client chose may break the header (the engine already checked HELO).
        h.retain(|c| c != '\0');
        h.into_bytes()
    }

    /// Starts the content: opens the sink's writer and writes `Received:`. Returns whether
    /// the DATA/BDAT may go on (otherwise the refusal was sent). A refused first BDAT chunk
    /// fails the whole message: the client may have pipelined the later chunks (RFC 3030 §2),
    /// which must not become a truncated message of their own.
    async fn begin(&mut self, bdat: bool) -> io::Result<bool> {
        let Some(tx) = self.tx.as_ref() else {
            self.server
                .reject(reply(503, "5.5.1", "MAIL first"))
                .map_err(usage)?;
            return Ok(false);
        };
        if tx.discard
            || tx
                .envelope
                .recipients
                .iter()
                .all(|r| r.destinations.is_empty())
        {
            if let Some(tx) = self.tx.as_mut() {
                tx.begun = true;
            }
            return Ok(true);
        }
        let header = self.received(&tx.envelope);
        let started = self.config.sink.begin(&tx.envelope).await;
        let tx = self.tx.as_mut().expect("checked above");
        let hooks = self.config.policy.has_message_hooks();
        match started {
            Ok(w) if hooks => {
                // The trace field goes in with the held content, below the hooks' fields.
                tx.writer = Some(w);
                tx.begun = true;
                tx.prefix = header;
                tx.held = Some(Vec::new());
                if self.config.mode == SmtpMode::Submission {
                    tx.head = Some(Vec::new());
                }
                Ok(true)
            }
            Ok(mut w) => {
                if let Err(e) = w.write(&header).await {
                    w.abort().await;
                    self.server.reject(sink_reply(&e)).map_err(usage)?;
                    if bdat {
                        tx.begun = true;
                        tx.failed = Some(e);
                    }
                    return Ok(false);
                }
                tx.writer = Some(w);
                tx.begun = true;
                if self.config.mode == SmtpMode::Submission {
                    tx.head = Some(Vec::new());
                }
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "sink refused the message");
                self.server.reject(sink_reply(&e)).map_err(usage)?;
                if bdat {
                    tx.begun = true;
                    tx.failed = Some(e);
                }
                Ok(false)
            }
        }
    }

    async fn body(&mut self, chunk: &[u8]) {
        let Some(tx) = self.tx.as_mut() else { return };
        if tx.failed.is_some() || tx.refused.is_some() {
            return;
        }
        if let Some(head) = tx.head.as_mut() {
            head.extend_from_slice(chunk);
            let complete = header_complete(head);
            if complete || head.len() > MAX_FIXUP_HEAD {
                self.write_head(complete).await;
            }
            return;
        }
        self.emit(chunk).await;
    }

    /// Passes content on: into the hooks' hold while they have not run, else to the writer.
    async fn emit(&mut self, data: &[u8]) {
        let limit = self.config.policy.options().max_hook_message;
        let Some(tx) = self.tx.as_mut() else { return };
        if tx.failed.is_some() || tx.refused.is_some() {
            return;
        }
        if let Some(held) = tx.held.as_mut() {
            held.extend_from_slice(data);
            if held.len() > limit {
                self.run_hooks(false).await;
            }
            return;
        }
        self.write_sink(data).await;
    }

    /// Writes to the sink's writer; a failure refuses the message at its end.
    async fn write_sink(&mut self, data: &[u8]) {
        let Some(tx) = self.tx.as_mut() else { return };
        if let Some(w) = tx.writer.as_mut()
            && let Err(e) = w.write(data).await
        {
            tx.failed = Some(e);
            if let Some(w) = tx.writer.take() {
                w.abort().await;
            }
        }
    }

    /// Runs the message hooks over the held content (`complete`: all of it), then writes
    /// their header fields, the `Received:` field and the content, or drops the message
    /// when they refuse it.
    async fn run_hooks(&mut self, complete: bool) {
        let limit = self.config.policy.options().max_hook_message;
        let trusted = self.config.policy.may_relay(&self.client);
        let Some(tx) = self.tx.as_mut() else { return };
        let Some(held) = tx.held.take() else { return };
        let recipients: Vec<String> = tx
            .envelope
            .recipients
            .iter()
            .map(|r| r.address.clone())
            .collect();
        let env = &tx.envelope;
        let message = policy::HookMessage {
            client_ip: env.client_ip,
            helo: env.helo.as_deref().unwrap_or(""),
            sender: &env.sender,
            recipients: &recipients,
            authenticated: env.authenticated.as_deref(),
            trusted,
            message: &held[..held.len().min(limit)],
            complete,
        };
        let mut out = Vec::with_capacity(held.len() + tx.prefix.len() + 256);
        match self.config.policy.check_message(&message).await {
            HookVerdict::Reject(r) => {
                tracing::info!(reply = %r, "message refused by a message hook");
                tx.refused = Some(r);
                if let Some(w) = tx.writer.take() {
                    w.abort().await;
                }
                return;
            }
            HookVerdict::AddHeaders(fields) => {
                for f in fields {
                    out.extend_from_slice(f.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => {}
        }
        out.append(&mut tx.prefix);
        // RFC 8601 §5: results that claim to be ours, from a client outside our trust
        // boundary, are forgeries.
        let ids = self.config.policy.authserv_ids();
        match (trusted, policy::strip_authentication_results(&held, &ids)) {
            (false, Some(stripped)) => out.extend_from_slice(&stripped),
            _ => out.extend_from_slice(&held),
        }
        self.write_sink(&out).await;
    }

    /// Writes the held-back start of a submitted message, after the fix-up fields when `fix`
    /// (RFC 6409 §8.2, §8.3).
    async fn write_head(&mut self, fix: bool) {
        let Some(tx) = self.tx.as_mut() else { return };
        let Some(head) = tx.head.take() else { return };
        let mut out = Vec::new();
        if fix {
            let now = SystemTime::now();
            // Unique across sessions and restarts: the time, the session, the transaction.
            let nanos = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let unique = format!("{nanos:x}.{}", self.id);
            out = policy::submission_fixups(&head, &self.server.options().hostname, &unique, now);
        }
        out.extend_from_slice(&head);
        self.emit(&out).await;
    }

    async fn abort_tx(&mut self) {
        if let Some(tx) = self.tx.take()
            && let Some(w) = tx.writer
        {
            w.abort().await;
        }
    }

    async fn message_end(&mut self) -> io::Result<()> {
        let ok = |t: &Tx| t.failed.is_none() && t.refused.is_none();
        if self.tx.as_ref().is_some_and(|t| t.head.is_some() && ok(t)) {
            // A message that is all header (or empty) ends here.
            self.write_head(true).await;
        }
        if self.tx.as_ref().is_some_and(|t| t.held.is_some() && ok(t)) {
            self.run_hooks(true).await;
        }
        let Some(mut tx) = self.tx.take() else {
            return self
                .server
                .reject(reply(503, "5.5.1", "No transaction"))
                .map_err(usage);
        };
        let n = tx.envelope.recipients.len();
        let lmtp = self.config.mode == SmtpMode::Lmtp;
        if let Some(r) = tx.refused.take() {
            if let Some(w) = tx.writer.take() {
                w.abort().await;
            }
            let r = policy_reply(&r);
            return if lmtp {
                self.server.lmtp_replies(vec![r; n]).map_err(usage)
            } else {
                self.server.reject(r).map_err(usage)
            };
        }
        let result = match (tx.failed.take(), tx.writer.take()) {
            (Some(e), w) => {
                if let Some(w) = w {
                    w.abort().await;
                }
                Err(e)
            }
            (None, Some(w)) => w.commit().await,
            (None, None) => Ok(super::smtp_sink::Committed {
                id: "discarded".into(),
                recipients: vec![Ok(()); n],
            }),
        };
        let committed = match result {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "message not accepted");
                let r = sink_reply(&e);
                return if lmtp {
                    self.server.lmtp_replies(vec![r; n]).map_err(usage)
                } else {
                    self.server.reject(r).map_err(usage)
                };
            }
        };
        let id = committed.id;
        let ok = reply(250, "2.0.0", &format!("OK queued as {id}"));
        let mut results = committed.recipients;
        // A sink that reports fewer results than recipients lost track of some: retry them.
        results.resize(
            n,
            Err(SinkError::Temporary("no result from the sink".into())),
        );
        tracing::info!(
            id,
            from = %tx.envelope.sender,
            recipients = n,
            failed = results.iter().filter(|r| r.is_err()).count(),
            "message accepted"
        );
        if lmtp {
            let replies = results
                .iter()
                .map(|r| match r {
                    Ok(()) => ok.clone(),
                    Err(e) => sink_reply(e),
                })
                .collect();
            return self.server.lmtp_replies(replies).map_err(usage);
        }
        // One reply for all: a temporary failure of any recipient makes the client retry
        // the whole message (a duplicate for the others beats a lost copy); only when every
        // recipient failed for good is the message refused for good.
        let temp = results.iter().find_map(|r| match r {
            Err(e @ (SinkError::Temporary(_) | SinkError::OverQuota { permanent: false })) => {
                Some(e.clone())
            }
            _ => None,
        });
        if let Some(e) = temp {
            return self.server.reject(sink_reply(&e)).map_err(usage);
        }
        if n > 0 && results.iter().all(|r| r.is_err()) {
            let e = results[0].clone().unwrap_err();
            return self.server.reject(sink_reply(&e)).map_err(usage);
        }
        self.server.accept_with(ok).map_err(usage)
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        self.flush().await?;
        let TlsMode::StartTls(tls) = &self.config.tls else {
            return Err(io::Error::other("STARTTLS without a TLS configuration"));
        };
        let plain = std::mem::replace(&mut self.stream, Stream::Closed);
        let rt = &*self.config.runtime;
        self.stream = handshake(rt, self.config.handshake_timeout, plain, tls).await?;
        tracing::debug!(tls = ?self.stream.tls_summary(), "STARTTLS done");
        self.conn.tls = true;
        self.conn.channel_binding = self.stream.channel_binding();
        // RFC 3207 §4.2: everything learnt before TLS is forgotten.
        self.sasl = None;
        self.client.helo = None;
        self.client.authenticated = None;
        self.abort_tx().await;
        self.server.tls_established().map_err(usage)
    }
}
