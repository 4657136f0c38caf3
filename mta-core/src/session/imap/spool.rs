//! APPEND messages spooled to a file while their literal arrives (RFC 9051 §6.3.12 literals
//! may be large): the store then takes the file ([`MessageData::File`]; the Maildir store
//! streams it into place without reading it into memory). File writes run on the runtime's
//! blocking pool; the file is removed when the spool value is dropped, whatever happened.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::runtime::{Runtime, unblock};
use crate::store::MessageData;

/// Messages larger than this go to the spool (when one is configured); smaller ones stay in
/// memory, where a file would cost more than it saves.
pub(super) const SPOOL_OVER: u64 = 64 * 1024;

/// One message being written to the spool directory.
#[derive(Debug)]
pub(super) struct SpoolFile {
    path: PathBuf,
    file: Option<File>,
}

impl SpoolFile {
    /// Creates a new, exclusive file in `dir`.
    pub(super) async fn create(rt: &dyn Runtime, dir: &Path) -> io::Result<SpoolFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("imap-append.{}.{n}", std::process::id()));
        let p = path.clone();
        let file = unblock(rt, move || {
            File::options().write(true).create_new(true).open(&p)
        })
        .await?;
        Ok(SpoolFile {
            path,
            file: Some(file),
        })
    }

    /// Appends `data`.
    pub(super) async fn write(&mut self, rt: &dyn Runtime, data: Vec<u8>) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("spool file already finished"))?;
        let file = unblock(rt, move || file.write_all(&data).map(|()| file)).await?;
        self.file = Some(file);
        Ok(())
    }

    /// Closes the file; the message is now [`SpoolFile::data`].
    pub(super) fn finish(&mut self) {
        self.file = None;
    }

    /// The message, for the store.
    pub(super) fn data(&self) -> MessageData {
        MessageData::File(self.path.clone())
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        // One unlink: small enough to do inline.
        self.file = None;
        let _ = std::fs::remove_file(&self.path);
    }
}
