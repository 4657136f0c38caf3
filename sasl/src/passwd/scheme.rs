//! The password schemes: how each stored value is parsed, checked and written back.
//!
//! Formats are Dovecot's (`doc/wiki/Authentication.PasswordSchemes`): `{PLAIN}` and its
//! `.b64`/`.hex` encodings, `{SHA512-CRYPT}` with a glibc `$6$` string (Drepper's
//! "Unix crypt using SHA-256 and SHA-512"), `{ARGON2ID}` with a PHC string, and
//! `{SCRAM-SHA-1}`/`{SCRAM-SHA-256}` as `iterations,salt,StoredKey,ServerKey` in base64
//! (RFC 5802 §3, RFC 7677).

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::PasswdLimits;
use crate::{ScramHash, ScramKeys, Secret, ct_eq};

/// A password scheme of the passwd file, named as in the `{SCHEME}` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// The password itself (`{PLAIN}`, also spelled `{CLEAR}` and `{CLEARTEXT}`). The only
    /// scheme CRAM-MD5 can use, and SCRAM keys can be derived from it.
    Plain,
    /// glibc's SHA-512 crypt, `$6$[rounds=N$]salt$hash`.
    Sha512Crypt,
    /// Argon2id (RFC 9106) as a PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    Argon2id,
    /// SCRAM-SHA-1 stored keys (RFC 5802).
    ScramSha1,
    /// SCRAM-SHA-256 stored keys (RFC 7677).
    ScramSha256,
}

impl Scheme {
    /// Every scheme, in a stable order.
    pub const ALL: [Scheme; 5] = [
        Scheme::Plain,
        Scheme::Sha512Crypt,
        Scheme::Argon2id,
        Scheme::ScramSha1,
        Scheme::ScramSha256,
    ];

    /// The name written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Plain => "PLAIN",
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Argon2id => "ARGON2ID",
            Scheme::ScramSha1 => "SCRAM-SHA-1",
            Scheme::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// Looks a scheme up by name, ignoring case as Dovecot does. `CLEAR` and `CLEARTEXT` are
    /// [`Scheme::Plain`]. `CRYPT` is not a scheme here: which one it means depends on the
    /// value, and the parser decides that.
    pub fn from_name(name: &str) -> Option<Scheme> {
        const ALIASES: [(&str, Scheme); 7] = [
            ("PLAIN", Scheme::Plain),
            ("CLEAR", Scheme::Plain),
            ("CLEARTEXT", Scheme::Plain),
            ("SHA512-CRYPT", Scheme::Sha512Crypt),
            ("ARGON2ID", Scheme::Argon2id),
            ("SCRAM-SHA-1", Scheme::ScramSha1),
            ("SCRAM-SHA-256", Scheme::ScramSha256),
        ];
        ALIASES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| *s)
    }

    fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Scheme::ScramSha1 => Some(ScramHash::Sha1),
            Scheme::ScramSha256 => Some(ScramHash::Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that width and alignment work in tables and logs.
        f.pad(self.name())
    }
}

/// Why a password field was refused; the caller adds the line number.
#[derive(Debug)]
pub(super) enum FieldError {
    Syntax(&'static str),
    UnknownScheme(String),
    Bad(Scheme, &'static str),
    Cost(Scheme),
}

/// One user's stored password, parsed and checked for shape once, when the file is read.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum StoredPassword {
    Plain(Secret<Vec<u8>>),
    Sha512Crypt {
        /// `None` when the string had no `rounds=` (glibc's default of 5000 then applies);
        /// kept apart from `Some(5000)` so the string is written back as it was read.
        rounds: Option<u32>,
        salt: String,
        hash: Secret<String>,
    },
    /// The whole PHC string: it is parsed again per check because `PasswordHash` borrows it.
    Argon2id(Secret<String>),
    Scram(ScramKeys),
}

impl fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", self.scheme())
    }
}

/// The characters of crypt(3)'s base64 and of its salts.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// glibc's bounds on `rounds=`; a string outside them was not written by glibc (which clamps).
const SHA_CRYPT_ROUNDS: std::ops::RangeInclusive<u32> = 1_000..=999_999_999;
const SHA_CRYPT_DEFAULT_ROUNDS: u32 = 5_000;
const SHA_CRYPT_MAX_SALT: usize = 16;
const SHA512_CRYPT_HASH_LEN: usize = 86;

impl StoredPassword {
    pub(super) fn scheme(&self) -> Scheme {
        match self {
            StoredPassword::Plain(_) => Scheme::Plain,
            StoredPassword::Sha512Crypt { .. } => Scheme::Sha512Crypt,
            StoredPassword::Argon2id(_) => Scheme::Argon2id,
            StoredPassword::Scram(k) => match k.hash {
                ScramHash::Sha1 => Scheme::ScramSha1,
                ScramHash::Sha256 => Scheme::ScramSha256,
            },
        }
    }

