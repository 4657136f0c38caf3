//! QRESYNC (RFC 7162 §3.2): `SELECT`/`EXAMINE (QRESYNC (uidvalidity modseq [known-uids
//! [seq-match-data]]))` answered with `VANISHED (EARLIER)` and the flag changes since the
//! client's mod-sequence (§3.2.5.1, §3.2.5.2), and the `VANISHED` UID FETCH modifier
//! (§3.2.6).
//!
//! The engine knows the messages that are in the mailbox, not the ones that left it: it asks
//! the store which of the client's UIDs were expunged after the client's mod-sequence
//! ([`ServerEvent::ExpungedSince`], answered with [`Server::expunged_since`]). A store that
//! does not remember expunges that far back answers `None`, and the engine reports every UID
//! of the client's set that is not in the mailbox (§5.1, "servers that don't store extra
//! state"), narrowed by the sequence match data when the client sent it (§3.2.5.2).

use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::view::{Report, View, flags_of};
use super::{Decision, Server, UsageError, Wait};
use crate::fetch::FetchAttr;
use crate::response::{Code, Data, MessageData, Status};
use crate::types::{SeqNo, SeqRange, SequenceSet, Tag};

/// The QRESYNC parameter of a SELECT/EXAMINE, kept until the mailbox is open.
#[derive(Debug, Clone)]
pub(super) struct QresyncParam {
    pub(super) uid_validity: u32,
    pub(super) modseq: u64,
    pub(super) known_uids: Option<SequenceSet>,
    pub(super) seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// What the engine does once the store said which UIDs vanished.
#[derive(Debug)]
pub(super) enum Then {
    /// Finish a SELECT/EXAMINE: flag changes, then the tagged OK.
    Select {
        code: Code,
        verb: &'static str,
        modseq: u64,
        known: Vec<(u32, u32)>,
    },
    /// Run the UID FETCH (CHANGEDSINCE … VANISHED) over these UIDs.
    Fetch {
        attrs: Vec<FetchAttr>,
        set: SequenceSet,
        changed_since: u64,
    },
}

/// A pending request for expunged UIDs.
#[derive(Debug)]
pub(super) struct VanishedJob {
    /// The client's UIDs, as sorted, merged inclusive intervals.
    known: Vec<(u32, u32)>,
    /// UIDs at or below this one are known to the client to be current (§3.2.5.2).
    floor: u32,
    then: Then,
}

/// The set's numbers as sorted, merged inclusive intervals, `*` standing for `largest`, and
/// nothing above `largest`: UIDs from UIDNEXT on were never given, so never expunged.
pub(super) fn intervals(set: &SequenceSet, largest: u32) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = set
        .ranges()
        .iter()
        .map(|r| r.bounds(largest))
        .map(|(a, b)| (a, b.min(largest)))
        .filter(|(a, b)| *a > 0 && a <= b)
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// A set written from sorted intervals; `None` when they are empty.
fn set_of(intervals: &[(u32, u32)]) -> Option<SequenceSet> {
    let ranges = intervals
        .iter()
        .filter_map(|&(a, b)| {
            let (x, y) = (NonZeroU32::new(a)?, NonZeroU32::new(b)?);
            Some(if a == b {
                SeqRange::Single(SeqNo::Value(x))
            } else {
                SeqRange::Range(SeqNo::Value(x), SeqNo::Value(y))
            })
        })
        .collect();
    SequenceSet::new(ranges).ok()
}

fn in_intervals(iv: &[(u32, u32)], n: u32) -> bool {
    let i = iv.partition_point(|&(_, b)| b < n);
    iv.get(i).is_some_and(|&(a, _)| a <= n)
}

/// The numbers of a set without `*`, in the order written; `None` for `$` or `*`. Lazy, so a
/// huge range costs nothing until it is walked.
fn numbers(set: &SequenceSet) -> Option<impl Iterator<Item = u32> + '_> {
    if matches!(set, SequenceSet::SavedResult)
        || set.ranges().iter().any(|r| {
            matches!(
                r,
                SeqRange::Single(SeqNo::Largest)
                    | SeqRange::Range(SeqNo::Largest, _)
                    | SeqRange::Range(_, SeqNo::Largest)
            )
        })
    {
        return None;
    }
    Some(set.ranges().iter().flat_map(|r| {
        let (a, b) = r.bounds(0);
        a..=b
    }))
}

