//! The one error type of this crate.
//!
//! Every variant but [`Error::OutOfSequence`] describes the peer's behaviour or the outcome of
//! the exchange, and maps onto a protocol reply (see [`Error::kind`]); `OutOfSequence` is a bug in
//! the caller and maps onto nothing.

use crate::Mechanism;

/// Why an exchange did not end in success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer's data was not valid base64 (RFC 4422 §3.3 framing by the protocol).
    #[error("invalid base64 in SASL data")]
    BadBase64,
    /// A message from the peer did not follow the mechanism's syntax.
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    /// A message from the peer was longer than the configured limit.
    #[error("SASL message longer than {limit} octets")]
    TooLong {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The client cancelled the exchange (`*`, RFC 4422 §3.5).
    #[error("authentication cancelled by the client")]
    Cancelled,
    /// The credentials were wrong, or the user is unknown: the two are never told apart, so
    /// that a peer cannot probe for user names.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The credentials were right, but the authentication identity may not act as the
    /// requested authorization identity (RFC 4422 §3.4.1).
    #[error("not authorized to act as the requested identity")]
    NotAuthorized,
    /// The credential store could not answer right now (a database down, a file unreadable);
    /// the client may try again later.
    #[error("temporary authentication failure: {0}")]
    Temporary(String),
    /// The store has no credentials of the kind this mechanism needs for this user (for
    /// example SCRAM keys when only an Argon2 hash is stored). RFC 4954 calls this "a password
    /// transition is needed" (432 4.7.12).
    #[error("the stored credentials cannot be used with this mechanism")]
    TransitionNeeded,
    /// No mechanism of that name is known.
    #[error("unknown SASL mechanism {0:?}")]
    UnknownMechanism(String),
    /// The mechanism is known but not enabled here.
    #[error("SASL mechanism {0} is not enabled")]
    MechanismDisabled(Mechanism),
    /// The mechanism exposes credentials and the channel is not protected by TLS (RFC 4954
    /// 538 5.7.11).
    #[error("this mechanism requires an encrypted connection")]
    EncryptionRequired,
    /// A SCRAM nonce did not continue the one sent (RFC 5802 §5.1 `r=`).
    #[error("nonce mismatch")]
    NonceMismatch,
    /// Channel binding failed: the data did not match, the type is not supported, or a
    /// downgrade was detected (RFC 5802 §6).
    #[error("channel binding failed: {0}")]
    ChannelBinding(&'static str),
    /// Client side: the server's proof of knowing the password did not verify (SCRAM `v=`), so
    /// the server is not the one the client thinks it is.
    #[error("the server's signature did not verify")]
    ServerSignatureMismatch,
    /// Client side: the server reported an error inside the mechanism (SCRAM `e=`, an
    /// OAUTHBEARER status document).
    #[error("the server reported: {0}")]
    ServerError(String),
    /// The caller drove the exchange out of order (a step after the end, a start twice). This
    /// is a bug in the caller, not in the peer.
    #[error("SASL exchange driven out of sequence: {0}")]
    OutOfSequence(&'static str),
}

/// The classes of failure a protocol engine turns into a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Syntax: bad base64, malformed, too long (SMTP 501, IMAP BAD, POP3 -ERR).
    Syntax,
    /// The client cancelled (SMTP 501 5.0.0, IMAP BAD).
    Cancelled,
    /// Wrong credentials or not authorized (SMTP 535 5.7.8, IMAP `NO [AUTHENTICATIONFAILED]`).
    Failed,
    /// Try again later (SMTP 454 4.7.0, IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`).
    Temporary,
    /// Password transition needed (SMTP 432 4.7.12).
    TransitionNeeded,
    /// Mechanism unknown or not enabled (SMTP 504 5.5.4, IMAP NO).
    Unsupported,
    /// Encryption required (SMTP 538 5.7.11, IMAP `NO [PRIVACYREQUIRED]`).
    EncryptionRequired,
    /// Caller bug.
    Internal,
}

impl Error {
    /// The reply class this error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadBase64 | Error::Malformed(_) | Error::TooLong { .. } => ErrorKind::Syntax,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::AuthenticationFailed
            | Error::NotAuthorized
            | Error::NonceMismatch
            | Error::ChannelBinding(_)
            | Error::ServerSignatureMismatch
            | Error::ServerError(_) => ErrorKind::Failed,
            Error::Temporary(_) => ErrorKind::Temporary,
            Error::TransitionNeeded => ErrorKind::TransitionNeeded,
            Error::UnknownMechanism(_) | Error::MechanismDisabled(_) => ErrorKind::Unsupported,
            Error::EncryptionRequired => ErrorKind::EncryptionRequired,
            Error::OutOfSequence(_) => ErrorKind::Internal,
        }
    }
}

/// An error of a credential store ([`crate::Credentials`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The store cannot answer now; the exchange fails with [`Error::Temporary`].
    #[error("credential store unavailable: {0}")]
    Unavailable(String),
}

impl From<CredentialError> for Error {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Unavailable(why) => Error::Temporary(why),
        }
    }
}
