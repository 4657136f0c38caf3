//! Maildir and Maildir++ mail stores, shared safely with Dovecot, Courier, mutt and mbsync.
//!
//! Unlike the protocol crates of mailhub, this crate does file I/O (and nothing else: no
//! sockets, no threads); `mailhub-mta-core` builds its Maildir store on it. Everything an MDA,
//! an IMAP server and a POP3 server need from a Maildir is here:
//!
//! - [`Maildir`]: one Maildir (maildir.txt): create, deliver (`tmp` → fsync → link into
//!   `new`/`cur` → fsync the directory; never half visible), list `new`/`cur`, move new → cur,
//!   flags in the `:2,` info suffix ([`Flags`], [`MessageName`]), expunge, copy (hard link),
//!   move, `tmp/` cleanup, and finding a message again after another program renamed it.
//! - IMAP state on the same files as Dovecot: [`Maildir::sync_uids`] keeps UIDs, UIDVALIDITY,
//!   UIDNEXT and mod-sequences in `dovecot-uidlist` version 3 ([`UidList`]) under Dovecot's
//!   dot-lock, and [`UidView`] caches that view until a directory or the list changes;
//!   keyword letters `a`–`z` map to names through `dovecot-keywords` ([`Keywords`]).
//! - [`Store`]: a Maildir++ (maildirquota): folders `.Sub.Folder` named in modified UTF-7
//!   ([`FolderName`], [`utf7`]), create/rename/delete/list, subscriptions (Dovecot's and
//!   Courier's files), and the `maildirsize` quota ([`quota`]) checked before every delivery.
//!
//! The parsers of the control files take bytes and do no I/O ([`UidList::parse`],
//! [`Keywords::parse`], [`quota::MaildirSize::parse`], [`MessageName::parse`]); they are
//! fuzzed in `fuzz/fuzz_targets/maildir_*.rs`.
//!
//! ```
//! use mailhub_maildir::{Flags, FolderName, Store};
//! # let dir = tempfile::tempdir()?;
//! let store = Store::create(dir.path().join("Maildir"))?;
//! let delivered = store.inbox().deliver(b"Subject: hi\n\nhello\n")?; // into new/
//! let seen = store.inbox().set_flags(&delivered, Flags::SEEN)?; // cur/<base>:2,S
//! let view = store.inbox().sync_uids()?; // UIDs shared with Dovecot
//! assert_eq!((view.messages[0].uid, &view.messages[0].entry), (1, &seen));
//! let archive = store.create_folder(&FolderName::new("Archive/2026", '/')?)?; // .Archive.2026
//! store.inbox().move_to(&seen, &archive)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors say whether they are temporary ([`Error::is_temporary`]): a full disk, a quota or a
//! lock held too long is a 4xx for an MDA, and in every such case nothing was left behind.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dotlock;
mod error;
mod flags;
mod folder;
mod fsutil;
mod keywords;
mod maildir;
mod name;
pub mod quota;
mod store;
mod uidlist;
mod uids;
pub mod utf7;
mod view;

pub use dotlock::LockOptions;
pub use error::{Error, ParseError};
pub use flags::Flags;
pub use folder::{FolderName, TRASH};
pub use keywords::{Keywords, MAX_KEYWORDS, is_valid_keyword};
pub use maildir::{Delivery, Entry, Maildir, Options, Subdir};
pub use name::{Info, MAX_NAME_LEN, MessageName, escape_host, unique_base};
pub use store::{COURIER_SUBSCRIPTIONS, MAILDIRFOLDER, SUBSCRIPTIONS, Store, parse_subscriptions};
pub use uidlist::{UidList, UidRecord};
pub use uids::{KEYWORDS, UIDLIST, UidMessage, UidSnapshot, index_by_base};
pub use view::{RECENT, UidView};
