//! [`Event`]: what the server engine tells the embedding server.

use crate::address::{ForwardPath, Host, ReversePath};
use crate::params::{MailParams, RcptParams};
use crate::reply::Reply;
use crate::secret::Secret;

/// Which greeting command the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeloKind {
    /// HELO (no extensions).
    Helo,
    /// EHLO.
    Ehlo,
    /// LHLO (LMTP).
    Lhlo,
}

/// The argument of HELO, EHLO or LHLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloName {
    /// A domain or address literal, as RFC 5321 §4.1.1.1 asks.
    Host(Host),
    /// Anything else, accepted under [`super::ServerOptions::quirk_lenient_hello`]: one
    /// printable word, kept for logs and `Received:` headers.
    Other(String),
}

impl std::fmt::Display for HelloName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HelloName::Host(h) => h.fmt(f),
            HelloName::Other(s) => f.write_str(s),
        }
    }
}

/// One thing the server engine has to say. Events marked *decision* wait for an answer
/// (`accept`, `accept_with`, `reject`, or the AUTH and LMTP methods) before the engine reads
/// further; the others are news.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "events carry decisions and message content"]
pub enum Event {
    /// *Decision*: a client connected. `accept()` sends the 220 greeting; `reject(reply)`
    /// sends a 554 and refuses every command but QUIT (RFC 5321 §3.1), or closes after a 421.
    Connect,
    /// *Decision*: HELO, EHLO or LHLO. `accept()` replies 250 (with the extension list for
    /// EHLO/LHLO).
    Hello {
        /// The client's claimed name.
        host: HelloName,
        /// Which command.
        kind: HeloKind,
    },
    /// *Decision*: MAIL FROM, after the engine checked sequence, syntax and parameters.
    Mail {
        /// The reverse-path.
        from: ReversePath,
        /// The parameters.
        params: MailParams,
    },
    /// *Decision*: RCPT TO.
    Rcpt {
        /// The forward-path.
        to: ForwardPath,
        /// The parameters.
        params: RcptParams,
    },
    /// *Decision*: DATA; `accept()` sends 354 and content follows as [`Event::BodyChunk`].
    DataStart,
    /// *Decision*: a BDAT chunk of `size` octets is about to be read (RFC 3030). Its octets
    /// follow the command without waiting, so `reject(reply)` sends the reply and the engine
    /// reads and drops them.
    BdatStart {
        /// Octets in this chunk.
        size: u64,
        /// Whether it is the last.
        last: bool,
    },
    /// Message content, dot-unstuffed (DATA) or as sent (BDAT).
    BodyChunk(Vec<u8>),
    /// *Decision*: the message is complete. `accept()` replies 250; in LMTP, `accept()`
    /// replies 250 for every recipient and [`super::Server::lmtp_replies`] gives one each.
    MessageEnd {
        /// Accepted recipients (the number of replies LMTP sends).
        recipients: usize,
    },
    /// The engine refused the message after its content (bare CR/LF, too big, line too long)
    /// and sent this reply: drop the content received so far.
    MessageRejected(Reply),
    /// The transaction was discarded (RSET, a new EHLO, STARTTLS): drop its state.
    Reset,
    /// *Decision*: AUTH (RFC 4954). Answer with `auth_challenge`, `auth_success` or `reject`.
    Auth {
        /// The mechanism, upper case, one of those advertised.
        mechanism: String,
        /// The decoded initial response (`=` gives an empty one).
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// *Decision*: the client's decoded answer to a 334 challenge.
    AuthResponse(Secret<Vec<u8>>),
    /// The client cancelled AUTH with `*`, or sent bad base64; the engine replied 501.
    AuthCancelled,
    /// *Decision*: VRFY (only when [`super::ServerOptions::vrfy`] is on).
    Vrfy(String),
    /// *Decision*: EXPN (only when [`super::ServerOptions::expn`] is on).
    Expn(String),
    /// STARTTLS was accepted: send the pending output, run the TLS handshake, then call
    /// [`super::Server::tls_established`]. Bytes that arrived after the command were dropped.
    StartTls,
}
