//! [`Resolver`] over hickory-resolver (feature `hickory`): real DNS for MX and address
//! lookups and DNSBL queries. Its futures need a tokio runtime.

use std::net::IpAddr;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

use super::resolve::{Mx, ResolveError, Resolver};

/// DNS through hickory-resolver.
pub struct HickoryResolver(TokioResolver);

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HickoryResolver")
    }
}

impl HickoryResolver {
    /// A resolver configured from the system (`/etc/resolv.conf`).
    pub fn from_system_conf() -> Result<HickoryResolver, ResolveError> {
        let r = TokioResolver::builder_tokio()
            .map_err(|e| ResolveError::Temporary(e.to_string()))?
            .build()
            .map_err(|e| ResolveError::Temporary(e.to_string()))?;
        Ok(HickoryResolver(r))
    }

    /// Wraps a resolver built by the caller (custom name servers, timeouts).
    pub fn new(resolver: TokioResolver) -> HickoryResolver {
        HickoryResolver(resolver)
    }
}

/// Fully qualified, so the search list is not tried (RFC 5321 §5.1 looks up the name as
/// given).
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

#[async_trait]
impl Resolver for HickoryResolver {
    async fn mx(&self, domain: &str) -> Result<Vec<Mx>, ResolveError> {
        match self.0.mx_lookup(fqdn(domain)).await {
            Ok(l) => Ok(l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some(Mx {
                        preference: mx.preference,
                        // A null MX (RFC 7505) is "." and becomes "", which
                        // `mail_hosts` reads as "accepts no mail".
                        exchange: mx.exchange.to_utf8().trim_end_matches('.').to_lowercase(),
                    }),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() => Err(ResolveError::NoSuchDomain(domain.to_owned())),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(ResolveError::Temporary(e.to_string())),
        }
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        match self.0.lookup_ip(fqdn(host)).await {
            Ok(l) => Ok(l.iter().collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
                Err(ResolveError::NoSuchDomain(host.to_owned()))
            }
            Err(e) => Err(ResolveError::Temporary(e.to_string())),
        }
    }
}
