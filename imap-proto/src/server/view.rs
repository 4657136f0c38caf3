//! The selected-mailbox view of one session (RFC 3501 §2.3.1, §5.2, §7.4.1; RFC 9051 §2.3.1,
//! §7.5.1; RFC 7162 §3.2.10).
//!
//! Message sequence numbers are positions in [`View::msgs`], which holds the messages as the
//! client knows them. Changes made by other sessions arrive at any time
//! ([`super::Server::mailbox_changed`]) and are queued:
//!
//! - new messages wait in `new` until EXISTS (and RECENT for IMAP4rev1) is sent, so a `*` or
//!   a sequence number always means what the client was told;
//! - flag changes update the message at once and are reported as untagged FETCH;
//! - expunges mark the message and are reported as EXPUNGE (or VANISHED once QRESYNC is
//!   enabled) only when a command other than FETCH, STORE, SEARCH (and SORT/THREAD, which are
//!   SEARCH with an order) is in progress; until then the message keeps its number.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use crate::response::Data;
use crate::types::{DateTime, Flag, FlagPerm, MailboxName, SequenceSet};

/// One message as the store describes it (the shape of mta-core's `MessageMeta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The UID.
    pub uid: NonZeroU32,
    /// Flags and keywords (without `\Recent`, which is [`MessageInfo::recent`]).
    pub flags: Vec<Flag>,
    /// The RFC822.SIZE: octets with CRLF line ends.
    pub size: u64,
    /// The internal date (RFC 3501 §2.3.3).
    pub internal_date: DateTime,
    /// The mod-sequence of the last change (RFC 7162), 0 when the store keeps none.
    pub modseq: u64,
    /// Whether this session is the one to see the message as `\Recent` (RFC 3501 §2.3.2: one
    /// session only; the store decides which).
    pub recent: bool,
}

/// What the caller answers to [`super::ServerEvent::Select`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectData {
    /// UIDVALIDITY.
    pub uid_validity: NonZeroU32,
    /// The UID the next message will get.
    pub uid_next: NonZeroU32,
    /// The highest mod-sequence, `None` when the mailbox keeps none (`NOMODSEQ`, RFC 7162).
    pub highest_modseq: Option<u64>,
    /// The flags defined in the mailbox (the `FLAGS` response).
    pub flags: Vec<Flag>,
    /// The flags the client can change permanently (`PERMANENTFLAGS`); ignored for a
    /// read-only mailbox, which gets an empty list.
    pub permanent_flags: Vec<FlagPerm>,
    /// The mailbox can only be read (the store's or the ACL's decision; EXAMINE is always
    /// read-only).
    pub read_only: bool,
    /// The messages in UID order.
    pub messages: Vec<MessageInfo>,
}

/// A change made by someone else to the selected mailbox, given to
/// [`super::Server::mailbox_changed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxChange {
    /// New messages, UIDs above every UID seen so far.
    Appended(Vec<MessageInfo>),
    /// A message's flags are now these.
    Flags {
        /// The message.
        uid: NonZeroU32,
        /// All its flags now.
        flags: Vec<Flag>,
        /// Its new mod-sequence.
        modseq: u64,
    },
    /// These messages were expunged.
    Expunged(Vec<NonZeroU32>),
}

/// A message in the session's numbering.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub(crate) info: MessageInfo,
    /// Expunged by another session; the EXPUNGE is still owed.
    pub(crate) expunged: bool,
}

/// When pending expunges may be reported (RFC 3501 §7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// NOOP, IDLE, CHECK, UID commands and the rest: everything.
    All,
    /// FETCH, STORE, SEARCH: no EXPUNGE, the numbers must not move.
    NoExpunge,
}

/// Which untagged FETCH items flag updates carry.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Report {
    /// IMAP4rev1 (no IMAP4rev2 enabled): `RECENT` responses are sent.
    pub(crate) rev1: bool,
    /// CONDSTORE enabled: `MODSEQ` in flag updates.
    pub(crate) condstore: bool,
    /// QRESYNC enabled: `VANISHED` instead of `EXPUNGE`, `UID` in flag updates.
    pub(crate) qresync: bool,
}

