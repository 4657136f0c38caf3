//! The POP3 server driver (RFC 1939, with RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH and
//! RFC 8314 implicit TLS on port 995), over `mailhub-pop3-proto`'s server engine.
//!
//! [`serve`] runs one connection: greeting, AUTHORIZATION through the shared
//! [`Authenticator`] (USER/PASS and SASL; APOP is off because a passwd file keeps no shared
//! secrets), the maildrop — the user's INBOX — locked ([`UserStore::lock_maildrop`]) and
//! listed once as the session's snapshot, RETR and TOP streamed from the store in chunks
//! (never a whole message in memory), and deletions only in the UPDATE state after QUIT
//! (RFC 1939 §6). A session that ends any other way — the client vanishes, the idle timer
//! fires, too many errors — deletes nothing and releases the lock.
//!
//! SCRAM-…-PLUS is offered when TLS is configured and accepted once TLS 1.3 gives channel
//! binding data. The engine's options are fixed when the session starts, so after STLS the
//! capability list is the one computed for "TLS possible", and an AUTH of a `-PLUS`
//! mechanism over TLS 1.2 is refused at its start.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use mailhub_pop3_proto::server::{
    CloseReason, Maildrop, MessageInfo, PlaintextPolicy, Server, ServerEvent, ServerOptions,
};
use mailhub_pop3_proto::{RespCode, UniqueId};
use mailhub_sasl::{ChannelSecurity, ErrorKind, Secret};

use super::io::{Deadline, SessionId, handshake, in_span, read_until, refuse_with, write_all};
use crate::auth::{AuthError, Authenticator, ConnectionInfo, Plaintext, SaslExchange, SaslStep};
use crate::runtime::SharedRuntime;
use crate::store::{INBOX, MailStore, MaildropLock, StoreError, Uid, UserStore, pop3_uidl};
use crate::tls::{ServerTls, Stream};

/// How TLS is offered on a POP3 listener.
#[derive(Debug, Clone, Default)]
pub enum TlsMode {
    /// No TLS: STLS is not offered.
    #[default]
    None,
    /// STLS (RFC 2595 §4) with this configuration.
    StartTls(ServerTls),
    /// TLS from the first byte (POP3S, RFC 8314 §3.3).
    Implicit(ServerTls),
}

/// Everything a POP3 listener's sessions share.
#[derive(Clone)]
pub struct Pop3Config {
    /// Engine options: greeting, limits, capabilities. The driver sets `tls`, `stls`,
    /// `loopback`, `plaintext` and `sasl_mechanisms` itself for each connection.
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
}

impl std::fmt::Debug for Pop3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Config")
            .field("options", &self.options)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Pop3Config {
    /// A configuration with the engine's default options, no TLS, and timeouts of 30 s for a
    /// handshake and 5 minutes for a write.
    pub fn new(
        store: Arc<dyn MailStore>,
        auth: Arc<Authenticator>,
        runtime: SharedRuntime,
    ) -> Pop3Config {
        Pop3Config {
            options: ServerOptions::default(),
            tls: TlsMode::None,
            auth,
            store,
            runtime,
            handshake_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(300),
            read_buffer: 8 * 1024,
        }
    }
}

/// How a session ended, for the caller's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pop3End {
    /// The engine closed the session (QUIT, timeout, too many errors …).
    Closed(CloseReason),
    /// The client closed the connection or it broke.
    Disconnected,
}

/// Runs one POP3 connection to its end. `peer` is the client's address (for the plaintext
/// policy, the failure limit and logs).
///
/// An accept loop with tokio (any runtime works the same way):
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
/// use mailhub_mta_core::runtime::default_runtime;
/// use mailhub_mta_core::session::pop3::{Pop3Config, refuse, serve};
/// use mailhub_mta_core::session::{ConnectionLimiter, ConnectionLimits};
/// use mailhub_mta_core::store::MaildirStore;
/// use mailhub_sasl::{PasswdFile, Registry};
/// use tokio_util::compat::TokioAsyncReadCompatExt;
///
/// let runtime = default_runtime();
/// let users = PasswdFile::load("users.passwd").expect("user file");
/// let auth = Authenticator::new(Registry::default(), users, AuthPolicy::default(), runtime.clone());
/// let store = MaildirStore::under("/var/mail/maildirs", runtime.clone());
/// let config = Arc::new(Pop3Config::new(Arc::new(store), Arc::new(auth), runtime));
/// let limiter = ConnectionLimiter::new(ConnectionLimits::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:1110").await?;
/// loop {
///     let (tcp, peer) = listener.accept().await?;
///     let (config, limiter) = (config.clone(), limiter.clone());
///     tokio::spawn(async move {
///         match limiter.try_acquire(peer.ip()) {
///             Ok(_permit) => drop(serve(tcp.compat(), peer, &config).await),
///             Err(e) => drop(refuse(tcp.compat(), &e.to_string(), &config).await),
///         }
///     });
/// }
/// # }
/// ```
pub async fn serve<S>(stream: S, peer: SocketAddr, config: &Pop3Config) -> io::Result<Pop3End>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let id = SessionId::next();
    let span = tracing::info_span!("pop3", session = %id, %peer);
    in_span(span, async move {
        tracing::debug!("connected");
        Session::run(stream, peer, config).await
    })
    .await
}

