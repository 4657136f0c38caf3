//! One Maildir: the `tmp`, `new` and `cur` directories (maildir.txt) and the operations on its
//! messages.
//!
//! Delivery follows maildir.txt and maildirquota "Delivering to a Maildir++": the message is
//! written to `tmp/<unique>`, fsynced, hard-linked into `new/` (or `cur/` with flags) under
//! its final name `<unique>,S=<size>,W=<vsize>`, and the directory is fsynced before the
//! delivery is reported done. A message therefore appears in `new/` whole or not at all; a
//! failure at any step removes what was written.
//!
//! Readers never lock (maildir.txt, "no locks"): a message another program renamed (a flag
//! change, new → cur) between a listing and an open is found again by its base name
//! ([`Maildir::open_message`], [`Maildir::find`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::dotlock::LockOptions;
use crate::error::Error;
use crate::fsutil::{for_each_name, fsync_dir};
use crate::name::{Info, MessageName, SizeCounter, unique_base};
use crate::{Flags, quota};

/// `new/` or `cur/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subdir {
    /// Messages not yet seen by any reader.
    New,
    /// Messages a reader has taken note of; their names carry the info suffix.
    Cur,
}

impl Subdir {
    /// The directory name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }
}

/// A message as listed: where it is and under which name.
///
/// Kept small (one allocation) because a listing of a large folder holds one per message; the
/// full parsed name is built on demand by [`Entry::name`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    subdir: Subdir,
    file_name: String,
    base_len: usize,
    flags: Flags,
}

impl Entry {
    /// The entry of `file_name` if it is a message's name; copies the name only then.
    pub(crate) fn new(subdir: Subdir, file_name: &str) -> Option<Entry> {
        let (base_len, flags) = crate::name::scan(file_name).ok()?;
        Some(Entry {
            subdir,
            file_name: file_name.to_owned(),
            base_len,
            flags,
        })
    }

    fn from_parts(subdir: Subdir, file_name: String, name: &MessageName) -> Entry {
        Entry {
            subdir,
            base_len: name.base().len(),
            flags: name.flags(),
            file_name,
        }
    }

    /// `new/` or `cur/`.
    #[must_use]
    pub fn subdir(&self) -> Subdir {
        self.subdir
    }

    /// The file name exactly as on disk.
    #[must_use]
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The parsed name (built on demand).
    #[must_use]
    pub fn name(&self) -> MessageName {
        match MessageName::parse(&self.file_name) {
            Ok(n) => n,
            // Unreachable: the name was validated when the entry was made. Fall back to the
            // base alone rather than panic.
            Err(_) => MessageName::new(self.base(), Info::None)
                .unwrap_or_else(|_| MessageName::new("x", Info::None).expect("valid base")),
        }
    }

    /// The base name: the message's identity across renames.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.file_name[..self.base_len]
    }

    /// The flags from the info suffix.
    #[must_use]
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The size from the `,S=` field of the name, when present (no `stat()`).
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        crate::name::base_field(self.base(), "S=")
    }

    /// The RFC 822 size from the `,W=` field of the name, when present.
    #[must_use]
    pub fn vsize(&self) -> Option<u64> {
        crate::name::base_field(self.base(), "W=")
    }

    /// The path relative to the Maildir (`cur/<name>`).
    #[must_use]
    pub fn relative_path(&self) -> PathBuf {
        Path::new(self.subdir.as_str()).join(&self.file_name)
    }
}

/// Tunables of a [`Maildir`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// fsync messages and directories on delivery. Default true; turn off only for tests
    /// and benches that measure the rest.
    pub fsync: bool,
    /// Files in `tmp/` older than this are removed by [`Maildir::clean_tmp`]. Default 36
    /// hours (maildir.txt's qmail convention).
    pub tmp_max_age: Duration,
    /// Waiting for Dovecot's dot-locks.
    pub lock: LockOptions,
    /// The largest control file read (`dovecot-uidlist` of a huge folder). Default 256 MiB.
    pub max_control_file: usize,
    /// Check and update the Maildir++ quota (`maildirsize` of the root) on delivery, when the
    /// file exists. Default true.
    pub quota: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fsync: true,
            tmp_max_age: Duration::from_secs(36 * 3600),
            lock: LockOptions::default(),
            max_control_file: 256 << 20,
            quota: true,
        }
    }
}

