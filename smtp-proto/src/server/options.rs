//! [`ServerOptions`]: what the server offers and the limits it holds the client to.
//!
//! Defaults follow RFC 5321 §4.5.3.1 (sizes) and §4.5.3.2.7 (the server waits at least five
//! minutes for the next command or data), RFC 4954 §4 (12288 octets for an AUTH line), and
//! otherwise choose the safe side: no extension is advertised unless enabled, bare CR/LF in
//! message content is rejected.

use std::time::Duration;

use crate::data::LineEndings;

/// The ESMTP extensions the server advertises in its EHLO (or LHLO) reply. Each is accepted
/// only when advertised: a parameter of a disabled extension gets 555.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// SIZE (RFC 1870), advertised with [`Limits::max_message_size`].
    pub size: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eightbitmime: bool,
    /// BINARYMIME (RFC 3030); needs `chunking`.
    pub binarymime: bool,
    /// CHUNKING and BDAT (RFC 3030).
    pub chunking: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034): every 2xx, 4xx and 5xx reply but the greeting and the
    /// HELO/EHLO answer carries a status code, whether or not the client used EHLO.
    pub enhanced_status_codes: bool,
    /// REQUIRETLS (RFC 8689), advertised only on a TLS connection.
    pub requiretls: bool,
    /// DELIVERBY (RFC 2852) with the minimum BY time in seconds (0: none advertised).
    pub deliverby: Option<u32>,
    /// MT-PRIORITY (RFC 6710).
    pub mt_priority: bool,
    /// STARTTLS (RFC 3207), advertised while the connection is not yet protected.
    pub starttls: bool,
    /// AUTH (RFC 4954) with these mechanism names; empty: AUTH off.
    pub auth: Vec<String>,
    /// Offer AUTH only on a TLS connection (RFC 8314 §3; the default of `new`).
    pub auth_requires_tls: bool,
}

impl Extensions {
    /// Every extension on, with AUTH PLAIN and LOGIN after TLS: a submission server.
    pub fn all() -> Extensions {
        Extensions {
            size: true,
            pipelining: true,
            eightbitmime: true,
            binarymime: true,
            chunking: true,
            smtputf8: true,
            dsn: true,
            enhanced_status_codes: true,
            requiretls: true,
            deliverby: Some(0),
            mt_priority: true,
            starttls: true,
            auth: vec!["PLAIN".into(), "LOGIN".into()],
            auth_requires_tls: true,
        }
    }
}

/// Hard limits on what the client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A command line with CRLF. RFC 5321 §4.5.3.1.4 says 512; the extensions' parameters
    /// (RFC 1870 §3, RFC 3461 §4, RFC 4954 §5) raise it, so the default allows 2048.
    pub max_command_line: usize,
    /// An AUTH command or response line (RFC 4954 §4: at least 12288).
    pub max_auth_line: usize,
    /// A line of message content with CRLF (RFC 5321 §4.5.3.1.6: 1000); 0 for none. BDAT with
    /// BINARYMIME has no lines.
    pub max_text_line: usize,
    /// Recipients per message; RCPT past it gets 452 (§4.5.3.1.8 asks for at least 100).
    pub max_recipients: usize,
    /// Octets of message content; more gets 552, and SIZE= above it is refused at MAIL.
    pub max_message_size: u64,
    /// Error replies in a row before 421 and close.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_command_line: 2048,
            max_auth_line: 12288,
            max_text_line: 1000,
            max_recipients: 100,
            max_message_size: 25 * 1024 * 1024,
            max_errors: 10,
        }
    }
}

/// How long the server waits for the client (RFC 5321 §4.5.3.2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// For the next command (and for an AUTH response).
    pub command: Duration,
    /// For the next piece of DATA or BDAT content.
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
        }
    }
}

/// Everything a server session is configured with.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The name the server gives in its greeting and EHLO reply.
    pub hostname: String,
    /// Speak LMTP (RFC 2033): LHLO instead of HELO/EHLO, one reply per recipient after DATA.
    pub lmtp: bool,
    /// The connection is already protected (implicit TLS, RFC 8314).
    pub tls: bool,
    /// What is advertised.
    pub extensions: Extensions,
    /// Hard limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Bare CR and bare LF in message content: rejected (default) or rewritten.
    pub line_endings: LineEndings,
    /// Emit [`crate::server::Event::Vrfy`] for VRFY; when off, VRFY gets 252 (RFC 5321 §3.5.3).
    pub vrfy: bool,
    /// Emit [`crate::server::Event::Expn`] for EXPN; when off, EXPN gets 502.
    pub expn: bool,
    /// Accept a command line ended by a bare LF. Off by default: only interactive testers
    /// (netcat without `-C`) need it, and it weakens the CRLF-only framing.
    pub quirk_bare_lf_commands: bool,
    /// Accept HELO/EHLO/LHLO with a name that is not a valid domain or address literal
    /// (`EHLO my_pc` from Windows hosts with an underscore in their name, `HELO _gateway`
    /// from embedded devices) and report it as [`super::HelloName::Other`]. On by default: such clients are
    /// common, RFC 5321 §4.1.4 already forbids refusing mail because the name fails
    /// verification, and the quirk changes no framing.
    pub quirk_lenient_hello: bool,
}

impl ServerOptions {
    /// Options for a server named `hostname`, with no extension enabled but
    /// `auth_requires_tls`.
    pub fn new(hostname: impl Into<String>) -> ServerOptions {
        ServerOptions {
            hostname: hostname.into(),
            lmtp: false,
            tls: false,
            extensions: Extensions {
                auth_requires_tls: true,
                ..Extensions::default()
            },
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            line_endings: LineEndings::Reject,
            vrfy: false,
            expn: false,
            quirk_bare_lf_commands: false,
            quirk_lenient_hello: true,
        }
    }
}
