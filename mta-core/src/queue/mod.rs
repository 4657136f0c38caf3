//! The mail queue: a durable spool (fsync before 250), per-recipient state, retries with
//! exponential backoff, expiry with bounces, delay warnings, per-destination concurrency,
//! inspection (list, show, delete, hold, release, flush) and graceful shutdown.
//!
//! - RFC 5321 §4.5.4.1: retries no sooner than [`QueueOptions::retry_initial`] after a failure
//!   (30 minutes suggested; 5 minutes here, as Postfix), backing off to
//!   [`QueueOptions::retry_max`], giving up after [`QueueOptions::max_lifetime`] (4–5 days).
//! - RFC 5321 §6.1: once 250 is sent, the message is the server's responsibility: it is on
//!   disk ([`spool`](self) docs), and a failure produces a DSN to the sender (never to `<>`,
//!   and a failed bounce goes to the postmaster, a failed double bounce nowhere).
//! - RFC 3461 §4: NOTIFY, ORCPT, RET and ENVID are kept per message and recipient and honoured
//!   in the DSNs ([`crate::bounce`]).
//! - Exactly once across a crash: a recipient's state is recorded after its delivery, so a
//!   crash in between leaves it pending and recovery retries it. Queue ids carry a random
//!   tag of the process run that made them ([`QueueId::is_from_this_run`]), which tells a
//!   transport that a message was recovered and may already be delivered; local delivery
//!   then looks for the copy before making another ([`crate::deliver::LocalDelivery`]).
//!
//! Time comes from a [`Clock`], so tests drive retries and expiry on a [`ManualClock`]
//! ([`Queue::run_due`] delivers what is due at the clock's time); [`Queue::run`] is the
//! long-running loop, sleeping through the [`Runtime`](crate::runtime::Runtime).
//!
//! SMTP driver use: [`Queue::writer`] when DATA starts, [`SpoolWriter::write`] per chunk,
//! [`SpoolWriter::commit`] at the final dot — answer 250 only after it returned `Ok`.

mod envelope;
mod scheduler;
mod spool;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use envelope::{
    Envelope, Kind, NewMessage, NewRecipient, Notify, QueueId, Recipient, Ret, State,
};
pub use scheduler::RoundReport;
pub use spool::RecoveryReport;

use crate::bounce::DsnOptions;
use crate::route::Destination;
use crate::runtime::{SharedRuntime, unblock};
use spool::Spool;

/// Where the queue gets the time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock at `t`.
    pub fn new(t: SystemTime) -> ManualClock {
        ManualClock(Mutex::new(t))
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queue configuration.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// fsync files and directories before a commit returns (turn off only for tests).
    pub fsync: bool,
    /// The delay after the first failed attempt.
    pub retry_initial: Duration,
    /// The factor the delay grows by after each further failure.
    pub retry_factor: u32,
    /// The longest delay between attempts.
    pub retry_max: Duration,
    /// How long a message may stay before it bounces (default 5 days).
    pub max_lifetime: Duration,
    /// When a delay warning is sent (default 4 hours; `None`: never).
    pub delay_warning: Option<Duration>,
    /// Batches in flight per destination bucket (a remote domain, `local`).
    pub max_per_bucket: usize,
    /// Batches in flight in total.
    pub max_in_flight: usize,
    /// The largest message the spool accepts.
    pub max_message: u64,
    /// How DSNs are signed.
    pub dsn: DsnOptions,
    /// Where double bounces go.
    pub postmaster: Destination,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            fsync: true,
            retry_initial: Duration::from_secs(300),
            retry_factor: 2,
            retry_max: Duration::from_secs(3600),
            max_lifetime: Duration::from_secs(5 * 24 * 3600),
            delay_warning: Some(Duration::from_secs(4 * 3600)),
            max_per_bucket: 10,
            max_in_flight: 100,
            max_message: 50 * 1024 * 1024,
            dsn: DsnOptions::new("localhost"),
            postmaster: Destination::Local {
                user: "root".into(),
                folder: None,
            },
        }
    }
}

/// Why a queue operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A file operation failed (full disk, permissions): answer 451 4.3.0 and let the client
    /// retry.
    #[error("spool I/O error: {0}")]
    Io(String),
    /// The queue is shutting down: answer 421 4.3.2.
    #[error("the queue is shutting down")]
    ShuttingDown,
    /// The message is larger than [`QueueOptions::max_message`]: answer 552 5.3.4.
    #[error("message too large")]
    TooLarge,
    /// The message has no recipient (a caller bug).
    #[error("no recipients")]
    NoRecipients,
    /// No such message in the queue.
    #[error("no such message: {0}")]
    NoSuchMessage(QueueId),
}

impl From<std::io::Error> for QueueError {
    fn from(e: std::io::Error) -> Self {
        QueueError::Io(e.to_string())
    }
}

