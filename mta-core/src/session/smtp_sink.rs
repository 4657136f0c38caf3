//! Where the SMTP and LMTP drivers put a message: the [`MessageSink`] trait, the envelope they
//! hand it, and [`StoreSink`], a sink that delivers straight into a [`MailStore`].
//!
//! The driver calls [`MessageSink::check_recipient`] at each accepted RCPT (so a full mailbox
//! is refused there, RFC 5321 §4.5.3.1.10's 452, not bounced later), [`MessageSink::begin`]
//! when the content starts, [`MessageWriter::write`] per chunk (the first is the `Received:`
//! field the driver adds, RFC 5321 §4.4, below any fields the policy's message hooks add; with
//! such hooks the writes come only once the hooks have run, at the end of the content or
//! when the held part reached its limit), and [`MessageWriter::commit`] at the end of the
//! content. It replies 250 only after `commit` returned: a queue must make the message durable
//! (fsync) before it returns. A transaction that ends any other way (RSET, a rejected message,
//! a lost connection) calls [`MessageWriter::abort`], or drops the writer if the connection
//! broke mid-write.
//!
//! Sinks here: [`QueueSink`] (the durable queue of [`crate::queue`]: the normal MTA path) and
//! [`StoreSink`] (straight into the mail store: LMTP, and servers without a queue).

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use mailhub_smtp_proto::params::{MailParams, RcptParams};

use crate::queue::{self, NewMessage, NewRecipient, Queue, QueueError, SpoolWriter};
use crate::route::Destination;
use crate::store::{AppendRequest, INBOX, MailStore, MessageData, StoreError};

/// One accepted recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeRecipient {
    /// The address as given in RCPT TO (`postmaster` for `<Postmaster>`).
    pub address: String,
    /// Where routing sends it.
    pub destinations: Vec<Destination>,
    /// Its ESMTP parameters (NOTIFY, ORCPT).
    pub params: RcptParams,
}

/// A message's envelope as the driver hands it to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path's mailbox, empty for `<>`.
    pub sender: String,
    /// MAIL FROM's parameters (SIZE, BODY, RET, ENVID, SMTPUTF8 …).
    pub params: MailParams,
    /// The accepted recipients, in RCPT order.
    pub recipients: Vec<EnvelopeRecipient>,
    /// The client's address.
    pub client_ip: IpAddr,
    /// The client's HELO/EHLO/LHLO name.
    pub helo: Option<String>,
    /// The authenticated user, if any.
    pub authenticated: Option<String>,
    /// Whether TLS protected the transaction.
    pub tls: bool,
}

/// Why a sink refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Try again later (451 4.3.0): disk trouble, shutting down.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The mailbox is full: a temporary failure (452 4.2.2), or permanent (552 5.2.2) when the
    /// message could never fit.
    #[error("mailbox full")]
    OverQuota {
        /// Whether the message is larger than the whole quota.
        permanent: bool,
    },
    /// The message is larger than the sink accepts (552 5.3.4).
    #[error("message too large")]
    TooLarge,
    /// Refused for good (554 5.3.0 or the like).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SinkError {
    /// The reply code, enhanced status and text the drivers send for this error.
    pub fn reply_parts(&self) -> (u16, &'static str, String) {
        match self {
            SinkError::Temporary(why) => (451, "4.3.0", format!("Try again later: {why}")),
            SinkError::OverQuota { permanent: false } => {
                (452, "4.2.2", "Mailbox full, try again later".into())
            }
            SinkError::OverQuota { permanent: true } => {
                (552, "5.2.2", "Message larger than the mailbox quota".into())
            }
            SinkError::TooLarge => (
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size".into(),
            ),
            SinkError::Permanent(why) => (554, "5.3.0", why.clone()),
        }
    }
}

/// What [`MessageWriter::commit`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The id the message was stored under (a queue id), for the 250 reply and the logs.
    pub id: String,
    /// One result per envelope recipient, in order. A queue accepts them all (`Ok`); a sink
    /// that delivers at once (LMTP, [`StoreSink`]) may fail some.
    pub recipients: Vec<Result<(), SinkError>>,
}

/// Takes messages from the SMTP and LMTP drivers (the queue, or [`StoreSink`]).
#[async_trait]
pub trait MessageSink: Send + Sync {
    /// Called at each RCPT that policy and routing accepted, with the message size the client
    /// declared (SIZE=); an error refuses the recipient. By default every recipient is fine.
    async fn check_recipient(
        &self,
        _destinations: &[Destination],
        _declared_size: Option<u64>,
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Starts a message.
    async fn begin(&self, envelope: &Envelope) -> Result<Box<dyn MessageWriter>, SinkError>;
}

/// A message being received.
#[async_trait]
pub trait MessageWriter: Send {
    /// Appends content (CRLF line ends, unstuffed).
    async fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError>;

