//! The hub runner: every listener and the queue of a [`Config`], on tokio.
//!
//! [`Hub::start`] prepares the data directory, binds every listener before anything runs (a
//! port in use is an error, not a half-started hub), switches to `[server] run_as` when
//! started as root (see the `privilege` module), opens the queue (recovering what it holds),
//! serves the control socket ([`super::control`]) and starts one accept loop per listener
//! and the queue's delivery loop. [`Hub::shutdown`] stops accepting, lets sessions finish
//! for a grace period, and stops the queue once the deliveries in flight are recorded (the
//! rest stay queued for the next start, RFC 5321 §4.5.4.1). [`Hub::reload`] re-reads the
//! users and aliases files and the policy tables (relay networks, access table, rate
//! limits); sessions in progress keep what they had, new sessions get the new tables.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use mailhub_smtp_proto::Host;
use mailhub_smtp_proto::client::ClientOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::privilege::{self, PrivilegeError, RunAs};
use super::{
    Config, ConfigError, LmtpAddress, LmtpRecipientSetting, Prepared, Service, control,
    lmtp_address, prepare, split_host_port,
};
use crate::auth::Authenticator;
use crate::deliver::resolve::StaticResolver;
use crate::deliver::{
    LmtpRecipient, LmtpTarget, LmtpTransport, LocalDelivery, LocalOptions, SmartHost, Transport,
};
use crate::policy::{MessageHook, Policy};
use crate::queue::{Queue, QueueError, SystemClock};
use crate::runtime::{SharedRuntime, default_runtime};
use crate::session::imap::{self, ImapConfig};
use crate::session::pop3::{self, Pop3Config};
use crate::session::smtp::{self, SmtpConfig, SmtpMode, TlsMode};
use crate::session::smtp_client::SmtpClientConfig;
use crate::session::smtp_sink::{MessageSink, QueueSink, StoreSink};
use crate::session::smtp_transport::{AsyncStream, Connector, SmtpTransport};
use crate::session::{ConnectionLimiter, ConnectionLimits};
use crate::tls::{ClientVerification, client_config};

