//! An in-memory store, for tests and examples. Everything is lost when it is dropped.
//!
//! It keeps mod-sequences (RFC 7162 §3.1) and the recent history of removals, so QRESYNC's
//! `VANISHED (EARLIER)` (RFC 7162 §3.2.5.2) names exactly the messages removed since the
//! client's mod-sequence; the oldest entries are forgotten past `EXPUNGE_HISTORY`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    AppendRequest, AppendResult, Change, ChangeHub, CopyResult, DELIMITER, FlagOp, FlagSet, INBOX,
    MailStore, MailboxInfo, MailboxSnapshot, MaildropLock, MaildropLocks, MessageBody, MessageMeta,
    Quota, StoreError, Subscription, Uid, UserStore, is_inbox,
};

/// Chunk size of [`MessageBody`] for stored messages.
const CHUNK: usize = 64 * 1024;

/// Removals remembered per mailbox for [`UserStore::expunged_since`]; older ones are
/// forgotten, so a mailbox with a long life does not grow without bound.
const EXPUNGE_HISTORY: usize = 10_000;

/// A store that keeps every user's mail in memory. Users are created on first open.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<String, Arc<MemoryUser>>>,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
    quota: Option<u64>,
}

impl MemoryStore {
    /// An empty store without quota.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store where each user may keep at most `bytes` octets (RFC 822 sizes).
    pub fn with_quota(bytes: u64) -> MemoryStore {
        MemoryStore {
            quota: Some(bytes),
            ..MemoryStore::default()
        }
    }

    fn user(&self, user: &str) -> Arc<MemoryUser> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .entry(user.to_owned())
            .or_insert_with(|| {
                let mut mailboxes = BTreeMap::new();
                mailboxes.insert(INBOX.to_owned(), Mailbox::new(1));
                Arc::new(MemoryUser {
                    user: user.to_owned(),
                    state: Mutex::new(State {
                        mailboxes,
                        subscriptions: BTreeSet::new(),
                        next_validity: 2,
                    }),
                    hub: self.hub.clone(),
                    locks: self.locks.clone(),
                    quota: self.quota,
                })
            })
            .clone()
    }
}

#[async_trait]
impl MailStore for MemoryStore {
    async fn open(&self, user: &str) -> Result<Arc<dyn UserStore>, StoreError> {
        Ok(self.user(user))
    }
}

#[derive(Debug)]
struct Message {
    meta: MessageMeta,
    data: Arc<Vec<u8>>,
}

#[derive(Debug)]
struct Mailbox {
    uid_validity: u32,
    uid_next: Uid,
    modseq: u64,
    messages: BTreeMap<Uid, Message>,
    /// Removals as (mod-sequence of the removal, UID), oldest first.
    expunged: VecDeque<(u64, Uid)>,
    /// Removals at or below this mod-sequence may have been forgotten.
    forgotten: u64,
    /// `\Recent` was claimed for every UID up to this one (RFC 3501 §2.3.2): UIDs only
    /// grow, so one mark under the user's mutex makes claiming atomic across sessions.
    claimed_up_to: Uid,
}

impl Mailbox {
    fn new(uid_validity: u32) -> Mailbox {
        Mailbox {
            uid_validity,
            uid_next: 1,
            modseq: 0,
            messages: BTreeMap::new(),
            expunged: VecDeque::new(),
            forgotten: 0,
            claimed_up_to: 0,
        }
    }

    /// Removes the messages `uids` (those present) under one new mod-sequence and remembers
    /// them; returns the ones removed.
    fn remove(&mut self, uids: &[Uid]) -> Vec<Uid> {
        let removed: Vec<Uid> = uids
            .iter()
            .filter(|u| self.messages.remove(u).is_some())
            .copied()
            .collect();
        if removed.is_empty() {
            return removed;
        }
        self.modseq += 1;
        for &u in &removed {
            if self.expunged.len() >= EXPUNGE_HISTORY
                && let Some((m, _)) = self.expunged.pop_front()
            {
                self.forgotten = self.forgotten.max(m);
            }
            self.expunged.push_back((self.modseq, u));
        }
        removed
    }