/// RFC 7162 §3.2.5.2: the UID of the last pair of the sequence match data that still
/// matches the mailbox before the first that does not (0 when none does).
fn match_floor(view: &View, seqs: &SequenceSet, uids: &SequenceSet) -> u32 {
    let (Some(seqs), Some(uids)) = (numbers(seqs), numbers(uids)) else {
        return 0;
    };
    let mut floor = 0;
    for (seq, uid) in seqs.zip(uids) {
        // Walking stops at the first mismatch, at the latest one past the last message: the
        // client's ranges cannot make this loop long.
        let here = seq
            .checked_sub(1)
            .and_then(|i| view.msgs.get(i as usize))
            .map(|m| m.info.uid.get());
        if here != Some(uid) {
            break;
        }
        floor = uid;
    }
    floor
}

/// The UIDs of `known` above `floor` that are not in the mailbox, as intervals (the gaps
/// between the messages present). Costs one pass over the messages, whatever the ranges.
fn gaps(view: &View, known: &[(u32, u32)], floor: u32) -> Vec<(u32, u32)> {
    // u64 so that a range ending at u32::MAX needs no special case.
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    for &(a, b) in known {
        let end = u64::from(b);
        let mut next = u64::from(a).max(u64::from(floor) + 1);
        if next > end {
            continue;
        }
        let start = view
            .msgs
            .partition_point(|m| u64::from(m.info.uid.get()) < next);
        for m in &view.msgs[start..] {
            let u = u64::from(m.info.uid.get());
            if u > end {
                break;
            }
            if u > next {
                out.push((narrow(next), narrow(u - 1)));
            }
            next = u + 1;
        }
        if next <= end {
            out.push((narrow(next), b));
        }
    }
    out
}

impl Server {
    /// Parses the QRESYNC parameter of a SELECT/EXAMINE once the mailbox is open: `Some` when
    /// the store must be asked for expunges, with what the tagged OK needs.
    pub(super) fn qresync_select(
        &mut self,
        tag: Tag,
        param: QresyncParam,
        code: Code,
        verb: &'static str,
    ) {
        let Some(view) = self.view.as_ref() else {
            return;
        };
        // A UIDVALIDITY mismatch or a mailbox without mod-sequences: as if nothing changed
        // (§3.2.5, §3.2.5.1).
        let Some(highest) = view.highest_modseq else {
            self.status(Status::ok(Some(tag), Some(code), verb));
            return;
        };
        if param.uid_validity != view.uid_validity.get() {
            self.status(Status::ok(Some(tag), Some(code), verb));
            return;
        }
        let max_uid = view
            .uid_next
            .get()
            .saturating_sub(1)
            .max(view.largest_uid());
        let known = match &param.known_uids {
            Some(set) => intervals(set, max_uid),
            // "1:<maxuid>"; nothing for a mailbox that never had a message.
            None if max_uid == 0 => Vec::new(),
            None => vec![(1, max_uid)],
        };
        let floor = param
            .seq_match
            .as_ref()
            .map_or(0, |(s, u)| match_floor(view, s, u));
        let then = Then::Select {
            code,
            verb,
            modseq: param.modseq,
            known: known.clone(),
        };
        let job = VanishedJob { known, floor, then };
        if param.modseq >= highest || job.known.is_empty() {
            // Nothing can have been expunged since: no need to ask.
            self.finish_vanished(tag, job, &[]);
            return;
        }
        self.ask_expunged(tag, job, param.modseq);
    }

    /// UID FETCH … (CHANGEDSINCE m VANISHED): VANISHED (EARLIER) first, then the FETCH.
    pub(super) fn qresync_fetch(
        &mut self,
        tag: Tag,
        set: SequenceSet,
        attrs: Vec<FetchAttr>,
        changed_since: u64,
    ) {
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let max_uid = view
            .uid_next
            .get()
            .saturating_sub(1)
            .max(view.largest_uid());
        let known = if matches!(set, SequenceSet::SavedResult) {
            // `$` names messages that are here; none of them vanished.
            Vec::new()
        } else {
            intervals(&set, max_uid)
        };
        let nomodseq = view.highest_modseq.is_none();
        let then = Then::Fetch {
            attrs,
            set,
            changed_since,
        };
        let job = VanishedJob {
            known,
            floor: 0,
            then,
        };
        if nomodseq || job.known.is_empty() {
            self.finish_vanished(tag, job, &[]);
            return;
        }
        self.ask_expunged(tag, job, changed_since);
    }

