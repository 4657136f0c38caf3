//! SEARCH and UID SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4) with ESEARCH return options
//! (RFC 4731) and `[BADCHARSET]`: keys on flags, sizes, dates and numbers are evaluated on
//! the view; keys on headers and text ask for each message's octets
//! ([`ServerEvent::FetchMessage`], answered with [`Server::fetch_message`]).

use std::collections::VecDeque;
use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::{Decision, Server, Wait};
use crate::command::SortCriterion;
use crate::response::{Code, Data, ESearchItem, Status, Thread};
use crate::search::{SearchKey, SearchReturnOpt};
use crate::search_eval::{
    Content, Facts, SortValue, ThreadMessage, charset_supported, matches_all, needs_content,
    sort_needs_content, sort_value, thread_references,
};
use crate::types::{AString, SequenceSet, Tag};

/// A SEARCH waiting for message octets.
#[derive(Debug)]
pub(super) struct SearchJob {
    tag: Tag,
    uid: bool,
    return_opts: Option<Vec<SearchReturnOpt>>,
    keys: Vec<SearchKey>,
    /// A MODSEQ key was used: the answer carries the highest mod-sequence of the matches
    /// (RFC 7162 §3.1.5).
    modseq_key: bool,
    pending: VecDeque<NonZeroU32>,
    hits: Vec<NonZeroU32>,
    /// SORT criteria, and each hit's sort values.
    sort: Option<Vec<SortCriterion>>,
    /// THREAD: the sort is (SUBJECT DATE) and the answer is threads.
    thread: Option<ThreadAlg>,
    values: Vec<Vec<SortValue>>,
    /// THREAD=REFERENCES: each hit's fields, numbered by UID.
    refs: Vec<ThreadMessage>,
}

/// A threading algorithm (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ThreadAlg {
    /// ORDEREDSUBJECT.
    OrderedSubject,
    /// REFERENCES.
    References,
}

/// THREAD=ORDEREDSUBJECT (RFC 5256 §4): messages sorted by base subject then sent date are
/// grouped by base subject; each group is a thread whose first message is the parent of the
/// others; threads are ordered by their first message's date.
fn ordered_subject(
    order: &[usize],
    values: &[Vec<SortValue>],
    ids: &[u32],
    seq: &dyn Fn(usize) -> usize,
) -> Vec<Thread> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &k in order {
        match groups.last_mut() {
            Some(g) if values[g[0]][0] == values[k][0] => g.push(k),
            _ => groups.push(vec![k]),
        }
    }
    groups.sort_by(|a, b| {
        values[a[0]][1]
            .cmp(&values[b[0]][1])
            .then(seq(a[0]).cmp(&seq(b[0])))
    });
    let nz = |k: usize| NonZeroU32::new(ids[k]);
    groups
        .into_iter()
        .filter_map(|g| {
            let first = nz(g[0])?;
            let rest: Vec<NonZeroU32> = g[1..].iter().filter_map(|&k| nz(k)).collect();
            Some(if rest.len() <= 1 {
                let mut members = vec![first];
                members.extend(rest);
                Thread {
                    members,
                    children: Vec::new(),
                }
            } else {
                Thread {
                    members: vec![first],
                    children: rest
                        .into_iter()
                        .map(|m| Thread {
                            members: vec![m],
                            children: Vec::new(),
                        })
                        .collect(),
                }
            })
        })
        .collect()
}

/// ESORT (RFC 5267 §3.2): the ESEARCH items of a SORT, in sort order: MIN and MAX are the
/// first and last sorted messages, ALL keeps the order.
fn esort_items(opts: &[SearchReturnOpt], sorted: &[NonZeroU32]) -> Vec<ESearchItem> {
    let all = opts.is_empty() || opts.contains(&SearchReturnOpt::All);
    let mut items = Vec::new();
    if opts.contains(&SearchReturnOpt::Min)
        && let Some(n) = sorted.first()
    {
        items.push(ESearchItem::Min(*n));
    }
    if opts.contains(&SearchReturnOpt::Max)
        && let Some(n) = sorted.last()
    {
        items.push(ESearchItem::Max(*n));
    }
    let numbers: Vec<u32> = sorted.iter().map(|n| n.get()).collect();
    if all && let Some(set) = super::messages::ordered_set(&numbers) {
        items.push(ESearchItem::All(set));
    }
    if opts.contains(&SearchReturnOpt::Count) {
        items.push(ESearchItem::Count(
            u32::try_from(sorted.len()).unwrap_or(u32::MAX),
        ));
    }
    items
}

fn has_within(k: &SearchKey) -> bool {
    match k {
        SearchKey::Older(_) | SearchKey::Younger(_) => true,
        SearchKey::Not(k) => has_within(k),
        SearchKey::Or(a, b) => has_within(a) || has_within(b),
        SearchKey::And(v) => v.iter().any(has_within),
        _ => false,
    }
}