    fn add(&mut self, data: Arc<Vec<u8>>, flags: FlagSet, date: SystemTime) -> Uid {
        let uid = self.uid_next;
        self.uid_next += 1;
        self.modseq += 1;
        let meta = MessageMeta {
            uid,
            flags,
            size: rfc822_size(&data),
            internal_date: date,
            modseq: self.modseq,
        };
        self.messages.insert(uid, Message { meta, data });
        uid
    }
}

#[derive(Debug)]
struct State {
    mailboxes: BTreeMap<String, Mailbox>,
    subscriptions: BTreeSet<String>,
    next_validity: u32,
}

impl State {
    fn mailbox(&mut self, name: &str) -> Result<&mut Mailbox, StoreError> {
        let k = canonical(name);
        self.mailboxes
            .get_mut(&k)
            .ok_or(StoreError::NoSuchMailbox(k))
    }

    fn used(&self) -> u64 {
        self.mailboxes
            .values()
            .flat_map(|m| m.messages.values())
            .map(|m| m.meta.size)
            .sum()
    }
}

/// One user of a [`MemoryStore`].
#[derive(Debug)]
pub(super) struct MemoryUser {
    user: String,
    state: Mutex<State>,
    hub: Arc<ChangeHub>,
    locks: Arc<MaildropLocks>,
    quota: Option<u64>,
}

fn canonical(name: &str) -> String {
    if is_inbox(name) {
        INBOX.to_owned()
    } else {
        name.to_owned()
    }
}

fn valid_name(name: &str) -> Result<String, StoreError> {
    let bad = name.is_empty()
        || name.split(DELIMITER).any(str::is_empty)
        || name.chars().any(char::is_control);
    if bad {
        return Err(StoreError::InvalidName(name.to_owned()));
    }
    Ok(canonical(name))
}

/// The size of `data` with every bare LF counted as CRLF.
pub(crate) fn rfc822_size(data: &[u8]) -> u64 {
    let mut size = data.len() as u64;
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            size += 1;
        }
        prev = b;
    }
    size
}

impl MemoryUser {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_quota(&self, state: &State, add: u64) -> Result<(), StoreError> {
        match self.quota {
            Some(limit) if state.used() + add > limit => Err(StoreError::OverQuota(format!(
                "{} of {limit} octets used",
                state.used()
            ))),
            _ => Ok(()),
        }
    }

    fn transfer(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
        remove: bool,
    ) -> Result<CopyResult, StoreError> {
        let mut st = self.state();
        let picked: Vec<(MessageMeta, Arc<Vec<u8>>)> = {
            let src = st.mailbox(from)?;
            uids.iter()
                .filter_map(|u| src.messages.get(u))
                .map(|m| (m.meta.clone(), m.data.clone()))
                .collect()
        };
        if !remove {
            self.check_quota(&st, picked.iter().map(|p| p.0.size).sum())?;
        }
        let dst = st.mailbox(to)?;
        let uid_validity = dst.uid_validity;
        let mut pairs = Vec::new();
        for (meta, data) in &picked {
            let new = dst.add(data.clone(), meta.flags.clone(), meta.internal_date);
            pairs.push((meta.uid, new));
        }
        if remove {
            let src = st.mailbox(from)?;
            let moved: Vec<Uid> = picked.iter().map(|p| p.0.uid).collect();
            src.remove(&moved);
        }
        drop(st);
        let new: Vec<Uid> = pairs.iter().map(|p| p.1).collect();
        if !new.is_empty() {
            self.hub
                .notify(&self.user, to, Change::Appended { uids: new });
            if remove {
                let old = pairs.iter().map(|p| p.0).collect();
                self.hub
                    .notify(&self.user, from, Change::Expunged { uids: old });
            }
        }
        Ok(CopyResult {
            uid_validity,
            uids: pairs,
        })
    }
}

