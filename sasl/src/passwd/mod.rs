//! A ready [`Credentials`] store over a passwd-style file, in Dovecot's passwd-file shape.
//!
//! ```text
//! # comment
//! alice:{SHA512-CRYPT}$6$salt$hash
//! bob:{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$salt$hash:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G
//! carol:{SCRAM-SHA-256}4096,salt,StoredKey,ServerKey
//! dave:{PLAIN}secret
//! ```
//!
//! Each line is `user:password[:uid:gid:gecos:home:shell:extra]`; everything after the seventh
//! `:` is the extra field (Dovecot's space-separated `key=value` list, which may itself hold
//! colons). Lines starting with `#` and blank lines are skipped; a trailing `\r` is dropped. An
//! empty password field means "no password": the user exists but no password matches. User
//! names are matched exactly (no case folding). Schemes are listed in [`Scheme`]; a password
//! without a `{SCHEME}` prefix is accepted when it is a `$6$` or `$argon2id$` string.
//!
//! What each scheme can serve (RFC 4422 mechanisms of this crate):
//!
//! | stored as | PLAIN, LOGIN | CRAM-MD5 | SCRAM-SHA-1 | SCRAM-SHA-256 |
//! |-----------|--------------|----------|-------------|---------------|
//! | PLAIN | yes | yes | derived keys | derived keys |
//! | SHA512-CRYPT, ARGON2ID | yes | no | no | no |
//! | SCRAM-SHA-1 | yes | no | yes | no |
//! | SCRAM-SHA-256 | yes | no | no | yes |
//!
//! SCRAM entries hold only `StoredKey` and `ServerKey` (RFC 5802 §3, RFC 7677 §3): a password
//! is checked by deriving `ClientKey` with the stored salt and iteration count and comparing
//! `H(ClientKey)` to `StoredKey` in constant time. (The password is an HMAC key there, and HMAC
//! pads short keys with zeros, so `pencil` and `pencil\0` give the same keys: a property of
//! SCRAM, harmless since SASLprep forbids U+0000.)
//!
//! Unknown users and wrong passwords give the same answer (`Ok(false)`), and a password for an
//! unknown user is checked against a decoy of the same scheme and cost as an entry of the
//! file's most common scheme, so the two also take about the same time.
//!
//! ## Master users
//!
//! Dovecot lets administrators log in as any user. Two routes lead there, both off until
//! [`PasswdFile::with_master_users`] names the master users:
//! - through the SASL authorization identity (PLAIN's authzid): [`Credentials::authorize`]
//!   lets a master user act as anyone (RFC 4422 §3.4.1);
//! - through the login name `user*master`, for clients that can only send a name and a
//!   password (IMAP LOGIN, POP3 USER/PASS, SASL LOGIN): [`split_master_login`] splits the name,
//!   [`PasswdFile::check_login`] does the whole check for a protocol's plain login command,
//!   and [`PasswdFile::with_master_separator`] makes the [`Credentials`] methods themselves
//!   accept `user*master` as an authentication identity (the outcome's identity is then the
//!   login name; [`PasswdFile::effective_user`] gives the user to act as).
//!
//! A master user may act as any name, known here or not: the userdb that serves the mailbox
//! decides whether that user exists.
//!
//! [`PasswdFile::parse`] does no I/O; [`PasswdFile::load`] is a convenience that reads a file.

mod error;
mod hash;
mod scheme;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::Path;

pub use error::PasswdError;
pub use hash::{HashParams, SALT_LEN, hash_password, hash_password_with, line, line_with};
pub use scheme::Scheme;

use scheme::{FieldError, StoredPassword};

use crate::{CredentialError, Credentials, ScramHash, ScramKeys, Secret};

/// Bounds on what a passwd file may ask for. The cost limits stop a typo or a hostile file
/// from making every login (or every decoy check) take minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdLimits {
    /// Largest file [`PasswdFile::load`] reads, in octets (default 64 MiB).
    pub max_file_size: u64,
    /// Largest SHA512-CRYPT `rounds=` (default 10 000 000; glibc's default is 5000).
    pub max_sha512_rounds: u32,
    /// Largest Argon2id memory cost in KiB (default 1 GiB).
    pub max_argon2_m_cost: u32,
    /// Largest Argon2id pass count (default 64).
    pub max_argon2_t_cost: u32,
    /// Largest Argon2id lane count (default 64).
    pub max_argon2_p_cost: u32,
    /// Largest SCRAM iteration count (default 10 000 000).
    pub max_scram_iterations: u32,
}

