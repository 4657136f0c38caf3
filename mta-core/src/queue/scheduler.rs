//! Picking due recipients, delivering them in batches within the concurrency limits, and
//! recording the outcomes: retry with backoff, expiry, DSNs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{FuturesUnordered, StreamExt};

use super::{Entry, Kind, NewMessage, NewRecipient, Queue, QueueId, State};
use crate::bounce::{DsnKind, DsnRecipient, DsnRequest, build_dsn, should_notify};
use crate::deliver::{DeliveryJob, JobRecipient, Outcome, Transport};
use crate::route::{Destination, RcptDecision};
use crate::runtime::unblock;

/// A batch taken for delivery.
struct Batch {
    job: DeliveryJob,
    bucket: String,
    indexes: Vec<usize>,
}

/// What one round of [`Queue::run_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Batches delivered.
    pub batches: usize,
    /// Recipients delivered.
    pub delivered: usize,
    /// Recipients deferred.
    pub deferred: usize,
    /// Recipients failed (including expired).
    pub failed: usize,
}

impl Queue {
    fn backoff(&self, attempts: u32) -> Duration {
        let o = &self.inner.options;
        let mut d = o.retry_initial;
        for _ in 1..attempts {
            d = d.saturating_mul(o.retry_factor.max(1));
            if d >= o.retry_max {
                return o.retry_max;
            }
        }
        d.min(o.retry_max)
    }

    /// Takes the due recipients, grouped by (message, bucket), within the limits.
    fn take_due(&self, transport: &dyn Transport, now: SystemTime) -> Vec<Batch> {
        let o = &self.inner.options;
        let mut s = self.lock();
        if s.shutting_down {
            return Vec::new();
        }
        let mut batches = Vec::new();
        let super::QState {
            entries,
            buckets,
            in_flight,
            ..
        } = &mut *s;
        for (id, e) in entries.iter_mut() {
            if e.deleted || e.env.held {
                continue;
            }
            let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
            for (i, r) in e.env.recipients.iter().enumerate() {
                if r.state != State::Pending || e.busy[i] || r.next_attempt > now {
                    continue;
                }
                let b = transport.bucket(&r.new.destination);
                match groups.iter_mut().find(|g| g.0 == b) {
                    Some(g) => g.1.push(i),
                    None => groups.push((b, vec![i])),
                }
            }
            for (bucket, indexes) in groups {
                if *in_flight >= o.max_in_flight {
                    return batches;
                }
                let n = buckets.entry(bucket.clone()).or_insert(0);
                if *n >= o.max_per_bucket {
                    continue;
                }
                *n += 1;
                *in_flight += 1;
                for &i in &indexes {
                    e.busy[i] = true;
                }
                batches.push(Batch {
                    job: job_of(self, id, e, &indexes),
                    bucket,
                    indexes,
                });
            }
        }
        batches
    }

    /// Delivers everything due at the clock's current time, within the limits, and records
    /// the outcomes. Returns what happened (tests, `postqueue -f`-style tools).
    pub async fn run_due(&self, transport: &dyn Transport) -> RoundReport {
        let now = self.inner.clock.now();
        self.expire_held(now);
        let batches = self.take_due(transport, now);
        let mut report = RoundReport {
            batches: batches.len(),
            ..RoundReport::default()
        };
        // Deliver and record concurrently: recording ends in an fsync, and doing those one
        // after another would cap the rate at one message per disk flush.
        let results = futures::future::join_all(batches.into_iter().map(|b| async move {
            let out = transport.deliver(&b.job).await;
            self.complete(b, out).await
        }))
        .await;
        for r in results {
            report.delivered += r.delivered;
            report.deferred += r.deferred;
            report.failed += r.failed;
        }
        report
    }

    /// Runs the queue until [`Queue::shutdown`]: delivers due recipients as they fall due,
    /// woken early by new messages, flushes and releases. Returns when the batches in flight
    /// at shutdown are done.
    pub async fn run(&self, transport: Arc<dyn Transport>) {
        let mut wake = self.inner.wake_rx.lock().await;
        let mut in_flight = FuturesUnordered::new();
        loop {
            let now = self.inner.clock.now();
            for b in self.take_due(&*transport, now) {
                let t = transport.clone();
                let q = self.clone();
                in_flight.push(async move {
                    let out = t.deliver(&b.job).await;
                    q.complete(b, out).await
                });
            }
            if self.lock().shutting_down && in_flight.is_empty() {
                return;
            }
            let wait = self
                .next_due()
                .map(|t| t.duration_since(now).unwrap_or_default())
                .unwrap_or(Duration::from_secs(60));
            let mut sleep = futures::FutureExt::fuse(
                self.inner
                    .runtime
                    .sleep(wait.clamp(Duration::from_millis(10), Duration::from_secs(60))),
            );
            futures::select! {
                _ = in_flight.select_next_some() => {}
                _ = wake.next() => {}
                _ = sleep => {}
            }
        }
    }

