//! A user's mail, as async traits the session drivers use: [`MailStore`] opens a user's
//! [`UserStore`], which lists, creates, deletes, renames and subscribes mailboxes, selects one
//! (a [`MailboxSnapshot`]: UIDVALIDITY, UIDNEXT and per message UID, flags, keywords, size and
//! internal date), streams a message ([`MessageBody`]), appends, stores flags, removes
//! (expunges), copies and moves messages, reports quota and announces changes
//! ([`Subscription`]).
//!
//! The model is IMAP's (RFC 3501 §2.3, RFC 9051 §2.3): messages are named by UID, which never
//! changes while the mailbox's UIDVALIDITY stays the same; message sequence numbers are a
//! session's business, not the store's. POP3 (RFC 1939) uses the same calls: its maildrop is
//! INBOX, its snapshot is [`UserStore::select`], its unique-ids are made from UIDVALIDITY and
//! UID ([`pop3_uidl`], Dovecot's default `%08Xu%08Xv`), its exclusive maildrop lock is
//! [`UserStore::lock_maildrop`], and its deletions in the UPDATE state are
//! [`UserStore::remove`].
//!
//! Mailbox names are IMAP names with `/` as the hierarchy delimiter ([`DELIMITER`]); `INBOX` is
//! matched case-insensitively (RFC 3501 §5.1) and always exists.
//!
//! Sizes are RFC 822 sizes, counted with CRLF line ends, because that is what IMAP's
//! `RFC822.SIZE` and POP3's LIST report (RFC 1939 §11). [`MessageBody`] yields the octets as
//! stored, which may have bare LF line ends (Maildir files usually do): the POP3 engine's
//! dot-stuffer normalises them; an IMAP FETCH must do the same.
//!
//! Implementations: [`MemoryStore`] (tests, examples), [`MaildirStore`] (Maildir++ over
//! `mailhub-maildir`, UIDs in `dovecot-uidlist`, so Dovecot can serve the same mail) and
//! [`MboxStore`] (UW-style mbox over `mailhub-mbox`).
//!
//! POP3's maildrop lock ([`UserStore::lock_maildrop`]) and change notification work between
//! the sessions of one [`MailStore`] value, within the process.

mod maildir;
mod mbox;
mod memory;
mod notify;
mod types;

use std::sync::Arc;

use async_trait::async_trait;

pub use maildir::MaildirStore;
pub use mbox::{MboxPaths, MboxStore};
pub use memory::MemoryStore;
pub use notify::{Change, ChangeHub, MaildropLock, MaildropLocks, QUEUE, Subscription};
pub use types::{
    AppendRequest, AppendResult, CopyResult, FlagOp, FlagSet, MailboxInfo, MailboxSnapshot,
    MessageData, MessageMeta, Quota, SpecialUse, StoreError, SystemFlags, Uid, pop3_uidl,
};

/// The hierarchy delimiter of mailbox names.
pub const DELIMITER: char = '/';

/// The name of the mailbox every user has.
pub const INBOX: &str = "INBOX";

/// Whether `name` names INBOX (case-insensitive, RFC 3501 §5.1).
pub fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case(INBOX)
}

/// Opens users' mail. One value serves every session of a server: it holds what the sessions
/// share (the change hub, the maildrop locks).
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Opens the mail of `user` (the identity authentication gave).
    async fn open(&self, user: &str) -> Result<Arc<dyn UserStore>, StoreError>;
}

/// The octets of one message, streamed in chunks so a large message never sits whole in
/// memory.
#[async_trait]
pub trait MessageBody: Send {
    /// The number of octets the chunks add up to (as stored, not the RFC 822 size).
    fn len(&self) -> u64;

    /// Whether the message is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next chunk, `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError>;
}

