//! The send methods: one per command that needs the engine's help (LOGIN, AUTHENTICATE,
//! STARTTLS, IDLE, a streamed APPEND) and [`Client::send`] for the rest. Each queues the
//! command and returns its tag; the command leaves when the pipelining rules of the module
//! above allow it.

use super::{Active, Client, Kind, Payload, SaslStep, UsageError};
use crate::command::CommandBody;
use crate::types::{Atom, DateTime, Flag, MailboxName, Secret, Tag};

impl Client {
    /// Queues any command with a fresh tag. AUTHENTICATE, IDLE and APPEND with streamed data
    /// have their own methods; LOGIN is refused when the server announced LOGINDISABLED.
    ///
    /// # Errors
    /// [`UsageError`] when the session is closed or the command needs another method.
    pub fn send(&mut self, body: CommandBody) -> Result<Tag, UsageError> {
        let tag = self.new_tag();
        self.send_with_tag(tag, body)
    }

    /// As [`Client::send`] with the caller's tag (transcripts, proxies that keep tags).
    ///
    /// # Errors
    /// As [`Client::send`], and [`UsageError::TagInUse`].
    pub fn send_with_tag(&mut self, tag: Tag, body: CommandBody) -> Result<Tag, UsageError> {
        match body {
            CommandBody::Authenticate { .. } => Err(UsageError::UseDedicatedMethod("AUTHENTICATE")),
            CommandBody::Idle => Err(UsageError::UseDedicatedMethod("IDLE")),
            CommandBody::Login { .. } if self.has_capability("LOGINDISABLED") => {
                Err(UsageError::LoginDisabled)
            }
            body => {
                let kind = Kind::of(&body);
                self.enqueue(tag, kind, Payload::Command(body))
            }
        }
    }

    /// `CAPABILITY` (RFC 3501 §6.1.1); the answer also refreshes [`Client::capabilities`].
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn capability(&mut self) -> Result<Tag, UsageError> {
        self.send(CommandBody::Capability)
    }

    /// `NOOP` (RFC 3501 §6.1.2), which lets the server report changes.
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn noop(&mut self) -> Result<Tag, UsageError> {
        self.send(CommandBody::Noop)
    }

    /// `LOGOUT` (RFC 3501 §6.1.3).
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn logout(&mut self) -> Result<Tag, UsageError> {
        self.send(CommandBody::Logout)
    }

    /// `STARTTLS` (RFC 3501 §6.2.1). On the tagged OK the engine drops what it buffered,
    /// forgets the capabilities and reports [`ClientEvent::StartTls`](super::ClientEvent::StartTls).
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn starttls(&mut self) -> Result<Tag, UsageError> {
        self.send(CommandBody::StartTls)
    }

    /// `LOGIN user password` (RFC 3501 §6.2.3).
    ///
    /// # Errors
    /// [`UsageError::LoginDisabled`] when the server announced LOGINDISABLED.
    pub fn login(&mut self, username: &str, password: &Secret<String>) -> Result<Tag, UsageError> {
        self.send(CommandBody::Login {
            username: username.into(),
            password: Secret::new(password.expose().as_str().into()),
        })
    }

    /// `SELECT mailbox` (RFC 3501 §6.3.1).
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn select(&mut self, mailbox: MailboxName) -> Result<Tag, UsageError> {
        self.send(CommandBody::Select {
            mailbox,
            params: Vec::new(),
        })
    }

    /// `AUTHENTICATE mechanism` (RFC 3501 §6.2.2). With `initial_response`, it goes on the
    /// command line when the server offers SASL-IR (RFC 4959), otherwise in answer to the
    /// first (empty) challenge. Each further challenge goes through `step`.
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn authenticate(
        &mut self,
        mechanism: Atom,
        initial_response: Option<Secret<Vec<u8>>>,
        step: SaslStep,
    ) -> Result<Tag, UsageError> {
        let tag = self.new_tag();
        let payload = Payload::Auth {
            mechanism,
            initial: initial_response,
            step,
        };
        self.enqueue(tag, Kind::Authenticate, payload)
    }

