//! The IMAP server driver (RFC 3501, RFC 9051), over `mailhub-imap-proto`'s server engine,
//! with STARTTLS (RFC 9051 §6.2.1), implicit TLS on port 993 (RFC 8314 §3.3), SASL-IR
//! (RFC 4959), IDLE (RFC 2177), QUOTA (RFC 9208), QRESYNC (RFC 7162 §3.2), WITHIN
//! (RFC 5032) and UNAUTHENTICATE (RFC 8437).
//!
//! [`serve`] runs one connection: the engine parses and answers, this driver decides. LOGIN
//! and AUTHENTICATE go through the shared [`Authenticator`]; before TLS the engine announces
//! `LOGINDISABLED` and hides PLAIN/LOGIN unless the authenticator's plaintext policy allows
//! this peer (loopback by default, RFC 9051 §11.1). SCRAM-…-PLUS gets the TLS connection's
//! `tls-exporter` channel binding. The engine's mailbox questions (SELECT, FETCH's message
//! octets, APPEND, STORE, COPY/MOVE, EXPUNGE, CREATE/DELETE/RENAME/SUBSCRIBE, LIST, STATUS,
//! QUOTA) are answered from the user's [`UserStore`] (see `mailbox.rs`).
//!
//! Changes made by other sessions (and deliveries) to the selected mailbox reach this one
//! through the store's [`Subscription`]: the driver waits on it
//! together with the socket, so IDLE reports a delivery at once without polling the disk, and
//! NOOP reports what arrived meanwhile (RFC 3501 §7.4.1 decides when; the engine enforces it).
//!
//! The engine is given the time of day before each input, for SEARCH OLDER/YOUNGER
//! (RFC 5032 §3). UNAUTHENTICATE (RFC 8437 §3) drops the user's store, the watch on the
//! selected mailbox, any SASL exchange and APPEND in progress: the next login, maybe as
//! another user, starts from nothing. QRESYNC's "what was expunged since mod-sequence m"
//! goes to [`UserStore::expunged_since`]; a store without that history answers `None` and
//! the engine reports the client's known UIDs that are gone (RFC 7162 §3.2.5).
//!
//! Limits: an APPEND larger than [`ImapConfig::max_append`] is refused with `[TOOBIG]` before
//! any of its octets are read (RFC 7889); the engine logs out a client idle for longer than
//! its login timeout or its autologout timer (at least 30 minutes once authenticated,
//! RFC 3501 §5.4); a client that does not read its responses for
//! [`ImapConfig::write_timeout`] is disconnected; connections per listener and per address
//! are counted by [`ConnectionLimiter`](super::ConnectionLimiter) and refused with [`refuse`].

mod convert;
mod mailbox;
mod spool;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::{Either, select};
use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{CloseReason, Server, ServerEvent, ServerOptions};
use mailhub_sasl::{ChannelSecurity, ErrorKind, Secret};

use super::io::{SessionId, handshake, in_span, refuse_with, write_all};
use crate::auth::{AuthError, Authenticator, ConnectionInfo, SaslExchange, SaslStep};
use crate::runtime::SharedRuntime;
use crate::store::{Change, MailStore, Subscription, UserStore};
use crate::tls::Stream;

pub use super::pop3::TlsMode;

