//! An IMAP server over a Maildir or an mbox tree, wired from the drivers directly: how an
//! embedding project serves its own mail with `mailhub_mta_core::session::imap`.
//!
//! ```text
//! printf 'demo:{PLAIN}secret\n' > /tmp/users
//! cargo run --example imap_server -- --users /tmp/users --maildir /tmp/mail
//! curl -u demo:secret 'imap://127.0.0.1:1143/INBOX;UID=1'   # STARTTLS is offered too
//! ```
//!
//! Each user's mail is `<maildir>/<user>` (Maildir++), or with `--mbox DIR` the INBOX is
//! `DIR/inbox/<user>` and folders live under `DIR/home/<user>/mail`. STARTTLS uses a self-signed
//! certificate made at start unless `--cert`/`--key` name PEM files.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::imap::{ImapConfig, TlsMode, serve};
use tokio_util::compat::TokioAsyncReadCompatExt;

#[path = "support/mailboxes.rs"]
mod mailboxes;

/// Serves mailboxes over IMAP.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:1143")]
    listen: SocketAddr,
    #[command(flatten)]
    mailboxes: mailboxes::MailboxArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let args = Args::parse();
    let runtime = default_runtime();
    let m = args.mailboxes.open(runtime.clone())?;
    let mut config = ImapConfig::new(m.store, m.auth, runtime);
    config.tls = TlsMode::StartTls(m.tls);
    let config = Arc::new(config);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("IMAP on {}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            let _ = serve(tcp.compat(), peer, &config).await;
        });
    }
}
