//! Which mechanisms a server offers, and when.
//!
//! The policy is closed by default (RFC 4954 §4, RFC 8314): mechanisms that send a password or
//! a bearer token in a form an eavesdropper can replay are neither advertised nor accepted on a
//! connection without TLS, unless the caller allows it (loopback connections, tests). The
//! `-PLUS` mechanisms are offered only when the caller has channel-binding data.

use crate::{Error, Mechanism, ServerContext, ServerSession};

/// The facts about a connection that decide which mechanisms it may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelSecurity {
    /// The connection is protected by TLS.
    pub tls: bool,
    /// Mechanisms that expose credentials may be used without TLS (for loopback).
    pub allow_plaintext: bool,
    /// Channel-binding data is available, so the `-PLUS` mechanisms can run.
    pub channel_binding: bool,
}

impl ChannelSecurity {
    /// Whether `mechanism` may run on this connection.
    pub fn permits(&self, mechanism: Mechanism) -> bool {
        (self.tls || self.allow_plaintext || !mechanism.exposes_credentials())
            && (self.channel_binding || !mechanism.needs_channel_binding())
    }
}

/// The set of enabled mechanisms, kept in preference order (strongest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    enabled: Vec<Mechanism>,
}

impl Default for Registry {
    /// The password-based mechanisms every mail server can back with a user file: the SCRAM
    /// family, PLAIN and LOGIN. CRAM-MD5 (needs plaintext passwords stored), the bearer-token
    /// mechanisms, ANONYMOUS and EXTERNAL need set-up by the embedding server and are off.
    fn default() -> Self {
        Registry::new([
            Mechanism::ScramSha256Plus,
            Mechanism::ScramSha256,
            Mechanism::ScramSha1Plus,
            Mechanism::ScramSha1,
            Mechanism::Plain,
            Mechanism::Login,
        ])
    }
}

impl Registry {
    /// A registry with exactly these mechanisms enabled.
    pub fn new(mechanisms: impl IntoIterator<Item = Mechanism>) -> Self {
        let mut r = Registry {
            enabled: Vec::new(),
        };
        for m in mechanisms {
            r.enable(m);
        }
        r
    }

    /// Enables a mechanism.
    pub fn enable(&mut self, mechanism: Mechanism) {
        if !self.enabled.contains(&mechanism) {
            self.enabled.push(mechanism);
            self.enabled
                .sort_by_key(|m| Mechanism::ALL.iter().position(|a| a == m));
        }
    }

    /// Disables a mechanism.
    pub fn disable(&mut self, mechanism: Mechanism) {
        self.enabled.retain(|m| *m != mechanism);
    }

    /// Whether a mechanism is enabled (regardless of the channel).
    pub fn is_enabled(&self, mechanism: Mechanism) -> bool {
        self.enabled.contains(&mechanism)
    }

    /// The mechanisms to advertise on a connection, strongest first.
    pub fn advertised(&self, security: &ChannelSecurity) -> Vec<Mechanism> {
        self.enabled
            .iter()
            .copied()
            .filter(|m| security.permits(*m))
            .collect()
    }

    /// The advertisement as one space-separated string (`AUTH SCRAM-SHA-256 PLAIN`).
    pub fn advertised_names(&self, security: &ChannelSecurity) -> String {
        let names: Vec<&str> = self.advertised(security).iter().map(|m| m.name()).collect();
        names.join(" ")
    }

    /// Starts the server side of `name` for a client that asked for it, after checking that it
    /// is known, enabled and allowed on this channel.
    pub fn server(
        &self,
        name: &str,
        security: &ChannelSecurity,
        context: ServerContext,
    ) -> Result<ServerSession, Error> {
        let mechanism: Mechanism = name.parse()?;
        if !self.is_enabled(mechanism) {
            return Err(Error::MechanismDisabled(mechanism));
        }
        if !(security.tls || security.allow_plaintext || !mechanism.exposes_credentials()) {
            return Err(Error::EncryptionRequired);
        }
        if mechanism.needs_channel_binding() && !security.channel_binding {
            return Err(Error::MechanismDisabled(mechanism));
        }
        ServerSession::new(mechanism, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_mechanisms_need_tls() {
        let r = Registry::default();
        let clear = ChannelSecurity::default();
        assert_eq!(r.advertised_names(&clear), "SCRAM-SHA-256 SCRAM-SHA-1");
        let tls = ChannelSecurity {
            tls: true,
            ..Default::default()
        };
        assert_eq!(
            r.advertised_names(&tls),
            "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN"
        );
        let plus = ChannelSecurity {
            tls: true,
            channel_binding: true,
            ..Default::default()
        };
        assert_eq!(
            r.advertised_names(&plus),
            "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 PLAIN LOGIN"
        );
        let loopback = ChannelSecurity {
            allow_plaintext: true,
            ..Default::default()
        };
        assert!(r.advertised(&loopback).contains(&Mechanism::Plain));
    }

    #[test]
    fn server_refuses_by_policy() {
        let r = Registry::default();
        let clear = ChannelSecurity::default();
        let err = r
            .server("plain", &clear, ServerContext::default())
            .unwrap_err();
        assert_eq!(err, Error::EncryptionRequired);
        let err = r
            .server("CRAM-MD5", &clear, ServerContext::default())
            .unwrap_err();
        assert_eq!(err, Error::MechanismDisabled(Mechanism::CramMd5));
        let err = r
            .server("GSSAPI", &clear, ServerContext::default())
            .unwrap_err();
        assert!(matches!(err, Error::UnknownMechanism(_)));
        let err = r
            .server("SCRAM-SHA-256-PLUS", &clear, ServerContext::default())
            .unwrap_err();
        assert_eq!(err, Error::MechanismDisabled(Mechanism::ScramSha256Plus));
    }

    #[test]
    fn enable_keeps_preference_order() {
        let mut r = Registry::new([Mechanism::Plain]);
        r.enable(Mechanism::ScramSha256);
        r.enable(Mechanism::Plain);
        let all = ChannelSecurity {
            tls: true,
            ..Default::default()
        };
        assert_eq!(
            r.advertised(&all),
            vec![Mechanism::ScramSha256, Mechanism::Plain]
        );
        r.disable(Mechanism::ScramSha256);
        assert_eq!(r.advertised(&all), vec![Mechanism::Plain]);
    }
}
