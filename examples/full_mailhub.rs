//! The whole mail host in one command: SMTP, submission (STARTTLS and implicit TLS), IMAP
//! and IMAPS, POP3 and POP3S, LMTP, the durable queue with local delivery, aliases, virtual
//! domains and relay control, from one TOML file.
//!
//! ```text
//! cargo run --example full_mailhub                        # the embedded default configuration
//! cargo run --example full_mailhub -- --config mailhub.toml
//! cargo run --example full_mailhub -- --config mailhub.toml --check
//! ```
//!
//! Without `--config` it listens on loopback only (SMTP 2525, submission 2587, SMTPS 2465,
//! IMAP 1143, IMAPS 1993, POP3 1110, POP3S 1995, LMTP 2424), keeps
//! everything in `./mailhub-data`, makes a self-signed certificate and a demo user with a
//! generated password on first start, and prints commands to try it with curl and Python.
//! The annotated sample `mailhub.toml` at the repository root documents every setting.
//!
//! Started as root with `[server] run_as = "mail"`, it binds its ports, then runs as that
//! user. SIGTERM (or Ctrl-C) stops it gracefully; SIGHUP reloads users, aliases and policy
//! tables; `mailhub_admin` manages its queue through `<data_dir>/control`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mailhub_mta_core::config::{Config, Hub, LogLevel, RunAs};
use tracing_subscriber::filter::LevelFilter;

/// Runs a complete mail host from a configuration file.
#[derive(Parser)]
struct Args {
    /// The configuration file (default: the embedded loopback-only configuration).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the configuration and exit.
    #[arg(long)]
    check: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => Config::load(path),
        None => Ok(Config::default_config()),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailhub: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        if let Some(Err(e)) = config.server.run_as.as_deref().map(RunAs::lookup) {
            eprintln!("mailhub: {e}");
            return ExitCode::FAILURE;
        }
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    let level = match config.server.log_level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    tracing_subscriber::fmt().with_max_level(level).init();
    let hub = match Hub::start(config).await {
        Ok(hub) => hub,
        Err(e) => {
            eprintln!("mailhub: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", hub.banner());
    match hub.run_until_signal().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailhub: {e}");
            ExitCode::FAILURE
        }
    }
}
