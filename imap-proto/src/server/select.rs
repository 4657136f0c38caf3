//! SELECT and EXAMINE (RFC 3501 §6.3.1–§6.3.2, RFC 9051 §6.3.2–§6.3.3), UNSELECT (RFC 3691),
//! and the changes other sessions make to the selected mailbox ([`Server::mailbox_changed`]).

use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::qresync::QresyncParam;
use super::view::{MailboxChange, Report, SelectData, View};
use super::{Decision, Server, State, UsageError, Wait};
use crate::command::SelectParam;
use crate::response::{Code, Data, ListEntry, Status};
use crate::types::{Flag, FlagPerm, MailboxName, Tag};

impl Server {
    /// How updates are written for this session, when a mailbox is selected.
    pub(super) fn report(&self) -> Option<Report> {
        self.view.as_ref()?;
        Some(Report {
            rev1: !self.is_enabled("IMAP4rev2"),
            condstore: self.is_enabled("CONDSTORE"),
            // Not for a mailbox without mod-sequences (RFC 7162 §3.2.10.2).
            qresync: self.is_enabled("QRESYNC")
                && self
                    .view
                    .as_ref()
                    .is_some_and(|v| v.highest_modseq.is_some()),
        })
    }

    /// CONDSTORE is on for the rest of the session once a CONDSTORE-enabling command was
    /// used (RFC 7162 §3.1): MODSEQ then comes with every flag update.
    pub(super) fn enable_condstore(&mut self) {
        if self.opts.condstore && !self.is_enabled("CONDSTORE") {
            self.enabled.push("CONDSTORE".into());
        }
    }

    /// Leaves the selected state, if in it.
    pub(super) fn unselect(&mut self) -> bool {
        self.saved.clear();
        if self.view.take().is_some() {
            self.state = State::Authenticated;
            self.events.push_back(ServerEvent::Unselected);
            true
        } else {
            false
        }
    }

    pub(super) fn on_select(
        &mut self,
        tag: Tag,
        mailbox: MailboxName,
        params: &[SelectParam],
        examine: bool,
    ) {
        // The old mailbox is closed whatever happens to the new SELECT (RFC 9051 §6.3.2,
        // RFC 7162 §3.2.11 `[CLOSED]`).
        if self.unselect() {
            self.status(Status::ok(
                None,
                Some(Code::Closed),
                "Previous mailbox closed",
            ));
        }
        let mut qresync = None;
        for p in params {
            match p {
                // RFC 7162 §3.1.8: SELECT (CONDSTORE) turns CONDSTORE on.
                SelectParam::Condstore if self.opts.condstore => self.enable_condstore(),
                // RFC 7162 §3.2.5: only after ENABLE QRESYNC, BAD otherwise.
                SelectParam::Qresync {
                    uid_validity,
                    modseq,
                    known_uids,
                    seq_match,
                } if self.is_enabled("QRESYNC") && qresync.is_none() => {
                    qresync = Some(Box::new(QresyncParam {
                        uid_validity: *uid_validity,
                        modseq: *modseq,
                        known_uids: known_uids.clone(),
                        seq_match: seq_match.clone(),
                    }));
                }
                _ => {
                    self.bad(Status::bad(
                        Some(tag),
                        None,
                        "SELECT parameter not supported",
                    ));
                    return;
                }
            }
        }
        let Ok(name) = mailbox.to_utf8() else {
            let code = Some(Code::NonExistent);
            self.status(Status::no(Some(tag), code, "Invalid mailbox name"));
            return;
        };
        let decision = Decision::Select {
            mailbox,
            examine,
            qresync,
        };
        self.wait = Wait::Decision(tag.clone(), decision);
        self.events.push_back(ServerEvent::Select {
            tag,
            mailbox: name,
            read_only: examine,
        });
    }

