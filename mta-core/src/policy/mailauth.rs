//! SPF (RFC 7208), DKIM verification (RFC 6376) and DMARC evaluation (RFC 7489) as a
//! [`MessageHook`], with the `mail-auth` crate; the results go into one
//! `Authentication-Results:` field (RFC 8601 §2.2) naming this host (the `authserv-id`).
//!
//! What it checks, at the end of the content (RFC 5321 §4.1.1.4), for a client that may not
//! relay (a trusted client's mail is ours to sign, not to verify; see
//! [`MailAuthOptions::verify_trusted`]):
//! - SPF `check_host()` (RFC 7208 §4) for the MAIL FROM identity from the client address, or the
//!   HELO identity when the reverse-path is null (§2.4: `postmaster@helo`);
//! - every `DKIM-Signature` (RFC 6376 §6), when the whole message was held
//!   ([`HookMessage::complete`]; a cut body cannot match its body hash, so a message over the
//!   hold limit gets SPF only and no DMARC verdict);
//! - DMARC (RFC 7489 §6.6): the `_dmarc` record of the RFC 5322.From domain, with identifier
//!   alignment of the SPF and DKIM results (§3.1).
//!
//! The defaults never refuse and never lose mail: the results are only recorded. Refusing on
//! a DMARC `p=reject` failure (RFC 7489 §6.7, 550 5.7.1) and deferring on DNS temporary errors
//! (RFC 7208 §8.6 with the SPF code of RFC 7372 §3.2: 451 4.7.24; 451 4.7.1 for DKIM and
//! DMARC) are options. The checks are bounded by [`MailAuthOptions::timeout`]; past it the
//! message goes on without results (or is deferred, with [`MailAuthOptions::tempfail_dns`]).
//!
//! DNS goes through mail-auth's hickory resolver, behind [`AuthDns`]: the cache it reads before
//! asking the resolver. Records can be put into it by hand, and [`AuthDns::offline`] answers
//! every other name "no such domain" without a query, which is how the tests run without a
//! network. Queries need a tokio runtime (the hub's).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dmarc::{Dmarc, Policy as DmarcPolicy};
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::Spf;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimResult, DmarcResult, DnsError, DnssecStatus,
    MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, SpfResult, Txt,
};

use super::Reply;
use super::hooks::{HookMessage, HookVerdict, MessageHook};

/// Errors building a [`MailAuth`] hook or filling its [`AuthDns`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailAuthError {
    /// The DNS resolver could not be built (an unreadable system configuration).
    #[error("DNS resolver: {0}")]
    Resolver(String),
    /// A TXT record given to [`AuthDns::add_txt`] does not parse as the record its name calls
    /// for.
    #[error("TXT record for {name}: {reason}")]
    Record {
        /// The record's name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
}

/// What the hook does with the results. The default records them and refuses nothing.
#[derive(Debug, Clone)]
pub struct MailAuthOptions {
    /// This host's name in `Authentication-Results:` (RFC 8601 §2.5, the `authserv-id`).
    pub authserv_id: String,
    /// Refuse (550 5.7.1) a message that fails DMARC when the author domain's policy is
    /// `p=reject` (RFC 7489 §6.7). Off by default: the result is only recorded.
    pub reject_dmarc: bool,
    /// Defer (451) a message when a DNS lookup of SPF, DKIM or DMARC failed temporarily
    /// (RFC 7208 §8.6, RFC 6376 §6.1.2); the client retries. Off by default: the message is
    /// accepted with a `temperror` result.
    pub tempfail_dns: bool,
    /// Also verify mail from clients that may relay (authenticated users, relay networks).
    /// Off by default: that mail is ours, and a signing hook, not a verifying one, handles it.
    pub verify_trusted: bool,
    /// The longest all checks of one message may take (30 s): SPF alone may need ten DNS
    /// lookups (RFC 7208 §4.6.4), each with the resolver's own retries.
    pub timeout: Duration,
    /// Most names each of the [`AuthDns`] record caches keeps (hand-added records are kept
    /// beyond this).
    pub max_cache_entries: usize,
}

