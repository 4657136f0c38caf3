//! The client engine: one SMTP, ESMTP or LMTP session towards a server.
//!
//! RFC 5321 §3 and §4 (EHLO with HELO fallback, the transaction, §4.5.3.2 timeouts), RFC 2920
//! §3.1 (MAIL, every RCPT and DATA sent as one group when PIPELINING is offered, each reply
//! matched to its command in order), RFC 3207 (STARTTLS), RFC 4954 (AUTH through a step
//! function: the `mailhub-sasl` client sessions fit it), RFC 3030 (BDAT) and RFC 2033 (LMTP:
//! one reply per accepted recipient after the content).

mod capabilities;
mod event;
mod options;

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine as _;

pub use capabilities::Capabilities;
pub use event::Event;
pub use options::{AuthStep, ClientOptions, ClientTimeouts, Envelope, TlsPolicy};

use crate::address::ForwardPath;
use crate::command::Command;
use crate::data::DataEncoder;
use crate::error::{ClientError, UsageError};
use crate::params::{Body, RcptParams};
use crate::reply::Reply;
use crate::secret::Secret;

/// What a reply in the queue answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt(usize),
    Data,
    /// After the content (`.` or `BDAT … LAST`): for LMTP the recipient it is for.
    End(Option<usize>),
    Bdat,
    Rset,
    Noop,
    Quit,
    /// A reply owed to an abandoned transaction, or to its RSET: read and dropped.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Opening,
    Ready,
    Transaction,
    Body,
    Closed,
}

#[derive(Debug)]
struct Tx {
    recipients: Vec<(ForwardPath, RcptParams)>,
    next_rcpt: usize,
    accepted: Vec<usize>,
    mail_reply: Option<Reply>,
    last_rcpt_reply: Option<Reply>,
    bdat: bool,
    /// BODY=BINARYMIME: content goes as is.
    binary: bool,
    encoder: DataEncoder,
    failed: Option<Reply>,
    results: Vec<(usize, Reply)>,
}

