//! The POP3 client engine (RFC 1939, RFC 2449 CAPA and PIPELINING, RFC 2595 STLS, RFC 5034
//! AUTH, RFC 6856 UTF8).
//!
//! Commands are queued by plain methods and sent in order. Until the server has announced
//! PIPELINING (RFC 2449 §6.6) in a CAPA answer, one command is on the wire at a time; after
//! that, every queued command is sent at once, except AUTH and STLS, which wait for the
//! commands before them and hold back the ones after them. Each answer comes back as one typed
//! [`ClientEvent`], message bodies as a stream of dot-unstuffed chunks.

mod event;
mod reader;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use event::{ClientCloseReason, ClientEvent};

use crate::framer::LineFramer;
use crate::types::{encode_sasl, is_valid_mechanism};
use crate::{Capability, Command, DotUnstuffer, Secret, UsageError, apop_digest};

/// A SASL step function: takes a decoded server challenge and returns the decoded response,
/// or `None` to cancel the exchange. `mailhub-mta-core` wraps a `mailhub_sasl::ClientSession`
/// in one.
pub type SaslStep = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>> + Send>;

/// Limits of a client session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Longest response line, CRLF included. RFC 2449 §4 sets 512 octets for status lines;
    /// the default is more lenient for listing lines and long SASL challenges.
    pub max_line: usize,
    /// Most entries in one LIST, UIDL or CAPA answer.
    pub max_list_entries: usize,
    /// How long to wait for an answer before giving up.
    pub response_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_line: 64 * 1024,
            max_list_entries: 1_000_000,
            response_timeout: Duration::from_secs(600),
        }
    }
}

/// RFC 5034 §4: an AUTH command with its initial response must fit in 255 octets.
const MAX_AUTH_COMMAND: usize = 255;

/// A command waiting to be sent or answered.
struct Queued {
    command: Command,
    /// AUTH: the step function, and the initial response held back because it was too long
    /// for the command line.
    sasl: Option<(SaslStep, Option<Secret<Vec<u8>>>)>,
}

impl Queued {
    fn is_barrier(&self) -> bool {
        matches!(self.command, Command::Auth { .. } | Command::Stls)
    }
}

/// What is being read.
#[derive(Debug)]
enum Reading {
    Greeting,
    Status,
    List(Vec<crate::ListEntry>),
    Uidl(Vec<crate::UidlEntry>),
    Capa(Vec<Capability>),
    Body(DotUnstuffer),
}

/// One POP3 client session.
///
/// Drive it like the server: [`handle_input`](Self::handle_input) with the bytes that arrived,
/// [`poll_event`](Self::poll_event) until `None`, queue commands with the command methods,
/// send what [`poll_transmit`](Self::poll_transmit) returns, and call
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout) says.
/// Commands may be queued before the greeting arrives; they are sent after it.
pub struct Client {
    opts: ClientOptions,
    framer: LineFramer,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
    queue: VecDeque<Queued>,
    in_flight: VecDeque<Queued>,
    reading: Reading,
    greeted: bool,
    timestamp: Option<String>,
    capabilities: Option<Vec<Capability>>,
    pipelining: bool,
    tls_pending: bool,
    authenticated: bool,
    deadline: Option<Instant>,
    activity: bool,
    closed: Option<ClientCloseReason>,
    close_reported: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("reading", &self.reading)
            .field("queued", &self.queue.len())
            .field("in_flight", &self.in_flight.len())
            .field("pipelining", &self.pipelining)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a session, waiting for the greeting.
    pub fn new(options: ClientOptions, now: Instant) -> Client {
        Client {
            deadline: Some(now + options.response_timeout),
            opts: options,
            framer: LineFramer::default(),
            out: Vec::new(),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            reading: Reading::Greeting,
            greeted: false,
            timestamp: None,
            capabilities: None,
            pipelining: false,
            tls_pending: false,
            authenticated: false,
            activity: false,
            closed: None,
            close_reported: false,
        }
    }

    /// The APOP timestamp of the greeting.
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    /// The capabilities of the last CAPA answer, forgotten after STLS (RFC 2595 §4).
    pub fn capabilities(&self) -> Option<&[Capability]> {
        self.capabilities.as_deref()
    }

