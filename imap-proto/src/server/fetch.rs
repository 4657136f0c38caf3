//! FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8; RFC 9051 §6.4.5) of the items the selected
//! view holds without reading a message: FLAGS, UID, RFC822.SIZE, INTERNALDATE, MODSEQ
//! (RFC 7162 §3.1.4) and the FAST macro, with CHANGEDSINCE (RFC 7162 §3.1.4.1).

use super::Server;
use super::view::{Report, flags_of, seq_of};
use crate::fetch::{FetchAttr, FetchItems, FetchMacro, FetchModifier};
use crate::response::{Data, MessageData, Status};
use crate::types::{SequenceSet, Tag};

/// The attributes a FETCH asks for, macros expanded (RFC 3501 §6.4.5).
fn expand(items: &FetchItems) -> Vec<FetchAttr> {
    use FetchAttr as A;
    match items {
        FetchItems::Macro(FetchMacro::Fast) => vec![A::Flags, A::InternalDate, A::Rfc822Size],
        FetchItems::Macro(FetchMacro::All) => {
            vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope]
        }
        FetchItems::Macro(FetchMacro::Full) => {
            vec![
                A::Flags,
                A::InternalDate,
                A::Rfc822Size,
                A::Envelope,
                A::Body,
            ]
        }
        FetchItems::Attrs(a) => a.clone(),
    }
}

/// Whether an attribute is answered from the view alone.
fn from_view(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Flags
            | FetchAttr::Uid
            | FetchAttr::Rfc822Size
            | FetchAttr::InternalDate
            | FetchAttr::ModSeq
    )
}

impl Server {
    pub(super) fn on_fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        items: &FetchItems,
        modifiers: &[FetchModifier],
    ) {
        let mut attrs = expand(items);
        let mut changed_since = None;
        let mut vanished = false;
        for m in modifiers {
            match m {
                FetchModifier::ChangedSince(n) => changed_since = Some(*n),
                FetchModifier::Vanished => vanished = true,
            }
        }
        if vanished {
            // RFC 7162 §3.2.6: UID FETCH only, after ENABLE QRESYNC, with CHANGEDSINCE.
            let why = if !uid {
                Some("VANISHED needs UID FETCH")
            } else if !self.is_enabled("QRESYNC") {
                Some("VANISHED needs ENABLE QRESYNC")
            } else if changed_since.is_none() {
                Some("VANISHED needs CHANGEDSINCE")
            } else {
                None
            };
            if let Some(text) = why {
                self.bad(Status::bad(Some(tag), None, text));
                return;
            }
        }
        if uid && !attrs.contains(&FetchAttr::Uid) {
            attrs.push(FetchAttr::Uid);
        }
        if changed_since.is_some() && !attrs.contains(&FetchAttr::ModSeq) {
            attrs.push(FetchAttr::ModSeq);
        }
        if attrs.contains(&FetchAttr::ModSeq) {
            self.enable_condstore();
        }
        match changed_since {
            Some(since) if vanished => self.qresync_fetch(tag, set.clone(), attrs, since),
            _ => self.fetch_resolved(tag, uid, set, attrs, changed_since),
        }
    }

    /// FETCH with its attributes settled (UID and MODSEQ added where implied).
    pub(super) fn fetch_resolved(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        attrs: Vec<FetchAttr>,
        changed_since: Option<u64>,
    ) {
        let content = !attrs.iter().all(from_view);
        let Some(report) = self.report() else { return };
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
        if content {
            let uids = indices
                .into_iter()
                .map(|i| &view.msgs[i].info)
                .filter(|m| changed_since.is_none_or(|n| m.modseq > n))
                .map(|m| m.uid)
                .collect();
            self.start_fetch(tag, uid, attrs, uids);
            return;
        }
        let mut out = Vec::with_capacity(indices.len() * 64);
        for i in indices {
            let info = &view.msgs[i].info;
            if changed_since.is_some_and(|n| info.modseq <= n) {
                continue;
            }
            let Some(seq) = seq_of(i) else { continue };
            let items = attrs.iter().filter_map(|a| item(a, info, report)).collect();
            out.extend(crate::Response::Data(Data::Fetch { seq, items }).to_bytes());
        }
        self.out.extend(out);
        self.tagged(Status::ok(Some(tag), None, "FETCH completed"));
    }
}

fn item(a: &FetchAttr, info: &super::MessageInfo, report: Report) -> Option<MessageData> {
    Some(match a {
        FetchAttr::Flags => MessageData::Flags(flags_of(info, report.rev1)),
        FetchAttr::Uid => MessageData::Uid(info.uid),
        FetchAttr::Rfc822Size => MessageData::Rfc822Size(info.size),
        FetchAttr::InternalDate => MessageData::InternalDate(info.internal_date),
        FetchAttr::ModSeq => MessageData::ModSeq(info.modseq),
        _ => return None,
    })
}
