//! The values the store traits exchange, and the store error.

use std::collections::BTreeSet;
use std::time::SystemTime;

/// A message UID (RFC 3501 §2.3.1.1): non-zero, ascending within a UIDVALIDITY.
pub type Uid = u32;

/// The IMAP system flags a store keeps (RFC 3501 §2.3.2), as a bit set. `\Recent` is a
/// session's business and not stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SystemFlags(u8);

impl SystemFlags {
    /// No flag.
    pub const EMPTY: SystemFlags = SystemFlags(0);
    /// `\Seen`.
    pub const SEEN: SystemFlags = SystemFlags(1);
    /// `\Answered`.
    pub const ANSWERED: SystemFlags = SystemFlags(2);
    /// `\Flagged`.
    pub const FLAGGED: SystemFlags = SystemFlags(4);
    /// `\Deleted`.
    pub const DELETED: SystemFlags = SystemFlags(8);
    /// `\Draft`.
    pub const DRAFT: SystemFlags = SystemFlags(16);
    /// Every flag with its IMAP name.
    pub const ALL: [(SystemFlags, &'static str); 5] = [
        (SystemFlags::SEEN, "\\Seen"),
        (SystemFlags::ANSWERED, "\\Answered"),
        (SystemFlags::FLAGGED, "\\Flagged"),
        (SystemFlags::DELETED, "\\Deleted"),
        (SystemFlags::DRAFT, "\\Draft"),
    ];

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: SystemFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// The union.
    pub fn union(self, other: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 | other.0)
    }
    /// The flags of `self` not in `other`.
    pub fn difference(self, other: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 & !other.0)
    }
    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Looks a flag up by its IMAP name (case-insensitive).
    pub fn from_name(name: &str) -> Option<SystemFlags> {
        SystemFlags::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }
    /// The IMAP names of the flags set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        SystemFlags::ALL
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl std::ops::BitOr for SystemFlags {
    type Output = SystemFlags;
    fn bitor(self, rhs: SystemFlags) -> SystemFlags {
        self.union(rhs)
    }
}

/// System flags and keywords of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagSet {
    /// The system flags.
    pub system: SystemFlags,
    /// The keywords (RFC 3501 §2.3.2 `flag-keyword`), as given.
    pub keywords: BTreeSet<String>,
}

impl FlagSet {
    /// Only system flags.
    pub fn system(system: SystemFlags) -> FlagSet {
        FlagSet {
            system,
            keywords: BTreeSet::new(),
        }
    }

    /// Applies a STORE operation to this set.
    pub fn apply(&mut self, op: FlagOp, change: &FlagSet) {
        match op {
            FlagOp::Add => {
                self.system = self.system.union(change.system);
                self.keywords.extend(change.keywords.iter().cloned());
            }
            FlagOp::Remove => {
                self.system = self.system.difference(change.system);
                self.keywords.retain(|k| !change.keywords.contains(k));
            }
            FlagOp::Replace => *self = change.clone(),
        }
    }
}

/// How [`crate::store::UserStore::store`] changes flags (RFC 3501 §6.4.6 `+FLAGS`, `-FLAGS`,
/// `FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// Add these flags.
    Add,
    /// Remove these flags.
    Remove,
    /// Replace all flags with these.
    Replace,
}

/// What a selected mailbox says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// The UID.
    pub uid: Uid,
    /// Flags and keywords.
    pub flags: FlagSet,
    /// The RFC 822 size: octets with CRLF line ends.
    pub size: u64,
    /// The internal date (RFC 3501 §2.3.3): when the message arrived.
    pub internal_date: SystemTime,
    /// The mod-sequence of the message's last change (RFC 7162), 0 when not kept.
    pub modseq: u64,
}

/// A mailbox's state when it was selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSnapshot {
    /// The mailbox name as the store spells it.
    pub name: String,
    /// UIDVALIDITY (RFC 3501 §2.3.1.1).
    pub uid_validity: u32,
    /// The UID the next message will get.
    pub uid_next: Uid,
    /// The highest mod-sequence (RFC 7162), 0 when not kept.
    pub highest_modseq: u64,
    /// The messages in UID order.
    pub messages: Vec<MessageMeta>,
}

/// Special-use attributes (RFC 6154) a store can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecialUse {
    /// `\Trash`.
    Trash,
    /// `\Sent`.
    Sent,
    /// `\Drafts`.
    Drafts,
    /// `\Junk`.
    Junk,
}

/// One mailbox in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// The name, with [`crate::store::DELIMITER`] between levels.
    pub name: String,
    /// Whether the user subscribed to it.
    pub subscribed: bool,
    /// Its special use, when the store knows it.
    pub special_use: Option<SpecialUse>,
}

/// Where the octets of a message to append are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageData {
    /// In memory.
    Bytes(Vec<u8>),
    /// In a file (a queue's spool file, an IMAP APPEND literal spooled to disk): the Maildir
    /// store streams it to disk without reading it into memory; the mbox store reads it whole
    /// (bounded by `MailboxOptions::max_message`), as `mailhub-mbox` appends from a slice.
    File(std::path::PathBuf),
}

