//! What the hub lets in: relay control (closed by default), access tables, size limits,
//! rate and connection limits, submission rules, and hook points for DNSBL, SPF, DKIM/DMARC
//! and greylisting.
//!
//! The SMTP driver asks [`Policy`] at each stage — connect ([`Policy::check_client`]), HELO
//! ([`Policy::check_helo`]), MAIL ([`Policy::check_sender`]), RCPT
//! ([`Policy::check_recipient`], which also routes through [`Router`]) — and answers with the
//! [`Reply`] of a refusal. Every check takes the time as an argument.
//!
//! Relay control (RFC 5321 §3.6.2, §7.1; RFC 2505 "Anti-Spam Recommendations for SMTP MTAs"
//! §2): mail for a domain that is not local or virtual is accepted only from an authenticated
//! client, a configured relay network, a client an access table marks RELAY, or for a domain
//! listed in [`PolicyOptions::relay_domains`] (backup MX). The old relay forms — the percent
//! hack, bang paths, an `@` inside the local part — are refused from everyone else even when
//! the final domain is local, because a downstream MTA might still honour them; source routes
//! are stripped (RFC 5321 Appendix C) and the remaining address is judged. Submission
//! (RFC 6409 §4.3, §6.1): AUTH required, and the sender must belong to the authenticated user;
//! [`submission_fixups`] adds a missing `Date:`/`Message-ID:` (§8.2, §8.3).

mod access;
mod hooks;
mod limits;
#[cfg(feature = "mail-auth")]
mod mailauth;
mod reply;
mod submission;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use access::{AccessError, AccessTable, Action, IpNet, canonical};
pub use hooks::{
    ClientHook, Dnsbl, Greylist, GreylistOptions, HookMessage, HookVerdict, MessageHook,
    RecipientHook, SenderHook, strip_authentication_results,
};
pub use limits::{ConnectionGuard, ConnectionLimiter, RateLimiter, client_key};
#[cfg(feature = "mail-auth")]
pub use mailauth::{AuthDns, AuthResults, MailAuth, MailAuthError, MailAuthOptions};
pub use reply::Reply;
pub use submission::submission_fixups;

use crate::route::{Address, Destination, RcptDecision, Router, Trick};

/// The client of an SMTP session, as policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The peer address.
    pub ip: IpAddr,
    /// The HELO/EHLO name, once given.
    pub helo: Option<String>,
    /// The authenticated user, once AUTH succeeded.
    pub authenticated: Option<String>,
}

impl Client {
    /// A client that connected from `ip`.
    pub fn new(ip: IpAddr) -> Client {
        Client {
            ip,
            helo: None,
            authenticated: None,
        }
    }
}

/// What a stage decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on.
    Accept,
    /// Accept, then throw the message away (an access table's DISCARD).
    Discard,
    /// Refuse with this reply.
    Reject(Reply),
}

/// What RCPT TO decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RcptVerdict {
    /// Accept (250 2.1.5) and queue these destinations.
    Accept(Vec<Destination>),
    /// Accept (250), deliver nowhere.
    Discard,
    /// Refuse with this reply (550 unknown user, 551 relocated, 554 relay denied, 451…).
    Reject(Reply),
}

impl RcptVerdict {
    /// The reply to send for this recipient.
    pub fn reply(&self) -> Reply {
        match self {
            RcptVerdict::Accept(_) | RcptVerdict::Discard => Reply::new(250, "2.1.5", "OK"),
            RcptVerdict::Reject(r) => r.clone(),
        }
    }
}