struct MemoryBody {
    data: Arc<Vec<u8>>,
    pos: usize,
}

#[async_trait]
impl MessageBody for MemoryBody {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let end = (self.pos + CHUNK).min(self.data.len());
        let chunk = self.data[self.pos..end].to_vec();
        self.pos = end;
        Ok(Some(chunk))
    }
}

#[async_trait]
impl UserStore for MemoryUser {
    fn user(&self) -> &str {
        &self.user
    }

    async fn list(&self) -> Result<Vec<MailboxInfo>, StoreError> {
        let st = self.state();
        let mut out: Vec<MailboxInfo> = st
            .mailboxes
            .keys()
            .map(|name| MailboxInfo {
                name: name.clone(),
                subscribed: st.subscriptions.contains(name),
                special_use: None,
            })
            .collect();
        out.sort_by_key(|m| m.name != INBOX);
        Ok(out)
    }

    async fn create(&self, name: &str) -> Result<(), StoreError> {
        let name = valid_name(name)?;
        let mut st = self.state();
        if st.mailboxes.contains_key(&name) {
            return Err(StoreError::MailboxExists(name));
        }
        let v = st.next_validity;
        st.next_validity += 1;
        st.mailboxes.insert(name, Mailbox::new(v));
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let name = canonical(name);
        if name == INBOX {
            return Err(StoreError::NotPossible("INBOX cannot be deleted".into()));
        }
        self.state()
            .mailboxes
            .remove(&name)
            .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
        self.hub.notify(&self.user, &name, Change::Resync);
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let from = canonical(from);
        let to = valid_name(to)?;
        if from == INBOX || to == INBOX {
            return Err(StoreError::NotPossible("INBOX cannot be renamed".into()));
        }
        let mut st = self.state();
        if st.mailboxes.contains_key(&to) {
            return Err(StoreError::MailboxExists(to));
        }
        let prefix = format!("{from}{DELIMITER}");
        let moving: Vec<String> = st
            .mailboxes
            .keys()
            .filter(|k| **k == from || k.starts_with(&prefix))
            .cloned()
            .collect();
        if moving.is_empty() {
            return Err(StoreError::NoSuchMailbox(from));
        }
        for old in moving {
            let mb = st.mailboxes.remove(&old).expect("listed above");
            let new = format!("{to}{}", &old[from.len()..]);
            st.mailboxes.insert(new, mb);
            self.hub.notify(&self.user, &old, Change::Resync);
        }
        Ok(())
    }

    async fn subscribe(&self, name: &str, subscribe: bool) -> Result<(), StoreError> {
        let name = canonical(name);
        let mut st = self.state();
        if subscribe {
            st.subscriptions.insert(name);
        } else {
            st.subscriptions.remove(&name);
        }
        Ok(())
    }

    async fn select(&self, mailbox: &str) -> Result<MailboxSnapshot, StoreError> {
        let mut st = self.state();
        let name = canonical(mailbox);
        let mb = st.mailbox(mailbox)?;
        Ok(MailboxSnapshot {
            name,
            uid_validity: mb.uid_validity,
            uid_next: mb.uid_next,
            highest_modseq: mb.modseq,
            messages: mb.messages.values().map(|m| m.meta.clone()).collect(),
        })
    }

    async fn open_message(
        &self,
        mailbox: &str,
        uid: Uid,
    ) -> Result<Box<dyn MessageBody>, StoreError> {
        let mut st = self.state();
        let data = st
            .mailbox(mailbox)?
            .messages
            .get(&uid)
            .ok_or(StoreError::NoSuchMessage(uid))?
            .data
            .clone();
        Ok(Box::new(MemoryBody { data, pos: 0 }))
    }

