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
use std::sync::Arc;

use clap::Parser;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, TlsMode, serve};
use tokio_util::compat::TokioAsyncReadCompatExt;

#[path = "support/mailboxes.rs"]
mod mailboxes;

/// Serves mailboxes over POP3.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:1110")]
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
    let mut config = Pop3Config::new(m.store, m.auth, runtime);
    config.tls = TlsMode::StartTls(m.tls);
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
