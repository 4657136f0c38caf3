//! First start and the options the drivers take, built from a [`Config`].

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mailhub_sasl::passwd::{Scheme, line};
use mailhub_sasl::random::{OsRandom, RandomSource};
use mailhub_sasl::{Mechanism, PasswdFile, Registry, Secret};

use super::{Config, ConfigError, PlaintextSetting, StoreKind};
use crate::auth::{AuthPolicy, Plaintext};
use crate::bounce::DsnOptions;
use crate::policy::{AccessTable, PolicyOptions};
use crate::queue::QueueOptions;
use crate::route::{AliasLimits, AliasTable, Destination, RouteOptions, Router, VirtualDomain};
use crate::runtime::SharedRuntime;
use crate::store::{MailStore, MaildirStore, MboxStore};
use crate::tls::{ServerTls, self_signed_pem};

/// The demo user made on first start.
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// Login name (also the local part of its address).
    pub name: String,
    /// The generated password (kept in `<data_dir>/demo-password`, mode 0600).
    pub password: Secret<String>,
}

/// What [`prepare`] made ready.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The server TLS configuration.
    pub tls: ServerTls,
    /// The certificate file (a client's trust anchor when self-signed).
    pub cert_path: PathBuf,
    /// Whether the certificate is the generated self-signed one.
    pub self_signed: bool,
    /// The users file.
    pub users_path: PathBuf,
    /// The demo user, when configured and its password file exists.
    pub demo: Option<DemoUser>,
}

fn setup_err(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Setup {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Writes `data` to `path` through a temporary file and a rename, readable by the owner only.
fn write_private(path: &Path, data: &[u8]) -> Result<(), ConfigError> {
    let tmp = path.with_extension("tmp");
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).map_err(|e| setup_err(&tmp, e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| setup_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| setup_err(path, e))
}

/// A password of 16 letters and digits: easy to paste into a URL or a shell.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut raw = [0u8; 16];
    OsRandom.fill(&mut raw);
    // 256 is not a multiple of the alphabet's size; the bias is a fraction of a bit.
    raw.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Makes the data directory ready: its folders, the certificate (self-signed, made once, when
/// the file names none) and, when the users file does not exist, the users file with the
/// demo user. Safe to call on every start: what exists is kept.
pub fn prepare(config: &Config) -> Result<Prepared, ConfigError> {
    let data = &config.server.data_dir;
    for dir in [
        data.clone(),
        config.path(&config.store.path),
        config.path(&config.queue.path),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| setup_err(&dir, e))?;
    }
    let (cert_path, key_path, self_signed) = match (&config.tls.cert, &config.tls.key) {
        (Some(c), Some(k)) => (config.path(c), config.path(k), false),
        _ => {
            let dir = data.join("tls");
            std::fs::create_dir_all(&dir).map_err(|e| setup_err(&dir, e))?;
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !c.exists() || !k.exists() {
                let mut names = vec![config.server.hostname.clone()];
                for n in ["localhost", "127.0.0.1", "::1"] {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_owned());
                    }
                }
                let (cert, key) = self_signed_pem(&names).map_err(|e| setup_err(&c, e))?;
                write_private(&k, key.as_bytes())?;
                write_private(&c, cert.as_bytes())?;
            }
            (c, k, true)
        }
    };
    let cert = std::fs::read(&cert_path).map_err(|e| setup_err(&cert_path, e))?;
    let key = std::fs::read(&key_path).map_err(|e| setup_err(&key_path, e))?;
    let tls = ServerTls::from_pem(&cert, &key).map_err(|e| setup_err(&cert_path, e))?;

    let users_path = config.path(&config.auth.users_file);
    let demo_name = &config.auth.demo_user;
    let demo_file = data.join("demo-password");
    if !users_path.exists() {
        let mut text =
            String::from("# mailhub users: user:{SCHEME}hash (see mailhub_sasl::passwd)\n");
        if !demo_name.is_empty() {
            let password = generate_password();
            let l = line(
                demo_name,
                Scheme::ScramSha256,
                password.as_bytes(),
                &mut OsRandom,
            )
            .map_err(|e| setup_err(&users_path, e))?;
            text.push_str(&l);
            text.push('\n');
            write_private(&demo_file, format!("{password}\n").as_bytes())?;
        }
        write_private(&users_path, text.as_bytes())?;
    }
    let demo = if demo_name.is_empty() {
        None
    } else {
        std::fs::read_to_string(&demo_file).ok().map(|p| DemoUser {
            name: demo_name.clone(),
            password: Secret::new(p.trim().to_owned()),
        })
    };
    Ok(Prepared {
        tls,
        cert_path,
        self_signed,
        users_path,
        demo,
    })
}