/// Everything an IMAP listener's sessions share.
#[derive(Clone)]
pub struct ImapConfig {
    /// Engine options: greeting, limits, capabilities. The driver sets `tls`, `starttls`,
    /// `allow_plaintext`, `sasl_mechanisms` and `quota` itself for each connection.
    /// [`ImapConfig::new`] also turns on QRESYNC, WITHIN and UNAUTHENTICATE, which this
    /// driver serves with any store; a listener may turn them off again.
    pub options: ServerOptions,
    /// TLS.
    pub tls: TlsMode,
    /// The users.
    pub auth: Arc<Authenticator>,
    /// The mail.
    pub store: Arc<dyn MailStore>,
    /// Blocking work and timers.
    pub runtime: SharedRuntime,
    /// Longest wait for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Longest wait for the client to take a response (a client that never reads).
    pub write_timeout: Duration,
    /// Size of one socket read.
    pub read_buffer: usize,
    /// Largest message APPEND takes (all messages of a MULTIAPPEND together); a larger one
    /// is refused with `[TOOBIG]` unread.
    pub max_append: u64,
    /// Directory where APPEND messages over 64 KiB are written while they arrive, so they
    /// never sit whole in memory (the Maildir store moves them in without reading them);
    /// `None` keeps them in memory until the command completes.
    pub append_spool: Option<std::path::PathBuf>,
    /// Largest message FETCH or SEARCH reads into memory to render; a larger one is answered
    /// as unavailable. A FETCH of nothing but the whole message (`BODY[]`, `RFC822`) is
    /// streamed instead and has no such limit.
    pub max_fetch: u64,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("options", &self.options)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .field("max_append", &self.max_append)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// A configuration with the engine's default options plus QRESYNC (RFC 7162), WITHIN
    /// (RFC 5032) and UNAUTHENTICATE (RFC 8437), no TLS, timeouts of 30 s for a handshake
    /// and 5 minutes for a write, and 32 MiB messages at most.
    pub fn new(
        store: Arc<dyn MailStore>,
        auth: Arc<Authenticator>,
        runtime: SharedRuntime,
    ) -> ImapConfig {
        // Every store can answer QRESYNC: one without expunge history says so
        // (`UserStore::expunged_since` returns `None`) and the engine falls back to the
        // client's known UIDs that are gone (RFC 7162 §3.2.5).
        let mut options = ServerOptions::default();
        options.qresync = true;
        options.within = true;
        options.unauthenticate = true;
        ImapConfig {
            options,
            tls: TlsMode::None,
            auth,
            store,
            runtime,
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(300),
            read_buffer: 4 * 1024,
            max_append: 32 * 1024 * 1024,
            append_spool: None,
            max_fetch: 64 * 1024 * 1024,
        }
    }
}

/// How a session ended, for the caller's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImapEnd {
    /// The engine closed the session (LOGOUT, autologout, too many errors …).
    Closed(CloseReason),
    /// The client closed the connection or it broke.
    Disconnected,
}

/// Runs one IMAP connection to its end. `peer` is the client's address (for the plaintext
/// policy, the failure limit and logs). An accept loop looks like the POP3 one
/// ([`super::pop3::serve`]) with [`ImapConfig`] and this module's [`serve`] and [`refuse`].
pub async fn serve<S>(stream: S, peer: SocketAddr, config: &ImapConfig) -> io::Result<ImapEnd>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let id = SessionId::next();
    let span = tracing::info_span!("imap", session = %id, %peer);
    in_span(span, async move {
        tracing::debug!("connected");
        Session::run(stream, peer, config).await
    })
    .await
}

/// Answers a connection refused by a limit with `* BYE [UNAVAILABLE]` (RFC 9051 §7.1.5,
/// RFC 5530 §3) and closes it.
pub async fn refuse<S>(stream: S, why: &str, config: &ImapConfig) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let rt = &*config.runtime;
    refuse_with(rt, stream, "* BYE [UNAVAILABLE]", why, config.write_timeout).await
}

/// What woke the main loop.
enum Wake {
    Read(io::Result<usize>),
    Change(Option<Change>),
    Timer,
}

struct Session<'a, S> {
    config: &'a ImapConfig,
    stream: Stream<S>,
    conn: ConnectionInfo,
    server: Server,
    sasl: Option<SaslExchange>,
    mail: Option<Arc<dyn UserStore>>,
    selected: Option<mailbox::Selected>,
    watch: Option<Subscription>,
    append: mailbox::Appending,
    /// The client ENABLEd QRESYNC: an EXPUNGE's tagged OK carries the new HIGHESTMODSEQ
    /// (RFC 7162 §3.2.7), which costs a look at the mailbox.
    qresync: bool,
}

/// The answer to a failed authentication.
fn auth_reply(e: &AuthError) -> (Option<Code>, &'static str) {
    match e {
        AuthError::TooManyFailures => (
            Some(Code::Unavailable),
            "too many failed attempts, try again later",
        ),
        AuthError::EncryptionRequired => (Some(Code::PrivacyRequired), "TLS required"),
        AuthError::Sasl(s) => match s.kind() {
            ErrorKind::Temporary => (Some(Code::Unavailable), "authentication unavailable"),
            ErrorKind::EncryptionRequired => {
                (Some(Code::PrivacyRequired), "this mechanism requires TLS")
            }
            ErrorKind::Unsupported => (Some(Code::Cannot), "mechanism not available"),
            ErrorKind::Syntax | ErrorKind::Cancelled => (None, "invalid SASL exchange"),
            _ => (Some(Code::AuthenticationFailed), "authentication failed"),
        },
    }
}

