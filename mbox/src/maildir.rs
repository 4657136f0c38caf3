//! Converting between mbox and Maildir: the `mb2md` job and back.
//!
//! Only as much Maildir as conversion needs lives here (this crate does not depend on
//! `mailhub-maildir`; the lower crates stay independent): messages are delivered the Maildir way
//! (write to `tmp/`, fsync, rename into `new/` or `cur/`), named `<secs>.M<usecs>P<pid>Q<n>.<host>`,
//! with the info suffix `:2,<flags>` where `D` draft, `F` flagged, `R` replied (\Answered), `S`
//! seen, `T` trashed (\Deleted), and keywords as the letters `a`–`z` listed in Dovecot's
//! `dovecot-keywords` file. A message's modification time is its envelope date, as `mb2md`
//! does. Messages never looked at by an IMAP client (\Recent) go to `new/`, the others to
//! `cur/`. The IMAP metadata headers are not copied into Maildir files; they are rebuilt from
//! the flags on the way back.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::envelope::Envelope;
use crate::mailbox::{Mailbox, NewMessage};
use crate::metadata::{Flags, MessageMeta};
use crate::write::split_header;

const KEYWORDS_FILE: &str = "dovecot-keywords";

/// Reads `dovecot-keywords` (`<index> <keyword>` lines) into index → keyword.
fn read_keywords(dir: &Path) -> Result<BTreeMap<usize, String>, Error> {
    let text = match fs::read_to_string(dir.join(KEYWORDS_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(i, k)| Some((i.parse().ok().filter(|&i: &usize| i < 26)?, k.to_owned())))
        .collect())
}

/// Copies every message of `mbox` into the Maildir at `dir` (created if needed). Returns the
/// number of messages written.
pub fn mbox_to_maildir(mbox: &Mailbox, dir: &Path) -> Result<usize, Error> {
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let snap = mbox.scan()?;
    let mut keywords = read_keywords(dir)?;
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .replace(['/', ':'], "_");
    let pid = std::process::id();
    for (n, e) in snap.messages.iter().enumerate() {
        let content = mbox.fetch(e)?;
        let mut letters = Vec::new();
        for k in &e.meta.keywords {
            let idx = match keywords.iter().find(|(_, v)| *v == k) {
                Some((i, _)) => Some(*i),
                None if keywords.len() < 26 => {
                    let i = (0..26).find(|i| !keywords.contains_key(i)).unwrap_or(0);
                    keywords.insert(i, k.clone());
                    Some(i)
                }
                None => None, // Maildir (Dovecot) has room for 26 keywords only.
            };
            letters.extend(idx.map(|i| b'a' + i as u8));
        }
        let f = e.meta.flags;
        let mut info: Vec<u8> = [
            (f.draft, b'D'),
            (f.flagged, b'F'),
            (f.answered, b'R'),
            (f.seen, b'S'),
            (f.deleted, b'T'),
        ]
        .iter()
        .filter(|x| x.0)
        .map(|x| x.1)
        .collect();
        letters.sort_unstable();
        info.extend(letters);
        let time = e.info.envelope.time().unwrap_or(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let base = format!(
            "{}.M{}P{pid}Q{}.{host}",
            now.as_secs(),
            now.subsec_micros(),
            n + 1
        );
        let tmp = dir.join("tmp").join(&base);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(&content)?;
        file.sync_all()?;
        let mtime = if time >= 0 {
            UNIX_EPOCH + Duration::from_secs(time as u64)
        } else {
            UNIX_EPOCH
        };
        file.set_modified(mtime)?;
        drop(file);
        let fresh =
            f == (Flags {
                recent: true,
                ..Flags::default()
            }) && info.is_empty();
        let dest = if fresh {
            dir.join("new").join(&base)
        } else {
            dir.join("cur")
                .join(format!("{base}:2,{}", String::from_utf8_lossy(&info)))
        };
        fs::rename(&tmp, &dest)?;
    }
    if !keywords.is_empty() {
        let text: String = keywords.iter().map(|(i, k)| format!("{i} {k}\n")).collect();
        fs::write(dir.join(KEYWORDS_FILE), text)?;
    }
    File::open(dir.join("cur"))?.sync_all()?;
    File::open(dir.join("new"))?.sync_all()?;
    Ok(snap.messages.len())
}

/// One Maildir message found on disk.
struct Found {
    mtime: i64,
    name: String,
    path: PathBuf,
    recent: bool,
}

/// The flags and keywords of a Maildir file name (`…:2,<flags>`).
fn parse_info(name: &str, recent: bool, keywords: &BTreeMap<usize, String>) -> MessageMeta {
    let mut meta = MessageMeta {
        flags: Flags {
            recent,
            ..Flags::default()
        },
        ..MessageMeta::default()
    };
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return meta;
    };
    for c in info.bytes() {
        match c {
            b'D' => meta.flags.draft = true,
            b'F' => meta.flags.flagged = true,
            b'R' => meta.flags.answered = true,
            b'S' => meta.flags.seen = true,
            b'T' => meta.flags.deleted = true,
            b'a'..=b'z' => meta
                .keywords
                .extend(keywords.get(&((c - b'a') as usize)).cloned()),
            _ => {}
        }
    }
    meta
}

