//! Small file-system helpers shared by the modules: directory fsync, bounded reads, atomic
//! replacement through `tmp/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::Error;

/// Makes a directory's entries (a link, a rename) durable: POSIX puts directory entries on
/// disk only when the directory itself is fsynced.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), Error> {
    let d = File::open(dir).map_err(|e| Error::io("open dir", dir, e))?;
    d.sync_all().map_err(|e| Error::io("fsync dir", dir, e))
}

/// Reads a whole control file of at most `limit` bytes; `Ok(None)` if it does not exist.
pub(crate) fn read_limited(path: &Path, limit: usize) -> Result<Option<Vec<u8>>, Error> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    // One read of the right size in the usual case (the file is not growing).
    let size = file.metadata().map_or(0, |m| m.len());
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(limit).min(limit) + 1);
    file.take(limit as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io("read", path, e))?;
    if data.len() > limit {
        return Err(Error::Parse {
            path: path.to_owned(),
            source: crate::ParseError::TooLong { limit },
        });
    }
    Ok(Some(data))
}

/// Replaces `target` with `data` atomically: write a unique file in `tmp_dir`, fsync it,
/// rename it over the target, fsync the target's directory.
pub(crate) fn replace_file(tmp_dir: &Path, target: &Path, data: &[u8]) -> Result<(), Error> {
    let tmp = tmp_dir.join(crate::name::unique_base(std::time::SystemTime::now()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(data).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        fs::rename(&tmp, target).map_err(|e| Error::io("rename", target, e))?;
        match target.parent() {
            Some(dir) => fsync_dir(dir),
            None => Ok(()),
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Calls `each` with the name of every entry of `dir` (`.` and `..` included), in directory
/// order, without allocating per entry: a listing of a 100,000-message folder goes through
/// here. On Linux the `getdents64` records are read into one 256 KiB buffer (few system calls)
/// and the names borrowed from it; elsewhere `std::fs::read_dir`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn for_each_name(dir: &Path, mut each: impl FnMut(&[u8])) -> Result<(), Error> {
    use rustix::fs::{Mode, OFlags, RawDir, open};
    use rustix::io::Errno;
    let err = |e: Errno| Error::io("read dir", dir, e.into());
    let fd = open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(err)?;
    let mut buf = Vec::with_capacity(256 << 10);
    let mut raw = RawDir::new(&fd, buf.spare_capacity_mut());
    while let Some(entry) = raw.next() {
        // EINVAL only when one record does not fit the buffer: names are at most 255 bytes,
        // so with 256 KiB it cannot happen; it is reported rather than looped on.
        each(entry.map_err(err)?.file_name().to_bytes());
    }
    Ok(())
}

/// See the Linux version.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn for_each_name(dir: &Path, mut each: impl FnMut(&[u8])) -> Result<(), Error> {
    use std::os::unix::ffi::OsStrExt;
    let rd = fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))?;
    for de in rd {
        let de = de.map_err(|e| Error::io("read dir", dir, e))?;
        each(de.file_name().as_bytes());
    }
    Ok(())
}