    /// The content is complete: make it durable and report per recipient.
    async fn commit(self: Box<Self>) -> Result<Committed, SinkError>;

    /// The transaction was abandoned: forget the content.
    async fn abort(self: Box<Self>);
}

/// Delivers each message straight into local users' mailboxes of a [`MailStore`] at commit:
/// for LMTP (RFC 2033 §4.2, one result per recipient) and for tests and simple servers that
/// run without a queue. `user+detail` goes to the folder `detail` when the user has one.
///
/// Content is held in memory until commit, bounded by `max_message` (the driver's size limit
/// should not be larger); a queue's sink spools to disk instead. Remote destinations are refused:
/// relaying needs the queue.
#[derive(Clone)]
pub struct StoreSink {
    store: Arc<dyn MailStore>,
    max_message: u64,
}

impl std::fmt::Debug for StoreSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSink")
            .field("max_message", &self.max_message)
            .finish_non_exhaustive()
    }
}

impl StoreSink {
    /// A sink into `store` that holds at most `max_message` octets per message.
    pub fn new(store: Arc<dyn MailStore>, max_message: u64) -> StoreSink {
        StoreSink { store, max_message }
    }
}

fn store_error(e: StoreError) -> SinkError {
    match e {
        StoreError::OverQuota(_) => SinkError::OverQuota { permanent: false },
        e if e.is_temporary() => SinkError::Temporary(e.to_string()),
        e => SinkError::Permanent(e.to_string()),
    }
}

#[async_trait]
impl MessageSink for StoreSink {
    async fn check_recipient(
        &self,
        destinations: &[Destination],
        declared_size: Option<u64>,
    ) -> Result<(), SinkError> {
        for d in destinations {
            let Destination::Local { user, .. } = d else {
                return Err(SinkError::Permanent(
                    "relaying needs a queue; this server delivers only locally".into(),
                ));
            };
            let mail = self.store.open(user).await.map_err(store_error)?;
            let Some(q) = mail.quota().await.map_err(store_error)? else {
                continue;
            };
            let size = declared_size.unwrap_or(0);
            if let Some(limit) = q.storage_limit {
                if size > limit {
                    return Err(SinkError::OverQuota { permanent: true });
                }
                if q.storage_used.saturating_add(size.max(1)) > limit {
                    return Err(SinkError::OverQuota { permanent: false });
                }
            }
            if q.messages_limit.is_some_and(|l| q.messages_used >= l) {
                return Err(SinkError::OverQuota { permanent: false });
            }
        }
        Ok(())
    }

    async fn begin(&self, envelope: &Envelope) -> Result<Box<dyn MessageWriter>, SinkError> {
        Ok(Box::new(StoreWriter {
            store: self.store.clone(),
            envelope: envelope.clone(),
            data: Vec::new(),
            max: self.max_message,
        }))
    }
}

struct StoreWriter {
    store: Arc<dyn MailStore>,
    envelope: Envelope,
    data: Vec<u8>,
    max: u64,
}

impl StoreWriter {
    async fn deliver(&self, rcpt: &EnvelopeRecipient, id: &str) -> Result<(), SinkError> {
        for d in &rcpt.destinations {
            let Destination::Local { user, folder } = d else {
                return Err(SinkError::Permanent("relaying needs a queue".into()));
            };
            let mail = self.store.open(user).await.map_err(store_error)?;
            let mut mailbox = INBOX.to_owned();
            if let Some(f) = folder
                && let Ok(list) = mail.list().await
                && let Some(m) = list.into_iter().find(|m| m.name.eq_ignore_ascii_case(f))
            {
                mailbox = m.name;
            }
            // RFC 5321 §4.4: the final delivery adds Return-Path.
            let mut data = Vec::with_capacity(self.data.len() + 128);
            data.extend_from_slice(
                format!("Return-Path: <{}>\r\n", self.envelope.sender).as_bytes(),
            );
            data.extend_from_slice(format!("Delivered-To: {}\r\n", rcpt.address).as_bytes());
            data.extend_from_slice(&self.data);
            let req = AppendRequest {
                data: MessageData::Bytes(data),
                ..AppendRequest::default()
            };
            let r = mail.append(&mailbox, req).await.map_err(store_error)?;
            tracing::info!(id, user = %user, mailbox, uid = r.uid, "delivered");
        }
        Ok(())
    }
}

