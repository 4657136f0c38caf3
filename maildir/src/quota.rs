//! The Maildir++ quota: the `maildirsize` file (maildirquota, "Contents of maildirsize",
//! "Calculating maildirsize", "Calculating the quota for a Maildir++").
//!
//! The first line is the quota definition (`10000000S,1000C`: bytes `S`, messages `C`); every
//! further line is a byte count and a message count, added up. Deliveries append
//! `<size> 1`, expunges `-<size> -1`. The file is recalculated from the messages when it
//! reaches 5120 bytes, and when it says "over quota" while holding more than one count line or
//! being older than 15 minutes. The Trash folder is not counted.
//!
//! No lock is taken (the specification trades exactness for lock freedom): concurrent
//! deliveries may overshoot a little, and the next recalculation corrects the totals.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ParseError};
use crate::fsutil;
use crate::maildir::Options;
use crate::name::MessageName;

/// The file name.
pub const MAILDIRSIZE: &str = "maildirsize";
/// At this size the file is recalculated instead of read.
pub const RECALC_SIZE: usize = 5120;
/// A file older than this that says "over quota" is recalculated.
pub const RECALC_AGE: Duration = Duration::from_secs(15 * 60);

/// A quota definition: the first line of `maildirsize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaDef {
    /// Maximum total size of the messages in bytes (`S`).
    pub bytes: Option<u64>,
    /// Maximum number of messages (`C`).
    pub count: Option<u64>,
}

impl QuotaDef {
    /// Parses `10000000S,1000C` (either part optional; unknown letters ignored, as Courier).
    pub fn parse(s: &str) -> Result<QuotaDef, ParseError> {
        let mut def = QuotaDef::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = ParseError::Syntax {
                line: 1,
                what: "quota item is not <number><letter>",
            };
            let Some((last, _)) = item.char_indices().last() else {
                continue;
            };
            let (num, kind) = item.split_at(last);
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad);
            }
            let Ok(n) = num.parse::<u64>() else {
                return Err(bad);
            };
            match kind {
                "S" => def.bytes = Some(n),
                "C" => def.count = Some(n),
                k if k.bytes().all(|b| b.is_ascii_alphabetic()) => {}
                _ => return Err(bad),
            }
        }
        Ok(def)
    }

    /// Whether usage `bytes`/`count` plus a message of `add_bytes` stays within the quota.
    #[must_use]
    pub fn allows(&self, bytes: i64, count: i64, add_bytes: u64, add_count: u64) -> bool {
        let fits = |used: i64, add: u64, limit: Option<u64>| {
            limit.is_none_or(|l| i128::from(used) + i128::from(add) <= i128::from(l))
        };
        fits(bytes, add_bytes, self.bytes) && fits(count, add_count, self.count)
    }
}

impl fmt::Display for QuotaDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.bytes, self.count) {
            (Some(b), Some(c)) => write!(f, "{b}S,{c}C"),
            (Some(b), None) => write!(f, "{b}S"),
            (None, Some(c)) => write!(f, "{c}C"),
            (None, None) => Ok(()),
        }
    }
}

/// The parsed contents of `maildirsize`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaildirSize {
    /// The quota definition.
    pub def: QuotaDef,
    /// Sum of the byte counts.
    pub bytes: i64,
    /// Sum of the message counts.
    pub count: i64,
    /// Number of count lines.
    pub lines: usize,
}

/// One count line, padded with spaces to 14 bytes with its newline as Courier writes them
/// (longer when the numbers need it).
#[must_use]
pub fn count_line(bytes: i64, count: i64) -> String {
    let body = format!("{bytes} {count}");
    format!("{body:>13}\n")
}