/// The envelope sender from a `Return-Path:` header, if the message has one.
fn return_path(message: &[u8]) -> String {
    let (head, _) = split_header(message);
    for line in head.split(|&b| b == b'\n') {
        if line.len() > 12 && line[..12].eq_ignore_ascii_case(b"Return-Path:") {
            let v = String::from_utf8_lossy(&line[12..]);
            return v
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
        }
    }
    String::new()
}

/// Appends every message of the Maildir at `dir` (`new/` and `cur/`, oldest first) to `mbox`,
/// with its flags and keywords. Returns the number of messages appended.
pub fn maildir_to_mbox(dir: &Path, mbox: &Mailbox, max_message: u64) -> Result<usize, Error> {
    let keywords = read_keywords(dir)?;
    let mut found = Vec::new();
    for (sub, recent) in [("new", true), ("cur", false)] {
        let rd = match fs::read_dir(dir.join(sub)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for ent in rd {
            let ent = ent?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let meta = ent.metadata()?;
            if name.starts_with('.') || !meta.is_file() {
                continue;
            }
            found.push(Found {
                mtime: meta.mtime(),
                name,
                path: ent.path(),
                recent,
            });
        }
    }
    found.sort_by(|a, b| (a.mtime, &a.name).cmp(&(b.mtime, &b.name)));
    // Batches: one lock and one fsync per batch, bounded memory.
    let mut batch: Vec<(Envelope, Vec<u8>, MessageMeta)> = Vec::new();
    let mut batch_bytes = 0u64;
    let flush = |batch: &mut Vec<(Envelope, Vec<u8>, MessageMeta)>| -> Result<(), Error> {
        let msgs: Vec<NewMessage<'_>> = batch
            .iter()
            .map(|(envelope, message, meta)| NewMessage {
                envelope,
                message,
                meta,
            })
            .collect();
        mbox.append_many(&msgs)?;
        batch.clear();
        Ok(())
    };
    for f in &found {
        if fs::metadata(&f.path)?.len() > max_message {
            return Err(Error::TooLarge { limit: max_message });
        }
        let message = fs::read(&f.path)?;
        let meta = parse_info(&f.name, f.recent, &keywords);
        let envelope = Envelope::new(&return_path(&message), f.mtime)
            .or_else(|_| Envelope::new("", f.mtime))
            .or_else(|_| Envelope::new("", 0))?;
        batch_bytes += message.len() as u64;
        batch.push((envelope, message, meta));
        if batch.len() >= 512 || batch_bytes >= 64 << 20 {
            flush(&mut batch)?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch)?;
    }
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_suffix() {
        let mut kw = BTreeMap::new();
        kw.insert(1, "Work".to_owned());
        let m = parse_info("123.M1P2Q3.h:2,FSb", false, &kw);
        assert!(m.flags.flagged && m.flags.seen && !m.flags.recent && !m.flags.draft);
        assert_eq!(m.keywords, ["Work"]);
        assert_eq!(return_path(b"Return-Path: <a@b>\nX: y\n\nbody"), "a@b");
        assert_eq!(return_path(b"X: y\n\nReturn-Path: <a@b>\n"), "");
    }
}
