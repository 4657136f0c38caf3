//! mbox mail stores: the mboxo, mboxrd, mboxcl and mboxcl2 variants (RFC 4155 and qmail's
//! mbox(5)), shared safely with mutt, the MTA's delivery agent, UW IMAP, Dovecot and Python's
//! `mailbox` module.
//!
//! This crate does file I/O and nothing else: no sockets, no threads, no runtime. Its calls
//! block (on the disk and, bounded by a timeout, on other processes' locks); `mailhub-mta-core`
//! runs them where blocking is fine and maps the errors onto protocol replies
//! ([`Error::is_temporary`] → a temporary failure).
//!
//! - [`envelope`]: the `From ` separator line, written exactly (RFC 4155 Appendix A) and read
//!   leniently.
//! - [`variant`]: the four variants and their streaming `>From ` quoting; [`detect()`] guesses
//!   the variant of an existing file.
//! - [`reader`]: a streaming splitter over any `Read + Seek` in bounded memory, with each
//!   message's offset and length, and random access by offset.
//! - [`metadata`]: IMAP flags, keywords and UIDs in `Status:`, `X-Status:`, `X-Keywords:`,
//!   `X-UID:`, `X-IMAPbase:` and the folder-data pseudo-message, as UW IMAP and Dovecot keep them.
//! - [`lock`]: dotlock (NFS-safe), fcntl and flock in a configurable order.
//! - [`Mailbox`]: the store: scan, fetch by offset, append under lock with fsync and
//!   roll-back, flag updates and expunge by a rewrite that cannot lose a message.
//! - [`maildir`]: conversion to and from Maildir (the `mb2md` job and back).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod detect;
pub mod envelope;
mod error;
pub mod lock;
pub mod mailbox;
pub mod maildir;
pub mod metadata;
pub mod reader;
pub mod variant;
pub mod write;

pub use detect::{Detection, detect};
pub use envelope::Envelope;
pub use error::Error;
pub use lock::{LockMethod, LockMode, LockOptions, MboxLock};
pub use mailbox::{Action, Entry, Mailbox, MailboxOptions, NewMessage, Snapshot, UpdateReport};
pub use metadata::{Flags, FolderMeta, MessageMeta};
pub use reader::{Anomalies, MessageInfo, ReadOptions, Reader, copy_message, read_message};
pub use variant::Variant;
