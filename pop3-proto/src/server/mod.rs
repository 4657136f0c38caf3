//! The POP3 server engine (RFC 1939 §3–§7, with RFC 2449, RFC 2595, RFC 3206, RFC 5034 and
//! RFC 6856).
//!
//! The session moves through AUTHORIZATION → TRANSACTION → UPDATE (RFC 1939 §3). The maildrop
//! is the caller's: the engine asks for a listing once the user is authenticated and keeps it
//! as the session's snapshot, marks deletions itself, and only asks the caller to delete them in
//! UPDATE, after QUIT. A session that ends any other way (timeout, too many errors, a dropped
//! connection) deletes nothing.

mod commands;
mod event;
mod options;

use std::collections::VecDeque;
use std::time::Instant;

pub use event::{CloseReason, ServerEvent};
pub use options::{
    Limits, MIN_IDLE_TIMEOUT, Maildrop, MessageInfo, MessageRef, PlaintextPolicy, ServerOptions,
};

use crate::dot::DotStuffer;
use crate::framer::{Frame, LineFramer};
use crate::types::decode_sasl;
use crate::{Expire, RespCode, Secret, StatusLine, UsageError, verify_apop};

/// The state of RFC 1939 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Before the maildrop is opened.
    Authorization,
    /// The maildrop is open.
    Transaction,
    /// After QUIT in TRANSACTION, while the caller deletes the marked messages.
    Update,
}

/// What the engine waits for before it reads the next command.
#[derive(Debug)]
enum Wait {
    Nothing,
    Login,
    Apop {
        user: String,
        digest: String,
    },
    Sasl,
    /// A challenge was sent: the next line is the client's response.
    SaslLine,
    Maildrop,
    StartTls,
    Message(Stream),
    Update,
}

#[derive(Debug)]
struct Stream {
    stuffer: DotStuffer,
    started: bool,
    index: usize,
    size: u64,
    whole: bool,
}

#[derive(Debug)]
struct Entry {
    info: MessageInfo,
    deleted: bool,
    retrieved: bool,
}

/// One POP3 server session.
///
/// Drive it in this order, over and over:
///
/// 1. [`handle_input`](Self::handle_input) with the bytes that arrived;
/// 2. [`poll_event`](Self::poll_event) until it returns `None`, answering each decision with
///    [`accept_login`](Self::accept_login), [`apop_secret`](Self::apop_secret),
///    [`auth_challenge`](Self::auth_challenge), [`load_maildrop`](Self::load_maildrop),
///    [`message_chunk`](Self::message_chunk) / [`message_end`](Self::message_end),
///    [`tls_established`](Self::tls_established), [`update_done`](Self::update_done) or
///    [`reject`](Self::reject);
/// 3. [`poll_transmit`](Self::poll_transmit) and send the bytes;
/// 4. [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///    instant has come;
///
/// until [`is_closed`](Self::is_closed). The greeting is queued by [`new`](Self::new).
#[derive(Debug)]
pub struct Server {
    opts: ServerOptions,
    framer: LineFramer,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    state: State,
    wait: Wait,
    /// The user name of a USER waiting for its PASS.
    pending_user: Option<String>,
    tls: bool,
    utf8: bool,
    user: Option<String>,
    messages: Vec<Entry>,
    user_expire: Option<Expire>,
    user_login_delay: Option<u32>,
    errors: u32,
    deadline: Instant,
    activity: bool,
    close: Option<CloseReason>,
    close_reported: bool,
}

