//! The server engine: one SMTP, ESMTP or LMTP session as a state machine.
//!
//! RFC 5321 §3 and §4 (the session, commands and replies, §4.5.3 limits and timeouts),
//! RFC 2920 (pipelining: commands are read one after the other from the buffer and their
//! replies queued in order), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 3030 (BDAT) and
//! RFC 2033 (LMTP).

mod body;
mod commands;
mod event;
mod options;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::data::DataDecoder;
use crate::error::UsageError;
use crate::params::{Body, MailParams};
use crate::reply::{EnhancedStatus, Reply};

pub use event::{Event, HelloName, HeloKind};
pub use options::{Extensions, Limits, ServerOptions, Timeouts};

/// What the engine is doing with input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the Connect event was handed out.
    Start,
    /// Reading command lines.
    Command,
    /// The greeting was a refusal: only QUIT is served.
    Refused,
    /// Reading an AUTH response line.
    AuthResponse,
    /// Reading DATA content.
    Data,
    /// Reading a BDAT chunk: octets left, whether it is the last, whether they are dropped.
    Bdat {
        remaining: u64,
        last: bool,
        discard: bool,
    },
    /// Waiting for the caller's TLS handshake.
    StartTls,
    /// Done.
    Closed,
}

/// The decision the engine waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Connect,
    Hello(HeloKind),
    Mail(Box<MailParams>),
    Rcpt,
    Data,
    Bdat { size: u64, last: bool },
    MessageEnd,
    Auth,
    Vrfy,
    Expn,
}

/// One mail transaction (RFC 5321 §3.3).
#[derive(Debug)]
struct Transaction {
    body: Option<Body>,
    smtputf8: bool,
    rcpts: usize,
    rcpts_tried: usize,
    size: u64,
    bdat_used: bool,
    decoder: Option<DataDecoder>,
    /// More content than [`Limits::max_message_size`]: the rest is read and dropped.
    too_big: bool,
}

/// A server session. Drive it in this order, again and again:
///
/// 1. [`handle_input`](Server::handle_input) with the bytes that arrived (only once
///    [`poll_event`](Server::poll_event) returned `None`);
/// 2. [`poll_event`](Server::poll_event) until `None`, answering every decision event with
///    [`accept`](Server::accept), [`accept_with`](Server::accept_with),
///    [`reject`](Server::reject), the AUTH methods or [`lmtp_replies`](Server::lmtp_replies);
/// 3. [`poll_transmit`](Server::poll_transmit) and send what it returns;
/// 4. [`handle_timeout`](Server::handle_timeout) with the current time after each read and
///    when [`poll_timeout`](Server::poll_timeout)'s instant is reached;
///
/// until [`is_closed`](Server::is_closed) (after sending the last output). The first event is
/// always [`Event::Connect`].
///
/// ```
/// use std::time::Instant;
/// use mailhub_smtp_proto::server::{Event, Server, ServerOptions};
///
/// let mut s = Server::new(ServerOptions::new("mx.example"), Instant::now());
/// assert_eq!(s.poll_event(), Some(Event::Connect));
/// s.accept().unwrap();
/// s.handle_input(b"HELO client.example\r\nQUIT\r\n");
/// while let Some(event) = s.poll_event() {
///     if let Event::Hello { .. } = event {
///         s.accept().unwrap();
///     }
/// }
/// assert_eq!(
///     s.poll_transmit().unwrap(),
///     b"220 mx.example ESMTP Service ready\r\n250 mx.example\r\n\
///       221 mx.example Service closing transmission channel\r\n"
/// );
/// assert!(s.is_closed());
/// ```
#[derive(Debug)]
pub struct Server {
    opts: ServerOptions,
    phase: Phase,
    pending: Option<Pending>,
    /// Events to hand out, with the decision each one opens.
    events: VecDeque<(Event, Option<Pending>)>,
    input: Vec<u8>,
    pos: usize,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    out: Vec<u8>,
    hello: Option<HeloKind>,
    tls: bool,
    authenticated: bool,
    tx: Option<Transaction>,
    errors: usize,
    deadline: Instant,
    activity: bool,
    /// Close once the pending output is taken (after 221 or 421).
    closing: bool,
    /// The caller's reply for the BDAT chunk being read, if not the standard one.
    bdat_reply: Option<Reply>,
}

