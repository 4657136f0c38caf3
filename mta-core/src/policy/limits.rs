//! Rate and connection limits per client address (and per authenticated user), in bounded
//! memory.
//!
//! IPv6 clients count per /64 (one subscriber usually holds a whole /64), IPv4 per address.
//! Time is an argument, so tests drive the windows with a virtual clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::access::canonical;

/// The key one client address counts under: the IPv4 address, or the IPv6 /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Counts events per key in fixed windows: at most `limit` per `window`. Keeps at most
/// `max_tracked` keys; when full, expired windows are dropped first, then the oldest one.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    max_tracked: usize,
    table: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter of `limit` events per `window`, tracking at most `max_tracked` keys.
    pub fn new(limit: u32, window: Duration, max_tracked: usize) -> RateLimiter<K> {
        RateLimiter {
            limit,
            window,
            max_tracked: max_tracked.max(1),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `n` events for `key` at `now`; `false` when that passes the limit (the events
    /// are then not counted).
    pub fn check(&self, key: &K, n: u32, now: Instant) -> bool {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !t.contains_key(key) && t.len() >= self.max_tracked {
            let window = self.window;
            t.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
            if t.len() >= self.max_tracked
                && let Some(oldest) = t
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(k, _)| k.clone())
            {
                t.remove(&oldest);
            }
        }
        let e = t.entry(key.clone()).or_insert((now, 0));
        if now.saturating_duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        if e.1.saturating_add(n) > self.limit {
            return false;
        }
        e.1 += n;
        true
    }

    /// The number of keys tracked.
    pub fn tracked(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Concurrent connections, in total and per client address.
#[derive(Debug, Clone)]
pub struct ConnectionLimiter {
    inner: Arc<ConnInner>,
}

#[derive(Debug)]
struct ConnInner {
    max_total: usize,
    max_per_client: usize,
    table: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A counted connection; dropping it frees the slot.
#[derive(Debug)]
#[must_use = "the connection slot is freed when the guard is dropped"]
pub struct ConnectionGuard {
    inner: Arc<ConnInner>,
    key: IpAddr,
}

impl ConnectionLimiter {
    /// A limiter of `max_total` connections, `max_per_client` from one address (/64).
    pub fn new(max_total: usize, max_per_client: usize) -> ConnectionLimiter {
        ConnectionLimiter {
            inner: Arc::new(ConnInner {
                max_total,
                max_per_client,
                table: Mutex::new((0, HashMap::new())),
            }),
        }
    }

    /// Takes a slot for a connection from `ip`, or `None` when a limit is reached (the driver
    /// answers 421 4.7.0 and closes, RFC 5321 §3.8).
    pub fn acquire(&self, ip: IpAddr) -> Option<ConnectionGuard> {
        let key = client_key(ip);
        let mut t = self.inner.table.lock().unwrap_or_else(|e| e.into_inner());
        if t.0 >= self.inner.max_total {
            return None;
        }
        let n = t.1.get(&key).copied().unwrap_or(0);
        if n >= self.inner.max_per_client {
            return None;
        }
        t.0 += 1;
        t.1.insert(key, n + 1);
        Some(ConnectionGuard {
            inner: self.inner.clone(),
            key,
        })
    }

    /// Connections open now (total, from `ip`).
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let t = self.inner.table.lock().unwrap_or_else(|e| e.into_inner());
        (t.0, t.1.get(&client_key(ip)).copied().unwrap_or(0))
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut t = self.inner.table.lock().unwrap_or_else(|e| e.into_inner());
        t.0 = t.0.saturating_sub(1);
        if let Some(n) = t.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                t.1.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_and_memory_stays_bounded() {
        let t0 = Instant::now();
        let r = RateLimiter::new(3, Duration::from_secs(60), 100);
        assert!(r.check(&1u32, 2, t0));
        assert!(r.check(&1, 1, t0));
        assert!(!r.check(&1, 1, t0 + Duration::from_secs(10)));
        assert!(r.check(&1, 3, t0 + Duration::from_secs(61)));
        for k in 0..10_000u32 {
            r.check(&k, 1, t0 + Duration::from_millis(u64::from(k)));
        }
        assert!(r.tracked() <= 100);
    }

    #[test]
    fn connections_per_client_and_total() {
        let l = ConnectionLimiter::new(3, 2);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let a2: IpAddr = "2001:db8::2".parse().unwrap(); // same /64
        let b: IpAddr = "192.0.2.1".parse().unwrap();
        let g1 = l.acquire(a).unwrap();
        let _g2 = l.acquire(a2).unwrap();
        assert!(l.acquire(a).is_none());
        let _g3 = l.acquire(b).unwrap();
        assert!(l.acquire("192.0.2.9".parse().unwrap()).is_none());
        drop(g1);
        assert_eq!(l.open(a), (2, 1));
        assert!(l.acquire(a).is_some());
    }
}
