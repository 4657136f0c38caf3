//! The IMAP client engine (RFC 3501, RFC 9051): greeting, CAPABILITY, STARTTLS (§6.2.1),
//! LOGIN (§6.2.3) and AUTHENTICATE (§6.2.2) with SASL-IR (RFC 4959), commands with
//! synchronising literals or LITERAL+/LITERAL- (RFC 7888), streamed APPEND and FETCH bodies,
//! IDLE (RFC 2177), pipelining (RFC 3501 §5.5), with no I/O.
//!
//! Every send method queues a command and returns its [`Tag`]; its tagged completion comes
//! back as [`ClientEvent::Completed`] with that tag. Untagged responses come back as
//! [`ClientEvent::Data`] and [`ClientEvent::Status`] whether a command asked for them or not
//! (unsolicited EXISTS, EXPUNGE, FETCH, VANISHED).
//!
//! Pipelining (RFC 3501 §5.5): commands are sent as soon as they are queued, several at a
//! time, except that
//! - STARTTLS, LOGIN, AUTHENTICATE, SELECT, EXAMINE, CLOSE, UNSELECT, IDLE, COMPRESS,
//!   UNAUTHENTICATE and LOGOUT change the session's state: each waits until every command
//!   before it is answered, and holds back the commands after it until it is answered;
//! - a command that uses message sequence numbers waits while an EXPUNGE, UID EXPUNGE or
//!   MOVE is outstanding, since expunges renumber messages (RFC 3501 §5.5);
//! - a command whose synchronising literal waits for the server's `+` holds back the bytes of
//!   every command after it.
//!
//! ```
//! use std::time::Instant;
//! use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions};
//! use mailhub_imap_proto::{MailboxName, Secret, StatusKind};
//!
//! let mut client = Client::new(ClientOptions::default(), Instant::now());
//! client.handle_input(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Greeting(_))));
//! let login = client.login("fred", &Secret::new("secret".into())).unwrap();
//! assert_eq!(client.poll_transmit().unwrap(), format!("{login} LOGIN fred secret\r\n").as_bytes());
//! client.handle_input(format!("{login} OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n").as_bytes());
//! match client.poll_event() {
//!     Some(ClientEvent::Completed { tag, kind, .. }) => {
//!         assert_eq!((tag, kind), (login, StatusKind::Ok));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! let select = client.select(MailboxName::Inbox).unwrap();
//! assert_eq!(client.poll_transmit().unwrap(), format!("{select} SELECT INBOX\r\n").as_bytes());
//! ```
//!
//! A `mailhub_sasl::ClientSession` plugs into [`Client::authenticate`]: its
//! `start(client.offers("SASL-IR"))` gives the initial response, and
//! `Box::new(move |challenge| session.step(challenge).ok())` is the [`SaslStep`] (an error
//! cancels the exchange with `*`).

mod commands;
mod event;
mod input;
mod output;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use event::{ClientError, ClientEvent, CloseReason, TimeoutKind, UsageError};

use crate::command::{Command, CommandBody};
use crate::framing::{Framer, Limits, Side, StreamedLiteral};
use crate::types::{Atom, DateTime, Flag, MailboxName, Secret, Tag};

/// A SASL step function: takes a decoded server challenge and returns the decoded response,
/// or `None` to cancel the exchange. `mailhub-mta-core` wraps a `mailhub_sasl::ClientSession`
/// in one (this crate does not depend on `mailhub-sasl`).
pub type SaslStep = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>> + Send>;

/// Settings and limits of a client session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Limits on what the response framer holds ([`Limits::client`] by default).
    pub limits: Limits,
    /// Tags are this prefix and a counter (`A1`, `A2` …). Must be valid tag characters.
    pub tag_prefix: String,
    /// How long the server may stay silent while a greeting or a response is outstanding.
    pub response_timeout: Duration,
    /// How long an IDLE runs before [`TimeoutKind::IdleRenew`] (RFC 2177 §3: under 30 min).
    pub idle_renew: Duration,
    /// FETCH body literals of at least this many octets stream as
    /// [`ClientEvent::FetchBodyChunk`]s instead of being held in memory.
    pub stream_threshold: u64,
    /// Ask for CAPABILITY again by itself when the cached capabilities became stale (after
    /// STARTTLS, or after LOGIN/AUTHENTICATE without a `[CAPABILITY …]` code).
    pub refresh_capabilities: bool,
    /// Most commands on the wire at once.
    pub max_in_flight: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            limits: Limits::client(),
            tag_prefix: "A".into(),
            response_timeout: Duration::from_secs(300),
            idle_renew: Duration::from_secs(29 * 60),
            stream_threshold: 64 * 1024,
            refresh_capabilities: true,
            max_in_flight: 64,
        }
    }
}

