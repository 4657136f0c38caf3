//! Server certificates: PEM files or a self-signed certificate, and SNI selection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{TlsError, provider};

/// Where a server certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// A certificate chain (leaf first) and its private key, in PEM files.
    Pem {
        /// The chain.
        cert: PathBuf,
        /// The key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed certificate for `names` kept in `dir` (`cert.pem`, `key.pem`): made and
    /// saved on first start, loaded afterwards. For demos and tests; clients must be told to
    /// trust it.
    SelfSigned {
        /// The folder holding the files.
        dir: PathBuf,
        /// Host names (subject alternative names) of a new certificate.
        names: Vec<String>,
    },
}

/// The server side's certificates.
#[derive(Debug, Clone)]
pub struct ServerTls {
    resolver: Arc<SniResolver>,
    /// Built once, shared by every connection (and its session-resumption cache).
    config: Arc<rustls::ServerConfig>,
}

#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = hello.server_name() else {
            return Some(self.default.clone());
        };
        let name = name.to_ascii_lowercase();
        let wildcard = name.split_once('.').map(|(_, rest)| format!("*.{rest}"));
        self.by_name
            .get(&name)
            .or_else(|| wildcard.and_then(|w| self.by_name.get(&w)))
            .cloned()
            .or_else(|| Some(self.default.clone()))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

fn pem_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        what: e.to_string(),
    }
}

/// Loads a chain and key from PEM text.
fn certified_key(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(cert_path, e))?;
    if chain.is_empty() {
        return Err(pem_err(cert_path, "no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| pem_err(key_path, e))?;
    let ck = CertifiedKey::from_der(chain, key, &provider())?;
    Ok(ck)
}

fn load(source: &CertSource) -> Result<CertifiedKey, TlsError> {
    match source {
        CertSource::Pem { cert, key } => {
            let c = std::fs::read(cert).map_err(io_err(cert))?;
            let k = std::fs::read(key).map_err(io_err(key))?;
            certified_key(&c, &k, cert, key)
        }
        CertSource::SelfSigned { dir, names } => {
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() {
                write_self_signed(dir, names)?;
            }
            load(&CertSource::Pem { cert, key })
        }
    }
}

/// Makes a self-signed certificate for `names` and writes `cert.pem` and `key.pem` (mode
/// 0600) in `dir`, creating it.
fn write_self_signed(dir: &Path, names: &[String]) -> Result<(), TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let key = dir.join("key.pem");
    write_private(&key, made.key_pair.serialize_pem().as_bytes())?;
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, made.cert.pem()).map_err(io_err(&cert))?;
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(data).map_err(io_err(path))
}

/// A self-signed certificate in memory, as PEM `(certificate, key)`: for tests.
pub fn self_signed_pem(names: &[String]) -> Result<(String, String), TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((made.cert.pem(), made.key_pair.serialize_pem()))
}

impl ServerTls {
    /// The certificates of `source`, used whatever name the client asks for.
    pub fn new(source: &CertSource) -> Result<ServerTls, TlsError> {
        Ok(ServerTls::with_resolver(SniResolver {
            default: Arc::new(load(source)?),
            by_name: HashMap::new(),
        }))
    }

    /// A fresh self-signed certificate for `names`, kept in memory only (examples, tests).
    pub fn self_signed(names: &[&str]) -> Result<ServerTls, TlsError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let (cert, key) = self_signed_pem(&names)?;
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes())
    }

    /// From PEM text in memory.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<ServerTls, TlsError> {
        let ck = certified_key(cert, key, Path::new("<memory>"), Path::new("<memory>"))?;
        Ok(ServerTls::with_resolver(SniResolver {
            default: Arc::new(ck),
            by_name: HashMap::new(),
        }))
    }

    /// Serves `source`'s certificate to clients that ask for `name` by SNI (RFC 6066 §3);
    /// `*.example.org` matches one level of subdomains.
    pub fn add_sni(&mut self, name: &str, source: &CertSource) -> Result<(), TlsError> {
        let ck = Arc::new(load(source)?);
        let r = unique(&mut self.resolver);
        r.by_name.insert(name.to_ascii_lowercase(), ck);
        self.config = build_config(self.resolver.clone());
        Ok(())
    }

    fn with_resolver(resolver: SniResolver) -> ServerTls {
        let resolver = Arc::new(resolver);
        ServerTls {
            config: build_config(resolver.clone()),
            resolver,
        }
    }

    /// The rustls server configuration (TLS 1.2 and 1.3, no client certificates).
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }

    /// A `futures-rustls` acceptor for [`super::Stream::accept`].
    pub fn acceptor(&self) -> futures_rustls::TlsAcceptor {
        futures_rustls::TlsAcceptor::from(self.config())
    }
}

fn build_config(resolver: Arc<SniResolver>) -> Arc<rustls::ServerConfig> {
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    Arc::new(cfg)
}

/// `Arc::make_mut` for the resolver, which is not `Clone`.
fn unique(this: &mut Arc<SniResolver>) -> &mut SniResolver {
    if Arc::get_mut(this).is_none() {
        *this = Arc::new(SniResolver {
            default: this.default.clone(),
            by_name: this.by_name.clone(),
        });
    }
    Arc::get_mut(this).expect("just made unique")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let src = CertSource::SelfSigned {
            dir: dir.path().join("tls"),
            names: vec!["localhost".into()],
        };
        ServerTls::new(&src).unwrap();
        let first = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        ServerTls::new(&src).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("tls/cert.pem")).unwrap(),
            first
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn bad_pem_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "not pem").unwrap();
        let src = CertSource::Pem {
            cert: cert.clone(),
            key: cert.clone(),
        };
        let e = ServerTls::new(&src).unwrap_err();
        assert!(e.to_string().contains("c.pem"), "{e}");
    }
}