impl Default for PasswdLimits {
    fn default() -> Self {
        PasswdLimits {
            max_file_size: 64 << 20,
            max_sha512_rounds: 10_000_000,
            max_argon2_m_cost: 1 << 20,
            max_argon2_t_cost: 64,
            max_argon2_p_cost: 64,
            max_scram_iterations: 10_000_000,
        }
    }
}

/// The userdb fields of a passwd line, after the password. Empty fields are `None`. The
/// values are kept as written: Dovecot allows names as well as numbers for uid and gid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    /// System user id.
    pub uid: Option<String>,
    /// System group id.
    pub gid: Option<String>,
    /// GECOS (full name); unused by Dovecot.
    pub gecos: Option<String>,
    /// Home directory.
    pub home: Option<String>,
    /// Shell; unused by Dovecot.
    pub shell: Option<String>,
    /// The rest of the line: space-separated `key=value` (or bare `key`) extra fields.
    pub extra: Option<String>,
}

impl UserFields {
    /// The extra fields as `(key, value)` pairs; a bare `key` has value `None`.
    pub fn extra_fields(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.extra
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(|f| match f.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (f, None),
            })
    }

    /// The value of one extra field (`None` when absent; `Some("")` for a bare key).
    pub fn extra_field(&self, key: &str) -> Option<&str> {
        self.extra_fields()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.unwrap_or(""))
    }

    fn check(&self) -> Result<(), PasswdError> {
        let fields = [
            ("uid", &self.uid),
            ("gid", &self.gid),
            ("gecos", &self.gecos),
            ("home", &self.home),
            ("shell", &self.shell),
        ];
        for (field, value) in fields {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(|c| c == ':' || c.is_control()))
            {
                return Err(PasswdError::InvalidField {
                    field,
                    reason: "contains ':' or a control character",
                });
            }
        }
        if self
            .extra
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(PasswdError::InvalidField {
                field: "extra",
                reason: "contains a control character",
            });
        }
        Ok(())
    }

    fn write_line(&self, user: &str, password_field: &str) -> String {
        let rest = [
            &self.uid,
            &self.gid,
            &self.gecos,
            &self.home,
            &self.shell,
            &self.extra,
        ];
        let used = rest
            .iter()
            .rposition(|f| f.as_deref().is_some_and(|v| !v.is_empty()))
            .map_or(0, |i| i + 1);
        let mut out = format!("{user}:{password_field}");
        for f in &rest[..used] {
            out.push(':');
            out.push_str(f.as_deref().unwrap_or(""));
        }
        out
    }
}

/// One user of a [`PasswdFile`]. `Debug` shows the scheme, never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    user: String,
    password: Option<StoredPassword>,
    fields: UserFields,
    line: usize,
}

impl PasswdEntry {
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The scheme of the stored password; `None` when the password field is empty.
    pub fn scheme(&self) -> Option<Scheme> {
        self.password.as_ref().map(StoredPassword::scheme)
    }

    /// The userdb fields.
    pub fn fields(&self) -> &UserFields {
        &self.fields
    }

    /// The 1-based line of the file this entry came from.
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// Checks a password against this entry (`false` when it has no password).
    pub fn verify_password(&self, password: &[u8]) -> bool {
        self.password.as_ref().is_some_and(|p| p.verify(password))
    }

    /// The entry as a passwd line (without line break). It contains the stored hash, or for
    /// PLAIN the password: treat it as a secret. Parsing it gives an equal entry.
    pub fn to_line(&self) -> String {
        let field = self
            .password
            .as_ref()
            .map(StoredPassword::to_field)
            .unwrap_or_default();
        self.fields.write_line(&self.user, &field)
    }
}

/// A login of a protocol's plain login command, as [`PasswdFile::check_login`] accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Whose password was checked: the user, or the master user of a `user*master` login.
    pub authcid: String,
    /// The user the session acts as.
    pub user: String,
}

/// The parts of a `user*master` login name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterLogin<'a> {
    /// The user to act as (before the separator).
    pub user: &'a str,
    /// The master user whose password is given (after the separator).
    pub master: &'a str,
}

