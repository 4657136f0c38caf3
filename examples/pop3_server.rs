//! A POP3 server over a Maildir or an mbox tree, wired from the drivers directly: how an
//! embedding project serves its own mail with `mailhub_mta_core::session::pop3`.
//!
//! ```text
//! printf 'demo:{PLAIN}secret\n' > /tmp/users
//! cargo run --example pop3_server -- --users /tmp/users --maildir /tmp/mail
//! curl -u demo:secret pop3://127.0.0.1:1110/         # list (STLS is offered too)
//! ```
//!
//! Each user's mail is `<maildir>/<user>` (Maildir++), or with `--mbox DIR` the INBOX is
//! `DIR/inbox/<user>` and folders live under `DIR/home/<user>/mail`. STLS uses a self-signed
//! certificate made at start unless `--cert`/`--key` name PEM files.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, TlsMode, serve};
use mailhub_mta_core::store::{MailStore, MaildirStore, MboxStore};
use mailhub_mta_core::tls::{CertSource, ServerTls};
use mailhub_sasl::Registry;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Serves mailboxes over POP3.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:1110")]
    listen: SocketAddr,
    /// passwd-style users file (`user:{SCHEME}hash`).
    #[arg(long)]
    users: PathBuf,
    /// Maildir++ root: one Maildir per user below it.
    #[arg(long, conflicts_with = "mbox")]
    maildir: Option<PathBuf>,
    /// mbox spool directory instead.
    #[arg(long)]
    mbox: Option<PathBuf>,
    /// PEM certificate and key for STLS.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let args = Args::parse();
    let runtime = default_runtime();
    let store: Arc<dyn MailStore> = match (&args.maildir, &args.mbox) {
        (_, Some(dir)) => Arc::new(MboxStore::under(dir, runtime.clone())?),
        (Some(dir), None) => Arc::new(MaildirStore::under(dir, runtime.clone())),
        (None, None) => return Err("give --maildir or --mbox".into()),
    };
    let auth = Authenticator::from_file(
        Registry::default(),
        &args.users,
        AuthPolicy::default(),
        runtime.clone(),
    )?;
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => ServerTls::new(&CertSource::Pem {
            cert: cert.clone(),
            key: key.clone(),
        })?,
        _ => ServerTls::self_signed(&["localhost", "127.0.0.1"])?,
    };
    let mut config = Pop3Config::new(store, Arc::new(auth), runtime);
    config.tls = TlsMode::StartTls(tls);
    let config = Arc::new(config);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("POP3 on {}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            let _ = serve(tcp.compat(), peer, &config).await;
        });
    }
}
