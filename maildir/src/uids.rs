//! IMAP state of a Maildir shared with Dovecot: UIDs, UIDVALIDITY, UIDNEXT and mod-sequences
//! in `dovecot-uidlist` ([`crate::UidList`]), keyword names in `dovecot-keywords`
//! ([`crate::Keywords`]).
//!
//! Both files are written only while holding `dovecot-uidlist.lock` (see [`crate::dotlock`]),
//! which is also what Dovecot holds while it scans `new/` and `cur/`, so that the two programs
//! never give one message two UIDs nor one UID to two messages.
//!
//! Mod-sequences (RFC 7162 §3) are derived, not trusted: a message gets a new mod-sequence
//! whenever its file name (hence its flags) differs from the one last recorded in the list,
//! which also catches flag changes made by Dovecot, mutt or any other program; a move from
//! `new/` to `cur/` that only adds the empty info `:2,` is not a change. Dovecot keeps
//! the `M` fields when it rewrites the list (checked by the interoperability test) but writes
//! base names without the info suffix; a message with flags then gets one new mod-sequence on
//! the next sync, since whether its flags changed meanwhile cannot be told. That is a spurious
//! change notice for CONDSTORE clients, never a missed one, save one case: a message in
//! `cur/` whose flags were all removed after Dovecot recorded its base name looks like a
//! message only moved out of `new/`.

use std::collections::HashMap;
use std::fs;
use std::hash::Hasher;

use hashbrown::{HashTable, hash_table};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Flags;
use crate::dotlock::{DotLock, lock_path_for};
use crate::error::Error;
use crate::fsutil::read_limited;
use crate::keywords::{Keywords, MAX_KEYWORDS_FILE, is_valid_keyword};
use crate::maildir::{Entry, Maildir, Subdir};
use crate::uidlist::{UidList, UidRecord};

/// The uid list's file name.
pub const UIDLIST: &str = "dovecot-uidlist";
/// The keywords file's name.
pub const KEYWORDS: &str = "dovecot-keywords";

/// A message with its IMAP identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidMessage {
    /// The UID.
    pub uid: u32,
    /// The mod-sequence of the last change seen.
    pub modseq: u64,
    /// Where the message is.
    pub entry: Entry,
}

/// The IMAP view of a Maildir after [`Maildir::sync_uids`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidSnapshot {
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// UIDNEXT: the UID the next new message will get.
    pub uid_next: u32,
    /// HIGHESTMODSEQ.
    pub highest_modseq: u64,
    /// The messages, UIDs ascending.
    pub messages: Vec<UidMessage>,
}

impl UidSnapshot {
    /// The message with this UID.
    #[must_use]
    pub fn by_uid(&self, uid: u32) -> Option<&UidMessage> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| &self.messages[i])
    }
}