/// How to deliver one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// `None`: into `new/` (an MDA). `Some(flags)`: into `cur/` with these flags (IMAP
    /// APPEND).
    pub flags: Option<Flags>,
    /// The modification time to give the file: IMAP's internal date (APPEND with a date).
    pub mtime: Option<SystemTime>,
}

impl Delivery {
    /// Deliver into `cur/` with `flags`.
    #[must_use]
    pub fn with_flags(mut self, flags: Flags) -> Self {
        self.flags = Some(flags);
        self
    }

    /// Give the file this modification time (internal date).
    #[must_use]
    pub fn with_mtime(mut self, mtime: SystemTime) -> Self {
        self.mtime = Some(mtime);
        self
    }
}

/// One Maildir (INBOX or a Maildir++ folder).
#[derive(Clone, Debug)]
pub struct Maildir {
    path: PathBuf,
    options: Options,
}

/// Removes a file in `tmp/` on drop unless disarmed: a failed delivery leaves nothing.
struct TmpGuard<'a>(Option<&'a Path>);

impl Drop for TmpGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

fn mkdir(path: &Path) -> Result<(), Error> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(Error::io("mkdir", path, e)),
    }
}

const RELOCATE_TRIES: usize = 8;

impl Maildir {
    /// Creates (mode 0700) the directory and its `tmp`, `new` and `cur`, keeping whatever
    /// already exists, and opens it.
    pub fn create(path: impl Into<PathBuf>) -> Result<Maildir, Error> {
        let path = path.into();
        mkdir(&path)?;
        for sub in ["tmp", "new", "cur"] {
            mkdir(&path.join(sub))?;
        }
        fsync_dir(&path)?;
        Maildir::open(path)
    }

    /// Opens an existing Maildir.
    pub fn open(path: impl Into<PathBuf>) -> Result<Maildir, Error> {
        let path = path.into();
        if !["tmp", "new", "cur"].iter().all(|s| path.join(s).is_dir()) {
            return Err(Error::NotAMaildir { path });
        }
        Ok(Maildir {
            path,
            options: Options::default(),
        })
    }

    /// Replaces the options.
    #[must_use]
    pub fn with_options(mut self, options: Options) -> Maildir {
        self.options = options;
        self
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The full path of a listed message (it may have been renamed since).
    #[must_use]
    pub fn entry_path(&self, entry: &Entry) -> PathBuf {
        self.path.join(entry.subdir.as_str()).join(&entry.file_name)
    }

    /// The Maildir++ root this Maildir belongs to: its parent if it holds a `maildirfolder`
    /// file (maildirquota, "Calculating maildirsize" step 1), else itself.
    #[must_use]
    pub fn plusplus_root(&self) -> PathBuf {
        match self.path.parent() {
            Some(parent) if self.path.join("maildirfolder").exists() => parent.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// Delivers a message held in memory into `new/`.
    pub fn deliver(&self, message: &[u8]) -> Result<Entry, Error> {
        self.deliver_from(message, &Delivery::default())
    }

    /// Delivers a message read from `reader`, streaming it to disk. See the module doc for
    /// the steps; an error at any step leaves nothing in `tmp/`, `new/` or `cur/`.
    pub fn deliver_from(&self, mut reader: impl Read, how: &Delivery) -> Result<Entry, Error> {
        let tmp_dir = self.path.join("tmp");
        let (base, tmp_path, mut file) = loop {
            let base = unique_base(SystemTime::now());
            let tmp_path = tmp_dir.join(&base);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp_path)
            {
                Ok(f) => break (base, tmp_path, f),
                // Only possible when the clock went back; a new Q number makes a new name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create", &tmp_path, e)),
            }
        };
        let mut guard = TmpGuard(Some(&tmp_path));
        let mut counter = SizeCounter::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read message", &tmp_path, e)),
            };
            counter.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| Error::io("write", &tmp_path, e))?;
        }
        if let Some(mtime) = how.mtime {
            file.set_modified(mtime)
                .map_err(|e| Error::io("set mtime", &tmp_path, e))?;
        }
        if self.options.fsync {
            file.sync_all()
                .map_err(|e| Error::io("fsync", &tmp_path, e))?;
        }
        drop(file);