/// Why the hub did not start or reload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The configuration or the data directory.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} for {service}: {source}")]
    Bind {
        /// The service.
        service: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The queue could not be opened.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// `[server] run_as` could not be honoured.
    #[error(transparent)]
    Privilege(#[from] PrivilegeError),
    /// The control socket could not be served.
    #[error("control socket {path}: {source}")]
    Control {
        /// The socket.
        path: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The smart host's name did not resolve.
    #[error("smart host {host}: {message}")]
    SmartHost {
        /// The host.
        host: String,
        /// Why.
        message: String,
    },
    /// `[delivery]` cannot be honoured: the LMTP server's name did not resolve, or
    /// programs would run as root.
    #[error("[delivery] {key}: {message}")]
    Delivery {
        /// The key.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// A listener the hub bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// What it serves.
    pub service: Service,
    /// Where (the real port when the file said 0).
    pub addr: SocketAddr,
}

/// The SMTP configuration of a listener, replaced on reload (new router).
type SmtpSlot = Arc<RwLock<Arc<SmtpConfig>>>;

#[derive(Clone)]
enum Driver {
    Smtp(SmtpSlot),
    Pop3(Arc<Pop3Config>),
    Imap(Arc<ImapConfig>),
}

/// Sessions in progress, so shutdown can wait for them.
#[derive(Default)]
struct Sessions {
    count: AtomicUsize,
    idle: Notify,
}

struct SessionGuard(Arc<Sessions>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// What a reload replaces, shared by [`Hub::reload`] (SIGHUP) and the control socket's
/// `RELOAD`.
struct Tables {
    /// The configuration as last (re)loaded.
    config: Mutex<Config>,
    auth: Arc<Authenticator>,
    /// Each SMTP listener's configuration, with whether it is a submission listener.
    smtp_slots: Vec<(SmtpSlot, bool)>,
    /// The message hook built at start (`[policy] mail_auth`), kept across reloads.
    message_hook: Option<Arc<dyn MessageHook>>,
}

/// A [`Policy`] over `options` with the hub's message hook.
fn policy(options: crate::policy::PolicyOptions, hook: &Option<Arc<dyn MessageHook>>) -> Policy {
    let p = Policy::new(options);
    match hook {
        Some(h) => p.with_message_hook(h.clone()),
        None => p,
    }
}

/// `[policy] mail_auth`: SPF, DKIM and DMARC through the system's resolvers.
#[cfg(feature = "mail-auth")]
fn message_hook(config: &Config) -> Result<Option<Arc<dyn MessageHook>>, HubError> {
    if !config.policy.mail_auth {
        return Ok(None);
    }
    let options = crate::policy::MailAuthOptions {
        reject_dmarc: config.policy.mail_auth_reject_dmarc,
        ..crate::policy::MailAuthOptions::new(config.server.hostname.clone())
    };
    let hook = crate::policy::MailAuth::new(options).map_err(|e| HubError::Delivery {
        key: "mail_auth",
        message: e.to_string(),
    })?;
    Ok(Some(Arc::new(hook)))
}

/// Without the `mail-auth` feature the configuration refuses `mail_auth = true`.
#[cfg(not(feature = "mail-auth"))]
fn message_hook(_: &Config) -> Result<Option<Arc<dyn MessageHook>>, HubError> {
    Ok(None)
}

impl Tables {
    fn reload(&self) -> Result<(), HubError> {
        let current = self
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut new = match &current.source {
            Some(p) => Config::load(p)?,
            None => current.clone(),
        };
        // Paths are relative to the data directory the hub runs on, whatever the file says now.
        if new.server.data_dir != current.server.data_dir {
            tracing::warn!("data_dir changed: it takes a restart; the old one stays in use");
            new.server.data_dir = current.server.data_dir.clone();
        }
        if new.listeners() != current.listeners()
            || new.store.path != current.store.path
            || new.store.kind != current.store.kind
            || new.queue.path != current.queue.path
        {
            tracing::warn!("listeners, store or queue changed: they take a restart");
        }
        let users = new.load_users()?;
        let router = new.router(&users, new.load_aliases()?);
        let access = new.load_access()?;
        // Everything is read before anything changes: an error leaves the old tables whole.
        self.auth.reload(users);
        for (slot, submission) in &self.smtp_slots {
            let mut w = slot.write().unwrap_or_else(|e| e.into_inner());
            let mut c = (**w).clone();
            c.router = router.clone();
            // A new Policy: its rate-limit counters start over.
            c.policy = Arc::new(policy(
                new.policy_options(*submission, access.clone()),
                &self.message_hook,
            ));
            *w = Arc::new(c);
        }
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = new;
        tracing::info!("users, aliases and policy tables reloaded");
        Ok(())
    }
}

/// A running mail host.
pub struct Hub {
    config: Config,
    prepared: Prepared,
    bound: Vec<Bound>,
    tables: Arc<Tables>,
    queue: Queue,
    queue_task: JoinHandle<()>,
    accept_tasks: Vec<JoinHandle<()>>,
    control_task: JoinHandle<()>,
    control_path: std::path::PathBuf,
    stop: watch::Sender<bool>,
    sessions: Arc<Sessions>,
    idle: IdleSessions,
    idle_task: JoinHandle<()>,
}

/// The transports that keep sessions open between messages (RSET, then idle: Postfix's
/// connection cache). They start no timers of their own, so the hub sweeps them: every
/// [`IDLE_SWEEP`] the sessions past their idle time close, and at shutdown all of them.
#[derive(Clone, Default)]
struct IdleSessions {
    smtp: Vec<Arc<SmtpTransport>>,
    lmtp: Vec<Arc<LmtpTransport>>,
}

/// How often idle outgoing sessions are looked at.
const IDLE_SWEEP: Duration = Duration::from_secs(2);

impl IdleSessions {
    async fn close(&self, all: bool) {
        for t in &self.smtp {
            t.close_idle(all).await;
        }
        for t in &self.lmtp {
            t.close_idle(all).await;
        }
    }

    /// Sweeps every [`IDLE_SWEEP`] until `stop`.
    fn spawn_sweeper(&self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let idle = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_SWEEP) => idle.close(false).await,
                    _ = stop.changed() => return,
                }
            }
        })
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

struct TokioConnector;

#[async_trait]
impl Connector for TokioConnector {
    async fn connect(&self, addr: SocketAddr) -> io::Result<Box<dyn AsyncStream>> {
        Ok(Box::new(TcpStream::connect(addr).await?.compat()))
    }
}

async fn remote_transport(
    config: &Config,
    runtime: SharedRuntime,
    idle: &mut IdleSessions,
) -> Result<Arc<dyn Transport>, HubError> {
    let Some(sh) = &config.relay.smart_host else {
        return mx_transport(config, runtime, idle);
    };
    let (host, port) = split_host_port(sh).unwrap_or_default();
    let bad = |message: String| HubError::SmartHost {
        host: host.clone(),
        message,
    };
    let resolver = StaticResolver::new();
    let addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| bad(e.to_string()))?;
    for a in addrs {
        resolver.add_ip(&host, a.ip());
    }
    let hello = Host::parse(&config.server.hostname).map_err(|e| bad(e.to_string()))?;
    let client = SmtpClientConfig::new(
        ClientOptions::new(hello),
        Some(client_config(&ClientVerification::Verified {
            extra_roots: Vec::new(),
        })),
        host.clone(),
        runtime,
    );
    let smart = SmartHost {
        host: host.clone(),
        port,
        no_mx: true,
        username: config.relay.smart_host_user.clone(),
        password: config
            .relay
            .smart_host_password
            .clone()
            .map(mailhub_sasl::Secret::new),
        require_tls: true,
    };
    let t = Arc::new(
        SmtpTransport::new(client, Arc::new(resolver), Arc::new(TokioConnector))
            .with_smart_host(smart),
    );
    idle.smtp.push(t.clone());
    Ok(t)
}

