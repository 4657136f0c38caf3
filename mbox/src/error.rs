//! The one error type of this crate.
//!
//! [`Error::is_temporary`] tells a server which failures deserve a temporary reply (SMTP 4xx,
//! IMAP `NO [INUSE]`): a lock that could not be taken in time, or an I/O error that may clear.

use std::path::PathBuf;

/// Why an mbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The underlying file system said no.
    #[error("mbox I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The data does not start with a `From ` line (after optional blank lines): not an mbox.
    #[error("not an mbox: no `From ` line at offset {offset}")]
    NotMbox {
        /// Where a separator line was expected.
        offset: u64,
    },
    /// A separator line was longer than the configured limit.
    #[error("`From ` line at offset {offset} longer than {limit} octets")]
    FromLineTooLong {
        /// Offset of the line.
        offset: u64,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// An envelope could not be written: the sender has a blank or a control character, or the
    /// time is outside the years 1 to 9999.
    #[error("envelope sender or date cannot be written in a `From ` line")]
    InvalidEnvelope,
    /// A variant name other than mboxo, mboxrd, mboxcl, mboxcl2.
    #[error("unknown mbox variant")]
    UnknownVariant,
    /// The lock could not be taken before the lock timeout: another process holds it. Temporary.
    #[error("timed out waiting for the lock on {path}")]
    LockTimeout {
        /// The mailbox whose lock was wanted.
        path: PathBuf,
    },
    /// A message was looked up by an offset or UID that the mailbox no longer has there: the
    /// caller's index is stale (another process rewrote the file); rescan.
    #[error("no message at offset {offset}: the mailbox changed")]
    Stale {
        /// The offset that was asked for.
        offset: u64,
    },
    /// A message, or the mailbox, is larger than the configured limit.
    #[error("message larger than {limit} octets")]
    TooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// UIDs are exhausted (UIDNEXT would pass 2^32 - 1); the mailbox needs a new UIDVALIDITY.
    #[error("UID space exhausted")]
    UidsExhausted,
}

impl Error {
    /// Whether trying again later may succeed: lock timeouts and I/O errors that are not about
    /// the data itself (e.g. a full disk or an interrupted call).
    pub fn is_temporary(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            Error::LockTimeout { .. } | Error::Stale { .. } => true,
            Error::Io(e) => matches!(
                e.kind(),
                K::Interrupted | K::WouldBlock | K::TimedOut | K::StorageFull | K::QuotaExceeded
            ),
            _ => false,
        }
    }
}
