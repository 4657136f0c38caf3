//! mailhub: embeddable mail protocol engines and stores.
//!
//! This facade re-exports each mailhub crate behind a feature of the same name (all on by
//! default), so an application can depend on `mailhub` alone:
//!
//! | module | crate | what it is |
//! |---|---|---|
//! | [`sasl`] | `mailhub-sasl` | SASL mechanisms as step machines, server and client side |
//!
//! See the repository's README.md and ARCHITECTURE.md for the whole family.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// SASL mechanisms (RFC 4422): see [`mailhub_sasl`].
#[cfg(feature = "sasl")]
pub use mailhub_sasl as sasl;