/// Local mail: into the hub's own store, or handed to `[delivery] lmtp`.
async fn local_transport(
    config: &Config,
    store: Arc<dyn crate::store::MailStore>,
    runtime: SharedRuntime,
    idle: &mut IdleSessions,
) -> Result<Arc<dyn Transport>, HubError> {
    let Some(spec) = &config.delivery.lmtp else {
        return Ok(Arc::new(LocalDelivery::new(
            store,
            runtime,
            LocalOptions {
                max_message: config.limits.max_message_size.saturating_mul(2),
                allow_programs: config.delivery.programs,
                allow_files: config.delivery.files,
                program_timeout: match config.delivery.program_timeout_secs {
                    0 => LocalOptions::default().program_timeout,
                    s => Duration::from_secs(s),
                },
                ..LocalOptions::default()
            },
        )));
    };
    let bad = |message: String| HubError::Delivery {
        key: "lmtp",
        message: format!("{spec}: {message}"),
    };
    // Checked when the configuration was read.
    let target = match lmtp_address(spec).ok_or_else(|| bad("not an LMTP address".into()))? {
        LmtpAddress::Unix(path) => LmtpTarget::Unix(path),
        LmtpAddress::Tcp(host, port) => {
            let addr = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| bad(e.to_string()))?
                .next()
                .ok_or_else(|| bad("the name has no address".into()))?;
            LmtpTarget::Tcp(addr)
        }
    };
    let hello = Host::parse(&config.server.hostname).map_err(|e| bad(e.to_string()))?;
    let client = SmtpClientConfig::new(ClientOptions::new(hello), None, "", runtime);
    let recipient = match config.delivery.lmtp_recipient {
        LmtpRecipientSetting::Address => LmtpRecipient::Address,
        LmtpRecipientSetting::User => LmtpRecipient::User,
    };
    let t = Arc::new(LmtpTransport::on_tokio(client, target).with_recipient(recipient));
    idle.lmtp.push(t.clone());
    Ok(t)
}

