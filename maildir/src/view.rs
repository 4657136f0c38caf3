//! A long-lived IMAP view of one Maildir: the last [`UidSnapshot`], redone only when the
//! directories or the uid list changed.
//!
//! An IMAP session asks "anything new?" after every command and on every IDLE tick; reading
//! 100,000 directory entries each time is wasteful when nothing happened. Like Dovecot, the
//! view compares the modification times (nanoseconds) and inodes of `new/`, `cur/` and
//! `dovecot-uidlist` with those seen at the last sync: a delivery, an expunge or a flag change
//! by any program changes a directory's mtime, and a UID given by Dovecot changes the list.
//!
//! Timestamps advance in clock ticks, so a change made in the same tick as the stat would be
//! invisible. A directory whose mtime is less than [`RECENT`] old is therefore never trusted:
//! the next refresh syncs again. The uid list needs no such care: every writer replaces it
//! by `rename()` (a new inode) or appends to it (a new size).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::maildir::Maildir;
use crate::uids::{UIDLIST, UidSnapshot};

/// Directory changes younger than this are not trusted to be complete.
pub const RECENT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

fn stamp(path: &Path) -> Result<Option<Stamp>, Error> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(Stamp {
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("stat", path, e)),
    }
}

fn is_recent(s: Option<Stamp>, now: SystemTime) -> bool {
    let Some(s) = s else { return false };
    let now_ns = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    now_ns - s.mtime_ns < RECENT.as_nanos() as i128
}

/// The cached IMAP view of a Maildir. See the module documentation.
#[derive(Debug)]
pub struct UidView {
    maildir: Maildir,
    snapshot: Option<UidSnapshot>,
    stamps: Option<[Option<Stamp>; 3]>,
}

impl UidView {
    /// A view with nothing cached yet.
    #[must_use]
    pub fn new(maildir: Maildir) -> UidView {
        UidView {
            maildir,
            snapshot: None,
            stamps: None,
        }
    }

    /// The Maildir.
    #[must_use]
    pub fn maildir(&self) -> &Maildir {
        &self.maildir
    }

    fn stamps(&self) -> Result<[Option<Stamp>; 3], Error> {
        let p = self.maildir.path();
        Ok([
            stamp(&p.join("new"))?,
            stamp(&p.join("cur"))?,
            stamp(&p.join(UIDLIST))?,
        ])
    }

    /// The current snapshot: the cached one when nothing changed since it was made, else a
    /// fresh [`Maildir::sync_uids`]. Returns whether a sync ran.
    pub fn refresh(&mut self) -> Result<(&UidSnapshot, bool), Error> {
        let before = self.stamps()?;
        let fresh = self.snapshot.is_none() || self.stamps != Some(before);
        if fresh {
            let snapshot = self.maildir.sync_uids()?;
            let after = self.stamps()?;
            // Trust the directories' stamps taken before listing (a change during the listing
            // makes them differ next time), unless so recent that the same tick may still hold
            // an unseen change. The list's stamp is taken after our own write; it needs no
            // such care, as every writer replaces it (new inode) or appends (new size).
            let now = SystemTime::now();
            let trusted = !is_recent(before[0], now) && !is_recent(before[1], now);
            self.stamps = trusted.then_some([before[0], before[1], after[2]]);
            self.snapshot = Some(snapshot);
        }
        let snapshot = self.snapshot.as_ref().expect("snapshot set above");
        Ok((snapshot, fresh))
    }

    /// Forgets the cache; the next [`UidView::refresh`] syncs.
    pub fn invalidate(&mut self) {
        self.stamps = None;
        self.snapshot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(dir: &Path) {
        let f = fs::File::open(dir).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
    }

    #[test]
    fn cached_until_something_changes() {
        let t = tempfile::tempdir().unwrap();
        let md = Maildir::create(t.path().join("M")).unwrap();
        md.deliver(b"a").unwrap();
        let mut view = UidView::new(md.clone());
        assert!(view.refresh().unwrap().1, "first refresh syncs");
        assert!(
            view.refresh().unwrap().1,
            "recent directories are not trusted"
        );
        age(&md.path().join("new"));
        age(&md.path().join("cur"));
        assert!(view.refresh().unwrap().1);
        let (snap, fresh) = view.refresh().unwrap();
        assert!(!fresh, "nothing changed: served from the cache");
        assert_eq!(snap.messages.len(), 1);
        md.deliver(b"b").unwrap();
        let (snap, fresh) = view.refresh().unwrap();
        assert!(fresh);
        assert_eq!(snap.messages.len(), 2);
        // Another program rewriting the uid list (new inode) is noticed too.
        age(&md.path().join("new"));
        view.refresh().unwrap();
        assert!(!view.refresh().unwrap().1);
        let list = fs::read(md.path().join(UIDLIST)).unwrap();
        fs::write(t.path().join("copy"), list).unwrap();
        fs::rename(t.path().join("copy"), md.path().join(UIDLIST)).unwrap();
        assert!(view.refresh().unwrap().1);
        view.invalidate();
        assert!(view.refresh().unwrap().1);
    }
}
