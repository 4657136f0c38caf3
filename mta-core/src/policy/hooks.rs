//! Hook points for checks that need the network or shared state — DNS blocklists, SPF,
//! DKIM/DMARC, greylisting — with a DNSBL check over the [`Resolver`] trait and an in-memory
//! greylisting implementation.
//!
//! Greylisting (the triplet method): the first attempt of a (client network, sender,
//! recipient) triplet is deferred with 451 4.7.1; a retry after [`GreylistOptions::delay`]
//! and before [`GreylistOptions::retry_window`] passes, and the triplet is then remembered for
//! [`GreylistOptions::pass_lifetime`]. A client that passed [`GreylistOptions::auto_whitelist`]
//! times is let through for any triplet. Real MTAs retry; most spam software does not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::Reply;
use super::access::canonical;
use crate::deliver::resolve::{ResolveError, Resolver};

/// What a hook says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookVerdict {
    /// No objection.
    Pass,
    /// Refuse (or defer, with a 4yz reply).
    Reject(Reply),
}

/// A check of the connecting client (DNSBL), run at connect time.
#[async_trait]
pub trait ClientHook: Send + Sync {
    /// Checks `ip`.
    async fn check_client(&self, ip: IpAddr) -> HookVerdict;
}

/// A check of the sender (SPF, RFC 7208), run at MAIL FROM.
#[async_trait]
pub trait SenderHook: Send + Sync {
    /// Checks `sender` (empty for `<>`) from `ip` that said `helo`.
    async fn check_sender(&self, ip: IpAddr, helo: &str, sender: &str) -> HookVerdict;
}

/// A check of each recipient (greylisting), run at RCPT TO.
#[async_trait]
pub trait RecipientHook: Send + Sync {
    /// Checks `recipient` of a transaction from `ip` and `sender` at `now`.
    async fn check_recipient(
        &self,
        ip: IpAddr,
        sender: &str,
        recipient: &str,
        now: Instant,
    ) -> HookVerdict;
}

/// A check of the message once its header is known (DKIM/DMARC verification with the
/// `mail-auth` crate, RFC 6376/7489), run after DATA.
#[async_trait]
pub trait MessageHook: Send + Sync {
    /// Checks the message header block (`header` ends with the empty line).
    async fn check_message(&self, ip: IpAddr, sender: &str, header: &[u8]) -> HookVerdict;
}

/// DNS blocklists (RFC 5782): the client is listed when `reversed-ip.zone` has an A record.
pub struct Dnsbl {
    zones: Vec<String>,
    resolver: Arc<dyn Resolver>,
}

impl std::fmt::Debug for Dnsbl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dnsbl")
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

impl Dnsbl {
    /// Checks against `zones` (e.g. `zen.spamhaus.org`) through `resolver`.
    pub fn new(zones: Vec<String>, resolver: Arc<dyn Resolver>) -> Dnsbl {
        Dnsbl { zones, resolver }
    }

    /// The query name for `ip` in `zone` (RFC 5782 §2.1, §2.4: nibbles for IPv6).
    pub fn query_name(ip: IpAddr, zone: &str) -> String {
        match canonical(ip) {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.{zone}", o[3], o[2], o[1], o[0])
            }
            IpAddr::V6(v6) => {
                let mut s = String::new();
                for b in v6.octets().iter().rev() {
                    s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
                }
                s + zone
            }
        }
    }
}

#[async_trait]
impl ClientHook for Dnsbl {
    async fn check_client(&self, ip: IpAddr) -> HookVerdict {
        for zone in &self.zones {
            match self.resolver.ip(&Dnsbl::query_name(ip, zone)).await {
                // 127.0.0.0/8 answers mean "listed"; anything else is an error page of a
                // misbehaving list and is ignored (RFC 5782 §2.1).
                Ok(ips)
                    if ips
                        .iter()
                        .any(|a| matches!(a, IpAddr::V4(v) if v.octets()[0] == 127)) =>
                {
                    return HookVerdict::Reject(Reply::new(
                        554,
                        "5.7.1",
                        format!("Client {ip} listed by {zone}"),
                    ));
                }
                Ok(_) | Err(ResolveError::NoSuchDomain(_)) | Err(_) => {}
            }
        }
        HookVerdict::Pass
    }
}

/// Greylisting knobs.
#[derive(Debug, Clone, Copy)]
pub struct GreylistOptions {
    /// How long a new triplet is deferred.
    pub delay: Duration,
    /// How long after the first attempt a retry still counts.
    pub retry_window: Duration,
    /// How long a passed triplet stays known.
    pub pass_lifetime: Duration,
    /// Passes after which a client network is whitelisted (0: never).
    pub auto_whitelist: u32,
    /// Most triplets and clients kept.
    pub max_entries: usize,
}

