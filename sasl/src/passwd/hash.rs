//! Making passwd lines: hash a password in a scheme, and write a whole `user:{SCHEME}hash` line.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::scheme::{
    crypt_salt, plain_field, scram_field, sha_crypt_rounds_valid, sha512_crypt_string,
};
use super::{PasswdError, Scheme, UserFields};
use crate::random::RandomSource;
use crate::{DEFAULT_SCRAM_ITERATIONS, ScramHash, ScramKeys};

/// Length of the random salts made for new hashes, in octets.
pub const SALT_LEN: usize = 16;

/// Cost parameters for new hashes. The defaults are the usual ones: glibc's 5000 rounds for
/// SHA512-CRYPT, the `argon2` crate's defaults for Argon2id (19 MiB, 2 passes, 1 lane, OWASP's
/// recommendation), and 4096 iterations for SCRAM (RFC 7677 §4, Dovecot's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashParams {
    /// SHA512-CRYPT `rounds=`, 1000 to 999 999 999.
    pub sha512_rounds: u32,
    /// Argon2id memory in KiB (at least 8 per lane).
    pub argon2_m_cost: u32,
    /// Argon2id passes.
    pub argon2_t_cost: u32,
    /// Argon2id lanes.
    pub argon2_p_cost: u32,
    /// SCRAM PBKDF2 iterations.
    pub scram_iterations: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams {
            sha512_rounds: 5_000,
            argon2_m_cost: Params::DEFAULT_M_COST,
            argon2_t_cost: Params::DEFAULT_T_COST,
            argon2_p_cost: Params::DEFAULT_P_COST,
            scram_iterations: DEFAULT_SCRAM_ITERATIONS,
        }
    }
}

/// Hashes `password` in `scheme` with [`HashParams::default`] and a fresh salt from `random`,
/// and returns the whole password field, `{SCHEME}value`, ready for a passwd line.
///
/// For [`Scheme::Plain`] the "hash" is the password itself (base64 as `{PLAIN.b64}` when it
/// holds a `:`, a control character or non-UTF-8 bytes). Passwords are used as the octets
/// given; normalise them (SASLprep) first if clients will.
pub fn hash_password(
    scheme: Scheme,
    password: &[u8],
    random: &mut (impl RandomSource + ?Sized),
) -> String {
    hash_password_with(scheme, password, &HashParams::default(), random)
        .expect("the default parameters are valid for every scheme")
}

/// [`hash_password`] with chosen cost parameters; fails when they are out of range for the
/// scheme.
pub fn hash_password_with(
    scheme: Scheme,
    password: &[u8],
    params: &HashParams,
    random: &mut (impl RandomSource + ?Sized),
) -> Result<String, PasswdError> {
    let invalid = |reason| PasswdError::InvalidParams { scheme, reason };
    let mut salt = [0u8; SALT_LEN];
    match scheme {
        Scheme::Plain => Ok(plain_field(password)),
        Scheme::Sha512Crypt => {
            if !sha_crypt_rounds_valid(params.sha512_rounds) {
                return Err(invalid("rounds out of range 1000..=999999999"));
            }
            random.fill(&mut salt);
            let crypt = sha512_crypt_string(password, &crypt_salt(&salt), params.sha512_rounds)
                .ok_or(invalid("sha512-crypt failed"))?;
            Ok(format!("{{SHA512-CRYPT}}{crypt}"))
        }
        Scheme::Argon2id => {
            let p = Params::new(
                params.argon2_m_cost,
                params.argon2_t_cost,
                params.argon2_p_cost,
                None,
            )
            .map_err(|_| invalid("m, t or p out of range"))?;
            random.fill(&mut salt);
            let salt = SaltString::encode_b64(&salt).map_err(|_| invalid("salt"))?;
            let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
                .hash_password(password, &salt)
                .map_err(|_| invalid("argon2 failed"))?;
            Ok(format!("{{ARGON2ID}}{phc}"))
        }
        Scheme::ScramSha1 | Scheme::ScramSha256 => {
            if params.scram_iterations == 0 {
                return Err(invalid("iteration count must be positive"));
            }
            let hash = if scheme == Scheme::ScramSha1 {
                ScramHash::Sha1
            } else {
                ScramHash::Sha256
            };
            random.fill(&mut salt);
            let keys = ScramKeys::from_password(hash, password, &salt, params.scram_iterations);
            Ok(scram_field(&keys))
        }
    }
}

/// A passwd line `user:{SCHEME}hash` (no line break) with default parameters and no further
/// fields. Fails when the user name cannot be written into a line (empty, or holding `:`, a
/// control character, or starting with `#`).
pub fn line(
    user: &str,
    scheme: Scheme,
    password: &[u8],
    random: &mut (impl RandomSource + ?Sized),
) -> Result<String, PasswdError> {
    line_with(
        user,
        scheme,
        password,
        &HashParams::default(),
        &UserFields::default(),
        random,
    )
}

/// A passwd line with chosen parameters and the userdb fields
/// `user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`, trailing empty fields left out.
pub fn line_with(
    user: &str,
    scheme: Scheme,
    password: &[u8],
    params: &HashParams,
    fields: &UserFields,
    random: &mut (impl RandomSource + ?Sized),
) -> Result<String, PasswdError> {
    check_user(user)?;
    fields.check()?;
    let field = hash_password_with(scheme, password, params, random)?;
    Ok(fields.write_line(user, &field))
}

pub(super) fn check_user(user: &str) -> Result<(), PasswdError> {
    let bad = |reason| PasswdError::InvalidField {
        field: "user name",
        reason,
    };
    if user.is_empty() {
        return Err(bad("empty"));
    }
    if user.starts_with('#') {
        return Err(bad("starts with '#', which would make the line a comment"));
    }
    if user.chars().any(|c| c == ':' || c.is_control()) {
        return Err(bad("contains ':' or a control character"));
    }
    Ok(())
}
