//! Access tables (Postfix access(5) in spirit): what to do with a client address or network,
//! a HELO name, a sender or a recipient — OK, RELAY, REJECT (with an optional custom reply),
//! DISCARD or DUNNO (no opinion, keep checking).
//!
//! Text form, one rule a line, `#` comments:
//!
//! ```text
//! client    192.0.2.0/24       REJECT
//! client    2001:db8::/32      RELAY
//! helo      localhost          REJECT 550 5.7.1 You are not localhost
//! sender    spammer@bad.example DISCARD
//! sender    @bad.example       REJECT
//! recipient abuse@example.org  OK
//! ```
//!
//! A sender/recipient key is a whole address, `@domain` (every address of that domain), or a
//! bare domain (the domain and its subdomains). Keys are case-insensitive. The most specific
//! entry wins: the address, then `@domain`, then the domain and its parents.

use std::collections::HashMap;
use std::net::IpAddr;

use super::Reply;

/// An IP network (`192.0.2.0/24`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// A network; the prefix is clamped to the address family's width.
    pub fn new(addr: IpAddr, prefix: u8) -> IpNet {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        IpNet {
            addr,
            prefix: prefix.min(max),
        }
    }

    /// Whether `ip` is inside (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("bad address {a:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or(format!("bad prefix {p:?}"))?,
            None => max,
        };
        Ok(IpNet::new(canonical(addr), prefix))
    }
}

/// What an access rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Accept, skip the remaining checks of this stage (but never allows relaying).
    Ok,
    /// Accept and allow relaying (like a relay network).
    Relay,
    /// Refuse with this reply.
    Reject(Reply),
    /// Accept and throw away.
    Discard,
    /// No opinion.
    Dunno,
}

/// Why an access table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// A line is not `kind key action`.
    #[error("line {line}: {reason}")]
    Syntax {
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Access rules by client, HELO, sender and recipient.
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    clients: Vec<(IpNet, Action)>,
    helo: HashMap<String, Action>,
    senders: HashMap<String, Action>,
    recipients: HashMap<String, Action>,
}

impl AccessTable {
    /// Adds a client network rule (the longest matching prefix wins).
    pub fn client(&mut self, net: IpNet, action: Action) -> &mut Self {
        self.clients.push((net, action));
        self.clients.sort_by_key(|c| std::cmp::Reverse(c.0.prefix));
        self
    }

    /// Adds a HELO name rule.
    pub fn helo(&mut self, name: &str, action: Action) -> &mut Self {
        self.helo.insert(name.to_lowercase(), action);
        self
    }

    /// Adds a sender rule (address, `@domain` or domain).
    pub fn sender(&mut self, key: &str, action: Action) -> &mut Self {
        self.senders.insert(key.to_lowercase(), action);
        self
    }

    /// Adds a recipient rule (address, `@domain` or domain).
    pub fn recipient(&mut self, key: &str, action: Action) -> &mut Self {
        self.recipients.insert(key.to_lowercase(), action);
        self
    }

    /// The action for a client address.
    pub fn check_client(&self, ip: IpAddr) -> Action {
        self.clients
            .iter()
            .find(|(n, _)| n.contains(ip))
            .map(|(_, a)| a.clone())
            .unwrap_or(Action::Dunno)
    }

    /// The action for a HELO name.
    pub fn check_helo(&self, helo: &str) -> Action {
        self.helo
            .get(&helo.to_lowercase())
            .cloned()
            .unwrap_or(Action::Dunno)
    }

    /// The action for a sender address (`""` for the null sender).
    pub fn check_sender(&self, addr: &str) -> Action {
        lookup_address(&self.senders, addr)
    }

    /// The action for a recipient address.
    pub fn check_recipient(&self, addr: &str) -> Action {
        lookup_address(&self.recipients, addr)
    }