impl MailAuthOptions {
    /// The defaults, naming this host `authserv_id`.
    pub fn new(authserv_id: impl Into<String>) -> MailAuthOptions {
        MailAuthOptions {
            authserv_id: authserv_id.into(),
            reject_dmarc: false,
            tempfail_dns: false,
            verify_trusted: false,
            timeout: Duration::from_secs(30),
            max_cache_entries: 10_000,
        }
    }
}

/// One record cache: answers the resolver put in (until they expire), records added by hand
/// (for good), and what to answer for any other name when offline.
struct Table<K, V> {
    map: Mutex<HashMap<K, (V, Option<Instant>)>>,
    max: usize,
    miss: Option<V>,
}

impl<K: Hash + Eq, V: Clone> Table<K, V> {
    fn new(max: usize, miss: Option<V>) -> Table<K, V> {
        Table {
            map: Mutex::new(HashMap::new()),
            max,
            miss,
        }
    }

    fn put(&self, key: K, value: V, expires: Option<Instant>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if expires.is_some() && map.len() >= self.max && !map.contains_key(&key) {
            // Full: forget what expired, then every learned answer; hand-added records stay.
            // The clock is read here, not in the protocol engines: this is the I/O layer.
            let now = Instant::now();
            map.retain(|_, (_, e)| e.is_none_or(|e| e > now));
            if map.len() >= self.max {
                map.retain(|_, (_, e)| e.is_none());
            }
            if map.len() >= self.max {
                return;
            }
        }
        map.insert(key, (value, expires));
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Table<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(name) {
            Some((v, None)) => Some(v.clone()),
            Some((v, Some(e))) if *e > Instant::now() => Some(v.clone()),
            _ => self.miss.clone(),
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(name).map(|(v, _)| v)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        self.put(key, value, Some(valid_until));
    }
}

fn record_set<T>(records: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: Arc::from(records),
        dnssec_status: DnssecStatus::default(),
    }
}

/// A verifier's input with the [`AuthDns`] caches.
type CachedParameters<'x, P> = Parameters<
    'x,
    P,
    Table<Box<str>, Txt>,
    Table<Box<str>, RecordSet<MX>>,
    Table<Box<str>, RecordSet<Ipv4Addr>>,
    Table<Box<str>, RecordSet<Ipv6Addr>>,
    Table<IpAddr, RecordSet<Box<str>>>,
>;

/// The DNS the checks see: a bounded cache of SPF, DKIM key and DMARC records and of the A,
/// AAAA, MX and PTR answers SPF needs, read before the resolver is asked.
pub struct AuthDns {
    txt: Table<Box<str>, Txt>,
    mx: Table<Box<str>, RecordSet<MX>>,
    ipv4: Table<Box<str>, RecordSet<Ipv4Addr>>,
    ipv6: Table<Box<str>, RecordSet<Ipv6Addr>>,
    ptr: Table<IpAddr, RecordSet<Box<str>>>,
    offline: bool,
}

impl std::fmt::Debug for AuthDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthDns")
            .field("offline", &self.offline)
            .finish_non_exhaustive()
    }
}

/// The fully qualified, lower-case form mail-auth keys its caches with.
fn fqdn(name: &str) -> Box<str> {
    let mut n = name.to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n.into_boxed_str()
}

impl AuthDns {
    /// A cache in front of the resolver, keeping up to `max_entries` names per record type.
    pub fn new(max_entries: usize) -> AuthDns {
        AuthDns::build(max_entries, false)
    }

    /// No resolver behind it: only the records added here exist, every other name answers "no
    /// such domain" (NXDOMAIN) at once. For tests, and hosts that must not query DNS.
    pub fn offline() -> AuthDns {
        AuthDns::build(usize::MAX, true)
    }

    fn build(max: usize, offline: bool) -> AuthDns {
        let nx = Txt::Error(mail_auth::Error::Dns(DnsError::RecordNotFound(
            ResponseCode::NXDomain,
        )));
        // mail-auth 0.13 has no negative answers in its address caches: an empty set is "no
        // address", which is what a name without records has.
        AuthDns {
            txt: Table::new(max, offline.then_some(nx)),
            mx: Table::new(max, offline.then(|| record_set(Vec::new()))),
            ipv4: Table::new(max, offline.then(|| record_set(Vec::new()))),
            ipv6: Table::new(max, offline.then(|| record_set(Vec::new()))),
            ptr: Table::new(max, offline.then(|| record_set(Vec::new()))),
            offline,
        }
    }