    async fn append(
        &self,
        mailbox: &str,
        request: AppendRequest,
    ) -> Result<AppendResult, StoreError> {
        // A file source is read here, on the caller's thread: this store is for tests.
        let data = request.data.into_bytes(u64::MAX)?;
        let mut st = self.state();
        st.mailbox(mailbox)?;
        self.check_quota(&st, rfc822_size(&data))?;
        let mb = st.mailbox(mailbox)?;
        let date = request.internal_date.unwrap_or_else(SystemTime::now);
        let uid = mb.add(Arc::new(data), request.flags, date);
        let uid_validity = mb.uid_validity;
        drop(st);
        self.hub
            .notify(&self.user, mailbox, Change::Appended { uids: vec![uid] });
        Ok(AppendResult { uid_validity, uid })
    }

    async fn store(
        &self,
        mailbox: &str,
        uids: &[Uid],
        op: FlagOp,
        flags: &FlagSet,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let mut st = self.state();
        let mb = st.mailbox(mailbox)?;
        let mut out = Vec::new();
        for uid in uids {
            if let Some(m) = mb.messages.get_mut(uid) {
                let before = m.meta.flags.clone();
                m.meta.flags.apply(op, flags);
                if m.meta.flags != before {
                    mb.modseq += 1;
                    m.meta.modseq = mb.modseq;
                }
                out.push(m.meta.clone());
            }
        }
        drop(st);
        if !out.is_empty() {
            let uids = out.iter().map(|m| m.uid).collect();
            self.hub
                .notify(&self.user, mailbox, Change::FlagsChanged { uids });
        }
        Ok(out)
    }

    async fn remove(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let mut st = self.state();
        let removed = st.mailbox(mailbox)?.remove(uids);
        drop(st);
        if !removed.is_empty() {
            let change = Change::Expunged {
                uids: removed.clone(),
            };
            self.hub.notify(&self.user, mailbox, change);
        }
        Ok(removed)
    }

    async fn expunged_since(
        &self,
        mailbox: &str,
        modseq: u64,
    ) -> Result<Option<Vec<Uid>>, StoreError> {
        let mut st = self.state();
        let mb = st.mailbox(mailbox)?;
        if modseq < mb.forgotten {
            return Ok(None);
        }
        Ok(Some(
            mb.expunged
                .iter()
                .filter(|&&(m, _)| m > modseq)
                .map(|&(_, u)| u)
                .collect(),
        ))
    }