    fn next_due(&self) -> Option<SystemTime> {
        let s = self.lock();
        s.entries
            .values()
            .filter(|e| !e.deleted && !e.env.held)
            .flat_map(|e| {
                e.env
                    .recipients
                    .iter()
                    .zip(&e.busy)
                    .filter(|(r, b)| r.state == State::Pending && !**b)
                    .map(|(r, _)| r.next_attempt)
            })
            .min()
    }

    /// Held messages do not escape expiry forever: nothing here yet (held mail stays until
    /// released or deleted, as in Postfix).
    fn expire_held(&self, _now: SystemTime) {}

    /// Records a batch's outcomes; sends DSNs; removes finished messages.
    async fn complete(&self, b: Batch, out: Vec<Outcome>) -> RoundReport {
        let now = self.inner.clock.now();
        let o = self.inner.options.clone();
        let mut report = RoundReport::default();
        let mut failed = Vec::new();
        let mut delivered = Vec::new();
        let mut delayed = Vec::new();
        let id = b.job.id.clone();
        let (done, deleted, snapshot, write_lock) = {
            let mut s = self.lock();
            if let Some(n) = s.buckets.get_mut(&b.bucket) {
                *n = n.saturating_sub(1);
            }
            s.in_flight = s.in_flight.saturating_sub(1);
            let Some(e) = s.entries.get_mut(&id) else {
                return report;
            };
            for (k, &i) in b.indexes.iter().enumerate() {
                e.busy[i] = false;
                let outcome = out.get(k).cloned().unwrap_or_else(|| {
                    Outcome::Deferred("451 4.3.0 transport gave no result".into())
                });
                let r = &mut e.env.recipients[i];
                r.attempts += 1;
                match outcome {
                    Outcome::Delivered(reply) => {
                        r.state = State::Delivered;
                        r.last_reply = Some(reply);
                        report.delivered += 1;
                        if r.new.notify.is_some_and(|n| n.success) {
                            delivered.push(i);
                        }
                    }
                    Outcome::Failed(reply) => {
                        r.state = State::Failed;
                        r.last_reply = Some(reply);
                        report.failed += 1;
                        if r.new.notify.is_none_or(|n| n.failure) {
                            failed.push(i);
                        }
                    }
                    Outcome::Deferred(reply) => {
                        let age = now.duration_since(e.env.arrival).unwrap_or_default();
                        if age >= o.max_lifetime {
                            r.state = State::Failed;
                            r.last_reply = Some(format!("{reply} (delivery time expired, 4.4.7)"));
                            report.failed += 1;
                            if r.new.notify.is_none_or(|n| n.failure) {
                                failed.push(i);
                            }
                        } else {
                            r.last_reply = Some(reply);
                            r.next_attempt = now + self.backoff(r.attempts);
                            report.deferred += 1;
                        }
                    }
                }
            }
            if !e.env.warned
                && let Some(w) = o.delay_warning
                && now.duration_since(e.env.arrival).unwrap_or_default() >= w
            {
                for (i, r) in e.env.recipients.iter().enumerate() {
                    if r.state == State::Pending
                        && r.attempts > 0
                        && r.new.notify.is_none_or(|n| n.delay)
                    {
                        delayed.push(i);
                    }
                }
                if !delayed.is_empty() {
                    e.env.warned = true;
                }
            }
            let done = e.env.is_done() && !e.busy.iter().any(|b| *b);
            let deleted = e.deleted;
            let snap = e.env.clone();
            let write_lock = e.write_lock.clone();
            if done || (deleted && !e.busy.iter().any(|b| *b)) {
                s.entries.remove(&id);
            }
            (done || deleted, deleted, snap, write_lock)
        };
        // A message deleted by the admin meanwhile gets no reports.
        if !deleted {
            for (kind, idx) in [
                (DsnKind::Failure, &failed),
                (DsnKind::Success, &delivered),
                (DsnKind::Delay, &delayed),
            ] {
                if !idx.is_empty() {
                    self.send_dsn(kind, &snapshot, idx, now).await;
                }
            }
        }
        let spool = self.inner.spool.clone();
        if done {
            // Under the message's write lock, so a rewrite of its envelope by a concurrent
            // batch cannot land after the removal and resurrect it.
            let _g = write_lock.lock().await;
            let _ = unblock(&*self.inner.runtime, move || spool.remove(&id)).await;
        } else if let Err(e) = self.persist(&id).await {
            tracing::warn!(queue_id = %id, error = %e, "cannot record delivery state");
        }
        report
    }

