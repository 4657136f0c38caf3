//! What the server engine tells its caller.

use super::MessageRef;
use crate::Secret;

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The client was idle for longer than the idle timeout (RFC 1939 §3); no reply was sent
    /// and nothing was deleted.
    Timeout,
    /// The client made more mistakes than [`super::Limits::max_errors`].
    TooManyErrors,
    /// The client sent more input than [`super::Limits::max_buffered_input`] while commands
    /// were waiting.
    InputOverflow,
    /// The caller gave up streaming a message after its first chunk, so the response could not
    /// be completed.
    Aborted,
}

/// An event from [`super::Server::poll_event`]. Variants that name a decision must be
/// answered before the engine reads the next command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// USER and PASS were given. Decide with [`super::Server::accept_login`] or
    /// [`super::Server::reject`] (`[AUTH]` for wrong credentials, `[SYS/TEMP]` when the user
    /// database is down, `[LOGIN-DELAY]`).
    Login {
        /// The user name from USER.
        user: String,
        /// The password from PASS.
        password: Secret<String>,
    },
    /// APOP was given. Look up the user's shared secret and give it to
    /// [`super::Server::apop_secret`] (`None` for an unknown user); the engine checks the
    /// digest.
    ApopLookup {
        /// The user name.
        user: String,
    },
    /// AUTH was given with a mechanism from [`super::ServerOptions::sasl_mechanisms`] (RFC
    /// 5034 §4). Start the mechanism, then answer with [`super::Server::auth_challenge`],
    /// [`super::Server::accept_login`] or [`super::Server::reject`].
    AuthStart {
        /// The mechanism, uppercased.
        mechanism: String,
        /// The decoded initial response, if the client sent one.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// The client answered a challenge (decoded). Answer as for [`ServerEvent::AuthStart`].
    AuthResponse {
        /// The decoded response.
        response: Secret<Vec<u8>>,
    },
    /// The client cancelled the exchange with `*` or sent bad base64; the engine answered
    /// `-ERR`. Drop the SASL session.
    AuthAborted,
    /// The user is authenticated: lock the maildrop and list it with
    /// [`super::Server::load_maildrop`], or [`super::Server::reject`] with `[IN-USE]` when
    /// another session holds the lock (RFC 2449 §8.1.2).
    LockMaildrop {
        /// The user whose maildrop to open.
        user: String,
    },
    /// The `+OK` to STLS is queued: send it (drain [`super::Server::poll_transmit`]), run the
    /// TLS handshake, then call [`super::Server::tls_established`].
    StartTls,
    /// RETR or TOP: stream the message's bytes with [`super::Server::message_chunk`] and end
    /// with [`super::Server::message_end`], or [`super::Server::reject`] before the first
    /// chunk if it cannot be read.
    Retrieve {
        /// Which message.
        message: MessageRef,
        /// For TOP, the number of body lines; the engine cuts the output itself.
        top_lines: Option<u32>,
    },
    /// QUIT in the TRANSACTION state: the session is in UPDATE (RFC 1939 §6). Remove the
    /// deleted messages, release the maildrop lock, then call
    /// [`super::Server::update_done`] or [`super::Server::reject`].
    Update {
        /// Messages marked with DELE.
        deleted: Vec<MessageRef>,
        /// Messages sent whole by RETR and not deleted (for `EXPIRE 0`, RFC 2449 §6.7).
        retrieved: Vec<MessageRef>,
    },
    /// The session is over; once [`super::Server::poll_transmit`] is drained, close the
    /// connection. If the maildrop was locked and no [`ServerEvent::Update`] came, release the
    /// lock without deleting anything.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}