    /// Whether every name not added here is answered "no such domain" without a query.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Adds the TXT record `text` at `name`, parsed as what the name calls for: a DMARC record
    /// under `_dmarc.` (RFC 7489 §6.1), a DKIM key under `._domainkey.` (RFC 6376 §3.6.2.1),
    /// an SPF record anywhere else (RFC 7208 §3).
    pub fn add_txt(&self, name: &str, text: &str) -> Result<(), MailAuthError> {
        let lower = name.to_ascii_lowercase();
        let err = |e: mail_auth::Error| MailAuthError::Record {
            name: name.to_owned(),
            reason: e.to_string(),
        };
        let record: Txt = if lower.starts_with("_dmarc.") {
            Dmarc::parse(text.as_bytes()).map_err(err)?.into()
        } else if lower.contains("._domainkey.") {
            DomainKey::parse(text.as_bytes()).map_err(err)?.into()
        } else {
            Spf::parse(text.as_bytes()).map_err(err)?.into()
        };
        self.txt.put(fqdn(name), record, None);
        Ok(())
    }

    /// Adds an address record (A or AAAA) of `name`.
    pub fn add_ip(&self, name: &str, ip: IpAddr) {
        let key = fqdn(name);
        match ip {
            IpAddr::V4(v4) => {
                let mut all = self.ipv4_of(&key);
                all.push(v4);
                self.ipv4.put(key, record_set(all), None);
            }
            IpAddr::V6(v6) => {
                let mut all = self.ipv6_of(&key);
                all.push(v6);
                self.ipv6.put(key, record_set(all), None);
            }
        }
    }

    fn ipv4_of(&self, key: &str) -> Vec<Ipv4Addr> {
        let map = self.ipv4.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .map(|(r, _)| r.rrset.to_vec())
            .unwrap_or_default()
    }

    fn ipv6_of(&self, key: &str) -> Vec<Ipv6Addr> {
        let map = self.ipv6.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .map(|(r, _)| r.rrset.to_vec())
            .unwrap_or_default()
    }

    /// `p` with these caches.
    fn params<P>(&self, p: P) -> CachedParameters<'_, P> {
        Parameters::new(p)
            .with_txt_cache(&self.txt)
            .with_mx_cache(&self.mx)
            .with_ipv4_cache(&self.ipv4)
            .with_ipv6_cache(&self.ipv6)
            .with_ptr_cache(&self.ptr)
    }

    /// Makes every TXT lookup of `name` fail temporarily, as a server failure (SERVFAIL) would:
    /// to exercise the temporary-error path, or to stand in for a zone known to be broken.
    pub fn add_txt_failure(&self, name: &str) {
        let e = mail_auth::Error::Dns(DnsError::Resolver(format!("{name}: server failure")));
        self.txt.put(fqdn(name), Txt::Error(e), None);
    }
}

/// The results of the checks on one message.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthResults {
    /// The `Authentication-Results:` field, whole (`Name: value`, folded, no final CRLF).
    pub header: String,
    /// The SPF result, of the MAIL FROM identity (the HELO one for a null reverse-path).
    pub spf: SpfResult,
    /// One result per DKIM signature, in order; empty when none were checked.
    pub dkim: Vec<DkimResult>,
    /// The DMARC result; `None` when DMARC was not evaluated (a message held only in part).
    pub dmarc: Option<DmarcResult>,
    /// The DMARC policy of the author domain.
    pub dmarc_policy: DmarcPolicy,
    /// The RFC 5322.From domain DMARC was evaluated for.
    pub dmarc_domain: String,
}

impl AuthResults {
    /// Whether any check ended in a temporary DNS error.
    pub fn temporary_error(&self) -> bool {
        self.spf == SpfResult::TempError
            || self
                .dkim
                .iter()
                .any(|d| matches!(d, DkimResult::TempError(_)))
            || matches!(self.dmarc, Some(DmarcResult::TempError(_)))
    }

