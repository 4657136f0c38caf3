//! Streamed FETCH bodies (RFC 3501 §6.4.5 `BODY[]`, `RFC822`): a whole message goes out as
//! the literal of its FETCH response without being held by the engine.
//!
//! A FETCH whose only content item is the whole message (`BODY[]`, `BODY.PEEK[]` or
//! `RFC822`, no partial) needs nothing parsed. The caller may then answer
//! [`ServerEvent::FetchMessage`](super::ServerEvent::FetchMessage) by announcing the length
//! ([`Server::fetch_stream_start`], which writes `* n FETCH (… BODY[] {length}`) and giving
//! the octets in chunks ([`Server::fetch_stream_data`]), draining
//! [`Server::poll_transmit`] between chunks: the engine holds one chunk at a time, however
//! large the message (the design's "announce, then stream").

use super::fetch_body::FetchJob;
use super::view::{flags_of, seq_of};
use super::{Decision, Server, UsageError, Wait};
use crate::fetch::{FetchAttr, Section};
use crate::response::{MessageData, StreamedItem, fetch_literal_head};
use crate::types::Flag;

/// A message body being streamed.
#[derive(Debug)]
pub(super) struct Streaming {
    pub(super) job: Box<FetchJob>,
    /// Octets still to come.
    remaining: u64,
}

/// The one whole-message item of a FETCH that can stream, if that is all it needs.
fn streamed_item(attrs: &[FetchAttr]) -> Option<StreamedItem> {
    let mut found = None;
    for a in attrs {
        let item = match a {
            FetchAttr::Flags
            | FetchAttr::Uid
            | FetchAttr::Rfc822Size
            | FetchAttr::InternalDate
            | FetchAttr::ModSeq => continue,
            FetchAttr::BodySection {
                section,
                partial: None,
                ..
            } if section.part.is_empty() && section.text.is_none() => StreamedItem::Body {
                section: Section {
                    part: Vec::new(),
                    text: None,
                },
                origin: None,
            },
            FetchAttr::Rfc822 => StreamedItem::Rfc822,
            _ => return None,
        };
        if found.replace(item).is_some() {
            // Two bodies in one response: not worth streaming.
            return None;
        }
    }
    found
}

impl Server {
    /// Whether the pending [`ServerEvent::FetchMessage`](super::ServerEvent::FetchMessage)
    /// may be answered with [`Server::fetch_stream_start`] instead of
    /// [`Server::fetch_message`]: the FETCH asks for the whole message and nothing that needs
    /// it parsed.
    #[must_use]
    pub fn fetch_streamable(&self) -> bool {
        match &self.wait {
            Wait::Decision(_, Decision::Fetch(job, uid)) => {
                streamed_item(job.attrs()).is_some()
                    && self
                        .view
                        .as_ref()
                        .and_then(|v| v.index_of_uid(*uid))
                        .is_some()
            }
            _ => false,
        }
    }

    /// Answers [`ServerEvent::FetchMessage`](super::ServerEvent::FetchMessage) with the
    /// length of the message, whose octets follow with [`Server::fetch_stream_data`]: the
    /// engine writes the response up to the literal's header. A store that fails after this
    /// cannot take it back: close the connection.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] unless [`Server::fetch_streamable`].
    pub fn fetch_stream_start(&mut self, length: u64) -> Result<(), UsageError> {
        if !self.fetch_streamable() {
            return Err(UsageError::NotExpected {
                method: "fetch_stream_start",
            });
        }
        let Wait::Decision(tag, Decision::Fetch(mut job, uid)) =
            std::mem::replace(&mut self.wait, Wait::Nothing)
        else {
            return Err(UsageError::NotExpected {
                method: "fetch_stream_start",
            });
        };
        let report = self.report().unwrap_or_default();
        let read_only = self.view.as_ref().is_none_or(|v| v.read_only);
        let Some(item) = streamed_item(job.attrs()) else {
            return Err(UsageError::NotExpected {
                method: "fetch_stream_start",
            });
        };
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        let Some((i, seq)) = view.index_of_uid(uid).and_then(|i| Some((i, seq_of(i)?))) else {
            return Ok(());
        };
        let info = &mut view.msgs[i].info;
        let sets_seen = item == StreamedItem::Rfc822
            || job
                .attrs()
                .iter()
                .any(|a| matches!(a, FetchAttr::BodySection { peek: false, .. }));
        let mut want_flags = job.attrs().contains(&FetchAttr::Flags);
        if sets_seen && !read_only && !info.flags.contains(&Flag::Seen) {
            // As for a rendered FETCH: the new FLAGS go with the data, the STORE at the end.
            info.flags.push(Flag::Seen);
            job.push_seen(uid);
            want_flags = true;
        }
        let info = info.clone();
        let mut items = Vec::new();
        for a in job.attrs() {
            items.push(match a {
                FetchAttr::Flags => MessageData::Flags(flags_of(&info, report.rev1)),
                FetchAttr::Uid => MessageData::Uid(info.uid),
                FetchAttr::Rfc822Size => MessageData::Rfc822Size(info.size),
                FetchAttr::InternalDate => MessageData::InternalDate(info.internal_date),
                FetchAttr::ModSeq => MessageData::ModSeq(info.modseq),
                _ => continue,
            });
        }
        if want_flags && !job.attrs().contains(&FetchAttr::Flags) {
            items.push(MessageData::Flags(flags_of(&info, report.rev1)));
        }
        self.out
            .extend(fetch_literal_head(seq, &items, &item, length));
        let streaming = Streaming {
            job,
            remaining: length,
        };
        self.wait = Wait::Decision(tag, Decision::FetchStream(Box::new(streaming)));
        if length == 0 {
            return self.fetch_stream_data(&[]);
        }
        Ok(())
    }

    /// Octets of the message announced with [`Server::fetch_stream_start`], in order; drain
    /// [`Server::poll_transmit`] after each call. After the last one the engine ends the
    /// response and asks for the next message (or completes the FETCH).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no body is streaming; [`UsageError::Overrun`] for
    /// octets beyond the announced length (nothing is written then).
    pub fn fetch_stream_data(&mut self, data: &[u8]) -> Result<(), UsageError> {
        let Wait::Decision(_, Decision::FetchStream(s)) = &mut self.wait else {
            return Err(UsageError::NotExpected {
                method: "fetch_stream_data",
            });
        };
        let n = data.len() as u64;
        if n > s.remaining {
            return Err(UsageError::Overrun {
                extra: n - s.remaining,
            });
        }
        s.remaining -= n;
        let done = s.remaining == 0;
        self.out.extend_from_slice(data);
        if done {
            let Wait::Decision(_, Decision::FetchStream(s)) =
                std::mem::replace(&mut self.wait, Wait::Nothing)
            else {
                return Ok(());
            };
            self.out.extend_from_slice(b")\r\n");
            self.next_fetch(s.job);
        }
        Ok(())
    }
}