impl ClientOptions {
    /// Sets [`ClientOptions::limits`].
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets [`ClientOptions::stream_threshold`].
    #[must_use]
    pub fn with_stream_threshold(mut self, n: u64) -> Self {
        self.stream_threshold = n;
        self
    }
    /// Sets [`ClientOptions::refresh_capabilities`].
    #[must_use]
    pub fn with_refresh_capabilities(mut self, on: bool) -> Self {
        self.refresh_capabilities = on;
        self
    }
    /// Sets [`ClientOptions::response_timeout`].
    #[must_use]
    pub fn with_response_timeout(mut self, d: Duration) -> Self {
        self.response_timeout = d;
        self
    }
}

/// The connection state as the client sees it (RFC 3501 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientState {
    /// Waiting for the greeting.
    Greeting,
    /// Not authenticated.
    NotAuthenticated,
    /// Authenticated.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT sent or BYE received.
    Logout,
}

/// How a command affects ordering and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Capability,
    StartTls,
    Login,
    Authenticate,
    Select,
    Deselect,
    Logout,
    Idle,
    Append,
    /// COMPRESS (RFC 4978): after its OK the stream is DEFLATE in both directions.
    Compress,
    /// UNAUTHENTICATE (RFC 8437): back to the not authenticated state; nothing may be
    /// pipelined behind it.
    Barrier,
    /// May expunge messages.
    Expunge,
    /// Uses message sequence numbers.
    SeqNum,
    Other,
}

impl Kind {
    fn of(body: &CommandBody) -> Self {
        use CommandBody as C;
        match body {
            C::Capability => Self::Capability,
            C::StartTls => Self::StartTls,
            C::Login { .. } => Self::Login,
            C::Authenticate { .. } => Self::Authenticate,
            C::Select { .. } | C::Examine { .. } => Self::Select,
            C::Close | C::Unselect => Self::Deselect,
            C::Logout => Self::Logout,
            C::Idle => Self::Idle,
            C::Append { .. } => Self::Append,
            C::Compress(_) => Self::Compress,
            C::Unauthenticate => Self::Barrier,
            C::Expunge | C::UidExpunge(_) | C::Move { .. } => Self::Expunge,
            C::Fetch { uid: false, .. }
            | C::Store { uid: false, .. }
            | C::Search { uid: false, .. }
            | C::Copy { uid: false, .. }
            | C::Sort { uid: false, .. }
            | C::Thread { uid: false, .. } => Self::SeqNum,
            _ => Self::Other,
        }
    }

    fn is_barrier(self) -> bool {
        matches!(
            self,
            Self::StartTls
                | Self::Login
                | Self::Authenticate
                | Self::Select
                | Self::Deselect
                | Self::Logout
                | Self::Idle
                | Self::Compress
                | Self::Barrier
        )
    }
}

/// What a queued command will send.
enum Payload {
    Command(CommandBody),
    Auth {
        mechanism: Atom,
        initial: Option<Secret<Vec<u8>>>,
        step: SaslStep,
    },
    Append {
        mailbox: MailboxName,
        flags: Option<Vec<Flag>>,
        date: Option<DateTime>,
        length: u64,
        binary: bool,
    },
}

struct Queued {
    tag: Tag,
    kind: Kind,
    payload: Payload,
    /// Sent by the engine itself: its completion is not reported.
    internal: bool,
}

struct InFlight {
    tag: Tag,
    kind: Kind,
    internal: bool,
    /// A capability response arrived since it was sent.
    caps_seen: bool,
}

/// The command whose bytes are not all sent yet, or that owns the continuation requests.
enum Active {
    /// Waits for `+` before each remaining piece.
    Literal { tag: Tag, rest: VecDeque<Vec<u8>> },
    /// AUTHENTICATE: each `+` is a challenge for the step function.
    Auth {
        tag: Tag,
        step: SaslStep,
        pending_ir: Option<Secret<Vec<u8>>>,
    },
    /// IDLE: `+` starts it; DONE ends it.
    Idle {
        tag: Tag,
        started: bool,
        done: bool,
        since: Option<Instant>,
    },
    /// A streamed APPEND: the caller sends `remaining` octets once `ready`.
    Append {
        tag: Tag,
        remaining: u64,
        ready: bool,
    },
}

