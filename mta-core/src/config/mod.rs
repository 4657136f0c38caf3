//! The hub's configuration file (TOML) and, with the `tokio` feature, the `Hub` that runs
//! every listener and the queue from it.
//!
//! [`Config::parse`] reads a file into typed sections and checks it before anything starts:
//! a syntax error, an unknown key, a value of the wrong type or an address that does not
//! parse is a [`ConfigError::Invalid`] naming the file, line and column. [`DEFAULT_CONFIG`]
//! is the embedded default (loopback only, unprivileged ports, `./mailhub-data`), the same
//! text as the annotated `mailhub.toml` at the repository root.
//!
//! [`prepare`] makes the data directory ready on first start — the folders, a self-signed
//! certificate (RFC 8314 §5.1 asks for TLS on every service), the users file with one demo
//! user whose password is generated — and builds the routing, policy, queue and
//! authentication options the session drivers take.
//!
//! With the `tokio` feature, `Hub` runs it all: `run_as` drops root after the
//! listeners are bound (the `privilege` module), and a control socket in the data directory
//! serves the running queue to `mailhub_admin` (the `control` module).

mod setup;

#[cfg(feature = "tokio")]
pub mod control;
#[cfg(feature = "tokio")]
mod hub;
#[cfg(feature = "tokio")]
mod privilege;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::IpNet;

#[cfg(feature = "tokio")]
pub use hub::{Bound, Hub, HubError};
#[cfg(feature = "tokio")]
pub use privilege::{PrivilegeError, RunAs};
pub use setup::{DemoUser, Prepared, generate_password, prepare};

/// The embedded default configuration (`cargo run --example full_mailhub` without
/// `--config`).
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not valid: a syntax error, an unknown key, a wrong type or value.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        /// The file (`<default>` for the embedded one).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Preparing the data directory (folders, certificate, users file) failed.
    #[error("{path}: {message}")]
    Setup {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    pub server: ServerSection,
    /// `[listen]`.
    #[serde(default)]
    pub listen: ListenSection,
    /// `[tls]`.
    #[serde(default)]
    pub tls: TlsSection,
    /// `[auth]`.
    pub auth: AuthSection,
    /// `[domains]`.
    pub domains: DomainsSection,
    /// `[store]`.
    pub store: StoreSection,
    /// `[relay]`.
    #[serde(default)]
    pub relay: RelaySection,
    /// `[limits]`.
    pub limits: LimitsSection,
    /// `[queue]`.
    pub queue: QueueSection,
    /// `[policy]`.
    #[serde(default)]
    pub policy: PolicySection,
    /// `[delivery]`.
    #[serde(default)]
    pub delivery: DeliverySection,
    /// The file this configuration was read from ([`Config::load`]); a reload (SIGHUP)
    /// reads it again. `None` for the embedded default and [`Config::parse`].
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// The host name in greetings, `Received:` fields and DSNs.
    pub hostname: String,
    /// Where everything lives (relative to the working directory).
    pub data_dir: PathBuf,
    /// Log level for the embedder's subscriber.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Started as root: the user to switch to once the listeners are bound, before any mail
    /// is touched. Started as that user already: nothing to do; as another user: an error.
    #[serde(default)]
    pub run_as: Option<String>,
}

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The name a tracing filter takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// A service a listener runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// SMTP as an MTA, STARTTLS offered.
    Smtp,
    /// Submission with STARTTLS, AUTH required (RFC 6409).
    Submission,
    /// Submission over implicit TLS (RFC 8314 §3.3).
    Submissions,
    /// IMAP with STARTTLS.
    Imap,
    /// IMAP over implicit TLS.
    Imaps,
    /// POP3 with STLS.
    Pop3,
    /// POP3 over implicit TLS.
    Pop3s,
    /// LMTP (RFC 2033).
    Lmtp,
}

impl Service {
    /// Every service, in banner order.
    pub const ALL: [Service; 8] = [
        Service::Smtp,
        Service::Submission,
        Service::Submissions,
        Service::Imap,
        Service::Imaps,
        Service::Pop3,
        Service::Pop3s,
        Service::Lmtp,
    ];

    /// The key in `[listen]`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Submissions => "submissions",
            Service::Imap => "imap",
            Service::Imaps => "imaps",
            Service::Pop3 => "pop3",
            Service::Pop3s => "pop3s",
            Service::Lmtp => "lmtp",
        }
    }

    /// Whether TLS starts with the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(self, Service::Submissions | Service::Imaps | Service::Pop3s)
    }
}

