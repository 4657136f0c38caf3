//! Message submission (RFC 6409) on port-587 style (STARTTLS) and port-465 style (implicit
//! TLS, RFC 8314) listeners: AUTH required, the sender must be the user's own address, and
//! accepted mail goes through the queue (local users' mailboxes, or the configured smart
//! host for other domains).
//!
//! ```text
//! cargo run --example submission_server     # 127.0.0.1:2587 and :2465; prints the demo user
//! python3 -c "import smtplib,ssl; s=smtplib.SMTP('127.0.0.1',2587); \
//!   s.starttls(context=ssl.create_default_context(cafile='mailhub-data/tls/cert.pem')); \
//!   s.login('demo', open('mailhub-data/demo-password').read().strip()); \
//!   s.sendmail('demo@localhost',['demo@localhost'],b'Subject: hi\r\n\r\nhello\r\n')"
//! ```

use std::path::PathBuf;

use clap::Parser;
use mailhub_mta_core::config::{Config, Hub, Service};

/// Runs a submission server.
#[derive(Parser)]
struct Args {
    /// The configuration file (default: the embedded one).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_config(),
    };
    let keep = [Service::Submission, Service::Submissions];
    for s in Service::ALL.into_iter().filter(|s| !keep.contains(s)) {
        config.listen.get_mut(s).clear();
    }
    let hub = Hub::start(config).await?;
    println!("{}", hub.banner());
    hub.run_until_signal().await?;
    Ok(())
}
