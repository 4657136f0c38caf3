//! The authenticator every session driver shares: SASL (RFC 4422) through `mailhub-sasl`, plain
//! logins (POP3 USER/PASS, IMAP LOGIN), and the policy around both.
//!
//! - **Plaintext policy** (RFC 2595 §2.2, RFC 4954 §4, RFC 8314 §5): mechanisms that expose the
//!   password, and USER/PASS or LOGIN, run only over TLS, or on a loopback connection when the
//!   policy is [`Plaintext::Loopback`] (the default), or anywhere with [`Plaintext::Always`].
//! - **Failure delay**: every failed attempt is answered only after
//!   [`AuthPolicy::failure_delay`], slept through the runtime (never on an executor thread), so
//!   guessing is slow even on one connection.
//! - **Per-address limit**: after [`AuthPolicy::max_failures`] failures from one client address
//!   (an IPv6 /64 counts as one address) within [`AuthPolicy::failure_window`], attempts from it
//!   are refused without checking the password until the window passes. The table is bounded
//!   ([`AuthPolicy::max_tracked`]).
//! - **Authorization identity** (RFC 4422 §3.4.1): a client may act as another user only when
//!   the credentials allow it (`Credentials::authorize`, the master users of a passwd file);
//!   with a passwd file, `user*master` logins act as `user`.
//!
//! Password checks (Argon2, SHA-512-crypt, PBKDF2) cost milliseconds of CPU and run on the
//! blocking pool of the [`Runtime`](crate::runtime::Runtime). Passwords and SASL payloads are
//! never logged; user names and addresses are.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mailhub_sasl::{
    ChannelBinding, ChannelSecurity, Credentials, Error as SaslError, ErrorKind, PasswdFile,
    Registry, Secret, ServerContext, ServerSession, ServerStep,
};

use crate::runtime::{SharedRuntime, unblock};

/// When passwords may cross a connection without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plaintext {
    /// Never.
    Never,
    /// Only from a loopback address.
    #[default]
    Loopback,
    /// Always (trusted networks only).
    Always,
}

/// The knobs of an [`Authenticator`].
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// When plaintext passwords are allowed without TLS.
    pub plaintext: Plaintext,
    /// How long a failed attempt waits before its answer.
    pub failure_delay: Duration,
    /// Failures from one address within [`AuthPolicy::failure_window`] after which its
    /// attempts are refused.
    pub max_failures: u32,
    /// The window of [`AuthPolicy::max_failures`].
    pub failure_window: Duration,
    /// Most client addresses tracked at once.
    pub max_tracked: usize,
    /// The server's host name, used in server-made challenges (CRAM-MD5).
    pub hostname: String,
    /// Per-installation secret for SCRAM decoy salts of unknown users (see
    /// `mailhub_sasl::ServerContext::scram_decoy_key`).
    pub scram_decoy_key: Secret<Vec<u8>>,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            plaintext: Plaintext::default(),
            failure_delay: Duration::from_secs(2),
            max_failures: 10,
            failure_window: Duration::from_secs(15 * 60),
            max_tracked: 10_000,
            hostname: "localhost".into(),
            scram_decoy_key: Secret::new(Vec::new()),
        }
    }
}

/// What the authenticator knows about a connection.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether TLS protects the connection.
    pub tls: bool,
    /// The `tls-exporter` channel binding, when TLS 1.3 is up.
    pub channel_binding: Option<ChannelBinding>,
}

/// Why an authentication did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Too many failures from this client address: try again later.
    #[error("too many failed attempts from this address")]
    TooManyFailures,
    /// A plaintext password on a connection without TLS, refused by policy.
    #[error("plaintext authentication requires TLS")]
    EncryptionRequired,
    /// The SASL exchange failed; [`SaslError::kind`] says which reply to send.
    #[error(transparent)]
    Sasl(#[from] SaslError),
}

impl AuthError {
    /// The reply class (syntax, failed, temporary, …) for the protocol's answer.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::TooManyFailures => ErrorKind::Temporary,
            AuthError::EncryptionRequired => ErrorKind::EncryptionRequired,
            AuthError::Sasl(e) => e.kind(),
        }
    }
}

enum Users {
    Passwd(Arc<PasswdFile>),
    Other(Arc<dyn Credentials + Send + Sync>),
}

impl Users {
    fn credentials(&self) -> Arc<dyn Credentials + Send + Sync> {
        match self {
            Users::Passwd(p) => p.clone(),
            Users::Other(c) => c.clone(),
        }
    }

