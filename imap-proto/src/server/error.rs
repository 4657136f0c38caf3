//! Caller misuse of the server engine (a bug in the embedding server, not the peer's fault).

/// A decision method was called when the engine did not wait for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The method answers a decision that is not pending.
    #[error("{method} called when no such decision is pending")]
    NotExpected {
        /// The method called.
        method: &'static str,
    },
    /// More octets than announced were given for a streamed FETCH body.
    #[error("{extra} octets beyond the announced length")]
    Overrun {
        /// How many too many.
        extra: u64,
    },
}
