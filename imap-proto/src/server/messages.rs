//! The commands that change messages of the selected mailbox: EXPUNGE, UID EXPUNGE
//! (RFC 4315 §2.1), CLOSE (RFC 9051 §6.4.1), STORE and UID STORE with `.SILENT` and
//! UNCHANGEDSINCE (RFC 9051 §6.4.6, RFC 7162 §3.1.3), COPY, MOVE and their UID forms with
//! COPYUID (RFC 9051 §6.4.7–§6.4.8, RFC 6851, RFC 4315 §3).

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::view::{flags_of, seq_of};
use super::{Decision, Server, UsageError, Wait};
use crate::command::StoreMode;
use crate::response::{Code, Data, MessageData, Status};
use crate::types::{Flag, MailboxName, SeqNo, SeqRange, SequenceSet, Tag};

/// A message's flags after a STORE, as the caller answers [`ServerEvent::Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlags {
    /// The message.
    pub uid: NonZeroU32,
    /// All its flags now (without `\Recent`).
    pub flags: Vec<Flag>,
    /// Its new mod-sequence (0 when none is kept).
    pub modseq: u64,
}

/// A set written in the given order, runs of consecutive numbers joined (COPYUID pairs
/// source and destination UIDs by position, so the order must stay, RFC 4315 §3).
pub(crate) fn ordered_set(numbers: &[u32]) -> Option<SequenceSet> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        while i + 1 < numbers.len() && numbers[i + 1] == numbers[i].wrapping_add(1) {
            i += 1;
        }
        let (a, b) = (NonZeroU32::new(start)?, NonZeroU32::new(numbers[i])?);
        ranges.push(if a == b {
            SeqRange::Single(SeqNo::Value(a))
        } else {
            SeqRange::Range(SeqNo::Value(a), SeqNo::Value(b))
        });
        i += 1;
    }
    SequenceSet::new(ranges).ok()
}

impl Server {
    fn selected_name(&self) -> String {
        self.view
            .as_ref()
            .and_then(|v| v.mailbox.to_utf8().ok())
            .unwrap_or_default()
    }

    fn refuse_read_only(&mut self, tag: &Tag) -> bool {
        if self.view.as_ref().is_some_and(|v| v.read_only) {
            let text = "Mailbox is read-only";
            self.tagged(Status::no(Some(tag.clone()), None, text));
            return true;
        }
        false
    }

    /// EXPUNGE, UID EXPUNGE and CLOSE: the `\Deleted` messages (within `set` for UID
    /// EXPUNGE).
    pub(super) fn on_expunge(&mut self, tag: Tag, set: Option<&SequenceSet>, close: bool) {
        let read_only = self.view.as_ref().is_some_and(|v| v.read_only);
        if close && read_only {
            // CLOSE on a read-only mailbox removes nothing (RFC 9051 §6.4.1).
            self.unselect();
            self.status(Status::ok(Some(tag), None, "CLOSE completed"));
            return;
        }
        if self.refuse_read_only(&tag) {
            return;
        }
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let indices = match set {
            Some(set) => view.resolve(set, true, &self.saved).unwrap_or_default(),
            None => (0..view.msgs.len()).collect(),
        };
        let uids: Vec<NonZeroU32> = indices
            .into_iter()
            .map(|i| &view.msgs[i])
            .filter(|m| !m.expunged && m.info.flags.contains(&Flag::Deleted))
            .map(|m| m.info.uid)
            .collect();
        if uids.is_empty() {
            self.finish_expunge(tag, &[], close, None);
            return;
        }
        let event = ServerEvent::Expunge {
            tag: tag.clone(),
            mailbox: self.selected_name(),
            uids,
        };
        self.wait = Wait::Decision(tag, Decision::Expunge { close });
        self.events.push_back(event);
    }

    fn finish_expunge(
        &mut self,
        tag: Tag,
        removed: &[NonZeroU32],
        close: bool,
        modseq: Option<u64>,
    ) {
        if close {
            self.unselect();
            self.status(Status::ok(Some(tag), None, "CLOSE completed"));
            return;
        }
        let removed: BTreeSet<NonZeroU32> = removed.iter().copied().collect();
        let mut code = None;
        let mut out = Vec::new();
        if let (Some(report), Some(view)) = (self.report(), self.view.as_mut()) {
            out = view.remove(&removed, report);
            // RFC 7162 §3.2.7, §3.2.9: the new HIGHESTMODSEQ once QRESYNC is on.
            if let (Some(m), Some(h)) = (modseq, view.highest_modseq.as_mut()) {
                *h = (*h).max(m);
                if report.qresync && !removed.is_empty() {
                    code = Some(Code::HighestModSeq(*h));
                }
            }
        }
        for d in out {
            self.data(d);
        }
        self.tagged(Status::ok(Some(tag), code, "EXPUNGE completed"));
    }

