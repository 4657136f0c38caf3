//! mailhub: embeddable mail protocol engines and stores.
//!
//! This facade re-exports each mailhub crate behind a feature of the same name (all on by
//! default), so an application can depend on `mailhub` alone:
//!
//! | module | crate | what it is |
//! |---|---|---|
//! | [`sasl`] | `mailhub-sasl` | SASL mechanisms as step machines, server and client side |
//! | [`smtp`] | `mailhub-smtp-proto` | Sans-IO SMTP/ESMTP/LMTP server and client engines |
//! | [`imap`] | `mailhub-imap-proto` | IMAP4rev1/IMAP4rev2 codec, server and client engines |
//! | [`pop3`] | `mailhub-pop3-proto` | Sans-IO POP3 server and client engines |
//! | [`maildir`] | `mailhub-maildir` | Maildir and Maildir++ store |
//! | [`mbox`] | `mailhub-mbox` | mbox family store |
//! | [`mta`] | `mailhub-mta-core` | stores, session drivers, TLS, authentication, queue, routing, delivery, configuration |
//!
//! Off by default, for the hub in [`mta`]: `tokio` (the `Hub` runner), `hickory` (MX lookups
//! through hickory-resolver) and `mail-auth` (SPF, DKIM and DMARC verification as a message
//! hook, through the mail-auth crate).
//!
//! See the repository's README.md and ARCHITECTURE.md for the whole family.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// SASL mechanisms (RFC 4422): see [`mailhub_sasl`].
#[cfg(feature = "sasl")]
pub use mailhub_sasl as sasl;

/// SMTP, ESMTP and LMTP engines: see [`mailhub_smtp_proto`].
#[cfg(feature = "smtp")]
pub use mailhub_smtp_proto as smtp;

/// The IMAP codec and engines: see [`mailhub_imap_proto`].
#[cfg(feature = "imap")]
pub use mailhub_imap_proto as imap;

/// POP3 engines: see [`mailhub_pop3_proto`].
#[cfg(feature = "pop3")]
pub use mailhub_pop3_proto as pop3;

/// Maildir and Maildir++: see [`mailhub_maildir`].
#[cfg(feature = "maildir")]
pub use mailhub_maildir as maildir;

/// mbox: see [`mailhub_mbox`].
#[cfg(feature = "mbox")]
pub use mailhub_mbox as mbox;

/// The hub where engines meet sockets, files and users: see [`mailhub_mta_core`].
#[cfg(feature = "mta")]
pub use mailhub_mta_core as mta;