impl Active {
    fn tag(&self) -> &Tag {
        match self {
            Self::Literal { tag, .. }
            | Self::Auth { tag, .. }
            | Self::Idle { tag, .. }
            | Self::Append { tag, .. } => tag,
        }
    }
}

/// A streamed FETCH body being read.
#[derive(Debug, Clone, Copy)]
struct BodyStream {
    seq: std::num::NonZeroU32,
}

/// One IMAP client session.
///
/// Drive it in this order, over and over:
/// 1. [`Client::handle_input`] with the bytes that arrived (decrypted, if TLS is on);
/// 2. [`Client::poll_event`] until `None`, reacting to each [`ClientEvent`];
/// 3. queue commands with the send methods ([`Client::login`], [`Client::send`] …), which
///    return the [`Tag`] the completion will carry;
/// 4. send what [`Client::poll_transmit`] returns;
/// 5. call [`Client::handle_timeout`] when [`Client::poll_timeout`] says;
///
/// until [`Client::is_closed`]. Commands may be queued before the greeting; they are sent
/// after it.
pub struct Client {
    opts: ClientOptions,
    framer: Framer,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
    queue: VecDeque<Queued>,
    in_flight: VecDeque<InFlight>,
    active: Option<Active>,
    state: ClientState,
    capabilities: Option<Vec<Atom>>,
    tls_pending: bool,
    next_tag: u64,
    next_tag_override: Option<Tag>,
    /// Literals of the unit being read that went out as chunks.
    streamed: Vec<StreamedLiteral>,
    body: Option<BodyStream>,
    deadline: Option<Instant>,
    activity: bool,
    now: Instant,
    closed: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("queued", &self.queue.len())
            .field("in_flight", &self.in_flight.len())
            .field("capabilities", &self.capabilities)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a session that waits for the server's greeting.
    #[must_use]
    pub fn new(options: ClientOptions, now: Instant) -> Self {
        let mut opts = options;
        if Tag::new(format!("{}1", opts.tag_prefix)).is_err() {
            opts.tag_prefix = "A".into();
        }
        Self {
            framer: Framer::new(Side::Client, opts.limits.clone()),
            deadline: Some(now + opts.response_timeout),
            opts,
            out: Vec::new(),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            active: None,
            state: ClientState::Greeting,
            capabilities: None,
            tls_pending: false,
            next_tag: 1,
            next_tag_override: None,
            streamed: Vec::new(),
            body: None,
            activity: false,
            now,
            closed: false,
        }
    }

    /// The state as the client sees it.
    #[must_use]
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The server's capabilities, when known and not stale (RFC 3501 §6.1.1, §6.2.1).
    #[must_use]
    pub fn capabilities(&self) -> Option<&[Atom]> {
        self.capabilities.as_deref()
    }

