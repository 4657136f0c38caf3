//! TLS with rustls: one server configuration for STARTTLS (RFC 3207, RFC 2595 §4, RFC 2595 STLS)
//! and implicit TLS (RFC 8314 ports 465, 993, 995), client configurations for delivery, and
//! `tls-exporter` channel binding (RFC 9266) for SCRAM-PLUS.
//!
//! - [`ServerTls`]: certificates from PEM files ([`CertSource::Pem`]), or a self-signed
//!   certificate made on first start and saved for the next ([`CertSource::SelfSigned`]);
//!   more certificates chosen by SNI ([`ServerTls::add_sni`]). Only the `ring` provider is used,
//!   passed explicitly, so the process-wide default provider does not matter.
//! - [`client_config`]: webpki roots (plus extra ones), or [`ClientVerification::Opportunistic`]
//!   for opportunistic STARTTLS to MX hosts (RFC 7435), where any certificate beats cleartext.
//! - [`Stream`]: a connection that starts in cleartext and may be upgraded in place; it is what
//!   the session drivers run over.
//! - [`channel_binding`]: the 32 octets exported with the label `EXPORTER-Channel-Binding` and
//!   no context (RFC 9266 §2), given only on TLS 1.3: RFC 9266 §3 allows `tls-exporter` on
//!   TLS 1.2 only with the extended master secret, which rustls does not let the caller confirm.

mod certs;
mod client;
mod stream;

use std::sync::Arc;

pub use certs::{CertSource, ServerTls, self_signed_pem};
pub use client::{ClientVerification, client_config};
pub use stream::{Stream, channel_binding};

/// The rustls crypto provider every configuration of this crate uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        what: String,
    },
    /// rustls refused the configuration (a key that does not match, an unsupported key type).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The self-signed certificate could not be made.
    #[error("making a certificate: {0}")]
    Generate(String),
}