#[derive(Debug)]
pub(crate) struct View {
    pub(crate) mailbox: MailboxName,
    pub(crate) read_only: bool,
    pub(crate) uid_validity: NonZeroU32,
    pub(crate) uid_next: NonZeroU32,
    pub(crate) highest_modseq: Option<u64>,
    pub(crate) flags: Vec<Flag>,
    pub(crate) permanent_flags: Vec<FlagPerm>,
    pub(crate) msgs: Vec<Msg>,
    /// New messages not yet announced with EXISTS.
    new: Vec<MessageInfo>,
    /// UIDs whose flag change is not yet reported.
    changed: BTreeSet<NonZeroU32>,
    /// Number of expunged messages still in `msgs`.
    owed_expunges: usize,
}

impl View {
    pub(crate) fn new(mailbox: MailboxName, data: SelectData, examine: bool) -> View {
        let read_only = examine || data.read_only;
        let mut msgs: Vec<Msg> = data
            .messages
            .into_iter()
            .map(|info| Msg {
                info,
                expunged: false,
            })
            .collect();
        // The caller promises UID order; a store that breaks it must not break the numbering.
        msgs.sort_by_key(|m| m.info.uid);
        msgs.dedup_by_key(|m| m.info.uid);
        View {
            mailbox,
            read_only,
            uid_validity: data.uid_validity,
            uid_next: data.uid_next,
            highest_modseq: data.highest_modseq,
            flags: data.flags,
            permanent_flags: if read_only {
                Vec::new()
            } else {
                data.permanent_flags
            },
            msgs,
            new: Vec::new(),
            changed: BTreeSet::new(),
            owed_expunges: 0,
        }
    }