    /// Whether the cached capabilities hold `name` (case-insensitive).
    #[must_use]
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .as_deref()
            .is_some_and(|c| c.iter().any(|a| a.eq_ignore_case(name)))
    }

    /// Commands sent and not yet completed, plus commands queued.
    #[must_use]
    pub fn pending_commands(&self) -> usize {
        self.in_flight.len() + self.queue.len()
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed && self.events.is_empty()
    }

    /// Octets to send, coalesced; `None` when there are none.
    #[must_use = "the octets must be sent to the server"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.pump();
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// When [`Client::handle_timeout`] should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let idle = match &self.active {
            Some(Active::Idle {
                since: Some(s),
                done: false,
                ..
            }) => Some(*s + self.opts.idle_renew),
            _ => None,
        };
        let response = self.deadline.filter(|_| self.waiting_for_server());
        match (idle, response) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Tells the engine the time; timers that ran out become [`ClientEvent::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.closed {
            return;
        }
        if let Some(Active::Idle {
            since: Some(s),
            done: false,
            ..
        }) = &mut self.active
            && now >= *s + self.opts.idle_renew
        {
            // Reported once per IDLE: the timer restarts so the caller is not flooded.
            *s = now;
            self.events
                .push_back(ClientEvent::Timeout(TimeoutKind::IdleRenew));
        }
        if let Some(d) = self.deadline
            && now >= d
        {
            if self.activity || !self.waiting_for_server() {
                self.activity = false;
                self.deadline = Some(now + self.opts.response_timeout);
                return;
            }
            let kind = if self.state == ClientState::Greeting {
                TimeoutKind::Greeting
            } else {
                TimeoutKind::Response
            };
            self.events.push_back(ClientEvent::Timeout(kind));
            self.close(CloseReason::Timeout);
        }
    }

    /// Whether the server owes a response (an IDLE that has started owes none).
    fn waiting_for_server(&self) -> bool {
        if self.state == ClientState::Greeting {
            return true;
        }
        match &self.active {
            Some(Active::Idle {
                started: true,
                done: false,
                ..
            }) => false,
            Some(Active::Append { ready: true, .. }) => false,
            _ => !self.in_flight.is_empty(),
        }
    }

    /// Makes the next command queued with a fresh tag use `tag` instead (transcripts,
    /// proxies that pass the downstream client's tags through).
    pub fn set_next_tag(&mut self, tag: Tag) {
        self.next_tag_override = Some(tag);
    }

    /// Whether the server offers extension `name`, announced itself or folded into
    /// IMAP4rev2 (RFC 9051 Appendix E: SASL-IR, LITERAL- among others).
    #[must_use]
    pub fn offers(&self, name: &str) -> bool {
        const IN_REV2: [&str; 12] = [
            "SASL-IR",
            "LITERAL-",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UIDPLUS",
            "ESEARCH",
            "SEARCHRES",
            "MOVE",
            "UNSELECT",
            "BINARY",
            "SPECIAL-USE",
        ];
        self.has_capability(name)
            || (self.has_capability("IMAP4rev2")
                && IN_REV2.iter().any(|e| e.eq_ignore_ascii_case(name)))
    }

    fn new_tag(&mut self) -> Tag {
        if let Some(t) = self.next_tag_override.take() {
            return t;
        }
        self.counter_tag()
    }

    fn counter_tag(&mut self) -> Tag {
        loop {
            let t = Tag::new(format!("{}{}", self.opts.tag_prefix, self.next_tag))
                .unwrap_or_else(|_| Tag::new(format!("A{}", self.next_tag)).expect("valid tag"));
            self.next_tag += 1;
            if !self.tag_in_use(&t) {
                return t;
            }
        }
    }

    fn tag_in_use(&self, t: &Tag) -> bool {
        self.queue.iter().any(|q| &q.tag == t) || self.in_flight.iter().any(|q| &q.tag == t)
    }

    fn enqueue(&mut self, tag: Tag, kind: Kind, payload: Payload) -> Result<Tag, UsageError> {
        if self.closed || self.state == ClientState::Logout {
            return Err(UsageError::Closed);
        }
        if self.tag_in_use(&tag) {
            return Err(UsageError::TagInUse(tag));
        }
        self.queue.push_back(Queued {
            tag: tag.clone(),
            kind,
            payload,
            internal: false,
        });
        self.pump();
        Ok(tag)
    }

    /// Queues CAPABILITY ahead of the caller's commands; its completion is not reported.
    fn queue_internal_capability(&mut self) {
        let tag = self.counter_tag();
        self.queue.push_front(Queued {
            tag,
            kind: Kind::Capability,
            payload: Payload::Command(CommandBody::Capability),
            internal: true,
        });
    }

    /// Notes that the server or the caller did something. The engine is not told the time
    /// with every input, so the timer is re-armed when it runs out after activity: a silent
    /// server is detected after one to two [`ClientOptions::response_timeout`]s.
    fn touch(&mut self) {
        self.activity = true;
    }

    /// Ends the session: every command not completed is reported abandoned.
    fn close(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.state = ClientState::Logout;
        self.active = None;
        for f in std::mem::take(&mut self.in_flight) {
            if !f.internal {
                self.events.push_back(ClientEvent::Abandoned { tag: f.tag });
            }
        }
        for q in std::mem::take(&mut self.queue) {
            if !q.internal {
                self.events.push_back(ClientEvent::Abandoned { tag: q.tag });
            }
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }

    fn command_bytes(tag: &Tag, body: CommandBody) -> crate::Encoded {
        Command::new(tag.clone(), body).encode()
    }
}