    /// Parses a non-empty password field: `{SCHEME[.encoding]}value`, or a bare `$6$` or
    /// `$argon2id$` string (Dovecot's default scheme for passwd-file is CRYPT, which
    /// recognises crypt strings by their prefix).
    pub(super) fn parse(field: &str, limits: &PasswdLimits) -> Result<Self, FieldError> {
        let Some(rest) = field.strip_prefix('{') else {
            return Self::parse_bare(field, limits);
        };
        let (name, value) = rest
            .split_once('}')
            .ok_or(FieldError::Syntax("'{' of the scheme prefix is not closed"))?;
        let (base, encoding) = match name.split_once('.') {
            Some((b, e)) => (b, Some(e)),
            None => (name, None),
        };
        if base.eq_ignore_ascii_case("CRYPT") && encoding.is_none() {
            return Self::parse_bare(value, limits).map_err(|e| match e {
                FieldError::UnknownScheme(_) => FieldError::UnknownScheme("CRYPT".into()),
                other => other,
            });
        }
        let scheme =
            Scheme::from_name(base).ok_or_else(|| FieldError::UnknownScheme(shown(name)))?;
        if encoding.is_some() && scheme != Scheme::Plain {
            return Err(FieldError::Bad(
                scheme,
                "only PLAIN takes an encoding suffix",
            ));
        }
        match scheme {
            Scheme::Plain => {
                let bytes = match encoding.map(str::to_ascii_lowercase).as_deref() {
                    None => value.as_bytes().to_vec(),
                    Some("b64" | "base64") => STANDARD
                        .decode(value)
                        .map_err(|_| FieldError::Bad(scheme, "invalid base64"))?,
                    Some("hex") => {
                        decode_hex(value).ok_or(FieldError::Bad(scheme, "invalid hex"))?
                    }
                    Some(_) => return Err(FieldError::UnknownScheme(shown(name))),
                };
                Ok(StoredPassword::Plain(Secret::new(bytes)))
            }
            Scheme::Sha512Crypt => parse_sha512_crypt(value, limits),
            Scheme::Argon2id => parse_argon2id(value, limits),
            Scheme::ScramSha1 | Scheme::ScramSha256 => parse_scram(scheme, value, limits),
        }
    }

    fn parse_bare(value: &str, limits: &PasswdLimits) -> Result<Self, FieldError> {
        if value.starts_with("$6$") {
            parse_sha512_crypt(value, limits)
        } else if value.starts_with("$argon2id$") {
            parse_argon2id(value, limits)
        } else {
            Err(FieldError::UnknownScheme(String::new()))
        }
    }

