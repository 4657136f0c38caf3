//! The `/etc/aliases` file (sendmail's aliases(5), Postfix's aliases(5)) and the list syntax
//! of `:include:` files and `.forward` files.
//!
//! A logical line is `name: target, target, …`; a line starting with white space continues
//! the previous one; empty lines and lines whose first non-blank character is `#` are
//! comments. Names and targets may be double-quoted (`"|/usr/bin/vacation bob"`), with `\`
//! escaping inside quotes. A target is an address, `:include:/file` (more targets read from a
//! file), `/dev/null` (discard), `|command` (a program), `/path` (append to a file) or
//! `\user` (the local user, not expanded further). Program and file targets are parsed here;
//! routing refuses them unless enabled ([`super::RouteOptions::allow_programs`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One target of an alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AliasTarget {
    /// An address, local (`bob`) or remote (`bob@example.org`).
    Address(String),
    /// `:include:/path`: the targets listed in a file.
    Include(PathBuf),
    /// `/dev/null`: discard.
    DevNull,
    /// `|command`: pipe the message to a program.
    Program(String),
    /// `/path`: append the message to a file.
    File(PathBuf),
    /// `\user`: the local user's mailbox, without further alias expansion.
    Local(String),
}

/// One alias definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// The alias name, as written.
    pub name: String,
    /// Its targets, in order.
    pub targets: Vec<AliasTarget>,
    /// The line where the entry starts (1-based).
    pub line: usize,
}

/// Limits on an aliases file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasLimits {
    /// Longest logical line (with its continuation lines), in bytes.
    pub max_logical_line: usize,
    /// Most entries in one file.
    pub max_entries: usize,
    /// Most bytes read from one file (aliases or include).
    pub max_file: u64,
    /// How deep `:include:` files may include others when loading.
    pub max_include_depth: usize,
}

impl Default for AliasLimits {
    fn default() -> Self {
        AliasLimits {
            max_logical_line: 64 * 1024,
            max_entries: 100_000,
            max_file: 16 * 1024 * 1024,
            max_include_depth: 8,
        }
    }
}

/// Why an aliases file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AliasError {
    /// A logical line has no `:` after the name.
    #[error("line {0}: missing ':' after the alias name")]
    MissingColon(usize),
    /// The name is empty.
    #[error("line {0}: empty alias name")]
    EmptyName(usize),
    /// A quoted string is not closed.
    #[error("line {0}: unterminated quoted string")]
    Unterminated(usize),
    /// A target is not an address nor one of the special forms.
    #[error("line {line}: bad target {target:?}")]
    BadTarget {
        /// The line.
        line: usize,
        /// The target as written (truncated).
        target: String,
    },
    /// A continuation line with no entry before it.
    #[error("line {0}: continuation line without an entry")]
    StrayContinuation(usize),
    /// A logical line, a file, or the number of entries passed a limit.
    #[error("line {0}: over a limit")]
    TooLarge(usize),
    /// An include file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Parses an aliases file.
pub fn parse_aliases(text: &str, limits: &AliasLimits) -> Result<Vec<AliasEntry>, AliasError> {
    let mut entries = Vec::new();
    for (line, logical) in logical_lines(text, limits)? {
        if entries.len() >= limits.max_entries {
            return Err(AliasError::TooLarge(line));
        }
        let (name, rest) = split_name(&logical, line)?;
        entries.push(AliasEntry {
            name,
            targets: parse_targets(rest, line)?,
            line,
        });
    }
    Ok(entries)
}

/// Parses a list of targets (an `:include:` file or a `.forward` file): the targets of every
/// line, comma- or line-separated, comments and blank lines skipped.
pub fn parse_list(text: &str, limits: &AliasLimits) -> Result<Vec<AliasTarget>, AliasError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.len() > limits.max_logical_line {
            return Err(AliasError::TooLarge(n + 1));
        }
        out.extend(parse_targets(t, n + 1)?);
    }
    Ok(out)
}

/// Writes entries back in aliases(5) syntax; `parse_aliases` of the result gives the same
/// names and targets.
pub fn render_aliases(entries: &[AliasEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&quote_if(&e.name, |c| {
            c == ':' || c == '#' || c.is_whitespace()
        }));
        out.push(':');
        for (i, t) in e.targets.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(&render_target(t));
        }
        out.push('\n');
    }
    out
}

fn render_target(t: &AliasTarget) -> String {
    let special = |c: char| c == ',' || c == '#' || c.is_whitespace();
    match t {
        AliasTarget::Address(a) => a.clone(),
        AliasTarget::Include(p) => quote_if(&format!(":include:{}", p.display()), special),
        AliasTarget::DevNull => "/dev/null".into(),
        AliasTarget::Program(c) => quote_if(&format!("|{c}"), special),
        AliasTarget::File(p) => quote_if(&p.display().to_string(), special),
        AliasTarget::Local(u) => quote_if(&format!("\\{u}"), special),
    }
}

