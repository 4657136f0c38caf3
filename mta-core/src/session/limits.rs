//! Connection limits per listener and per client address.
//!
//! An accept loop asks [`ConnectionLimiter::try_acquire`] before it starts a driver and keeps the
//! [`ConnectionPermit`] for the life of the session; a refused client is answered per protocol
//! (POP3: [`super::pop3::refuse`]) and disconnected. IPv6 clients are counted by /64, as the
//! authenticator counts failures, so one host cannot take every slot by hopping addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Sessions at once on the listener.
    pub max_total: usize,
    /// Sessions at once from one client address (IPv6: one /64).
    pub max_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_total: 1_000,
            max_per_address: 20,
        }
    }
}

/// Which limit refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The listener is full.
    #[error("too many connections")]
    Listener,
    /// The client address has too many connections.
    #[error("too many connections from this address")]
    Address,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Counts a listener's sessions.
#[derive(Debug)]
pub struct ConnectionLimiter {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl ConnectionLimiter {
    /// A limiter with these limits.
    pub fn new(limits: ConnectionLimits) -> Arc<ConnectionLimiter> {
        Arc::new(ConnectionLimiter {
            limits,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot for a connection from `ip`.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, LimitExceeded> {
        let k = key(ip);
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= self.limits.max_total {
            return Err(LimitExceeded::Listener);
        }
        let n = c.by_address.entry(k).or_insert(0);
        if *n >= self.limits.max_per_address {
            return Err(LimitExceeded::Address);
        }
        *n += 1;
        c.total += 1;
        Ok(ConnectionPermit {
            limiter: self.clone(),
            key: k,
        })
    }

    /// Sessions running now.
    pub fn active(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

/// A slot held by a running session; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    key: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut c = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.by_address.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_total() {
        let l = ConnectionLimiter::new(ConnectionLimits {
            max_total: 3,
            max_per_address: 2,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let b2: IpAddr = "2001:db8::ffff".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).unwrap_err(), LimitExceeded::Address);
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b2).unwrap_err(), LimitExceeded::Listener);
        drop(p1);
        assert_eq!(l.active(), 2);
        let _p4 = l.try_acquire(b2).unwrap();
        assert_eq!(l.try_acquire(b).unwrap_err(), LimitExceeded::Listener);
        drop(_p4);
        drop(_p3);
        assert!(!l.counts.lock().unwrap().by_address.contains_key(&key(b)));
    }
}