/// Answers a connection refused by a limit with `-ERR [SYS/TEMP]` and closes it (RFC 2449
/// §8, RFC 3206 §4: the client should try again later).
pub async fn refuse<S>(stream: S, why: &str, config: &Pop3Config) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let rt = &*config.runtime;
    refuse_with(rt, stream, "-ERR [SYS/TEMP]", why, config.write_timeout).await
}

struct Session<'a, S> {
    config: &'a Pop3Config,
    stream: Stream<S>,
    conn: ConnectionInfo,
    server: Server,
    sasl: Option<SaslExchange>,
    mail: Option<Arc<dyn UserStore>>,
    lock: Option<MaildropLock>,
    uids: Vec<Uid>,
}

/// The reply for a failed authentication.
fn auth_reply(e: &AuthError) -> (Option<RespCode>, &'static str) {
    match e {
        AuthError::TooManyFailures => (
            Some(RespCode::SysTemp),
            "too many failed attempts, try again later",
        ),
        AuthError::EncryptionRequired => (Some(RespCode::Auth), "authentication requires TLS"),
        AuthError::Sasl(s) => match s.kind() {
            ErrorKind::Temporary => (Some(RespCode::SysTemp), "authentication unavailable"),
            ErrorKind::EncryptionRequired => (Some(RespCode::Auth), "this mechanism requires TLS"),
            ErrorKind::Unsupported => (None, "mechanism not available"),
            ErrorKind::Syntax | ErrorKind::Cancelled => (None, "invalid SASL exchange"),
            _ => (Some(RespCode::Auth), "authentication failed"),
        },
    }
}

fn store_reply(e: &StoreError) -> (Option<RespCode>, &'static str) {
    match e {
        StoreError::InUse => (Some(RespCode::InUse), "maildrop already locked"),
        e if e.is_temporary() => (Some(RespCode::SysTemp), "maildrop unavailable"),
        _ => (Some(RespCode::SysPerm), "maildrop cannot be opened"),
    }
}