fn quote_if(s: &str, special: impl Fn(char) -> bool) -> String {
    if !s.chars().any(|c| special(c) || c == '"') && !s.starts_with('"') {
        return s.to_owned();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Joins continuation lines; yields (first line number, logical line).
fn logical_lines(text: &str, limits: &AliasLimits) -> Result<Vec<(usize, String)>, AliasError> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            // A comment line does not end the logical line it sits in (Postfix).
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let last = out.last_mut().ok_or(AliasError::StrayContinuation(n + 1))?;
            if last.1.len() + line.len() > limits.max_logical_line {
                return Err(AliasError::TooLarge(n + 1));
            }
            last.1.push(' ');
            last.1.push_str(trimmed);
        } else {
            if line.len() > limits.max_logical_line {
                return Err(AliasError::TooLarge(n + 1));
            }
            out.push((n + 1, line.trim_end().to_owned()));
        }
    }
    Ok(out)
}

/// Reads a possibly quoted token up to one of `stops` outside quotes. Returns (token,
/// whether any of it was quoted, rest starting at the stop).
fn token<'a>(
    s: &'a str,
    stops: &[char],
    line: usize,
) -> Result<(String, bool, &'a str), AliasError> {
    let mut out = String::new();
    let mut quoted = false;
    let mut in_q = false;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                in_q = !in_q;
                quoted = true;
            }
            '\\' if in_q => match chars.next() {
                Some((_, c)) => out.push(c),
                None => return Err(AliasError::Unterminated(line)),
            },
            c if !in_q && stops.contains(&c) => return Ok((out, quoted, &s[i..])),
            c => out.push(c),
        }
    }
    if in_q {
        return Err(AliasError::Unterminated(line));
    }
    Ok((out, quoted, ""))
}

fn split_name(logical: &str, line: usize) -> Result<(String, &str), AliasError> {
    let (name, _, rest) = token(logical, &[':'], line)?;
    let rest = rest
        .strip_prefix(':')
        .ok_or(AliasError::MissingColon(line))?;
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(AliasError::EmptyName(line));
    }
    Ok((name, rest))
}

fn parse_targets(mut s: &str, line: usize) -> Result<Vec<AliasTarget>, AliasError> {
    let mut out = Vec::new();
    loop {
        let (raw, quoted, rest) = {
            // A target that is a whole quoted string loses its quotes; a quoted local part
            // (`"a b"@host`) stays an address with its quotes.
            let t = s.trim_start();
            if t.starts_with('"') {
                let (tok, _, rest) = token(t, &[','], line)?;
                let whole_quoted = {
                    let end = t.len() - rest.len();
                    t[..end].trim_end().ends_with('"')
                };
                if whole_quoted {
                    (tok, true, rest)
                } else {
                    let end = t.len() - rest.len();
                    (t[..end].to_owned(), false, rest)
                }
            } else {
                let (_, _, rest) = token(t, &[','], line)?;
                let end = t.len() - rest.len();
                (t[..end].to_owned(), false, rest)
            }
        };
        let tgt = if quoted { raw.as_str() } else { raw.trim() };
        if !tgt.trim().is_empty() {
            out.push(classify(tgt.trim_start(), quoted, line)?);
        }
        match rest.strip_prefix(',') {
            Some(r) => s = r,
            None => return Ok(out),
        }
    }
}

fn classify(t: &str, quoted: bool, line: usize) -> Result<AliasTarget, AliasError> {
    let bad = || AliasError::BadTarget {
        line,
        target: t.chars().take(80).collect(),
    };
    if let Some(p) = t.strip_prefix(":include:") {
        let p = p.trim();
        return if p.is_empty() {
            Err(bad())
        } else {
            Ok(AliasTarget::Include(p.into()))
        };
    }
    if t == "/dev/null" {
        return Ok(AliasTarget::DevNull);
    }
    if let Some(c) = t.strip_prefix('|') {
        return if c.trim().is_empty() {
            Err(bad())
        } else {
            Ok(AliasTarget::Program(c.to_owned()))
        };
    }
    if t.starts_with('/') {
        return Ok(AliasTarget::File(t.into()));
    }
    if let Some(u) = t.strip_prefix('\\') {
        return if u.is_empty() || u.contains(char::is_whitespace) {
            Err(bad())
        } else {
            Ok(AliasTarget::Local(u.to_owned()))
        };
    }
    let addr = if quoted { quote_local(t) } else { t.to_owned() };
    super::address::Address::parse(&addr).map_err(|_| bad())?;
    Ok(AliasTarget::Address(addr))
}

/// A target that was a whole quoted string and is an address (`"a b"`): keep it quoted.
fn quote_local(t: &str) -> String {
    if t.contains(char::is_whitespace) || t.contains('"') {
        quote_if(t, |_| true)
    } else {
        t.to_owned()
    }
}

/// Aliases ready for lookup: names lower-cased, `:include:` files read.
#[derive(Debug, Clone, Default)]
pub struct AliasTable {
    map: HashMap<String, Vec<AliasTarget>>,
    includes: HashMap<PathBuf, Vec<AliasTarget>>,
}

