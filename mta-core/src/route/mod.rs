//! Where a recipient's mail goes: local and virtual domains, aliases, `.forward`,
//! plus-addressing, postmaster/abuse, relocated users — decided at RCPT time, so an unknown
//! local user is refused there (550) and never accepted and bounced later (no backscatter).
//!
//! [`Router::resolve`] turns an envelope recipient into a [`RcptDecision`]; the SMTP driver
//! answers RCPT with [`RcptDecision::reply`] (250, 550 5.1.1, 551 5.1.6, 451/452, 550 5.4.6
//! for a loop) and, on acceptance, queues the [`Destination`]s. A recipient outside every local
//! and virtual domain is [`RcptDecision::NotLocal`]: relay control ([`crate::policy`]) decides.
//!
//! - RFC 5321 §4.5.1: `postmaster` (with or without a domain) is always accepted; `abuse` is
//!   treated the same (RFC 2142 §2).
//! - RFC 5321 §3.4, §3.9: aliases and lists (`/etc/aliases` syntax, [`aliases`]).
//! - RFC 5321 §3.4 (551 User not local; please try `<forward-path>`) for relocated users.
//! - RFC 5321 §6.3: expansion loops are detected (depth and repeated names) and refused.

pub mod address;
pub mod aliases;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub use address::{Address, AddressError, Trick};
pub use aliases::{AliasEntry, AliasError, AliasLimits, AliasTable, AliasTarget};

use crate::policy::Reply;

/// Who the local users are.
pub trait UserDirectory: Send + Sync {
    /// Whether `user` (lower-cased local part or virtual mailbox owner) has a mailbox here.
    fn exists(&self, user: &str) -> bool;
}

impl UserDirectory for HashSet<String> {
    fn exists(&self, user: &str) -> bool {
        self.contains(user)
    }
}

impl<F: Fn(&str) -> bool + Send + Sync> UserDirectory for F {
    fn exists(&self, user: &str) -> bool {
        self(user)
    }
}

/// Reads a user's `.forward` file (off unless [`RouteOptions::forward_files`]).
pub trait ForwardFiles: Send + Sync {
    /// The text of `user`'s `.forward`, `None` when there is none.
    fn forward(&self, user: &str) -> Option<String>;
}

/// A virtual domain (Postfix `virtual_mailbox_domains`): addresses that map to mailboxes
/// not named after local users.
#[derive(Debug, Clone, Default)]
pub struct VirtualDomain {
    /// Local part (lower-cased) → the user whose mailbox receives it.
    pub mailboxes: HashMap<String, String>,
    /// Local part (lower-cased) → addresses it stands for (resolved again).
    pub aliases: HashMap<String, Vec<String>>,
    /// Where mail to any other local part goes (an address, resolved again); `None` refuses
    /// unknown local parts.
    pub catch_all: Option<String>,
}

/// Routing configuration.
#[derive(Debug, Clone)]
pub struct RouteOptions {
    /// Domains whose local parts are local users and aliases (lower-case).
    pub local_domains: HashSet<String>,
    /// Virtual domains (lower-case name → maps).
    pub virtual_domains: HashMap<String, VirtualDomain>,
    /// The separator of plus-addressing (`user+detail`); `None` turns it off.
    pub recipient_delimiter: Option<char>,
    /// Relocated users: address or local part (lower-case) → new address (551).
    pub relocated: HashMap<String, String>,
    /// The local user that receives `postmaster` and `abuse` mail when no alias says
    /// otherwise.
    pub postmaster: String,
    /// Whether `|command` targets may be used (off by default: a program run as the mail
    /// system is a classic hole).
    pub allow_programs: bool,
    /// Whether `/path` file targets may be used (off by default).
    pub allow_files: bool,
    /// Whether users' `.forward` files are read (off by default).
    pub forward_files: bool,
    /// Deepest alias nesting before the expansion counts as a loop.
    pub max_depth: usize,
    /// Most destinations one recipient may expand to.
    pub max_expansion: usize,
}

impl Default for RouteOptions {
    fn default() -> Self {
        RouteOptions {
            local_domains: HashSet::new(),
            virtual_domains: HashMap::new(),
            recipient_delimiter: Some('+'),
            relocated: HashMap::new(),
            postmaster: "root".into(),
            allow_programs: false,
            allow_files: false,
            forward_files: false,
            max_depth: 20,
            max_expansion: 1000,
        }
    }
}

/// Where one accepted recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A local user's mailbox; `folder` is the plus-address detail, used when such a folder
    /// exists (INBOX otherwise).
    Local {
        /// The user.
        user: String,
        /// The detail of `user+detail`.
        folder: Option<String>,
    },
    /// Another host's address (relayed).
    Remote(String),
    /// A program (only with [`RouteOptions::allow_programs`]).
    Program(String),
    /// A file (only with [`RouteOptions::allow_files`]).
    File(String),
}

