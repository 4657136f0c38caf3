//! What the embedding server configures: [`ServerOptions`] and the session [`ServerLimits`].

use std::time::Duration;

use crate::framing::Limits;

/// The shortest autologout timer RFC 3501 §5.4 allows once a user is authenticated (and that
/// RFC 2177 §3 asks of IDLE): 30 minutes.
pub const MIN_AUTOLOGOUT: Duration = Duration::from_secs(30 * 60);

/// Hard limits of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// The framer's limits: line length, buffered command size, streamed literal size.
    pub framing: Limits,
    /// Largest literal accepted before the user is authenticated (a LOGIN password, say); a
    /// larger one is refused without being read, so an anonymous peer cannot make the server
    /// buffer much.
    pub max_preauth_literal: u64,
    /// BAD answers (syntax errors, unknown commands, commands in the wrong state) and failed
    /// logins after which the session ends with `* BYE`.
    pub max_errors: u32,
    /// Idle time before authentication after which the session ends with `* BYE`.
    pub login_timeout: Duration,
    /// Idle time once authenticated (also while in IDLE) after which the session ends with
    /// `* BYE`. Values below [`MIN_AUTOLOGOUT`] are raised to it.
    pub autologout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            framing: Limits::server(),
            max_preauth_literal: 8 * 1024,
            max_errors: 10,
            login_timeout: Duration::from_secs(60),
            autologout: MIN_AUTOLOGOUT,
        }
    }
}

/// The greeting the session opens with (RFC 3501 §7.1.1, §7.1.4, §7.1.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Greeting {
    /// `* OK [CAPABILITY …] text`: the client must log in.
    #[default]
    Ok,
    /// `* PREAUTH [CAPABILITY …] text`: the connection is already authenticated (by its
    /// transport, say a Unix socket) as this user.
    PreAuth {
        /// The user the session runs as.
        user: String,
    },
    /// `* BYE text`: the server refuses the connection; the session closes at once.
    Bye,
}

/// The configuration of one server session.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Limits.
    pub limits: ServerLimits,
    /// Which greeting to send.
    pub greeting: Greeting,
    /// The greeting's text.
    pub greeting_text: String,
    /// The connection is already protected by TLS (port 993, RFC 8314).
    pub tls: bool,
    /// STARTTLS is offered (the caller has a TLS configuration).
    pub starttls: bool,
    /// LOGIN and the mechanisms that send a password in the clear (PLAIN, LOGIN) are allowed
    /// without TLS. Off by default: RFC 9051 §6.2.3 and §11 ask for LOGINDISABLED on
    /// cleartext connections. Turn it on only for a loopback or otherwise trusted link.
    pub allow_plaintext: bool,
    /// SASL mechanisms for AUTHENTICATE, in the order to announce them (upper case). PLAIN and
    /// LOGIN are hidden and refused while plaintext passwords are not allowed.
    pub sasl_mechanisms: Vec<String>,
    /// IMAP4rev2 (RFC 9051) is announced besides IMAP4rev1 and can be enabled.
    pub imap4rev2: bool,
    /// UTF8=ACCEPT (RFC 6855) is announced and can be enabled.
    pub utf8_accept: bool,
    /// The server's answer to ID (RFC 2971 §3.3); `None` answers `* ID NIL`.
    pub id: Option<Vec<(String, String)>>,
    /// CONDSTORE (RFC 7162 §3.1) is announced: MODSEQ in FETCH, SEARCH and STORE responses,
    /// CHANGEDSINCE, UNCHANGEDSINCE, SELECT (CONDSTORE). Turn it off for a store that keeps
    /// no mod-sequences.
    pub condstore: bool,
    /// QRESYNC (RFC 7162 §3.2) is announced (with [`ServerOptions::condstore`]) and can be
    /// enabled: `SELECT (QRESYNC …)`, `UID FETCH (CHANGEDSINCE m VANISHED)`, VANISHED instead
    /// of EXPUNGE. The caller must answer [`super::ServerEvent::ExpungedSince`]. Off by
    /// default, since a store that cannot must not be asked.
    pub qresync: bool,
    /// WITHIN (RFC 5032) is announced: SEARCH OLDER/YOUNGER. The caller gives the time of day
    /// with [`super::Server::handle_wall_clock`]. Off by default.
    pub within: bool,
    /// UNAUTHENTICATE (RFC 8437) is announced and served: the session goes back to the not
    /// authenticated state and the caller gets [`super::ServerEvent::Unauthenticated`] (it
    /// must drop what it holds for the user). Off by default.
    pub unauthenticate: bool,
    /// QUOTA (RFC 9208) is announced and its commands passed to the caller.
    pub quota: bool,
    /// ACL (RFC 4314) is announced and its commands passed to the caller.
    pub acl: bool,
    /// The hierarchy delimiter of mailbox names (LIST, and the LIST line of an IMAP4rev2
    /// SELECT); `None` for a flat namespace.
    pub delimiter: Option<u8>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            limits: ServerLimits::default(),
            greeting: Greeting::Ok,
            greeting_text: "IMAP server ready".into(),
            tls: false,
            starttls: false,
            allow_plaintext: false,
            sasl_mechanisms: vec!["PLAIN".into()],
            imap4rev2: true,
            utf8_accept: false,
            id: None,
            delimiter: Some(b'/'),
            condstore: true,
            qresync: false,
            within: false,
            unauthenticate: false,
            quota: false,
            acl: false,
        }
    }
}

/// Whether a SASL mechanism sends the password in the clear.
pub(crate) fn is_plaintext_mechanism(name: &str) -> bool {
    name.eq_ignore_ascii_case("PLAIN") || name.eq_ignore_ascii_case("LOGIN")
}