impl Default for GreylistOptions {
    fn default() -> Self {
        GreylistOptions {
            delay: Duration::from_secs(300),
            retry_window: Duration::from_secs(4 * 3600),
            pass_lifetime: Duration::from_secs(36 * 24 * 3600),
            auto_whitelist: 5,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Triplet {
    Waiting(Instant),
    Passed(Instant),
}

/// In-memory greylisting.
#[derive(Debug)]
pub struct Greylist {
    options: GreylistOptions,
    state: Mutex<GreyState>,
}

#[derive(Debug, Default)]
struct GreyState {
    triplets: HashMap<(IpAddr, String, String), Triplet>,
    clients: HashMap<IpAddr, (u32, Instant)>,
}

impl Greylist {
    /// A greylist with these options.
    pub fn new(options: GreylistOptions) -> Greylist {
        Greylist {
            options,
            state: Mutex::new(GreyState::default()),
        }
    }

    /// IPv4 clients count per /24 (a pool of outgoing servers retries from another address);
    /// IPv6 per /64.
    fn net(ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        }
    }

    /// Decides one attempt.
    pub fn check(&self, ip: IpAddr, sender: &str, recipient: &str, now: Instant) -> HookVerdict {
        let o = self.options;
        let net = Greylist::net(ip);
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if o.auto_whitelist > 0
            && let Some((n, last)) = s.clients.get(&net)
            && *n >= o.auto_whitelist
            && now.saturating_duration_since(*last) < o.pass_lifetime
        {
            return HookVerdict::Pass;
        }
        let key = (net, sender.to_lowercase(), recipient.to_lowercase());
        let defer = || {
            HookVerdict::Reject(Reply::new(
                451,
                "4.7.1",
                "Greylisted, please try again later",
            ))
        };
        match s.triplets.get(&key).copied() {
            Some(Triplet::Passed(t)) if now.saturating_duration_since(t) < o.pass_lifetime => {
                s.triplets.insert(key, Triplet::Passed(now));
                HookVerdict::Pass
            }
            Some(Triplet::Waiting(first)) if now.saturating_duration_since(first) < o.delay => {
                defer()
            }
            Some(Triplet::Waiting(first))
                if now.saturating_duration_since(first) < o.retry_window =>
            {
                s.triplets.insert(key, Triplet::Passed(now));
                let c = s.clients.entry(net).or_insert((0, now));
                *c = (c.0 + 1, now);
                HookVerdict::Pass
            }
            _ => {
                if s.triplets.len() >= o.max_entries {
                    let (delay, life) = (o.retry_window, o.pass_lifetime);
                    s.triplets.retain(|_, t| match t {
                        Triplet::Waiting(f) => now.saturating_duration_since(*f) < delay,
                        Triplet::Passed(p) => now.saturating_duration_since(*p) < life,
                    });
                    if s.triplets.len() >= o.max_entries {
                        // Still full of live entries: let mail through rather than grow.
                        return HookVerdict::Pass;
                    }
                }
                if s.clients.len() >= o.max_entries {
                    s.clients.clear();
                }
                s.triplets.insert(key, Triplet::Waiting(now));
                defer()
            }
        }
    }
}

#[async_trait]
impl RecipientHook for Greylist {
    async fn check_recipient(
        &self,
        ip: IpAddr,
        sender: &str,
        recipient: &str,
        now: Instant,
    ) -> HookVerdict {
        self.check(ip, sender, recipient, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::resolve::StaticResolver;

    #[test]
    fn greylist_defers_then_passes_then_whitelists() {
        let g = Greylist::new(GreylistOptions {
            auto_whitelist: 2,
            ..GreylistOptions::default()
        });
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let m = |s: u64| t0 + Duration::from_secs(s);
        assert!(matches!(g.check(ip, "a@x", "b@y", m(0)), HookVerdict::Reject(r) if r.code == 451));
        assert!(
            matches!(g.check(ip, "a@x", "b@y", m(60)), HookVerdict::Reject(_)),
            "too early"
        );
        assert_eq!(
            g.check("192.0.2.99".parse().unwrap(), "a@x", "b@y", m(400)),
            HookVerdict::Pass,
            "same /24"
        );
        assert_eq!(
            g.check(ip, "a@x", "b@y", m(500)),
            HookVerdict::Pass,
            "remembered"
        );
        // A second triplet that passes whitelists the client network.
        assert!(matches!(
            g.check(ip, "c@x", "d@y", m(600)),
            HookVerdict::Reject(_)
        ));
        assert_eq!(g.check(ip, "c@x", "d@y", m(1000)), HookVerdict::Pass);
        assert_eq!(
            g.check(ip, "new@x", "new@y", m(1001)),
            HookVerdict::Pass,
            "auto-whitelisted"
        );
        // A retry after the window starts again.
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(matches!(
            g.check(other, "a", "b", m(0)),
            HookVerdict::Reject(_)
        ));
        assert!(matches!(
            g.check(other, "a", "b", m(5 * 3600)),
            HookVerdict::Reject(_)
        ));
    }

    #[test]
    fn dnsbl_through_the_resolver() {
        assert_eq!(
            Dnsbl::query_name("192.0.2.1".parse().unwrap(), "bl.example"),
            "1.2.0.192.bl.example"
        );
        assert!(
            Dnsbl::query_name("2001:db8::1".parse().unwrap(), "bl.example")
                .starts_with("1.0.0.0.0.0.0.0.")
        );
        let r = Arc::new(StaticResolver::new());
        r.add_ip("1.2.0.192.bl.example", "127.0.0.2".parse().unwrap());
        let d = Dnsbl::new(vec!["bl.example".into()], r);
        let listed = futures::executor::block_on(d.check_client("192.0.2.1".parse().unwrap()));
        assert!(matches!(listed, HookVerdict::Reject(r) if r.code == 554));
        let clean = futures::executor::block_on(d.check_client("192.0.2.2".parse().unwrap()));
        assert_eq!(clean, HookVerdict::Pass);
    }
}
