//! Local delivery into the hub's stores (RFC 5321 §4.4 trace fields at final delivery).

use std::sync::Arc;

use async_trait::async_trait;

use super::{DeliveryJob, Outcome, Transport};
use crate::bounce::header_block;
use crate::route::Destination;
use crate::runtime::{SharedRuntime, unblock};
use crate::store::{AppendRequest, INBOX, MailStore, MessageData, StoreError};

/// Local delivery knobs.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The largest message delivered (it is read into memory once per batch).
    pub max_message: u64,
    /// Most `Received:` fields before the message counts as looping (RFC 5321 §6.3).
    pub max_received: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            max_message: 64 * 1024 * 1024,
            max_received: 50,
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
}

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
        }
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
            let Destination::Local { user, folder } = &r.destination else {
                out.push(Outcome::Failed(
                    "550 5.3.5 Delivery to programs and files is not supported".into(),
                ));
                continue;
            };
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
            let u = match self.store.open(user).await {
                Ok(u) => u,
                Err(e) => {
                    out.push(map_store_error(&e));
                    continue;
                }
            };
            let mailbox = self.folder(&*u, folder.as_deref()).await;
            let mut data = Vec::with_capacity(msg.len() + 128);
            data.extend_from_slice(format!("Return-Path: <{}>", job.sender).as_bytes());
            data.extend_from_slice(eol);
            data.extend_from_slice(format!("Delivered-To: {}", r.address).as_bytes());
            data.extend_from_slice(eol);
            data.extend_from_slice(&msg);
            let req = AppendRequest {
                data: MessageData::Bytes(data),
                ..AppendRequest::default()
            };
            let res = match u.append(&mailbox, req.clone()).await {
                Err(StoreError::NoSuchMailbox(_)) if mailbox != INBOX => u.append(INBOX, req).await,
                other => other,
            };
            out.push(match res {
                Ok(a) => Outcome::Delivered(format!(
                    "250 2.0.0 delivered to {user}/{mailbox} (UID {})",
                    a.uid
                )),
                Err(e) => map_store_error(&e),
            });
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
