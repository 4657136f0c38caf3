//! The mailbox commands of the authenticated state that need no message: CREATE, DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, NAMESPACE, STATUS (RFC 3501 §6.3.3–§6.3.10,
//! RFC 9051 §6.3.4–§6.3.11, RFC 2342, RFC 5258, RFC 6154 §3, RFC 8438 STATUS=SIZE).

use super::event::ServerEvent;
use super::list::{self, ListQuery, MailboxEntry};
use super::{Decision, Server, UsageError, Wait};
use crate::command::{ListReturnOpt, ListSelectOpt, StatusItem};
use crate::response::{Code, Data, ListEntry, NamespaceDesc, Status};
use crate::types::{
    AString, IString, ListMailbox, MailboxAttr, MailboxName, Tag, decode_modified_utf7,
};

/// What the caller answers to [`ServerEvent::Status`]. Only the items asked for are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusData {
    /// Number of messages.
    pub messages: u32,
    /// Number of `\Recent` messages (IMAP4rev1).
    pub recent: u32,
    /// The next UID.
    pub uid_next: u32,
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// Number of messages without `\Seen`.
    pub unseen: u32,
    /// Number of messages with `\Deleted` (IMAP4rev2).
    pub deleted: u32,
    /// Total RFC822.SIZE of the messages (RFC 8438).
    pub size: u64,
    /// The highest mod-sequence (RFC 7162), 0 when none is kept.
    pub highest_modseq: u64,
    /// The largest message APPEND accepts (RFC 7889), `None` for no limit.
    pub append_limit: Option<u64>,
}