/// Splits a Dovecot master-user login name `user<separator>master` (the separator is usually
/// `*`, Dovecot's `auth_master_user_separator`). Splits at the first separator, as Dovecot
/// does, so a master name may contain it but a user name may not. `None` when there is no
/// separator or either side is empty.
///
/// ```
/// use mailhub_sasl::passwd::{MasterLogin, split_master_login};
/// assert_eq!(
///     split_master_login("alice*admin", '*'),
///     Some(MasterLogin { user: "alice", master: "admin" })
/// );
/// assert_eq!(split_master_login("alice", '*'), None);
/// ```
pub fn split_master_login(login: &str, separator: char) -> Option<MasterLogin<'_>> {
    let (user, master) = login.split_once(separator)?;
    (!user.is_empty() && !master.is_empty()).then_some(MasterLogin { user, master })
}

/// A user database read from passwd-style text; implements [`Credentials`]. See the module
/// docs for the format and the master-user rules.
#[derive(Clone)]
pub struct PasswdFile {
    entries: Vec<PasswdEntry>,
    index: HashMap<String, usize>,
    masters: HashSet<String>,
    master_separator: Option<char>,
    /// Checked for unknown users and for users without a password, and its answer thrown away.
    decoy: Option<StoredPassword>,
}

impl fmt::Debug for PasswdFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswdFile")
            .field("users", &self.entries.len())
            .field("master_users", &self.masters)
            .field("master_separator", &self.master_separator)
            .finish_non_exhaustive()
    }
}

impl PasswdFile {
    /// Parses passwd text with [`PasswdLimits::default`].
    pub fn parse(text: &str) -> Result<PasswdFile, PasswdError> {
        Self::parse_with_limits(text, &PasswdLimits::default())
    }

    /// Parses passwd text. The first bad line fails the whole file, so that a typo cannot
    /// silently lock a user out (or leave an old password working).
    pub fn parse_with_limits(text: &str, limits: &PasswdLimits) -> Result<PasswdFile, PasswdError> {
        let mut entries = Vec::new();
        let mut index = HashMap::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let Some(entry) = parse_line(raw, line, limits)? else {
                continue;
            };
            if let Some(&first) = index.get(&entry.user) {
                let first: &PasswdEntry = &entries[first];
                return Err(PasswdError::DuplicateUser {
                    line,
                    first_line: first.line,
                    user: entry.user,
                });
            }
            index.insert(entry.user.clone(), entries.len());
            entries.push(entry);
        }
        let decoy = decoy_for(&entries);
        Ok(PasswdFile {
            entries,
            index,
            masters: HashSet::new(),
            master_separator: None,
            decoy,
        })
    }

    /// Reads and parses a file with [`PasswdLimits::default`].
    pub fn load(path: impl AsRef<Path>) -> Result<PasswdFile, PasswdError> {
        Self::load_with_limits(path, &PasswdLimits::default())
    }

    /// Reads and parses a file, refusing files over [`PasswdLimits::max_file_size`].
    pub fn load_with_limits(
        path: impl AsRef<Path>,
        limits: &PasswdLimits,
    ) -> Result<PasswdFile, PasswdError> {
        let path = path.as_ref();
        let io = |source| PasswdError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // Read one octet past the limit to tell "exactly at the limit" from "over it" without
        // trusting metadata (the file may grow while it is read).
        let mut bytes = Vec::new();
        file.take(limits.max_file_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limits.max_file_size {
            return Err(PasswdError::TooLarge {
                limit: limits.max_file_size,
            });
        }
        let bytes = Secret::new(bytes);
        let text = std::str::from_utf8(bytes.expose())
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        Self::parse_with_limits(text, limits)
    }

    /// Names the master users: users of this file who may act as any user (see the module
    /// docs). Replaces any earlier set.
    pub fn with_master_users<I, S>(mut self, masters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.masters = masters.into_iter().map(Into::into).collect();
        self
    }

    /// Makes the [`Credentials`] methods accept `user<separator>master` as an authentication
    /// identity, checking the master's credentials (off by default). An identity holding the
    /// separator is then always read as a master login, never looked up as a user name.
    pub fn with_master_separator(mut self, separator: char) -> Self {
        self.master_separator = Some(separator);
        self
    }

    /// The master users.
    pub fn master_users(&self) -> impl Iterator<Item = &str> {
        self.masters.iter().map(String::as_str)
    }

    /// Whether `user` is a master user of this file.
    pub fn is_master(&self, user: &str) -> bool {
        self.masters.contains(user) && self.index.contains_key(user)
    }

    /// The entry of `user`.
    pub fn get(&self, user: &str) -> Option<&PasswdEntry> {
        self.index.get(user).map(|&i| &self.entries[i])
    }

    /// The entries, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &PasswdEntry> {
        self.entries.iter()
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The whole file as text, one line per entry in file order (comments are not kept).
    /// Contains the stored hashes.
    pub fn to_text(&self) -> String {
        self.entries.iter().map(|e| e.to_line() + "\n").collect()
    }

    /// The user a session acts as after the [`Credentials`] methods accepted `identity`: with
    /// a master separator set, `user*master` (of a master user) gives `user`; anything else is
    /// returned as is.
    pub fn effective_user<'a>(&self, identity: &'a str) -> &'a str {
        match self.master_split(identity) {
            Some(m) if self.is_master(m.master) => m.user,
            _ => identity,
        }
    }

    /// Checks a name and password of a protocol's plain login command (IMAP LOGIN, POP3
    /// USER/PASS), accepting `user*master` for master users when the separator is set.
    /// `Ok(None)` for an unknown user, a wrong password, or a `*master` who is not a master:
    /// the cases are not told apart.
    pub fn check_login(
        &self,
        login: &str,
        password: &Secret<Vec<u8>>,
    ) -> Result<Option<Login>, CredentialError> {
        if !self.verify_password(login, password)? {
            return Ok(None);
        }
        Ok(Some(match self.master_split(login) {
            Some(m) => Login {
                authcid: m.master.to_owned(),
                user: m.user.to_owned(),
            },
            None => Login {
                authcid: login.to_owned(),
                user: login.to_owned(),
            },
        }))
    }

    fn master_split<'a>(&self, identity: &'a str) -> Option<MasterLogin<'a>> {
        split_master_login(identity, self.master_separator?)
    }

    /// The entry whose credentials stand for `authcid`: the user's own, or with a master
    /// separator set and `authcid` = `user*master`, the master's (if a master user).
    fn resolve(&self, authcid: &str) -> Option<&PasswdEntry> {
        if let Some(sep) = self.master_separator
            && authcid.contains(sep)
        {
            let m = split_master_login(authcid, sep)?;
            return if self.is_master(m.master) {
                self.get(m.master)
            } else {
                None
            };
        }
        self.get(authcid)
    }

    fn stored(&self, authcid: &str) -> Option<&StoredPassword> {
        self.resolve(authcid).and_then(|e| e.password.as_ref())
    }
}

