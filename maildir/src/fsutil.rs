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
    let mut data = Vec::new();
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
