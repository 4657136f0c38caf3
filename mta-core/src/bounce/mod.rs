//! Bounces (RFC 3464 DSNs) — see below.