    /// Queues a DSN about `indexes` of `env`.
    async fn send_dsn(
        &self,
        kind: DsnKind,
        env: &super::Envelope,
        indexes: &[usize],
        now: SystemTime,
    ) {
        // Who gets it: the sender; for a failed bounce the postmaster (a double bounce); for
        // a failed double bounce, nobody.
        let (to, dest, dsn_kind) = if should_notify(&env.sender) {
            let dest = self.route_bounce(&env.sender);
            (env.sender.clone(), dest, Kind::Bounce)
        } else if env.kind == Kind::Bounce && kind == DsnKind::Failure {
            (
                "postmaster".to_owned(),
                vec![self.inner.options.postmaster.clone()],
                Kind::DoubleBounce,
            )
        } else {
            tracing::info!(queue_id = %env.id, "no DSN: null sender");
            return;
        };
        if dest.is_empty() {
            return;
        }
        let o = &self.inner.options;
        let full = kind == DsnKind::Failure && env.ret != Some(super::Ret::Headers);
        let limit = if full {
            o.dsn.max_returned as u64 + 1
        } else {
            256 * 1024
        };
        let path = self.inner.spool.data(&env.id);
        let original = unblock(&*self.inner.runtime, move || -> std::io::Result<Vec<u8>> {
            use std::io::Read;
            let mut buf = Vec::new();
            std::fs::File::open(path)?
                .take(limit)
                .read_to_end(&mut buf)?;
            Ok(buf)
        })
        .await
        .unwrap_or_default();
        let recipients: Vec<DsnRecipient> = indexes
            .iter()
            .map(|&i| {
                let r = &env.recipients[i];
                DsnRecipient {
                    final_recipient: r.new.address.clone(),
                    original_recipient: r.new.orcpt.clone(),
                    diagnostic: r.last_reply.clone(),
                    remote_mta: None,
                    last_attempt: Some(now),
                    will_retry_until: (kind == DsnKind::Delay)
                        .then(|| env.arrival + o.max_lifetime),
                }
            })
            .collect();
        let bytes = build_dsn(
            &o.dsn,
            &DsnRequest {
                kind,
                to: &to,
                queue_id: &env.id,
                envid: env.envid.as_deref(),
                ret: env.ret,
                arrival: env.arrival,
                original_complete: (original.len() as u64) == env.size,
                original: &original,
                recipients: &recipients,
                now,
            },
        );
        let msg = NewMessage {
            sender: String::new(),
            recipients: dest
                .into_iter()
                .map(|d| NewRecipient {
                    address: to.clone(),
                    destination: d,
                    orcpt: None,
                    notify: None,
                })
                .collect(),
            envid: None,
            ret: None,
            kind: dsn_kind,
        };
        if let Err(e) = self.enqueue(msg, &bytes).await {
            tracing::error!(queue_id = %env.id, error = %e, "cannot queue a DSN");
        }
    }

    fn route_bounce(&self, sender: &str) -> Vec<Destination> {
        match &self.inner.bounce_router {
            Some(r) => match r.resolve(sender) {
                RcptDecision::Accept(d) => d,
                RcptDecision::NotLocal { .. } => vec![Destination::Remote(sender.to_owned())],
                other => {
                    tracing::info!(sender, decision = ?other, "no DSN: the sender is not deliverable");
                    Vec::new()
                }
            },
            None => vec![Destination::Remote(sender.to_owned())],
        }
    }
}

fn job_of(q: &Queue, id: &QueueId, e: &Entry, indexes: &[usize]) -> DeliveryJob {
    DeliveryJob {
        id: id.clone(),
        sender: e.env.sender.clone(),
        envid: e.env.envid.clone(),
        ret: e.env.ret,
        data: q.inner.spool.data(id),
        size: e.env.size,
        recipients: indexes
            .iter()
            .map(|&i| {
                let r = &e.env.recipients[i].new;
                JobRecipient {
                    address: r.address.clone(),
                    destination: r.destination.clone(),
                    orcpt: r.orcpt.clone(),
                    notify: r.notify,
                }
            })
            .collect(),
        arrival: e.env.arrival,
    }
}