        let root = self.plusplus_root();
        let quota = if self.options.quota {
            quota::check_for_delivery(&self.path, &root, counter.size, &self.options)?
        } else {
            None
        };

        let final_base = format!("{base},S={},W={}", counter.size, counter.vsize);
        let (subdir, info) = match how.flags {
            None => (Subdir::New, Info::None),
            Some(flags) => (Subdir::Cur, Info::Flags { flags, extra: None }),
        };
        let name = MessageName::new(&final_base, info).map_err(|e| Error::Parse {
            path: tmp_path.clone(),
            source: e,
        })?;
        let file_name = name.to_string();
        let dest_dir = self.path.join(subdir.as_str());
        let dest = dest_dir.join(&file_name);
        link_or_rename(&tmp_path, &dest)?;
        guard.0 = None;
        let _ = fs::remove_file(&tmp_path);
        if self.options.fsync {
            fsync_dir(&dest_dir)?;
        }
        if let Some(q) = quota {
            // Counting is advisory (maildirquota): a failure to append is not a failure to
            // deliver, the next recalculation corrects it.
            let _ = q.append(counter.size as i64, 1);
        }
        Ok(Entry::from_parts(subdir, file_name, &name))
    }

    /// Lists one of `new/` and `cur/`, in directory order. Names that are not messages (dot
    /// files, names that are not UTF-8) are skipped.
    pub fn list(&self, subdir: Subdir) -> Result<Vec<Entry>, Error> {
        let dir = self.path.join(subdir.as_str());
        let mut out = Vec::new();
        for_each_name(&dir, |name| {
            if let Ok(name) = std::str::from_utf8(name)
                && let Some(entry) = Entry::new(subdir, name)
            {
                out.push(entry);
            }
        })?;
        Ok(out)
    }

    /// Lists `new/` then `cur/`. A message renamed from `new/` to `cur/` during the listing
    /// can appear twice; [`Maildir::sync_uids`] keeps only the `cur/` one.
    pub fn list_all(&self) -> Result<Vec<Entry>, Error> {
        let mut all = self.list(Subdir::New)?;
        all.extend(self.list(Subdir::Cur)?);
        Ok(all)
    }

    /// Finds a message by base name, in `cur/` then `new/`.
    pub fn find(&self, base: &str) -> Result<Option<Entry>, Error> {
        for subdir in [Subdir::Cur, Subdir::New] {
            if let Some(e) = self.list(subdir)?.into_iter().find(|e| e.base() == base) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Runs `op` on the message's current path; when the file is not there (renamed by
    /// another program), finds it again by base name and retries.
    fn with_relocation<T>(
        &self,
        entry: &Entry,
        mut op: impl FnMut(&Entry, &Path) -> io::Result<T>,
    ) -> Result<(T, Entry), Error> {
        let mut current = entry.clone();
        for _ in 0..RELOCATE_TRIES {
            let path = self.entry_path(&current);
            match op(&current, &path) {
                Ok(v) => return Ok((v, current)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("access", path, e)),
            }
            current = self.find(entry.base())?.ok_or_else(|| Error::MessageGone {
                base: entry.base().to_owned(),
            })?;
        }
        Err(Error::MessageGone {
            base: entry.base().to_owned(),
        })
    }

    /// Opens a message for reading, finding it again if it was renamed since it was listed.
    /// Returns the file and the entry as it is now.
    pub fn open_message(&self, entry: &Entry) -> Result<(File, Entry), Error> {
        self.with_relocation(entry, |_, path| File::open(path))
    }

    /// The size of a message: from `,S=` without a `stat()` when present, else from the file.
    pub fn message_size(&self, entry: &Entry) -> Result<u64, Error> {
        if let Some(size) = entry.size() {
            return Ok(size);
        }
        Ok(self
            .with_relocation(entry, |_, path| fs::metadata(path).map(|m| m.len()))?
            .0)
    }

    /// Moves a message from `new/` to `cur/` (adding the empty info `:2,`), keeping its flags
    /// if it already is in `cur/`.
    pub fn move_to_cur(&self, entry: &Entry) -> Result<Entry, Error> {
        self.update_flags(entry, |f| f)
    }

    /// Takes a message out of `new/` into `cur/` (adding the empty info `:2,`, keeping any
    /// flags it has), but only if it is still in `new/`: `Some` (the entry in `cur/`) when
    /// this call did the rename, `None` when the message had already left `new/` (another
    /// reader took it, or it was expunged) or was listed in `cur/`.
    ///
    /// Whoever moves a message from `new/` to `cur/` is the first to take note of it, which
    /// is Dovecot's rule for giving IMAP's `\Recent` (RFC 3501 §2.3.2) to exactly one
    /// session; `rename()` of one path succeeds once, so of several readers racing, across
    /// processes too, one gets `Some`. Unlike [`Maildir::move_to_cur`] the message is not
    /// looked for again when it is gone from where it was listed: it left `new/`, and that
    /// is the answer.
    pub fn claim_new(&self, entry: &Entry) -> Result<Option<Entry>, Error> {
        if entry.subdir != Subdir::New {
            return Ok(None);
        }
        let name = entry.name();
        let name = name.with_flags(entry.flags());
        let file_name = name.to_string();
        let from = self.entry_path(entry);
        match fs::rename(&from, self.path.join("cur").join(&file_name)) {
            Ok(()) => Ok(Some(Entry::from_parts(Subdir::Cur, file_name, &name))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("rename", from, e)),
        }
    }

    /// Sets the flags of a message (moving it to `cur/` if needed) with one `rename()`.
    pub fn set_flags(&self, entry: &Entry, flags: Flags) -> Result<Entry, Error> {
        self.update_flags(entry, |_| flags)
    }

    /// Changes the flags with `change` applied to the flags the file has *at the moment of the
    /// rename*, so a concurrent change by another program to other flags is kept.
    pub fn update_flags(
        &self,
        entry: &Entry,
        mut change: impl FnMut(Flags) -> Flags,
    ) -> Result<Entry, Error> {
        let cur_dir = self.path.join("cur");
        let (new_entry, _) = self.with_relocation(entry, |current, path| {
            let name = current.name().with_flags(change(current.flags()));
            let file_name = name.to_string();
            if current.subdir == Subdir::Cur && file_name == current.file_name {
                fs::metadata(path)?;
            } else {
                fs::rename(path, cur_dir.join(&file_name))?;
            }
            Ok(Entry::from_parts(Subdir::Cur, file_name, &name))
        })?;
        Ok(new_entry)
    }

    /// Expunges a message (unlink), recording the removal in `maildirsize` when the quota is
    /// on. Returns false if it was already gone.
    pub fn expunge(&self, entry: &Entry) -> Result<bool, Error> {
        let removed = self.with_relocation(entry, |current, path| {
            let size = match current.size() {
                Some(s) => s,
                None => fs::metadata(path)?.len(),
            };
            fs::remove_file(path)?;
            Ok(size)
        });
        match removed {
            Ok((size, _)) => {
                if self.options.quota {
                    // Advisory, as on delivery.
                    let _ = quota::record_removal(&self.path, &self.plusplus_root(), size);
                }
                Ok(true)
            }
            Err(Error::MessageGone { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Copies a message into `dest`'s `cur/` under a new unique name with `flags` (the
    /// source's when `None`): a hard link when both are on one file system (the internal date
    /// is shared), else a full copy that keeps the modification time. The copy is checked
    /// against and counted in the Maildir++ quota (not in Trash).
    pub fn copy_to(
        &self,
        entry: &Entry,
        dest: &Maildir,
        flags: Option<Flags>,
    ) -> Result<Entry, Error> {
        // A copy adds a message to the Maildir++: it must fit the quota like a delivery.
        let quota = if dest.options.quota {
            let size = self.message_size(entry)?;
            quota::check_for_delivery(&dest.path, &dest.plusplus_root(), size, &dest.options)?
                .map(|q| (q, size))
        } else {
            None
        };
        let (linked, current) = self.with_relocation(entry, |current, path| {
            let name = copy_name(current, flags)?;
            let file_name = name.to_string();
            match fs::hard_link(path, dest.path.join("cur").join(&file_name)) {
                Ok(()) => Ok(Some(Entry::from_parts(Subdir::Cur, file_name, &name))),
                Err(e) if link_unsupported(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        if let Some(e) = linked {
            if dest.options.fsync {
                fsync_dir(&dest.path.join("cur"))?;
            }
            if let Some((q, size)) = quota {
                // Advisory, as on delivery.
                let _ = q.append(size as i64, 1);
            }
            return Ok(e);
        }
        let (file, current) = self.open_message(&current)?;
        let mtime = file.metadata().and_then(|m| m.modified()).ok();
        let how = Delivery {
            flags: Some(flags.unwrap_or(current.flags())),
            mtime,
        };
        dest.deliver_from(file, &how)
    }

    /// Moves a message into `dest`'s `cur/` keeping its name (a `link()` and an `unlink()`,
    /// never overwriting), or by copy and expunge across file systems.
    pub fn move_to(&self, entry: &Entry, dest: &Maildir) -> Result<Entry, Error> {
        let (moved, current) = self.with_relocation(entry, |current, path| {
            let name = current.name().with_flags(current.flags());
            let file_name = name.to_string();
            let target = dest.path.join("cur").join(&file_name);
            match fs::hard_link(path, &target) {
                Ok(()) => {}
                Err(e) if link_unsupported(&e) => return Ok(None),
                Err(e) => return Err(e),
            }
            fs::remove_file(path)?;
            Ok(Some(Entry::from_parts(Subdir::Cur, file_name, &name)))
        })?;
        match moved {
            Some(e) => {
                if dest.options.fsync {
                    fsync_dir(&dest.path.join("cur"))?;
                }
                Ok(e)
            }
            None => {
                let copied = self.copy_to(&current, dest, None)?;
                self.expunge(&current)?;
                Ok(copied)
            }
        }
    }

    /// Removes files in `tmp/` last modified more than [`Options::tmp_max_age`] before `now`
    /// (interrupted deliveries). Returns how many were removed.
    pub fn clean_tmp(&self, now: SystemTime) -> Result<usize, Error> {
        let dir = self.path.join("tmp");
        let rd = fs::read_dir(&dir).map_err(|e| Error::io("read dir", &dir, e))?;
        let mut removed = 0;
        for de in rd.flatten() {
            let Ok(meta) = de.metadata() else { continue };
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > self.options.tmp_max_age);
            if meta.is_file() && old && fs::remove_file(de.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn copy_name(source: &Entry, flags: Option<Flags>) -> io::Result<MessageName> {
    let mut base = unique_base(SystemTime::now());
    if let Some(s) = source.size() {
        base.push_str(&format!(",S={s}"));
    }
    if let Some(w) = source.vsize() {
        base.push_str(&format!(",W={w}"));
    }
    let flags = flags.unwrap_or(source.flags());
    MessageName::new(&base, Info::Flags { flags, extra: None })
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn link_unsupported(e: &io::Error) -> bool {
    use rustix::io::Errno;
    e.kind() == io::ErrorKind::Unsupported
        || e.kind() == io::ErrorKind::CrossesDevices
        || e.raw_os_error() == Some(Errno::PERM.raw_os_error())
        || e.raw_os_error() == Some(Errno::MLINK.raw_os_error())
}

/// Puts the finished tmp file at `dest` without ever replacing an existing file: `link()`
/// (fails if `dest` exists), or `rename()` on file systems without hard links.
fn link_or_rename(tmp: &Path, dest: &Path) -> Result<(), Error> {
    match fs::hard_link(tmp, dest) {
        Ok(()) => Ok(()),
        Err(e) if link_unsupported(&e) => {
            if dest.exists() {
                return Err(Error::io("link", dest, io::ErrorKind::AlreadyExists.into()));
            }
            fs::rename(tmp, dest).map_err(|e| Error::io("rename", dest, e))
        }
        Err(e) => Err(Error::io("link", dest, e)),
    }
}
