//! LIST-STATUS (RFC 5819): `LIST … RETURN (STATUS (items))` answers each selectable mailbox
//! that matches the selection with its LIST line followed by its STATUS line.
//!
//! The engine asks for each mailbox's counts with the same [`ServerEvent::Status`] event as
//! the STATUS command (answered with [`super::Server::mailbox_status`]), one mailbox at a
//! time, and holds the LIST line until the answer: a mailbox the caller cannot open
//! (refused with `[NONEXISTENT]` or `[NOPERM]`) is listed `\Noselect` without STATUS
//! (RFC 5819 §2); any other refusal only drops its STATUS.

use std::collections::VecDeque;

use super::event::ServerEvent;
use super::{Decision, Server, Wait};
use crate::command::{ListSelectOpt, StatusItem};
use crate::response::{Code, Data, ListEntry, Status};
use crate::types::{MailboxAttr, Tag};

/// A LIST with a STATUS return option, line by line.
#[derive(Debug)]
pub(super) struct ListStatusJob {
    tag: Tag,
    items: Vec<StatusItem>,
    /// The lines still to send, and whether each gets a STATUS.
    pending: VecDeque<(ListEntry, bool)>,
}

impl ListStatusJob {
    /// The STATUS items asked for.
    pub(super) fn items(&self) -> &[StatusItem] {
        &self.items
    }
}

impl Server {
    /// Starts sending `lines` with their STATUS responses.
    pub(super) fn start_list_status(
        &mut self,
        tag: Tag,
        items: Vec<StatusItem>,
        selection: &[ListSelectOpt],
        lines: Vec<ListEntry>,
    ) {
        let subscribed_only = selection.contains(&ListSelectOpt::Subscribed);
        let pending = lines
            .into_iter()
            .map(|e| {
                let selectable = !e
                    .attrs
                    .iter()
                    .any(|a| matches!(a, MailboxAttr::Noselect | MailboxAttr::NonExistent));
                // A line shown only for its matching children (CHILDINFO) does not itself
                // match the selection: no STATUS (RFC 5819 §3, second example).
                let selected = !subscribed_only || e.attrs.contains(&MailboxAttr::Subscribed);
                (e, selectable && selected)
            })
            .collect();
        let job = ListStatusJob {
            tag,
            items,
            pending,
        };
        self.next_list_status(Box::new(job));
    }

    pub(super) fn next_list_status(&mut self, mut job: Box<ListStatusJob>) {
        while let Some((entry, wants)) = job.pending.pop_front() {
            let name = wants.then(|| entry.mailbox.to_utf8().ok()).flatten();
            let Some(name) = name else {
                self.data(Data::List(entry));
                continue;
            };
            let event = ServerEvent::Status {
                tag: job.tag.clone(),
                mailbox: name,
                items: job.items.clone(),
            };
            let tag = job.tag.clone();
            self.wait = Wait::Decision(tag, Decision::ListStatus(job, Box::new(entry)));
            self.events.push_back(event);
            return;
        }
        self.tagged(Status::ok(Some(job.tag), None, "LIST completed"));
    }

    /// The caller's STATUS data for the mailbox of `entry`: both lines, then the next.
    pub(super) fn list_status_answer(
        &mut self,
        job: Box<ListStatusJob>,
        entry: ListEntry,
        items: Vec<(StatusItem, Option<u64>)>,
    ) {
        let mailbox = entry.mailbox.clone();
        self.data(Data::List(entry));
        self.data(Data::Status { mailbox, items });
        self.next_list_status(job);
    }

    /// The caller refused the STATUS of `entry`'s mailbox.
    pub(super) fn list_status_refused(
        &mut self,
        job: Box<ListStatusJob>,
        mut entry: ListEntry,
        code: Option<&Code>,
    ) {
        if matches!(code, Some(Code::NonExistent | Code::NoPerm))
            && !entry.attrs.contains(&MailboxAttr::Noselect)
        {
            entry.attrs.push(MailboxAttr::Noselect);
        }
        self.data(Data::List(entry));
        self.next_list_status(job);
    }

    /// The items of a STATUS return option, if the LIST has one.
    pub(super) fn status_return(opts: &[crate::command::ListReturnOpt]) -> Option<Vec<StatusItem>> {
        opts.iter().find_map(|o| match o {
            crate::command::ListReturnOpt::Status(items) => Some(items.clone()),
            _ => None,
        })
    }
}