fn has_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => has_modseq(k),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(v) => v.iter().any(has_modseq),
        _ => false,
    }
}

impl Server {
    // SEARCH, SORT and THREAD share this entry; their arguments are the commands' own.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_search(
        &mut self,
        tag: Tag,
        uid: bool,
        return_opts: Option<Vec<SearchReturnOpt>>,
        charset: Option<&AString>,
        keys: Vec<SearchKey>,
        sort: Option<Vec<SortCriterion>>,
        thread: Option<ThreadAlg>,
    ) {
        if let Some(cs) = charset
            && !charset_supported(&String::from_utf8_lossy(cs.as_bytes()))
        {
            // A failed SEARCH (RETURN (SAVE)) empties `$` (RFC 5182 §2.1).
            self.saved.clear();
            let list = ["US-ASCII", "UTF-8"].map(|c| AString::from_bytes(c.as_bytes().to_vec()));
            let code = Some(Code::BadCharset(list.to_vec()));
            self.tagged(Status::no(Some(tag), code, "Unsupported charset"));
            return;
        }
        if keys.iter().any(has_within) {
            // RFC 5032: OLDER/YOUNGER only where WITHIN is announced, and against the time of
            // day the caller gave.
            if !self.opts.within {
                self.bad(Status::bad(Some(tag), None, "OLDER/YOUNGER need WITHIN"));
                return;
            }
            if self.wall_clock.is_none() {
                let code = Some(Code::Unavailable);
                self.tagged(Status::no(Some(tag), code, "The time of day is unknown"));
                return;
            }
        }
        let modseq_key = keys.iter().any(has_modseq);
        if modseq_key {
            self.enable_condstore();
        }
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let uids: VecDeque<NonZeroU32> = view
            .msgs
            .iter()
            .filter(|m| !m.expunged)
            .map(|m| m.info.uid)
            .collect();
        let mut job = Box::new(SearchJob {
            tag,
            modseq_key,
            uid,
            return_opts,
            keys,
            pending: uids,
            hits: Vec::new(),
            thread: thread.filter(|_| sort.is_some()),
            sort,
            values: Vec::new(),
            refs: Vec::new(),
        });
        let sort_content = job
            .sort
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| sort_needs_content(c.key)));
        if sort_content || needs_content(&job.keys) {
            self.next_search(job);
            return;
        }
        while let Some(u) = job.pending.pop_front() {
            if self.search_one(&job.keys, u, None) {
                self.record_hit(&mut job, u, None);
            }
        }
        self.finish_search(&job);
    }

    /// Evaluates one message; `false` when it is gone from the view.
    fn search_one(
        &self,
        keys: &[SearchKey],
        uid: NonZeroU32,
        content: Option<&Content<'_>>,
    ) -> bool {
        let Some(view) = self.view.as_ref() else {
            return false;
        };
        let Some(i) = view.index_of_uid(uid) else {
            return false;
        };
        let info = &view.msgs[i].info;
        let facts = Facts {
            seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
            uid,
            flags: &info.flags,
            recent: info.recent,
            size: info.size,
            internal_date: info.internal_date,
            modseq: info.modseq,
            exists: view.exists(),
            max_uid: view.largest_uid(),
            saved: &self.saved,
            now: self.wall_clock,
        };
        matches_all(keys, &facts, content)
    }

    fn record_hit(&self, job: &mut SearchJob, uid: NonZeroU32, content: Option<&Content<'_>>) {
        job.hits.push(uid);
        let (Some(criteria), Some(view)) = (&job.sort, self.view.as_ref()) else {
            return;
        };
        let Some(i) = view.index_of_uid(uid) else {
            return;
        };
        let info = &view.msgs[i].info;
        if job.thread == Some(ThreadAlg::References)
            && let Some(c) = content
        {
            job.refs
                .push(ThreadMessage::from_content(uid, c, info.internal_date));
        }
        job.values.push(
            criteria
                .iter()
                .map(|c| sort_value(c.key, info.internal_date, info.size, content))
                .collect(),
        );
    }

    fn next_search(&mut self, mut job: Box<SearchJob>) {
        match job.pending.pop_front() {
            Some(uid) => {
                let mailbox = self
                    .view
                    .as_ref()
                    .and_then(|v| v.mailbox.to_utf8().ok())
                    .unwrap_or_default();
                let event = ServerEvent::FetchMessage {
                    tag: job.tag.clone(),
                    mailbox,
                    uid,
                };
                self.wait = Wait::Decision(job.tag.clone(), Decision::Search(job, uid));
                self.events.push_back(event);
            }
            None => self.finish_search(&job),
        }
    }

    /// A message's octets (or `None`: gone) for the SEARCH in progress.
    pub(super) fn search_message(
        &mut self,
        mut job: Box<SearchJob>,
        uid: NonZeroU32,
        raw: Option<&[u8]>,
    ) {
        if let Some(raw) = raw {
            let content = Content::new(raw);
            if self.search_one(&job.keys, uid, Some(&content)) {
                self.record_hit(&mut job, uid, Some(&content));
            }
        }
        self.next_search(job);
    }

    fn finish_search(&mut self, job: &SearchJob) {
        let Some(view) = self.view.as_ref() else {
            return;
        };
        let ids_unsorted: Vec<u32> = job
            .hits
            .iter()
            .map(|u| {
                if job.uid {
                    u.get()
                } else {
                    view.index_of_uid(*u).map_or(0, |i| i as u32 + 1)
                }
            })
            .collect();
        let mut ids: Vec<u32> = job
            .hits
            .iter()
            .filter_map(|u| {
                if job.uid {
                    Some(u.get())
                } else {
                    view.index_of_uid(*u).map(|i| i as u32 + 1)
                }
            })
            .collect();
        if let Some(criteria) = &job.sort {
            // RFC 5256 §3: by the criteria in order, REVERSE per criterion, then by
            // sequence number.
            let mut order: Vec<usize> = (0..job.hits.len()).collect();
            let seq = |k: usize| view.index_of_uid(job.hits[k]).unwrap_or(usize::MAX);
            order.sort_by(|&a, &b| {
                for (n, c) in criteria.iter().enumerate() {
                    let o = job.values[a][n].cmp(&job.values[b][n]);
                    let o = if c.reverse { o.reverse() } else { o };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                seq(a).cmp(&seq(b))
            });
            if let Some(alg) = job.thread {
                let threads = match alg {
                    ThreadAlg::OrderedSubject => {
                        ordered_subject(&order, &job.values, &ids_unsorted, &seq)
                    }
                    ThreadAlg::References => {
                        let mut msgs = job.refs.clone();
                        if !job.uid {
                            for m in &mut msgs {
                                let n = view.index_of_uid(m.id).and_then(super::view::seq_of);
                                m.id = n.unwrap_or(m.id);
                            }
                        }
                        thread_references(&msgs)
                    }
                };
                self.data(Data::Thread(threads));
                self.tagged(Status::ok(Some(job.tag.clone()), None, "THREAD completed"));
                return;
            }
            let ids: Vec<NonZeroU32> = order
                .iter()
                .filter_map(|&k| NonZeroU32::new(ids_unsorted[k]))
                .collect();
            match &job.return_opts {
                Some(opts) => {
                    if opts.contains(&SearchReturnOpt::Save) {
                        self.saved = job.hits.clone();
                    }
                    let items = esort_items(opts, &ids);
                    if !(opts.len() == 1 && opts.contains(&SearchReturnOpt::Save)) {
                        self.data(Data::ESearch {
                            tag: Some(job.tag.clone()),
                            uid: job.uid,
                            items,
                        });
                    }
                }
                None => self.data(Data::Sort { ids, modseq: None }),
            }
            self.tagged(Status::ok(Some(job.tag.clone()), None, "SORT completed"));
            return;
        }
        ids.sort_unstable();
        let save = job
            .return_opts
            .as_ref()
            .is_some_and(|o| o.contains(&SearchReturnOpt::Save));
        if save {
            self.saved = job.hits.clone();
        }
        match &job.return_opts {
            // SAVE alone: no ESEARCH response (RFC 5182 §2.4).
            Some(o) if o.len() == 1 && save => {}
            None => {
                let modseq = if job.modseq_key && !ids.is_empty() {
                    job.hits
                        .iter()
                        .filter_map(|u| view.index_of_uid(*u))
                        .map(|i| view.msgs[i].info.modseq)
                        .max()
                } else {
                    None
                };
                let ids = ids.iter().filter_map(|n| NonZeroU32::new(*n)).collect();
                self.data(Data::Search { ids, modseq });
            }
            Some(opts) => {
                let all = opts.is_empty() || opts.contains(&SearchReturnOpt::All);
                let mut items = Vec::new();
                let nz = |n: Option<&u32>| n.and_then(|n| NonZeroU32::new(*n));
                if opts.contains(&SearchReturnOpt::Min)
                    && let Some(n) = nz(ids.first())
                {
                    items.push(ESearchItem::Min(n));
                }
                if opts.contains(&SearchReturnOpt::Max)
                    && let Some(n) = nz(ids.last())
                {
                    items.push(ESearchItem::Max(n));
                }
                if all && let Some(set) = SequenceSet::from_numbers(&ids) {
                    items.push(ESearchItem::All(set));
                }
                if opts.contains(&SearchReturnOpt::Count) {
                    items.push(ESearchItem::Count(
                        u32::try_from(ids.len()).unwrap_or(u32::MAX),
                    ));
                }
                self.data(Data::ESearch {
                    tag: Some(job.tag.clone()),
                    uid: job.uid,
                    items,
                });
            }
        }
        self.tagged(Status::ok(Some(job.tag.clone()), None, "SEARCH completed"));
    }
}