/// Delivery to the domains' MX hosts on port 25 with opportunistic STARTTLS (RFC 7435), over
/// the system's DNS resolver (the `hickory` feature).
#[cfg(feature = "hickory")]
fn mx_transport(
    config: &Config,
    runtime: SharedRuntime,
    idle: &mut IdleSessions,
) -> Result<Arc<dyn Transport>, HubError> {
    let resolver =
        crate::deliver::HickoryResolver::from_system_conf().map_err(|e| HubError::SmartHost {
            host: "(DNS resolver)".into(),
            message: e.to_string(),
        })?;
    let hello = Host::parse(&config.server.hostname).map_err(|e| HubError::SmartHost {
        host: config.server.hostname.clone(),
        message: e.to_string(),
    })?;
    let client = SmtpClientConfig::new(
        ClientOptions::new(hello),
        Some(client_config(&ClientVerification::Opportunistic)),
        config.server.hostname.clone(),
        runtime,
    );
    let t = Arc::new(SmtpTransport::new(
        client,
        Arc::new(resolver),
        Arc::new(TokioConnector),
    ));
    idle.smtp.push(t.clone());
    Ok(t)
}

/// Without a DNS resolver (the `hickory` feature) remote mail waits in the queue until a
/// smart host is configured.
#[cfg(not(feature = "hickory"))]
fn mx_transport(
    _: &Config,
    _: SharedRuntime,
    _: &mut IdleSessions,
) -> Result<Arc<dyn Transport>, HubError> {
    Ok(Arc::new(crate::deliver::NoRemote))
}

impl Hub {
    /// Prepares the data directory, binds every listener, switches to `run_as` when started
    /// as root, opens the queue and starts everything. Must be called inside a tokio
    /// runtime.
    pub async fn start(config: Config) -> Result<Hub, HubError> {
        // (user, whether to switch): as that user already there is nothing to switch.
        let run_as = match &config.server.run_as {
            Some(name) => {
                let u = RunAs::lookup(name)?;
                let switch = u.needs_switch()?;
                Some((u, switch))
            }
            None => None,
        };
        let created = match &run_as {
            Some((u, true)) => Some(privilege::claim_data_dir(&config, u)?),
            _ => None,
        };
        let prepared = prepare(&config)?;
        let runtime = default_runtime();
        let users = config.load_users()?;
        let router = config.router(&users, config.load_aliases()?);
        let access = config.load_access()?;
        let auth = Arc::new(Authenticator::new(
            config.registry(),
            users,
            config.auth_policy(),
            runtime.clone(),
        ));

        // Bind first: a port in use stops the start before the queue delivers anything.
        let mut listeners = Vec::new();
        for (service, addr) in config.listeners() {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| HubError::Bind {
                    service: service.name(),
                    addr,
                    source,
                })?;
            let addr = l.local_addr().map_err(|source| HubError::Bind {
                service: service.name(),
                addr,
                source,
            })?;
            listeners.push((Bound { service, addr }, l));
        }

        // Root was needed for the ports (and to read a key outside the data directory);
        // nothing below, mail included, runs with it.
        if let Some((u, switch)) = &run_as {
            if let (true, Some(created)) = (switch, &created) {
                privilege::hand_over(created, u)?;
                privilege::drop_to(u)?;
            }
            privilege::check_usable(&config, u)?;
        }
        // Postfix never runs a command as root (local(8) `default_privs`); neither do we.
        if config.delivery.programs && nix::unistd::geteuid().is_root() {
            return Err(HubError::Delivery {
                key: "programs",
                message: "programs never run as root: set [server] run_as".into(),
            });
        }
        // Before the queue opens (and recovers its spool): a second hub on this data
        // directory stops here, and the socket belongs to the user the hub runs as.
        let (control, control_path) =
            control::bind(&config.server.data_dir)
                .await
                .map_err(|source| HubError::Control {
                    path: config.server.data_dir.join(control::SOCKET_NAME),
                    source,
                })?;
        let store = config.store(runtime.clone())?;

        let (queue, report) = Queue::open(
            &config.path(&config.queue.path),
            config.queue_options(),
            Arc::new(SystemClock),
            runtime.clone(),
        )
        .await?;
        let queue = queue.with_bounce_router(router.clone());
        tracing::info!(?report, "queue recovered");
        let mut idle = IdleSessions::default();
        let local = local_transport(&config, store.clone(), runtime.clone(), &mut idle).await?;
        let transport: Arc<dyn Transport> = Arc::new(crate::deliver::Router::new(
            local,
            remote_transport(&config, runtime.clone(), &mut idle).await?,
        ));
        let queue_task = tokio::spawn({
            let q = queue.clone();
            async move { q.run(transport).await }
        });