fn random_guid() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy source: time and pid still make a GUID unique enough for one mailbox.
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = (t ^ (u128::from(std::process::id()) << 96)).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Maildir {
    /// Reads `dovecot-uidlist` without locking (Dovecot's documentation: "doesn't need to be
    /// locked for reading"); `None` when it does not exist.
    pub fn read_uidlist(&self) -> Result<Option<UidList>, Error> {
        let path = self.path().join(UIDLIST);
        let Some(data) = read_limited(&path, self.options().max_control_file)? else {
            return Ok(None);
        };
        UidList::parse(&data)
            .map(Some)
            .map_err(|source| Error::Parse { path, source })
    }

    /// Brings `dovecot-uidlist` up to date with the directory and returns the IMAP view:
    /// under the uid list lock, lists `new/` and `cur/`, keeps the UIDs of known messages
    /// (matched by base name), drops expunged ones, gives new ones the next UIDs in delivery
    /// order (the seconds and microseconds that start names made by this crate, Dovecot and
    /// other modern delivery agents, compared as numbers), and gives a new
    /// mod-sequence to every message whose name changed. The file is rewritten only if
    /// something changed.
    pub fn sync_uids(&self) -> Result<UidSnapshot, Error> {
        let path = self.path().join(UIDLIST);
        let lock = DotLock::acquire(&path, &self.options().lock)?;
        // The records stay borrowed from the file's bytes: an up-to-date list costs no copy
        // per message, and owned records are made only when the list is rewritten.
        let data = match read_limited(&path, self.options().max_control_file) {
            Ok(data) => data,
            // Too large to be a list: replaced like a broken one.
            Err(Error::Parse { .. }) => None,
            Err(e) => return Err(e),
        };
        let (mut list, records) = match data.as_deref().map(UidList::parse_borrowed) {
            Some(Ok(parsed)) => parsed,
            // A broken list is replaced, as Dovecot does; UIDVALIDITY changes with it.
            None | Some(Err(_)) => (new_list(), Vec::new()),
        };
        // Each record takes its message out of the listing as soon as it is found, so each of
        // the 100,000 entries of a large folder is visited at random once, not twice.
        let mut entries: Vec<Option<Entry>> = self.list_all()?.into_iter().map(Some).collect();
        let (table, dup) = index_entries(&entries);
        let mut found: Vec<Option<(Entry, bool)>> = records
            .iter()
            .map(|r| take_by_base(&table, &mut entries, r.base(), r.file_name))
            .collect();
        drop(table);
        // readdir() may skip a file renamed while it runs (another program changing flags
        // without our lock). Before calling a message expunged, look once more. Entries of the
        // second listing serve only to rescue records, never as new mail.
        if found.iter().any(Option::is_none) {
            let mut again: Vec<Option<Entry>> = self.list_all()?.into_iter().map(Some).collect();
            let (table, _) = index_entries(&again);
            for (f, r) in found.iter_mut().zip(&records) {
                if f.is_none() {
                    *f = take_by_base(&table, &mut again, r.base(), r.file_name);
                }
            }
        }
        let mut changed = false;
        let mut messages = Vec::with_capacity(entries.len());
        // The record each message came from (None: new), for its extension fields.
        let mut sources = Vec::with_capacity(records.len());
        for (rec, f) in records.iter().zip(found) {
            let Some((entry, same_name)) = f else {
                changed = true;
                continue;
            };
            let modseq = match rec.modseq {
                Some(modseq) if same_name => modseq,
                _ => {
                    list.highest_modseq += 1;
                    changed = true;
                    list.highest_modseq
                }
            };
            messages.push(UidMessage {
                uid: rec.uid,
                modseq,
                entry,
            });
            sources.push(Some(rec));
        }
        let mut fresh: Vec<Entry> = entries
            .into_iter()
            .zip(dup)
            .filter_map(|(e, dup)| if dup { None } else { e })
            .collect();
        fresh.sort_by(|a, b| delivery_order(a.base(), b.base()));
        for entry in fresh {
            if list.next_uid == u32::MAX {
                // UIDs exhausted: RFC 3501 §2.3.1.1 asks for a new UIDVALIDITY. Leave the
                // list alone; the caller sees the message without a UID on the next sync.
                break;
            }
            list.highest_modseq += 1;
            messages.push(UidMessage {
                uid: list.next_uid,
                modseq: list.highest_modseq,
                entry,
            });
            sources.push(None);
            list.next_uid += 1;
            changed = true;
        }
        if list.guid.is_none() {
            list.guid = Some(random_guid());
            changed = true;
        }
        if changed {
            // Every record written carries the name just seen and a mod-sequence.
            list.records = messages
                .iter()
                .zip(sources)
                .map(|(m, source)| UidRecord {
                    uid: m.uid,
                    file_name: m.entry.file_name().to_owned(),
                    modseq: Some(m.modseq),
                    extensions: source
                        .map_or_else(Vec::new, |r| r.extensions().map(str::to_owned).collect()),
                })
                .collect();
            lock.replace(&list.to_bytes())?;
        } else {
            drop(lock);
        }
        Ok(UidSnapshot {
            uid_validity: list.uid_validity,
            uid_next: list.next_uid,
            highest_modseq: list.highest_modseq,
            messages,
        })
    }

    /// Reads `dovecot-keywords` (empty when it does not exist).
    pub fn keywords(&self) -> Result<Keywords, Error> {
        let path = self.path().join(KEYWORDS);
        match read_limited(&path, MAX_KEYWORDS_FILE)? {
            None => Ok(Keywords::default()),
            Some(data) => Keywords::parse(&data).map_err(|source| Error::Parse { path, source }),
        }
    }

    /// The flag letter for keyword `name`, assigning the first free letter (and writing
    /// `dovecot-keywords`, under the uid list lock) if it has none yet.
    pub fn keyword_flag(&self, name: &str) -> Result<Flags, Error> {
        if !is_valid_keyword(name) {
            return Err(Error::InvalidKeyword(name.to_owned()));
        }
        let known = self.keywords()?;
        if let Some(i) = known.index_of(name) {
            return Ok(Flags::keyword(i).expect("index below 26"));
        }
        let uid_lock = DotLock::acquire(&self.path().join(UIDLIST), &self.options().lock)?;
        let path = self.path().join(KEYWORDS);
        // Read again under the lock: another process may have added keywords meanwhile.
        let mut kw = self.keywords()?;
        let i = kw
            .get_or_insert(name)
            .ok_or_else(|| Error::KeywordsFull(name.to_owned()))?;
        if kw != known || !path.exists() {
            let kw_lock = DotLock::acquire(&path, &self.options().lock)?;
            kw_lock.replace(&kw.to_bytes())?;
        }
        drop(uid_lock);
        Ok(Flags::keyword(i).expect("index below 26"))
    }

    /// The keyword names of `flags` according to `keywords`; letters without a name are
    /// skipped.
    #[must_use]
    pub fn keyword_names(flags: Flags, keywords: &Keywords) -> Vec<&str> {
        flags
            .keyword_indexes()
            .filter_map(|i| keywords.name(i))
            .collect()
    }

    /// Whether someone holds the uid list lock right now (for tests and diagnostics).
    #[must_use]
    pub fn uidlist_locked(&self) -> bool {
        fs::metadata(lock_path_for(&self.path().join(UIDLIST))).is_ok()
    }
}

