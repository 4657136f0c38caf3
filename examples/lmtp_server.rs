//! An LMTP server (RFC 2033) that delivers into Maildirs: what another MTA (Postfix's
//! `lmtp:` transport, for one) hands final delivery to. Wired from the drivers directly.
//!
//! ```text
//! printf 'demo:{PLAIN}secret\n' > /tmp/users
//! cargo run --example lmtp_server -- --users /tmp/users --maildir /tmp/mail --domain example.test
//! # then, e.g. with Python:
//! python3 -c "import smtplib; l=smtplib.LMTP('127.0.0.1',2424); \
//!   print(l.sendmail('a@b.test',['demo@example.test'],b'Subject: hi\r\n\r\nhello\r\n'))"
//! ```
//!
//! A recipient is accepted when it is a user of the users file in one of the `--domain`s;
//! each gets its own reply after the data, as LMTP requires.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::policy::{Policy, PolicyOptions};
use mailhub_mta_core::route::{AliasTable, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, serve};
use mailhub_mta_core::session::smtp_sink::StoreSink;
use mailhub_mta_core::store::{MailStore, MaildirStore};
use mailhub_sasl::{PasswdFile, Registry};
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Delivers LMTP mail into Maildirs.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:2424")]
    listen: SocketAddr,
    /// passwd-style users file: its users are the valid recipients.
    #[arg(long)]
    users: PathBuf,
    /// Maildir++ root: one Maildir per user below it.
    #[arg(long)]
    maildir: PathBuf,
    /// Local domains (repeatable).
    #[arg(long, required = true)]
    domain: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let args = Args::parse();
    let runtime = default_runtime();
    let users = PasswdFile::load(&args.users)?;
    let known: HashSet<String> = users.entries().map(|e| e.user().to_owned()).collect();
    let route = RouteOptions {
        local_domains: args.domain.iter().map(|d| d.to_ascii_lowercase()).collect(),
        ..RouteOptions::default()
    };
    let router = Router::new(route, AliasTable::default(), Arc::new(known));
    let store: Arc<dyn MailStore> = Arc::new(MaildirStore::under(&args.maildir, runtime.clone()));
    let auth = Authenticator::new(
        Registry::default(),
        users,
        AuthPolicy::default(),
        runtime.clone(),
    );
    let config = Arc::new(SmtpConfig::new(
        SmtpMode::Lmtp,
        "localhost",
        Arc::new(auth),
        Arc::new(Policy::new(PolicyOptions::default())),
        router,
        Arc::new(StoreSink::new(store, 64 * 1024 * 1024)),
        runtime,
    ));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("LMTP on {}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            let _ = serve(tcp.compat(), peer, &config).await;
        });
    }
}