impl Server {
    /// Starts a session and queues the greeting (with the APOP timestamp when APOP is on).
    pub fn new(mut options: ServerOptions, now: Instant) -> Server {
        if options.limits.idle_timeout < MIN_IDLE_TIMEOUT {
            options.limits.idle_timeout = MIN_IDLE_TIMEOUT;
        }
        let mut greeting = options.greeting.clone();
        if let Some(ts) = &options.apop_timestamp {
            greeting.push(' ');
            greeting.push_str(ts);
        }
        let mut server = Server {
            deadline: now + options.limits.idle_timeout,
            tls: options.tls,
            opts: options,
            framer: LineFramer::default(),
            out: Vec::new(),
            events: VecDeque::new(),
            state: State::Authorization,
            wait: Wait::Nothing,
            pending_user: None,
            utf8: false,
            user: None,
            messages: Vec::new(),
            user_expire: None,
            user_login_delay: None,
            errors: 0,
            activity: false,
            close: None,
            close_reported: false,
        };
        server.reply(StatusLine::ok(greeting));
        server
    }

    /// The RFC 1939 state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the connection is protected by TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the client enabled UTF-8 mode (RFC 6856 §2.1).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The authenticated user, once the maildrop is open.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Takes bytes from the client.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.close.is_some() || bytes.is_empty() {
            return;
        }
        self.activity = true;
        if matches!(self.wait, Wait::StartTls) {
            // Anything before the handshake completes is plaintext that must not be read as if
            // it came over TLS (RFC 2595 §4; the STARTTLS command-injection class of bugs).
            return;
        }
        if self.framer.len() + bytes.len() > self.opts.limits.max_buffered_input {
            if !matches!(self.wait, Wait::Message(_)) {
                self.reply(StatusLine::err(Some(RespCode::SysPerm), "too much input"));
            }
            self.shut(CloseReason::InputOverflow);
            return;
        }
        self.framer.extend(bytes);
    }

    /// The next event, or `None` when the engine needs more input or waits for a decision.
    #[must_use = "events carry decisions the session waits for"]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Some(ev);
            }
            if let Some(reason) = self.close {
                if self.close_reported {
                    return None;
                }
                self.close_reported = true;
                return Some(ServerEvent::Closed { reason });
            }
            let limit = match self.wait {
                Wait::Nothing => self.opts.limits.max_line,
                Wait::SaslLine => self.opts.limits.max_auth_line,
                _ => return None,
            };
            match self.framer.next_line(limit)? {
                Frame::TooLong => {
                    if matches!(self.wait, Wait::SaslLine) {
                        self.wait = Wait::Nothing;
                        self.events.push_back(ServerEvent::AuthAborted);
                    }
                    self.client_error(None, "line too long");
                }
                Frame::Line(line) if matches!(self.wait, Wait::SaslLine) => self.sasl_line(&line),
                Frame::Line(line) => self.command_line(&line),
            }
        }
    }

    /// The bytes to send, coalesced; `None` when there are none.
    #[must_use = "the bytes must be sent to the client"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// Gives the engine the time. Closes an idle session (RFC 1939 §3: without a reply, and
    /// deleting nothing). Time spent waiting for the caller's decisions does not count.
    ///
    /// `handle_input` takes no time argument, so the idle clock restarts at the first call
    /// after input arrived: a silent client is closed between one and two idle timeouts after
    /// its last command, which keeps the RFC's "at least 10 minutes".
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = matches!(self.wait, Wait::Nothing | Wait::SaslLine);
        if self.activity || !waiting_for_client {
            self.activity = false;
            self.deadline = now + self.opts.limits.idle_timeout;
        } else if now >= self.deadline && self.close.is_none() {
            self.shut(CloseReason::Timeout);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.close.is_none().then_some(self.deadline)
    }

    /// Whether the session is over and all its output was taken.
    pub fn is_closed(&self) -> bool {
        self.close.is_some() && self.out.is_empty()
    }

    // ---- decisions ----

    /// Accepts a login (after [`ServerEvent::Login`], a SASL success after
    /// [`ServerEvent::AuthStart`] / [`ServerEvent::AuthResponse`]): `user` is the identity the
    /// session acts as. The engine then asks for the maildrop with
    /// [`ServerEvent::LockMaildrop`].
    pub fn accept_login(&mut self, user: impl Into<String>) -> Result<(), UsageError> {
        match self.wait {
            Wait::Login | Wait::Sasl => {
                self.authenticated(user.into());
                Ok(())
            }
            _ => Err(UsageError::NotPending("login")),
        }
    }

    /// Answers [`ServerEvent::ApopLookup`] with the user's shared secret, `None` when the user
    /// is unknown or has none. The engine checks the digest against the greeting's timestamp.
    pub fn apop_secret(&mut self, secret: Option<&Secret<String>>) -> Result<(), UsageError> {
        let Wait::Apop { user, digest } = std::mem::replace(&mut self.wait, Wait::Nothing) else {
            return Err(UsageError::NotPending("APOP lookup"));
        };
        let timestamp = self.opts.apop_timestamp.as_deref().unwrap_or_default();
        match secret {
            Some(s) if verify_apop(timestamp, s.expose(), &digest) => self.authenticated(user),
            _ => self.client_error(Some(RespCode::Auth), "authentication failed"),
        }
        Ok(())
    }

    /// Sends a SASL challenge (`+ base64`, RFC 5034 §4); the client's answer comes as
    /// [`ServerEvent::AuthResponse`].
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::Sasl) {
            return Err(UsageError::NotPending("AUTH"));
        }
        self.out.extend_from_slice(b"+ ");
        if !challenge.is_empty() {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
            self.out.extend_from_slice(b64.as_bytes());
        }
        self.out.extend_from_slice(b"\r\n");
        self.wait = Wait::SaslLine;
        Ok(())
    }

    /// Answers [`ServerEvent::LockMaildrop`]: the maildrop is locked and this is its listing,
    /// which becomes the session's snapshot.
    pub fn load_maildrop(&mut self, maildrop: Maildrop) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::Maildrop) {
            return Err(UsageError::NotPending("maildrop"));
        }
        self.wait = Wait::Nothing;
        self.messages = maildrop
            .messages
            .into_iter()
            .map(|info| Entry {
                info,
                deleted: false,
                retrieved: false,
            })
            .collect();
        self.user_expire = maildrop.expire;
        self.user_login_delay = maildrop.login_delay;
        self.state = State::Transaction;
        let (n, size) = self.totals();
        self.reply(StatusLine::ok(format!(
            "maildrop has {n} message{} ({size} octets)",
            if n == 1 { "" } else { "s" }
        )));
        Ok(())
    }

    /// Streams the next bytes of the message of [`ServerEvent::Retrieve`], in any chunking and
    /// with CRLF or bare LF line ends. Returns `false` once TOP has all it needs: the caller may
    /// stop reading and call [`message_end`](Self::message_end).
    pub fn message_chunk(&mut self, chunk: &[u8]) -> Result<bool, UsageError> {
        let Wait::Message(stream) = &mut self.wait else {
            return Err(UsageError::NotPending("message"));
        };
        if !stream.started {
            stream.started = true;
            let head = StatusLine::ok(format!("{} octets", stream.size));
            head.write_to(&mut self.out);
        }
        self.activity = true;
        Ok(stream.stuffer.push(chunk, &mut self.out))
    }

    /// Ends the message of [`ServerEvent::Retrieve`]: the body is closed with a "." line.
    pub fn message_end(&mut self) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::Message(_)) {
            return Err(UsageError::NotPending("message"));
        }
        let Wait::Message(mut stream) = std::mem::replace(&mut self.wait, Wait::Nothing) else {
            unreachable!("checked above")
        };
        if !stream.started {
            StatusLine::ok(format!("{} octets", stream.size)).write_to(&mut self.out);
        }
        stream.stuffer.finish(&mut self.out);
        if stream.whole {
            self.messages[stream.index].retrieved = true;
        }
        Ok(())
    }

    /// The TLS handshake after STLS succeeded. Everything learnt before it is forgotten
    /// (RFC 2595 §4).
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::StartTls) {
            return Err(UsageError::NotPending("STLS"));
        }
        self.wait = Wait::Nothing;
        self.tls = true;
        self.pending_user = None;
        self.utf8 = false;
        Ok(())
    }

    /// Answers [`ServerEvent::Update`]: the deletions are done and the lock released.
    pub fn update_done(&mut self) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::Update) {
            return Err(UsageError::NotPending("update"));
        }
        self.wait = Wait::Nothing;
        let (n, _) = self.totals();
        self.reply(StatusLine::ok(format!(
            "POP3 server signing off ({n} message{} left)",
            if n == 1 { "" } else { "s" }
        )));
        self.shut(CloseReason::Quit);
        Ok(())
    }

    /// Refuses the pending decision with `-ERR [code] text`: a failed login (`[AUTH]`,
    /// `[SYS/TEMP]`, `[LOGIN-DELAY]`), a maildrop that cannot be locked (`[IN-USE]`), a message
    /// that cannot be read, deletions that failed in UPDATE (the session then closes). After the
    /// first chunk of a message no `-ERR` can be sent any more: the session is closed instead.
    pub fn reject(&mut self, code: Option<RespCode>, text: &str) -> Result<(), UsageError> {
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Login | Wait::Sasl | Wait::Apop { .. } => {
                self.pending_user = None;
                self.client_error(code, text);
            }
            Wait::Maildrop => {
                self.user = None;
                self.reply(StatusLine::err(code, text));
            }
            Wait::Message(stream) if stream.started => self.shut(CloseReason::Aborted),
            Wait::Message(_) => self.reply(StatusLine::err(code, text)),
            Wait::Update => {
                self.reply(StatusLine::err(code, text));
                self.shut(CloseReason::Quit);
            }
            other @ (Wait::Nothing | Wait::SaslLine | Wait::StartTls) => {
                self.wait = other;
                return Err(UsageError::NotPending("any decision"));
            }
        }
        Ok(())
    }

    // ---- internals shared with `commands` ----

    fn reply(&mut self, line: StatusLine) {
        line.write_to(&mut self.out);
    }

    fn line(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// `-ERR` for the client's mistake; too many of them close the session.
    fn client_error(&mut self, code: Option<RespCode>, text: &str) {
        self.errors += 1;
        if self.errors >= self.opts.limits.max_errors {
            self.reply(StatusLine::err(
                code,
                format!("{text}; too many errors, closing"),
            ));
            self.shut(CloseReason::TooManyErrors);
        } else {
            self.reply(StatusLine::err(code, text));
        }
    }

    fn shut(&mut self, reason: CloseReason) {
        if self.close.is_none() {
            self.close = Some(reason);
            self.wait = Wait::Nothing;
            self.framer.clear();
        }
    }

    fn authenticated(&mut self, user: String) {
        self.pending_user = None;
        self.user = Some(user.clone());
        self.wait = Wait::Maildrop;
        self.events.push_back(ServerEvent::LockMaildrop { user });
    }

    fn sasl_line(&mut self, line: &[u8]) {
        self.wait = Wait::Nothing;
        if line == b"*" {
            self.events.push_back(ServerEvent::AuthAborted);
            self.client_error(None, "authentication cancelled");
            return;
        }
        match std::str::from_utf8(line).map_err(|_| ()).and_then(|s| {
            if s.is_empty() {
                Ok(Vec::new())
            } else {
                decode_sasl(s).map_err(|_| ())
            }
        }) {
            Ok(response) => {
                self.wait = Wait::Sasl;
                self.events.push_back(ServerEvent::AuthResponse {
                    response: Secret::new(response),
                });
            }
            Err(()) => {
                self.events.push_back(ServerEvent::AuthAborted);
                self.client_error(None, "invalid base64");
            }
        }
    }

    fn totals(&self) -> (usize, u64) {
        self.messages
            .iter()
            .filter(|m| !m.deleted)
            .fold((0, 0), |(n, s), m| (n + 1, s + m.info.size))
    }

    fn plaintext_allowed(&self) -> bool {
        self.tls
            || match self.opts.plaintext {
                PlaintextPolicy::Never => false,
                PlaintextPolicy::Loopback => self.opts.loopback,
                PlaintextPolicy::Always => true,
            }
    }
}
