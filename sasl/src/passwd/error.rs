//! The error type of the passwd-file store.

use super::Scheme;

/// Why a passwd file (or a line for one) was refused.
///
/// Messages name the line and what is wrong with it, never the stored hash or password: a
/// parse error is the kind of thing that ends up in a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswdError {
    /// A line does not have the `user:password[:…]` shape.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The `{SCHEME}` prefix names a scheme this store does not implement, or the password has
    /// no prefix and is not a recognised crypt string.
    #[error("line {line}: unsupported password scheme {scheme:?}")]
    UnknownScheme {
        /// 1-based line number.
        line: usize,
        /// The scheme name as written (cut to 32 characters; empty when there was no prefix).
        scheme: String,
    },
    /// The scheme is known but the stored value is not valid for it.
    #[error("line {line}: invalid {scheme} value: {reason}")]
    BadHash {
        /// 1-based line number.
        line: usize,
        /// The scheme.
        scheme: Scheme,
        /// What is wrong (never the value itself).
        reason: &'static str,
    },
    /// The stored value asks for more work than [`crate::passwd::PasswdLimits`] allows: a
    /// typo or a hostile file must not be able to make every login take minutes.
    #[error("line {line}: {scheme} cost parameters exceed the configured limit")]
    CostTooHigh {
        /// 1-based line number.
        line: usize,
        /// The scheme.
        scheme: Scheme,
    },
    /// The same user name appears twice; which entry wins would be a guess, so neither does.
    #[error("line {line}: user {user:?} already defined on line {first_line}")]
    DuplicateUser {
        /// 1-based line number of the second entry.
        line: usize,
        /// 1-based line number of the first entry.
        first_line: usize,
        /// The user name.
        user: String,
    },
    /// The file is larger than [`crate::passwd::PasswdLimits::max_file_size`].
    #[error("passwd file larger than {limit} octets")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file could not be read, or is not UTF-8.
    #[error("cannot read passwd file {path}: {source}")]
    Io {
        /// The path given to [`crate::passwd::PasswdFile::load`].
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A field given to [`crate::passwd::line_with`] cannot be written into a passwd line (it
    /// contains `:` or a line break, or the user name is empty).
    #[error("invalid {field} for a passwd line: {reason}")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Hash parameters given to [`crate::passwd::hash_password_with`] are out of range for
    /// the scheme.
    #[error("invalid {scheme} parameters: {reason}")]
    InvalidParams {
        /// The scheme.
        scheme: Scheme,
        /// What is wrong.
        reason: &'static str,
    },
}

impl PasswdError {
    /// The 1-based line number the error is about, for errors about one line of a file.
    pub fn line(&self) -> Option<usize> {
        match self {
            PasswdError::Syntax { line, .. }
            | PasswdError::UnknownScheme { line, .. }
            | PasswdError::BadHash { line, .. }
            | PasswdError::CostTooHigh { line, .. }
            | PasswdError::DuplicateUser { line, .. } => Some(*line),
            PasswdError::TooLarge { .. }
            | PasswdError::Io { .. }
            | PasswdError::InvalidField { .. }
            | PasswdError::InvalidParams { .. } => None,
        }
    }
}