/// `[listen]`: addresses per service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct ListenSection {
    pub smtp: Vec<SocketAddr>,
    pub submission: Vec<SocketAddr>,
    pub submissions: Vec<SocketAddr>,
    pub imap: Vec<SocketAddr>,
    pub imaps: Vec<SocketAddr>,
    pub pop3: Vec<SocketAddr>,
    pub pop3s: Vec<SocketAddr>,
    pub lmtp: Vec<SocketAddr>,
}

impl ListenSection {
    /// The addresses of one service.
    pub fn get(&self, s: Service) -> &Vec<SocketAddr> {
        match s {
            Service::Smtp => &self.smtp,
            Service::Submission => &self.submission,
            Service::Submissions => &self.submissions,
            Service::Imap => &self.imap,
            Service::Imaps => &self.imaps,
            Service::Pop3 => &self.pop3,
            Service::Pop3s => &self.pop3s,
            Service::Lmtp => &self.lmtp,
        }
    }

    /// The addresses of one service, to change them (tests use port 0).
    pub fn get_mut(&mut self, s: Service) -> &mut Vec<SocketAddr> {
        match s {
            Service::Smtp => &mut self.smtp,
            Service::Submission => &mut self.submission,
            Service::Submissions => &mut self.submissions,
            Service::Imap => &mut self.imap,
            Service::Imaps => &mut self.imaps,
            Service::Pop3 => &mut self.pop3,
            Service::Pop3s => &mut self.pop3s,
            Service::Lmtp => &mut self.lmtp,
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain; with `key`. Without both: a self-signed certificate.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// The passwd-style users file.
    pub users_file: PathBuf,
    /// The demo user made when the users file does not exist ("" for none).
    #[serde(default)]
    pub demo_user: String,
    /// When passwords may cross without TLS.
    #[serde(default)]
    pub plaintext: PlaintextSetting,
}

/// `[auth] plaintext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum PlaintextSetting {
    Never,
    #[default]
    Loopback,
    Always,
}

/// `[domains]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainsSection {
    /// Local domains.
    pub local: Vec<String>,
    /// The aliases file (missing: no aliases).
    #[serde(default)]
    pub aliases_file: Option<PathBuf>,
    /// The plus-addressing separator ("" off).
    #[serde(default)]
    pub recipient_delimiter: String,
    /// The user for postmaster/abuse and double bounces.
    pub postmaster: String,
    /// Virtual domains by name.
    #[serde(default, rename = "virtual")]
    pub virtual_domains: BTreeMap<String, VirtualSection>,
}

/// `[domains.virtual."name"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualSection {
    /// Local part → user.
    #[serde(default)]
    pub mailboxes: BTreeMap<String, String>,
    /// Where other local parts go.
    #[serde(default)]
    pub catch_all: Option<String>,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Maildir or mbox.
    pub kind: StoreKind,
    /// Where users' mail lives.
    pub path: PathBuf,
    /// mbox quota per user in octets (0: none).
    #[serde(default)]
    pub quota: u64,
}

/// `[store] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum StoreKind {
    Maildir,
    Mbox,
}

/// `[relay]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySection {
    /// Networks that may relay without AUTH.
    #[serde(default, deserialize_with = "nets")]
    pub networks: Vec<IpNet>,
    /// `host:port` all remote mail goes to.
    #[serde(default)]
    pub smart_host: Option<String>,
    /// AUTH user at the smart host.
    #[serde(default)]
    pub smart_host_user: Option<String>,
    /// AUTH password at the smart host.
    #[serde(default)]
    pub smart_host_password: Option<String>,
}

fn nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            s.parse::<IpNet>().map_err(|_| {
                serde::de::Error::custom(format!("{s:?} is not a network (like 10.0.0.0/8)"))
            })
        })
        .collect()
}

