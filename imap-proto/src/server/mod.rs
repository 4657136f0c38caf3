//! The IMAP server engine (RFC 3501, RFC 9051) with its extensions (IDLE, ENABLE, ID, SASL-IR,
//! LITERAL+, UNSELECT, NAMESPACE, LIST-EXTENDED, SPECIAL-USE, STATUS=SIZE, UIDPLUS, MOVE,
//! MULTIAPPEND, ESEARCH, SEARCHRES, SORT, THREAD=ORDEREDSUBJECT and REFERENCES, CONDSTORE,
//! and opt-in QRESYNC, WITHIN, QUOTA and ACL), with no I/O and no store.
//!
//! The session moves through the states of RFC 9051 §3: not authenticated → authenticated →
//! selected → logout. Each command is checked against the state first; a command in the wrong
//! state gets `BAD` (RFC 9051 §3 lets a server pick BAD or NO; BAD counts as a client error).
//! The engine owns no mailbox: it asks the embedding server through [`ServerEvent`]s and
//! writes every answer itself.
//!
//! Limits (RFC 9051 §3, §5.4, RFC 7888 §4): a literal larger than
//! [`ServerLimits::max_preauth_literal`] before login, or larger than the framer's limits
//! afterwards, is refused before any of its octets are read; after
//! [`ServerLimits::max_errors`] mistakes the session ends with `* BYE`; an idle client is
//! logged out after [`ServerLimits::login_timeout`] / [`ServerLimits::autologout`].
//!
//! # Serving it from a store
//!
//! The events map one to one onto the calls of a mailbox store such as mailhub-mta-core's
//! `UserStore` (names are UTF-8 with INBOX canonical, messages are UIDs):
//!
//! | event | store call | answer |
//! |---|---|---|
//! | [`ServerEvent::Select`] | `select` (+ `watch`) | [`Server::select_mailbox`] |
//! | [`ServerEvent::ListMailboxes`] | `list` | [`Server::mailbox_list`] |
//! | `Create`/`Delete`/`Rename`/`Subscribe` | `create`/`delete`/`rename`/`subscribe` | [`Server::done`] |
//! | [`ServerEvent::Status`] | `select` (counts) | [`Server::mailbox_status`] |
//! | [`ServerEvent::FetchMessage`] | `open_message` | [`Server::fetch_message`] / [`Server::fetch_missing`], or when [`Server::fetch_streamable`] [`Server::fetch_stream_start`] + [`Server::fetch_stream_data`] |
//! | [`ServerEvent::Store`] | `store` | [`Server::stored`] |
//! | [`ServerEvent::Expunge`] | `remove` | [`Server::expunged`] / [`Server::expunged_at`] |
//! | [`ServerEvent::ExpungedSince`] (QRESYNC) | UIDs expunged after a mod-sequence | [`Server::expunged_since`] |
//! | [`ServerEvent::Copy`] | `copy` / `move_messages` | [`Server::copied`] |
//! | [`ServerEvent::Append`] … [`ServerEvent::AppendCommit`] | `append` | [`Server::appended`] |
//! | `GetQuota`/`GetQuotaRoot` | `quota` | [`Server::quota`] |
//!
//! Any of them may be refused with [`Server::reject`] and a response code
//! (`NONEXISTENT`, `TRYCREATE`, `OVERQUOTA` …). Changes the store reports from other sessions
//! (its `watch` subscription) go to [`Server::mailbox_changed`] at any time; the engine sends
//! them when RFC 3501 §7.4.1 allows. `\Recent` is the store's to hand out to one session
//! ([`MessageInfo::recent`]). Drain [`Server::poll_transmit`] after each answer: a FETCH of
//! many messages produces output message by message.

mod admin;
mod append;
mod commands;
mod error;
mod event;
mod fetch;
mod fetch_body;
mod fetch_stream;
mod list;
mod list_status;
mod mailbox;
mod messages;
mod options;
mod qresync;
mod search;
mod select;
mod view;