impl MaildirSize {
    /// Parses the file: the definition line, then lines of two whitespace-separated integers.
    /// A last line without its newline (an append in progress) is ignored.
    pub fn parse(data: &[u8]) -> Result<MaildirSize, ParseError> {
        let text = std::str::from_utf8(data).map_err(|_| ParseError::Syntax {
            line: 1,
            what: "not UTF-8",
        })?;
        let mut lines = text
            .split_inclusive('\n')
            .filter_map(|l| l.strip_suffix('\n'));
        let first = lines.next().ok_or(ParseError::Syntax {
            line: 1,
            what: "empty file",
        })?;
        let mut size = MaildirSize {
            def: QuotaDef::parse(first)?,
            bytes: 0,
            count: 0,
            lines: 0,
        };
        for (i, line) in lines.enumerate() {
            let bad = ParseError::Syntax {
                line: i + 2,
                what: "expected '<bytes> <count>'",
            };
            let mut nums = line.split_ascii_whitespace().map(|n| n.parse::<i64>());
            let (Some(Ok(b)), Some(Ok(c)), None) = (nums.next(), nums.next(), nums.next()) else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(bad);
            };
            size.bytes = size.bytes.saturating_add(b);
            size.count = size.count.saturating_add(c);
            size.lines += 1;
        }
        Ok(size)
    }

    /// Serializes as a freshly recalculated file: the definition and one count line.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{}\n{}", self.def, count_line(self.bytes, self.count)).into_bytes()
    }
}

/// Where to append count lines after a delivery or an expunge.
#[derive(Debug)]
pub(crate) struct QuotaFile(PathBuf);

impl QuotaFile {
    pub(crate) fn new(path: PathBuf) -> QuotaFile {
        QuotaFile(path)
    }

    pub(crate) fn append(&self, bytes: i64, count: i64) -> Result<(), Error> {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&self.0)
            .map_err(|e| Error::io("open", &self.0, e))?;
        f.write_all(count_line(bytes, count).as_bytes())
            .map_err(|e| Error::io("append", &self.0, e))
    }
}

/// The directories counted: `new` and `cur` of the root and of every folder but Trash.
fn counted_dirs(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut dirs = vec![root.join("new"), root.join("cur")];
    let rd = fs::read_dir(root).map_err(|e| Error::io("read dir", root, e))?;
    for de in rd.flatten() {
        let name = de.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with('.') || name == "." || name == ".." || name == ".Trash" {
            continue;
        }
        if de.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(de.path().join("new"));
            dirs.push(de.path().join("cur"));
        }
    }
    Ok(dirs)
}

fn latest_mtime(dirs: &[PathBuf]) -> Option<SystemTime> {
    dirs.iter()
        .filter_map(|d| fs::metadata(d).and_then(|m| m.modified()).ok())
        .max()
}

/// Recalculates `maildirsize` from the messages ("Calculating maildirsize") with quota `def`
/// and returns the totals. If a directory changed while counting, the file is removed (the
/// totals are still returned), as step 4 allows.
pub fn recalculate(root: &Path, def: QuotaDef) -> Result<MaildirSize, Error> {
    let dirs = counted_dirs(root)?;
    let before = latest_mtime(&dirs);
    let (mut bytes, mut count) = (0i64, 0i64);
    for dir in &dirs {
        let Ok(rd) = fs::read_dir(dir) else { continue };
        for de in rd.flatten() {
            let name = de.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(parsed) = MessageName::parse(name) else {
                continue;
            };
            let size = match parsed.size() {
                Some(s) => s,
                // A stat that fails means the file was removed meanwhile: skip it.
                None => match de.metadata() {
                    Ok(m) => m.len(),
                    Err(_) => continue,
                },
            };
            bytes = bytes.saturating_add(i64::try_from(size).unwrap_or(i64::MAX));
            count += 1;
        }
    }
    let size = MaildirSize {
        def,
        bytes,
        count,
        lines: 1,
    };
    let path = root.join(MAILDIRSIZE);
    fsutil::replace_file(&root.join("tmp"), &path, &size.to_bytes())?;
    if latest_mtime(&dirs) > before {
        let _ = fs::remove_file(&path);
    }
    Ok(size)
}