impl Destination {
    /// A one-line form for the queue's envelope file (`local:user/folder`, `remote:addr`,
    /// `program:cmd`, `file:path`).
    pub fn to_token(&self) -> String {
        match self {
            Destination::Local { user, folder: None } => format!("local:{user}"),
            Destination::Local {
                user,
                folder: Some(f),
            } => format!("local:{user}/{f}"),
            Destination::Remote(a) => format!("remote:{a}"),
            Destination::Program(c) => format!("program:{c}"),
            Destination::File(p) => format!("file:{p}"),
        }
    }

    /// Reads [`Destination::to_token`]'s form.
    pub fn from_token(s: &str) -> Option<Destination> {
        let (kind, v) = s.split_once(':')?;
        Some(match kind {
            "local" => match v.split_once('/') {
                Some((u, f)) => Destination::Local {
                    user: u.into(),
                    folder: Some(f.into()),
                },
                None => Destination::Local {
                    user: v.into(),
                    folder: None,
                },
            },
            "remote" => Destination::Remote(v.into()),
            "program" => Destination::Program(v.into()),
            "file" => Destination::File(v.into()),
            _ => return None,
        })
    }

    /// The domain of a remote destination.
    pub fn remote_domain(&self) -> Option<String> {
        match self {
            Destination::Remote(a) => Address::parse(a).ok().and_then(|a| a.domain),
            _ => None,
        }
    }
}

/// What to do with a recipient, for RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RcptDecision {
    /// Accept; deliver to these destinations (empty: everything went to `/dev/null`).
    Accept(Vec<Destination>),
    /// Not a local or virtual domain: relay control decides ([`crate::policy`]).
    NotLocal {
        /// The recipient's domain (`None` never happens here, kept for literal forms).
        domain: String,
    },
    /// No such user (550 5.1.1).
    Unknown,
    /// The user moved (551 5.1.6 with the new address).
    Relocated(String),
    /// The alias expansion loops or is too deep or too wide (550 5.4.6).
    Loop,
    /// An alias names a program or file target that is not enabled (550 5.7.1), or an
    /// address that cannot be parsed (501 5.1.3).
    Refused(Reply),
    /// Cannot decide now (an include file missing): 451 4.3.0, try later.
    TempFail(String),
}

impl RcptDecision {
    /// The RCPT reply; `None` for [`RcptDecision::NotLocal`], which policy answers.
    pub fn reply(&self) -> Option<Reply> {
        Some(match self {
            RcptDecision::Accept(_) => Reply::new(250, "2.1.5", "OK"),
            RcptDecision::NotLocal { .. } => return None,
            RcptDecision::Unknown => Reply::new(550, "5.1.1", "No such user here"),
            RcptDecision::Relocated(new) => {
                Reply::new(551, "5.1.6", format!("User not local; please try <{new}>"))
            }
            RcptDecision::Loop => Reply::new(550, "5.4.6", "Alias expansion loop"),
            RcptDecision::Refused(r) => r.clone(),
            RcptDecision::TempFail(why) => {
                Reply::new(451, "4.3.0", format!("Try again later: {why}"))
            }
        })
    }
}

/// Resolves recipients. Cheap to share (`Arc` inside), pure in-memory except for
/// [`ForwardFiles`] when enabled.
#[derive(Clone)]
pub struct Router {
    options: Arc<RouteOptions>,
    aliases: Arc<AliasTable>,
    users: Arc<dyn UserDirectory>,
    forward: Option<Arc<dyn ForwardFiles>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("options", &self.options)
            .field("aliases", &self.aliases.len())
            .finish_non_exhaustive()
    }
}

struct Walk {
    out: Vec<Destination>,
    seen: HashSet<Destination>,
    steps: usize,
}

enum Fail {
    Loop,
    Unknown,
    Refused(Reply),
    Temp(String),
}

impl Router {
    /// A router.
    pub fn new(
        options: RouteOptions,
        aliases: AliasTable,
        users: Arc<dyn UserDirectory>,
    ) -> Router {
        Router {
            options: Arc::new(options),
            aliases: Arc::new(aliases),
            users,
            forward: None,
        }
    }

    /// Reads `.forward` files through `files` (used only with
    /// [`RouteOptions::forward_files`]).
    pub fn with_forward_files(mut self, files: Arc<dyn ForwardFiles>) -> Router {
        self.forward = Some(files);
        self
    }

    /// The options.
    pub fn options(&self) -> &RouteOptions {
        &self.options
    }