        let queue_sink: Arc<dyn MessageSink> =
            Arc::new(QueueSink::new(queue.clone()).with_quota_check(store.clone()));
        let store_sink: Arc<dyn MessageSink> = Arc::new(StoreSink::new(
            store.clone(),
            config.limits.max_message_size,
        ));
        let tls = prepared.tls.clone();
        let hook = message_hook(&config)?;
        let smtp_config = |mode: SmtpMode, submission: bool, tls: TlsMode| {
            let sink = if mode == SmtpMode::Lmtp {
                store_sink.clone()
            } else {
                queue_sink.clone()
            };
            let mut c = SmtpConfig::new(
                mode,
                &config.server.hostname,
                auth.clone(),
                Arc::new(policy(
                    config.policy_options(submission, access.clone()),
                    &hook,
                )),
                router.clone(),
                sink,
                runtime.clone(),
            );
            c.tls = tls;
            Arc::new(RwLock::new(Arc::new(c)))
        };
        let pop3_config = |tls: TlsMode| {
            let mut c = Pop3Config::new(store.clone(), auth.clone(), runtime.clone());
            c.tls = tls;
            Arc::new(c)
        };
        let imap_config = |tls: TlsMode| {
            let mut c = ImapConfig::new(store.clone(), auth.clone(), runtime.clone());
            c.tls = tls;
            c.max_append = config.limits.max_message_size;
            Arc::new(c)
        };
        let limits = ConnectionLimits {
            max_total: config.limits.max_connections,
            max_per_address: config.limits.max_connections_per_ip,
        };
        let (stop, _) = watch::channel(false);
        let sessions = Arc::new(Sessions::default());
        let mut smtp_slots = Vec::new();
        let mut accept_tasks = Vec::new();
        let mut bound = Vec::new();
        for (b, listener) in listeners {
            let driver = match b.service {
                Service::Smtp => Driver::Smtp(smtp_config(
                    SmtpMode::Mta,
                    false,
                    TlsMode::StartTls(tls.clone()),
                )),
                Service::Submission => Driver::Smtp(smtp_config(
                    SmtpMode::Submission,
                    true,
                    TlsMode::StartTls(tls.clone()),
                )),
                Service::Submissions => Driver::Smtp(smtp_config(
                    SmtpMode::Submission,
                    true,
                    TlsMode::Implicit(tls.clone()),
                )),
                Service::Lmtp => Driver::Smtp(smtp_config(SmtpMode::Lmtp, false, TlsMode::None)),
                Service::Pop3 => Driver::Pop3(pop3_config(TlsMode::StartTls(tls.clone()))),
                Service::Pop3s => Driver::Pop3(pop3_config(TlsMode::Implicit(tls.clone()))),
                Service::Imap => Driver::Imap(imap_config(TlsMode::StartTls(tls.clone()))),
                Service::Imaps => Driver::Imap(imap_config(TlsMode::Implicit(tls.clone()))),
            };
            if let Driver::Smtp(slot) = &driver {
                let submission = matches!(b.service, Service::Submission | Service::Submissions);
                smtp_slots.push((slot.clone(), submission));
            }
            accept_tasks.push(tokio::spawn(accept_loop(
                listener,
                driver,
                ConnectionLimiter::new(limits),
                stop.subscribe(),
                sessions.clone(),
            )));
            bound.push(b);
        }
        let tables = Arc::new(Tables {
            config: Mutex::new(config.clone()),
            auth,
            smtp_slots,
            message_hook: hook,
        });
        let reload: control::Reload = {
            let t = tables.clone();
            Arc::new(move || t.reload().map_err(|e| e.to_string()))
        };
        let control_task = tokio::spawn(control::serve(
            control,
            control_path.clone(),
            queue.clone(),
            reload,
            stop.subscribe(),
        ));
        let idle_task = idle.spawn_sweeper(stop.subscribe());
        Ok(Hub {
            config,
            prepared,
            bound,
            tables,
            queue,
            queue_task,
            accept_tasks,
            control_task,
            control_path,
            stop,
            sessions,
            idle,
            idle_task,
        })
    }

    /// The listeners, with their real addresses.
    pub fn listeners(&self) -> &[Bound] {
        &self.bound
    }

    /// The first address of a service, if it listens.
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.bound
            .iter()
            .find(|b| b.service == service)
            .map(|b| b.addr)
    }

    /// What first start made (certificate, users file, demo user).
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// The configuration it runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The queue (list, flush, hold, delete).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The control socket `mailhub_admin` talks to ([`super::control`]).
    pub fn control_socket(&self) -> &std::path::Path {
        &self.control_path
    }

    /// Sessions in progress.
    pub fn active_sessions(&self) -> usize {
        self.sessions.count.load(Ordering::SeqCst)
    }

    /// What a person starting the hub wants to see: where each service listens, the
    /// certificate, the demo user, and commands to paste to try it with curl and Python.
    pub fn banner(&self) -> String {
        use std::fmt::Write;
        let mut b = String::new();
        let data = self.config.server.data_dir.display();
        let _ = writeln!(b, "mailhub is running; data in {data}");
        for (service, addr) in self.config.listeners() {
            let note = match service {
                Service::Smtp => "MTA, STARTTLS; local domains without AUTH",
                Service::Submission => "submission, STARTTLS, AUTH required",
                Service::Submissions => "submission over TLS, AUTH required",
                Service::Imap => "IMAP, STARTTLS",
                Service::Imaps => "IMAP over TLS",
                Service::Pop3 => "POP3, STLS",
                Service::Pop3s => "POP3 over TLS",
                Service::Lmtp => "LMTP into the mail store",
            };
            match self
                .bound
                .iter()
                .find(|x| x.service == service && (addr.port() == 0 || x.addr == addr))
            {
                Some(x) => {
                    let _ = writeln!(b, "  {:<12} {:<22} {note}", service.name(), x.addr);
                }
                None => {
                    let _ = writeln!(b, "  {:<12} {:<22} not served yet", service.name(), addr);
                }
            }
        }
        let cert = self.prepared.cert_path.display().to_string();
        let kind = if self.prepared.self_signed {
            " (self-signed: give it to clients as the CA)"
        } else {
            ""
        };
        let _ = writeln!(b, "TLS certificate: {cert}{kind}");
        let domain = &self.config.domains.local[0];
        let Some(demo) = &self.prepared.demo else {
            return b;
        };
        let (user, pw) = (&demo.name, demo.password.expose());
        let _ = writeln!(
            b,
            "Demo user: {user}  password: {pw}  address: {user}@{domain}"
        );
        let port = |s| self.addr(s).map(|a| a.port());
        let _ = writeln!(b, "\nTry it:");
        if let Some(p) = port(Service::Smtp) {
            let _ = writeln!(
                b,
                "  printf 'Subject: hello\\r\\n\\r\\nHi there!\\r\\n' | curl -sS smtp://127.0.0.1:{p} --mail-from you@example.net --mail-rcpt {user}@{domain} -T -"
            );
        }
        if let Some(p) = port(Service::Pop3) {
            let _ = writeln!(b, "  curl -sS -u {user}:{pw} pop3://127.0.0.1:{p}/1");
        }
        if let Some(p) = port(Service::Pop3s) {
            let _ = writeln!(
                b,
                "  curl -sS --cacert {cert} -u {user}:{pw} pop3s://127.0.0.1:{p}/1"
            );
        }
        if let Some(p) = port(Service::Imaps) {
            let _ = writeln!(
                b,
                "  curl -sS --cacert {cert} -u {user}:{pw} 'imaps://127.0.0.1:{p}/INBOX;UID=1'"
            );
        }
        if let Some(p) = port(Service::Submission) {
            let _ = writeln!(
                b,
                "  python3 -c \"import smtplib,ssl; s=smtplib.SMTP('127.0.0.1',{p}); s.starttls(context=ssl.create_default_context(cafile='{cert}')); s.login('{user}','{pw}'); s.sendmail('{user}@{domain}',['{user}@{domain}'],b'Subject: hi\\r\\n\\r\\nhello\\r\\n'); s.quit()\""
            );
        }
        if let Some(p) = port(Service::Pop3s) {
            let _ = writeln!(
                b,
                "  python3 -c \"import poplib,ssl; p=poplib.POP3_SSL('127.0.0.1',{p},context=ssl.create_default_context(cafile='{cert}')); p.user('{user}'); p.pass_('{pw}'); print(p.stat()); print(b'\\n'.join(p.retr(1)[1]).decode())\""
            );
        }
        if let Some(p) = port(Service::Imaps) {
            let _ = writeln!(
                b,
                "  python3 -c \"import imaplib,ssl; m=imaplib.IMAP4_SSL('127.0.0.1',{p},ssl_context=ssl.create_default_context(cafile='{cert}')); m.login('{user}','{pw}'); m.select(); print(m.fetch('1','(BODY[])')[1][0][1].decode())\""
            );
        }
        let _ = writeln!(
            b,
            "Stop with Ctrl-C (or SIGTERM); SIGHUP reloads users, aliases and policy tables."
        );
        b
    }

    /// Re-reads (SIGHUP) the configuration file it was loaded from ([`Config::source`]),
    /// then the users and aliases files and the policy tables: `[relay] networks`, the
    /// `[policy]` access table and rate limits, `[limits]` message size and recipients.
    /// New sessions see them; sessions in progress keep what they started with. Listeners,
    /// the data directory, the store and the queue take a restart (a warning says so). On
    /// an error nothing changes.
    pub fn reload(&self) -> Result<(), HubError> {
        self.tables.reload()
    }

    /// Stops accepting, waits up to `grace` for sessions to end, then stops the queue after
    /// the deliveries in flight are recorded.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        for t in self.accept_tasks {
            let _ = t.await;
        }
        let wait = async {
            loop {
                let idle = self.sessions.idle.notified();
                if self.sessions.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(grace, wait).await.is_err() {
            tracing::warn!(
                sessions = self.sessions.count.load(Ordering::SeqCst),
                "sessions still open after the grace period; closing them"
            );
        }
        let _ = self.control_task.await;
        self.queue.shutdown();
        let _ = self.queue_task.await;
        // The deliveries are recorded: the outgoing sessions kept for reuse say QUIT.
        let _ = self.idle_task.await;
        self.idle.close(true).await;
        tracing::info!("stopped");
    }

    /// Runs until Ctrl-C or SIGTERM (then [`Hub::shutdown`] with 30 s of grace); SIGHUP
    /// runs [`Hub::reload`].
    pub async fn run_until_signal(self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = term.recv() => break,
                    _ = hup.recv() => {
                        if let Err(e) = self.reload() {
                            tracing::error!(error = %e, "reload failed; keeping the old tables");
                        }
                    }
                }
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        tracing::info!("shutting down");
        self.shutdown(Duration::from_secs(30)).await;
        Ok(())
    }
}