    /// Parses the text form (see the module docs).
    pub fn parse(text: &str) -> Result<AccessTable, AccessError> {
        let mut t = AccessTable::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| AccessError::Syntax {
                line: n + 1,
                reason: reason.into(),
            };
            let mut it = line.splitn(3, char::is_whitespace);
            let (kind, key, rest) = match (it.next(), it.next(), it.next()) {
                (Some(k), Some(key), Some(rest)) => (k, key, rest.trim()),
                _ => return Err(err("expected: kind key action")),
            };
            let action = parse_action(rest).ok_or_else(|| err("unknown action"))?;
            match kind.to_ascii_lowercase().as_str() {
                "client" => {
                    let net = key.parse::<IpNet>().map_err(|e| err(&e))?;
                    t.client(net, action);
                }
                "helo" => {
                    t.helo(key, action);
                }
                "sender" => {
                    t.sender(key, action);
                }
                "recipient" => {
                    t.recipient(key, action);
                }
                _ => return Err(err("kind must be client, helo, sender or recipient")),
            }
        }
        Ok(t)
    }
}

fn parse_action(s: &str) -> Option<Action> {
    let mut words = s.splitn(2, char::is_whitespace);
    let verb = words.next()?.to_ascii_uppercase();
    let rest = words.next().map(str::trim).unwrap_or("");
    Some(match verb.as_str() {
        "OK" => Action::Ok,
        "RELAY" => Action::Relay,
        "DISCARD" => Action::Discard,
        "DUNNO" => Action::Dunno,
        "REJECT" if rest.is_empty() => Action::Reject(Reply::new(554, "5.7.1", "Access denied")),
        "REJECT" => {
            // `REJECT 550 5.7.1 text` or `REJECT text`.
            let mut w = rest.splitn(3, ' ');
            let code = w
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (400..600).contains(c));
            match code {
                Some(code) => {
                    let second = w.next().unwrap_or("");
                    let (status, text) =
                        if second.chars().next().is_some_and(|c| c.is_ascii_digit())
                            && second.contains('.')
                        {
                            (
                                second.to_owned(),
                                w.next().unwrap_or("Access denied").to_owned(),
                            )
                        } else {
                            (
                                if code >= 500 { "5.7.1" } else { "4.7.1" }.to_owned(),
                                format!("{second} {}", w.next().unwrap_or(""))
                                    .trim()
                                    .to_owned(),
                            )
                        };
                    Action::Reject(Reply::new(code, &status, text))
                }
                None => Action::Reject(Reply::new(554, "5.7.1", rest)),
            }
        }
        _ => return None,
    })
}

fn lookup_address(map: &HashMap<String, Action>, addr: &str) -> Action {
    if map.is_empty() {
        return Action::Dunno;
    }
    let addr = addr.to_lowercase();
    if let Some(a) = map.get(&addr) {
        return a.clone();
    }
    let Some((_, domain)) = addr.rsplit_once('@') else {
        return Action::Dunno;
    };
    if let Some(a) = map.get(&format!("@{domain}")) {
        return a.clone();
    }
    let mut d = domain;
    loop {
        if let Some(a) = map.get(d) {
            return a.clone();
        }
        match d.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => d = parent,
            _ => return Action::Dunno,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let n: IpNet = "192.0.2.0/24".parse().unwrap();
        assert!(n.contains("192.0.2.77".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        let n6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(n6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!n6.contains("2001:db9::1".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<IpNet>().is_err());
    }

    #[test]
    fn text_form_and_most_specific_match() {
        let t = AccessTable::parse(
            "# rules\nclient 192.0.2.0/24 REJECT\nclient 192.0.2.8 OK\nhelo LocalHost REJECT 550 5.7.1 You are not localhost\n\
             sender @bad.example REJECT\nsender good@bad.example OK\nsender spam.example DISCARD\nrecipient abuse@example.org RELAY\n",
        )
        .unwrap();
        assert_eq!(t.check_client("192.0.2.8".parse().unwrap()), Action::Ok);
        assert!(matches!(
            t.check_client("192.0.2.9".parse().unwrap()),
            Action::Reject(_)
        ));
        match t.check_helo("localhost") {
            Action::Reject(r) => {
                assert_eq!((r.code, r.text.as_str()), (550, "You are not localhost"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(t.check_sender("x@bad.example"), Action::Reject(_)));
        assert_eq!(t.check_sender("Good@bad.example"), Action::Ok);
        assert_eq!(t.check_sender("a@mx.spam.example"), Action::Discard);
        assert_eq!(t.check_sender("a@fine.example"), Action::Dunno);
        assert_eq!(t.check_recipient("abuse@example.org"), Action::Relay);
        assert!(AccessTable::parse("client nonsense OK").is_err());
        assert!(AccessTable::parse("sender a@b FROB").is_err());
    }
}