impl Credentials for PasswdFile {
    fn verify_password(
        &self,
        authcid: &str,
        password: &Secret<Vec<u8>>,
    ) -> Result<bool, CredentialError> {
        match self.stored(authcid) {
            Some(stored) => Ok(stored.verify(password.expose())),
            None => {
                if let Some(decoy) = &self.decoy {
                    std::hint::black_box(decoy.verify(password.expose()));
                }
                Ok(false)
            }
        }
    }

    fn plaintext_password(
        &self,
        authcid: &str,
    ) -> Result<Option<Secret<Vec<u8>>>, CredentialError> {
        Ok(self
            .stored(authcid)
            .and_then(StoredPassword::plaintext)
            .cloned())
    }

    fn scram_keys(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramKeys>, CredentialError> {
        let Some(stored) = self.stored(authcid) else {
            return Ok(None);
        };
        if let Some(keys) = stored.scram_keys() {
            return Ok((keys.hash == hash).then(|| keys.clone()));
        }
        // The trait's default derivation: a PLAIN entry serves SCRAM with a salt stable per user.
        Ok(stored
            .plaintext()
            .map(|pw| ScramKeys::for_plaintext_user(hash, authcid, pw.expose())))
    }

    fn user_exists(&self, authcid: &str) -> Result<bool, CredentialError> {
        Ok(self.resolve(authcid).is_some())
    }

    fn authorize(&self, authcid: &str, authzid: &str) -> Result<bool, CredentialError> {
        if authcid == authzid || self.is_master(authcid) {
            return Ok(true);
        }
        // A `user*master` login asking, in addition, for the user it names.
        Ok(self
            .master_split(authcid)
            .is_some_and(|m| m.user == authzid && self.is_master(m.master)))
    }
}

/// The decoy checked for unknown users: shaped like the first entry of the file's most common
/// scheme, so that in a file of one scheme (the usual case) an unknown user costs what a known
/// one does.
fn decoy_for(entries: &[PasswdEntry]) -> Option<StoredPassword> {
    let mut counts: HashMap<Scheme, (usize, usize)> = HashMap::new();
    for (i, stored) in entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e.password.as_ref()?)))
    {
        counts.entry(stored.scheme()).or_insert((0, i)).0 += 1;
    }
    // Most entries first; on a tie, the scheme that appears first in the file.
    let (_, first) = counts
        .into_values()
        .max_by_key(|&(count, first)| (count, std::cmp::Reverse(first)))?;
    entries[first].password.as_ref().map(StoredPassword::decoy)
}