    /// Answers [`ServerEvent::Expunge`] with the UIDs the store removed (others may have gone
    /// already); the engine sends EXPUNGE or VANISHED for them (none for CLOSE).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no EXPUNGE/CLOSE is pending.
    pub fn expunged(&mut self, removed: &[NonZeroU32]) -> Result<(), UsageError> {
        self.expunged_at(removed, None)
    }

    /// [`Server::expunged`] with the mailbox's mod-sequence after the expunge, which a
    /// QRESYNC session gets in the tagged `OK [HIGHESTMODSEQ m]` (RFC 7162 §3.2.7).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no EXPUNGE/CLOSE is pending.
    pub fn expunged_at(
        &mut self,
        removed: &[NonZeroU32],
        highest_modseq: Option<u64>,
    ) -> Result<(), UsageError> {
        let Some((tag, Decision::Expunge { close })) =
            self.take_decision(|d| matches!(d, Decision::Expunge { .. }))
        else {
            return Err(UsageError::NotExpected { method: "expunged" });
        };
        self.finish_expunge(tag, removed, close, highest_modseq);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_store(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: Vec<Flag>,
    ) {
        if self.refuse_read_only(&tag) {
            return;
        }
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let Ok(indices) = view.resolve(set, uid, &self.saved) else {
            self.bad(Status::bad(
                Some(tag),
                None,
                "Invalid message sequence number",
            ));
            return;
        };
        let mut uids = Vec::with_capacity(indices.len());
        let mut modified = Vec::new();
        for i in indices {
            let m = &view.msgs[i];
            if m.expunged {
                continue;
            }
            if unchanged_since.is_some_and(|n| m.info.modseq > n) {
                // RFC 7162 §3.1.3: not changed, reported in [MODIFIED] (UIDs for UID STORE).
                modified.push(if uid { m.info.uid.get() } else { i as u32 + 1 });
                continue;
            }
            uids.push(m.info.uid);
        }
        let flags: Vec<Flag> = flags.into_iter().filter(|f| *f != Flag::Recent).collect();
        let decision = Decision::Store {
            uid,
            silent,
            modified,
            condstore: unchanged_since.is_some(),
            verb: "STORE completed",
        };
        if uids.is_empty() {
            self.wait = Wait::Decision(tag, decision);
            let _ = self.stored(&[]);
            return;
        }
        let event = ServerEvent::Store {
            tag: tag.clone(),
            mailbox: self.selected_name(),
            uids,
            mode,
            flags,
        };
        self.wait = Wait::Decision(tag, decision);
        self.events.push_back(event);
    }

    /// Answers [`ServerEvent::Store`] with the messages' flags after the change; the engine
    /// updates its view and sends the FETCH responses (none for `.SILENT`, RFC 9051 §6.4.6).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no STORE is pending.
    pub fn stored(&mut self, result: &[StoredFlags]) -> Result<(), UsageError> {
        let Some((
            tag,
            Decision::Store {
                uid,
                silent,
                modified,
                condstore,
                verb,
            },
        )) = self.take_decision(|d| matches!(d, Decision::Store { .. }))
        else {
            return Err(UsageError::NotExpected { method: "stored" });
        };
        let report = self.report().unwrap_or_default();
        let mut out = Vec::new();
        if let Some(view) = self.view.as_mut() {
            for s in result {
                let Some(i) = view.index_of_uid(s.uid) else {
                    continue;
                };
                let m = &mut view.msgs[i];
                m.info.flags = s
                    .flags
                    .iter()
                    .filter(|f| **f != Flag::Recent)
                    .cloned()
                    .collect();
                m.info.modseq = s.modseq;
                if let Some(h) = &mut view.highest_modseq {
                    *h = (*h).max(s.modseq);
                }
                // `.SILENT` still reports MODSEQ under CONDSTORE (RFC 7162 §3.1.3).
                if silent && !(condstore || report.condstore) {
                    continue;
                }
                let Some(seq) = seq_of(i) else { continue };
                let mut items = Vec::new();
                if !silent {
                    items.push(MessageData::Flags(flags_of(&m.info, report.rev1)));
                }
                if uid || report.qresync {
                    items.push(MessageData::Uid(m.info.uid));
                }
                if condstore || report.condstore {
                    items.push(MessageData::ModSeq(m.info.modseq));
                }
                out.push(Data::Fetch { seq, items });
            }
        }
        for d in out {
            self.data(d);
        }
        let code = SequenceSet::from_numbers(&modified).map(Code::Modified);
        let text = if code.is_some() {
            "Conditional STORE failed"
        } else {
            verb
        };
        self.tagged(Status::ok(Some(tag), code, text));
        Ok(())
    }

    pub(super) fn on_copy(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        destination: &MailboxName,
        is_move: bool,
    ) {
        if is_move && self.refuse_read_only(&tag) {
            return;
        }
        let Ok(dest) = destination.to_utf8() else {
            let code = Some(Code::TryCreate);
            self.tagged(Status::no(Some(tag), code, "Invalid mailbox name"));
            return;
        };
        let dest = super::list::canonical(&dest, self.opts.delimiter.map(char::from));
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let Ok(indices) = view.resolve(set, uid, &self.saved) else {
            self.bad(Status::bad(
                Some(tag),
                None,
                "Invalid message sequence number",
            ));
            return;
        };
        let uids: Vec<NonZeroU32> = indices
            .into_iter()
            .map(|i| &view.msgs[i])
            .filter(|m| !m.expunged)
            .map(|m| m.info.uid)
            .collect();
        let verb = if is_move {
            "MOVE completed"
        } else {
            "COPY completed"
        };
        if uids.is_empty() {
            self.tagged(Status::ok(Some(tag), None, verb));
            return;
        }
        let event = ServerEvent::Copy {
            tag: tag.clone(),
            mailbox: self.selected_name(),
            uids,
            destination: dest,
            is_move,
        };
        self.wait = Wait::Decision(tag, Decision::Copy { is_move });
        self.events.push_back(event);
    }

    /// Answers [`ServerEvent::Copy`]: the destination's UIDVALIDITY and the `(source,
    /// destination)` UID pairs in source order (empty when the store does not keep UIDs,
    /// which answers `[UIDNOTSTICKY]`-less without COPYUID). For MOVE the engine then sends the
    /// untagged `OK [COPYUID …]` and the EXPUNGEs of the moved messages (RFC 6851 §4.3).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no COPY/MOVE is pending.
    pub fn copied(
        &mut self,
        uid_validity: NonZeroU32,
        pairs: &[(NonZeroU32, NonZeroU32)],
    ) -> Result<(), UsageError> {
        let Some((tag, Decision::Copy { is_move })) =
            self.take_decision(|d| matches!(d, Decision::Copy { .. }))
        else {
            return Err(UsageError::NotExpected { method: "copied" });
        };
        let src: Vec<u32> = pairs.iter().map(|p| p.0.get()).collect();
        let dst: Vec<u32> = pairs.iter().map(|p| p.1.get()).collect();
        let code = match (ordered_set(&src), ordered_set(&dst)) {
            (Some(source), Some(dest)) => Some(Code::CopyUid {
                uid_validity,
                source,
                dest,
            }),
            _ => None,
        };
        if !is_move {
            self.tagged(Status::ok(Some(tag), code, "COPY completed"));
            return Ok(());
        }
        if code.is_some() {
            self.status(Status::ok(None, code, "Moved"));
        }
        let removed: BTreeSet<NonZeroU32> = pairs.iter().map(|p| p.0).collect();
        if let (Some(report), Some(view)) = (self.report(), self.view.as_mut()) {
            for d in view.remove(&removed, report) {
                self.data(d);
            }
        }
        self.tagged(Status::ok(Some(tag), None, "MOVE completed"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_sets_keep_order() {
        let s = ordered_set(&[5, 6, 7, 2, 9]).unwrap();
        assert_eq!(s.ranges().len(), 3);
        assert!(ordered_set(&[]).is_none());
        assert!(ordered_set(&[0]).is_none());
    }
}