    /// Whether `domain` is local or virtual.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        let d = domain.to_lowercase();
        self.options.local_domains.contains(&d) || self.options.virtual_domains.contains_key(&d)
    }

    /// Decides a recipient (RCPT TO).
    pub fn resolve(&self, recipient: &str) -> RcptDecision {
        let addr = match Address::parse(recipient) {
            Ok(a) => a,
            Err(e) => {
                return RcptDecision::Refused(Reply::new(
                    501,
                    "5.1.3",
                    format!("Bad recipient address: {e}"),
                ));
            }
        };
        if let Some(d) = &addr.domain
            && !self.is_local_domain(d)
        {
            return RcptDecision::NotLocal { domain: d.clone() };
        }
        let key = addr.local_key();
        if let Some(new) = self.relocated(&addr) {
            return RcptDecision::Relocated(new);
        }
        let mut walk = Walk {
            out: Vec::new(),
            seen: HashSet::new(),
            steps: 0,
        };
        let mut chain = Vec::new();
        let r = match addr.domain.as_deref() {
            Some(d) if self.options.virtual_domains.contains_key(d) => {
                self.virtual_addr(&key, d, 0, &mut chain, &mut walk)
            }
            _ => self.local(&key, 0, &mut chain, &mut walk),
        };
        match r {
            Ok(()) => RcptDecision::Accept(walk.out),
            Err(Fail::Loop) => RcptDecision::Loop,
            Err(Fail::Unknown) => RcptDecision::Unknown,
            Err(Fail::Refused(r)) => RcptDecision::Refused(r),
            Err(Fail::Temp(w)) => RcptDecision::TempFail(w),
        }
    }

    fn relocated(&self, a: &Address) -> Option<String> {
        let r = &self.options.relocated;
        let full = a.domain.as_ref().map(|d| format!("{}@{d}", a.local_key()));
        full.and_then(|f| r.get(&f))
            .or_else(|| r.get(&a.local_key()))
            .cloned()
    }

    fn split_detail<'a>(&self, key: &'a str) -> (&'a str, Option<&'a str>) {
        match self
            .options
            .recipient_delimiter
            .and_then(|d| key.split_once(d))
        {
            Some((base, detail)) if !base.is_empty() => (base, Some(detail)),
            _ => (key, None),
        }
    }

    fn push(&self, walk: &mut Walk, d: Destination) -> Result<(), Fail> {
        if walk.seen.insert(d.clone()) {
            if walk.out.len() >= self.options.max_expansion {
                return Err(Fail::Loop);
            }
            walk.out.push(d);
        }
        Ok(())
    }

    fn enter(&self, depth: usize, walk: &mut Walk) -> Result<(), Fail> {
        walk.steps += 1;
        if depth > self.options.max_depth || walk.steps > self.options.max_expansion * 4 {
            return Err(Fail::Loop);
        }
        Ok(())
    }

    /// A local part of a local domain (lower-cased).
    fn local(
        &self,
        key: &str,
        depth: usize,
        chain: &mut Vec<String>,
        walk: &mut Walk,
    ) -> Result<(), Fail> {
        self.enter(depth, walk)?;
        let (base, detail) = self.split_detail(key);
        // `user+detail` may be an alias of its own (Postfix tries the full name first).
        let alias_name = if self.aliases.get(key).is_some() {
            key
        } else {
            base
        };
        if let Some(targets) = self.aliases.get(alias_name) {
            if chain.iter().any(|c| c == alias_name) {
                return Err(Fail::Loop);
            }
            chain.push(alias_name.to_owned());
            let r = self.targets(targets, alias_name, depth, chain, walk);
            chain.pop();
            return r;
        }
        let special = base == "postmaster" || base == "abuse";
        if self.users.exists(base) {
            if self.options.forward_files
                && let Some(fw) = self.forward.as_ref().and_then(|f| f.forward(base))
                && !chain.iter().any(|c| c == base)
            {
                let list = aliases::parse_list(&fw, &AliasLimits::default())
                    .map_err(|e| Fail::Temp(format!(".forward of {base}: {e}")))?;
                chain.push(base.to_owned());
                let r = self.targets(&list, base, depth, chain, walk);
                chain.pop();
                return r;
            }
            let folder = detail.filter(|d| !d.is_empty()).map(str::to_owned);
            return self.push(
                walk,
                Destination::Local {
                    user: base.to_owned(),
                    folder,
                },
            );
        }
        if special {
            let pm = self.options.postmaster.to_lowercase();
            let resolvable = self.users.exists(&pm) || self.aliases.get(&pm).is_some();
            if pm != base && resolvable && !chain.contains(&pm) {
                chain.push(base.to_owned());
                let r = self.local(&pm, depth + 1, chain, walk);
                chain.pop();
                return r;
            }
            return self.push(
                walk,
                Destination::Local {
                    user: pm,
                    folder: None,
                },
            );
        }
        Err(Fail::Unknown)
    }

    fn virtual_addr(
        &self,
        key: &str,
        domain: &str,
        depth: usize,
        chain: &mut Vec<String>,
        walk: &mut Walk,
    ) -> Result<(), Fail> {
        self.enter(depth, walk)?;
        let Some(v) = self.options.virtual_domains.get(domain) else {
            return Err(Fail::Unknown);
        };
        let (base, detail) = self.split_detail(key);
        let name = format!("{base}@{domain}");
        if chain.contains(&name) {
            return Err(Fail::Loop);
        }
        if let Some(user) = v.mailboxes.get(key).or_else(|| v.mailboxes.get(base)) {
            let folder = detail.filter(|d| !d.is_empty()).map(str::to_owned);
            return self.push(
                walk,
                Destination::Local {
                    user: user.clone(),
                    folder,
                },
            );
        }
        let list = v.aliases.get(key).or_else(|| v.aliases.get(base)).cloned();
        let list = match list {
            Some(l) => l,
            None if base == "postmaster" || base == "abuse" => vec![base.to_owned()],
            None => match &v.catch_all {
                Some(c) => vec![c.clone()],
                None => return Err(Fail::Unknown),
            },
        };
        chain.push(name);
        let r = list
            .iter()
            .try_for_each(|a| self.address(a, depth + 1, chain, walk));
        chain.pop();
        r
    }

    /// An address met during expansion: local part of a local domain, virtual, or remote.
    fn address(
        &self,
        a: &str,
        depth: usize,
        chain: &mut Vec<String>,
        walk: &mut Walk,
    ) -> Result<(), Fail> {
        let addr = Address::parse(a).map_err(|e| {
            Fail::Refused(Reply::new(
                550,
                "5.3.5",
                format!("Bad alias target {a:?}: {e}"),
            ))
        })?;
        match addr.domain.as_deref() {
            None => self.local(&addr.local_key(), depth + 1, chain, walk),
            Some(d) if self.options.virtual_domains.contains_key(d) => {
                self.virtual_addr(&addr.local_key(), d, depth + 1, chain, walk)
            }
            Some(d) if self.options.local_domains.contains(d) => {
                self.local(&addr.local_key(), depth + 1, chain, walk)
            }
            Some(_) => self.push(walk, Destination::Remote(addr.to_addr_string())),
        }
    }

    fn targets(
        &self,
        targets: &[AliasTarget],
        name: &str,
        depth: usize,
        chain: &mut Vec<String>,
        walk: &mut Walk,
    ) -> Result<(), Fail> {
        let refused = |what: &str| {
            Fail::Refused(Reply::new(
                550,
                "5.7.1",
                format!("Delivery to {what} is disabled ({name})"),
            ))
        };
        for t in targets {
            match t {
                AliasTarget::Address(a) => {
                    let parsed = Address::parse(a).ok();
                    // `root: root, ops` delivers to the user root (sendmail's self-reference).
                    let own = parsed.as_ref().filter(|p| {
                        p.domain.is_none()
                            || p.domain
                                .as_deref()
                                .is_some_and(|d| self.options.local_domains.contains(d))
                    });
                    match own {
                        Some(p) if p.local_key() == name => {
                            if !self.users.exists(name) {
                                return Err(Fail::Unknown);
                            }
                            self.push(
                                walk,
                                Destination::Local {
                                    user: name.to_owned(),
                                    folder: None,
                                },
                            )?;
                        }
                        _ => self.address(a, depth, chain, walk)?,
                    }
                }
                AliasTarget::Local(u) => {
                    let u = u.to_lowercase();
                    if !self.users.exists(&u) {
                        return Err(Fail::Unknown);
                    }
                    self.push(
                        walk,
                        Destination::Local {
                            user: u,
                            folder: None,
                        },
                    )?;
                }
                AliasTarget::DevNull => {}
                AliasTarget::Program(c) if self.options.allow_programs => {
                    self.push(walk, Destination::Program(c.clone()))?
                }
                AliasTarget::Program(_) => return Err(refused("programs")),
                AliasTarget::File(p) if self.options.allow_files => {
                    self.push(walk, Destination::File(p.display().to_string()))?
                }
                AliasTarget::File(_) => return Err(refused("files")),
                AliasTarget::Include(p) => {
                    let list = self.aliases.include(p).ok_or_else(|| {
                        Fail::Temp(format!("include file {} not loaded", p.display()))
                    })?;
                    let key = format!(":include:{}", p.display());
                    if chain.contains(&key) {
                        return Err(Fail::Loop);
                    }
                    chain.push(key);
                    let r = self.targets(list, name, depth + 1, chain, walk);
                    chain.pop();
                    r?;
                }
            }
        }
        Ok(())
    }
}
