//! Small administration commands for a hub's data directory (the same `--config` as
//! `full_mailhub`): set a password (adding the user when new; only a hash is written) and
//! show a user's quota.
//!
//! ```text
//! MAILHUB_PASSWORD=s3cret cargo run --example mailhub_admin -- passwd alice
//! cargo run --example mailhub_admin -- passwd bob        # generates and prints a password
//! cargo run --example mailhub_admin -- quota demo
//! kill -HUP <pid of full_mailhub>                        # the running hub reloads its users
//! ```

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mailhub_mta_core::config::Config;
use mailhub_mta_core::runtime::default_runtime;

/// Administers a mailhub data directory.
#[derive(Parser)]
struct Args {
    /// The configuration file (default: the embedded one).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sets a user's password from $MAILHUB_PASSWORD, or a generated one (printed).
    Passwd { user: String },
    /// Shows a user's storage use and limit.
    Quota { user: String },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_config(),
    };
    mailhub_mta_core::config::prepare(&config)?;
    match args.command {
        Command::Passwd { user } => {
            let (password, generated) = match std::env::var("MAILHUB_PASSWORD") {
                Ok(p) => (p, false),
                Err(_) => (mailhub_mta_core::config::generate_password(), true),
            };
            let new = config.set_password(&user, &password)?;
            println!("{} {user}", if new { "added" } else { "updated" });
            if generated {
                println!("password: {password}");
            }
        }
        Command::Quota { user } => {
            let store = config.store(default_runtime())?;
            match store.open(&user).await?.quota().await? {
                Some(q) => println!(
                    "{user}: {} octets in {} messages, limit {}",
                    q.storage_used,
                    q.messages_used,
                    q.storage_limit.map_or("none".into(), |l| l.to_string())
                ),
                None => println!("{user}: no quota"),
            }
        }
    }
    Ok(())
}