    /// Whether the message fails DMARC under a `p=reject` policy.
    pub fn dmarc_rejects(&self) -> bool {
        matches!(self.dmarc, Some(DmarcResult::Fail(_))) && self.dmarc_policy == DmarcPolicy::Reject
    }
}

/// The SPF, DKIM and DMARC message hook.
///
/// Added to the policy with [`Policy::with_message_hook`](super::Policy::with_message_hook);
/// the SMTP and LMTP drivers then hold each message back (up to
/// [`PolicyOptions::max_hook_message`](super::PolicyOptions::max_hook_message)) and run it at the
/// end of the content.
///
/// ```no_run
/// use std::sync::Arc;
/// use mailhub_mta_core::policy::{MailAuth, MailAuthOptions, Policy, PolicyOptions};
///
/// let options = MailAuthOptions {
///     reject_dmarc: true,
///     ..MailAuthOptions::new("mx.example.org")
/// };
/// let hook = Arc::new(MailAuth::new(options)?);
/// let policy = Policy::new(PolicyOptions::default()).with_message_hook(hook);
/// # Ok::<(), mailhub_mta_core::policy::MailAuthError>(())
/// ```
pub struct MailAuth {
    authenticator: MessageAuthenticator,
    dns: Arc<AuthDns>,
    options: MailAuthOptions,
}

impl std::fmt::Debug for MailAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailAuth")
            .field("options", &self.options)
            .field("dns", &self.dns)
            .finish_non_exhaustive()
    }
}

impl MailAuth {
    /// A hook querying the system's resolvers (`/etc/resolv.conf`), with a fresh cache.
    pub fn new(options: MailAuthOptions) -> Result<MailAuth, MailAuthError> {
        let authenticator = MessageAuthenticator::new_system_conf()
            .map_err(|e| MailAuthError::Resolver(e.to_string()))?;
        let dns = Arc::new(AuthDns::new(options.max_cache_entries));
        Ok(MailAuth::with_authenticator(options, authenticator, dns))
    }

    /// A hook that asks `authenticator`'s resolver what `dns` does not answer.
    pub fn with_authenticator(
        options: MailAuthOptions,
        authenticator: MessageAuthenticator,
        dns: Arc<AuthDns>,
    ) -> MailAuth {
        MailAuth {
            authenticator,
            dns,
            options,
        }
    }

    /// A hook that sees only the records of `dns` (normally [`AuthDns::offline`]): its resolver
    /// has no name servers, so a name `dns` does not answer fails instead of going out.
    pub fn offline(options: MailAuthOptions, dns: Arc<AuthDns>) -> Result<MailAuth, MailAuthError> {
        let authenticator = MessageAuthenticator::new(
            ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
            ResolverOpts::default(),
        )
        .map_err(|e| MailAuthError::Resolver(e.to_string()))?;
        Ok(MailAuth::with_authenticator(options, authenticator, dns))
    }

    /// The options.
    pub fn options(&self) -> &MailAuthOptions {
        &self.options
    }

    /// The DNS cache the checks read.
    pub fn dns(&self) -> &Arc<AuthDns> {
        &self.dns
    }