/// Who may send as which address on submission (RFC 6409 §6.1).
pub type SenderOwnership = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Policy configuration. The default is closed: no relay network, no relay domain.
#[derive(Clone)]
pub struct PolicyOptions {
    /// Networks whose clients may relay (e.g. `127.0.0.0/8`, the LAN). Empty by default.
    pub relay_networks: Vec<IpNet>,
    /// Domains this host relays for from anyone (it is their backup MX).
    pub relay_domains: HashSet<String>,
    /// Address literals (`[192.0.2.1]`) that name this host, treated as local.
    pub local_literals: HashSet<String>,
    /// Access rules.
    pub access: AccessTable,
    /// The largest message accepted (RFC 1870 SIZE), in octets.
    pub max_message_size: u64,
    /// Most recipients per message (RFC 5321 §4.5.3.1.8 asks for at least 100).
    pub max_recipients: usize,
    /// Submission mode (RFC 6409): AUTH required before MAIL.
    pub require_auth: bool,
    /// On submission, whether the sender must belong to the authenticated user.
    pub sender_login_match: bool,
    /// Which senders a login owns; by default the login itself and addresses whose local part
    /// is the login.
    pub sender_ownership: SenderOwnership,
    /// Messages per client address (/64) per [`PolicyOptions::rate_window`].
    pub max_messages_per_client: u32,
    /// Messages per authenticated user per [`PolicyOptions::rate_window`].
    pub max_messages_per_user: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// Most client addresses and users the rate limiters track.
    pub max_tracked: usize,
    /// The most of a message held in memory for the [`MessageHook`]s (1 MiB): a longer
    /// message is shown to them cut (its header block whole when it fits).
    pub max_hook_message: usize,
}

impl std::fmt::Debug for PolicyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyOptions")
            .field("relay_networks", &self.relay_networks)
            .field("relay_domains", &self.relay_domains)
            .field("max_message_size", &self.max_message_size)
            .field("require_auth", &self.require_auth)
            .finish_non_exhaustive()
    }
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            relay_networks: Vec::new(),
            relay_domains: HashSet::new(),
            local_literals: HashSet::new(),
            access: AccessTable::default(),
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 1000,
            require_auth: false,
            sender_login_match: true,
            sender_ownership: Arc::new(|login: &str, sender: &str| {
                let login = login.to_lowercase();
                let sender = sender.to_lowercase();
                sender == login || sender.rsplit_once('@').is_some_and(|(l, _)| l == login)
            }),
            max_messages_per_client: 1000,
            max_messages_per_user: 1000,
            rate_window: Duration::from_secs(3600),
            max_tracked: 100_000,
            max_hook_message: 1024 * 1024,
        }
    }
}

/// The policy engine; one value serves every session.
pub struct Policy {
    options: PolicyOptions,
    per_client: RateLimiter<IpAddr>,
    per_user: RateLimiter<String>,
    client_hooks: Vec<Arc<dyn ClientHook>>,
    sender_hooks: Vec<Arc<dyn SenderHook>>,
    recipient_hooks: Vec<Arc<dyn RecipientHook>>,
    message_hooks: Vec<Arc<dyn MessageHook>>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn reject(code: u16, status: &str, text: &str) -> Verdict {
    Verdict::Reject(Reply::new(code, status, text))
}

impl Policy {
    /// A policy.
    pub fn new(options: PolicyOptions) -> Policy {
        Policy {
            per_client: RateLimiter::new(
                options.max_messages_per_client,
                options.rate_window,
                options.max_tracked,
            ),
            per_user: RateLimiter::new(
                options.max_messages_per_user,
                options.rate_window,
                options.max_tracked,
            ),
            options,
            client_hooks: Vec::new(),
            sender_hooks: Vec::new(),
            recipient_hooks: Vec::new(),
            message_hooks: Vec::new(),
        }
    }

    /// Adds a connect-time hook (DNSBL).
    pub fn with_client_hook(mut self, h: Arc<dyn ClientHook>) -> Policy {
        self.client_hooks.push(h);
        self
    }

    /// Adds a MAIL-time hook (SPF).
    pub fn with_sender_hook(mut self, h: Arc<dyn SenderHook>) -> Policy {
        self.sender_hooks.push(h);
        self
    }

    /// Adds a RCPT-time hook (greylisting).
    pub fn with_recipient_hook(mut self, h: Arc<dyn RecipientHook>) -> Policy {
        self.recipient_hooks.push(h);
        self
    }

    /// Adds an end-of-content hook (DKIM/DMARC verification, content filters).
    pub fn with_message_hook(mut self, h: Arc<dyn MessageHook>) -> Policy {
        self.message_hooks.push(h);
        self
    }

    /// The authserv-ids the message hooks write `Authentication-Results` under
    /// ([`MessageHook::authserv_id`]).
    pub fn authserv_ids(&self) -> Vec<&str> {
        self.message_hooks
            .iter()
            .filter_map(|h| h.authserv_id())
            .collect()
    }