impl Config {
    /// Sets `user`'s password in the users file, hashed (SCRAM-SHA-256, never plaintext),
    /// adding the user when new; every other line is kept as it was. Returns whether the
    /// user was new. A running hub sees the change on its next reload (SIGHUP).
    pub fn set_password(&self, user: &str, password: &str) -> Result<bool, ConfigError> {
        let path = self.path(&self.auth.users_file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(setup_err(&path, e)),
        };
        let new_line = line(
            user,
            Scheme::ScramSha256,
            password.as_bytes(),
            &mut OsRandom,
        )
        .map_err(|e| setup_err(&path, e))?;
        let mut out = String::with_capacity(text.len() + new_line.len() + 1);
        let mut found = false;
        for l in text.lines() {
            if !l.starts_with('#') && l.split(':').next() == Some(user) {
                if !found {
                    out.push_str(&new_line);
                    out.push('\n');
                }
                found = true;
            } else {
                out.push_str(l);
                out.push('\n');
            }
        }
        if !found {
            out.push_str(&new_line);
            out.push('\n');
        }
        // Never write a file the hub would then refuse to load.
        PasswdFile::parse(&out).map_err(|e| setup_err(&path, e))?;
        #[cfg(unix)]
        let owner = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&path).ok().map(|m| (m.uid(), m.gid()))
        };
        write_private(&path, out.as_bytes())?;
        // Run by root for a hub that runs as another user (`run_as`): the new file keeps the
        // old one's owner, or the hub could no longer read it on reload.
        #[cfg(unix)]
        if let Some((uid, gid)) = owner {
            use std::os::unix::fs::MetadataExt;
            let now = std::fs::metadata(&path).map_err(|e| setup_err(&path, e))?;
            if (now.uid(), now.gid()) != (uid, gid) {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .map_err(|e| setup_err(&path, e))?;
            }
        }
        Ok(!found)
    }

    /// The mail store the file configures (Maildir, or mbox with INBOX files under
    /// `<path>/inbox` and folders under `<path>/home/<user>/mail`); makes its folders.
    pub fn store(&self, runtime: SharedRuntime) -> Result<Arc<dyn MailStore>, ConfigError> {
        let mail = self.path(&self.store.path);
        Ok(match self.store.kind {
            StoreKind::Maildir => Arc::new(MaildirStore::under(mail, runtime)),
            StoreKind::Mbox => {
                let s = MboxStore::under(&mail, runtime).map_err(|e| setup_err(&mail, e))?;
                Arc::new(match self.store.quota {
                    0 => s,
                    q => s.with_quota(q),
                })
            }
        })
    }

    /// Loads the users file.
    pub fn load_users(&self) -> Result<PasswdFile, ConfigError> {
        let p = self.path(&self.auth.users_file);
        PasswdFile::load(&p).map_err(|e| setup_err(&p, e))
    }

    /// Loads the aliases file (missing: an empty table), with its `:include:` files.
    pub fn load_aliases(&self) -> Result<AliasTable, ConfigError> {
        let Some(f) = &self.domains.aliases_file else {
            return Ok(AliasTable::default());
        };
        let p = self.path(f);
        if !p.exists() {
            return Ok(AliasTable::default());
        }
        let limits = AliasLimits::default();
        let mut t = AliasTable::load(&p, &limits).map_err(|e| setup_err(&p, e))?;
        t.load_includes(&limits).map_err(|e| setup_err(&p, e))?;
        Ok(t)
    }

    /// Loads `[policy] access_file` (not set, or missing: an empty table). A syntax error
    /// names the file and line.
    pub fn load_access(&self) -> Result<AccessTable, ConfigError> {
        let Some(f) = &self.policy.access_file else {
            return Ok(AccessTable::default());
        };
        let p = self.path(f);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AccessTable::default());
            }
            Err(e) => return Err(setup_err(&p, e)),
        };
        AccessTable::parse(&text).map_err(|e| setup_err(&p, e))
    }

    /// The SASL mechanisms offered: those a SCRAM-SHA-256 entry (what the hub writes) serves.
    pub fn registry(&self) -> Registry {
        Registry::new([
            Mechanism::ScramSha256Plus,
            Mechanism::ScramSha256,
            Mechanism::Plain,
            Mechanism::Login,
        ])
    }

    /// The authenticator's knobs.
    pub fn auth_policy(&self) -> AuthPolicy {
        AuthPolicy {
            plaintext: match self.auth.plaintext {
                PlaintextSetting::Never => Plaintext::Never,
                PlaintextSetting::Loopback => Plaintext::Loopback,
                PlaintextSetting::Always => Plaintext::Always,
            },
            hostname: self.server.hostname.clone(),
            ..AuthPolicy::default()
        }
    }

    /// Routing: local and virtual domains, plus-addressing, postmaster.
    pub fn route_options(&self) -> RouteOptions {
        let lower = |s: &String| s.to_ascii_lowercase();
        let mut o = RouteOptions {
            local_domains: self.domains.local.iter().map(lower).collect(),
            recipient_delimiter: self.domains.recipient_delimiter.chars().next(),
            postmaster: self.domains.postmaster.clone(),
            allow_programs: self.delivery.programs,
            allow_files: self.delivery.files,
            forward_files: self.delivery.forward_files,
            ..RouteOptions::default()
        };
        for (name, v) in &self.domains.virtual_domains {
            o.virtual_domains.insert(
                name.to_ascii_lowercase(),
                VirtualDomain {
                    mailboxes: v
                        .mailboxes
                        .iter()
                        .map(|(k, u)| (k.to_ascii_lowercase(), u.clone()))
                        .collect::<HashMap<_, _>>(),
                    aliases: HashMap::new(),
                    catch_all: v.catch_all.clone(),
                },
            );
        }
        o
    }

    /// A router over the users of `users` and `aliases`.
    pub fn router(&self, users: &PasswdFile, aliases: AliasTable) -> Router {
        let mut known: HashSet<String> = users.entries().map(|e| e.user().to_owned()).collect();
        // Postmaster mail must have somewhere to go even before the user logs in once.
        known.insert(self.domains.postmaster.clone());
        let router = Router::new(self.route_options(), aliases, Arc::new(known));
        if self.delivery.forward_files {
            router.with_forward_files(Arc::new(ForwardDir(self.path(Path::new("forward")))))
        } else {
            router
        }
    }

    /// Relay control, the access table `access` (from [`Config::load_access`]), rate and
    /// size limits for the MTA listeners; `submission` requires AUTH.
    pub fn policy_options(&self, submission: bool, access: AccessTable) -> PolicyOptions {
        PolicyOptions {
            relay_networks: self.relay.networks.clone(),
            access,
            max_message_size: self.limits.max_message_size,
            max_recipients: self.limits.max_recipients,
            require_auth: submission,
            sender_login_match: submission,
            max_messages_per_client: self.policy.max_messages_per_client,
            max_messages_per_user: self.policy.max_messages_per_user,
            rate_window: Duration::from_secs(self.policy.rate_window_secs),
            ..PolicyOptions::default()
        }
    }

    /// The queue's knobs.
    pub fn queue_options(&self) -> QueueOptions {
        QueueOptions {
            retry_initial: Duration::from_secs(self.queue.retry_initial_secs),
            retry_max: Duration::from_secs(self.queue.retry_max_secs),
            max_lifetime: Duration::from_secs(self.queue.max_lifetime_hours * 3600),
            max_message: self.limits.max_message_size,
            dsn: DsnOptions::new(&self.server.hostname),
            postmaster: Destination::Local {
                user: self.domains.postmaster.clone(),
                folder: None,
            },
            ..QueueOptions::default()
        }
    }
}

/// `.forward` files kept as `<dir>/<user>` (the hub's users have no home directories).
#[derive(Debug)]
struct ForwardDir(PathBuf);

/// A `.forward` longer than this is ignored (and logged), as a broken one would be.
const MAX_FORWARD: u64 = 64 * 1024;

impl crate::route::ForwardFiles for ForwardDir {
    fn forward(&self, user: &str) -> Option<String> {
        // The router only asks for local users, but a name is a path component here.
        if user.is_empty() || user.starts_with('.') || user.contains(['/', '\\', '\0']) {
            return None;
        }
        let path = self.0.join(user);
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > MAX_FORWARD {
            tracing::warn!(path = %path.display(), "ignoring a .forward that is not a small file");
            return None;
        }
        std::fs::read_to_string(&path).ok()
    }
}
