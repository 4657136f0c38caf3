//! What the `imap_server` and `pop3_server` examples share: the command-line arguments that
//! say where users and their mail are and which certificate TLS uses, and what they build.

use std::path::PathBuf;
use std::sync::Arc;

use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::SharedRuntime;
use mailhub_mta_core::store::{MailStore, MaildirStore, MboxStore};
use mailhub_mta_core::tls::{CertSource, ServerTls};
use mailhub_sasl::Registry;

/// Users, their mail and the TLS certificate.
#[derive(clap::Args)]
pub(crate) struct MailboxArgs {
    /// passwd-style users file (`user:{SCHEME}hash`).
    #[arg(long)]
    users: PathBuf,
    /// Maildir++ root: one Maildir per user below it.
    #[arg(long, conflicts_with = "mbox")]
    maildir: Option<PathBuf>,
    /// mbox spool directory instead.
    #[arg(long)]
    mbox: Option<PathBuf>,
    /// PEM certificate and key for STARTTLS/STLS (left out: a self-signed one made now).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
}

/// What a mail-access server needs: the store, the authenticator over the users file, and
/// the TLS configuration.
pub(crate) struct Mailboxes {
    pub(crate) store: Arc<dyn MailStore>,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) tls: ServerTls,
}

impl MailboxArgs {
    /// Opens the store and the users file and loads (or makes) the certificate.
    pub(crate) fn open(
        &self,
        runtime: SharedRuntime,
    ) -> Result<Mailboxes, Box<dyn std::error::Error>> {
        let store: Arc<dyn MailStore> = match (&self.maildir, &self.mbox) {
            (_, Some(dir)) => Arc::new(MboxStore::under(dir, runtime.clone())?),
            (Some(dir), None) => Arc::new(MaildirStore::under(dir, runtime.clone())),
            (None, None) => return Err("give --maildir or --mbox".into()),
        };
        let auth = Authenticator::from_file(
            Registry::default(),
            &self.users,
            AuthPolicy::default(),
            runtime,
        )?;
        let tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => ServerTls::new(&CertSource::Pem {
                cert: cert.clone(),
                key: key.clone(),
            })?,
            _ => ServerTls::self_signed(&["localhost", "127.0.0.1"])?,
        };
        Ok(Mailboxes {
            store,
            auth: Arc::new(auth),
            tls,
        })
    }
}
