//! A Maildir++ (maildirquota, "Definitions, and goals"): INBOX at the root, folders as
//! `.`-prefixed subdirectories each holding a `maildirfolder` file, subscriptions, and the
//! quota of the whole tree.
//!
//! Subscriptions are kept in two files so that both Dovecot and Courier read them:
//! `subscriptions` (Dovecot's version 1 format: one mailbox name per line, in modified UTF-7
//! with `.` between levels) and `courierimapsubscribed` (Courier: `INBOX` or `INBOX.<name>`
//! per line). Dovecot's version 2 format (`V\t2` header, tab between levels) is read too.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::Error;
use crate::fsutil::{fsync_dir, read_limited, replace_file};
use crate::maildir::{Entry, Maildir, Options};
use crate::name::unique_base;
use crate::quota::{self, MaildirSize, QuotaDef};
use crate::{FolderName, utf7};

/// Dovecot's subscription file.
pub const SUBSCRIPTIONS: &str = "subscriptions";
/// Courier-IMAP's subscription file.
pub const COURIER_SUBSCRIPTIONS: &str = "courierimapsubscribed";
/// The file marking a Maildir as a folder of a Maildir++.
pub const MAILDIRFOLDER: &str = "maildirfolder";

const MAX_SUBSCRIPTIONS_FILE: usize = 1 << 20;

/// A Maildir++: the root Maildir (INBOX) and its folders.
#[derive(Clone, Debug)]
pub struct Store {
    inbox: Maildir,
}