/// `[delivery]`: how the queue hands mail on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    /// Local mail goes to this LMTP server (RFC 2033) instead of the hub's own store:
    /// `"host:port"` or `"unix:/path/to/socket"`. `None`: the hub's store.
    #[serde(default)]
    pub lmtp: Option<String>,
    /// How recipients are named to the LMTP server.
    #[serde(default)]
    pub lmtp_recipient: LmtpRecipientSetting,
    /// Whether `|command` alias and `.forward` targets run (off by default: a program run by
    /// the mail system is a classic hole). The hub refuses to start with this on while it
    /// runs as root: set `[server] run_as`.
    #[serde(default)]
    pub programs: bool,
    /// Whether `/path` alias and `.forward` targets are appended to, in mbox format (off by
    /// default).
    #[serde(default)]
    pub files: bool,
    /// Whether users' `.forward` files (`<data_dir>/forward/<user>`) are read (off by
    /// default).
    #[serde(default)]
    pub forward_files: bool,
    /// A program running longer is killed and the recipient bounced (Postfix's
    /// `command_time_limit`); 0 or left out: 1000 s.
    #[serde(default)]
    pub program_timeout_secs: u64,
}

/// `[delivery] lmtp_recipient`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LmtpRecipientSetting {
    /// The address as it was queued (what Dovecot and Cyrus expect when they know the
    /// domains).
    #[default]
    Address,
    /// The local user the address was routed to (after aliases), `user+folder@domain`.
    User,
}

/// Where `[delivery] lmtp` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LmtpAddress {
    Tcp(String, u16),
    Unix(PathBuf),
}

/// Parses `[delivery] lmtp`: `unix:/absolute/path` or `host:port` (not port 25, RFC 2033 §5).
pub(crate) fn lmtp_address(s: &str) -> Option<LmtpAddress> {
    if let Some(path) = s.strip_prefix("unix:") {
        let path = Path::new(path);
        return path
            .is_absolute()
            .then(|| LmtpAddress::Unix(path.to_owned()));
    }
    let (host, port) = split_host_port(s)?;
    (port != 0 && port != 25).then_some(LmtpAddress::Tcp(host, port))
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LimitsSection {
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

/// `[policy]`: what a reload (SIGHUP) re-reads besides users and aliases. Every key has a
/// default, so the section may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    /// The access table (`client`/`helo`/`sender`/`recipient` rules, see
    /// [`crate::policy::AccessTable`]); a missing file is an empty table.
    pub access_file: Option<PathBuf>,
    /// Messages accepted per client address (/64 for IPv6) per `rate_window_secs`.
    pub max_messages_per_client: u32,
    /// Messages accepted per authenticated user per `rate_window_secs`.
    pub max_messages_per_user: u32,
    /// The rate-limit window in seconds.
    pub rate_window_secs: u64,
    /// SPF, DKIM and DMARC checks of incoming mail through the system's DNS resolvers, with
    /// an `Authentication-Results:` field named after `hostname` (mta-core's `mail-auth`
    /// feature; the examples have it). Forged results under that name are removed. Read at
    /// start only.
    pub mail_auth: bool,
    /// With `mail_auth`: refuse (550 5.7.1) a DMARC failure whose domain publishes
    /// `p=reject`. Off: the result is only recorded.
    pub mail_auth_reject_dmarc: bool,
}

impl Default for PolicySection {
    fn default() -> Self {
        let d = crate::policy::PolicyOptions::default();
        PolicySection {
            access_file: None,
            max_messages_per_client: d.max_messages_per_client,
            max_messages_per_user: d.max_messages_per_user,
            rate_window_secs: d.rate_window.as_secs(),
            mail_auth: false,
            mail_auth_reject_dmarc: false,
        }
    }
}

/// `[queue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct QueueSection {
    pub path: PathBuf,
    pub retry_initial_secs: u64,
    pub retry_max_secs: u64,
    pub max_lifetime_hours: u64,
}