    /// Runs SPF, DKIM and DMARC on `m` and builds the `Authentication-Results:` field.
    pub async fn verify(&self, m: &HookMessage<'_>) -> AuthResults {
        let params = |p| self.dns.params(p);
        let id = self.options.authserv_id.as_str();
        let a = &self.authenticator;

        // SPF (RFC 7208 §2.3, §2.4): the MAIL FROM identity, or HELO's for a null sender.
        let spf = if m.sender.is_empty() {
            a.verify_spf(params(SpfParameters::verify_ehlo(m.client_ip, m.helo, id)))
                .await
        } else {
            a.verify_spf(params(SpfParameters::verify_mail_from(
                m.client_ip,
                m.helo,
                id,
                m.sender,
            )))
            .await
        };
        let spf_domain = match m.sender.rsplit_once('@') {
            Some((_, d)) if !m.sender.is_empty() => d,
            _ => m.helo,
        };

        let mut results = AuthResults {
            header: String::new(),
            spf: spf.result(),
            dkim: Vec::new(),
            dmarc: None,
            dmarc_policy: DmarcPolicy::Unspecified,
            dmarc_domain: String::new(),
        };
        let mut ar = AuthenticationResults::new(id);
        let message = if m.complete {
            AuthenticatedMessage::parse(m.message)
        } else {
            None
        };
        match &message {
            Some(msg) => {
                let dkim = a.verify_dkim(self.dns.params(msg)).await;
                results.dkim = dkim.iter().map(|d| d.result().clone()).collect();
                ar = ar.with_dkim_results(&dkim, msg.from());
                ar = spf_field(ar, &spf, m);
                let dmarc = a
                    .verify_dmarc(
                        self.dns
                            .params(DmarcParameters::new(msg, &dkim, spf_domain, &spf)),
                    )
                    .await;
                ar = ar.with_dmarc_result(&dmarc);
                results.dmarc = Some(dmarc.result());
                results.dmarc_policy = dmarc.policy();
                results.dmarc_domain = dmarc.domain().to_owned();
            }
            // Cut (over the hold limit) or not a message at all: SPF is all that can be said.
            None => ar = spf_field(ar, &spf, m),
        }
        results.header = ar.to_header().trim_end_matches(['\r', '\n']).to_owned();
        results
    }
}

fn spf_field<'x>(
    ar: AuthenticationResults<'x>,
    spf: &mail_auth::SpfOutput,
    m: &HookMessage<'_>,
) -> AuthenticationResults<'x> {
    if m.sender.is_empty() {
        ar.with_spf_ehlo_result(spf, m.client_ip, m.helo)
    } else {
        ar.with_spf_mailfrom_result(spf, m.client_ip, m.sender, m.helo)
    }
}

#[async_trait]
impl MessageHook for MailAuth {
    async fn check_message(&self, m: &HookMessage<'_>) -> HookVerdict {
        if m.trusted && !self.options.verify_trusted {
            return HookVerdict::Pass;
        }
        let verify = std::pin::pin!(self.verify(m));
        let timer = futures_timer::Delay::new(self.options.timeout);
        let r = match futures::future::select(verify, timer).await {
            futures::future::Either::Left((r, _)) => r,
            futures::future::Either::Right(_) => {
                tracing::warn!(sender = %m.sender.escape_debug(), "SPF/DKIM/DMARC checks timed out");
                return if self.options.tempfail_dns {
                    HookVerdict::Reject(Reply::new(
                        451,
                        "4.7.1",
                        "Timed out verifying the sender, try again later",
                    ))
                } else {
                    HookVerdict::Pass
                };
            }
        };
        if self.options.reject_dmarc && r.dmarc_rejects() {
            return HookVerdict::Reject(Reply::new(
                550,
                "5.7.1",
                format!(
                    "Message rejected by the DMARC policy of {}",
                    r.dmarc_domain.escape_debug()
                ),
            ));
        }
        if self.options.tempfail_dns && r.temporary_error() {
            let status = if r.spf == SpfResult::TempError {
                "4.7.24"
            } else {
                "4.7.1"
            };
            return HookVerdict::Reject(Reply::new(
                451,
                status,
                "Temporary DNS error verifying the sender, try again later",
            ));
        }
        HookVerdict::AddHeaders(vec![r.header])
    }

    fn authserv_id(&self) -> Option<&str> {
        Some(&self.options.authserv_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::dkim::DkimSigner;
    use std::time::Duration;

    const MESSAGE: &[u8] =
        b"From: alice@remote.test\r\nTo: dave@example.test\r\nSubject: hi\r\n\r\nHello.\r\n";

    fn message<'a>(ip: &str, helo: &'a str, sender: &'a str, body: &'a [u8]) -> HookMessage<'a> {
        HookMessage {
            client_ip: ip.parse().unwrap(),
            helo,
            sender,
            recipients: &[],
            authenticated: None,
            trusted: false,
            message: body,
            complete: true,
        }
    }