    /// Checks `password` against the stored value, in constant time where the scheme compares
    /// secrets.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        match self {
            StoredPassword::Plain(stored) => ct_eq(stored.expose(), password),
            StoredPassword::Sha512Crypt { rounds, salt, hash } => {
                let rounds = rounds.unwrap_or(SHA_CRYPT_DEFAULT_ROUNDS) as usize;
                let Ok(params) = sha_crypt::Sha512Params::new(rounds) else {
                    return false;
                };
                match sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params) {
                    Ok(computed) => {
                        let computed = Secret::new(computed);
                        ct_eq(computed.expose().as_bytes(), hash.expose().as_bytes())
                    }
                    Err(_) => false,
                }
            }
            StoredPassword::Argon2id(phc) => match PasswordHash::new(phc.expose()) {
                // The verifier takes algorithm, version and parameters from the string and
                // compares outputs in constant time.
                Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
                Err(_) => false,
            },
            StoredPassword::Scram(keys) => {
                // RFC 5802 §3: StoredKey = H(HMAC(Hi(password, salt, i), "Client Key")).
                let salted = Secret::new(keys.hash.hi(password, &keys.salt, keys.iterations));
                let client_key = Secret::new(keys.hash.hmac(salted.expose(), b"Client Key"));
                let stored = Secret::new(keys.hash.hash(client_key.expose()));
                ct_eq(stored.expose(), keys.stored_key.expose())
            }
        }
    }

    /// A value of the same scheme and cost that no password matches in practice, checked for
    /// unknown users so that their answer takes about as long as a wrong password's.
    pub(super) fn decoy(&self) -> StoredPassword {
        match self {
            StoredPassword::Plain(p) => {
                StoredPassword::Plain(Secret::new(vec![0; p.expose().len().max(1)]))
            }
            StoredPassword::Sha512Crypt { rounds, salt, .. } => StoredPassword::Sha512Crypt {
                rounds: *rounds,
                salt: "mailhubdecoysalt"[..salt.len().min(SHA_CRYPT_MAX_SALT)].to_owned(),
                hash: Secret::new(".".repeat(SHA512_CRYPT_HASH_LEN)),
            },
            StoredPassword::Argon2id(phc) => {
                let decoy = PasswordHash::new(phc.expose())
                    .ok()
                    .and_then(|h| Some((Params::try_from(&h).ok()?, h.hash?.len())))
                    .map(|(p, out_len)| {
                        format!(
                            "$argon2id$v=19$m={},t={},p={}${}${}",
                            p.m_cost(),
                            p.t_cost(),
                            p.p_cost(),
                            STANDARD_NO_PAD.encode(b"mailhub-decoy-salt"),
                            STANDARD_NO_PAD.encode(vec![0u8; out_len]),
                        )
                    })
                    .unwrap_or_default();
                StoredPassword::Argon2id(Secret::new(decoy))
            }
            StoredPassword::Scram(k) => StoredPassword::Scram(ScramKeys {
                hash: k.hash,
                salt: vec![0; k.salt.len()],
                iterations: k.iterations,
                stored_key: Secret::new(vec![0; k.hash.output_len()]),
                server_key: Secret::new(vec![0; k.hash.output_len()]),
            }),
        }
    }

    /// The password field as written in a file, `{SCHEME}value`. It contains the hash (or for
    /// PLAIN the password): handle it as a secret.
    pub(super) fn to_field(&self) -> String {
        match self {
            StoredPassword::Plain(p) => plain_field(p.expose()),
            StoredPassword::Sha512Crypt { rounds, salt, hash } => match rounds {
                Some(r) => format!("{{SHA512-CRYPT}}$6$rounds={r}${salt}${}", hash.expose()),
                None => format!("{{SHA512-CRYPT}}$6${salt}${}", hash.expose()),
            },
            StoredPassword::Argon2id(phc) => format!("{{ARGON2ID}}{}", phc.expose()),
            StoredPassword::Scram(k) => scram_field(k),
        }
    }

    pub(super) fn plaintext(&self) -> Option<&Secret<Vec<u8>>> {
        match self {
            StoredPassword::Plain(p) => Some(p),
            _ => None,
        }
    }

    pub(super) fn scram_keys(&self) -> Option<&ScramKeys> {
        match self {
            StoredPassword::Scram(k) => Some(k),
            _ => None,
        }
    }
}

/// `{PLAIN}password`, or `{PLAIN.b64}` when the password could not survive the line format
/// (a `:`, a control character such as a line break, or bytes that are not UTF-8).
pub(super) fn plain_field(password: &[u8]) -> String {
    match std::str::from_utf8(password) {
        Ok(s) if !s.chars().any(|c| c == ':' || c.is_control()) => format!("{{PLAIN}}{s}"),
        _ => format!("{{PLAIN.b64}}{}", STANDARD.encode(password)),
    }
}

/// Dovecot's SCRAM format: `{SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey`.
pub(super) fn scram_field(k: &ScramKeys) -> String {
    let scheme = match k.hash {
        ScramHash::Sha1 => Scheme::ScramSha1,
        ScramHash::Sha256 => Scheme::ScramSha256,
    };
    format!(
        "{{{scheme}}}{},{},{},{}",
        k.iterations,
        STANDARD.encode(&k.salt),
        STANDARD.encode(k.stored_key.expose()),
        STANDARD.encode(k.server_key.expose()),
    )
}

/// `$6$` followed by `salt` and the crypt-base64 of `sha512_crypt`, the way glibc writes it
/// (`rounds=` only when not the default).
pub(super) fn sha512_crypt_string(password: &[u8], salt: &str, rounds: u32) -> Option<String> {
    let params = sha_crypt::Sha512Params::new(rounds as usize).ok()?;
    let hash = sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params).ok()?;
    Some(if rounds == SHA_CRYPT_DEFAULT_ROUNDS {
        format!("$6${salt}${hash}")
    } else {
        format!("$6$rounds={rounds}${salt}${hash}")
    })
}

/// A crypt salt made from random bytes, one alphabet character per byte (6 bits each).
pub(super) fn crypt_salt(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(SHA_CRYPT_MAX_SALT)
        .map(|b| CRYPT_ALPHABET[(b & 63) as usize] as char)
        .collect()
}

pub(super) fn sha_crypt_rounds_valid(rounds: u32) -> bool {
    SHA_CRYPT_ROUNDS.contains(&rounds)
}

