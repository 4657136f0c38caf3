//! Change notification between sessions, and POP3's maildrop lock.
//!
//! A session that selected a mailbox learns of other sessions' appends, flag changes and
//! expunges without polling the disk: every change made through a [`ChangeHub`] is sent to the
//! [`Subscription`]s on that user's mailbox. IMAP IDLE (RFC 2177) waits on
//! [`Subscription::next`]; NOOP drains [`Subscription::try_next`].
//!
//! Each subscription holds at most [`QUEUE`] changes. A subscriber that does not keep up loses
//! the detail, never the fact: it gets [`Change::Resync`] and must select again. Memory per
//! idle session stays bounded, and a slow session never slows the one making changes.
//!
//! Changes made by other processes (Dovecot, an MDA writing the Maildir directly) do not pass
//! through the hub; a driver notices them when it selects the mailbox again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::channel::mpsc;

use super::{StoreError, Uid};

/// Changes one subscription holds before it falls back to [`Change::Resync`].
pub const QUEUE: usize = 64;

/// A change to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Messages were added (append, copy, move, delivery).
    Appended {
        /// Their UIDs.
        uids: Vec<Uid>,
    },
    /// Flags or keywords of messages changed.
    FlagsChanged {
        /// Their UIDs.
        uids: Vec<Uid>,
    },
    /// Messages were removed.
    Expunged {
        /// Their UIDs.
        uids: Vec<Uid>,
    },
    /// Changes were lost (the subscriber fell behind, or the mailbox was deleted or renamed):
    /// select the mailbox again.
    Resync,
}

type Key = (String, String);

struct Watcher {
    tx: mpsc::Sender<Change>,
    lost: Arc<AtomicBool>,
}

/// Routes changes of one store's mailboxes to the sessions watching them.
#[derive(Default)]
pub struct ChangeHub {
    watchers: Mutex<HashMap<Key, Vec<Watcher>>>,
}

impl std::fmt::Debug for ChangeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.watchers.lock().map(|w| w.len()).unwrap_or(0);
        f.debug_struct("ChangeHub").field("mailboxes", &n).finish()
    }
}

fn key(user: &str, mailbox: &str) -> Key {
    let mailbox = if super::is_inbox(mailbox) {
        super::INBOX.to_owned()
    } else {
        mailbox.to_owned()
    };
    (user.to_owned(), mailbox)
}

impl ChangeHub {
    /// A new hub.
    pub fn new() -> Arc<ChangeHub> {
        Arc::new(ChangeHub::default())
    }

    /// Subscribes to `user`'s `mailbox`.
    pub fn watch(&self, user: &str, mailbox: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let mut w = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        let list = w.entry(key(user, mailbox)).or_default();
        // Drop subscriptions whose receiver is gone, so the table does not grow.
        list.retain(|x| !x.tx.is_closed());
        list.push(Watcher {
            tx,
            lost: lost.clone(),
        });
        Subscription { rx, lost }
    }

    /// Tells every subscriber of `user`'s `mailbox` about `change`.
    pub fn notify(&self, user: &str, mailbox: &str, change: Change) {
        let mut w = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(user, mailbox);
        let Some(list) = w.get_mut(&k) else { return };
        list.retain_mut(|x| match x.tx.try_send(change.clone()) {
            Ok(()) => true,
            Err(e) if e.is_full() => {
                x.lost.store(true, Ordering::Release);
                true
            }
            Err(_) => false,
        });
        if list.is_empty() {
            w.remove(&k);
        }
    }
}

/// A session's view of one mailbox's changes.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Change>,
    lost: Arc<AtomicBool>,
}

impl Subscription {
    /// Waits for the next change. `None` when the hub is gone.
    pub async fn next(&mut self) -> Option<Change> {
        if let Some(c) = self.lost_change() {
            return Some(c);
        }
        let c = self.rx.next().await;
        self.lost_change().or(c)
    }

    /// The next change if one is waiting.
    pub fn try_next(&mut self) -> Option<Change> {
        if let Some(c) = self.lost_change() {
            return Some(c);
        }
        self.rx.try_recv().ok()
    }

    fn lost_change(&mut self) -> Option<Change> {
        if self.lost.swap(false, Ordering::AcqRel) {
            // The queued changes are superseded by the resync.
            while self.rx.try_recv().is_ok() {}
            Some(Change::Resync)
        } else {
            None
        }
    }
}

/// The table of held POP3 maildrop locks of one store (within this process).
#[derive(Debug, Default)]
pub struct MaildropLocks {
    held: Mutex<HashSet<String>>,
}

impl MaildropLocks {
    /// A new table.
    pub fn new() -> Arc<MaildropLocks> {
        Arc::new(MaildropLocks::default())
    }

    /// Takes `user`'s lock, or [`StoreError::InUse`].
    pub fn lock(self: &Arc<Self>, user: &str) -> Result<MaildropLock, StoreError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if !held.insert(user.to_owned()) {
            return Err(StoreError::InUse);
        }
        Ok(MaildropLock {
            table: self.clone(),
            user: user.to_owned(),
        })
    }
}

/// A held maildrop lock; dropping it releases the lock.
#[derive(Debug)]
pub struct MaildropLock {
    table: Arc<MaildropLocks>,
    user: String,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut held = self.table.held.lock().unwrap_or_else(|e| e.into_inner());
        held.remove(&self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_get_changes_and_fall_back_to_resync() {
        let hub = ChangeHub::new();
        let mut a = hub.watch("u", "inbox");
        let mut other = hub.watch("u", "Sent");
        hub.notify("u", "INBOX", Change::Appended { uids: vec![1] });
        assert_eq!(a.try_next(), Some(Change::Appended { uids: vec![1] }));
        assert_eq!(a.try_next(), None);
        assert_eq!(other.try_next(), None);
        // futures' bounded channel holds QUEUE plus one per sender.
        for i in 0..(QUEUE as u32 + 5) {
            hub.notify("u", "INBOX", Change::Expunged { uids: vec![i] });
        }
        assert_eq!(a.try_next(), Some(Change::Resync));
        assert_eq!(a.try_next(), None);
        drop(a);
        hub.notify("u", "INBOX", Change::Resync);
        assert!(
            hub.watchers
                .lock()
                .unwrap()
                .get(&key("u", "INBOX"))
                .is_none()
        );
    }

    #[test]
    fn maildrop_lock_is_exclusive_until_dropped() {
        let t = MaildropLocks::new();
        let g = t.lock("alice").unwrap();
        assert_eq!(t.lock("alice").unwrap_err(), StoreError::InUse);
        let _b = t.lock("bob").unwrap();
        drop(g);
        assert!(t.lock("alice").is_ok());
    }
}
