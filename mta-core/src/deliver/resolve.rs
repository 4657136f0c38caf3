//! DNS lookups for delivery and policy, behind a trait: MX records (RFC 5321 §5.1), address
//! records, and the address lookups of DNS blocklists. [`StaticResolver`] answers from a
//! table (tests, or hosts without DNS); a real resolver (hickory-resolver) implements the same
//! trait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;

use async_trait::async_trait;

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// The preference (lower is tried first).
    pub preference: u16,
    /// The exchange host name.
    pub exchange: String,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The name does not exist (NXDOMAIN): a permanent failure.
    #[error("no such domain: {0}")]
    NoSuchDomain(String),
    /// The lookup failed for now (SERVFAIL, timeout): retry later.
    #[error("temporary DNS failure: {0}")]
    Temporary(String),
}

/// The DNS questions the hub asks.
#[async_trait]
pub trait Resolver: Send + Sync {
    /// The MX records of `domain`; an empty list when the domain exists but has none (then
    /// the domain itself is the implicit MX, RFC 5321 §5.1).
    async fn mx(&self, domain: &str) -> Result<Vec<Mx>, ResolveError>;

    /// The A and AAAA records of `host`.
    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError>;
}

/// Answers from tables.
#[derive(Debug, Default)]
pub struct StaticResolver {
    mx: RwLock<HashMap<String, Vec<Mx>>>,
    ip: RwLock<HashMap<String, Vec<IpAddr>>>,
}

impl StaticResolver {
    /// An empty table (every name is NXDOMAIN).
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds an MX record.
    pub fn add_mx(&self, domain: &str, preference: u16, exchange: &str) -> &Self {
        self.mx
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(domain.to_lowercase())
            .or_default()
            .push(Mx {
                preference,
                exchange: exchange.to_lowercase(),
            });
        self
    }

    /// Adds an address record.
    pub fn add_ip(&self, host: &str, ip: IpAddr) -> &Self {
        self.ip
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host.to_lowercase())
            .or_default()
            .push(ip);
        self
    }
}

#[async_trait]
impl Resolver for StaticResolver {
    async fn mx(&self, domain: &str) -> Result<Vec<Mx>, ResolveError> {
        let d = domain.to_lowercase();
        if let Some(v) = self.mx.read().unwrap_or_else(|e| e.into_inner()).get(&d) {
            return Ok(v.clone());
        }
        if self
            .ip
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&d)
        {
            return Ok(Vec::new());
        }
        Err(ResolveError::NoSuchDomain(d))
    }

    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let h = host.to_lowercase();
        self.ip
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&h)
            .cloned()
            .ok_or(ResolveError::NoSuchDomain(h))
    }
}

/// The hosts to try for `domain`, in order (RFC 5321 §5.1): MX records by preference, hosts
/// of equal preference shuffled with `shuffle_seed` (pass a random number; a fixed one in
/// tests), or the domain itself when it has no MX (implicit MX). A null MX (`0 .`, RFC 7505)
/// gives an empty list: the domain accepts no mail.
pub async fn mail_hosts(
    resolver: &dyn Resolver,
    domain: &str,
    shuffle_seed: u64,
) -> Result<Vec<String>, ResolveError> {
    let mut mx = resolver.mx(domain).await?;
    if mx.is_empty() {
        return Ok(vec![domain.to_lowercase()]);
    }
    let null = |m: &Mx| m.exchange == "." || m.exchange.is_empty();
    if mx.len() == 1 && null(&mx[0]) {
        return Ok(Vec::new());
    }
    // A "." among real hosts is a misconfigured null MX (RFC 7505 §3: it must be the only
    // record); the real hosts are still tried.
    mx.retain(|m| !null(m));
    // Order by preference; within one preference, by a seeded hash so equal hosts share the
    // load (RFC 5321 §5.1 "randomize").
    let mix = |s: &str| {
        let mut h = shuffle_seed ^ 0xcbf2_9ce4_8422_2325;
        for b in s.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    mx.sort_by_key(|m| (m.preference, mix(&m.exchange)));
    Ok(mx.into_iter().map(|m| m.exchange).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn mx_order_implicit_mx_and_null_mx() {
        let r = StaticResolver::new();
        r.add_mx("a.example", 20, "mx2.a.example")
            .add_mx("a.example", 10, "mx1.a.example")
            .add_mx("a.example", 20, "mx3.a.example");
        r.add_ip("b.example", "192.0.2.1".parse().unwrap());
        r.add_mx("null.example", 0, ".");
        r.add_mx("mixed.example", 0, ".")
            .add_mx("mixed.example", 10, "mx.mixed.example");
        let hosts = block_on(mail_hosts(&r, "A.example", 1)).unwrap();
        assert_eq!(hosts[0], "mx1.a.example");
        assert_eq!(hosts.len(), 3);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..32 {
            seen.insert(block_on(mail_hosts(&r, "a.example", seed)).unwrap()[1].clone());
        }
        assert_eq!(seen.len(), 2, "equal preferences are shuffled");
        assert_eq!(
            block_on(mail_hosts(&r, "b.example", 0)).unwrap(),
            ["b.example"]
        );
        assert_eq!(
            block_on(mail_hosts(&r, "null.example", 0)).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            block_on(mail_hosts(&r, "mixed.example", 0)).unwrap(),
            ["mx.mixed.example"]
        );
        assert!(matches!(
            block_on(mail_hosts(&r, "none.example", 0)),
            Err(ResolveError::NoSuchDomain(_))
        ));
    }
}
