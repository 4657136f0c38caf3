//! Mechanism names (RFC 4422 §3.1) and their properties.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The mechanisms this crate implements, on both sides of the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN, RFC 4616.
    Plain,
    /// LOGIN, draft-murchison-sasl-login.
    Login,
    /// CRAM-MD5, RFC 2195.
    CramMd5,
    /// SCRAM-SHA-1, RFC 5802.
    ScramSha1,
    /// SCRAM-SHA-1-PLUS (with channel binding), RFC 5802.
    ScramSha1Plus,
    /// SCRAM-SHA-256, RFC 7677.
    ScramSha256,
    /// SCRAM-SHA-256-PLUS (with channel binding), RFC 7677.
    ScramSha256Plus,
    /// OAUTHBEARER, RFC 7628.
    OAuthBearer,
    /// XOAUTH2, Google's pre-standard bearer-token mechanism.
    XOAuth2,
    /// ANONYMOUS, RFC 4505.
    Anonymous,
    /// EXTERNAL, RFC 4422 Appendix A (identity from the TLS client certificate or the like).
    External,
}

impl Mechanism {
    /// Every mechanism, strongest first: the order a client prefers them in.
    pub const ALL: [Mechanism; 11] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha1,
        Mechanism::External,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::Anonymous,
    ];

    /// The registered name, as it appears on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::Anonymous => "ANONYMOUS",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// Looks a mechanism up by name; names are case-insensitive on the wire.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the mechanism sends a password or a bearer token that an eavesdropper could
    /// replay: such mechanisms are offered only over TLS unless the caller's policy allows it.
    pub fn exposes_credentials(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::Login | Mechanism::OAuthBearer | Mechanism::XOAuth2
        )
    }

    /// Whether the mechanism binds to the TLS channel (the `-PLUS` variants): it can be
    /// offered only when the caller supplies channel-binding data.
    pub fn needs_channel_binding(self) -> bool {
        matches!(self, Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus)
    }

    /// Whether the client speaks first (and so may send an initial response).
    pub fn client_first(self) -> bool {
        !matches!(self, Mechanism::CramMd5 | Mechanism::Login)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mechanism {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mechanism::from_name(s).ok_or_else(|| Error::UnknownMechanism(truncate(s)))
    }
}

/// Whether `name` is a syntactically valid SASL mechanism name (RFC 4422 §3.1: 1 to 20
/// characters of upper-case letters, digits, `-` and `_`). Lower case is accepted, since
/// protocols compare names case-insensitively.
pub fn is_valid_mechanism_name(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Keeps a peer-supplied name short enough to carry in an error.
fn truncate(s: &str) -> String {
    s.chars().take(20).collect()
}

/// The kinds of channel binding (RFC 5929, RFC 9266).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelBindingType {
    /// `tls-exporter` (RFC 9266), the one to use with TLS 1.3.
    TlsExporter,
    /// `tls-unique` (RFC 5929), TLS 1.2 only.
    TlsUnique,
    /// `tls-server-end-point` (RFC 5929), a hash of the server certificate.
    TlsServerEndPoint,
}

impl ChannelBindingType {
    /// The name used in the GS2 header (`p=tls-exporter`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelBindingType::TlsExporter => "tls-exporter",
            ChannelBindingType::TlsUnique => "tls-unique",
            ChannelBindingType::TlsServerEndPoint => "tls-server-end-point",
        }
    }

    /// Looks a type up by its GS2 name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::TlsExporter, Self::TlsUnique, Self::TlsServerEndPoint]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// Channel-binding data taken from the TLS connection by the caller (for `tls-exporter`, the
/// 32 bytes exported with the label `EXPORTER-Channel-Binding` and no context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    /// The type of binding.
    pub kind: ChannelBindingType,
    /// The binding data.
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(
                Mechanism::from_name(&m.name().to_ascii_lowercase()),
                Some(m)
            );
            assert!(is_valid_mechanism_name(m.name()));
        }
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
        assert!(
            matches!("x".repeat(100).parse::<Mechanism>(), Err(Error::UnknownMechanism(s)) if s.len() == 20)
        );
    }

    #[test]
    fn mechanism_name_syntax() {
        assert!(!is_valid_mechanism_name(""));
        assert!(!is_valid_mechanism_name("A B"));
        assert!(!is_valid_mechanism_name("ABCDEFGHIJKLMNOPQRSTU"));
        assert!(is_valid_mechanism_name("DIGEST-MD5"));
    }
}
