//! Small administration commands for a hub's data directory (the same `--config` as
//! `full_mailhub`): set a password (adding the user when new; only a hash is written), show
//! a user's quota, and manage the running hub's queue and reload it through its control
//! socket (`<data_dir>/control`; the queue is never opened a second time).
//!
//! ```text
//! MAILHUB_PASSWORD=s3cret cargo run --example mailhub_admin -- passwd alice
//! cargo run --example mailhub_admin -- passwd bob        # generates and prints a password
//! cargo run --example mailhub_admin -- quota demo
//! cargo run --example mailhub_admin -- reload            # like kill -HUP <pid of full_mailhub>
//! cargo run --example mailhub_admin -- queue list        # <id> <size> <arrival> <state> <sender> <pending>/<rcpts>
//! cargo run --example mailhub_admin -- queue show <id>
//! cargo run --example mailhub_admin -- queue flush [<id>]
//! cargo run --example mailhub_admin -- queue hold <id>   # and: release <id>, delete <id>
//! ```

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mailhub_mta_core::config::{Config, control};
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
    /// The running hub's queue.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Makes the running hub re-read users, aliases and policy tables.
    Reload,
}

#[derive(Subcommand)]
enum QueueAction {
    /// Every queued message, one a line.
    List,
    /// One message's envelope and recipients.
    Show { id: String },
    /// Tries every pending recipient (of one message, or all) now.
    Flush { id: Option<String> },
    /// Removes a message without a bounce.
    Delete { id: String },
    /// Keeps a message from delivery.
    Hold { id: String },
    /// Lets a held message go.
    Release { id: String },
}

/// Sends one control command to the running hub; its data lines go to stdout.
async fn control(config: &Config, command: String) -> Result<(), Box<dyn std::error::Error>> {
    let answer = control::request(&config.server.data_dir, &command).await?;
    for l in &answer.lines {
        println!("{l}");
    }
    if !answer.ok {
        return Err(answer.status.into());
    }
    if !answer.status.is_empty() {
        eprintln!("{}", answer.status);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailhub_admin: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_config(),
    };
    match args.command {
        Command::Queue { action } => {
            let command = match action {
                QueueAction::List => "LIST".into(),
                QueueAction::Show { id } => format!("SHOW {id}"),
                QueueAction::Flush { id: None } => "FLUSH".into(),
                QueueAction::Flush { id: Some(id) } => format!("FLUSH {id}"),
                QueueAction::Delete { id } => format!("DELETE {id}"),
                QueueAction::Hold { id } => format!("HOLD {id}"),
                QueueAction::Release { id } => format!("RELEASE {id}"),
            };
            control(&config, command).await?;
        }
        Command::Reload => control(&config, "RELOAD".into()).await?,
        Command::Passwd { user } => {
            mailhub_mta_core::config::prepare(&config)?;
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
            mailhub_mta_core::config::prepare(&config)?;
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