/// A client session. Drive it like the server: [`handle_input`](Client::handle_input) →
/// [`poll_event`](Client::poll_event) until `None` (calling [`send_mail`](Client::send_mail),
/// [`authenticate`](Client::authenticate), [`send_body`](Client::send_body) … as the events
/// allow) → [`poll_transmit`](Client::poll_transmit) → [`handle_timeout`](Client::handle_timeout)
/// after each read and at [`poll_timeout`](Client::poll_timeout), until
/// [`is_closed`](Client::is_closed).
pub struct Client {
    opts: ClientOptions,
    phase: Phase,
    input: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    expect: VecDeque<Expect>,
    caps: Capabilities,
    tls: bool,
    auth: Option<AuthStep>,
    tx: Option<Tx>,
    pipelining: bool,
    deadline: Option<Instant>,
    rearm: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase)
            .field("expect", &self.expect)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn b64(data: &[u8]) -> String {
    if data.is_empty() {
        return "=".to_owned();
    }
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl Client {
    /// A session on a connection that just opened; the server speaks first.
    pub fn new(options: ClientOptions, now: Instant) -> Client {
        let mut expect = VecDeque::new();
        expect.push_back(Expect::Greeting);
        Client {
            tls: options.tls,
            deadline: Some(now + options.timeouts.greeting),
            opts: options,
            phase: Phase::Opening,
            input: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            expect,
            caps: Capabilities::default(),
            auth: None,
            tx: None,
            pipelining: false,
            rearm: false,
        }
    }

    /// The server's capabilities (empty until the EHLO reply).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Whether the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Takes bytes from the server.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.phase != Phase::Closed {
            self.input.extend_from_slice(bytes);
        }
    }

    /// Output to send to the server.
    #[must_use = "the output must be sent to the server"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// When [`handle_timeout`](Client::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed || self.expect.is_empty() {
            None
        } else {
            self.deadline
        }
    }

    /// Gives the engine the time; a reply that is late ends the session with
    /// [`ClientError::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        let Some(&next) = self.expect.front() else {
            self.deadline = None;
            return;
        };
        if self.rearm || self.deadline.is_none() {
            self.rearm = false;
            let t = &self.opts.timeouts;
            let d = match next {
                Expect::Greeting => t.greeting,
                Expect::Data => t.data_init,
                Expect::End(_) => t.data_end,
                _ => t.command,
            };
            self.deadline = Some(now + d);
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            let what = match next {
                Expect::Greeting => "greeting",
                Expect::Data => "DATA initiation",
                Expect::End(_) => "DATA termination",
                Expect::Mail => "MAIL",
                Expect::Rcpt(_) => "RCPT",
                _ => "command",
            };
            self.fail(ClientError::Timeout(what));
        }
    }

    /// The next event, or `None` when more input is needed.
    #[must_use = "events carry results the caller acts on"]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.phase == Phase::Closed {
                return None;
            }
            match Reply::parse(
                &self.input,
                self.opts.max_reply_line,
                self.opts.max_reply_lines,
            ) {
                Ok(None) => return None,
                Ok(Some((reply, used))) => {
                    self.input.drain(..used);
                    self.rearm = true;
                    self.on_reply(reply);
                }
                Err(e) => self.fail(ClientError::BadReply(e)),
            }
        }
    }

    fn fail(&mut self, e: ClientError) {
        self.events.push_back(Event::Error(e));
        self.phase = Phase::Closed;
        self.expect.clear();
        self.tx = None;
    }

    fn send(&mut self, cmd: &Command, expect: Expect) {
        cmd.write_to(&mut self.out);
        self.expect.push_back(expect);
        self.rearm = true;
    }

    fn hello(&mut self) {
        let h = self.opts.hello_name.clone();
        let cmd = if self.opts.lmtp {
            Command::Lhlo(h)
        } else {
            Command::Ehlo(h)
        };
        self.send(&cmd, Expect::Ehlo);
    }

    /// Sends QUIT; [`Event::Closed`] follows its reply.
    pub fn quit(&mut self) -> Result<(), UsageError> {
        if matches!(self.phase, Phase::Closed) || self.expect.contains(&Expect::Quit) {
            return Err(UsageError::InvalidState("session already closing"));
        }
        self.send(&Command::Quit, Expect::Quit);
        Ok(())
    }

    /// Sends RSET (between messages, or to abandon one); its reply comes as [`Event::Reply`].
    pub fn reset(&mut self) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::Ready | Phase::Transaction) {
            return Err(UsageError::InvalidState("RSET needs an open session"));
        }
        self.tx = None;
        self.phase = Phase::Ready;
        self.send(&Command::Rset, Expect::Rset);
        Ok(())
    }

    /// Sends NOOP; its reply comes as [`Event::Reply`].
    pub fn noop(&mut self) -> Result<(), UsageError> {
        if self.phase == Phase::Closed {
            return Err(UsageError::InvalidState("session closed"));
        }
        self.send(&Command::Noop(None), Expect::Noop);
        Ok(())
    }

    /// STARTTLS: the handshake is done; the engine sends EHLO again (RFC 3207 §4.2).
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if self.tls || self.phase != Phase::Opening || !self.expect.is_empty() {
            return Err(UsageError::InvalidState("no STARTTLS in progress"));
        }
        self.tls = true;
        self.caps = Capabilities::default();
        // Anything the server sent before the handshake is not part of the new session.
        self.input.clear();
        self.hello();
        Ok(())
    }

    /// Starts AUTH with `mechanism`; `step` answers each 334 challenge (RFC 4954 §4). The
    /// initial response, when given, goes on the AUTH line.
    pub fn authenticate(
        &mut self,
        mechanism: &str,
        initial_response: Option<Secret<Vec<u8>>>,
        step: AuthStep,
    ) -> Result<(), UsageError> {
        if self.phase != Phase::Ready || !self.expect.is_empty() {
            return Err(UsageError::InvalidState("AUTH needs a ready, idle session"));
        }
        if !self.caps.has_auth(mechanism) {
            return Err(UsageError::NotOffered("AUTH mechanism"));
        }
        let cmd = Command::Auth {
            mechanism: mechanism.to_ascii_uppercase(),
            initial_response: initial_response.map(|ir| Secret::new(b64(ir.expose()))),
        };
        self.auth = Some(step);
        self.send(&cmd, Expect::Auth);
        Ok(())
    }

    /// Starts a transaction. With PIPELINING, MAIL, every RCPT and (unless BDAT is used) DATA
    /// leave as one group; otherwise one command per reply.
    pub fn send_mail(&mut self, envelope: Envelope) -> Result<(), UsageError> {
        if self.phase != Phase::Ready {
            return Err(UsageError::InvalidState(
                "a transaction needs a ready session",
            ));
        }
        if envelope.recipients.is_empty() {
            return Err(UsageError::InvalidState("no recipients"));
        }
        self.check_envelope(&envelope)?;
        let bdat = self.caps.chunking
            && (self.opts.chunking || envelope.params.body == Some(Body::BinaryMime));
        let binary = envelope.params.body == Some(Body::BinaryMime);
        let tx = Tx {
            recipients: envelope.recipients,
            next_rcpt: 0,
            accepted: Vec::new(),
            mail_reply: None,
            last_rcpt_reply: None,
            bdat,
            binary,
            encoder: if bdat {
                DataEncoder::new_bdat()
            } else {
                DataEncoder::new()
            },
            failed: None,
            results: Vec::new(),
        };
        let mail = Command::Mail {
            from: envelope.from,
            params: envelope.params,
        };
        self.send(&mail, Expect::Mail);
        self.phase = Phase::Transaction;
        self.tx = Some(tx);
        if self.pipelining {
            while self.send_next_rcpt() {}
            if !bdat {
                self.send(&Command::Data, Expect::Data);
            }
        }
        Ok(())
    }

    fn check_envelope(&self, e: &Envelope) -> Result<(), UsageError> {
        let c = &self.caps;
        let p = &e.params;
        let ascii = e.from.is_ascii() && e.recipients.iter().all(|(r, _)| r.is_ascii());
        let need = [
            ((!ascii || p.smtputf8) && !c.smtputf8, "SMTPUTF8"),
            (
                !ascii && !p.smtputf8,
                "SMTPUTF8 parameter for a non-ASCII address",
            ),
            (p.size.is_some() && c.size.is_none(), "SIZE"),
            (
                p.body == Some(Body::EightBitMime) && !c.eightbitmime,
                "8BITMIME",
            ),
            (
                p.body == Some(Body::BinaryMime) && !(c.binarymime && c.chunking),
                "BINARYMIME",
            ),
            ((p.ret.is_some() || p.envid.is_some()) && !c.dsn, "DSN"),
            (
                e.recipients
                    .iter()
                    .any(|(_, r)| r.notify.is_some() || r.orcpt.is_some())
                    && !c.dsn,
                "DSN",
            ),
            (p.requiretls && !(c.requiretls && self.tls), "REQUIRETLS"),
            (p.by.is_some() && c.deliverby.is_none(), "DELIVERBY"),
            (p.mt_priority.is_some() && !c.mt_priority, "MT-PRIORITY"),
            (p.auth.is_some() && c.auth.is_empty(), "AUTH"),
            (
                !c.esmtp
                    && (!p.is_empty()
                        || e.recipients
                            .iter()
                            .any(|(_, r)| *r != RcptParams::default())),
                "ESMTP",
            ),
        ];
        match need.iter().find(|(missing, _)| *missing) {
            Some((_, name)) => Err(UsageError::NotOffered(name)),
            None => Ok(()),
        }
    }

    /// Sends the next RCPT, if any is left; returns whether it did.
    fn send_next_rcpt(&mut self) -> bool {
        let Some(tx) = self.tx.as_mut() else {
            return false;
        };
        let i = tx.next_rcpt;
        let Some((to, params)) = tx.recipients.get(i).cloned() else {
            return false;
        };
        tx.next_rcpt += 1;
        self.send(&Command::Rcpt { to, params }, Expect::Rcpt(i));
        true
    }

    /// Sends a piece of the message content (after [`Event::BodyReady`]). With DATA the
    /// content is dot-stuffed and bare CR/LF written as CRLF; with BDAT it goes as one chunk,
    /// as is.
    pub fn send_body(&mut self, content: &[u8]) -> Result<(), UsageError> {
        if self.phase != Phase::Body {
            return Err(UsageError::InvalidState("no BodyReady"));
        }
        let pipelining = self.pipelining;
        let waiting = self.expect.contains(&Expect::Bdat);
        let Some(tx) = self.tx.as_mut() else {
            return Err(UsageError::InvalidState("no transaction"));
        };
        if tx.bdat {
            if waiting && !pipelining {
                return Err(UsageError::InvalidState(
                    "wait for BodyReady before the next chunk",
                ));
            }
            let chunk = if tx.binary {
                content.to_vec()
            } else {
                let mut v = Vec::with_capacity(content.len() + 16);
                tx.encoder.encode(content, &mut v);
                v
            };
            self.bdat_chunk(&chunk);
        } else {
            tx.encoder.encode(content, &mut self.out);
        }
        Ok(())
    }

    fn bdat_chunk(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        let cmd = Command::Bdat {
            size: chunk.len() as u64,
            last: false,
        };
        cmd.write_to(&mut self.out);
        self.out.extend_from_slice(chunk);
        self.expect.push_back(Expect::Bdat);
        self.rearm = true;
    }

    /// Ends the content (`.` or `BDAT 0 LAST`); the result comes as [`Event::MessageResult`].
    pub fn finish_body(&mut self) -> Result<(), UsageError> {
        if self.phase != Phase::Body {
            return Err(UsageError::InvalidState("no BodyReady"));
        }
        if !self.pipelining && self.expect.contains(&Expect::Bdat) {
            return Err(UsageError::InvalidState(
                "wait for BodyReady before the last chunk",
            ));
        }
        let lmtp = self.opts.lmtp;
        let Some(tx) = self.tx.as_mut() else {
            return Err(UsageError::InvalidState("no transaction"));
        };
        let accepted = tx.accepted.clone();
        if tx.bdat {
            let mut tail = Vec::new();
            tx.encoder.finish_bdat(&mut tail);
            self.bdat_chunk(&tail);
            Command::Bdat {
                size: 0,
                last: true,
            }
            .write_to(&mut self.out);
        } else {
            tx.encoder.finish(&mut self.out);
        }
        if lmtp {
            self.expect
                .extend(accepted.into_iter().map(|i| Expect::End(Some(i))));
        } else {
            self.expect.push_back(Expect::End(None));
        }
        self.rearm = true;
        self.phase = Phase::Transaction;
        Ok(())
    }

    fn on_reply(&mut self, reply: Reply) {
        let Some(expect) = self.expect.pop_front() else {
            // RFC 5321 §3.8: a 421 may come at any time.
            if reply.code().value() == 421 {
                self.events.push_back(Event::Closed);
                self.phase = Phase::Closed;
                return;
            }
            return self.fail(ClientError::Unsolicited);
        };
        let code = reply.code();
        let positive = code.is_positive_completion();
        let intermediate_ok = matches!(expect, Expect::Data | Expect::Auth | Expect::Ignore);
        if code.is_intermediate() && !intermediate_ok {
            return self.fail(ClientError::Unexpected(
                code.value(),
                "a command without 3xx",
            ));
        }
        if code.value() == 421 && expect != Expect::Quit {
            self.events.push_back(Event::MessageFailed(reply));
            self.events.push_back(Event::Closed);
            self.phase = Phase::Closed;
            self.expect.clear();
            return;
        }
        match expect {
            Expect::Greeting => {
                self.events.push_back(Event::Greeting(reply));
                if positive {
                    self.hello();
                } else {
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::Ehlo => {
                if positive {
                    self.caps = Capabilities::from_ehlo(&reply);
                    self.after_hello();
                } else if !self.opts.lmtp && code.value() >= 500 {
                    // RFC 5321 §3.2: an old server; try HELO.
                    let h = self.opts.hello_name.clone();
                    self.send(&Command::Helo(h), Expect::Helo);
                } else {
                    self.events
                        .push_back(Event::Error(ClientError::Unexpected(code.value(), "EHLO")));
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::Helo => {
                if positive {
                    self.caps = Capabilities::default();
                    self.after_hello();
                } else {
                    self.events
                        .push_back(Event::Error(ClientError::Unexpected(code.value(), "HELO")));
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::StartTls => {
                if code.value() == 220 {
                    self.events.push_back(Event::StartTls);
                } else if self.opts.starttls == TlsPolicy::Required {
                    self.events.push_back(Event::Error(ClientError::Unexpected(
                        code.value(),
                        "STARTTLS",
                    )));
                    self.send(&Command::Quit, Expect::Quit);
                } else {
                    self.ready();
                }
            }
            Expect::Auth => self.on_auth_reply(reply),
            Expect::Mail => {
                let tx = self
                    .tx
                    .as_mut()
                    .expect("transaction open while MAIL outstanding");
                if positive {
                    tx.mail_reply = Some(reply);
                    if !self.pipelining {
                        self.send_next_rcpt();
                    }
                } else {
                    tx.failed = Some(reply);
                    if !self.pipelining {
                        self.end_failed(false);
                    }
                }
            }
            Expect::Rcpt(index) => self.on_rcpt_reply(index, reply),
            Expect::Data if positive => {
                // RFC 5321 §4.3.2: DATA is answered by 354 or a failure, never by 2xx.
                self.fail(ClientError::Unexpected(code.value(), "DATA"));
            }
            Expect::Data => {
                let ok = self
                    .tx
                    .as_ref()
                    .is_some_and(|t| t.failed.is_none() && !t.accepted.is_empty());
                if code.is_intermediate() && ok {
                    self.phase = Phase::Body;
                    self.events.push_back(Event::BodyReady);
                } else if code.is_intermediate() {
                    // A server that said 354 to a transaction with no recipient (RFC 2920
                    // §3.2, second example): send an empty message and forget its reply.
                    self.out.extend_from_slice(b".\r\n");
                    self.expect.push_front(Expect::End(None));
                    if let Some(tx) = self.tx.as_mut() {
                        tx.accepted.clear();
                    }
                } else {
                    let tx = self
                        .tx
                        .as_mut()
                        .expect("transaction open while DATA outstanding");
                    if tx.failed.is_none() {
                        tx.failed = Some(reply);
                    }
                    self.end_failed(true);
                }
            }
            Expect::Bdat => {
                if !positive {
                    if let Some(tx) = self.tx.as_mut()
                        && tx.failed.is_none()
                    {
                        tx.failed = Some(reply);
                    }
                } else if !self.pipelining && self.phase == Phase::Body {
                    self.events.push_back(Event::BodyReady);
                }
            }
            Expect::End(index) => self.on_end_reply(index, reply),
            Expect::Rset | Expect::Noop => self.events.push_back(Event::Reply(reply)),
            Expect::Ignore => {
                if code.is_intermediate() {
                    // A 354 to a DATA of an abandoned transaction: end it empty.
                    self.out.extend_from_slice(b".\r\n");
                    self.expect.push_front(Expect::Ignore);
                }
            }
            Expect::Quit => {
                self.events.push_back(Event::Closed);
                self.phase = Phase::Closed;
            }
        }
    }

    fn after_hello(&mut self) {
        self.pipelining = self.opts.pipelining && self.caps.pipelining;
        if !self.tls && self.opts.starttls != TlsPolicy::Never && self.caps.starttls {
            self.send(&Command::StartTls, Expect::StartTls);
        } else if !self.tls && self.opts.starttls == TlsPolicy::Required {
            self.events
                .push_back(Event::Error(ClientError::MissingExtension("STARTTLS")));
            self.send(&Command::Quit, Expect::Quit);
        } else {
            self.ready();
        }
    }

    fn ready(&mut self) {
        self.phase = Phase::Ready;
        self.events.push_back(Event::Ready(self.caps.clone()));
    }

    fn on_auth_reply(&mut self, reply: Reply) {
        let code = reply.code().value();
        if code == 334 {
            let text = reply.lines()[0].trim();
            let challenge = if text.is_empty() {
                Some(Vec::new())
            } else {
                base64::engine::general_purpose::STANDARD.decode(text).ok()
            };
            let response = match (challenge, self.auth.as_mut()) {
                (Some(c), Some(step)) => step(&c).ok(),
                _ => None,
            };
            match response {
                Some(r) => {
                    self.out.extend_from_slice(b64(&r).as_bytes());
                }
                // RFC 4954 §4: `*` cancels; the server answers 501.
                None => self.out.push(b'*'),
            }
            self.out.extend_from_slice(b"\r\n");
            self.expect.push_front(Expect::Auth);
            self.rearm = true;
            return;
        }
        self.auth = None;
        if reply.code().is_positive_completion() {
            self.events.push_back(Event::Authenticated);
        } else {
            self.events.push_back(Event::AuthFailed(reply));
        }
    }

    fn on_rcpt_reply(&mut self, index: usize, reply: Reply) {
        let positive = reply.code().is_positive_completion();
        let pipelining = self.pipelining;
        let tx = self
            .tx
            .as_mut()
            .expect("transaction open while RCPT outstanding");
        if positive {
            tx.accepted.push(index);
        }
        tx.last_rcpt_reply = Some(reply.clone());
        let last = index + 1 == tx.recipients.len();
        let (bdat, any) = (tx.bdat, !tx.accepted.is_empty());
        let mail_ok = tx.failed.is_none();
        self.events.push_back(Event::RcptResult { index, reply });
        if !pipelining && !last {
            self.send_next_rcpt();
            return;
        }
        if !last {
            return;
        }
        match (any && mail_ok, bdat, pipelining) {
            (true, true, _) => {
                self.phase = Phase::Body;
                self.events.push_back(Event::BodyReady);
            }
            (true, false, false) => self.send(&Command::Data, Expect::Data),
            // Pipelined DATA is already on its way; its reply decides.
            (_, false, true) => {}
            (false, _, _) => {
                if let Some(tx) = self.tx.as_mut()
                    && tx.failed.is_none()
                {
                    tx.failed = tx.last_rcpt_reply.clone();
                }
                if !pipelining || bdat {
                    self.end_failed(true);
                }
            }
        }
    }

    fn on_end_reply(&mut self, index: Option<usize>, reply: Reply) {
        let Some(tx) = self.tx.as_mut() else {
            return;
        };
        if tx.accepted.is_empty() {
            // The empty message sent after an unwanted 354.
            self.end_failed(true);
            return;
        }
        match index {
            Some(i) => tx.results.push((i, reply)),
            None => {
                let failed = tx.failed.clone();
                let r = failed.unwrap_or(reply);
                tx.results = tx.accepted.iter().map(|&i| (i, r.clone())).collect();
            }
        }
        if self.expect.iter().any(|e| matches!(e, Expect::End(_))) {
            return;
        }
        let tx = self.tx.take().expect("checked above");
        self.phase = Phase::Ready;
        self.events.push_back(Event::MessageResult(tx.results));
    }

    /// Reports a failed transaction; `rset` when the server holds an open transaction.
    fn end_failed(&mut self, rset: bool) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let reply = tx
            .failed
            .or(tx.last_rcpt_reply)
            .unwrap_or_else(|| Reply::internal(554, None, "Transaction failed"));
        self.events.push_back(Event::MessageFailed(reply));
        // Replies still due for this transaction (pipelined RCPT/DATA) are read and dropped.
        for e in self.expect.iter_mut() {
            if matches!(
                e,
                Expect::Rcpt(_) | Expect::Data | Expect::End(_) | Expect::Bdat
            ) {
                *e = Expect::Ignore;
            }
        }
        self.phase = Phase::Ready;
        if rset {
            self.send(&Command::Rset, Expect::Ignore);
        }
    }
}