    /// `remote.test`: SPF allows 192.0.2.0/24, DMARC `p=reject`, DKIM key `s1`. Returns the
    /// hook (with `options` tweaked) and MESSAGE signed by `remote.test`.
    fn setup(tweak: impl FnOnce(&mut MailAuthOptions)) -> (MailAuth, Vec<u8>) {
        let key = Ed25519Key::from_pkcs8_der(&Ed25519Key::generate_pkcs8().unwrap()).unwrap();
        let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
        let sig = DkimSigner::from_key(key)
            .domain("remote.test")
            .selector("s1")
            .headers(["From", "To", "Subject"])
            .sign(MESSAGE)
            .unwrap();
        let mut signed = sig.to_header().into_bytes();
        signed.extend_from_slice(MESSAGE);
        let dns = AuthDns::offline();
        dns.add_txt(
            "s1._domainkey.remote.test",
            &format!("v=DKIM1; k=ed25519; p={public}"),
        )
        .unwrap();
        dns.add_txt("remote.test", "v=spf1 ip4:192.0.2.0/24 -all")
            .unwrap();
        dns.add_txt("mail.remote.test", "v=spf1 a -all").unwrap();
        dns.add_ip("mail.remote.test", "198.51.100.7".parse().unwrap());
        dns.add_txt("_dmarc.remote.test", "v=DMARC1; p=reject")
            .unwrap();
        let mut options = MailAuthOptions::new("mx.example.test");
        tweak(&mut options);
        (MailAuth::offline(options, Arc::new(dns)).unwrap(), signed)
    }

    #[tokio::test]
    async fn spf_passes_or_fails_by_the_client_address() {
        let (hook, _) = setup(|_| {});
        let inside = hook
            .verify(&message(
                "192.0.2.44",
                "mail.remote.test",
                "a@remote.test",
                MESSAGE,
            ))
            .await;
        assert_eq!(inside.spf, SpfResult::Pass, "{}", inside.header);
        assert!(inside.header.contains("spf=pass"), "{}", inside.header);
        let outside = hook
            .verify(&message(
                "203.0.113.9",
                "mail.remote.test",
                "a@remote.test",
                MESSAGE,
            ))
            .await;
        assert_eq!(outside.spf, SpfResult::Fail, "{}", outside.header);
        // A domain without a record: none (RFC 7208 §2.6.1), not fail.
        let unknown = hook
            .verify(&message(
                "192.0.2.44",
                "x.other.test",
                "a@other.test",
                MESSAGE,
            ))
            .await;
        assert_eq!(unknown.spf, SpfResult::None, "{}", unknown.header);
    }

    #[tokio::test]
    async fn a_null_sender_is_checked_by_its_helo_name() {
        let (hook, _) = setup(|_| {});
        let ok = hook
            .verify(&message("198.51.100.7", "mail.remote.test", "", MESSAGE))
            .await;
        assert_eq!(ok.spf, SpfResult::Pass, "{}", ok.header);
        assert!(
            ok.header.contains("smtp.helo=mail.remote.test"),
            "{}",
            ok.header
        );
        let bad = hook
            .verify(&message("198.51.100.8", "mail.remote.test", "", MESSAGE))
            .await;
        assert_eq!(bad.spf, SpfResult::Fail, "{}", bad.header);
    }

    #[tokio::test]
    async fn dkim_passes_and_a_changed_header_fails() {
        let (hook, signed) = setup(|_| {});
        // From outside the SPF range: DMARC rests on DKIM alone.
        let r = hook
            .verify(&message("203.0.113.9", "h.test", "a@remote.test", &signed))
            .await;
        assert_eq!(r.dkim, [DkimResult::Pass], "{}", r.header);
        assert_eq!(r.dmarc, Some(DmarcResult::Pass), "{}", r.header);
        assert!(!r.dmarc_rejects());
        let forged = String::from_utf8(signed)
            .unwrap()
            .replace("Subject: hi", "Subject: urgent");
        let r = hook
            .verify(&message(
                "203.0.113.9",
                "h.test",
                "a@remote.test",
                forged.as_bytes(),
            ))
            .await;
        assert!(matches!(r.dkim[..], [DkimResult::Fail(_)]), "{}", r.header);
        assert!(
            matches!(r.dmarc, Some(DmarcResult::Fail(_))),
            "{}",
            r.header
        );
        assert_eq!(r.dmarc_policy, DmarcPolicy::Reject);
        assert!(r.dmarc_rejects());
    }

