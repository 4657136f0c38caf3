//! A sendmail-style command-line client: recipients as arguments, the message on stdin,
//! `-f` for the envelope sender; it submits through mailhub's SMTP client driver with
//! STARTTLS (or implicit TLS) and AUTH.
//!
//! ```text
//! # with `cargo run --example full_mailhub` running (it prints the demo password):
//! printf 'Subject: hi\r\n\r\nhello\r\n' | cargo run --example send_mail -- \
//!     --server 127.0.0.1:2587 --cafile mailhub-data/tls/cert.pem \
//!     --user demo --password-env PASS -f demo@localhost demo@localhost
//! ```
//!
//! Exits 0 when every recipient was accepted, 75 (EX_TEMPFAIL) when one was deferred, 1
//! otherwise, printing each recipient's reply.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp_client::{BytesBody, RcptStatus, SmtpClientConfig, deliver};
use mailhub_mta_core::tls::{ClientVerification, client_config};
use mailhub_sasl::Secret;
use mailhub_smtp_proto::client::{ClientOptions, Envelope, TlsPolicy};
use mailhub_smtp_proto::{ForwardPath, Host, MailParams, RcptParams, ReversePath};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Sends the message on stdin to the recipients.
#[derive(Parser)]
struct Args {
    /// The server to submit to.
    #[arg(long, default_value = "127.0.0.1:2587")]
    server: SocketAddr,
    /// The server's name for TLS (certificate check).
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Envelope sender (`-f`); empty for the null sender `<>`.
    #[arg(short = 'f', default_value = "")]
    from: String,
    /// TLS from the first byte (port 465 style) instead of STARTTLS.
    #[arg(long)]
    tls: bool,
    /// Send without TLS when the server does not offer STARTTLS.
    #[arg(long)]
    no_require_tls: bool,
    /// An extra trust anchor (PEM), e.g. the hub's self-signed certificate.
    #[arg(long)]
    cafile: Option<std::path::PathBuf>,
    /// AUTH user name.
    #[arg(long)]
    user: Option<String>,
    /// The environment variable holding the AUTH password (never a command-line argument).
    #[arg(long, default_value = "MAILHUB_PASSWORD")]
    password_env: String,
    /// Recipients.
    #[arg(required = true)]
    recipients: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut message = Vec::new();
    std::io::stdin().read_to_end(&mut message)?;
    let extra_roots = match &args.cafile {
        Some(f) => CertificateDer::pem_file_iter(f)?.collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let mut options = ClientOptions::new(Host::parse("localhost")?);
    options.starttls = match (args.tls, args.no_require_tls) {
        (true, _) => TlsPolicy::Never,
        (false, false) => TlsPolicy::Required,
        (false, true) => TlsPolicy::Opportunistic,
    };
    let tls = client_config(&ClientVerification::Verified { extra_roots });
    let mut config = SmtpClientConfig::new(
        options,
        Some(tls),
        args.server_name.clone(),
        default_runtime(),
    );
    config.implicit_tls = args.tls;
    if let Some(user) = args.user {
        let password = std::env::var(&args.password_env)
            .map_err(|_| format!("set the password in ${}", args.password_env))?;
        config.credentials = Some((user, Secret::new(password)));
    }
    let envelope = Envelope {
        from: ReversePath::parse(&format!("<{}>", args.from))?,
        params: MailParams::default(),
        recipients: args
            .recipients
            .iter()
            .map(|r| {
                Ok((
                    ForwardPath::parse(&format!("<{r}>"))?,
                    RcptParams::default(),
                ))
            })
            .collect::<Result<_, mailhub_smtp_proto::PathError>>()?,
    };
    let stream = tokio::net::TcpStream::connect(args.server).await?.compat();
    let report = deliver(stream, &config, envelope, &mut BytesBody::new(message)).await?;
    let mut code = ExitCode::SUCCESS;
    for (rcpt, r) in args.recipients.iter().zip(&report.recipients) {
        println!("{rcpt}: {:?} {}", r.status, r.reply.text());
        match r.status {
            RcptStatus::Delivered => {}
            RcptStatus::Deferred => code = ExitCode::from(75),
            _ => code = ExitCode::FAILURE,
        }
    }
    Ok(code)
}