/// FxHash-style hasher for the base-name index: a few times faster than SipHash on 40-byte
/// names. File names are made by local delivery agents, not by remote peers, so hash flooding
/// is not a concern here.
#[derive(Default)]
struct NameHasher(u64);

impl NameHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Whole words by fixed-size conversion; a variable-length copy into a zeroed word
        // compiled to a memcpy call per word.
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let w: [u8; 8] = w.try_into().unwrap_or_default();
            self.mix(u64::from_le_bytes(w));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let word = tail
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            self.mix(word);
        }
    }

    fn finish(&self) -> u64 {
        // Multiplication only carries low bits upwards; hashbrown picks buckets by the low
        // bits, so fold the high bits back down (MurmurHash3's fmix64).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Orders new messages by delivery time for UID assignment: seconds, then the `M`
/// microseconds, compared as numbers (`M99` before `M100`, which a string comparison gets
/// wrong), then the whole name.
fn delivery_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> (u64, u64) {
        let (secs, rest) = s.split_once('.').unwrap_or((s, ""));
        let usecs = rest
            .strip_prefix('M')
            .map(|r| r.bytes().take_while(u8::is_ascii_digit).count())
            .and_then(|n| rest[1..1 + n].parse().ok());
        (secs.parse().unwrap_or(u64::MAX), usecs.unwrap_or(0))
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

fn base_hash(base: &str) -> u64 {
    let mut h = NameHasher::default();
    h.write(base.as_bytes());
    h.finish()
}

/// Indexes a listing by base name. A message seen in both `new/` and `cur/` by one listing
/// (moved while it ran) is indexed once, as its `cur/` entry; the other is marked in the
/// returned duplicates.
///
/// A [`HashTable`] of indexes rather than a map of names: the names stay where they are, and
/// [`take_by_base`] can move the found entry out.
fn index_entries(entries: &[Option<Entry>]) -> (HashTable<usize>, Vec<bool>) {
    let hash_of = |&j: &usize| base_hash(entries[j].as_ref().map_or("", Entry::base));
    let mut dup = vec![false; entries.len()];
    let mut table = HashTable::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Some(e) = e else { continue };
        let base = e.base();
        let same = |&j: &usize| entries[j].as_ref().is_some_and(|o| o.base() == base);
        match table.entry(base_hash(base), same, hash_of) {
            hash_table::Entry::Vacant(v) => {
                v.insert(i);
            }
            hash_table::Entry::Occupied(mut o) if e.subdir() == Subdir::Cur => {
                dup[std::mem::replace(o.get_mut(), i)] = true;
            }
            hash_table::Entry::Occupied(_) => dup[i] = true,
        }
    }
    (table, dup)
}

/// Takes the entry whose base is `base` out of the listing; with it, whether its file name
/// is still `file_name`. `None` when there is none (or it was taken already).
fn take_by_base(
    table: &HashTable<usize>,
    entries: &mut [Option<Entry>],
    base: &str,
    file_name: &str,
) -> Option<(Entry, bool)> {
    let &i = table.find(base_hash(base), |&j| {
        entries[j].as_ref().is_some_and(|e| e.base() == base)
    })?;
    let entry = entries[i].take()?;
    // A move from `new/` to `cur/` only adds the empty info `:2,` (a reader taking note of
    // a message, which is how `\Recent` is claimed): no flag changed, so no new
    // mod-sequence. (A Dovecot record, a base name, of a message whose flags were all
    // removed since looks the same: that one change goes unnoticed by CONDSTORE.)
    let same_name = entry.file_name() == file_name
        || (entry.subdir() == Subdir::Cur
            && entry.file_name().strip_prefix(file_name) == Some(":2,"));
    Some((entry, same_name))
}

fn new_list() -> UidList {
    // UIDVALIDITY from the clock, as Dovecot does: a recreated list gets a greater value.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UidList::new(u32::try_from(now).unwrap_or(u32::MAX), Some(random_guid()))
}

/// Index of records by base name, for callers that map many file names to UIDs.
#[must_use]
pub fn index_by_base(list: &UidList) -> HashMap<&str, &UidRecord> {
    list.records.iter().map(|r| (r.base(), r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(uid: u32, name: &str) -> UidRecord {
        UidRecord {
            uid,
            file_name: name.into(),
            modseq: None,
            extensions: Vec::new(),
        }
    }

    #[test]
    fn new_messages_sort_by_delivery_time() {
        let mut names = vec![
            "1700000001.M5P1.h",
            "1700000000.M100P1.h",
            "1700000000.M99P1.h",
            "x",
        ];
        names.sort_by(|a, b| delivery_order(a, b));
        assert_eq!(
            names,
            vec![
                "1700000000.M99P1.h",
                "1700000000.M100P1.h",
                "1700000001.M5P1.h",
                "x"
            ]
        );
    }

    #[test]
    fn take_by_base_pairs_dedups_and_misses() {
        let mut entries: Vec<Option<Entry>> = ["b", "a:2,S", "b:2,", "c"]
            .iter()
            .zip([Subdir::New, Subdir::Cur, Subdir::Cur, Subdir::New])
            .map(|(n, d)| Entry::new(d, n))
            .collect();
        let (table, dup) = index_entries(&entries);
        assert_eq!(dup, vec![true, false, false, false]);
        let mut take = |r: &UidRecord| {
            take_by_base(&table, &mut entries, r.base(), &r.file_name)
                .map(|(e, same)| (e.file_name().to_owned(), same))
        };
        assert_eq!(take(&rec(1, "a:2,S")), Some(("a:2,S".into(), true)));
        // new/ to cur/ without flags: the same message, unchanged.
        assert_eq!(take(&rec(2, "b")), Some(("b:2,".into(), true)));
        assert_eq!(take(&rec(3, "gone")), None);
        // Taken once only: a second record for one message gets nothing.
        assert_eq!(take(&rec(4, "b:2,S")), None);
        assert!(entries[0].is_some() && entries[3].is_some());
    }
}