impl Default for MessageData {
    fn default() -> Self {
        MessageData::Bytes(Vec::new())
    }
}

impl From<Vec<u8>> for MessageData {
    fn from(v: Vec<u8>) -> Self {
        MessageData::Bytes(v)
    }
}

impl From<&[u8]> for MessageData {
    fn from(v: &[u8]) -> Self {
        MessageData::Bytes(v.to_vec())
    }
}

impl MessageData {
    /// The octets in memory, reading a file (blocking) if need be, refusing more than `limit`.
    pub(crate) fn into_bytes(self, limit: u64) -> Result<Vec<u8>, StoreError> {
        match self {
            MessageData::Bytes(b) => Ok(b),
            MessageData::File(path) => {
                let len = std::fs::metadata(&path)
                    .map_err(|e| StoreError::Failed(format!("{}: {e}", path.display())))?
                    .len();
                if len > limit {
                    return Err(StoreError::NotPossible(format!(
                        "message of {len} octets is over the limit of {limit}"
                    )));
                }
                std::fs::read(&path)
                    .map_err(|e| StoreError::Temporary(format!("{}: {e}", path.display())))
            }
        }
    }
}

/// A message to append.
#[derive(Debug, Clone, Default)]
pub struct AppendRequest {
    /// The message octets.
    pub data: MessageData,
    /// Its flags.
    pub flags: FlagSet,
    /// Its internal date; now when `None`.
    pub internal_date: Option<SystemTime>,
}

/// Where an appended message went (UIDPLUS `APPENDUID`, RFC 4315 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The destination's UIDVALIDITY.
    pub uid_validity: u32,
    /// The new message's UID.
    pub uid: Uid,
}

/// Where copied or moved messages went (UIDPLUS `COPYUID`, RFC 4315 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResult {
    /// The destination's UIDVALIDITY.
    pub uid_validity: u32,
    /// `(source UID, destination UID)` pairs, in source UID order.
    pub uids: Vec<(Uid, Uid)>,
}

/// Storage use and limits (RFC 9208 `STORAGE` in octets and `MESSAGE` in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Octets used.
    pub storage_used: u64,
    /// Octet limit.
    pub storage_limit: Option<u64>,
    /// Messages stored.
    pub messages_used: u64,
    /// Message limit.
    pub messages_limit: Option<u64>,
}

/// POP3's unique-id for a message: Dovecot's default `pop3_uidl_format = %08Xu%08Xv`, so a
/// client moving between Dovecot and mailhub on the same Maildir does not download everything
/// again.
pub fn pop3_uidl(uid_validity: u32, uid: Uid) -> String {
    format!("{uid:08X}{uid_validity:08X}")
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The mailbox does not exist (IMAP `NO [NONEXISTENT]`).
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    /// The mailbox exists already (IMAP `NO [ALREADYEXISTS]`).
    #[error("mailbox exists: {0}")]
    MailboxExists(String),
    /// The name cannot be a mailbox here (IMAP `NO [CANNOT]`).
    #[error("invalid mailbox name: {0}")]
    InvalidName(String),
    /// The message is not there any more (expunged by another session).
    #[error("no such message: UID {0}")]
    NoSuchMessage(Uid),
    /// The operation would exceed the quota: a temporary failure (IMAP `NO [OVERQUOTA]`,
    /// SMTP 452 4.2.2).
    #[error("over quota: {0}")]
    OverQuota(String),
    /// Another session holds the maildrop (POP3 `-ERR [IN-USE]`, RFC 2449 §8.1.2).
    #[error("mailbox in use")]
    InUse,
    /// The operation is not possible (INBOX deleted, a keyword table full, …).
    #[error("not possible: {0}")]
    NotPossible(String),
    /// The store cannot answer now (I/O error, lock timeout, full disk): try again later.
    #[error("temporary store failure: {0}")]
    Temporary(String),
    /// The store failed in a way retrying will not fix (corrupt data).
    #[error("store failure: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether retrying later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            StoreError::OverQuota(_) | StoreError::InUse | StoreError::Temporary(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_ops() {
        let mut f = FlagSet::system(SystemFlags::SEEN);
        let change = FlagSet {
            system: SystemFlags::DELETED | SystemFlags::SEEN,
            keywords: ["$Junk".to_owned()].into(),
        };
        f.apply(FlagOp::Add, &change);
        assert!(f.system.contains(SystemFlags::DELETED));
        assert_eq!(f.keywords.len(), 1);
        f.apply(FlagOp::Remove, &FlagSet::system(SystemFlags::SEEN));
        assert_eq!(f.system, SystemFlags::DELETED);
        f.apply(FlagOp::Replace, &FlagSet::default());
        assert_eq!(f, FlagSet::default());
        assert_eq!(SystemFlags::from_name("\\seen"), Some(SystemFlags::SEEN));
        assert_eq!(
            (SystemFlags::SEEN | SystemFlags::DRAFT)
                .names()
                .collect::<Vec<_>>(),
            ["\\Seen", "\\Draft"]
        );
    }

    #[test]
    fn uidl_is_dovecots_default_format() {
        assert_eq!(pop3_uidl(0x5f3e_0001, 7), "000000075F3E0001");
    }
}