/// One user's mailboxes.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user.
    fn user(&self) -> &str;

    /// Every mailbox, INBOX first, with subscription state (RFC 3501 §6.3.8, RFC 5258).
    async fn list(&self) -> Result<Vec<MailboxInfo>, StoreError>;

    /// Creates a mailbox (RFC 3501 §6.3.3).
    async fn create(&self, name: &str) -> Result<(), StoreError>;

    /// Deletes a mailbox and its messages (RFC 3501 §6.3.4). INBOX cannot be deleted.
    async fn delete(&self, name: &str) -> Result<(), StoreError>;

    /// Renames a mailbox and its children (RFC 3501 §6.3.5). Renaming INBOX is refused here
    /// (the RFC's "move INBOX's messages" form is left to the driver).
    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError>;

    /// Subscribes (`true`) or unsubscribes a name (RFC 3501 §6.3.6–7); the name need not exist.
    async fn subscribe(&self, name: &str, subscribe: bool) -> Result<(), StoreError>;

    /// Opens a mailbox and returns its current state.
    async fn select(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError>;

    /// Streams a message's octets.
    async fn open_message(
        &self,
        mailbox: &str,
        uid: Uid,
    ) -> Result<Box<dyn MessageBody>, StoreError>;

    /// Appends a message (RFC 3501 §6.3.11; also local delivery). Over quota is
    /// [`StoreError::OverQuota`], a temporary failure.
    async fn append(
        &self,
        mailbox: &str,
        request: AppendRequest,
    ) -> Result<AppendResult, StoreError>;

    /// Changes flags and keywords of the messages `uids` (RFC 3501 §6.4.6) and returns their
    /// new state; UIDs that no longer exist are skipped.
    async fn store(
        &self,
        mailbox: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: &FlagSet,
    ) -> Result<Vec<MessageMeta>, StoreError>;

    /// Removes the messages `uids` for good, whatever their flags (POP3's UPDATE state, and
    /// IMAP EXPUNGE once the driver picked the `\Deleted` ones). Returns the UIDs removed.
    async fn remove(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError>;

    /// The UIDs of `mailbox` removed (expunged or moved away) after mod-sequence `modseq`,
    /// for QRESYNC's `VANISHED (EARLIER)` (RFC 7162 §3.2.5.2, §3.2.6). `None` means the store
    /// does not remember removals that far back (or at all, the default): the IMAP engine
    /// then reports the client's known UIDs that are no longer there, which RFC 7162 §3.2.5
    /// allows. A store that answers `Some` must list every UID removed after `modseq`; extra
    /// UIDs the client never knew are ignored.
    async fn expunged_since(
        &self,
        mailbox: &str,
        modseq: u64,
    ) -> Result<Option<Vec<Uid>>, StoreError> {
        let _ = (mailbox, modseq);
        Ok(None)
    }

    /// Claims `\Recent` (RFC 3501 §2.3.2) for this session: of `uids`, the messages of
    /// `mailbox` this session just learned of (at SELECT, or when a re-read found new ones),
    /// the ones no session claimed before, which no other session will get afterwards. A
    /// message is `\Recent` in exactly one session, the first to see it; the claim is atomic
    /// across the sessions of one [`MailStore`] (and, for Maildir, across processes that
    /// follow Dovecot's rule). IMAP4rev2 (RFC 9051) has no `\Recent`, so its sessions do not
    /// claim. The default claims nothing: no message is ever `\Recent`.
    async fn claim_recent(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let _ = (mailbox, uids);
        Ok(Vec::new())
    }

    /// How many messages of `mailbox` no session claimed as `\Recent` yet, for STATUS
    /// (RECENT) (RFC 3501 §6.3.10), as of this handle's last [`UserStore::select`] of it.
    /// The default is 0, matching the default [`UserStore::claim_recent`].
    async fn unclaimed_recent(&self, mailbox: &str) -> Result<u32, StoreError> {
        let _ = mailbox;
        Ok(0)
    }

    /// Copies messages into another mailbox (RFC 3501 §6.4.7, UIDPLUS RFC 4315 §3).
    async fn copy(&self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreError>;

    /// Moves messages into another mailbox (RFC 6851).
    async fn move_messages(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError>;

    /// The user's storage quota (RFC 2087, RFC 9208), `None` when there is none.
    async fn quota(&self) -> Result<Option<Quota>, StoreError>;

    /// Subscribes to changes of `mailbox` made through this store by any session of any user
    /// handle of the same [`MailStore`] (IDLE, RFC 2177; NOOP reports).
    fn watch(&self, mailbox: &str) -> Subscription;

    /// Takes the exclusive maildrop lock of POP3 (RFC 1939 §8): [`StoreError::InUse`] while
    /// another POP3 session holds it. Released when the guard is dropped.
    fn lock_maildrop(&self) -> Result<MaildropLock, StoreError>;
}
