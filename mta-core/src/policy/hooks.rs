//! Hook points for checks that need the network or shared state — DNS blocklists, SPF,
//! DKIM/DMARC, greylisting — with a DNSBL check over the [`Resolver`] trait and an in-memory
//! greylisting implementation.
//!
//! A [`MessageHook`] runs at the end of the content (RFC 5321 §4.1.1.4: the reply to the
//! final dot is the receiver's last chance to refuse), before the message is committed: it
//! sees the envelope and the message as received (whole up to
//! [`PolicyOptions::max_hook_message`](super::PolicyOptions::max_hook_message), else its
//! start), and may refuse it ([`HookVerdict::Reject`]: a 5yz reply rejects, a 4yz reply
//! tempfails and the client retries) or add header fields such as `Authentication-Results`
//! (RFC 8601) above the rest ([`HookVerdict::AddHeaders`]).
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
    /// No objection, and (message hooks only; other stages treat it as [`HookVerdict::Pass`])
    /// these header fields go on top of the message, each a whole field `Name: value`
    /// (continuation lines start with a space or tab; the line end is added). A field that
    /// is not well formed (RFC 5322 §2.2) is dropped and logged.
    AddHeaders(Vec<String>),
}

impl HookVerdict {
    /// A temporary refusal: 451 4.7.1 with `text` (the client retries later).
    pub fn tempfail(text: &str) -> HookVerdict {
        HookVerdict::Reject(Reply::new(451, "4.7.1", text))
    }
}

/// The message a [`MessageHook`] checks, with its envelope.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HookMessage<'a> {
    /// The client's address.
    pub client_ip: IpAddr,
    /// Its HELO/EHLO/LHLO name (empty when none was given).
    pub helo: &'a str,
    /// The envelope sender, empty for `<>`.
    pub sender: &'a str,
    /// The accepted recipients.
    pub recipients: &'a [String],
    /// The authenticated user, if any.
    pub authenticated: Option<&'a str>,
    /// Whether the client may relay (authenticated, or in a relay network): a signing hook
    /// signs these, a verifying hook may skip them.
    pub trusted: bool,
    /// The message as the client sent it (CRLF line ends, without the `Received:` field this
    /// hop adds): whole, or its first octets when [`HookMessage::complete`] is false.
    pub message: &'a [u8],
    /// Whether [`HookMessage::message`] is the whole message.
    pub complete: bool,
}

impl HookMessage<'_> {
    /// The header block of [`HookMessage::message`], up to and including the empty line that
    /// ends it; `None` when it is not all there (a header block longer than what was kept).
    pub fn header(&self) -> Option<&[u8]> {
        let m = self.message;
        if m.starts_with(b"\r\n") {
            return Some(&m[..2]);
        }
        m.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| &m[..i + 4])
            .or_else(|| self.complete.then_some(m))
    }
}

/// Whether `field` is one well-formed header field (RFC 5322 §2.2, §3.6.8): a printable name
/// without `:`, a colon, and a value whose line breaks are all CRLF followed by space or tab.
pub(crate) fn valid_field(field: &str) -> bool {
    let Some((name, value)) = field.split_once(':') else {
        return false;
    };
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
        return false;
    }
    let v = value.as_bytes();
    v.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => v.get(i + 1) == Some(&b'\n') && matches!(v.get(i + 2), Some(b' ' | b'\t')),
        b'\n' => i > 0 && v[i - 1] == b'\r',
        0 => false,
        _ => true,
    })
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

