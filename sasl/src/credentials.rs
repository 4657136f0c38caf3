//! What a server needs to know about its users, as a trait the embedding server implements.
//!
//! Every method has a default that says "not available", so a server implements only what its
//! enabled mechanisms need: a password check for PLAIN and LOGIN, SCRAM keys for SCRAM (derived
//! from the plaintext password when the store keeps one), a token check for OAUTHBEARER and
//! XOAUTH2, and [`Credentials::authorize`] for proxy logins where the authorization identity
//! differs from the authentication identity (RFC 4422 §3.4.1; the `user*admin` login of Dovecot).
//!
//! The trait is synchronous on purpose: mechanisms are step machines without I/O, and the
//! embedding server decides how a lookup runs (from a cache, on a blocking thread).
//! `crate::passwd::PasswdFile` is a ready implementation over a passwd-style file.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::{CredentialError, Mechanism, Secret};

/// The hash function of a SCRAM variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SHA-1 (SCRAM-SHA-1, RFC 5802).
    Sha1,
    /// SHA-256 (SCRAM-SHA-256, RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Output length of the hash in octets.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// `H(data)`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// `HMAC(key, data)`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// `Hi(password, salt, iterations)`, which is PBKDF2 with HMAC (RFC 5802 §2.2).
    pub fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out)
            }
        }
        out
    }
}

/// What a SCRAM server stores for a user (RFC 5802 §3): enough to check a client's proof and to
/// prove itself, but not enough to log in as the user elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// The hash these keys belong to.
    pub hash: ScramHash,
    /// The salt.
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// `StoredKey := H(ClientKey)`.
    pub stored_key: Secret<Vec<u8>>,
    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Secret<Vec<u8>>,
}

impl ScramKeys {
    /// Derives the stored keys from a password, which should already be SASLprep-normalised
    /// (this crate uses the password octets as given; see the module docs of `mech::scram`).
    pub fn derive(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> ScramKeys {
        let salted = Secret::new(hash.hi(password, salt, iterations));
        let client_key = Secret::new(hash.hmac(salted.expose(), b"Client Key"));
        ScramKeys {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: Secret::new(hash.hash(client_key.expose())),
            server_key: Secret::new(hash.hmac(salted.expose(), b"Server Key")),
        }
    }
}

impl ScramKeys {
    /// Derives the stored keys from a password as the user types it: SASLprep (RFC 4013) is
    /// applied first, exactly as the SCRAM client of this crate applies it, falling back to the
    /// octets as given when they are not UTF-8 or preparation fails. Prefer this to
    /// [`ScramKeys::derive`] when storing keys for a user.
    pub fn from_password(
        hash: ScramHash,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> ScramKeys {
        let prepared = crate::mech::saslprep::prepare_password(password);
        ScramKeys::derive(hash, prepared.expose(), salt, iterations)
    }

    /// Keys for a user whose store keeps the plaintext password: SASLprep applied, the default
    /// iteration count, and a salt made from the user name (stable, so that a client caching
    /// `SaltedPassword` keeps working). What [`Credentials::scram_keys`] does by default.
    pub fn for_plaintext_user(hash: ScramHash, authcid: &str, password: &[u8]) -> ScramKeys {
        let salt = hash.hash(format!("mailhub-scram-salt:{authcid}").as_bytes());
        ScramKeys::from_password(hash, password, &salt[..16], DEFAULT_SCRAM_ITERATIONS)
    }
}

/// The default PBKDF2 iteration count for new SCRAM keys. RFC 7677 §4 asks for at least 4096;
/// this is what Dovecot and Cyrus use.
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// A user database, as the server-side mechanisms see it. `authcid` is the authentication
/// identity (the user name the client proves knowledge for).
pub trait Credentials {
    /// Checks a plaintext password (PLAIN, LOGIN). `Ok(false)` for a wrong password and for an
    /// unknown user alike.
    fn verify_password(
        &self,
        authcid: &str,
        password: &Secret<Vec<u8>>,
    ) -> Result<bool, CredentialError> {
        let _ = (authcid, password);
        Ok(false)
    }

    /// The user's plaintext password, where the store keeps one (CRAM-MD5 needs it; SCRAM can
    /// derive keys from it). `Ok(None)` when the user is unknown or the store keeps only hashes.
    fn plaintext_password(
        &self,
        authcid: &str,
    ) -> Result<Option<Secret<Vec<u8>>>, CredentialError> {
        let _ = authcid;
        Ok(None)
    }

    /// The user's SCRAM keys for `hash`. The default derives them from
    /// [`Credentials::plaintext_password`] with a salt made from the user name (stable, so that
    /// a client caching `SaltedPassword` keeps working). `Ok(None)` when the user is unknown or
    /// nothing usable is stored.
    fn scram_keys(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramKeys>, CredentialError> {
        Ok(self
            .plaintext_password(authcid)?
            .map(|pw| ScramKeys::for_plaintext_user(hash, authcid, pw.expose())))
    }

    /// Whether the user is known at all: SCRAM servers use this to tell "unknown user" (fail
    /// with a decoy salt, without saying why) from "known user without SCRAM keys"
    /// ([`crate::Error::TransitionNeeded`]).
    fn user_exists(&self, authcid: &str) -> Result<bool, CredentialError> {
        let _ = authcid;
        Ok(false)
    }

    /// Checks a bearer token (OAUTHBEARER, XOAUTH2) presented for `user`. Returns the
    /// authentication identity the token belongs to, or `Ok(None)` when the token is not valid.
    fn verify_token(
        &self,
        user: &str,
        token: &Secret<Vec<u8>>,
        mechanism: Mechanism,
    ) -> Result<Option<String>, CredentialError> {
        let _ = (user, token, mechanism);
        Ok(None)
    }

    /// Whether an anonymous login (RFC 4505) with this trace information is allowed.
    fn allow_anonymous(&self, trace: &str) -> Result<bool, CredentialError> {
        let _ = trace;
        Ok(false)
    }

    /// Maps an external identity (a TLS client certificate's subject, a Unix peer credential),
    /// supplied by the caller in the server context, to a user name for EXTERNAL. `Ok(None)`
    /// when the identity is not a user here.
    fn external_user(&self, external_identity: &str) -> Result<Option<String>, CredentialError> {
        let _ = external_identity;
        Ok(None)
    }

    /// Whether `authcid`, once authenticated, may act as `authzid` (RFC 4422 §3.4.1). The
    /// default allows only acting as oneself; a server with administrators who may log in as
    /// any user (Dovecot's master users) overrides it.
    fn authorize(&self, authcid: &str, authzid: &str) -> Result<bool, CredentialError> {
        Ok(authcid == authzid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5802_sha1_keys() {
        // RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, 4096 iterations.
        use base64::Engine;
        let salt = base64::engine::general_purpose::STANDARD
            .decode("QSXCR+Q6sek8bf92")
            .unwrap();
        let keys = ScramKeys::derive(ScramHash::Sha1, b"pencil", &salt, 4096);
        let salted = ScramHash::Sha1.hi(b"pencil", &salt, 4096);
        assert_eq!(
            hex::encode(&salted),
            "1d96ee3a529b5a5f9e47c01f229a2cb8a6e15f7d"
        );
        let client_key = ScramHash::Sha1.hmac(&salted, b"Client Key");
        assert_eq!(keys.stored_key.expose(), &ScramHash::Sha1.hash(&client_key));
    }
}