    #[tokio::test]
    async fn dmarc_passes_on_aligned_spf_without_a_signature() {
        let (hook, _) = setup(|_| {});
        let r = hook
            .verify(&message(
                "192.0.2.1",
                "h.test",
                "bounce@remote.test",
                MESSAGE,
            ))
            .await;
        assert!(r.dkim.is_empty());
        assert_eq!(r.dmarc, Some(DmarcResult::Pass), "{}", r.header);
        assert!(r.header.contains("dmarc=pass"), "{}", r.header);
        // Not aligned: SPF passes for another domain (RFC 7489 §3.1.2).
        hook.dns().add_txt("other.test", "v=spf1 +all").unwrap();
        let r = hook
            .verify(&message("192.0.2.1", "h.test", "b@other.test", MESSAGE))
            .await;
        assert_eq!(r.spf, SpfResult::Pass);
        assert!(
            matches!(r.dmarc, Some(DmarcResult::Fail(_))),
            "{}",
            r.header
        );
    }

    #[tokio::test]
    async fn the_hook_rejects_only_when_asked() {
        let forged = |signed: Vec<u8>| {
            String::from_utf8(signed)
                .unwrap()
                .replace("Subject: hi", "Subject: urgent")
                .into_bytes()
        };
        let (lenient, signed) = setup(|_| {});
        let body = forged(signed);
        let m = message("203.0.113.9", "h.test", "a@remote.test", &body);
        match lenient.check_message(&m).await {
            HookVerdict::AddHeaders(f) => {
                assert_eq!(f.len(), 1);
                assert!(f[0].starts_with("Authentication-Results: mx.example.test;"));
                assert!(super::super::hooks::valid_field(&f[0]), "{}", f[0]);
            }
            other => panic!("{other:?}"),
        }
        let (strict, signed) = setup(|o| o.reject_dmarc = true);
        let body = forged(signed.clone());
        let m = message("203.0.113.9", "h.test", "a@remote.test", &body);
        match strict.check_message(&m).await {
            HookVerdict::Reject(r) => {
                assert_eq!((r.code, r.status.as_str()), (550, "5.7.1"));
            }
            other => panic!("{other:?}"),
        }
        // The genuine message passes the strict hook.
        let m = message("203.0.113.9", "h.test", "a@remote.test", &signed);
        assert!(matches!(
            strict.check_message(&m).await,
            HookVerdict::AddHeaders(_)
        ));
        // Trusted clients (our users) are not verified unless asked.
        let mut m = message("203.0.113.9", "h.test", "a@remote.test", &body);
        m.trusted = true;
        assert_eq!(strict.check_message(&m).await, HookVerdict::Pass);
    }