    /// Whether any [`MessageHook`] is configured (the SMTP driver then holds the message
    /// back until its end, up to [`PolicyOptions::max_hook_message`]).
    pub fn has_message_hooks(&self) -> bool {
        !self.message_hooks.is_empty()
    }

    /// At the end of the content: runs the message hooks in order. The first refusal wins;
    /// otherwise the header fields all hooks add, in order ([`HookVerdict::AddHeaders`],
    /// malformed ones dropped), or [`HookVerdict::Pass`].
    pub async fn check_message(&self, message: &HookMessage<'_>) -> HookVerdict {
        let mut add = Vec::new();
        for h in &self.message_hooks {
            match h.check_message(message).await {
                HookVerdict::Reject(r) => return HookVerdict::Reject(r),
                HookVerdict::AddHeaders(fields) => {
                    for f in fields {
                        let f = f.trim_end_matches(['\r', '\n']).to_owned();
                        if hooks::valid_field(&f) {
                            add.push(f);
                        } else {
                            tracing::warn!(field = %f.escape_debug(), "message hook added a malformed header field; dropped");
                        }
                    }
                }
                _ => {}
            }
        }
        if add.is_empty() {
            HookVerdict::Pass
        } else {
            HookVerdict::AddHeaders(add)
        }
    }

    /// The options.
    pub fn options(&self) -> &PolicyOptions {
        &self.options
    }

    /// Whether `client` may relay: authenticated, in a relay network, or marked RELAY.
    pub fn may_relay(&self, client: &Client) -> bool {
        client.authenticated.is_some()
            || self
                .options
                .relay_networks
                .iter()
                .any(|n| n.contains(client.ip))
            || self.options.access.check_client(client.ip) == Action::Relay
    }

    /// At connect: access table and client hooks (DNSBL). Trusted clients skip the hooks.
    pub async fn check_client(&self, client: &Client) -> Verdict {
        match self.options.access.check_client(client.ip) {
            Action::Reject(r) => return Verdict::Reject(r),
            Action::Ok | Action::Relay => return Verdict::Accept,
            _ => {}
        }
        if self.may_relay(client) {
            return Verdict::Accept;
        }
        for h in &self.client_hooks {
            if let HookVerdict::Reject(r) = h.check_client(client.ip).await {
                return Verdict::Reject(r);
            }
        }
        Verdict::Accept
    }

    /// At HELO/EHLO.
    pub fn check_helo(&self, _client: &Client, helo: &str) -> Verdict {
        match self.options.access.check_helo(helo) {
            Action::Reject(r) => Verdict::Reject(r),
            Action::Discard => Verdict::Discard,
            _ => Verdict::Accept,
        }
    }