impl Server {
    /// A mailbox name in the form this session reads: UTF-8 once IMAP4rev2 or UTF8=ACCEPT
    /// is on (RFC 9051 §5.1, RFC 6855 §3), modified UTF-7 otherwise.
    pub(super) fn encode_name(&self, name: &str) -> Option<MailboxName> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Some(MailboxName::Inbox);
        }
        if self.is_enabled("IMAP4rev2") || self.is_enabled("UTF8=ACCEPT") {
            MailboxName::from_utf8_raw(name).ok()
        } else {
            MailboxName::from_utf8(name).ok()
        }
    }

    fn delim(&self) -> Option<char> {
        self.opts.delimiter.map(char::from)
    }

    /// The UTF-8 name of a mailbox argument, INBOX canonical; `None` answers `NO`.
    fn name_arg(&mut self, tag: &Tag, mailbox: &MailboxName) -> Option<String> {
        match mailbox.to_utf8() {
            Ok(n) if !n.is_empty() => Some(list::canonical(&n, self.delim())),
            _ => {
                let code = Some(Code::Cannot);
                self.status(Status::no(Some(tag.clone()), code, "Invalid mailbox name"));
                None
            }
        }
    }

    fn ask(&mut self, tag: Tag, decision: Decision, event: ServerEvent) {
        self.wait = Wait::Decision(tag, decision);
        self.events.push_back(event);
    }

    pub(super) fn on_create(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        special_use: Vec<MailboxAttr>,
    ) {
        let Some(mut name) = self.name_arg(&tag, mailbox) else {
            return;
        };
        // A trailing delimiter declares the intent to create children (RFC 3501 §6.3.3).
        if let Some(d) = self.delim() {
            while name.len() > 1 && name.ends_with(d) {
                name.pop();
            }
        }
        if name == "INBOX" {
            let code = Some(Code::AlreadyExists);
            self.status(Status::no(Some(tag), code, "INBOX always exists"));
            return;
        }
        let event = ServerEvent::Create {
            tag: tag.clone(),
            mailbox: name,
            special_use,
        };
        self.ask(tag, Decision::Done("CREATE completed"), event);
    }

    pub(super) fn on_delete(&mut self, tag: Tag, mailbox: &MailboxName) {
        let Some(name) = self.name_arg(&tag, mailbox) else {
            return;
        };
        if name == "INBOX" {
            let code = Some(Code::Cannot);
            self.status(Status::no(Some(tag), code, "INBOX cannot be deleted"));
            return;
        }
        let event = ServerEvent::Delete {
            tag: tag.clone(),
            mailbox: name,
        };
        self.ask(tag, Decision::Done("DELETE completed"), event);
    }

    pub(super) fn on_rename(&mut self, tag: Tag, from: &MailboxName, to: &MailboxName) {
        let Some(from) = self.name_arg(&tag, from) else {
            return;
        };
        let Some(to) = self.name_arg(&tag, to) else {
            return;
        };
        if to == "INBOX" {
            let code = Some(Code::AlreadyExists);
            self.status(Status::no(Some(tag), code, "INBOX always exists"));
            return;
        }
        let event = ServerEvent::Rename {
            tag: tag.clone(),
            from,
            to,
        };
        self.ask(tag, Decision::Done("RENAME completed"), event);
    }

    pub(super) fn on_subscribe(&mut self, tag: Tag, mailbox: &MailboxName, subscribe: bool) {
        let Some(name) = self.name_arg(&tag, mailbox) else {
            return;
        };
        let text = if subscribe {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        };
        let event = ServerEvent::Subscribe {
            tag: tag.clone(),
            mailbox: name,
            subscribe,
        };
        self.ask(tag, Decision::Done(text), event);
    }

    /// Decodes a LIST pattern (modified UTF-7 unless it is raw UTF-8).
    fn pattern_text(p: &[u8]) -> Option<String> {
        if p.is_ascii() {
            decode_modified_utf7(p).ok()
        } else {
            String::from_utf8(p.to_vec()).ok()
        }
    }

    pub(super) fn on_list(
        &mut self,
        tag: Tag,
        lsub: bool,
        reference: &MailboxName,
        patterns: &[ListMailbox],
        selection: Vec<ListSelectOpt>,
        return_opts: Vec<ListReturnOpt>,
    ) {
        let verb = if lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        };
        if lsub && Self::status_return(&return_opts).is_some() {
            self.bad(Status::bad(Some(tag), None, "LSUB takes no STATUS"));
            return;
        }
        if selection.contains(&ListSelectOpt::RecursiveMatch)
            && !selection.contains(&ListSelectOpt::Subscribed)
        {
            // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option.
            self.bad(Status::bad(Some(tag), None, "RECURSIVEMATCH alone"));
            return;
        }
        let delim = self.delim();
        let reference = if reference.as_bytes().is_empty() {
            Some(String::new())
        } else {
            reference.to_utf8().ok()
        };
        let pats: Option<Vec<String>> = patterns
            .iter()
            .map(|p| Self::pattern_text(p.as_bytes()))
            .collect();
        let (Some(reference), Some(pats)) = (reference, pats) else {
            self.tagged(Status::ok(Some(tag), None, verb));
            return;
        };
        // `LIST "" ""` asks for the delimiter and the root (RFC 3501 §6.3.8).
        if !lsub && pats.len() == 1 && pats[0].is_empty() {
            let root = reference
                .split(delim.unwrap_or('\u{0}'))
                .next()
                .unwrap_or("")
                .to_string();
            let mailbox = if root.is_empty() {
                MailboxName::from_astring(AString::from_bytes(Vec::new()))
            } else {
                self.encode_name(&root)
                    .unwrap_or(MailboxName::from_astring(AString::from_bytes(Vec::new())))
            };
            self.data(Data::List(ListEntry {
                attrs: vec![MailboxAttr::Noselect],
                delimiter: self.opts.delimiter,
                mailbox,
                extended: Vec::new(),
            }));
            self.tagged(Status::ok(Some(tag), None, verb));
            return;
        }
        let patterns = pats
            .iter()
            .map(|p| list::full_pattern(&reference, p, delim))
            .collect();
        let query = ListQuery {
            lsub,
            patterns,
            selection,
            return_opts,
        };
        let event = ServerEvent::ListMailboxes { tag: tag.clone() };
        self.ask(tag, Decision::List(query), event);
    }

    pub(super) fn on_namespace(&mut self, tag: Tag) {
        let personal = vec![NamespaceDesc {
            prefix: IString::from_bytes(Vec::new()),
            delimiter: self.opts.delimiter,
            extensions: Vec::new(),
        }];
        self.data(Data::Namespace {
            personal: Some(personal),
            other: None,
            shared: None,
        });
        self.tagged(Status::ok(Some(tag), None, "NAMESPACE completed"));
    }

    pub(super) fn on_status(&mut self, tag: Tag, mailbox: MailboxName, items: Vec<StatusItem>) {
        let Some(name) = self.name_arg(&tag, &mailbox) else {
            return;
        };
        let event = ServerEvent::Status {
            tag: tag.clone(),
            mailbox: name,
            items: items.clone(),
        };
        self.ask(tag, Decision::Status { mailbox, items }, event);
    }

    /// Answers CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (and the other commands whose
    /// success has no data) with the tagged `OK`.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when none of them is pending.
    pub fn done(&mut self) -> Result<(), UsageError> {
        let Some((tag, Decision::Done(text))) =
            self.take_decision(|d| matches!(d, Decision::Done(..)))
        else {
            return Err(UsageError::NotExpected { method: "done" });
        };
        self.tagged(Status::ok(Some(tag), None, text));
        Ok(())
    }

    /// Answers [`ServerEvent::ListMailboxes`] with every mailbox of the user (and subscribed
    /// names that no longer exist); the engine matches the patterns and writes the lines.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no LIST/LSUB is pending.
    pub fn mailbox_list(&mut self, entries: &[MailboxEntry]) -> Result<(), UsageError> {
        let Some((tag, Decision::List(query))) =
            self.take_decision(|d| matches!(d, Decision::List(..)))
        else {
            return Err(UsageError::NotExpected {
                method: "mailbox_list",
            });
        };
        let delim = self.delim();
        let lines = list::run(&query, entries, delim, |n| self.encode_name(n));
        if let Some(items) = Self::status_return(&query.return_opts) {
            self.start_list_status(tag, items, &query.selection, lines);
            return Ok(());
        }
        for entry in lines {
            self.data(if query.lsub {
                Data::Lsub(entry)
            } else {
                Data::List(entry)
            });
        }
        let verb = if query.lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        };
        self.tagged(Status::ok(Some(tag), None, verb));
        Ok(())
    }

    /// Answers [`ServerEvent::Status`].
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no STATUS is pending.
    pub fn mailbox_status(&mut self, data: &StatusData) -> Result<(), UsageError> {
        let (tag, mailbox, items) = match self
            .take_decision(|d| matches!(d, Decision::Status { .. } | Decision::ListStatus(..)))
        {
            Some((tag, Decision::Status { mailbox, items })) => (tag, mailbox, items),
            Some((_, Decision::ListStatus(job, entry))) => {
                let items = job.items().to_vec();
                let values = status_values(items, data);
                self.list_status_answer(job, *entry, values);
                return Ok(());
            }
            _ => {
                return Err(UsageError::NotExpected {
                    method: "mailbox_status",
                });
            }
        };
        let items = status_values(items, data);
        self.data(Data::Status { mailbox, items });
        self.tagged(Status::ok(Some(tag), None, "STATUS completed"));
        Ok(())
    }
}

/// The values of the STATUS items asked for.
fn status_values(items: Vec<StatusItem>, data: &StatusData) -> Vec<(StatusItem, Option<u64>)> {
    items
        .into_iter()
        .map(|i| {
            let v = match i {
                StatusItem::Messages => Some(u64::from(data.messages)),
                StatusItem::Recent => Some(u64::from(data.recent)),
                StatusItem::UidNext => Some(u64::from(data.uid_next)),
                StatusItem::UidValidity => Some(u64::from(data.uid_validity)),
                StatusItem::Unseen => Some(u64::from(data.unseen)),
                StatusItem::Deleted => Some(u64::from(data.deleted)),
                StatusItem::Size => Some(data.size),
                StatusItem::HighestModSeq => Some(data.highest_modseq),
                StatusItem::AppendLimit => data.append_limit,
            };
            (i, v)
        })
        .collect()
}
