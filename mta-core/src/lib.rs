//! The hub of mailhub: where the Sans-IO protocol engines meet sockets, files and users.
//!
//! Unlike the protocol crates, this crate does I/O — on the streams it is given and on the
//! files of its stores — but it stays runtime-agnostic: it never spawns a task, and reaches
//! blocking work and timers only through the [`runtime::Runtime`] trait the embedder provides
//! ([`runtime::DefaultRuntime`] works anywhere). Connections are any
//! `futures::io::{AsyncRead, AsyncWrite}` stream.
//!
//! - [`store`]: async traits for a user's mail, with in-memory, Maildir++ and mbox implementations,
//!   change notification between sessions and POP3's maildrop lock;
//! - [`tls`]: rustls server and client configurations (PEM files, a self-signed certificate
//!   made on first start, SNI), STARTTLS/implicit TLS streams and RFC 9266 `tls-exporter`
//!   channel binding;
//! - [`auth`]: the authenticator every driver shares (SASL through `mailhub-sasl`, the
//!   plaintext policy, a delay after failures, a per-address failure limit);
//! - [`session`]: the session drivers, one async function per connection: SMTP, submission and
//!   LMTP servers, the SMTP/LMTP client and the queue's SMTP transport, IMAP and POP3 servers;
//! - [`route`]: recipient decisions at RCPT time (local and virtual domains, `/etc/aliases`,
//!   `.forward`, plus-addressing, postmaster/abuse, relocated users);
//! - [`policy`]: relay control (closed by default), access tables, limits, DNSBL/SPF/
//!   greylisting hooks;
//! - [`queue`]: the durable spool (fsync before 250), retries, expiry, inspection;
//! - [`bounce`]: RFC 3464 delivery status notifications;
//! - [`deliver`]: the [`deliver::Transport`] trait, local delivery into the stores, MX lookup;
//! - [`config`]: the TOML configuration, first start (data directory, certificate, demo user)
//!   and, with the `tokio` feature, the `Hub` that runs every listener and the queue.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod bounce;
pub mod config;
pub mod deliver;
pub mod policy;
pub mod queue;
pub mod route;
pub mod runtime;
pub mod session;
pub mod store;
pub mod tls;
