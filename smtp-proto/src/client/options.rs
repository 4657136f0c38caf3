//! [`ClientOptions`] and the inputs of a client session: [`Envelope`], [`AuthStep`].
//!
//! Timeouts default to RFC 5321 §4.5.3.2.

use std::time::Duration;

use crate::address::{ForwardPath, Host, ReversePath};
use crate::params::{MailParams, RcptParams};

/// When to use STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never.
    Never,
    /// When the server offers it.
    #[default]
    Opportunistic,
    /// Always; a server that does not offer it gets QUIT and [`crate::ClientError::MissingExtension`].
    Required,
}

/// How long to wait for each reply (RFC 5321 §4.5.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// The greeting (§4.5.3.2.1: 5 minutes).
    pub greeting: Duration,
    /// MAIL, RCPT and the other commands (§4.5.3.2.2–3: 5 minutes).
    pub command: Duration,
    /// The 354 after DATA (§4.5.3.2.4: 2 minutes).
    pub data_init: Duration,
    /// The reply after the content (§4.5.3.2.6: 10 minutes).
    pub data_end: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts {
            greeting: Duration::from_secs(300),
            command: Duration::from_secs(300),
            data_init: Duration::from_secs(120),
            data_end: Duration::from_secs(600),
        }
    }
}

/// A client session's configuration.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The name sent with EHLO/HELO/LHLO.
    pub hello_name: Host,
    /// Speak LMTP.
    pub lmtp: bool,
    /// The connection is already protected (implicit TLS).
    pub tls: bool,
    /// STARTTLS use.
    pub starttls: TlsPolicy,
    /// Pipeline when the server offers PIPELINING.
    pub pipelining: bool,
    /// Send content with BDAT when the server offers CHUNKING.
    pub chunking: bool,
    /// Reply timeouts.
    pub timeouts: ClientTimeouts,
    /// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; servers exceed it).
    pub max_reply_line: usize,
    /// Most lines in one reply.
    pub max_reply_lines: usize,
}

impl ClientOptions {
    /// Options with the defaults: opportunistic STARTTLS, pipelining and chunking when offered.
    pub fn new(hello_name: Host) -> ClientOptions {
        ClientOptions {
            hello_name,
            lmtp: false,
            tls: false,
            starttls: TlsPolicy::Opportunistic,
            pipelining: true,
            chunking: true,
            timeouts: ClientTimeouts::default(),
            max_reply_line: 4096,
            max_reply_lines: 256,
        }
    }
}

/// One message's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path.
    pub from: ReversePath,
    /// MAIL parameters.
    pub params: MailParams,
    /// Recipients with their RCPT parameters.
    pub recipients: Vec<(ForwardPath, RcptParams)>,
}

/// A SASL step: takes the server's decoded challenge, returns the decoded response, or an
/// error that cancels the exchange with `*`.
pub type AuthStep = Box<dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + Send>;