impl AliasTable {
    /// A table from aliases-file text; `:include:` files are not read (see
    /// [`AliasTable::load_includes`]).
    pub fn parse(text: &str, limits: &AliasLimits) -> Result<AliasTable, AliasError> {
        let mut t = AliasTable::default();
        for e in parse_aliases(text, limits)? {
            // The first definition wins, as in Postfix.
            t.map.entry(e.name.to_lowercase()).or_insert(e.targets);
        }
        Ok(t)
    }

    /// Reads an aliases file and every `:include:` file it names (blocking: call it through
    /// [`crate::runtime::unblock`] from async code).
    pub fn load(path: &Path, limits: &AliasLimits) -> Result<AliasTable, AliasError> {
        let mut t = AliasTable::parse(&read_limited(path, limits.max_file)?, limits)?;
        t.load_includes(limits)?;
        Ok(t)
    }

    /// Reads the `:include:` files the table names, and those they name, up to
    /// [`AliasLimits::max_include_depth`] (blocking).
    pub fn load_includes(&mut self, limits: &AliasLimits) -> Result<(), AliasError> {
        let mut pending: Vec<(PathBuf, usize)> = self
            .map
            .values()
            .flatten()
            .filter_map(|t| match t {
                AliasTarget::Include(p) => Some((p.clone(), 1)),
                _ => None,
            })
            .collect();
        while let Some((p, depth)) = pending.pop() {
            if self.includes.contains_key(&p) || depth > limits.max_include_depth {
                continue;
            }
            let list = parse_list(&read_limited(&p, limits.max_file)?, limits)?;
            for t in &list {
                if let AliasTarget::Include(q) = t {
                    pending.push((q.clone(), depth + 1));
                }
            }
            self.includes.insert(p, list);
        }
        Ok(())
    }

    /// Sets the content of an include file by hand (tests, or includes kept elsewhere).
    pub fn set_include(&mut self, path: impl Into<PathBuf>, targets: Vec<AliasTarget>) {
        self.includes.insert(path.into(), targets);
    }

    /// Adds an alias (replacing one of the same name).
    pub fn insert(&mut self, name: &str, targets: Vec<AliasTarget>) {
        self.map.insert(name.to_lowercase(), targets);
    }

    /// The targets of an alias (name case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[AliasTarget]> {
        self.map.get(&name.to_lowercase()).map(Vec::as_slice)
    }

    /// The targets of an include file, if it was read.
    pub fn include(&self, path: &Path) -> Option<&[AliasTarget]> {
        self.includes.get(path).map(Vec::as_slice)
    }

    /// The number of aliases.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no alias.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn read_limited(path: &Path, max: u64) -> Result<String, AliasError> {
    use std::io::Read;
    let io = |e: std::io::Error| AliasError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > max {
        return Err(AliasError::TooLarge(0));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_aliases_5() {
        let text = "# system aliases\n\
            postmaster: root\n\
            root: alice,\n  bob@example.org\n\
            # comment inside\n\
            \t, carol\n\
            \"odd name\": \"|/usr/bin/vacation alice\", /var/log/mail.log\n\
            staff: :include:/etc/mail/staff, /dev/null, \\alice\n\
            quoted: \"a b\"@example.org\n";
        let e = parse_aliases(text, &AliasLimits::default()).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[1].name, "root");
        assert_eq!(
            e[1].targets,
            [
                AliasTarget::Address("alice".into()),
                AliasTarget::Address("bob@example.org".into()),
                AliasTarget::Address("carol".into())
            ]
        );
        assert_eq!(e[2].name, "odd name");
        assert_eq!(
            e[2].targets,
            [
                AliasTarget::Program("/usr/bin/vacation alice".into()),
                AliasTarget::File("/var/log/mail.log".into())
            ]
        );
        assert_eq!(
            e[3].targets,
            [
                AliasTarget::Include("/etc/mail/staff".into()),
                AliasTarget::DevNull,
                AliasTarget::Local("alice".into())
            ]
        );
        assert_eq!(
            e[4].targets,
            [AliasTarget::Address("\"a b\"@example.org".into())]
        );
        let again = parse_aliases(&render_aliases(&e), &AliasLimits::default()).unwrap();
        let strip = |v: &[AliasEntry]| {
            v.iter()
                .map(|e| (e.name.clone(), e.targets.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again), strip(&e));
    }

    #[test]
    fn errors_carry_line_numbers() {
        let l = AliasLimits::default();
        assert_eq!(
            parse_aliases("a: b\nnocolon\n", &l),
            Err(AliasError::MissingColon(2))
        );
        assert_eq!(
            parse_aliases(" x\n", &l),
            Err(AliasError::StrayContinuation(1))
        );
        assert_eq!(
            parse_aliases("a: \"|x\n", &l),
            Err(AliasError::Unterminated(1))
        );
        assert!(matches!(
            parse_aliases("a: b c@@\n", &l),
            Err(AliasError::BadTarget { line: 1, .. })
        ));
        let small = AliasLimits {
            max_logical_line: 10,
            ..l
        };
        assert_eq!(
            parse_aliases("a: b,\n cccccccccccc\n", &small),
            Err(AliasError::TooLarge(2))
        );
    }
}