use std::collections::VecDeque;
use std::time::Instant;

pub use error::UsageError;
pub use event::{CloseReason, ServerEvent};
pub use list::MailboxEntry;
pub use mailbox::StatusData;
pub use messages::StoredFlags;
pub use options::{Greeting, MIN_AUTOLOGOUT, ServerLimits, ServerOptions};
pub use view::{MailboxChange, MessageInfo, SelectData};

use crate::framing::{FrameEvent, Framer, Side};
use crate::response::{Code, Continue, Data, Response, Status, StatusKind};
use crate::types::{Atom, MailboxName, Tag};
use view::{Flush, View};

/// The connection state of RFC 9051 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Before LOGIN/AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT was given, or the server ended the session.
    Logout,
}

/// What the engine waits for before it reads the next command.
#[derive(Debug)]
enum Wait {
    Nothing,
    /// A decision from the caller on the command with this tag.
    Decision(Tag, Decision),
    /// A challenge was sent: the next line is the client's response.
    AuthLine(Tag),
    /// The caller runs the TLS handshake.
    StartTls,
    /// IDLE: the next line should be DONE.
    Idle(Tag),
}

/// Which decision the engine waits for.
#[derive(Debug)]
enum Decision {
    /// LOGIN or AUTHENTICATE.
    Login,
    /// SELECT or EXAMINE of this mailbox.
    Select {
        mailbox: MailboxName,
        examine: bool,
        qresync: Option<Box<qresync::QresyncParam>>,
    },
    /// QRESYNC: which of the client's UIDs were expunged (RFC 7162 §3.2.5.1, §3.2.6).
    Vanished(Box<qresync::VanishedJob>),
    /// A command whose success is a tagged OK with this text.
    Done(&'static str),
    /// LIST or LSUB.
    List(list::ListQuery),
    /// LIST-STATUS: the STATUS of this line's mailbox.
    ListStatus(
        Box<list_status::ListStatusJob>,
        Box<crate::response::ListEntry>,
    ),
    /// EXPUNGE, UID EXPUNGE or CLOSE.
    Expunge { close: bool },
    /// STORE: how to report the result.
    Store {
        uid: bool,
        silent: bool,
        /// Numbers that failed UNCHANGEDSINCE.
        modified: Vec<u32>,
        condstore: bool,
        /// The tagged OK's text.
        verb: &'static str,
    },
    /// COPY or MOVE.
    Copy { is_move: bool },
    /// An APPEND message was announced; the literal waits.
    AppendMessage { needs_continuation: bool },
    /// An APPEND's messages all arrived; the caller commits them.
    AppendCommit,
    /// GETQUOTA (`None`) or GETQUOTAROOT of this mailbox.
    Quota(Option<MailboxName>),
    /// GETACL, LISTRIGHTS (with the identifier) or MYRIGHTS.
    Acl(MailboxName, admin::AclKind, Option<String>),
    /// A content FETCH waiting for this message's octets.
    Fetch(Box<fetch_body::FetchJob>, std::num::NonZeroU32),
    /// A FETCH body going out as the caller streams it.
    FetchStream(Box<fetch_stream::Streaming>),
    /// A SEARCH waiting for this message's octets.
    Search(Box<search::SearchJob>, std::num::NonZeroU32),
    /// STATUS of this mailbox.
    Status {
        mailbox: MailboxName,
        items: Vec<crate::command::StatusItem>,
    },
}

/// One IMAP server session.
///
/// Drive it in this order, over and over:
///
/// 1. [`handle_input`](Self::handle_input) with the bytes that arrived;
/// 2. [`poll_event`](Self::poll_event) until it returns `None`, answering each decision with
///    [`accept_login`](Self::accept_login), [`auth_challenge`](Self::auth_challenge),
///    [`tls_established`](Self::tls_established) or [`reject`](Self::reject);
/// 3. [`poll_transmit`](Self::poll_transmit) and send the bytes;
/// 4. [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///    instant has come;
///
/// until [`is_closed`](Self::is_closed). The greeting is queued by [`new`](Self::new). Feed
/// input only after `poll_event` returned `None`, so the input buffer stays bounded by one read.
#[derive(Debug)]
pub struct Server {
    opts: ServerOptions,
    framer: Framer,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    state: State,
    wait: Wait,
    tls: bool,
    user: Option<String>,
    /// Capabilities turned on by ENABLE, upper case.
    enabled: Vec<String>,
    /// The selected mailbox.
    view: Option<View>,
    /// When the command in progress may report pending changes (`None`: not at all).
    flush: Option<Flush>,
    /// The SEARCHRES saved result `$` (RFC 5182), as UIDs.
    saved: Vec<std::num::NonZeroU32>,
    /// An APPEND whose messages are streaming.
    append: Option<append::Appending>,
    errors: u32,
    /// The time of day from [`Server::handle_wall_clock`], Unix seconds (WITHIN).
    wall_clock: Option<i64>,
    deadline: Instant,
    activity: bool,
    close: Option<CloseReason>,
}

impl Server {
    /// Starts a session and queues the greeting.
    #[must_use]
    pub fn new(mut options: ServerOptions, now: Instant) -> Server {
        if options.limits.autologout < MIN_AUTOLOGOUT {
            options.limits.autologout = MIN_AUTOLOGOUT;
        }
        let mut server = Server {
            framer: Framer::new(Side::Server, options.limits.framing.clone()),
            deadline: now + options.limits.login_timeout,
            tls: options.tls,
            opts: options,
            out: Vec::new(),
            events: VecDeque::new(),
            state: State::NotAuthenticated,
            wait: Wait::Nothing,
            user: None,
            enabled: Vec::new(),
            view: None,
            flush: None,
            saved: Vec::new(),
            append: None,
            errors: 0,
            wall_clock: None,
            activity: false,
            close: None,
        };
        let text = server.opts.greeting_text.clone();
        match server.opts.greeting.clone() {
            Greeting::Ok => {
                let code = Code::Capability(server.capabilities());
                server.status(Status::ok(None, Some(code), &text));
            }
            Greeting::PreAuth { user } => {
                server.login_as(user, now);
                let code = Some(Code::Capability(server.capabilities()));
                server.status(Status::new(None, StatusKind::PreAuth, code, &text));
            }
            Greeting::Bye => {
                server.status(Status::bye(None, &text));
                server.close(CloseReason::Refused);
            }
        }
        server
    }