#[async_trait]
impl MessageWriter for StoreWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        if (self.data.len() + chunk.len()) as u64 > self.max {
            return Err(SinkError::TooLarge);
        }
        self.data.extend_from_slice(chunk);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<Committed, SinkError> {
        let id = format!("{:x}", crate::session::SessionId::next().0);
        let mut recipients = Vec::with_capacity(self.envelope.recipients.len());
        for r in &self.envelope.recipients {
            recipients.push(self.deliver(r, &id).await);
        }
        Ok(Committed { id, recipients })
    }

    async fn abort(self: Box<Self>) {}
}

/// Puts messages into the durable [`Queue`]: the content is spooled as it arrives and
/// [`MessageWriter::commit`] returns only once message and envelope are fsynced
/// ([`SpoolWriter::commit`]), so the driver's 250 follows durability. Each routed destination
/// of a recipient becomes one queued recipient, with its DSN parameters (RFC 3461: NOTIFY,
/// ORCPT, ENVID, RET).
///
/// With [`QueueSink::with_quota_check`], a local destination whose mailbox is full is
/// refused at RCPT (452 4.2.2) instead of waiting in the queue.
#[derive(Debug, Clone)]
pub struct QueueSink {
    queue: Queue,
    quota: Option<StoreSink>,
}

impl QueueSink {
    /// A sink into `queue`.
    pub fn new(queue: Queue) -> QueueSink {
        QueueSink { queue, quota: None }
    }

    /// Checks local recipients' quota in `store` at RCPT.
    pub fn with_quota_check(mut self, store: Arc<dyn MailStore>) -> QueueSink {
        self.quota = Some(StoreSink::new(store, u64::MAX));
        self
    }
}

fn queue_error(e: QueueError) -> SinkError {
    match e {
        QueueError::TooLarge => SinkError::TooLarge,
        e => SinkError::Temporary(e.to_string()),
    }
}

/// The queue's form of one envelope.
fn new_message(env: &Envelope) -> NewMessage {
    let mut recipients = Vec::new();
    for r in &env.recipients {
        for d in &r.destinations {
            recipients.push(NewRecipient {
                address: r.address.clone(),
                destination: d.clone(),
                orcpt: r
                    .params
                    .orcpt
                    .as_ref()
                    .map(|o| format!("{};{}", o.addr_type, o.address)),
                notify: r.params.notify.map(|n| queue::Notify {
                    success: n.success,
                    failure: n.failure,
                    delay: n.delay,
                }),
            });
        }
    }
    NewMessage {
        sender: env.sender.clone(),
        recipients,
        envid: env.params.envid.clone(),
        ret: env.params.ret.map(|r| match r {
            mailhub_smtp_proto::params::Ret::Full => queue::Ret::Full,
            mailhub_smtp_proto::params::Ret::Hdrs => queue::Ret::Headers,
        }),
        kind: queue::Kind::Normal,
    }
}

#[async_trait]
impl MessageSink for QueueSink {
    async fn check_recipient(
        &self,
        destinations: &[Destination],
        declared_size: Option<u64>,
    ) -> Result<(), SinkError> {
        let Some(store) = &self.quota else {
            return Ok(());
        };
        let local: Vec<Destination> = destinations
            .iter()
            .filter(|d| matches!(d, Destination::Local { .. }))
            .cloned()
            .collect();
        store.check_recipient(&local, declared_size).await
    }

    async fn begin(&self, envelope: &Envelope) -> Result<Box<dyn MessageWriter>, SinkError> {
        let writer = self.queue.writer().await.map_err(queue_error)?;
        Ok(Box::new(QueueWriter {
            writer,
            message: new_message(envelope),
            recipients: envelope.recipients.len(),
        }))
    }
}

struct QueueWriter {
    writer: SpoolWriter,
    message: NewMessage,
    recipients: usize,
}

#[async_trait]
impl MessageWriter for QueueWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.writer.write(chunk).await.map_err(queue_error)
    }

    async fn commit(self: Box<Self>) -> Result<Committed, SinkError> {
        let QueueWriter {
            writer,
            message,
            recipients,
        } = *self;
        let id = writer.commit(message).await.map_err(queue_error)?;
        Ok(Committed {
            id: id.as_str().to_owned(),
            recipients: vec![Ok(()); recipients],
        })
    }

    // Dropping the writer removes the partial spool file.
    async fn abort(self: Box<Self>) {}
}