/// Reads the usage, recalculating when the specification asks. `None` when the Maildir++
/// has no `maildirsize` (no quota) or its definition cannot be read.
pub fn usage(root: &Path, add_bytes: u64) -> Result<Option<MaildirSize>, Error> {
    let path = root.join(MAILDIRSIZE);
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let Some(def_line) = data.split(|&b| b == b'\n').next() else {
        return Ok(None);
    };
    let Ok(def) = QuotaDef::parse(&String::from_utf8_lossy(def_line)) else {
        return Ok(None);
    };
    if data.len() >= RECALC_SIZE {
        return recalculate(root, def).map(Some);
    }
    let size = match MaildirSize::parse(&data) {
        Ok(s) => s,
        Err(_) => return recalculate(root, def).map(Some),
    };
    if !def.allows(size.bytes, size.count, add_bytes, 1) {
        let age = fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        if size.lines > 1 || age >= RECALC_AGE {
            return recalculate(root, def).map(Some);
        }
    }
    Ok(Some(size))
}

fn is_trash(maildir: &Path) -> bool {
    maildir.file_name().is_some_and(|n| n == ".Trash")
}

/// Checks that a message of `size` bytes fits ("Delivering to a Maildir++" step 2).
pub(crate) fn check_for_delivery(
    maildir: &Path,
    root: &Path,
    size: u64,
    _options: &Options,
) -> Result<Option<QuotaFile>, Error> {
    if is_trash(maildir) {
        return Ok(None);
    }
    let Some(usage) = usage(root, size)? else {
        return Ok(None);
    };
    if !usage.def.allows(usage.bytes, usage.count, size, 1) {
        return Err(Error::OverQuota {
            used_bytes: usage.bytes,
            used_count: usage.count,
            limit: usage.def.to_string(),
        });
    }
    Ok(Some(QuotaFile(root.join(MAILDIRSIZE))))
}

/// Records a removal of `size` bytes from a counted folder (an expunge, a move to Trash).
pub(crate) fn record_removal(maildir: &Path, root: &Path, size: u64) -> Result<(), Error> {
    let path = root.join(MAILDIRSIZE);
    if is_trash(maildir) || !path.exists() {
        return Ok(());
    }
    QuotaFile(path).append(-i64::try_from(size).unwrap_or(i64::MAX), -1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_example() {
        let s = MaildirSize::parse(b"10000000S,1000C\n  4096 1\n-1024 -1\n  10 1").unwrap();
        assert_eq!(
            s.def,
            QuotaDef {
                bytes: Some(10_000_000),
                count: Some(1000)
            }
        );
        assert_eq!((s.bytes, s.count, s.lines), (3072, 0, 2));
        assert!(s.def.allows(s.bytes, s.count, 9_996_928, 1));
        assert!(!s.def.allows(s.bytes, s.count, 9_996_929, 1));
    }

    #[test]
    fn count_lines_are_14_bytes() {
        assert_eq!(count_line(4096, 1), "       4096 1\n");
        assert_eq!(count_line(4096, 1).len(), 14);
        assert_eq!(count_line(-123456789012, -1), "-123456789012 -1\n");
    }

    #[test]
    fn definitions() {
        assert_eq!(QuotaDef::parse("").unwrap(), QuotaDef::default());
        assert_eq!(QuotaDef::parse("5C").unwrap().to_string(), "5C");
        assert_eq!(QuotaDef::parse("100S,7X").unwrap().to_string(), "100S");
        for bad in ["S", "10", "1.5S", "-1S", "10S,x"] {
            assert!(QuotaDef::parse(bad).is_err(), "{bad}");
        }
        assert!(MaildirSize::parse(b"1S\n1 2 3\n").is_err());
        assert!(MaildirSize::parse(b"").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip(b in proptest::option::of(0u64..u64::MAX / 2),
                      c in proptest::option::of(0u64..1_000_000),
                      bytes in any::<i64>(), count in any::<i64>()) {
            let s = MaildirSize { def: QuotaDef { bytes: b, count: c }, bytes, count, lines: 1 };
            prop_assert_eq!(MaildirSize::parse(&s.to_bytes()).unwrap(), s);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = MaildirSize::parse(&data);
        }
    }
}
