//! Client configurations: verified (webpki roots) or opportunistic (RFC 7435).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::provider;

/// How a client checks the server's certificate.
#[derive(Debug, Clone)]
pub enum ClientVerification {
    /// Against the Mozilla roots of `webpki-roots` plus these extra roots (DER), with the host
    /// name checked (RFC 6125): submission to a smart host, or MTA-STS/DANE-less delivery
    /// where the operator wants verification.
    Verified {
        /// Extra trust anchors (a private CA, a test certificate).
        extra_roots: Vec<CertificateDer<'static>>,
    },
    /// No check at all: opportunistic STARTTLS to MX hosts (RFC 7435 §1.3, RFC 3207 §4.1),
    /// where encryption without authentication still beats cleartext. Handshake signatures are
    /// still verified, so the peer must hold the key of the certificate it shows.
    Opportunistic,
}

/// A rustls client configuration. `alpn` is left empty: mail protocols do not use ALPN.
pub fn client_config(verification: &ClientVerification) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions");
    let cfg = match verification {
        ClientVerification::Verified { extra_roots } => {
            let mut roots =
                RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for r in extra_roots {
                // A root that does not parse is skipped, as a browser would.
                let _ = roots.add(r.clone());
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        ClientVerification::Opportunistic => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
            .with_no_client_auth(),
    };
    Arc::new(cfg)
}

/// Accepts any certificate, but checks the handshake signatures with it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
