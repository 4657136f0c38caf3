//! APPEND and MULTIAPPEND with streamed messages (RFC 3501 §6.3.11, RFC 9051 §6.3.12,
//! RFC 3502, UIDPLUS `APPENDUID` RFC 4315 §3, LITERAL+ RFC 7888, BINARY `~{n}` RFC 3516).
//!
//! A message never sits in the engine: when the framer announces an APPEND's literal the
//! caller is asked ([`ServerEvent::Append`]) before any octet is read, so it can refuse a
//! message too large or a mailbox that does not exist (`NO [TRYCREATE]`) and the client
//! never sends it; an accepted message comes out as [`ServerEvent::AppendData`] chunks; the
//! command's end asks for the commit ([`ServerEvent::AppendCommit`]).

use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::{Decision, Server, State, UsageError, Wait};
use crate::command::{StreamedAppend, parse_streamed_append};
use crate::response::{Code, Continue, Response, Status};
use crate::types::Tag;

/// An APPEND in progress.
#[derive(Debug)]
pub(super) struct Appending {
    tag: Tag,
    messages: usize,
}

impl Server {
    /// A literal was announced while authenticated: `true` when it belongs to an APPEND and
    /// was handled here.
    pub(super) fn on_append_literal(&mut self, needs_continuation: bool) -> bool {
        if !matches!(self.state, State::Authenticated | State::Selected) {
            return false;
        }
        let sa = match parse_streamed_append(self.framer.unit_so_far()) {
            Ok(Some(sa)) if !sa.complete => sa,
            Ok(_) => return false,
            Err(e) => {
                self.framer.reject_literal();
                self.abort_append();
                self.bad(Status::for_parse_error(&e));
                return true;
            }
        };
        self.ask_append(sa, needs_continuation);
        true
    }

    fn ask_append(&mut self, sa: StreamedAppend, needs_continuation: bool) {
        let Some(header) = sa.messages.last().cloned() else {
            return;
        };
        let Ok(name) = sa.mailbox.to_utf8() else {
            self.framer.reject_literal();
            self.abort_append();
            let code = Some(Code::TryCreate);
            self.status(Status::no(Some(sa.tag), code, "Invalid mailbox name"));
            return;
        };
        let name = super::list::canonical(&name, self.opts.delimiter.map(char::from));
        let index = sa.messages.len() - 1;
        self.append = Some(Appending {
            tag: sa.tag.clone(),
            messages: sa.messages.len(),
        });
        self.wait = Wait::Decision(
            sa.tag.clone(),
            Decision::AppendMessage { needs_continuation },
        );
        self.events.push_back(ServerEvent::Append {
            tag: sa.tag,
            mailbox: name,
            index,
            flags: header.flags.unwrap_or_default(),
            date: header.date,
            length: header.length,
            binary: header.mode.is_binary(),
        });
    }

    /// An APPEND that will not complete: the caller drops what it received.
    fn abort_append(&mut self) {
        if self.append.take().is_some() {
            self.events.push_back(ServerEvent::AppendAborted);
        }
    }

    /// Accepts the message announced by [`ServerEvent::Append`]: its octets come as
    /// [`ServerEvent::AppendData`] (after a `+` for a synchronising literal).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no APPEND message is waiting.
    pub fn accept_append(&mut self) -> Result<(), UsageError> {
        let Some((tag, Decision::AppendMessage { needs_continuation })) =
            self.take_decision(|d| matches!(d, Decision::AppendMessage { .. }))
        else {
            return Err(UsageError::NotExpected {
                method: "accept_append",
            });
        };
        match self.framer.stream_literal() {
            Ok(()) if needs_continuation => {
                let go = Continue::Text {
                    code: None,
                    text: "Ready for literal data".into(),
                };
                self.respond(&Response::Continue(go));
            }
            Ok(()) => {}
            Err(_) => {
                // Over the framer's streamed-literal limit (RFC 7888 §4, RFC 4469 TOOBIG).
                self.abort_append();
                let code = Some(Code::TooBig);
                self.status(Status::no(Some(tag), code, "Message too large"));
            }
        }
        Ok(())
    }

    /// Refusing an APPEND message (called from [`Server::reject`]): the literal is not read.
    pub(super) fn reject_append_message(&mut self) {
        self.framer.reject_literal();
        self.abort_append();
    }

    /// A chunk of the message being appended.
    pub(super) fn on_append_chunk(&mut self, data: Vec<u8>, last: bool) {
        if self.append.is_some() {
            self.events
                .push_back(ServerEvent::AppendData { data, last });
        }
    }

    /// The unit that ends an APPEND (message octets left out); `true` when one was in
    /// progress.
    pub(super) fn on_append_end(&mut self, unit: &[u8]) -> bool {
        let Some(app) = self.append.take() else {
            return false;
        };
        match parse_streamed_append(unit) {
            Ok(Some(sa)) if sa.complete && sa.messages.len() == app.messages => {
                if self.state == State::Selected {
                    self.flush = Some(super::view::Flush::All);
                }
                self.wait = Wait::Decision(app.tag.clone(), Decision::AppendCommit);
                self.events.push_back(ServerEvent::AppendCommit {
                    tag: app.tag,
                    messages: app.messages,
                });
            }
            Ok(_) | Err(_) => {
                self.events.push_back(ServerEvent::AppendAborted);
                self.bad(Status::bad(
                    Some(app.tag),
                    None,
                    "Syntax error after message",
                ));
            }
        }
        true
    }

    /// The framer dropped the rest of an APPEND (a limit): the caller drops the messages.
    pub(super) fn on_append_frame_error(&mut self) {
        self.abort_append();
    }

    /// Answers [`ServerEvent::AppendCommit`]: the messages are stored (all of them, RFC 3502
    /// §6.3.11: MULTIAPPEND is all or nothing) with these UIDs, in order; the engine answers
    /// `OK [APPENDUID uidvalidity uids]` (RFC 4315 §3). An empty `uids` answers without
    /// APPENDUID. If the mailbox is selected in any session, tell it with
    /// [`Server::mailbox_changed`] (this session included).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no APPEND commit is pending.
    pub fn appended(
        &mut self,
        uid_validity: NonZeroU32,
        uids: &[NonZeroU32],
    ) -> Result<(), UsageError> {
        let Some((tag, Decision::AppendCommit)) =
            self.take_decision(|d| matches!(d, Decision::AppendCommit))
        else {
            return Err(UsageError::NotExpected { method: "appended" });
        };
        let numbers: Vec<u32> = uids.iter().map(|u| u.get()).collect();
        let code = super::messages::ordered_set(&numbers)
            .map(|uids| Code::AppendUid { uid_validity, uids });
        self.tagged(Status::ok(Some(tag), code, "APPEND completed"));
        Ok(())
    }
}