    fn ask_expunged(&mut self, tag: Tag, job: VanishedJob, modseq: u64) {
        let Some(uids) = set_of(&job.known) else {
            self.finish_vanished(tag, job, &[]);
            return;
        };
        let mailbox = self
            .view
            .as_ref()
            .and_then(|v| v.mailbox.to_utf8().ok())
            .unwrap_or_default();
        self.events.push_back(ServerEvent::ExpungedSince {
            tag: tag.clone(),
            mailbox,
            modseq,
            uids,
        });
        self.wait = Wait::Decision(tag, Decision::Vanished(Box::new(job)));
    }

    /// Answers [`ServerEvent::ExpungedSince`]: `Some` with the UIDs of the set the store
    /// expunged after the mod-sequence (others are ignored), or `None` when the store does
    /// not remember expunges that far back; then the engine reports every UID of the set
    /// that is not in the mailbox (RFC 7162 §3.2.6's note on `<minmodseq>`). The engine sends
    /// `VANISHED (EARLIER)` and goes on with the SELECT or UID FETCH.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no such question is pending.
    pub fn expunged_since(&mut self, uids: Option<&[NonZeroU32]>) -> Result<(), UsageError> {
        let Some((tag, Decision::Vanished(job))) =
            self.take_decision(|d| matches!(d, Decision::Vanished(_)))
        else {
            return Err(UsageError::NotExpected {
                method: "expunged_since",
            });
        };
        let Some(view) = self.view.as_ref() else {
            return Ok(());
        };
        let vanished = match uids {
            Some(uids) => {
                let mut v: Vec<u32> = uids
                    .iter()
                    .map(|u| u.get())
                    .filter(|&u| {
                        u > job.floor
                            && in_intervals(&job.known, u)
                            && NonZeroU32::new(u).is_some_and(|u| view.index_of_uid(u).is_none())
                    })
                    .collect();
                v.sort_unstable();
                v.dedup();
                let mut iv: Vec<(u32, u32)> = Vec::new();
                for u in v {
                    match iv.last_mut() {
                        Some(last) if last.1.checked_add(1) == Some(u) => last.1 = u,
                        _ => iv.push((u, u)),
                    }
                }
                iv
            }
            None => gaps(view, &job.known, job.floor),
        };
        self.finish_vanished(tag, *job, &vanished);
        Ok(())
    }

    fn finish_vanished(&mut self, tag: Tag, job: VanishedJob, vanished: &[(u32, u32)]) {
        if let Some(uids) = set_of(vanished) {
            self.data(Data::Vanished {
                earlier: true,
                uids,
            });
        }
        match job.then {
            Then::Select {
                code,
                verb,
                modseq,
                known,
            } => {
                let report = self.report().unwrap_or_default();
                let updates = self
                    .view
                    .as_ref()
                    .map(|v| changed_flags(v, &known, modseq, report))
                    .unwrap_or_default();
                for d in updates {
                    self.data(d);
                }
                self.status(Status::ok(Some(tag), Some(code), verb));
            }
            Then::Fetch {
                attrs,
                set,
                changed_since,
            } => self.fetch_resolved(tag, true, &set, attrs, Some(changed_since)),
        }
    }
}

/// `* n FETCH (UID u FLAGS (…) MODSEQ (m))` for the known messages changed after `modseq`
/// (RFC 7162 §3.2.5.1: UIDs are a MUST here).
fn changed_flags(view: &View, known: &[(u32, u32)], modseq: u64, report: Report) -> Vec<Data> {
    view.msgs
        .iter()
        .enumerate()
        .filter(|(_, m)| m.info.modseq > modseq && in_intervals(known, m.info.uid.get()))
        .filter_map(|(i, m)| {
            let seq = super::view::seq_of(i)?;
            Some(Data::Fetch {
                seq,
                items: vec![
                    MessageData::Uid(m.info.uid),
                    MessageData::Flags(flags_of(&m.info, report.rev1)),
                    MessageData::ModSeq(m.info.modseq),
                ],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_and_sort() {
        let s = SequenceSet::from_numbers(&[9, 1, 2, 3, 5]).unwrap();
        assert_eq!(intervals(&s, 20), vec![(1, 3), (5, 5), (9, 9)]);
        assert_eq!(intervals(&s, 4), vec![(1, 3)]);
        let all = SequenceSet::range(1, u32::MAX).unwrap();
        assert_eq!(intervals(&all, 4), vec![(1, 4)]);
        assert!(in_intervals(&[(1, 3), (9, 9)], 9));
        assert!(!in_intervals(&[(1, 3), (9, 9)], 4));
        assert_eq!(
            set_of(&[(1, 3), (5, 5)]),
            SequenceSet::from_numbers(&[1, 2, 3, 5])
        );
    }
}