fn parse_sha512_crypt(value: &str, limits: &PasswdLimits) -> Result<StoredPassword, FieldError> {
    const S: Scheme = Scheme::Sha512Crypt;
    let rest = value
        .strip_prefix("$6$")
        .ok_or(FieldError::Bad(S, "not a $6$ crypt string"))?;
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let (n, rest) = r
                .split_once('$')
                .ok_or(FieldError::Bad(S, "no '$' after rounds="))?;
            let n = parse_decimal(n).ok_or(FieldError::Bad(S, "rounds= is not a number"))?;
            if !sha_crypt_rounds_valid(n) {
                return Err(FieldError::Bad(S, "rounds= out of range 1000..=999999999"));
            }
            if n > limits.max_sha512_rounds {
                return Err(FieldError::Cost(S));
            }
            (Some(n), rest)
        }
        None => (None, rest),
    };
    if rounds.is_none() && SHA_CRYPT_DEFAULT_ROUNDS > limits.max_sha512_rounds {
        return Err(FieldError::Cost(S));
    }
    let (salt, hash) = rest
        .split_once('$')
        .ok_or(FieldError::Bad(S, "no '$' between salt and hash"))?;
    if salt.len() > SHA_CRYPT_MAX_SALT {
        return Err(FieldError::Bad(S, "salt longer than 16 characters"));
    }
    if !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::Bad(
            S,
            "salt has characters outside printable ASCII",
        ));
    }
    if hash.len() != SHA512_CRYPT_HASH_LEN || !hash.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
        return Err(FieldError::Bad(S, "hash is not 86 crypt-base64 characters"));
    }
    Ok(StoredPassword::Sha512Crypt {
        rounds,
        salt: salt.to_owned(),
        hash: Secret::new(hash.to_owned()),
    })
}

fn parse_argon2id(value: &str, limits: &PasswdLimits) -> Result<StoredPassword, FieldError> {
    const S: Scheme = Scheme::Argon2id;
    if !value.starts_with("$argon2id$") {
        return Err(FieldError::Bad(S, "not a $argon2id$ string"));
    }
    let parsed = PasswordHash::new(value).map_err(|_| FieldError::Bad(S, "not a PHC string"))?;
    if let Some(v) = parsed.version {
        Version::try_from(v).map_err(|_| FieldError::Bad(S, "unknown version"))?;
    }
    let params = Params::try_from(&parsed).map_err(|_| FieldError::Bad(S, "invalid parameters"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(FieldError::Bad(S, "salt or hash missing"));
    }
    if params.m_cost() > limits.max_argon2_m_cost
        || params.t_cost() > limits.max_argon2_t_cost
        || params.p_cost() > limits.max_argon2_p_cost
    {
        return Err(FieldError::Cost(S));
    }
    // The algorithm is named twice (prefix and PHC identifier); both said argon2id above, but
    // the parsed identifier is what the verifier will use.
    if !matches!(
        Algorithm::try_from(parsed.algorithm),
        Ok(Algorithm::Argon2id)
    ) {
        return Err(FieldError::Bad(S, "not argon2id"));
    }
    Ok(StoredPassword::Argon2id(Secret::new(value.to_owned())))
}

fn parse_scram(
    scheme: Scheme,
    value: &str,
    limits: &PasswdLimits,
) -> Result<StoredPassword, FieldError> {
    let hash = scheme.scram_hash().expect("called for SCRAM schemes only");
    let mut parts = value.split(',');
    let (Some(iter), Some(salt), Some(stored), Some(server), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(FieldError::Bad(
            scheme,
            "expected iterations,salt,StoredKey,ServerKey",
        ));
    };
    let iterations = parse_decimal(iter)
        .filter(|&i| i > 0)
        .ok_or(FieldError::Bad(
            scheme,
            "iteration count is not a positive number",
        ))?;
    if iterations > limits.max_scram_iterations {
        return Err(FieldError::Cost(scheme));
    }
    let salt = STANDARD
        .decode(salt)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(FieldError::Bad(scheme, "salt is not non-empty base64"))?;
    let key = |b64: &str| {
        STANDARD
            .decode(b64)
            .ok()
            .filter(|k| k.len() == hash.output_len())
            .map(Secret::new)
            .ok_or(FieldError::Bad(
                scheme,
                "key is not base64 of the hash length",
            ))
    };
    Ok(StoredPassword::Scram(ScramKeys {
        hash,
        salt,
        iterations,
        stored_key: key(stored)?,
        server_key: key(server)?,
    }))
}

/// A plain decimal number: digits only (no sign, no spaces), fitting in a `u32`.
fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// A scheme name as shown in an error: short, and only if it looks like a name, so that a
/// line with a missing `}` cannot put a hash into a log.
fn shown(name: &str) -> String {
    if name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        name.to_owned()
    } else {
        "<not a scheme name>".to_owned()
    }
}