/// Parses a subscription file (`subscriptions` in Dovecot's version 1 or 2 format, or
/// `courierimapsubscribed`) into IMAP names with `.` between levels, decoded from modified
/// UTF-7 where they are valid modified UTF-7.
#[must_use]
pub fn parse_subscriptions(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().peekable();
    let v2 = lines.peek() == Some(&"V\t2");
    if v2 {
        lines.next();
    }
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let name = if v2 {
            line.replace('\t', ".")
        } else {
            line.to_owned()
        };
        let name = if name == "INBOX" {
            name
        } else {
            let stripped = name.strip_prefix("INBOX.").unwrap_or(&name);
            utf7::decode(stripped).unwrap_or_else(|_| stripped.to_owned())
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn mkdir0700(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(path)
}

impl Store {
    /// Creates the root Maildir (if needed) and opens it as a Maildir++.
    pub fn create(path: impl Into<PathBuf>) -> Result<Store, Error> {
        Ok(Store {
            inbox: Maildir::create(path)?,
        })
    }

    /// Opens an existing Maildir++.
    pub fn open(path: impl Into<PathBuf>) -> Result<Store, Error> {
        Ok(Store {
            inbox: Maildir::open(path)?,
        })
    }

    /// Replaces the options (used for INBOX and every folder opened afterwards).
    #[must_use]
    pub fn with_options(mut self, options: Options) -> Store {
        self.inbox = self.inbox.with_options(options);
        self
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        self.inbox.path()
    }

    /// INBOX: the root Maildir.
    #[must_use]
    pub fn inbox(&self) -> &Maildir {
        &self.inbox
    }

    /// Opens a folder.
    pub fn folder(&self, name: &FolderName) -> Result<Maildir, Error> {
        match Maildir::open(self.root().join(name.dir_name())) {
            Ok(m) => Ok(m.with_options(self.inbox.options().clone())),
            Err(Error::NotAMaildir { .. }) => Err(Error::FolderNotFound(name.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Creates a folder with its `maildirfolder` file. The folder is built under `tmp/` and
    /// renamed into place, so no other program ever sees it half made.
    pub fn create_folder(&self, name: &FolderName) -> Result<Maildir, Error> {
        let dir = self.root().join(name.dir_name());
        if dir.exists() {
            return Err(Error::FolderExists(name.to_string()));
        }
        let staging = self
            .root()
            .join("tmp")
            .join(format!("{}.folder", unique_base(SystemTime::now())));
        let build = || -> io::Result<()> {
            mkdir0700(&staging)?;
            for sub in ["tmp", "new", "cur"] {
                mkdir0700(&staging.join(sub))?;
            }
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(staging.join(MAILDIRFOLDER))?;
            Ok(())
        };
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&staging);
            return Err(Error::io("create folder", &staging, e));
        }
        if let Err(e) = fs::rename(&staging, &dir) {
            let _ = fs::remove_dir_all(&staging);
            if dir.exists() {
                return Err(Error::FolderExists(name.to_string()));
            }
            return Err(Error::io("rename", &dir, e));
        }
        fsync_dir(self.root())?;
        self.folder(name)
    }

    /// The folders, sorted. Entries that are not directories or whose names cannot be a
    /// folder (`..x`, invalid modified UTF-7) are ignored, as Maildir++ readers must.
    pub fn list_folders(&self) -> Result<Vec<FolderName>, Error> {
        let root = self.root();
        let rd = fs::read_dir(root).map_err(|e| Error::io("read dir", root, e))?;
        let mut out = Vec::new();
        for de in rd {
            let de = de.map_err(|e| Error::io("read dir", root, e))?;
            let Ok(name) = de.file_name().into_string() else {
                continue;
            };
            if !name.starts_with('.') || !de.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Ok(folder) = FolderName::from_dir_name(&name) {
                out.push(folder);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Renames a folder and every folder below it (`.A` → `.B`, `.A.x` → `.B.x`), and the
    /// subscriptions with them. Refuses if any target exists.
    pub fn rename_folder(&self, from: &FolderName, to: &FolderName) -> Result<(), Error> {
        let all = self.list_folders()?;
        if !all.contains(from) {
            return Err(Error::FolderNotFound(from.to_string()));
        }
        if to.is_within(from) {
            return Err(Error::InvalidFolderName(
                "cannot rename a folder below itself",
            ));
        }
        let moves: Vec<(FolderName, FolderName)> = all
            .iter()
            .filter_map(|f| Some((f.clone(), f.reparent(from, to)?)))
            .collect();
        if let Some((_, t)) = moves.iter().find(|(_, t)| all.contains(t)) {
            return Err(Error::FolderExists(t.to_string()));
        }
        for (f, t) in &moves {
            let (src, dst) = (
                self.root().join(f.dir_name()),
                self.root().join(t.dir_name()),
            );
            fs::rename(&src, &dst).map_err(|e| Error::io("rename", &src, e))?;
        }
        fsync_dir(self.root())?;
        let subs = self.subscriptions()?;
        if subs
            .iter()
            .any(|s| moves.iter().any(|(f, _)| *s == f.to_string()))
        {
            let renamed = subs
                .into_iter()
                .map(|s| {
                    moves
                        .iter()
                        .find(|(f, _)| s == f.to_string())
                        .map_or(s, |(_, t)| t.to_string())
                })
                .collect::<Vec<_>>();
            self.write_subscriptions(&renamed)?;
        }
        Ok(())
    }

    /// Deletes a folder and its messages (not the folders below it). The directory is first
    /// renamed into `tmp/`, so it vanishes from listings at once, then removed.
    pub fn delete_folder(&self, name: &FolderName) -> Result<(), Error> {
        let dir = self.root().join(name.dir_name());
        if !dir.is_dir() {
            return Err(Error::FolderNotFound(name.to_string()));
        }
        let grave = self
            .root()
            .join("tmp")
            .join(format!("{}.deleted", unique_base(SystemTime::now())));
        fs::rename(&dir, &grave).map_err(|e| Error::io("rename", &dir, e))?;
        fsync_dir(self.root())?;
        fs::remove_dir_all(&grave).map_err(|e| Error::io("remove", &grave, e))
    }

    /// The subscribed mailbox names (`INBOX`, or folder names with `.` between levels).
    pub fn subscriptions(&self) -> Result<Vec<String>, Error> {
        for file in [SUBSCRIPTIONS, COURIER_SUBSCRIPTIONS] {
            if let Some(data) = read_limited(&self.root().join(file), MAX_SUBSCRIPTIONS_FILE)? {
                return Ok(parse_subscriptions(&data));
            }
        }
        Ok(Vec::new())
    }

    fn write_subscriptions(&self, names: &[String]) -> Result<(), Error> {
        let (mut dovecot, mut courier) = (String::new(), String::new());
        for name in names {
            let enc = if name == "INBOX" {
                name.clone()
            } else {
                utf7::encode(name)
            };
            dovecot.push_str(&enc);
            dovecot.push('\n');
            if name == "INBOX" {
                courier.push_str("INBOX\n");
            } else {
                courier.push_str(&format!("INBOX.{enc}\n"));
            }
        }
        let tmp = self.root().join("tmp");
        replace_file(&tmp, &self.root().join(SUBSCRIPTIONS), dovecot.as_bytes())?;
        replace_file(
            &tmp,
            &self.root().join(COURIER_SUBSCRIPTIONS),
            courier.as_bytes(),
        )
    }

    /// Subscribes to a mailbox name (`INBOX` or a folder name with `.` between levels).
    pub fn subscribe(&self, name: &str) -> Result<(), Error> {
        let mut subs = self.subscriptions()?;
        if !subs.iter().any(|s| s == name) {
            subs.push(name.to_owned());
            self.write_subscriptions(&subs)?;
        }
        Ok(())
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, name: &str) -> Result<(), Error> {
        let mut subs = self.subscriptions()?;
        let before = subs.len();
        subs.retain(|s| s != name);
        if subs.len() != before {
            self.write_subscriptions(&subs)?;
        }
        Ok(())
    }

    /// The quota usage, recalculating when the specification asks; `None` without quota.
    pub fn quota(&self) -> Result<Option<MaildirSize>, Error> {
        quota::usage(self.root(), 0)
    }

    /// Sets the quota definition and recalculates `maildirsize` from the messages.
    pub fn set_quota(&self, def: QuotaDef) -> Result<MaildirSize, Error> {
        quota::recalculate(self.root(), def)
    }

    /// Moves a message between two Maildirs of this store, keeping the quota right
    /// (maildirquota, "Reading from a Maildir++" steps 2 and 3): into Trash counts as a
    /// removal; out of Trash is refused when over quota.
    pub fn move_message(
        &self,
        from: &Maildir,
        entry: &Entry,
        to: &Maildir,
    ) -> Result<Entry, Error> {
        let is_trash = |m: &Maildir| m.path().file_name().is_some_and(|n| n == ".Trash");
        let quota_on = self.inbox.options().quota;
        let size = from.message_size(entry)?;
        if quota_on
            && is_trash(from)
            && !is_trash(to)
            && let Some(u) = quota::usage(self.root(), size)?
            && !u.def.allows(u.bytes, u.count, size, 1)
        {
            return Err(Error::OverQuota {
                used_bytes: u.bytes,
                used_count: u.count,
                limit: u.def.to_string(),
            });
        }
        let moved = from.move_to(entry, to)?;
        if quota_on && is_trash(to) != is_trash(from) {
            let path = self.root().join(quota::MAILDIRSIZE);
            if path.exists() {
                let (b, c) = if is_trash(to) {
                    (-(size as i64), -1)
                } else {
                    (size as i64, 1)
                };
                let _ = quota::QuotaFile::new(path).append(b, c);
            }
        }
        Ok(moved)
    }
}