/// A `UsageError` from the engine is a bug in this driver; it ends the session.
fn usage(e: mailhub_pop3_proto::UsageError) -> io::Error {
    io::Error::other(format!("POP3 driver bug: {e}"))
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin + Send> Session<'a, S> {
    async fn run(stream: S, peer: SocketAddr, config: &'a Pop3Config) -> io::Result<Pop3End> {
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
        options.stls = matches!(config.tls, TlsMode::StartTls(_));
        options.loopback = peer.ip().is_loopback();
        options.plaintext = match config.auth.policy().plaintext {
            Plaintext::Never => PlaintextPolicy::Never,
            Plaintext::Loopback => PlaintextPolicy::Loopback,
            Plaintext::Always => PlaintextPolicy::Always,
        };
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
            .map(|m| m.name().to_owned())
            .collect();
        let server = Server::new(options, Instant::now());
        let mut s = Session {
            config,
            stream,
            conn,
            server,
            sasl: None,
            mail: None,
            lock: None,
            uids: Vec::new(),
        };
        s.main_loop().await
    }

    async fn flush(&mut self) -> io::Result<()> {
        if let Some(out) = self.server.poll_transmit() {
            let rt = &*self.config.runtime;
            write_all(rt, &mut self.stream, &out, self.config.write_timeout).await?;
        }
        Ok(())
    }

    async fn main_loop(&mut self) -> io::Result<Pop3End> {
        let mut buf = vec![0u8; self.config.read_buffer.max(512)];
        let mut end = Pop3End::Disconnected;
        loop {
            while let Some(ev) = self.server.poll_event() {
                if let ServerEvent::Closed { reason } = ev {
                    end = Pop3End::Closed(reason);
                    // Without an Update the lock goes and nothing is deleted.
                    self.lock = None;
                    continue;
                }
                self.event(ev).await?;
            }
            self.flush().await?;
            if self.server.is_closed() {
                return Ok(end);
            }
            let deadline = self.server.poll_timeout();
            let rt = &*self.config.runtime;
            match read_until(rt, &mut self.stream, &mut buf, deadline).await {
                Deadline::Done(Ok(0)) => {
                    tracing::debug!("client closed the connection");
                    return Ok(Pop3End::Disconnected);
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

    async fn event(&mut self, ev: ServerEvent) -> io::Result<()> {
        match ev {
            ServerEvent::Login { user, password } => {
                let pw = Secret::new(password.expose().as_bytes().to_vec());
                match self.config.auth.login(&self.conn, &user, pw).await {
                    Ok(u) => self.server.accept_login(u).map_err(usage)?,
                    Err(e) => {
                        let (code, text) = auth_reply(&e);
                        self.server.reject(code, text).map_err(usage)?;
                    }
                }
            }
            ServerEvent::ApopLookup { .. } => {
                // APOP is never announced (no timestamp); answer as for an unknown user.
                self.server.apop_secret(None).map_err(usage)?;
            }
            ServerEvent::AuthStart {
                mechanism,
                initial_response,
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
            ServerEvent::LockMaildrop { user } => self.open_maildrop(&user).await?,
            ServerEvent::StartTls => self.start_tls().await?,
            ServerEvent::Retrieve { message, .. } => self.retrieve(message.index).await?,
            ServerEvent::Update { deleted, .. } => self.update(&deleted).await?,
            ServerEvent::Closed { .. } => {}
            other => tracing::warn!(event = ?other, "unhandled POP3 event"),
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
            Ok(SaslStep::Success { user, .. }) => self.server.accept_login(user).map_err(usage),
            Err(e) => {
                let (code, text) = auth_reply(&e);
                self.server.reject(code, text).map_err(usage)
            }
        }
    }

    async fn open_maildrop(&mut self, user: &str) -> io::Result<()> {
        match self.load(user).await {
            Ok(drop) => {
                tracing::info!(user, messages = drop.messages.len(), "maildrop opened");
                self.server.load_maildrop(drop).map_err(usage)
            }
            Err(e) => {
                tracing::info!(user, error = %e, "maildrop not opened");
                self.lock = None;
                self.mail = None;
                let (code, text) = store_reply(&e);
                self.server.reject(code, text).map_err(usage)
            }
        }
    }

    async fn load(&mut self, user: &str) -> Result<Maildrop, StoreError> {
        let mail = self.config.store.open(user).await?;
        self.lock = Some(mail.lock_maildrop()?);
        let snap = mail.select(INBOX).await?;
        self.mail = Some(mail);
        let mut messages = Vec::with_capacity(snap.messages.len());
        self.uids = Vec::with_capacity(snap.messages.len());
        for m in &snap.messages {
            let uid = UniqueId::try_from(pop3_uidl(snap.uid_validity, m.uid))
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            messages.push(MessageInfo { size: m.size, uid });
            self.uids.push(m.uid);
        }
        Ok(Maildrop {
            messages,
            ..Maildrop::default()
        })
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        self.flush().await?;
        let TlsMode::StartTls(tls) = &self.config.tls else {
            return Err(io::Error::other("STLS without a TLS configuration"));
        };
        let plain = std::mem::replace(&mut self.stream, Stream::Closed);
        let rt = &*self.config.runtime;
        self.stream = handshake(rt, self.config.handshake_timeout, plain, tls).await?;
        tracing::debug!(tls = ?self.stream.tls_summary(), "STLS done");
        self.conn.tls = true;
        self.conn.channel_binding = self.stream.channel_binding();
        // Anything learnt in cleartext is forgotten (RFC 2595 §4), SASL included.
        self.sasl = None;
        self.server.tls_established().map_err(usage)
    }

    async fn retrieve(&mut self, index: usize) -> io::Result<()> {
        let (Some(mail), Some(uid)) = (self.mail.clone(), self.uids.get(index).copied()) else {
            return self
                .server
                .reject(Some(RespCode::SysPerm), "no such message")
                .map_err(usage);
        };
        let mut body = match mail.open_message(INBOX, uid).await {
            Ok(b) => b,
            Err(e) => {
                tracing::info!(uid, error = %e, "message not readable");
                let text = match e {
                    StoreError::NoSuchMessage(_) => "message was deleted by another session",
                    _ => "message cannot be read",
                };
                return self
                    .server
                    .reject(Some(RespCode::SysTemp), text)
                    .map_err(usage);
            }
        };
        loop {
            match body.next_chunk().await {
                Ok(Some(chunk)) => {
                    let more = self.server.message_chunk(&chunk).map_err(usage)?;
                    self.flush().await?;
                    if !more {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // After the first chunk no -ERR is possible: the engine closes.
                    tracing::warn!(uid, error = %e, "reading message failed");
                    return self
                        .server
                        .reject(Some(RespCode::SysTemp), "message cannot be read")
                        .map_err(usage);
                }
            }
        }
        self.server.message_end().map_err(usage)
    }

    async fn update(
        &mut self,
        deleted: &[mailhub_pop3_proto::server::MessageRef],
    ) -> io::Result<()> {
        let uids: Vec<Uid> = deleted
            .iter()
            .filter_map(|m| self.uids.get(m.index).copied())
            .collect();
        let result = match (&self.mail, uids.is_empty()) {
            (_, true) => Ok(Vec::new()),
            (Some(mail), false) => mail.remove(INBOX, &uids).await,
            (None, false) => Err(StoreError::Failed("no maildrop".into())),
        };
        self.lock = None;
        match result {
            Ok(removed) => {
                tracing::info!(deleted = removed.len(), "update done");
                self.server.update_done().map_err(usage)
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting messages failed");
                self.server
                    .reject(Some(RespCode::SysTemp), "some deleted messages not removed")
                    .map_err(usage)
            }
        }
    }
}