    #[tokio::test]
    async fn dns_failures_defer_only_when_asked() {
        for tempfail in [false, true] {
            let (hook, _) = setup(|o| o.tempfail_dns = tempfail);
            hook.dns().add_txt_failure("broken.test");
            let m = message("192.0.2.1", "h.test", "a@broken.test", MESSAGE);
            let r = hook.verify(&m).await;
            assert_eq!(r.spf, SpfResult::TempError, "{}", r.header);
            assert!(r.temporary_error());
            match hook.check_message(&m).await {
                HookVerdict::Reject(r) if tempfail => {
                    assert_eq!((r.code, r.status.as_str()), (451, "4.7.24"));
                }
                HookVerdict::AddHeaders(f) if !tempfail => {
                    assert!(f[0].contains("spf=temperror"), "{}", f[0]);
                }
                other => panic!("tempfail {tempfail}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn slow_dns_is_cut_off_by_the_timeout() {
        use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig};
        // A name server on loopback that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut conn = ConnectionConfig::udp();
        conn.port = silent.local_addr().unwrap().port();
        let server = NameServerConfig::new("127.0.0.1".parse().unwrap(), true, vec![conn]);
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(60);
        let config = ResolverConfig::from_name_servers(vec![server]);
        let authenticator = MessageAuthenticator::new(config, opts).unwrap();
        for tempfail in [false, true] {
            let mut options = MailAuthOptions::new("mx.example.test");
            options.timeout = Duration::from_millis(100);
            options.tempfail_dns = tempfail;
            let dns = Arc::new(AuthDns::new(10));
            let hook = MailAuth::with_authenticator(options, authenticator.clone(), dns);
            let m = message("192.0.2.1", "h.test", "a@slow.test", MESSAGE);
            // Bounded here too, so a hook that ignores its timeout fails instead of hanging.
            let verdict = tokio::time::timeout(Duration::from_secs(20), hook.check_message(&m))
                .await
                .expect("the hook's own timeout did not fire");
            match verdict {
                HookVerdict::Reject(r) if tempfail => assert_eq!(r.code, 451),
                HookVerdict::Pass if !tempfail => {}
                other => panic!("tempfail {tempfail}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_message_held_in_part_gets_spf_only() {
        let (hook, signed) = setup(|o| o.reject_dmarc = true);
        let mut m = message("203.0.113.9", "h.test", "a@remote.test", &signed[..40]);
        m.complete = false;
        let r = hook.verify(&m).await;
        assert!(r.dkim.is_empty() && r.dmarc.is_none(), "{}", r.header);
        assert!(r.header.contains("spf=fail"), "{}", r.header);
        assert!(!r.header.contains("dkim=") && !r.header.contains("dmarc="));
        assert!(matches!(
            hook.check_message(&m).await,
            HookVerdict::AddHeaders(_)
        ));
    }

    #[tokio::test]
    async fn garbage_never_panics() {
        let (hook, _) = setup(|_| {});
        for body in [
            &b""[..],
            b"\r\n",
            b"no header at all",
            b"DKIM-Signature: v=1; a=ed25519-sha256; d=remote.test; s=s1; b=!!!\r\n\r\nx",
            b"From: <>\r\nFrom: a@b\r\n\r\n",
            &[0xff, 0xfe, b':', b'\r', b'\n'],
        ] {
            for (helo, sender) in [("", ""), ("[192.0.2.1]", "x"), ("h.test", "@")] {
                let r = hook.verify(&message("::1", helo, sender, body)).await;
                assert!(super::super::hooks::valid_field(&r.header), "{}", r.header);
            }
        }
    }

    #[test]
    fn records_are_parsed_by_their_names() {
        let dns = AuthDns::offline();
        assert!(dns.add_txt("_dmarc.x.test", "v=DMARC1; p=none").is_ok());
        assert!(matches!(
            dns.add_txt("_dmarc.x.test", "v=spf1 -all"),
            Err(MailAuthError::Record { .. })
        ));
        assert!(dns.add_txt("s._domainkey.x.test", "v=spf1 -all").is_err());
        assert!(dns.add_txt("x.test", "v=DMARC1; p=none").is_err());
        assert!(dns.add_txt("X.Test.", "v=spf1 -all").is_ok());
        assert!(matches!(dns.txt.get("x.test."), Some(Txt::Spf(_))));
        assert!(
            matches!(dns.txt.get("unknown.test."), Some(Txt::Error(_))),
            "offline: no such domain"
        );
        assert!(AuthDns::new(4).txt.get("unknown.test.").is_none());
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_hand_added_records() {
        let t: Table<Box<str>, u32> = Table::new(3, None);
        let later = Instant::now() + Duration::from_secs(3600);
        t.put("static.".into(), 0, None);
        for i in 1..10u32 {
            t.insert(format!("n{i}.").into(), i, later);
            assert!(t.map.lock().unwrap().len() <= 3);
        }
        assert_eq!(t.get("static."), Some(0));
        assert_eq!(t.get("n9."), Some(9));
        // An expired answer is not served.
        t.remove("n9.");
        // Valid until now: already over when read.
        t.insert("old.".into(), 7, Instant::now());
        assert_eq!(t.get("old."), None);
    }
}