async fn accept_loop(
    listener: TcpListener,
    driver: Driver,
    limiter: Arc<ConnectionLimiter>,
    mut stop: watch::Receiver<bool>,
    sessions: Arc<Sessions>,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        sessions.count.fetch_add(1, Ordering::SeqCst);
        let guard = SessionGuard(sessions.clone());
        let driver = driver.clone();
        let limiter = limiter.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let permit = limiter.try_acquire(peer.ip());
            let stream = tcp.compat();
            match driver {
                Driver::Smtp(slot) => {
                    let c = slot.read().unwrap_or_else(|e| e.into_inner()).clone();
                    let _ = match permit {
                        Ok(_p) => smtp::serve(stream, peer, &c).await.map(drop),
                        Err(e) => smtp::refuse(stream, &e.to_string(), &c).await,
                    };
                }
                Driver::Pop3(c) => {
                    let _ = match permit {
                        Ok(_p) => pop3::serve(stream, peer, &c).await.map(drop),
                        Err(e) => pop3::refuse(stream, &e.to_string(), &c).await,
                    };
                }
                Driver::Imap(c) => {
                    let _ = match permit {
                        Ok(_p) => imap::serve(stream, peer, &c).await.map(drop),
                        Err(e) => imap::refuse(stream, &e.to_string(), &c).await,
                    };
                }
            }
        });
    }
}
