//! The error types of this crate.
//!
//! [`Error`] is what a file operation returns; [`ParseError`] is what the parsers of the
//! control files (`dovecot-uidlist`, `dovecot-keywords`, `maildirsize`, subscriptions) and of
//! folder names return, with no I/O involved. [`Error::is_temporary`] tells an MDA whether to
//! answer a delivery with a temporary (4xx) or a permanent (5xx) failure.

use std::io;
use std::path::PathBuf;

/// Why a Maildir operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed. `op` names the operation ("write", "link", "fsync", …).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The operation that failed.
        op: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file system is full (`ENOSPC`) or the user's file system quota is exhausted
    /// (`EDQUOT`). Nothing of the message was left behind; the delivery may be retried later.
    #[error("no space left for {}: {source}", path.display())]
    NoSpace {
        /// The file that could not be written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The Maildir++ quota in `maildirsize` does not allow the message (maildirquota,
    /// "Delivering to a Maildir++" step 2). Nothing was left behind; temporary, as Courier's
    /// `deliverquota` (exit 77) treats it.
    #[error("over quota: {used_bytes} bytes / {used_count} messages in use, limit {limit}")]
    OverQuota {
        /// Bytes in use before this message.
        used_bytes: i64,
        /// Messages in use before this message.
        used_count: i64,
        /// The quota definition, as in the first line of `maildirsize`.
        limit: String,
    },
    /// A dot-lock (`dovecot-uidlist.lock`, `dovecot-keywords.lock`) stayed held by someone
    /// else longer than the configured timeout and was not old enough to be called stale.
    #[error("timed out waiting for lock {}", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory is not a Maildir: `tmp`, `new` or `cur` is missing.
    #[error("{} is not a Maildir (missing tmp, new or cur)", path.display())]
    NotAMaildir {
        /// The directory.
        path: PathBuf,
    },
    /// A message that was listed is gone from `new/` and `cur/`: another program expunged it.
    #[error("message {base} no longer exists")]
    MessageGone {
        /// The unique (base) part of its file name.
        base: String,
    },
    /// A folder of that name already exists.
    #[error("folder {0:?} already exists")]
    FolderExists(String),
    /// No folder of that name exists.
    #[error("folder {0:?} does not exist")]
    FolderNotFound(String),
    /// A folder name cannot be stored in a Maildir++ (see [`crate::FolderName`]).
    #[error("invalid folder name: {0}")]
    InvalidFolderName(&'static str),
    /// All 26 keyword letters `a`–`z` are taken in this folder's `dovecot-keywords`.
    #[error("no keyword letter left for {0:?}")]
    KeywordsFull(String),
    /// A keyword name cannot be stored (empty, or with spaces or control characters).
    #[error("invalid keyword name {0:?}")]
    InvalidKeyword(String),
    /// A control file could not be parsed.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: ParseError,
    },
}

impl Error {
    /// Whether the failure is temporary: the same operation may succeed later (disk full,
    /// quota, lock contention, an I/O error). An MDA answers these with a 4xx reply.
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::NoSpace { .. }
                | Error::OverQuota { .. }
                | Error::LockTimeout { .. }
        )
    }

    /// Wraps an I/O error, telling a full disk or file system quota apart.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(code)
                if code == rustix::io::Errno::NOSPC.raw_os_error()
                    || code == rustix::io::Errno::DQUOT.raw_os_error() =>
            {
                Error::NoSpace { path, source }
            }
            _ => Error::Io { op, path, source },
        }
    }
}

/// Why a control file or a name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line did not follow the file's syntax.
    #[error("line {line}: {what}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What was expected.
        what: &'static str,
    },
    /// The file's version is not one this crate reads (`dovecot-uidlist` other than 3).
    #[error("unsupported version {0}")]
    Version(u32),
    /// The file is longer than the configured limit.
    #[error("file longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// UIDs in a `dovecot-uidlist` are not strictly ascending.
    #[error("line {line}: UIDs not ascending")]
    UidOrder {
        /// 1-based line number.
        line: usize,
    },
    /// A string is not valid modified UTF-7 (RFC 3501 §5.1.3).
    #[error("invalid modified UTF-7")]
    Utf7,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_and_quota_are_temporary() {
        let enospc = io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        let edquot = io::Error::from_raw_os_error(rustix::io::Errno::DQUOT.raw_os_error());
        for e in [enospc, edquot] {
            let err = Error::io("write", "/m/tmp/x", e);
            assert!(matches!(err, Error::NoSpace { .. }), "{err:?}");
            assert!(err.is_temporary());
        }
        let other = Error::io("link", "/m/new/x", io::ErrorKind::PermissionDenied.into());
        assert!(matches!(other, Error::Io { op: "link", .. }));
        assert!(!Error::FolderExists("x".into()).is_temporary());
    }
}