struct Entry {
    env: Envelope,
    /// Recipients in a batch now.
    busy: Vec<bool>,
    deleted: bool,
    /// Orders envelope rewrites of this message.
    write_lock: Arc<futures::lock::Mutex<()>>,
}

#[derive(Default)]
struct QState {
    entries: BTreeMap<QueueId, Entry>,
    buckets: HashMap<String, usize>,
    in_flight: usize,
    shutting_down: bool,
}

pub(crate) struct Inner {
    spool: Spool,
    options: QueueOptions,
    clock: Arc<dyn Clock>,
    runtime: SharedRuntime,
    state: Mutex<QState>,
    wake_tx: Mutex<futures::channel::mpsc::Sender<()>>,
    wake_rx: futures::lock::Mutex<futures::channel::mpsc::Receiver<()>>,
    bounce_router: Option<crate::route::Router>,
}

/// The queue; clones share it.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

impl Queue {
    /// Opens (creating if needed) the spool at `root` and recovers what it holds.
    pub async fn open(
        root: &Path,
        options: QueueOptions,
        clock: Arc<dyn Clock>,
        runtime: SharedRuntime,
    ) -> Result<(Queue, RecoveryReport), QueueError> {
        let (root, fsync) = (root.to_owned(), options.fsync);
        let (spool, envs, report) = unblock(&*runtime, move || -> std::io::Result<_> {
            let spool = Spool::open(&root, fsync)?;
            let (envs, report) = spool.recover()?;
            Ok((spool, envs, report))
        })
        .await?;
        let mut state = QState::default();
        for env in envs {
            let n = env.recipients.len();
            state.entries.insert(
                env.id.clone(),
                Entry {
                    env,
                    busy: vec![false; n],
                    deleted: false,
                    write_lock: Arc::default(),
                },
            );
        }
        let (tx, rx) = futures::channel::mpsc::channel(1);
        let q = Queue {
            inner: Arc::new(Inner {
                spool,
                options,
                clock,
                runtime,
                state: Mutex::new(state),
                wake_tx: Mutex::new(tx),
                wake_rx: futures::lock::Mutex::new(rx),
                bounce_router: None,
            }),
        };
        Ok((q, report))
    }

    /// Routes DSNs through `router` (a local sender's bounce is delivered locally); without
    /// it, DSNs to senders go out as remote mail.
    pub fn with_bounce_router(self, router: crate::route::Router) -> Queue {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.bounce_router = Some(router);
                Queue {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => Queue { inner },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self) {
        let _ = self
            .inner
            .wake_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_send(());
    }

    /// The options.
    pub fn options(&self) -> &QueueOptions {
        &self.inner.options
    }

    /// Starts receiving a message into the spool.
    pub async fn writer(&self) -> Result<SpoolWriter, QueueError> {
        if self.lock().shutting_down {
            return Err(QueueError::ShuttingDown);
        }
        let id = self.inner.spool.new_id(nanos(self.inner.clock.now()));
        let (spool, i2) = (self.inner.spool.clone(), id.clone());
        let file = unblock(&*self.inner.runtime, move || spool.create_tmp(&i2)).await?;
        Ok(SpoolWriter {
            queue: self.clone(),
            id,
            file: Some(file),
            buf: Vec::new(),
            size: 0,
        })
    }

    /// Queues a message held in memory (bounces, tests, small submissions).
    pub async fn enqueue(&self, message: NewMessage, data: &[u8]) -> Result<QueueId, QueueError> {
        let mut w = self.writer().await?;
        w.write(data).await?;
        w.commit(message).await
    }

    /// Every queued message.
    pub fn list(&self) -> Vec<Envelope> {
        self.lock()
            .entries
            .values()
            .filter(|e| !e.deleted)
            .map(|e| e.env.clone())
            .collect()
    }

    /// One queued message.
    pub fn show(&self, id: &QueueId) -> Option<Envelope> {
        self.lock()
            .entries
            .get(id)
            .filter(|e| !e.deleted)
            .map(|e| e.env.clone())
    }

    /// The path of a queued message's data file.
    pub fn data_path(&self, id: &QueueId) -> std::path::PathBuf {
        self.inner.spool.data(id)
    }

    /// Deletes a message without a DSN (the admin's `postsuper -d`). A batch in flight
    /// finishes; its results are dropped.
    pub async fn delete(&self, id: &QueueId) -> Result<(), QueueError> {
        let (busy, write_lock) = {
            let mut s = self.lock();
            let e = s
                .entries
                .get_mut(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NoSuchMessage(id.clone()))?;
            e.deleted = true;
            let busy = e.busy.iter().any(|b| *b);
            let write_lock = e.write_lock.clone();
            if !busy {
                s.entries.remove(id);
            }
            (busy, write_lock)
        };
        if !busy {
            let _g = write_lock.lock().await;
            let (spool, id) = (self.inner.spool.clone(), id.clone());
            unblock(&*self.inner.runtime, move || spool.remove(&id)).await?;
        }
        Ok(())
    }

    /// Holds (`true`) or releases a message.
    pub async fn hold(&self, id: &QueueId, hold: bool) -> Result<(), QueueError> {
        {
            let mut s = self.lock();
            let e = s
                .entries
                .get_mut(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NoSuchMessage(id.clone()))?;
            e.env.held = hold;
        }
        self.persist(id).await?;
        if !hold {
            self.wake();
        }
        Ok(())
    }

    /// Makes every pending recipient (of one message, or all) due now, and wakes the loop.
    pub fn flush(&self, id: Option<&QueueId>) {
        let now = self.inner.clock.now();
        let mut s = self.lock();
        for (k, e) in s.entries.iter_mut() {
            if id.is_none_or(|i| i == k) {
                for r in &mut e.env.recipients {
                    if r.state == State::Pending {
                        r.next_attempt = now;
                    }
                }
            }
        }
        drop(s);
        self.wake();
    }

    /// Stops accepting messages and makes [`Queue::run`] return once the batches in flight
    /// are done (their recipients are recorded; the rest stay queued for the next start).
    pub fn shutdown(&self) {
        self.lock().shutting_down = true;
        self.wake();
    }

    /// Rewrites a message's envelope from its current state.
    async fn persist(&self, id: &QueueId) -> Result<(), QueueError> {
        let lock = match self.lock().entries.get(id) {
            Some(e) => e.write_lock.clone(),
            None => return Ok(()),
        };
        let _g = lock.lock().await;
        let env = match self.lock().entries.get(id) {
            Some(e) if !e.deleted => e.env.clone(),
            _ => return Ok(()),
        };
        let spool = self.inner.spool.clone();
        unblock(&*self.inner.runtime, move || spool.write_env(&env)).await?;
        Ok(())
    }
}

/// A message being received into the spool. Dropping it without [`SpoolWriter::commit`]
/// removes the partial file.
pub struct SpoolWriter {
    queue: Queue,
    id: QueueId,
    file: Option<std::fs::File>,
    buf: Vec<u8>,
    size: u64,
}

impl std::fmt::Debug for SpoolWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolWriter")
            .field("id", &self.id)
            .field("size", &self.size)
            .finish()
    }
}

