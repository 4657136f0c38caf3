//! Local delivery into the hub's stores (RFC 5321 §4.4 trace fields at final delivery).
//!
//! # Exactly once across a crash
//!
//! RFC 5321 §6.1 makes the message ours once 250 is sent; the queue keeps it on disk until
//! every recipient is recorded as done. A crash after the store has the copy but before the
//! queue recorded it would, on a plain retry, deliver it a second time. So before delivering
//! a copy that an earlier attempt may already have made, this transport looks for it:
//!
//! - which attempts: a message recovered from the spool (its [`QueueId`] was made by another
//!   run of the process, [`QueueId::is_from_this_run`]) and a recipient whose previous
//!   attempt in this run ended in an error (the store may fail after the copy is in place,
//!   e.g. a Maildir UID list lock timing out after the file was linked into `new/`). Messages
//!   queued and delivered within one run, the common case, pay nothing.
//! - how: the exact octets this transport would store (`Return-Path:`, `Delivered-To:` and
//!   the spooled message, whose `Received:` field carries the SMTP transaction id and a
//!   date) are compared with the messages of the destination mailbox (and of INBOX, the
//!   fallback) that have the same RFC 822 size and arrived no earlier than the message was
//!   queued. An equal copy means "delivered"; the queue records it and moves on.
//!
//! This works through the [`MailStore`] traits for every store (Maildir, mbox, memory), at
//! the price of one mailbox listing per mailbox after a restart (a copy a previous run made
//! was there before this run began, so one listing serves every recovered message), one per
//! retry after an error, and reading the few same-size messages. A deterministic Maildir file name (queue id + recipient) would make the check a
//! `stat()`, but the store traits carry no such key, and mbox has no file names at all.
//! The mbox store truncates a torn append (its append journal) before it is read, so a
//! half-written copy is never taken for a delivered one.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{DeliveryJob, Outcome, Transport};
use crate::bounce::header_block;
use crate::queue::QueueId;
use crate::route::Destination;
use crate::runtime::{SharedRuntime, unblock};
use crate::store::{AppendRequest, INBOX, MailStore, MessageData, StoreError, Uid, UserStore};

/// Local delivery knobs.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The largest message delivered (it is read into memory once per batch).
    pub max_message: u64,
    /// Most `Received:` fields before the message counts as looping (RFC 5321 §6.3).
    pub max_received: usize,
    /// Whether `|command` destinations are run (off by default; otherwise they fail with
    /// 5.3.5). See `deliver::program` for how.
    pub allow_programs: bool,
    /// Whether `/path` destinations are appended to (off by default; otherwise 5.3.5).
    pub allow_files: bool,
    /// A program running longer is killed and the recipient bounced (Postfix's
    /// `command_time_limit`, 1000 s).
    pub program_timeout: std::time::Duration,
    /// Octets of a program's output kept for the bounce.
    pub max_program_output: usize,
    /// fsync file-target appends (turn off only for tests).
    pub fsync_files: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            max_message: 64 * 1024 * 1024,
            max_received: 50,
            allow_programs: false,
            allow_files: false,
            program_timeout: Duration::from_secs(1000),
            max_program_output: 2048,
            fsync_files: true,
        }
    }
}

/// Delivers to local users' mailboxes through a [`MailStore`].
///
/// Each copy gets `Return-Path: <sender>` and `Delivered-To: <recipient>`. A message that
/// already carries `Delivered-To:` with the same recipient, or too many `Received:` fields,
/// is a loop and fails (5.4.6) rather than circling. A `user+detail` destination goes to the
/// folder `detail` when the user has one (compared case-insensitively), else to INBOX. Over
/// quota, and any temporary store failure, defers the recipient.
pub struct LocalDelivery {
    store: Arc<dyn MailStore>,
    runtime: SharedRuntime,
    options: LocalOptions,
    /// Recipients whose last attempt in this run failed: the next attempt looks for a copy
    /// first (module doc). Bounded by [`MAX_UNCERTAIN`].
    uncertain: Mutex<HashSet<UncertainKey>>,
    /// Mailbox listings for recovered messages (see [`Listings`]).
    listings: Mutex<Listings>,
}

/// (queue id, recipient address, destination token).
type UncertainKey = (QueueId, String, String);

/// What [`find_copy`] needs of a mailbox's messages.
#[derive(Debug, Clone, Copy)]
struct Listed {
    uid: Uid,
    size: u64,
    internal_date: SystemTime,
}