    pub(crate) fn exists(&self) -> u32 {
        u32::try_from(self.msgs.len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn recent(&self) -> u32 {
        let n = self.msgs.iter().filter(|m| m.info.recent).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The first message without `\Seen` (for `[UNSEEN n]`).
    pub(crate) fn first_unseen(&self) -> Option<NonZeroU32> {
        let i = self
            .msgs
            .iter()
            .position(|m| !m.info.flags.contains(&Flag::Seen))?;
        seq_of(i)
    }

    /// The position of a UID among the known messages.
    pub(crate) fn index_of_uid(&self, uid: NonZeroU32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, |m| m.info.uid).ok()
    }

    pub(crate) fn largest_uid(&self) -> u32 {
        self.msgs.last().map_or(0, |m| m.info.uid.get())
    }

    /// The message indices a set names, ascending and without repeats. For sequence numbers
    /// `Err(())` when a number is beyond the last message (the client's mistake, RFC 9051
    /// §6.4.5); UIDs that do not exist are skipped (RFC 9051 §6.4.9).
    pub(crate) fn resolve(
        &self,
        set: &SequenceSet,
        uid: bool,
        saved: &[NonZeroU32],
    ) -> Result<Vec<usize>, ()> {
        if let SequenceSet::SavedResult = set {
            // `$` (RFC 5182 §2.1): the saved messages still here, in either kind of command.
            let mut v: Vec<usize> = saved.iter().filter_map(|u| self.index_of_uid(*u)).collect();
            v.sort_unstable();
            return Ok(v);
        }
        let mut out = Vec::new();
        let n = self.msgs.len();
        for r in set.ranges() {
            if uid {
                let (a, b) = r.bounds(self.largest_uid());
                let lo = self.msgs.partition_point(|m| m.info.uid.get() < a);
                let hi = self.msgs.partition_point(|m| m.info.uid.get() <= b);
                out.extend(lo..hi);
            } else {
                if n == 0 {
                    return Err(());
                }
                let (a, b) = r.bounds(self.exists());
                if a == 0 || b as usize > n {
                    return Err(());
                }
                out.extend(a as usize - 1..b as usize);
            }
        }
        if set.ranges().len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        Ok(out)
    }

    /// Records another session's change; nothing is sent yet.
    pub(crate) fn apply(&mut self, change: MailboxChange) {
        match change {
            MailboxChange::Appended(infos) => {
                for info in infos {
                    let known = self
                        .largest_uid()
                        .max(self.new.last().map_or(0, |m| m.uid.get()));
                    if info.uid.get() > known {
                        self.bump(info.modseq);
                        if info.uid >= self.uid_next {
                            self.uid_next = info.uid.checked_add(1).unwrap_or(info.uid);
                        }
                        self.new.push(info);
                    }
                }
            }
            MailboxChange::Flags { uid, flags, modseq } => {
                self.bump(modseq);
                if let Some(i) = self.index_of_uid(uid) {
                    let m = &mut self.msgs[i];
                    if !m.expunged {
                        m.info.flags = flags;
                        m.info.modseq = modseq;
                        self.changed.insert(uid);
                    }
                } else if let Some(m) = self.new.iter_mut().find(|m| m.uid == uid) {
                    m.flags = flags;
                    m.modseq = modseq;
                }
            }
            MailboxChange::Expunged(uids) => {
                for uid in uids {
                    if let Some(i) = self.index_of_uid(uid) {
                        if !self.msgs[i].expunged {
                            self.msgs[i].expunged = true;
                            self.owed_expunges += 1;
                        }
                    } else {
                        self.new.retain(|m| m.uid != uid);
                    }
                    self.changed.remove(&uid);
                }
            }
        }
    }

    fn bump(&mut self, modseq: u64) {
        if let Some(h) = &mut self.highest_modseq {
            *h = (*h).max(modseq);
        }
    }

    /// Removes messages this session expunged itself (EXPUNGE, CLOSE, MOVE) or owed ones, and
    /// returns the responses: `n EXPUNGE` in ascending order with renumbering (as in RFC 3501
    /// §6.4.3's example), or one `VANISHED`.
    pub(crate) fn remove(&mut self, uids: &BTreeSet<NonZeroU32>, report: Report) -> Vec<Data> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        let mut removed = 0u32;
        let mut kept = Vec::with_capacity(self.msgs.len());
        for (i, m) in std::mem::take(&mut self.msgs).into_iter().enumerate() {
            if uids.contains(&m.info.uid) {
                if m.expunged {
                    self.owed_expunges -= 1;
                }
                let seq = u32::try_from(i).unwrap_or(u32::MAX) + 1 - removed;
                removed += 1;
                gone.push(m.info.uid.get());
                if !report.qresync
                    && let Some(seq) = NonZeroU32::new(seq)
                {
                    out.push(Data::Expunge(seq));
                }
            } else {
                kept.push(m);
            }
        }
        self.msgs = kept;
        if report.qresync
            && let Some(uids) = SequenceSet::from_numbers(&gone)
        {
            out.push(Data::Vanished {
                earlier: false,
                uids,
            });
        }
        out
    }

    /// The untagged responses owed to the client, and the view brought up to date with them.
    pub(crate) fn flush(&mut self, flush: Flush, report: Report) -> Vec<Data> {
        let mut out = Vec::new();
        if flush == Flush::All && self.owed_expunges > 0 {
            let owed = self
                .msgs
                .iter()
                .filter(|m| m.expunged)
                .map(|m| m.info.uid)
                .collect();
            out.extend(self.remove(&owed, report));
        }
        for uid in std::mem::take(&mut self.changed) {
            let Some(i) = self.index_of_uid(uid) else {
                continue;
            };
            let Some(seq) = seq_of(i) else { continue };
            out.push(self.flag_update(seq, &self.msgs[i].info, report));
        }
        if !self.new.is_empty() {
            let recent = self.new.iter().any(|m| m.recent);
            self.msgs.extend(self.new.drain(..).map(|info| Msg {
                info,
                expunged: false,
            }));
            out.push(Data::Exists(self.exists()));
            if report.rev1 && recent {
                out.push(Data::Recent(self.recent()));
            }
        }
        out
    }

    /// `* n FETCH (FLAGS (…) [UID u] [MODSEQ (m)])`.
    pub(crate) fn flag_update(&self, seq: NonZeroU32, info: &MessageInfo, report: Report) -> Data {
        use crate::response::MessageData;
        let mut items = vec![MessageData::Flags(flags_of(info, report.rev1))];
        if report.qresync {
            items.push(MessageData::Uid(info.uid));
        }
        if report.condstore {
            items.push(MessageData::ModSeq(info.modseq));
        }
        Data::Fetch { seq, items }
    }
}

/// The flags to show, with `\Recent` for IMAP4rev1 sessions that own it.
pub(crate) fn flags_of(info: &MessageInfo, rev1: bool) -> Vec<Flag> {
    let mut f = info.flags.clone();
    if rev1 && info.recent {
        f.push(Flag::Recent);
    }
    f
}

pub(crate) fn seq_of(index: usize) -> Option<NonZeroU32> {
    NonZeroU32::new(u32::try_from(index + 1).ok()?)
}