/// A check of the message at the end of its content, before the reply to it (DKIM/DMARC
/// verification with the `mail-auth` crate, RFC 6376/7489, adding `Authentication-Results`,
/// RFC 8601; content filters). It runs for every client; [`HookMessage::trusted`] tells the
/// hook whether the client may relay.
#[async_trait]
pub trait MessageHook: Send + Sync {
    /// Checks `message`.
    async fn check_message(&self, message: &HookMessage<'_>) -> HookVerdict;

    /// The authentication service identifier this hook writes `Authentication-Results` under
    /// (RFC 8601 §2.5), if it does. Fields that claim it in mail from a client that may not
    /// relay are forgeries and are removed before the message is stored (§5).
    fn authserv_id(&self) -> Option<&str> {
        None
    }
}

/// `header` (a message's start) without the `Authentication-Results` fields whose
/// authentication service identifier is one of `ids` (compared case-insensitively, RFC 8601
/// §2.5), or `None` when it has none. Only the header block is looked at; a field's
/// continuation lines go with it. `header` may be cut anywhere: a last field without its line
/// end is kept as it is.
pub fn strip_authentication_results(header: &[u8], ids: &[&str]) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"authentication-results";
    if ids.is_empty() {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut pos = 0;
    while pos < header.len() {
        // One field: its first line and every continuation line.
        let mut end = match header[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => break,
        };
        if header[pos..end] == *b"\r\n" || header[pos..end] == *b"\n" {
            break; // the blank line: the body follows
        }
        while end < header.len() && matches!(header[end], b' ' | b'\t') {
            match header[end..].iter().position(|&b| b == b'\n') {
                Some(i) => end += i + 1,
                None => {
                    end = header.len();
                    break;
                }
            }
        }
        let field = &header[pos..end];
        let forged = field
            .iter()
            .position(|&b| b == b':')
            .filter(|&c| field[..c].trim_ascii_end().eq_ignore_ascii_case(NAME))
            .is_some_and(|c| {
                let id = authserv_id_of(&field[c + 1..]);
                ids.iter().any(|i| id.eq_ignore_ascii_case(i.as_bytes()))
            });
        if forged {
            tracing::info!(
                field = %String::from_utf8_lossy(field).trim_end().escape_debug(),
                "removed an Authentication-Results field that claims our authserv-id"
            );
            out.get_or_insert_with(|| header[..pos].to_vec());
        } else if let Some(o) = out.as_mut() {
            o.extend_from_slice(field);
        }
        pos = end;
    }
    let mut o = out?;
    o.extend_from_slice(&header[pos..]);
    Some(o)
}

/// The authserv-id of an `Authentication-Results` value: its first token, after any
/// comments and folding white space (RFC 8601 §2.2: `authserv-id [CFWS authres-version]`).
fn authserv_id_of(value: &[u8]) -> &[u8] {
    let mut i = 0;
    let mut depth = 0usize;
    while i < value.len() {
        match value[i] {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\\' if depth > 0 => i += 1,
            b if depth == 0 && !b.is_ascii_whitespace() => break,
            _ => {}
        }
        i += 1;
    }
    let start = i.min(value.len());
    let len = value[start..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b';' || b == b'(')
        .unwrap_or(value.len() - start);
    &value[start..start + len]
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
    fn forged_authentication_results_are_removed() {
        let m = b"Received: from x\r\nAuthentication-Results: mx.example.org;\r\n dkim=pass header.d=bank.example\r\nAuthentication-Results: (c) other.example 1; spf=pass\r\nauthentication-results :MX.EXAMPLE.ORG (comment); dmarc=pass\r\nSubject: hi\r\n\r\nAuthentication-Results: mx.example.org; body\r\n";
        let out = strip_authentication_results(m, &["mx.example.org"]).unwrap();
        assert_eq!(
            out,
            b"Received: from x\r\nAuthentication-Results: (c) other.example 1; spf=pass\r\nSubject: hi\r\n\r\nAuthentication-Results: mx.example.org; body\r\n".to_vec()
        );
        // Nothing of ours: no copy.
        assert_eq!(
            strip_authentication_results(m, &["elsewhere.example"]),
            None
        );
        assert_eq!(strip_authentication_results(m, &[]), None);
        // Cut inside a field: the cut tail is kept as it is.
        let cut = b"Authentication-Results: mx.example.org; spf=pass\r\nX: y\r\nAuthentication-Res";
        assert_eq!(
            strip_authentication_results(cut, &["mx.example.org"]).unwrap(),
            b"X: y\r\nAuthentication-Res".to_vec()
        );
        // Bare LF lines too.
        let lf = b"Authentication-Results: mx.example.org;\n\tnone\nA: b\n\nbody";
        assert_eq!(
            strip_authentication_results(lf, &["mx.example.org"]).unwrap(),
            b"A: b\n\nbody".to_vec()
        );
        assert_eq!(
            authserv_id_of(b" (a (nested) \\) c) id.example; x"),
            b"id.example"
        );
        assert_eq!(authserv_id_of(b"   "), b"");
    }

    #[test]
    fn header_fields_and_header_blocks() {
        assert!(valid_field("Authentication-Results: mx.test; dkim=pass"));
        assert!(valid_field("X-Folded: one\r\n\ttwo"));
        assert!(
            !valid_field("X-Injected: one\r\nBcc: x@y"),
            "a new line, not a fold"
        );
        assert!(!valid_field("X-Bare: one\ntwo"));
        assert!(!valid_field("Bad Name: x"));
        assert!(!valid_field("no colon"));
        assert!(!valid_field(": empty name"));
        let m = |message: &'static [u8], complete| HookMessage {
            client_ip: "192.0.2.1".parse().unwrap(),
            helo: "",
            sender: "",
            recipients: &[],
            authenticated: None,
            trusted: false,
            message,
            complete,
        };
        assert_eq!(
            m(b"A: 1\r\nB: 2\r\n\r\nbody\r\n", true).header(),
            Some(&b"A: 1\r\nB: 2\r\n\r\n"[..])
        );
        assert_eq!(m(b"\r\nbody", true).header(), Some(&b"\r\n"[..]));
        assert_eq!(m(b"A: 1\r\n", true).header(), Some(&b"A: 1\r\n"[..]));
        assert_eq!(m(b"A: 1\r\nB: 2", false).header(), None);
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