    /// At MAIL FROM: submission rules, size (the SIZE parameter, RFC 1870 §6), sender access,
    /// rate limits, sender hooks (SPF). `sender` is empty for `<>`.
    pub async fn check_sender(
        &self,
        client: &Client,
        sender: &str,
        size: Option<u64>,
        now: Instant,
    ) -> Verdict {
        if self.options.require_auth && client.authenticated.is_none() {
            return reject(530, "5.7.0", "Authentication required");
        }
        if let Some(s) = size
            && s > self.options.max_message_size
        {
            return reject(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
        }
        if !sender.is_empty() && Address::parse(sender).is_err() {
            return reject(553, "5.1.7", "Bad sender address syntax");
        }
        if let Some(login) = &client.authenticated
            && self.options.require_auth
            && self.options.sender_login_match
            && !sender.is_empty()
            && !(self.options.sender_ownership)(login, sender)
        {
            return reject(
                553,
                "5.7.1",
                "Sender address not owned by the authenticated user",
            );
        }
        let mut discard = false;
        match self.options.access.check_sender(sender) {
            Action::Reject(r) => return Verdict::Reject(r),
            Action::Discard => discard = true,
            _ => {}
        }
        let limited = match &client.authenticated {
            Some(u) => !self.per_user.check(&u.to_lowercase(), 1, now),
            None => !self.per_client.check(&client_key(client.ip), 1, now),
        };
        if limited {
            return reject(450, "4.7.1", "Rate limit exceeded, try again later");
        }
        if !self.may_relay(client) {
            let helo = client.helo.as_deref().unwrap_or("");
            for h in &self.sender_hooks {
                if let HookVerdict::Reject(r) = h.check_sender(client.ip, helo, sender).await {
                    return Verdict::Reject(r);
                }
            }
        }
        if discard {
            Verdict::Discard
        } else {
            Verdict::Accept
        }
    }

    /// The message size once known (end of DATA): 552 5.3.4 when over the limit.
    pub fn check_size(&self, size: u64) -> Verdict {
        if size > self.options.max_message_size {
            reject(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            )
        } else {
            Verdict::Accept
        }
    }

    /// At RCPT TO: recipient access, relay control, routing, recipient hooks (greylisting).
    /// `count` is the number of recipients accepted so far in the transaction.
    pub async fn check_recipient(
        &self,
        client: &Client,
        sender: &str,
        recipient: &str,
        count: usize,
        router: &Router,
        now: Instant,
    ) -> RcptVerdict {
        let rej = |c, s, t: &str| RcptVerdict::Reject(Reply::new(c, s, t));
        if count >= self.options.max_recipients {
            return rej(452, "4.5.3", "Too many recipients");
        }
        let addr = match Address::parse(recipient) {
            Ok(a) => a,
            Err(_) => return rej(501, "5.1.3", "Bad recipient address syntax"),
        };
        let trusted = self.may_relay(client);
        let mut verdict_ok = false;
        match self.options.access.check_recipient(&addr_key(&addr)) {
            Action::Reject(r) => return RcptVerdict::Reject(r),
            Action::Discard => return RcptVerdict::Discard,
            Action::Ok => verdict_ok = true,
            _ => {}
        }
        let tricks: Vec<Trick> = addr
            .tricks()
            .into_iter()
            .filter(|t| *t != Trick::SourceRoute)
            .collect();
        let effective = if tricks.is_empty() {
            addr.clone()
        } else if trusted {
            match addr.relay_target() {
                Some(t) => t,
                None => return rej(501, "5.1.3", "Bad recipient address syntax"),
            }
        } else {
            return rej(554, "5.7.1", "Relay access denied");
        };
        let domain = match &effective.domain {
            None if effective.local_key() == "postmaster" => None,
            None => return rej(501, "5.1.3", "Recipient address must have a domain"),
            Some(d) if d.starts_with('[') => {
                if self.options.local_literals.contains(d) {
                    None
                } else {
                    Some(d.clone())
                }
            }
            Some(d) => Some(d.clone()),
        };
        let route_as = match (&domain, &effective.domain) {
            // An address literal of ours is the postmaster-style local form.
            (None, Some(_)) => effective.local.clone(),
            _ => effective.to_addr_string(),
        };
        let decision = if domain.as_deref().is_some_and(|d| d.starts_with('[')) {
            RcptDecision::NotLocal {
                domain: domain.clone().unwrap_or_default(),
            }
        } else {
            router.resolve(&route_as)
        };
        let verdict = match decision {
            RcptDecision::NotLocal { domain } => {
                if trusted || self.options.relay_domains.contains(&domain) {
                    RcptVerdict::Accept(vec![Destination::Remote(effective.to_addr_string())])
                } else {
                    return rej(554, "5.7.1", "Relay access denied");
                }
            }
            RcptDecision::Accept(d) if d.is_empty() => RcptVerdict::Discard,
            RcptDecision::Accept(d) => RcptVerdict::Accept(d),
            other => {
                return RcptVerdict::Reject(
                    other
                        .reply()
                        .unwrap_or_else(|| Reply::new(550, "5.1.1", "Rejected")),
                );
            }
        };
        if !trusted && !verdict_ok {
            for h in &self.recipient_hooks {
                if let HookVerdict::Reject(r) =
                    h.check_recipient(client.ip, sender, recipient, now).await
                {
                    return RcptVerdict::Reject(r);
                }
            }
        }
        verdict
    }
}

fn addr_key(a: &Address) -> String {
    match &a.domain {
        Some(d) => format!("{}@{d}", a.local),
        None => a.local.clone(),
    }
}
