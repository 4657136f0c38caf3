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
mod replies;

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
    /// Not while a DATA is waiting for its reply or content is being sent.
    pub fn reset(&mut self) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::Ready | Phase::Transaction) {
            return Err(UsageError::InvalidState("RSET needs an open session"));
        }
        if self.expect.contains(&Expect::Data) {
            // A pipelined DATA may be answered with 354: an RSET sent now would become
            // message content.
            return Err(UsageError::InvalidState("wait for the reply to DATA"));
        }
        self.tx = None;
        self.phase = Phase::Ready;
        // Replies still due for the abandoned transaction are read and dropped.
        for e in self.expect.iter_mut() {
            if matches!(
                e,
                Expect::Mail | Expect::Rcpt(_) | Expect::Data | Expect::End(_) | Expect::Bdat
            ) {
                *e = Expect::Ignore;
            }
        }
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
        // RFC 1870 §6: a message larger than the server's fixed maximum is not even offered.
        if let (Some(size), Some(limit)) = (p.size, c.size)
            && limit > 0
            && size > limit
        {
            return Err(UsageError::TooBig { size, limit });
        }
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
}