    /// The user to act as after SASL accepted `identity`.
    fn effective(&self, identity: &str) -> String {
        match self {
            Users::Passwd(p) => p.effective_user(identity).to_owned(),
            Users::Other(_) => identity.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Checks logins for every driver. Share one per server (`Arc`).
pub struct Authenticator {
    registry: Registry,
    users: RwLock<Arc<Users>>,
    policy: AuthPolicy,
    runtime: SharedRuntime,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("registry", &self.registry)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The key of an address in the failure table: IPv6 by /64, since one host usually owns a
/// whole /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Authenticator {
    /// An authenticator over a passwd-style user file.
    pub fn new(
        registry: Registry,
        users: PasswdFile,
        policy: AuthPolicy,
        runtime: SharedRuntime,
    ) -> Authenticator {
        Authenticator::build(registry, Users::Passwd(Arc::new(users)), policy, runtime)
    }

    /// Loads the user file at `path` (see `mailhub_sasl::passwd`).
    pub fn from_file(
        registry: Registry,
        path: impl AsRef<std::path::Path>,
        policy: AuthPolicy,
        runtime: SharedRuntime,
    ) -> Result<Authenticator, mailhub_sasl::passwd::PasswdError> {
        Ok(Authenticator::new(
            registry,
            PasswdFile::load(path)?,
            policy,
            runtime,
        ))
    }

    /// An authenticator over any credential store.
    pub fn with_credentials(
        registry: Registry,
        credentials: Arc<dyn Credentials + Send + Sync>,
        policy: AuthPolicy,
        runtime: SharedRuntime,
    ) -> Authenticator {
        Authenticator::build(registry, Users::Other(credentials), policy, runtime)
    }

    fn build(
        registry: Registry,
        users: Users,
        policy: AuthPolicy,
        runtime: SharedRuntime,
    ) -> Authenticator {
        Authenticator {
            registry,
            users: RwLock::new(Arc::new(users)),
            policy,
            runtime,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the user file (a reload); sessions in progress keep what they authenticated.
    pub fn reload(&self, users: PasswdFile) {
        *self.users.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(Users::Passwd(Arc::new(users)));
    }

    fn users(&self) -> Arc<Users> {
        self.users.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The policy.
    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// The mechanism registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether a plaintext password may be sent on this connection.
    pub fn plaintext_allowed(&self, conn: &ConnectionInfo) -> bool {
        conn.tls
            || match self.policy.plaintext {
                Plaintext::Never => false,
                Plaintext::Loopback => conn.peer.ip().is_loopback(),
                Plaintext::Always => true,
            }
    }

    /// What decides the mechanisms of this connection.
    pub fn security(&self, conn: &ConnectionInfo) -> ChannelSecurity {
        ChannelSecurity {
            tls: conn.tls,
            allow_plaintext: self.plaintext_allowed(conn),
            channel_binding: conn.channel_binding.is_some(),
        }
    }

    /// The mechanisms to advertise now, strongest first.
    pub fn mechanisms(&self, conn: &ConnectionInfo) -> Vec<String> {
        self.registry
            .advertised(&self.security(conn))
            .iter()
            .map(|m| m.name().to_owned())
            .collect()
    }

    /// Refuses early when the address has failed too often.
    pub fn check_address(&self, peer: IpAddr) -> Result<(), AuthError> {
        let now = Instant::now();
        let table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match table.get(&address_key(peer)) {
            Some(f)
                if f.count >= self.policy.max_failures
                    && now.duration_since(f.since) < self.policy.failure_window =>
            {
                Err(AuthError::TooManyFailures)
            }
            _ => Ok(()),
        }
    }

    fn record_failure(&self, peer: IpAddr) {
        let now = Instant::now();
        let window = self.policy.failure_window;
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= self.policy.max_tracked {
            table.retain(|_, f| now.duration_since(f.since) < window);
            if table.len() >= self.policy.max_tracked
                && let Some(oldest) = table.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| *k)
            {
                table.remove(&oldest);
            }
        }
        let f = table.entry(address_key(peer)).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now.duration_since(f.since) >= window {
            *f = Failures {
                count: 0,
                since: now,
            };
        }
        f.count = f.count.saturating_add(1);
    }

    /// Records a failure from `peer` and waits the failure delay.
    async fn fail(&self, peer: IpAddr, error: AuthError) -> AuthError {
        self.record_failure(peer);
        tracing::info!(%peer, reason = %error, "authentication failed");
        self.runtime.sleep(self.policy.failure_delay).await;
        error
    }

    /// Checks a plain login (POP3 USER/PASS, IMAP LOGIN) and returns the user to act as.
    pub async fn login(
        &self,
        conn: &ConnectionInfo,
        login: &str,
        password: Secret<Vec<u8>>,
    ) -> Result<String, AuthError> {
        let ip = conn.peer.ip();
        self.check_address(ip)?;
        if !self.plaintext_allowed(conn) {
            return Err(self.fail(ip, AuthError::EncryptionRequired).await);
        }
        let users = self.users();
        let login_owned = login.to_owned();
        let checked = unblock(&*self.runtime, move || match &*users {
            Users::Passwd(p) => p
                .check_login(&login_owned, &password)
                .map(|l| l.map(|l| l.user)),
            Users::Other(c) => c
                .verify_password(&login_owned, &password)
                .map(|ok| ok.then_some(login_owned)),
        })
        .await;
        match checked {
            Ok(Some(user)) => {
                tracing::info!(peer = %conn.peer, login, %user, "login");
                Ok(user)
            }
            Ok(None) => Err(self
                .fail(ip, AuthError::Sasl(SaslError::AuthenticationFailed))
                .await),
            Err(e) => Err(AuthError::Sasl(e.into())),
        }
    }

    /// Starts a SASL exchange for `mechanism` on this connection.
    pub async fn start_sasl(
        &self,
        conn: &ConnectionInfo,
        mechanism: &str,
        success_data: bool,
    ) -> Result<SaslExchange, AuthError> {
        let ip = conn.peer.ip();
        self.check_address(ip)?;
        let context = ServerContext {
            tls: conn.tls,
            channel_binding: conn.channel_binding.clone(),
            success_data,
            hostname: self.policy.hostname.clone(),
            scram_decoy_key: self.policy.scram_decoy_key.clone(),
            ..ServerContext::default()
        };
        match self
            .registry
            .server(mechanism, &self.security(conn), context)
        {
            Ok(session) => Ok(SaslExchange {
                session: Some(session),
                started: false,
                users: self.users(),
                peer: conn.peer,
            }),
            // Asking for a mechanism is not a password guess: no delay, no count.
            Err(e) => Err(AuthError::Sasl(e)),
        }
    }

    /// Runs one step of `exchange`. The first call starts the mechanism with the client's
    /// initial response (`None` when it sent none); later calls feed its answers to the
    /// challenges (decoded).
    pub async fn step(
        &self,
        exchange: &mut SaslExchange,
        input: Option<Secret<Vec<u8>>>,
    ) -> Result<SaslStep, AuthError> {
        let Some(mut session) = exchange.session.take() else {
            return Err(AuthError::Sasl(SaslError::OutOfSequence(
                "step after the exchange ended",
            )));
        };
        let users = exchange.users.clone();
        let first = !exchange.started;
        exchange.started = true;
        let (session, result) = unblock(&*self.runtime, move || {
            let creds = users.credentials();
            let data = input.as_ref().map(|s| s.expose().as_slice());
            let r = if first {
                session.start(data, &*creds)
            } else {
                session.step(data.unwrap_or_default(), &*creds)
            };
            (session, r)
        })
        .await;
        match result {
            Ok(ServerStep::Challenge(c)) => {
                exchange.session = Some(session);
                Ok(SaslStep::Challenge(c))
            }
            Ok(ServerStep::Success(outcome)) => {
                let user = exchange.users.effective(outcome.user());
                tracing::info!(
                    peer = %exchange.peer,
                    mechanism = %session.mechanism(),
                    authcid = %outcome.authcid,
                    %user,
                    "login"
                );
                Ok(SaslStep::Success {
                    user,
                    additional_data: outcome.additional_data,
                })
            }
            Err(e) => {
                let counts = matches!(e.kind(), ErrorKind::Failed);
                let err = AuthError::Sasl(e);
                if counts {
                    Err(self.fail(exchange.peer.ip(), err).await)
                } else {
                    Err(err)
                }
            }
        }
    }
}

/// A SASL exchange in progress.
pub struct SaslExchange {
    session: Option<ServerSession>,
    started: bool,
    users: Arc<Users>,
    peer: SocketAddr,
}

impl std::fmt::Debug for SaslExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslExchange")
            .field("session", &self.session)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// The result of [`Authenticator::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this challenge and feed the client's answer to the next step.
    Challenge(Vec<u8>),
    /// Authenticated as `user`.
    Success {
        /// The user to act as.
        user: String,
        /// Data to send with the success reply, for protocols that carry it.
        additional_data: Option<Vec<u8>>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use mailhub_sasl::{ChannelBindingType, ClientCredentials, ClientSession, Mechanism};

    fn auth(max_failures: u32) -> Authenticator {
        let users = PasswdFile::parse("dave:{PLAIN}secret\nroot:{PLAIN}toor\n")
            .unwrap()
            .with_master_users(["root"])
            .with_master_separator('*');
        let policy = AuthPolicy {
            failure_delay: Duration::from_millis(1),
            max_failures,
            ..AuthPolicy::default()
        };
        Authenticator::new(
            Registry::default(),
            users,
            policy,
            crate::runtime::default_runtime(),
        )
    }

    fn conn(addr: &str, tls: bool) -> ConnectionInfo {
        ConnectionInfo {
            peer: addr.parse().unwrap(),
            tls,
            channel_binding: None,
        }
    }

    fn pw(s: &str) -> Secret<Vec<u8>> {
        Secret::new(s.as_bytes().to_vec())
    }

    #[test]
    fn plain_login_policy_and_failure_limit() {
        let a = auth(3);
        let lo = conn("127.0.0.1:1000", false);
        let remote = conn("192.0.2.7:1000", false);
        let remote_tls = conn("192.0.2.7:1000", true);
        block_on(async {
            assert_eq!(a.login(&lo, "dave", pw("secret")).await.unwrap(), "dave");
            assert_eq!(
                a.login(&remote, "dave", pw("secret")).await,
                Err(AuthError::EncryptionRequired)
            );
            assert_eq!(
                a.login(&remote_tls, "dave", pw("secret")).await.unwrap(),
                "dave"
            );
            // Master user logs in as dave.
            assert_eq!(
                a.login(&remote_tls, "dave*root", pw("toor")).await.unwrap(),
                "dave"
            );
            // The refused cleartext attempt counted as one failure; two more reach the limit.
            for _ in 0..2 {
                assert!(matches!(
                    a.login(&remote_tls, "dave", pw("wrong")).await,
                    Err(AuthError::Sasl(SaslError::AuthenticationFailed))
                ));
            }
            assert_eq!(
                a.login(&remote_tls, "dave", pw("secret")).await,
                Err(AuthError::TooManyFailures)
            );
            // Other addresses are not affected; an IPv6 /64 counts as one address.
            assert!(a.login(&lo, "dave", pw("secret")).await.is_ok());
        });
        let v6 = auth(1);
        block_on(async {
            let one = conn("[2001:db8::1]:1", true);
            let two = conn("[2001:db8::2]:1", true);
            let other = conn("[2001:db8:0:1::2]:1", true);
            assert!(v6.login(&one, "dave", pw("x")).await.is_err());
            assert_eq!(
                v6.login(&two, "dave", pw("secret")).await,
                Err(AuthError::TooManyFailures)
            );
            assert!(v6.login(&other, "dave", pw("secret")).await.is_ok());
        });
    }

    #[test]
    fn sasl_plain_with_authzid_checks() {
        let a = auth(10);
        let tls = conn("192.0.2.1:5", true);
        block_on(async {
            let mut ex = a.start_sasl(&tls, "PLAIN", false).await.unwrap();
            let r = a.step(&mut ex, Some(pw("\0dave\0secret"))).await.unwrap();
            assert!(matches!(r, SaslStep::Success { ref user, .. } if user == "dave"));
            // dave may not act as root.
            let mut ex = a.start_sasl(&tls, "PLAIN", false).await.unwrap();
            let r = a.step(&mut ex, Some(pw("root\0dave\0secret"))).await;
            assert_eq!(r, Err(AuthError::Sasl(SaslError::NotAuthorized)));
            // root, a master user, may act as dave.
            let mut ex = a.start_sasl(&tls, "PLAIN", false).await.unwrap();
            let r = a.step(&mut ex, Some(pw("dave\0root\0toor"))).await.unwrap();
            assert!(matches!(r, SaslStep::Success { ref user, .. } if user == "dave"));
            // PLAIN is refused in cleartext from afar.
            let clear = conn("192.0.2.1:5", false);
            let e = a.start_sasl(&clear, "PLAIN", false).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::EncryptionRequired);
        });
    }

    #[test]
    fn scram_plus_needs_and_uses_channel_binding() {
        let a = auth(10);
        let cb = ChannelBinding {
            kind: ChannelBindingType::TlsExporter,
            data: vec![7; 32],
        };
        let mut c = conn("192.0.2.1:5", true);
        assert!(!a.mechanisms(&c).contains(&"SCRAM-SHA-256-PLUS".to_owned()));
        c.channel_binding = Some(cb.clone());
        assert!(a.mechanisms(&c).contains(&"SCRAM-SHA-256-PLUS".to_owned()));
        block_on(async {
            let mut creds = ClientCredentials::password("dave", "secret");
            creds.channel_binding = Some(cb);
            let mut client = ClientSession::new(Mechanism::ScramSha256Plus, creds).unwrap();
            let mut ex = a.start_sasl(&c, "SCRAM-SHA-256-PLUS", false).await.unwrap();
            let first = client.start(true).unwrap();
            let mut step = a.step(&mut ex, first.map(Secret::new)).await.unwrap();
            let user = loop {
                match step {
                    SaslStep::Challenge(ch) => {
                        let resp = client.step(&ch).unwrap();
                        step = a.step(&mut ex, Some(Secret::new(resp))).await.unwrap();
                    }
                    SaslStep::Success {
                        user,
                        additional_data,
                    } => {
                        client.finish(additional_data.as_deref()).unwrap();
                        break user;
                    }
                }
            };
            assert_eq!(user, "dave");
        });
    }
}
