//! What the embedding server configures ([`ServerOptions`], [`Limits`]) and what it gives the
//! engine about a maildrop ([`Maildrop`], [`MessageInfo`]).

use std::time::Duration;

use crate::{Expire, UniqueId};

/// The shortest idle timeout RFC 1939 §3 allows: "at least 10 minutes".
pub const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Hard limits of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, CRLF included. RFC 2449 §4 sets 255 octets; the default allows
    /// 512 because e-mail addresses as user names and long passwords exceed it in practice.
    pub max_line: usize,
    /// Longest AUTH response line, CRLF included (RFC 5034 §4: responses may be longer than
    /// command lines).
    pub max_auth_line: usize,
    /// `-ERR` answers to the client's mistakes (bad syntax, wrong state, failed logins) after
    /// which the session is closed.
    pub max_errors: u32,
    /// Idle time after which the session is closed without a reply (RFC 1939 §3). Values
    /// below [`MIN_IDLE_TIMEOUT`] are raised to it.
    pub idle_timeout: Duration,
    /// Most input bytes held while commands wait to be processed (pipelined commands, RFC 2449
    /// §6.6). A caller that feeds input only after `poll_event` returned `None` stays far below
    /// it; passing it closes the session.
    pub max_buffered_input: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 512,
            max_auth_line: 16 * 1024,
            max_errors: 10,
            idle_timeout: MIN_IDLE_TIMEOUT,
            max_buffered_input: 256 * 1024,
        }
    }
}

/// When USER/PASS and the SASL mechanisms that send the password in the clear (PLAIN,
/// LOGIN) are allowed on a connection without TLS (RFC 2595 §2.2, RFC 5034 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaintextPolicy {
    /// Never without TLS.
    Never,
    /// Only when the peer is on the loopback interface ([`ServerOptions::loopback`]).
    #[default]
    Loopback,
    /// Always. Only for networks the operator trusts.
    Always,
}

/// The configuration of one server session.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Limits.
    pub limits: Limits,
    /// The greeting's text after `+OK` (the APOP timestamp is appended).
    pub greeting: String,
    /// The APOP timestamp (`<process-id.clock@hostname>`, RFC 1939 §7), made fresh by the
    /// caller for each connection. `None` (the default) turns APOP off: set it only when the
    /// embedding server has the users' shared secrets.
    pub apop_timestamp: Option<String>,
    /// The connection is already protected by TLS (port 995, RFC 8314).
    pub tls: bool,
    /// STLS is offered (the caller has a TLS configuration).
    pub stls: bool,
    /// The peer connected over the loopback interface.
    pub loopback: bool,
    /// When plaintext passwords are allowed without TLS.
    pub plaintext: PlaintextPolicy,
    /// USER/PASS is accepted at all.
    pub user_pass: bool,
    /// SASL mechanisms for AUTH, in the order to announce them. PLAIN and LOGIN are hidden
    /// and refused while [`PlaintextPolicy`] forbids plaintext passwords.
    pub sasl_mechanisms: Vec<String>,
    /// TOP is offered.
    pub top: bool,
    /// UIDL is offered.
    pub uidl: bool,
    /// PIPELINING is announced (the engine always processes pipelined commands in order).
    pub pipelining: bool,
    /// RESP-CODES is announced.
    pub resp_codes: bool,
    /// UTF8 is offered (RFC 6856).
    pub utf8: bool,
    /// EXPIRE policy to announce, and whether it may differ per user (RFC 2449 §6.7).
    pub expire: Option<(Expire, bool)>,
    /// LOGIN-DELAY seconds to announce, and whether it may differ per user (RFC 2449 §6.5).
    /// The engine has no memory across sessions: the caller enforces the delay by answering
    /// [`super::ServerEvent::Login`] (or the SASL events) with `reject` and
    /// [`crate::RespCode::LoginDelay`].
    pub login_delay: Option<(u32, bool)>,
    /// IMPLEMENTATION text (RFC 2449 §6.9).
    pub implementation: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            greeting: "POP3 server ready".into(),
            apop_timestamp: None,
            tls: false,
            stls: false,
            loopback: false,
            plaintext: PlaintextPolicy::default(),
            user_pass: true,
            sasl_mechanisms: Vec::new(),
            top: true,
            uidl: true,
            pipelining: true,
            resp_codes: true,
            utf8: false,
            expire: None,
            login_delay: None,
            implementation: None,
        }
    }
}

/// One message of the maildrop as the session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// Size in octets with CRLF line ends, as RETR will send it before dot-stuffing
    /// (RFC 1939 §11).
    pub size: u64,
    /// The unique-id for UIDL.
    pub uid: UniqueId,
}

/// The maildrop listing the caller hands over once it has locked the maildrop. The engine keeps
/// it as the session's snapshot: messages that arrive later are invisible to this session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maildrop {
    /// The messages, message number 1 first.
    pub messages: Vec<MessageInfo>,
    /// This user's EXPIRE policy, announced by CAPA in the TRANSACTION state.
    pub expire: Option<Expire>,
    /// This user's LOGIN-DELAY, announced by CAPA in the TRANSACTION state.
    pub login_delay: Option<u32>,
}

/// A message named in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// Message number (1-based, RFC 1939 §5).
    pub msg: u32,
    /// Index into [`Maildrop::messages`].
    pub index: usize,
    /// The message's unique-id.
    pub uid: UniqueId,
    /// The message's size.
    pub size: u64,
}