/// Parses one line; `Ok(None)` for comments and blank lines.
fn parse_line(
    raw: &str,
    line: usize,
    limits: &PasswdLimits,
) -> Result<Option<PasswdEntry>, PasswdError> {
    let text = raw.strip_suffix('\r').unwrap_or(raw);
    if text.starts_with('#') || text.trim().is_empty() {
        return Ok(None);
    }
    let syntax = |reason| PasswdError::Syntax { line, reason };
    let mut parts = text.splitn(8, ':');
    let user = parts.next().unwrap_or_default();
    let password = parts.next().ok_or(syntax("no ':' after the user name"))?;
    if user.is_empty() {
        return Err(syntax("empty user name"));
    }
    if user.chars().any(char::is_control) {
        return Err(syntax("control character in the user name"));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(syntax("control character in the line"));
    }
    let mut field = || parts.next().filter(|f| !f.is_empty()).map(str::to_owned);
    let fields = UserFields {
        uid: field(),
        gid: field(),
        gecos: field(),
        home: field(),
        shell: field(),
        extra: field(),
    };
    let password = if password.is_empty() {
        None
    } else {
        Some(
            StoredPassword::parse(password, limits).map_err(|e| match e {
                FieldError::Syntax(reason) => PasswdError::Syntax { line, reason },
                FieldError::UnknownScheme(scheme) => PasswdError::UnknownScheme { line, scheme },
                FieldError::Bad(scheme, reason) => PasswdError::BadHash {
                    line,
                    scheme,
                    reason,
                },
                FieldError::Cost(scheme) => PasswdError::CostTooHigh { line, scheme },
            })?,
        )
    };
    Ok(Some(PasswdEntry {
        user: user.to_owned(),
        password,
        fields,
        line,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_hashes() {
        let f = PasswdFile::parse("a:{PLAIN}hunter2\nb:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n").unwrap();
        let shown = format!("{f:?} {:?} {:?}", f.get("a"), f.get("b"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("svn8"), "{shown}");
        assert!(shown.contains("SHA512-CRYPT"), "{shown}");
    }

    #[test]
    fn decoy_never_matches_and_keeps_cost() {
        let f = PasswdFile::parse("a:{SCRAM-SHA-1}7,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n").unwrap();
        match f.decoy.as_ref().unwrap() {
            StoredPassword::Scram(k) => assert_eq!(k.iterations, 7),
            other => panic!("decoy of the wrong scheme: {other:?}"),
        }
        assert!(!f.decoy.as_ref().unwrap().verify(b"pencil"));
    }

    #[test]
    fn decoy_follows_the_most_common_scheme() {
        let crypt = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        let text = format!("a:{{PLAIN}}x\nb:{crypt}\nc:\nd:{crypt}\ne:{{PLAIN}}y\nf:{crypt}\n");
        let f = PasswdFile::parse(&text).unwrap();
        assert_eq!(f.decoy.as_ref().unwrap().scheme(), Scheme::Sha512Crypt);
        // A tie goes to the scheme seen first.
        let f = PasswdFile::parse(&format!("a:{crypt}\nb:{{PLAIN}}x\n")).unwrap();
        assert_eq!(f.decoy.as_ref().unwrap().scheme(), Scheme::Sha512Crypt);
        assert!(PasswdFile::parse("a:\n").unwrap().decoy.is_none());
    }

    #[test]
    fn argon2_decoy_is_a_valid_phc_string() {
        let f = PasswdFile::parse(
            "a:{ARGON2ID}$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4\n",
        )
        .unwrap();
        let decoy = f.decoy.as_ref().unwrap();
        let reparsed = StoredPassword::parse(&decoy.to_field(), &PasswdLimits::default());
        assert!(reparsed.is_ok(), "{reparsed:?}");
        assert!(!decoy.verify(b"password"));
    }
}
