//! An MTA that accepts mail for its local domains (port 25 style, STARTTLS offered) and
//! delivers it through the durable queue into Maildirs: the hub with only its SMTP listener.
//!
//! ```text
//! cargo run --example smtp_server                          # 127.0.0.1:2525, ./mailhub-data
//! cargo run --example smtp_server -- --config mailhub.toml # domains, paths, limits from a file
//! printf 'Subject: hi\r\n\r\nhello\r\n' | curl -sS smtp://127.0.0.1:2525 \
//!     --mail-from you@example.net --mail-rcpt demo@localhost -T -
//! ls mailhub-data/mail/demo/new
//! ```
//!
//! Mail to other domains is refused unless the client is in `[relay] networks`; see
//! `full_mailhub` for everything together.

use std::path::PathBuf;

use clap::Parser;
use mailhub_mta_core::config::{Config, Hub, Service};

/// Runs an SMTP MTA.
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
    for s in Service::ALL.into_iter().filter(|s| *s != Service::Smtp) {
        config.listen.get_mut(s).clear();
    }
    let hub = Hub::start(config).await?;
    println!("{}", hub.banner());
    hub.run_until_signal().await?;
    Ok(())
}
