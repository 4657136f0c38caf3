//! [`Event`]: what the client engine tells its caller.

use super::Capabilities;
use crate::error::ClientError;
use crate::reply::Reply;

/// One thing the client engine has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "events carry results the caller acts on"]
pub enum Event {
    /// The server's greeting. A negative one is followed by QUIT and [`Event::Closed`].
    Greeting(Reply),
    /// The session is ready for AUTH or mail: EHLO (and STARTTLS, then EHLO again) is done.
    Ready(Capabilities),
    /// The server accepted STARTTLS: send the pending output, run the TLS handshake, then call
    /// [`super::Client::tls_established`].
    StartTls,
    /// AUTH succeeded (235).
    Authenticated,
    /// AUTH failed with this reply.
    AuthFailed(Reply),
    /// The reply to one RCPT, by index in the envelope.
    RcptResult {
        /// Index of the recipient in [`super::Envelope::recipients`].
        index: usize,
        /// The server's reply.
        reply: Reply,
    },
    /// The content may be sent: [`super::Client::send_body`] then
    /// [`super::Client::finish_body`]. With BDAT and no PIPELINING it comes again after each
    /// chunk's reply.
    BodyReady,
    /// The message is done: the reply for each accepted recipient, by envelope index (in
    /// SMTP the one reply after the content, in LMTP one per recipient).
    MessageResult(Vec<(usize, Reply)>),
    /// The transaction failed before or at its content (MAIL refused, no recipient accepted,
    /// DATA or BDAT refused); the reply says why. The session is ready for the next message.
    MessageFailed(Reply),
    /// A reply to RSET or NOOP.
    Reply(Reply),
    /// The server broke the protocol or timed out; the session is over.
    Error(ClientError),
    /// The session is over (QUIT answered, or the server closed with 421).
    Closed,
}