/// Enhanced status shorthand.
const fn st(c: u8, s: u16, d: u16) -> Option<EnhancedStatus> {
    Some(EnhancedStatus::c(c, s, d))
}

impl Server {
    /// A session for a client that just connected.
    pub fn new(mut options: ServerOptions, now: Instant) -> Server {
        // The name and the mechanism names go into replies: nothing in them may break a line.
        options.hostname.retain(|c| !c.is_control());
        options.extensions.auth.retain(|m| {
            (1..=20).contains(&m.len())
                && m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let deadline = now + options.timeouts.command;
        Server {
            tls: options.tls,
            opts: options,
            phase: Phase::Start,
            pending: None,
            events: VecDeque::new(),
            input: Vec::new(),
            pos: 0,
            skipping: false,
            out: Vec::new(),
            hello: None,
            authenticated: false,
            tx: None,
            errors: 0,
            deadline,
            activity: false,
            closing: false,
            bdat_reply: None,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &ServerOptions {
        &self.opts
    }

    /// Whether the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether AUTH succeeded in this session.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Input bytes held and not yet processed: at most one read plus the line limit when the
    /// caller feeds only after [`poll_event`](Server::poll_event) returned `None`.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Takes bytes that arrived from the client. Call it only once
    /// [`poll_event`](Server::poll_event) has returned `None` with no decision left unanswered:
    /// the engine does not read further while a decision is pending, so bytes fed then pile
    /// up in its buffer.
    ///
    /// The engine serves pipelined commands whether or not PIPELINING is advertised, one at a
    /// time in order; only what follows STARTTLS is dropped (RFC 3207 §5).
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if matches!(self.phase, Phase::Closed | Phase::StartTls) || self.closing {
            // After STARTTLS nothing but the TLS handshake may come; plaintext bytes sent
            // before it are an injection attempt (CVE-2011-0411) and are dropped.
            return;
        }
        self.activity = true;
        if self.pos > 0 && self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.input.len() {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The next event, or `None` when the engine needs more input or waits for a decision.
    #[must_use = "events carry decisions and message content"]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some((e, decision)) = self.events.pop_front() {
                // A decision opens when its event is handed out, not when it is queued, so
                // an answer can never land on a decision the caller has not seen.
                if decision.is_some() {
                    self.pending = decision;
                }
                return Some(e);
            }
            if self.pending.is_some() || self.closing {
                return None;
            }
            match self.phase {
                Phase::Start => {
                    self.phase = Phase::Command;
                    self.pending = Some(Pending::Connect);
                    return Some(Event::Connect);
                }
                Phase::Closed | Phase::StartTls => return None,
                Phase::Command | Phase::Refused | Phase::AuthResponse => {
                    // RFC 4954 §4: an AUTH line, initial response included, may be as long
                    // as an AUTH response.
                    let auth_line = self.phase == Phase::AuthResponse
                        || !self.opts.extensions.auth.is_empty()
                            && self.input[self.pos..]
                                .get(..5)
                                .is_some_and(|v| v.eq_ignore_ascii_case(b"AUTH "));
                    let limit = if auth_line {
                        self.opts
                            .limits
                            .max_auth_line
                            .max(self.opts.limits.max_command_line)
                    } else {
                        self.opts.limits.max_command_line
                    };
                    let line = self.next_line(limit)?;
                    match line {
                        Line::Ok(range) => {
                            let line = self.input[range].to_vec();
                            if self.phase == Phase::AuthResponse {
                                self.on_auth_response(&line);
                            } else {
                                self.on_line(&line);
                            }
                        }
                        Line::TooLong => {
                            if self.phase == Phase::AuthResponse {
                                self.phase = Phase::Command;
                                self.events.push_back((Event::AuthCancelled, None));
                                self.error(
                                    500,
                                    st(5, 5, 6),
                                    "Authentication Exchange line is too long",
                                );
                            } else {
                                self.error(500, st(5, 5, 2), "Line too long");
                            }
                        }
                        Line::BareLf => {
                            self.error(500, st(5, 5, 2), "Bare LF in command line not allowed")
                        }
                    }
                }
                Phase::Data => self.on_data()?,
                Phase::Bdat { .. } => self.on_bdat()?,
            }
        }
    }

    /// Output to send to the client, everything pending coalesced.
    #[must_use = "the output must be sent to the client"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            if self.closing {
                self.phase = Phase::Closed;
            }
            return None;
        }
        if self.closing {
            self.phase = Phase::Closed;
        }
        Some(std::mem::take(&mut self.out))
    }

    /// Gives the engine the time. Restarts the idle timer after input and closes the session
    /// with 421 when the client has been silent too long (RFC 5321 §4.5.3.2.7).
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closed) || self.closing {
            return;
        }
        if self.activity || self.pending.is_some() {
            self.activity = false;
            self.deadline = now + self.idle_timeout();
            return;
        }
        if now >= self.deadline {
            let text = format!("{} Error: timeout exceeded", self.opts.hostname);
            self.send(Reply::internal(421, st(4, 4, 2), &text));
            self.closing = true;
            self.tx = None;
        }
    }

    /// When [`handle_timeout`](Server::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed || self.closing || self.pending.is_some() {
            None
        } else {
            Some(self.deadline)
        }
    }

    /// Whether the session is over (QUIT, timeout, too many errors, a 421 greeting) and its
    /// last output was taken.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    fn idle_timeout(&self) -> Duration {
        match self.phase {
            Phase::Data | Phase::Bdat { .. } => self.opts.timeouts.data,
            _ => self.opts.timeouts.command,
        }
    }

    /// Whether replies carry enhanced status codes: RFC 2034 §4 puts them on every 2xx, 4xx
    /// and 5xx reply when the extension is on, "regardless of whether or not EHLO is employed",
    /// except the greeting and the answers to HELO/EHLO (see [`Server::send_plain`]).
    fn esc(&self) -> bool {
        self.opts.extensions.enhanced_status_codes
    }

    /// Queues a reply that never carries a status: the greeting and the HELO/EHLO/LHLO answer.
    fn send_plain(&mut self, reply: Reply) {
        if !reply.code().is_negative() {
            self.errors = 0;
        }
        reply.without_status().write_to(&mut self.out);
    }

    /// Queues a reply, adjusting its status code to the session's ENHANCEDSTATUSCODES.
    fn send(&mut self, reply: Reply) {
        let reply = if self.esc() {
            // 3xx replies (354, 334) carry no status: RFC 3463 has no class 3.
            match (
                reply.status(),
                EnhancedStatus::new(reply.code().class(), 0, 0),
            ) {
                (None, Some(generic)) => reply.with_status(generic),
                _ => reply,
            }
        } else {
            reply.without_status()
        };
        if reply.code().is_positive_completion() || reply.code().is_intermediate() {
            self.errors = 0;
        }
        reply.write_to(&mut self.out);
    }

    fn reply(&mut self, code: u16, status: Option<EnhancedStatus>, text: &str) {
        self.send(Reply::internal(code, status, text));
    }

    /// An error reply that counts towards [`Limits::max_errors`].
    fn error(&mut self, code: u16, status: Option<EnhancedStatus>, text: &str) {
        self.reply(code, status, text);
        self.count_error();
    }

    fn next_line(&mut self, limit: usize) -> Option<Line> {
        let avail = &self.input[self.pos..];
        match memchr::memchr(b'\n', avail) {
            None => {
                if avail.len() > limit || self.skipping {
                    // Drop what we have of a line that is already too long, but keep a final
                    // CR so that the line end is still seen.
                    self.skipping = true;
                    let keep = usize::from(avail.last() == Some(&b'\r'));
                    self.pos = self.input.len() - keep;
                }
                None
            }
            Some(nl) => {
                let start = self.pos;
                self.pos += nl + 1;
                if std::mem::take(&mut self.skipping) || nl + 1 > limit {
                    return Some(Line::TooLong);
                }
                let line = &self.input[start..start + nl];
                match line.last() {
                    Some(b'\r') => Some(Line::Ok(start..start + nl - 1)),
                    _ if self.opts.quirk_bare_lf_commands => Some(Line::Ok(start..start + nl)),
                    _ => Some(Line::BareLf),
                }
            }
        }
    }

    /// Answers the pending decision positively with the standard reply.
    pub fn accept(&mut self) -> Result<(), UsageError> {
        let reply = match self.pending {
            None => return Err(UsageError::NoDecisionPending("accept")),
            Some(Pending::Connect) => {
                let proto = if self.opts.lmtp { "LMTP" } else { "ESMTP" };
                let text = format!("{} {proto} Service ready", self.opts.hostname);
                Reply::internal(220, None, &text)
            }
            Some(Pending::Hello(kind)) => self.hello_reply(kind),
            Some(Pending::Mail(_) | Pending::Rcpt) => Reply::internal(250, st(2, 1, 0), "OK"),
            Some(Pending::Data) => {
                Reply::internal(354, None, "Start mail input; end with <CRLF>.<CRLF>")
            }
            Some(Pending::Bdat { .. } | Pending::MessageEnd) => {
                Reply::internal(250, st(2, 0, 0), "OK")
            }
            Some(Pending::Vrfy) => Reply::internal(
                252,
                st(2, 5, 2),
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Some(Pending::Expn) => Reply::internal(502, st(5, 5, 1), "EXPN not available"),
            Some(Pending::Auth) => {
                return Err(UsageError::NoDecisionPending(
                    "AUTH needs auth_challenge, auth_success or reject",
                ));
            }
        };
        self.decide(reply)
    }

    /// Answers the pending decision positively with the caller's reply (2xx, or 3xx for DATA).
    pub fn accept_with(&mut self, reply: Reply) -> Result<(), UsageError> {
        let want_3xx = matches!(self.pending, Some(Pending::Data));
        let ok = if want_3xx {
            reply.code().is_intermediate()
        } else {
            reply.code().is_positive_completion()
        };
        if self.pending.is_none() {
            return Err(UsageError::NoDecisionPending("accept_with"));
        }
        if !ok || matches!(self.pending, Some(Pending::Auth)) {
            return Err(UsageError::WrongReplyClass(
                "accept_with needs 2xx (3xx for DATA)",
            ));
        }
        self.decide(reply)
    }

    /// Answers the pending decision negatively (4xx or 5xx).
    pub fn reject(&mut self, reply: Reply) -> Result<(), UsageError> {
        if self.pending.is_none() {
            return Err(UsageError::NoDecisionPending("reject"));
        }
        if !reply.code().is_negative() {
            return Err(UsageError::WrongReplyClass("reject needs 4xx or 5xx"));
        }
        self.decide(reply)
    }

    /// LMTP: one reply per accepted recipient, in RCPT order, for the end of a message.
    pub fn lmtp_replies(&mut self, replies: Vec<Reply>) -> Result<(), UsageError> {
        let expected = self.tx.as_ref().map_or(0, |t| t.rcpts);
        if self.pending != Some(Pending::MessageEnd) || !self.opts.lmtp {
            return Err(UsageError::NoDecisionPending("lmtp_replies"));
        }
        if replies.len() != expected {
            return Err(UsageError::RecipientCount {
                expected,
                got: replies.len(),
            });
        }
        self.pending = None;
        for r in replies {
            self.send(r);
        }
        self.end_transaction();
        Ok(())
    }

    /// AUTH: sends a 334 challenge (base64-encoded here) and waits for the client's answer.
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), UsageError> {
        if self.pending != Some(Pending::Auth) {
            return Err(UsageError::NoDecisionPending("auth_challenge"));
        }
        use base64::Engine as _;
        self.pending = None;
        let text = base64::engine::general_purpose::STANDARD.encode(challenge);
        // A challenge is not a status: RFC 4954 §4 puts only base64 after 334.
        let mut line = b"334 ".to_vec();
        line.extend_from_slice(text.as_bytes());
        line.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&line);
        self.phase = Phase::AuthResponse;
        Ok(())
    }

    /// AUTH: the client is authenticated (235).
    pub fn auth_success(&mut self) -> Result<(), UsageError> {
        if self.pending != Some(Pending::Auth) {
            return Err(UsageError::NoDecisionPending("auth_success"));
        }
        self.pending = None;
        self.authenticated = true;
        self.phase = Phase::Command;
        self.reply(235, st(2, 7, 0), "Authentication successful");
        Ok(())
    }

    /// STARTTLS: the handshake is done. The session starts over (RFC 3207 §4.2): no HELO, no
    /// AUTH, no transaction.
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if self.phase != Phase::StartTls {
            return Err(UsageError::InvalidState("no STARTTLS in progress"));
        }
        self.tls = true;
        self.hello = None;
        self.authenticated = false;
        self.tx = None;
        self.input.clear();
        self.pos = 0;
        self.phase = Phase::Command;
        self.activity = true;
        Ok(())
    }

    fn end_transaction(&mut self) {
        self.tx = None;
    }
}

enum Line {
    Ok(std::ops::Range<usize>),
    TooLong,
    BareLf,
}