const FLUSH_AT: usize = 64 * 1024;

impl SpoolWriter {
    /// The id the message will have.
    pub fn id(&self) -> &QueueId {
        &self.id
    }

    /// Octets written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk of the message.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), QueueError> {
        self.size += data.len() as u64;
        if self.size > self.queue.inner.options.max_message {
            return Err(QueueError::TooLarge);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), QueueError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut file = self
            .file
            .take()
            .ok_or_else(|| QueueError::Io("writer already failed".into()))?;
        let buf = std::mem::take(&mut self.buf);
        let (file, r) = unblock(&*self.queue.inner.runtime, move || {
            let r = file.write_all(&buf);
            (file, r)
        })
        .await;
        self.file = Some(file);
        Ok(r?)
    }

    /// Makes the message durable with its envelope and queues it. Answer 250 only after this
    /// returned `Ok`.
    pub async fn commit(mut self, message: NewMessage) -> Result<QueueId, QueueError> {
        if message.recipients.is_empty() {
            return Err(QueueError::NoRecipients);
        }
        self.flush().await?;
        let q = self.queue.clone();
        if q.lock().shutting_down {
            return Err(QueueError::ShuttingDown);
        }
        let now = q.inner.clock.now();
        let env = Envelope {
            id: self.id.clone(),
            sender: message.sender,
            envid: message.envid,
            ret: message.ret,
            kind: message.kind,
            arrival: now,
            size: self.size,
            held: false,
            warned: false,
            recipients: message
                .recipients
                .into_iter()
                .map(|new| Recipient {
                    new,
                    state: State::Pending,
                    attempts: 0,
                    next_attempt: now,
                    last_reply: None,
                })
                .collect(),
        };
        let file = self
            .file
            .take()
            .ok_or_else(|| QueueError::Io("writer already failed".into()))?;
        let (spool, e2) = (q.inner.spool.clone(), env.clone());
        unblock(&*q.inner.runtime, move || spool.commit(file, &e2)).await?;
        let n = env.recipients.len();
        q.lock().entries.insert(
            env.id.clone(),
            Entry {
                env,
                busy: vec![false; n],
                deleted: false,
                write_lock: Arc::default(),
            },
        );
        q.wake();
        Ok(self.id.clone())
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Not committed: the client got no 250. One unlink; recovery would do it too.
            let _ = std::fs::remove_file(self.queue.inner.spool.tmp_data(&self.id));
        }
    }
}