    /// `IDLE` (RFC 2177). [`ClientEvent::IdleStarted`](super::ClientEvent::IdleStarted) follows the server's `+`; end it with
    /// [`Client::idle_done`].
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn idle(&mut self) -> Result<Tag, UsageError> {
        let tag = self.new_tag();
        self.enqueue(tag, Kind::Idle, Payload::Command(CommandBody::Idle))
    }

    /// Ends the running IDLE with `DONE` (sent once the server has answered `+`).
    ///
    /// # Errors
    /// [`UsageError::NotIdling`] when no IDLE is queued or running.
    pub fn idle_done(&mut self) -> Result<(), UsageError> {
        match &mut self.active {
            Some(Active::Idle { started, done, .. }) if !*done => {
                *done = true;
                if *started {
                    self.out.extend_from_slice(crate::command::IDLE_DONE);
                }
                Ok(())
            }
            _ => {
                // An IDLE still queued is dropped unsent.
                let pos = self.queue.iter().position(|q| q.kind == Kind::Idle);
                match pos {
                    Some(p) => {
                        self.queue.remove(p);
                        Ok(())
                    }
                    None => Err(UsageError::NotIdling),
                }
            }
        }
    }

    /// Starts `APPEND mailbox [flags] [date] {length}` whose message the caller streams:
    /// after [`ClientEvent::AppendReady`](super::ClientEvent::AppendReady), pass exactly `length` octets to
    /// [`Client::append_data`]. `binary` sends a `literal8` (RFC 3516).
    ///
    /// # Errors
    /// [`UsageError::Closed`].
    pub fn append_streamed(
        &mut self,
        mailbox: MailboxName,
        flags: Option<Vec<Flag>>,
        date: Option<DateTime>,
        length: u64,
        binary: bool,
    ) -> Result<Tag, UsageError> {
        let tag = self.new_tag();
        let payload = Payload::Append {
            mailbox,
            flags,
            date,
            length,
            binary,
        };
        self.enqueue(tag, Kind::Append, payload)
    }

    /// Sends octets of the streamed APPEND; the command line ends after the last one.
    ///
    /// # Errors
    /// [`UsageError::NoAppendInProgress`] before [`ClientEvent::AppendReady`](super::ClientEvent::AppendReady) or after the
    /// server answered; [`UsageError::AppendOverrun`] past the announced length (nothing is
    /// sent then).
    pub fn append_data(&mut self, data: &[u8]) -> Result<(), UsageError> {
        let Some(Active::Append {
            remaining,
            ready: true,
            ..
        }) = &mut self.active
        else {
            return Err(UsageError::NoAppendInProgress);
        };
        let n = data.len() as u64;
        if n > *remaining {
            return Err(UsageError::AppendOverrun {
                extra: n - *remaining,
            });
        }
        *remaining -= n;
        self.out.extend_from_slice(data);
        if *remaining == 0 {
            self.out.extend_from_slice(b"\r\n");
            self.active = None;
            self.touch();
            self.pump();
        }
        Ok(())
    }

    /// The TLS handshake after [`ClientEvent::StartTls`](super::ClientEvent::StartTls) succeeded: the engine reads and
    /// writes again, with no capabilities cached (RFC 3501 §6.2.1); it asks for them when
    /// [`ClientOptions::refresh_capabilities`](super::ClientOptions::refresh_capabilities) is on.
    ///
    /// # Errors
    /// [`UsageError::NoTlsPending`] when no STARTTLS was accepted.
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if !self.tls_pending {
            return Err(UsageError::NoTlsPending);
        }
        self.tls_pending = false;
        self.capabilities = None;
        if self.opts.refresh_capabilities {
            self.queue_internal_capability();
        }
        self.touch();
        self.pump();
        Ok(())
    }
}