impl Config {
    /// The embedded default configuration.
    pub fn default_config() -> Config {
        Config::parse(DEFAULT_CONFIG, "<default>").expect("the embedded configuration is valid")
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let mut config = Config::parse(&text, &file)?;
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Parses and checks `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Invalid {
                file: file.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        config.validate(text, file)?;
        Ok(config)
    }

    /// Checks what types alone cannot; errors point at the key's line.
    fn validate(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            let (line, column) = find_key(text, key);
            Err(ConfigError::Invalid {
                file: file.to_owned(),
                line,
                column,
                message,
            })
        };
        if self.server.hostname.is_empty() || self.server.hostname.contains(char::is_whitespace) {
            return fail("hostname", "hostname must be a host name".into());
        }
        if let Some(u) = &self.server.run_as
            && (u.is_empty()
                || u.len() > 32
                || u.starts_with('-')
                || !u
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return fail("run_as", format!("run_as = {u:?} is not a user name"));
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return fail("cert", "tls.cert and tls.key go together".into());
        }
        if self.domains.local.is_empty() {
            return fail("local", "at least one local domain is needed".into());
        }
        if self.domains.local.iter().any(|d| !valid_domain(d)) {
            return fail("local", "a local domain is not a domain name".into());
        }
        if self.domains.recipient_delimiter.chars().count() > 1 {
            return fail(
                "recipient_delimiter",
                "recipient_delimiter is one character or empty".into(),
            );
        }
        if self.domains.postmaster.is_empty() {
            return fail("postmaster", "postmaster names a local user".into());
        }
        let mut seen = std::collections::HashSet::new();
        for s in Service::ALL {
            for a in self.listen.get(s) {
                if a.port() != 0 && !seen.insert(*a) {
                    return fail(s.name(), format!("{a} is used by two listeners"));
                }
            }
        }
        if let Some(h) = &self.relay.smart_host
            && split_host_port(h).is_none()
        {
            return fail("smart_host", format!("{h:?} is not host:port"));
        }
        if self.relay.smart_host_user.is_some() != self.relay.smart_host_password.is_some() {
            return fail(
                "smart_host_user",
                "smart_host_user and smart_host_password go together".into(),
            );
        }
        if self.limits.max_message_size == 0 || self.limits.max_recipients == 0 {
            return fail("max_message_size", "limits must be positive".into());
        }
        if self.policy.rate_window_secs == 0 {
            return fail(
                "rate_window_secs",
                "rate_window_secs must be positive".into(),
            );
        }
        if self.policy.mail_auth && !cfg!(feature = "mail-auth") {
            return fail(
                "mail_auth",
                "mail_auth needs mailhub-mta-core's `mail-auth` feature".into(),
            );
        }
        if let Some(l) = &self.delivery.lmtp
            && lmtp_address(l).is_none()
        {
            return fail(
                "delivery.lmtp",
                format!(
                    "lmtp = {l:?} is neither \"host:port\" (not port 25) nor \"unix:/absolute/path\""
                ),
            );
        }
        if self.queue.retry_initial_secs == 0
            || self.queue.retry_max_secs < self.queue.retry_initial_secs
        {
            return fail(
                "retry_initial_secs",
                "retry_initial_secs must be positive and at most retry_max_secs".into(),
            );
        }
        Ok(())
    }

    /// A path from the file, relative to the data directory unless absolute.
    pub fn path(&self, p: &Path) -> PathBuf {
        self.server.data_dir.join(p)
    }

    /// Every listener address with its service, in banner order.
    pub fn listeners(&self) -> Vec<(Service, SocketAddr)> {
        Service::ALL
            .iter()
            .flat_map(|&s| self.listen.get(s).iter().map(move |&a| (s, a)))
            .collect()
    }
}

/// `host:port` split, the port a number.
pub(crate) fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(())?;
    Some((host.to_owned(), port.parse().ok()?))
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The line where `key = ` is set (not in a comment); line 1 when it is not there.
/// Where `key` is set: its line and column. `"section.key"` looks only after the line
/// `[section]`, for keys that more than one section has (`lmtp`, `path`).
fn find_key(text: &str, key: &str) -> (usize, usize) {
    let (section, key) = match key.split_once('.') {
        Some((section, key)) => (Some(format!("[{section}]")), key),
        None => (None, key),
    };
    let mut inside = section.is_none();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if let Some(section) = &section
            && t.starts_with('[')
        {
            inside = t.trim_end() == section;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return (i + 1, l.len() - t.len() + 1);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_offsets() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(find_key("# a = 1\n  a = 2\n", "a"), (2, 3));
        let two = "[x]\na = 1\n[y]\nb = 2\na = 3\n";
        assert_eq!(find_key(two, "y.a"), (5, 1));
        assert_eq!(find_key(two, "x.a"), (1 + 1, 1));
    }

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("h.test:587"), Some(("h.test".into(), 587)));
        assert_eq!(split_host_port("[::1]:25"), Some(("::1".into(), 25)));
        assert_eq!(split_host_port("h.test"), None);
        assert_eq!(split_host_port(":25"), None);
    }
}
