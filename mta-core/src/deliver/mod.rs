//! Delivery: what the queue calls to move a message to its destinations.
//!
//! The queue hands each batch — one message, the recipients that share a destination — to a
//! [`Transport`] and records the per-recipient [`Outcome`]. Implementations:
//!
//! - [`LocalDelivery`]: into users' mailboxes through the [`crate::store`] traits (Maildir++,
//!   mbox, memory), plus-address folders, `Return-Path` and `Delivered-To` added
//!   (RFC 5321 §4.4), over quota a temporary failure (RFC 3463 4.2.2);
//! - [`Router`]: sends local destinations to one transport and remote ones to another (the
//!   SMTP client transport, or LMTP to another store);
//! - remote delivery resolves hosts with [`resolve::mail_hosts`] over a [`resolve::Resolver`]
//!   (MX order, equal preferences shuffled, implicit MX, null MX; `HickoryResolver` with the
//!   `hickory` feature for real DNS) or goes to a [`SmartHost`].
//!   The SMTP/LMTP client transport itself lives with the client session driver.

#[cfg(feature = "hickory")]
mod hickory;
mod lmtp;
mod local;
mod program;
pub mod resolve;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

#[cfg(feature = "hickory")]
pub use hickory::HickoryResolver;
pub use lmtp::{LmtpConnector, LmtpRecipient, LmtpTarget, LmtpTransport};
pub use local::{LocalDelivery, LocalOptions};

use crate::queue::{Notify, QueueId, Ret};
use crate::route::Destination;

/// One recipient of a delivery batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecipient {
    /// The recipient address as queued (RCPT TO).
    pub address: String,
    /// Where it goes.
    pub destination: Destination,
    /// ORCPT, to pass on to a DSN-capable next hop.
    pub orcpt: Option<String>,
    /// NOTIFY, to pass on.
    pub notify: Option<Notify>,
}

/// A batch to deliver: one message, recipients that share a destination.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// The queue id.
    pub id: QueueId,
    /// The envelope sender (empty for `<>`).
    pub sender: String,
    /// ENVID and RET, to pass on.
    pub envid: Option<String>,
    /// RET, to pass on.
    pub ret: Option<Ret>,
    /// The message file in the spool (read it, do not move it).
    pub data: PathBuf,
    /// Its size.
    pub size: u64,
    /// The recipients.
    pub recipients: Vec<JobRecipient>,
    /// When the message was queued.
    pub arrival: SystemTime,
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered; the reply or a note for a success DSN.
    Delivered(String),
    /// Try again later (a 4yz reply, a connection failure, over quota).
    Deferred(String),
    /// Failed for good (a 5yz reply).
    Failed(String),
}

/// Something that delivers batches.
#[async_trait]
pub trait Transport: Send + Sync {
    /// The concurrency bucket of a destination: recipients in one bucket are delivered in one
    /// batch, and the queue limits the batches in flight per bucket. By default: the remote
    /// domain, or `local`.
    fn bucket(&self, destination: &Destination) -> String {
        destination
            .remote_domain()
            .unwrap_or_else(|| "local".into())
    }

    /// Delivers a batch; returns one outcome per recipient, in order.
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome>;
}

/// Sends local destinations to one transport and the others to another.
pub struct Router {
    local: Arc<dyn Transport>,
    remote: Arc<dyn Transport>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deliver::Router")
    }
}

impl Router {
    /// A router over a local and a remote transport.
    pub fn new(local: Arc<dyn Transport>, remote: Arc<dyn Transport>) -> Router {
        Router { local, remote }
    }
}

#[async_trait]
impl Transport for Router {
    fn bucket(&self, d: &Destination) -> String {
        match d {
            Destination::Remote(_) => self.remote.bucket(d),
            _ => self.local.bucket(d),
        }
    }

    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        // The queue batches by bucket, and local and remote buckets never share a name
        // unless a transport makes them; split anyway so a mixed batch is still right.
        let (remote, local): (Vec<usize>, Vec<usize>) = (0..job.recipients.len())
            .partition(|&i| matches!(job.recipients[i].destination, Destination::Remote(_)));
        let mut out = vec![Outcome::Deferred("not attempted".into()); job.recipients.len()];
        for (idx, t) in [(local, &self.local), (remote, &self.remote)] {
            if idx.is_empty() {
                continue;
            }
            let mut sub = job.clone();
            sub.recipients = idx.iter().map(|&i| job.recipients[i].clone()).collect();
            let res = t.deliver(&sub).await;
            for (k, &i) in idx.iter().enumerate() {
                out[i] = res
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| Outcome::Deferred("transport gave no result".into()));
            }
        }
        out
    }
}

/// A relay host all remote mail goes to (Postfix `relayhost`), optionally with AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartHost {
    /// Host name or address.
    pub host: String,
    /// Port (587 submission, 25, 465 implicit TLS).
    pub port: u16,
    /// Whether to skip the MX lookup (`[host]` in Postfix).
    pub no_mx: bool,
    /// The AUTH user name, when the relay wants one.
    pub username: Option<String>,
    /// The AUTH password.
    pub password: Option<mailhub_sasl::Secret<String>>,
    /// Whether TLS is required (otherwise opportunistic STARTTLS).
    pub require_tls: bool,
}

/// A transport that refuses everything (remote delivery not configured): a temporary failure,
/// so mail waits in the queue until one is.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRemote;

#[async_trait]
impl Transport for NoRemote {
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        vec![
            Outcome::Deferred("451 4.4.0 remote delivery is not configured".into());
            job.recipients.len()
        ]
    }
}