    async fn claim_recent(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let mut st = self.state();
        let mb = st.mailbox(mailbox)?;
        let mark = mb.claimed_up_to;
        let claimed: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|u| *u > mark && mb.messages.contains_key(u))
            .collect();
        if let Some(&max) = claimed.iter().max() {
            mb.claimed_up_to = max;
        }
        Ok(claimed)
    }

    async fn unclaimed_recent(&self, mailbox: &str) -> Result<u32, StoreError> {
        let mut st = self.state();
        let mb = st.mailbox(mailbox)?;
        let n = mb
            .messages
            .range(mb.claimed_up_to.saturating_add(1)..)
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn copy(&self, from: &str, uids: &[Uid], to: &str) -> Result<CopyResult, StoreError> {
        self.transfer(from, uids, to, false)
    }

    async fn move_messages(
        &self,
        from: &str,
        uids: &[Uid],
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        self.transfer(from, uids, to, true)
    }

    async fn quota(&self) -> Result<Option<Quota>, StoreError> {
        let st = self.state();
        Ok(self.quota.map(|limit| Quota {
            storage_used: st.used(),
            storage_limit: Some(limit),
            messages_used: st.mailboxes.values().map(|m| m.messages.len() as u64).sum(),
            messages_limit: None,
        }))
    }

    fn watch(&self, mailbox: &str) -> Subscription {
        self.hub.watch(&self.user, mailbox)
    }

    fn lock_maildrop(&self) -> Result<MaildropLock, StoreError> {
        self.locks.lock(&self.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn append(u: &MemoryUser, mailbox: &str) -> Uid {
        let req = AppendRequest {
            data: b"Subject: x\r\n\r\nbody\r\n".to_vec().into(),
            ..AppendRequest::default()
        };
        block_on(u.append(mailbox, req)).unwrap().uid
    }

    fn highest(u: &MemoryUser, mailbox: &str) -> u64 {
        block_on(u.select(mailbox)).unwrap().highest_modseq
    }

    #[test]
    fn recent_is_claimed_once() {
        let store = MemoryStore::new();
        let (a, b) = (store.user("dave"), store.user("dave"));
        let first: Vec<Uid> = (0..3).map(|_| append(&a, INBOX)).collect();
        assert_eq!(block_on(b.unclaimed_recent(INBOX)).unwrap(), 3);
        // A UID that does not exist is never claimed.
        assert_eq!(
            block_on(a.claim_recent(INBOX, &[first[0], 99])).unwrap(),
            [first[0]]
        );
        assert_eq!(
            block_on(b.claim_recent(INBOX, &first)).unwrap(),
            &first[1..]
        );
        assert_eq!(
            block_on(a.claim_recent(INBOX, &first)).unwrap(),
            Vec::<Uid>::new()
        );
        assert_eq!(block_on(a.unclaimed_recent(INBOX)).unwrap(), 0);
        let next = append(&b, INBOX);
        assert_eq!(block_on(a.unclaimed_recent(INBOX)).unwrap(), 1);
        assert_eq!(block_on(a.claim_recent(INBOX, &[next])).unwrap(), [next]);
        assert_eq!(
            block_on(b.claim_recent(INBOX, &[next])).unwrap(),
            Vec::<Uid>::new()
        );
        assert!(matches!(
            block_on(a.claim_recent("Nope", &[1])),
            Err(StoreError::NoSuchMailbox(_))
        ));
    }

    #[test]
    fn expunge_history_names_what_went_after_a_modseq() {
        let store = MemoryStore::new();
        let u = store.user("dave");
        block_on(u.create("Archive")).unwrap();
        let uids: Vec<Uid> = (0..5).map(|_| append(&u, INBOX)).collect();
        let before = highest(&u, INBOX);
        assert_eq!(
            block_on(u.remove(INBOX, &[uids[1], 99])).unwrap(),
            [uids[1]]
        );
        let middle = highest(&u, INBOX);
        assert!(middle > before, "a removal takes a new mod-sequence");
        block_on(u.move_messages(INBOX, &[uids[3]], "Archive")).unwrap();
        let after = highest(&u, INBOX);
        assert!(after > middle, "a move away is a removal too");
        let since = |m| block_on(u.expunged_since(INBOX, m)).unwrap();
        assert_eq!(since(before), Some(vec![uids[1], uids[3]]));
        assert_eq!(since(middle), Some(vec![uids[3]]));
        assert_eq!(since(after), Some(vec![]));
        assert_eq!(
            block_on(u.expunged_since("Archive", 0)).unwrap(),
            Some(vec![])
        );
        assert!(matches!(
            block_on(u.expunged_since("Nope", 0)),
            Err(StoreError::NoSuchMailbox(_))
        ));
    }

    #[test]
    fn old_expunge_history_is_forgotten_not_misreported() {
        let store = MemoryStore::new();
        let u = store.user("dave");
        let first = append(&u, INBOX);
        let start = highest(&u, INBOX);
        block_on(u.remove(INBOX, &[first])).unwrap();
        // One removal each: the first falls out of the history.
        for _ in 0..EXPUNGE_HISTORY {
            let uid = append(&u, INBOX);
            block_on(u.remove(INBOX, &[uid])).unwrap();
        }
        assert_eq!(block_on(u.expunged_since(INBOX, start)).unwrap(), None);
        let recent = highest(&u, INBOX) - 1;
        let last = block_on(u.expunged_since(INBOX, recent)).unwrap().unwrap();
        assert_eq!(last.len(), 1, "{last:?}");
    }
}