/// A `UsageError` from the engine is a bug in this driver; it ends the session.
fn usage(e: mailhub_imap_proto::server::UsageError) -> io::Error {
    io::Error::other(format!("IMAP driver bug: {e}"))
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin + Send> Session<'a, S> {
    async fn run(stream: S, peer: SocketAddr, config: &'a ImapConfig) -> io::Result<ImapEnd> {
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
        options.tls = conn.tls;
        options.starttls = matches!(config.tls, TlsMode::StartTls(_));
        options.allow_plaintext = config.auth.plaintext_allowed(&ConnectionInfo {
            tls: false,
            ..conn.clone()
        });
        options.quota = true;
        // Every mechanism that may become usable on this connection; the engine hides PLAIN
        // and LOGIN while plaintext is not allowed, the authenticator refuses the rest.
        let possible = ChannelSecurity {
            tls: true,
            allow_plaintext: true,
            channel_binding: tls_possible,
        };
        options.sasl_mechanisms = config
            .auth
            .registry()
            .advertised(&possible)
            .iter()
            .map(|m| m.name().to_ascii_uppercase())
            .collect();
        let mut server = Server::new(options, Instant::now());
        server.handle_wall_clock(SystemTime::now());
        let mut s = Session {
            config,
            stream,
            conn,
            server,
            sasl: None,
            mail: None,
            selected: None,
            watch: None,
            append: mailbox::Appending::default(),
            qresync: false,
        };
        s.main_loop().await
    }

    /// Sends what the engine wrote.
    async fn flush(&mut self) -> io::Result<()> {
        if let Some(out) = self.server.poll_transmit() {
            let rt = &*self.config.runtime;
            write_all(rt, &mut self.stream, &out, self.config.write_timeout).await?;
        }
        Ok(())
    }

    async fn main_loop(&mut self) -> io::Result<ImapEnd> {
        let mut buf = vec![0u8; self.config.read_buffer.max(512)];
        let mut end = ImapEnd::Disconnected;
        loop {
            while let Some(ev) = self.server.poll_event() {
                if let ServerEvent::Closed { reason } = ev {
                    end = ImapEnd::Closed(reason);
                    self.unselect();
                    continue;
                }
                self.event(ev).await?;
            }
            self.drain_changes().await?;
            self.flush().await?;
            if self.server.is_closed() {
                return Ok(end);
            }
            match self.wait(&mut buf).await {
                Wake::Read(Ok(0)) => {
                    tracing::debug!("client closed the connection");
                    return Ok(ImapEnd::Disconnected);
                }
                Wake::Read(Ok(n)) => {
                    // Changes another session made before this command was sent are already on
                    // the subscription (stores notify before they answer): hand them to the
                    // engine first, so this NOOP/IDLE/FETCH can report them.
                    self.drain_changes().await?;
                    // SEARCH OLDER/YOUNGER (RFC 5032 §3) count back from the time of day
                    // the command arrived.
                    self.server.handle_wall_clock(SystemTime::now());
                    self.server.handle_input(&buf[..n]);
                    self.server.handle_timeout(Instant::now());
                }
                Wake::Read(Err(e)) => return Err(e),
                Wake::Change(Some(c)) => self.changes(vec![c]).await?,
                // The hub is gone: stop watching rather than spin.
                Wake::Change(None) => self.watch = None,
                Wake::Timer => self.server.handle_timeout(Instant::now()),
            }
        }
    }

    /// Waits for input, a change of the selected mailbox, or the engine's timer.
    async fn wait(&mut self, buf: &mut [u8]) -> Wake {
        let rt = &*self.config.runtime;
        let sleep = match self.server.poll_timeout() {
            Some(d) => rt.sleep(d.saturating_duration_since(Instant::now())),
            None => Box::pin(futures::future::pending()),
        };
        let read = std::pin::pin!(self.stream.read(buf));
        let change = std::pin::pin!(async {
            match self.watch.as_mut() {
                Some(w) => w.next().await,
                None => futures::future::pending().await,
            }
        });
        match select(read, select(change, sleep)).await {
            Either::Left((r, _)) => Wake::Read(r),
            Either::Right((Either::Left((c, _)), _)) => Wake::Change(c),
            Either::Right((Either::Right(((), _)), _)) => Wake::Timer,
        }
    }

    /// Applies the changes already waiting on the subscription.
    async fn drain_changes(&mut self) -> io::Result<()> {
        let mut pending = Vec::new();
        if let Some(w) = self.watch.as_mut() {
            while let Some(c) = w.try_next() {
                pending.push(c);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        self.changes(pending).await
    }

    fn unselect(&mut self) {
        self.watch = None;
        self.selected = None;
    }

    /// UNAUTHENTICATE (RFC 8437 §3): everything held for the user goes, so the next LOGIN
    /// or AUTHENTICATE, maybe as someone else, starts from nothing.
    fn unauthenticated(&mut self) {
        tracing::info!("unauthenticated");
        self.unselect();
        self.mail = None;
        self.sasl = None;
        self.append = mailbox::Appending::default();
        self.qresync = false;
    }

    async fn event(&mut self, ev: ServerEvent) -> io::Result<()> {
        match ev {
            ServerEvent::Login {
                username, password, ..
            } => {
                let pw = Secret::new(password.expose().clone());
                match self.config.auth.login(&self.conn, &username, pw).await {
                    Ok(u) => self.logged_in(u).await?,
                    Err(e) => {
                        let (code, text) = auth_reply(&e);
                        self.server.reject(code, text).map_err(usage)?;
                    }
                }
            }
            ServerEvent::AuthStart {
                mechanism,
                initial_response,
                ..
            } => {
                let started = self
                    .config
                    .auth
                    .start_sasl(&self.conn, &mechanism, false)
                    .await;
                match started {
                    Ok(ex) => {
                        self.sasl = Some(ex);
                        let ir = initial_response.map(|s| Secret::new(s.expose().clone()));
                        self.sasl_step(ir).await?;
                    }
                    Err(e) => {
                        let (code, text) = auth_reply(&e);
                        self.server.reject(code, text).map_err(usage)?;
                    }
                }
            }
            ServerEvent::AuthResponse { response } => {
                self.sasl_step(Some(Secret::new(response.expose().clone())))
                    .await?;
            }
            ServerEvent::AuthAborted => self.sasl = None,
            ServerEvent::StartTls => self.start_tls().await?,
            ServerEvent::ClientId { fields } => tracing::debug!(?fields, "client ID"),
            ServerEvent::Enabled { capabilities } => {
                tracing::debug!(?capabilities, "enabled");
                self.qresync |= capabilities.iter().any(|c| c == "QRESYNC");
            }
            ServerEvent::IdleStarted | ServerEvent::IdleEnded => {}
            ServerEvent::Unselected => self.unselect(),
            ServerEvent::Unauthenticated => self.unauthenticated(),
            ServerEvent::Closed { .. } => {}
            other => self.mailbox_event(other).await?,
        }
        Ok(())
    }

    async fn sasl_step(&mut self, input: Option<Secret<Vec<u8>>>) -> io::Result<()> {
        let Some(mut ex) = self.sasl.take() else {
            return self
                .server
                .reject(None, "no authentication in progress")
                .map_err(usage);
        };
        match self.config.auth.step(&mut ex, input).await {
            Ok(SaslStep::Challenge(c)) => {
                self.sasl = Some(ex);
                self.server.auth_challenge(&c).map_err(usage)
            }
            Ok(SaslStep::Success { user, .. }) => self.logged_in(user).await,
            Err(e) => {
                let (code, text) = auth_reply(&e);
                self.server.reject(code, text).map_err(usage)
            }
        }
    }

    /// Opens the user's mail, then lets the engine log the user in.
    async fn logged_in(&mut self, user: String) -> io::Result<()> {
        match self.config.store.open(&user).await {
            Ok(mail) => {
                tracing::info!(user, "logged in");
                self.mail = Some(mail);
                self.server.accept_login(user).map_err(usage)
            }
            Err(e) => {
                tracing::warn!(user, error = %e, "mail store not opened");
                self.server
                    .reject(Some(Code::Unavailable), "mail store unavailable")
                    .map_err(usage)
            }
        }
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
        // Anything learnt in cleartext is forgotten (RFC 9051 §6.2.1), SASL included.
        self.sasl = None;
        self.server.tls_established().map_err(usage)
    }
}