    /// The connection state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the connection is protected by TLS (from the start or after STARTTLS).
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The authenticated user.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether ENABLE turned this capability on (case-insensitive).
    #[must_use]
    pub fn is_enabled(&self, capability: &str) -> bool {
        self.enabled
            .iter()
            .any(|c| c.eq_ignore_ascii_case(capability))
    }

    /// Appends bytes received from the client. Call it only after
    /// [`poll_event`](Self::poll_event) returned `None`. Input after the session closed is
    /// dropped.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.close.is_some() || bytes.is_empty() {
            return;
        }
        self.activity = true;
        self.framer.handle_input(bytes);
    }

    /// The next event. Returns `None` when the engine needs more input, or waits for the
    /// caller's answer to a decision it reported.
    #[must_use = "events carry decisions the caller must answer"]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.close.is_some() || matches!(self.wait, Wait::Decision(..) | Wait::StartTls) {
                return None;
            }
            let frame = self.framer.poll_event()?;
            self.on_frame(frame);
        }
    }

    /// The bytes to send, coalesced; `None` when there are none.
    #[must_use = "the bytes must be sent to the client"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// Gives the engine the time. Past the idle deadline (no input since the previous call
    /// that moved it) the session ends with `* BYE`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.close.is_some() {
            return;
        }
        if self.activity {
            self.activity = false;
            self.deadline = now + self.idle_limit();
        } else if now >= self.deadline {
            self.status(Status::bye(None, "Autologout; idle for too long"));
            self.close(CloseReason::Timeout);
        }
    }

    /// Gives the engine the time of day, which SEARCH OLDER/YOUNGER (RFC 5032, announced
    /// with [`ServerOptions::within`]) compares internal dates with. [`Instant`]s cannot be
    /// compared with dates, so this is separate from
    /// [`handle_timeout`](Self::handle_timeout); call it before feeding a command (once a
    /// second is precise enough). Until it is called, such a SEARCH is answered
    /// `NO [UNAVAILABLE]`.
    pub fn handle_wall_clock(&mut self, now: std::time::SystemTime) {
        self.wall_clock = Some(match now.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        });
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.close.is_none().then_some(self.deadline)
    }

    /// Whether the session is over and its output drained: close the connection.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.close.is_some() && self.out.is_empty()
    }

    /// Accepts a LOGIN or the end of an AUTHENTICATE exchange: the user is logged in and the
    /// tagged `OK [CAPABILITY …]` is queued.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no login decision is pending.
    pub fn accept_login(&mut self, user: impl Into<String>) -> Result<(), UsageError> {
        let Some((tag, Decision::Login)) = self.take_decision(|d| matches!(d, Decision::Login))
        else {
            return self.misuse("accept_login");
        };
        self.state = State::Authenticated;
        self.user = Some(user.into());
        self.activity = true;
        let code = Code::Capability(self.capabilities());
        self.status(Status::ok(Some(tag), Some(code), "Logged in"));
        Ok(())
    }

    /// Sends a SASL challenge (`+ base64`) during AUTHENTICATE; the client's answer comes as
    /// [`ServerEvent::AuthResponse`].
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no AUTHENTICATE decision is pending.
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), UsageError> {
        let Some((tag, Decision::Login)) = self.take_decision(|d| matches!(d, Decision::Login))
        else {
            return self.misuse("auth_challenge");
        };
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
        self.respond(&Response::Continue(Continue::Base64(b64.into_bytes())));
        self.wait = Wait::AuthLine(tag);
        Ok(())
    }

    /// Refuses the pending decision with a tagged `NO [code] text`. A failed login counts
    /// towards [`ServerLimits::max_errors`]; a failed SELECT leaves the session in the
    /// authenticated state (RFC 9051 §6.3.2).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no decision is pending.
    pub fn reject(&mut self, code: Option<Code>, text: &str) -> Result<(), UsageError> {
        // Half a literal is on the wire: nothing can follow but its octets.
        let streaming = |d: &Decision| matches!(d, Decision::FetchStream(_));
        let Some((tag, decision)) = self.take_decision(|d| !streaming(d)) else {
            return self.misuse("reject");
        };
        if matches!(decision, Decision::AppendMessage { .. }) {
            self.reject_append_message();
        }
        if let Decision::ListStatus(job, entry) = decision {
            // One mailbox's STATUS failed: the LIST goes on (RFC 5819 §2).
            self.list_status_refused(job, *entry, code.as_ref());
            return Ok(());
        }
        self.status(Status::no(Some(tag), code, text));
        if matches!(decision, Decision::Login) {
            self.count_error();
        }
        Ok(())
    }

    /// The TLS handshake after STARTTLS succeeded; the engine reads commands again (the
    /// client asks for CAPABILITY anew, RFC 9051 §6.2.1).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no STARTTLS was pending.
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if !matches!(self.wait, Wait::StartTls) {
            return self.misuse("tls_established");
        }
        self.wait = Wait::Nothing;
        self.tls = true;
        Ok(())
    }

    /// Takes the pending decision when `want` accepts it, and leaves it in place otherwise
    /// (a caller that answers with the wrong method gets an error and can still answer).
    fn take_decision(&mut self, want: impl Fn(&Decision) -> bool) -> Option<(Tag, Decision)> {
        if !matches!(&self.wait, Wait::Decision(_, d) if want(d)) {
            return None;
        }
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Decision(t, d) => Some((t, d)),
            _ => None,
        }
    }

    fn misuse(&mut self, method: &'static str) -> Result<(), UsageError> {
        Err(UsageError::NotExpected { method })
    }

    fn idle_limit(&self) -> std::time::Duration {
        match self.state {
            State::NotAuthenticated => self.opts.limits.login_timeout,
            _ => self.opts.limits.autologout,
        }
    }

    fn login_as(&mut self, user: String, now: Instant) {
        self.state = State::Authenticated;
        self.user = Some(user);
        self.deadline = now + self.opts.limits.autologout;
    }

    /// Whether LOGIN and plaintext mechanisms are allowed now.
    fn plaintext_ok(&self) -> bool {
        self.tls || self.opts.allow_plaintext
    }

    /// The capabilities for the current state and TLS (RFC 9051 §6.1.1, §6.2.3, §7.2.2).
    fn capabilities(&self) -> Vec<Atom> {
        let mut caps: Vec<String> = vec!["IMAP4rev1".into()];
        if self.opts.imap4rev2 {
            caps.push("IMAP4rev2".into());
        }
        if self.state == State::NotAuthenticated {
            if self.opts.starttls && !self.tls {
                caps.push("STARTTLS".into());
            }
            if !self.plaintext_ok() {
                caps.push("LOGINDISABLED".into());
            }
            for m in &self.opts.sasl_mechanisms {
                if self.plaintext_ok() || !options::is_plaintext_mechanism(m) {
                    caps.push(format!("AUTH={}", m.to_ascii_uppercase()));
                }
            }
            caps.push("SASL-IR".into());
        }
        caps.extend(
            [
                "LITERAL+",
                "ID",
                "ENABLE",
                "IDLE",
                "UNSELECT",
                "NAMESPACE",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CREATE-SPECIAL-USE",
                "STATUS=SIZE",
                "UIDPLUS",
                "MOVE",
                "MULTIAPPEND",
                "ESEARCH",
                "SEARCHRES",
                "SORT",
                "SORT=DISPLAY",
                "ESORT",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
            ]
            .map(String::from),
        );
        if self.opts.within {
            caps.push("WITHIN".into());
        }
        if self.opts.unauthenticate && self.state != State::NotAuthenticated {
            caps.push("UNAUTHENTICATE".into());
        }
        if self.opts.utf8_accept {
            caps.push("UTF8=ACCEPT".into());
        }
        if self.opts.condstore {
            caps.push("CONDSTORE".into());
            if self.opts.qresync {
                caps.push("QRESYNC".into());
            }
        }
        if self.opts.quota {
            caps.extend(["QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"].map(String::from));
        }
        if self.opts.acl {
            caps.extend(["ACL", "RIGHTS=texk"].map(String::from));
        }
        caps.into_iter().filter_map(|c| Atom::new(c).ok()).collect()
    }

    fn respond(&mut self, r: &Response) {
        self.out.extend_from_slice(&r.to_bytes());
    }

    fn status(&mut self, s: Status) {
        self.respond(&Response::Status(s));
    }

    fn data(&mut self, d: Data) {
        self.respond(&Response::Data(d));
    }

    /// The tagged completion of a command: first the changes the command may report
    /// (RFC 3501 §7.4.1), then the status.
    fn tagged(&mut self, s: Status) {
        self.flush_view();
        self.flush = None;
        self.status(s);
    }

    /// Sends the selected mailbox's pending changes, as far as the command in progress allows.
    fn flush_view(&mut self) {
        let (Some(flush), Some(report)) = (self.flush, self.report()) else {
            return;
        };
        let Some(view) = self.view.as_mut() else {
            return;
        };
        for d in view.flush(flush, report) {
            self.data(d);
        }
    }

    /// A client mistake: after too many, `* BYE` and close.
    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors > self.opts.limits.max_errors && self.close.is_none() {
            self.status(Status::bye(None, "Too many errors"));
            self.close(CloseReason::TooManyErrors);
        }
    }

    /// `BAD` for a client mistake, counted.
    fn bad(&mut self, s: Status) {
        self.status(s);
        self.count_error();
    }

    fn close(&mut self, reason: CloseReason) {
        if self.close.is_none() {
            self.close = Some(reason);
            self.state = State::Logout;
            self.view = None;
            self.events.push_back(ServerEvent::Closed { reason });
        }
    }

    fn on_frame(&mut self, frame: FrameEvent) {
        match frame {
            FrameEvent::LiteralAnnounced {
                tag,
                length,
                needs_continuation,
                ..
            } => self.on_literal(tag, length, needs_continuation),
            // Only APPEND literals are streamed.
            FrameEvent::LiteralChunk { data, last } => self.on_append_chunk(data, last),
            FrameEvent::Unit(unit) => self.on_unit(&unit),
            FrameEvent::Error { tag, error } => {
                self.on_append_frame_error();
                self.bad(Status::for_frame_error(tag, &error));
            }
        }
    }

    /// Decides on a literal before any of its octets are read (RFC 9051 §4.3, RFC 7888 §4).
    fn on_literal(&mut self, tag: Option<Tag>, length: u64, needs_continuation: bool) {
        let in_line = matches!(self.wait, Wait::AuthLine(_) | Wait::Idle(_));
        if tag.is_some() && !in_line && self.on_append_literal(needs_continuation) {
            return;
        }
        let limit = match self.state {
            State::NotAuthenticated => self.opts.limits.max_preauth_literal,
            _ => self.opts.limits.framing.max_unit_size as u64,
        };
        if tag.is_none() || in_line || length > limit {
            self.framer.reject_literal();
            let err = crate::FrameError::LiteralTooLarge { length, limit };
            match std::mem::replace(&mut self.wait, Wait::Nothing) {
                Wait::AuthLine(t) => {
                    self.bad(Status::bad(Some(t), None, "Invalid authentication data"));
                    self.events.push_back(ServerEvent::AuthAborted);
                }
                Wait::Idle(t) => self.end_idle(t, false),
                other => {
                    self.wait = other;
                    self.bad(Status::for_frame_error(tag, &err));
                }
            }
            return;
        }
        match self.framer.accept_literal() {
            Ok(()) if needs_continuation => {
                let go = Continue::Text {
                    code: None,
                    text: "Ready for literal data".into(),
                };
                self.respond(&Response::Continue(go));
            }
            Ok(()) => {}
            Err(e) => self.bad(Status::for_frame_error(tag, &e)),
        }
    }

    fn on_unit(&mut self, unit: &[u8]) {
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::AuthLine(tag) => self.on_auth_line(tag, unit),
            Wait::Idle(tag) => {
                let done = crate::command::parse_idle_done(unit);
                self.end_idle(tag, done);
            }
            other => {
                self.wait = other;
                if self.on_append_end(unit) {
                    return;
                }
                let parsed = crate::Command::parse_with_limits(unit, &self.opts.limits.framing);
                match parsed {
                    Ok(cmd) => self.on_command(cmd),
                    Err(e) => self.bad(Status::for_parse_error(&e)),
                }
            }
        }
    }

    fn end_idle(&mut self, tag: Tag, done: bool) {
        self.events.push_back(ServerEvent::IdleEnded);
        self.flush = None;
        if done {
            self.status(Status::ok(Some(tag), None, "IDLE terminated"));
        } else {
            self.bad(Status::bad(Some(tag), None, "Expected DONE"));
        }
    }
}