/// Listings of (user, mailbox) taken in this run, for checking recovered messages: a copy a
/// previous run made was there before this run started, so one listing per mailbox serves
/// every recovered message (after a restart with many queued, not one full mailbox scan
/// each). Bounded by [`MAX_LISTINGS`].
type Listings = HashMap<(String, String), Arc<Vec<Listed>>>;

/// Most mailbox listings kept; past it they are all dropped and taken again as needed.
const MAX_LISTINGS: usize = 64;

/// Most recipients remembered as "failed, maybe stored anyway". Past it a failed attempt is
/// not remembered, and a copy the store kept despite its error could be delivered twice;
/// at this size that takes a hundred thousand messages deferred at once.
const MAX_UNCERTAIN: usize = 100_000;

impl std::fmt::Debug for LocalDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDelivery")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl LocalDelivery {
    /// Local delivery into `store`.
    pub fn new(
        store: Arc<dyn MailStore>,
        runtime: SharedRuntime,
        options: LocalOptions,
    ) -> LocalDelivery {
        LocalDelivery {
            store,
            runtime,
            options,
            uncertain: Mutex::new(HashSet::new()),
            listings: Mutex::new(HashMap::new()),
        }
    }

    /// Runs a `|command` destination (`deliver::program`).
    async fn to_program(
        &self,
        job: &DeliveryJob,
        r: &super::JobRecipient,
        cmd: &str,
        msg: &[u8],
        eol: &[u8],
    ) -> Outcome {
        if !self.options.allow_programs {
            return Outcome::Failed(format!(
                "550 5.3.5 Delivery to programs is turned off (command {cmd})"
            ));
        }
        let (local, domain) = r.address.rsplit_once('@').unwrap_or((&r.address, ""));
        let (user, extension) = local.split_once('+').unwrap_or((local, ""));
        let orcpt = r
            .orcpt
            .as_deref()
            .map(|o| o.split_once(';').map_or(o, |(_, a)| a))
            .unwrap_or(&r.address);
        let env: Vec<(String, String)> = [
            ("SENDER", job.sender.as_str()),
            ("RECIPIENT", r.address.as_str()),
            ("ORIGINAL_RECIPIENT", orcpt),
            ("LOCAL", local),
            ("DOMAIN", domain),
            ("EXTENSION", extension),
            ("USER", user),
            ("LOGNAME", user),
            ("HOME", "/"),
            ("SHELL", "/bin/sh"),
            ("PATH", "/usr/bin:/bin"),
            ("QUEUE_ID", job.id.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let input = with_trace(&job.sender, &r.address, msg, eol);
        let (c, timeout, max) = (
            cmd.to_owned(),
            self.options.program_timeout,
            self.options.max_program_output,
        );
        let run = unblock(&*self.runtime, move || {
            super::program::run_program(&c, &env, input, timeout, max)
        })
        .await;
        match run {
            Ok((end, output)) => {
                let o = super::program::program_outcome(cmd, end, &output);
                tracing::info!(queue_id = %job.id, command = cmd, ?end, "program delivery");
                o
            }
            Err(e) => Outcome::Deferred(format!("451 4.3.0 cannot run command {cmd}: {e}")),
        }
    }

    /// Appends to a `/path` destination (`deliver::program`).
    async fn to_file(
        &self,
        job: &DeliveryJob,
        r: &super::JobRecipient,
        path: &str,
        msg: &[u8],
        eol: &[u8],
    ) -> Outcome {
        if !self.options.allow_files {
            return Outcome::Failed(format!(
                "550 5.3.5 Delivery to files is turned off (file {path})"
            ));
        }
        let data = with_trace(&job.sender, &r.address, msg, eol);
        let (p, sender, fsync) = (
            std::path::PathBuf::from(path),
            job.sender.clone(),
            self.options.fsync_files,
        );
        let time = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let res = unblock(&*self.runtime, move || {
            super::program::append_to_file(&p, &sender, time, &data, fsync)
        })
        .await;
        match res {
            Ok(()) => Outcome::Delivered(format!("250 2.0.0 appended to file {path}")),
            Err(e) => Outcome::Deferred(format!("451 4.3.0 cannot append to file {path}: {e}")),
        }
    }

    /// The messages of `mailbox`: a fresh listing when `fresh` (this run may have made the
    /// copy), else the one taken earlier in this run if any.
    async fn listing(
        &self,
        user: &dyn UserStore,
        mailbox: &str,
        fresh: bool,
    ) -> Result<Arc<Vec<Listed>>, StoreError> {
        let key = (user.user().to_owned(), mailbox.to_owned());
        if !fresh
            && let Some(l) = self
                .listings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
        {
            return Ok(l.clone());
        }
        let listed: Vec<Listed> = match user.select(mailbox).await {
            Ok(snap) => snap
                .messages
                .iter()
                .map(|m| Listed {
                    uid: m.uid,
                    size: m.size,
                    internal_date: m.internal_date,
                })
                .collect(),
            Err(StoreError::NoSuchMailbox(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let listed = Arc::new(listed);
        if !fresh {
            let mut all = self.listings.lock().unwrap_or_else(|e| e.into_inner());
            if all.len() >= MAX_LISTINGS {
                all.clear();
            }
            all.insert(key, listed.clone());
        }
        Ok(listed)
    }

    fn uncertain(&self) -> std::sync::MutexGuard<'_, HashSet<UncertainKey>> {
        self.uncertain.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn folder(&self, user: &dyn crate::store::UserStore, wanted: Option<&str>) -> String {
        let Some(w) = wanted else { return INBOX.into() };
        match user.list().await {
            Ok(list) => list
                .into_iter()
                .find(|m| m.name.eq_ignore_ascii_case(w))
                .map(|m| m.name)
                .unwrap_or_else(|| INBOX.into()),
            Err(_) => INBOX.into(),
        }
    }
}

/// Counts header fields named `name` (case-insensitive) in a header block.
pub(crate) fn count_fields(header: &[u8], name: &str, value: Option<&str>) -> usize {
    let mut n = 0;
    for line in header.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].eq_ignore_ascii_case(name.as_bytes()) {
            let v = String::from_utf8_lossy(&line[colon + 1..]);
            let v = v.trim().trim_start_matches('<').trim_end_matches('>');
            if value.is_none_or(|want| v.eq_ignore_ascii_case(want)) {
                n += 1;
            }
        }
    }
    n
}

/// `Return-Path:` and `Delivered-To:` (RFC 5321 §4.4) ahead of the message.
fn with_trace(sender: &str, recipient: &str, msg: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(msg.len() + 128);
    data.extend_from_slice(format!("Return-Path: <{sender}>").as_bytes());
    data.extend_from_slice(eol);
    data.extend_from_slice(format!("Delivered-To: {recipient}").as_bytes());
    data.extend_from_slice(eol);
    data.extend_from_slice(msg);
    data
}

/// The size of `data` with every bare LF counted as CRLF (the stores' RFC 822 size).
fn rfc822_size(data: &[u8]) -> u64 {
    let bare = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
        .count();
    (data.len() + bare) as u64
}

/// Looks in `mailbox` for a message with exactly the octets `data`, stored no earlier than
/// `since`: a copy an earlier attempt made (module doc).
async fn find_copy(
    user: &dyn UserStore,
    mailbox: &str,
    listing: &[Listed],
    data: &[u8],
    since: SystemTime,
) -> Result<Option<Uid>, StoreError> {
    let size = rfc822_size(data);
    // Stores keep dates to the second (mbox `From ` lines, file mtimes on some file systems).
    let since = since
        .checked_sub(Duration::from_secs(2))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    // Newest first: the copy, if any, came late.
    for m in listing.iter().rev() {
        if m.size != size || m.internal_date < since {
            continue;
        }
        let mut body = match user.open_message(mailbox, m.uid).await {
            Ok(b) => b,
            // Expunged meanwhile: not our copy any more.
            Err(StoreError::NoSuchMessage(_)) => continue,
            Err(e) => return Err(e),
        };
        let mut at = 0usize;
        let mut same = true;
        while let Some(chunk) = body.next_chunk().await? {
            if data.get(at..at + chunk.len()) != Some(&chunk[..]) {
                same = false;
                break;
            }
            at += chunk.len();
        }
        if same && at == data.len() {
            return Ok(Some(m.uid));
        }
    }
    Ok(None)
}

fn map_store_error(e: &StoreError) -> Outcome {
    match e {
        StoreError::OverQuota(m) => Outcome::Deferred(format!("452 4.2.2 Mailbox full: {m}")),
        e if e.is_temporary() => Outcome::Deferred(format!("451 4.3.0 {e}")),
        StoreError::NoSuchMailbox(_) => Outcome::Failed("550 5.1.1 No such mailbox".into()),
        e => Outcome::Failed(format!("554 5.2.0 {e}")),
    }
}

#[async_trait]
impl Transport for LocalDelivery {
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        let path = job.data.clone();
        let max = self.options.max_message;
        let read = unblock(&*self.runtime, move || -> std::io::Result<Vec<u8>> {
            let len = std::fs::metadata(&path)?.len();
            if len > max {
                return Err(std::io::Error::other(format!(
                    "message of {len} octets over the limit"
                )));
            }
            std::fs::read(&path)
        })
        .await;
        let msg = match read {
            Ok(m) => m,
            Err(e) => {
                return vec![
                    Outcome::Deferred(format!("451 4.3.0 cannot read the spool file: {e}"));
                    job.recipients.len()
                ];
            }
        };
        let header = header_block(&msg);
        let looping = count_fields(header, "Received", None) > self.options.max_received;
        let eol: &[u8] = if msg
            .windows(2)
            .position(|w| w == b"\r\n")
            .is_some_and(|p| Some(p + 1) == msg.iter().position(|&b| b == b'\n'))
        {
            b"\r\n"
        } else {
            b"\n"
        };
        let mut out = Vec::with_capacity(job.recipients.len());
        for r in &job.recipients {
            if looping {
                out.push(Outcome::Failed(
                    "554 5.4.6 Too many Received: fields (mail loop)".into(),
                ));
                continue;
            }
            if count_fields(header, "Delivered-To", Some(&r.address)) > 0 {
                out.push(Outcome::Failed(format!(
                    "554 5.4.6 Mail loop: already delivered to {}",
                    r.address
                )));
                continue;
            }
            let (user, folder) = match &r.destination {
                Destination::Local { user, folder } => (user, folder),
                Destination::Program(cmd) => {
                    out.push(self.to_program(job, r, cmd, &msg, eol).await);
                    continue;
                }
                Destination::File(path) => {
                    out.push(self.to_file(job, r, path, &msg, eol).await);
                    continue;
                }
                Destination::Remote(_) => {
                    out.push(Outcome::Failed(
                        "550 5.3.5 Remote destination given to local delivery".into(),
                    ));
                    continue;
                }
            };
            let u = match self.store.open(user).await {
                Ok(u) => u,
                Err(e) => {
                    out.push(map_store_error(&e));
                    continue;
                }
            };
            let mailbox = self.folder(&*u, folder.as_deref()).await;
            let data = with_trace(&job.sender, &r.address, &msg, eol);
            let key = (job.id.clone(), r.address.clone(), r.destination.to_token());
            let retry_in_run = self.uncertain().contains(&key);
            if retry_in_run || !job.id.is_from_this_run() {
                let mut found = None;
                let mut boxes = vec![mailbox.as_str()];
                if mailbox != INBOX {
                    boxes.push(INBOX);
                }
                for b in boxes {
                    let found_in = match self.listing(&*u, b, retry_in_run).await {
                        Ok(listing) => find_copy(&*u, b, &listing, &data, job.arrival).await,
                        Err(e) => Err(e),
                    };
                    match found_in {
                        Ok(Some(uid)) => {
                            found = Some(Ok((b, uid)));
                            break;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            found = Some(Err(e));
                            break;
                        }
                    }
                }
                match found {
                    Some(Ok((b, uid))) => {
                        tracing::info!(queue_id = %job.id, user = %user, mailbox = b, uid,
                            "copy from an earlier attempt found: not delivered again");
                        self.uncertain().remove(&key);
                        out.push(Outcome::Delivered(format!(
                            "250 2.0.0 delivered to {user}/{b} (UID {uid}) by an earlier attempt"
                        )));
                        continue;
                    }
                    // Cannot tell whether it is there: try later rather than risk a copy.
                    Some(Err(e)) => {
                        out.push(map_store_error(&e));
                        continue;
                    }
                    None => {}
                }
            }
            let req = AppendRequest {
                data: MessageData::Bytes(data),
                ..AppendRequest::default()
            };
            let res = match u.append(&mailbox, req.clone()).await {
                Err(StoreError::NoSuchMailbox(_)) if mailbox != INBOX => u.append(INBOX, req).await,
                other => other,
            };
            let outcome = match res {
                Ok(a) => Outcome::Delivered(format!(
                    "250 2.0.0 delivered to {user}/{mailbox} (UID {})",
                    a.uid
                )),
                Err(e) => map_store_error(&e),
            };
            if matches!(outcome, Outcome::Deferred(_)) {
                let mut set = self.uncertain();
                if set.len() < MAX_UNCERTAIN {
                    set.insert(key);
                }
            } else {
                self.uncertain().remove(&key);
            }
            out.push(outcome);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_header_fields() {
        let h = b"Received: a\r\nreceived: b\r\nDelivered-To: <Bob@x.org>\r\nSubject: x\r\n";
        assert_eq!(count_fields(h, "Received", None), 2);
        assert_eq!(count_fields(h, "Delivered-To", Some("bob@x.org")), 1);
        assert_eq!(count_fields(h, "Delivered-To", Some("al@x.org")), 0);
    }
}