    /// Answers [`ServerEvent::Select`]: the mailbox is selected and the engine sends FLAGS,
    /// EXISTS, RECENT and UNSEEN (IMAP4rev1), UIDVALIDITY, UIDNEXT, PERMANENTFLAGS,
    /// HIGHESTMODSEQ or NOMODSEQ, the LIST line (IMAP4rev2) and `OK [READ-WRITE]` or
    /// `[READ-ONLY]`. With a QRESYNC parameter (RFC 7162 §3.2.5) the engine may first ask
    /// [`ServerEvent::ExpungedSince`], then sends `VANISHED (EARLIER)` and the flag changes
    /// before the tagged OK.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no SELECT/EXAMINE is pending.
    pub fn select_mailbox(&mut self, data: SelectData) -> Result<(), UsageError> {
        let Some((
            tag,
            Decision::Select {
                mailbox,
                examine,
                qresync,
            },
        )) = self.take_decision(|d| matches!(d, Decision::Select { .. }))
        else {
            return Err(UsageError::NotExpected {
                method: "select_mailbox",
            });
        };
        let view = View::new(mailbox, data, examine);
        let rev1 = !self.is_enabled("IMAP4rev2");
        let ok = |code, text: &str| Status::ok(None, Some(code), text);
        self.data(Data::Flags(view.flags.clone()));
        self.data(Data::Exists(view.exists()));
        if rev1 {
            self.data(Data::Recent(view.recent()));
            if let Some(n) = view.first_unseen() {
                let text = format!("Message {n} is first unseen");
                self.status(ok(Code::Unseen(n), &text));
            }
        }
        self.status(ok(Code::UidValidity(view.uid_validity), "UIDs valid"));
        self.status(ok(Code::UidNext(view.uid_next), "Predicted next UID"));
        let perm = view.permanent_flags.clone();
        self.status(ok(Code::PermanentFlags(perm), "Flags permitted"));
        match view.highest_modseq {
            Some(m) => self.status(ok(Code::HighestModSeq(m), "Highest")),
            None => self.status(ok(Code::NoModSeq, "No modification sequences")),
        }
        if !rev1 {
            self.data(Data::List(ListEntry {
                attrs: Vec::new(),
                delimiter: self.opts.delimiter,
                mailbox: view.mailbox.clone(),
                extended: Vec::new(),
            }));
        }
        let (code, verb) = match (view.read_only, examine) {
            (true, true) => (Code::ReadOnly, "EXAMINE completed"),
            (true, false) => (Code::ReadOnly, "SELECT completed"),
            _ => (Code::ReadWrite, "SELECT completed"),
        };
        self.view = Some(view);
        self.state = State::Selected;
        match qresync {
            Some(param) => self.qresync_select(tag, *param, code, verb),
            None => self.status(Status::ok(Some(tag), Some(code), verb)),
        }
        Ok(())
    }

    /// Tells the engine about a change another session (or a delivery) made to the selected
    /// mailbox. It is reported when RFC 3501 §7.4.1 allows: at once while the client idles,
    /// otherwise with the next command's answer (EXPUNGE not before a command other than
    /// FETCH, STORE or SEARCH). Changes given when no mailbox is selected are dropped (the
    /// caller stops watching on [`ServerEvent::Unselected`]; one may still be in flight).
    pub fn mailbox_changed(&mut self, change: MailboxChange) {
        let Some(view) = self.view.as_mut() else {
            return;
        };
        view.apply(change);
        if matches!(self.wait, Wait::Idle(_)) {
            self.flush_view();
        }
    }

    /// The number of messages the client knows in the selected mailbox (its EXISTS).
    #[must_use]
    pub fn selected_exists(&self) -> Option<u32> {
        self.view.as_ref().map(View::exists)
    }

    /// The UID of a message sequence number in the client's numbering.
    #[must_use]
    pub fn uid_of(&self, seq: NonZeroU32) -> Option<NonZeroU32> {
        let view = self.view.as_ref()?;
        Some(view.msgs.get(seq.get() as usize - 1)?.info.uid)
    }

    /// The flags the selected mailbox shows for a message (as of the last report).
    #[must_use]
    pub fn flags_of(&self, uid: NonZeroU32) -> Option<&[Flag]> {
        let view = self.view.as_ref()?;
        Some(&view.msgs[view.index_of_uid(uid)?].info.flags)
    }

    /// Whether the selected mailbox is read-only.
    #[must_use]
    pub fn is_read_only(&self) -> Option<bool> {
        self.view.as_ref().map(|v| v.read_only)
    }

    /// The PERMANENTFLAGS of the selected mailbox.
    #[must_use]
    pub fn permanent_flags(&self) -> Option<&[FlagPerm]> {
        self.view.as_ref().map(|v| v.permanent_flags.as_slice())
    }
}