    /// Whether commands are pipelined.
    pub fn is_pipelining(&self) -> bool {
        self.pipelining
    }

    /// Whether a PASS, APOP or AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Commands sent and not yet answered, plus those not yet sent.
    pub fn pending_commands(&self) -> usize {
        self.queue.len() + self.in_flight.len()
    }

    /// Takes bytes from the server.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        // Bytes between the +OK to STLS and the end of the handshake are unprotected; the
        // caller should not pass them on, and they are dropped if it does.
        if self.closed.is_none() && !bytes.is_empty() && !self.tls_pending {
            self.activity = true;
            self.framer.extend(bytes);
        }
    }

    /// The bytes to send, coalesced; `None` when there are none.
    #[must_use = "the bytes must be sent to the server"]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.pump();
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// Gives the engine the time; gives up when an answer is overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting = !self.greeted || !self.in_flight.is_empty();
        if self.activity || !waiting {
            self.activity = false;
            self.deadline = Some(now + self.opts.response_timeout);
        } else if self.deadline.is_some_and(|d| now >= d) {
            self.close(ClientCloseReason::Timeout);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.closed.is_none().then_some(self.deadline).flatten()
    }

    /// Whether the session is over and all its output was taken.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some() && self.out.is_empty()
    }

    /// The TLS handshake after [`ClientEvent::StartTls`] is done. Capabilities are forgotten
    /// (RFC 2595 §4): send CAPA again to learn the new ones.
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if !self.tls_pending {
            return Err(UsageError::NotPending("STLS"));
        }
        self.tls_pending = false;
        self.capabilities = None;
        self.pipelining = false;
        Ok(())
    }

    // ---- commands ----

    fn push(&mut self, command: Command) -> Result<(), UsageError> {
        self.push_queued(Queued {
            command,
            sasl: None,
        })
    }

    fn push_queued(&mut self, q: Queued) -> Result<(), UsageError> {
        if self.closed.is_some() || self.queue_has_quit() {
            return Err(UsageError::Closed);
        }
        self.queue.push_back(q);
        Ok(())
    }

    fn queue_has_quit(&self) -> bool {
        self.queue
            .iter()
            .chain(self.in_flight.iter())
            .any(|q| matches!(q.command, Command::Quit))
    }

    /// `CAPA` (RFC 2449 §5).
    pub fn capa(&mut self) -> Result<(), UsageError> {
        self.push(Command::Capa)
    }

    /// `STLS` (RFC 2595 §4).
    pub fn stls(&mut self) -> Result<(), UsageError> {
        self.push(Command::Stls)
    }

    /// `UTF8` (RFC 6856 §2.1).
    pub fn utf8(&mut self) -> Result<(), UsageError> {
        self.push(Command::Utf8)
    }

    /// `USER name`.
    pub fn user(&mut self, name: &str) -> Result<(), UsageError> {
        if !crate::types::is_token(name) {
            return Err(UsageError::InvalidArgument("user name"));
        }
        self.push(Command::User(name.to_owned()))
    }

    /// `PASS password`.
    pub fn pass(&mut self, password: Secret<String>) -> Result<(), UsageError> {
        if password
            .expose()
            .bytes()
            .any(|b| b == b'\r' || b == b'\n' || b == 0)
        {
            return Err(UsageError::InvalidArgument("password"));
        }
        self.push(Command::Pass(password))
    }

    /// `USER` then `PASS`, pipelined when the server allows it.
    pub fn login(&mut self, name: &str, password: Secret<String>) -> Result<(), UsageError> {
        self.user(name)?;
        self.pass(password)
    }

    /// `APOP name digest` with the digest made from the greeting's timestamp and `secret`
    /// (RFC 1939 §7).
    pub fn apop(&mut self, name: &str, secret: &Secret<String>) -> Result<(), UsageError> {
        let Some(ts) = &self.timestamp else {
            return Err(UsageError::WrongState("the greeting had no APOP timestamp"));
        };
        if !crate::types::is_token(name) {
            return Err(UsageError::InvalidArgument("user name"));
        }
        let digest = apop_digest(ts, secret.expose());
        self.push(Command::Apop {
            user: name.to_owned(),
            digest,
        })
    }

    /// `AUTH mechanism [initial-response]` (RFC 5034 §4): `step` answers each challenge. An
    /// initial response too long for the command line is sent after the server's empty
    /// challenge instead, as RFC 5034 §4 requires.
    pub fn auth(
        &mut self,
        mechanism: &str,
        initial_response: Option<Secret<Vec<u8>>>,
        step: SaslStep,
    ) -> Result<(), UsageError> {
        let mechanism = mechanism.to_ascii_uppercase();
        if !is_valid_mechanism(&mechanism) {
            return Err(UsageError::InvalidArgument("mechanism"));
        }
        let fits = initial_response.as_ref().is_none_or(|ir| {
            // "AUTH " + mechanism + " " + base64 + CRLF
            7 + mechanism.len() + encode_sasl(ir.expose()).len() + 2 <= MAX_AUTH_COMMAND
        });
        let (inline, deferred) = if fits {
            (initial_response, None)
        } else {
            (None, initial_response)
        };
        self.push_queued(Queued {
            command: Command::Auth {
                mechanism,
                initial_response: inline,
            },
            sasl: Some((step, deferred)),
        })
    }

    /// `STAT`.
    pub fn stat(&mut self) -> Result<(), UsageError> {
        self.push(Command::Stat)
    }

    /// `LIST` or `LIST n`.
    pub fn list(&mut self, msg: Option<u32>) -> Result<(), UsageError> {
        check_msg(msg)?;
        self.push(Command::List(msg))
    }

    /// `UIDL` or `UIDL n`.
    pub fn uidl(&mut self, msg: Option<u32>) -> Result<(), UsageError> {
        check_msg(msg)?;
        self.push(Command::Uidl(msg))
    }

    /// `RETR n`.
    pub fn retr(&mut self, msg: u32) -> Result<(), UsageError> {
        check_msg(Some(msg))?;
        self.push(Command::Retr(msg))
    }

    /// `TOP n lines`.
    pub fn top(&mut self, msg: u32, lines: u32) -> Result<(), UsageError> {
        check_msg(Some(msg))?;
        self.push(Command::Top { msg, lines })
    }

    /// `DELE n`.
    pub fn dele(&mut self, msg: u32) -> Result<(), UsageError> {
        check_msg(Some(msg))?;
        self.push(Command::Dele(msg))
    }

    /// `NOOP`.
    pub fn noop(&mut self) -> Result<(), UsageError> {
        self.push(Command::Noop)
    }

    /// `RSET`.
    pub fn rset(&mut self) -> Result<(), UsageError> {
        self.push(Command::Rset)
    }

    /// `QUIT`. No command may follow it.
    pub fn quit(&mut self) -> Result<(), UsageError> {
        self.push(Command::Quit)
    }

    /// Moves queued commands onto the wire as far as pipelining allows.
    fn pump(&mut self) {
        if !self.greeted || self.tls_pending || self.closed.is_some() {
            return;
        }
        while let Some(next) = self.queue.front() {
            let idle = self.in_flight.is_empty();
            let barrier_in_flight = self.in_flight.iter().any(Queued::is_barrier);
            let may_send = idle || (self.pipelining && !barrier_in_flight && !next.is_barrier());
            if !may_send {
                break;
            }
            let q = self.queue.pop_front().expect("front exists");
            q.command.write_to(&mut self.out);
            if self.in_flight.is_empty() {
                self.activity = true;
            }
            self.in_flight.push_back(q);
        }
    }

    fn close(&mut self, reason: ClientCloseReason) {
        if self.closed.is_none() {
            self.closed = Some(reason);
            self.framer.clear();
            self.queue.clear();
        }
    }
}

fn check_msg(msg: Option<u32>) -> Result<(), UsageError> {
    if msg == Some(0) {
        Err(UsageError::InvalidArgument("message numbers start at 1"))
    } else {
        Ok(())
    }
}
