//! FETCH of items that need the message's octets (RFC 3501 §6.4.5, RFC 9051 §6.4.5,
//! RFC 3516): the engine asks for each message in turn ([`ServerEvent::FetchMessage`]),
//! renders ENVELOPE, BODY, BODYSTRUCTURE, `BODY[section]<partial>`, BINARY, BINARY.SIZE and
//! RFC822.* itself, and sets `\Seen` for non-PEEK body fetches in a read-write mailbox
//! (one STORE at the end, the new FLAGS sent with the data).

use std::collections::VecDeque;
use std::num::NonZeroU32;

use super::event::ServerEvent;
use super::view::{Report, flags_of, seq_of};
use super::{Decision, Server, UsageError, Wait};
use crate::command::StoreMode;
use crate::fetch::{FetchAttr, Partial, Section, SectionText};
use crate::render::{BinaryError, Parsed, binary, section};
use crate::response::{Code, Data, MessageData, Status};
use crate::types::{Flag, IString, Literal, LiteralMode, NString, Tag};

/// A content FETCH in progress.
#[derive(Debug)]
pub(super) struct FetchJob {
    tag: Tag,
    uid: bool,
    attrs: Vec<FetchAttr>,
    pending: VecDeque<NonZeroU32>,
    /// Messages that get `\Seen` from this FETCH.
    seen: Vec<NonZeroU32>,
    missing: bool,
    unknown_cte: bool,
}

/// Whether the attribute sets `\Seen` (RFC 3501 §6.4.5: BODY[…] without PEEK, RFC822,
/// RFC822.TEXT; RFC 3516 BINARY without PEEK).
fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
            | FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
    )
}

fn partial_of(data: Vec<u8>, p: Option<Partial>) -> (Vec<u8>, Option<u32>) {
    match p {
        None => (data, None),
        Some(p) => {
            let start = (p.offset as usize).min(data.len());
            let end = start.saturating_add(p.count.get() as usize).min(data.len());
            (data[start..end].to_vec(), Some(p.offset))
        }
    }
}

fn literal(data: Vec<u8>, binary: bool) -> NString {
    if binary {
        let mode = LiteralMode::Binary;
        match Literal::new(data, mode) {
            Ok(l) => NString(Some(IString::Literal(l))),
            Err(_) => NString(None),
        }
    } else if data.is_empty() {
        NString::from_bytes(Vec::new())
    } else {
        match Literal::new(data.clone(), LiteralMode::Sync) {
            Ok(l) => NString(Some(IString::Literal(l))),
            Err(_) => NString::from_bytes(data),
        }
    }
}

impl FetchJob {
    /// The attributes asked for.
    pub(super) fn attrs(&self) -> &[FetchAttr] {
        &self.attrs
    }

    /// Marks a message as getting `\Seen` from this FETCH.
    pub(super) fn push_seen(&mut self, uid: NonZeroU32) {
        self.seen.push(uid);
    }
}

impl Server {
    /// Starts a content FETCH over these UIDs.
    pub(super) fn start_fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        attrs: Vec<FetchAttr>,
        uids: Vec<NonZeroU32>,
    ) {
        let job = FetchJob {
            tag,
            uid,
            attrs,
            pending: uids.into(),
            seen: Vec::new(),
            missing: false,
            unknown_cte: false,
        };
        self.next_fetch(Box::new(job));
    }

    pub(super) fn next_fetch(&mut self, mut job: Box<FetchJob>) {
        if let Some(uid) = job.pending.pop_front() {
            let event = ServerEvent::FetchMessage {
                tag: job.tag.clone(),
                mailbox: self
                    .view
                    .as_ref()
                    .and_then(|v| v.mailbox.to_utf8().ok())
                    .unwrap_or_default(),
                uid,
            };
            let tag = job.tag.clone();
            self.wait = Wait::Decision(tag, Decision::Fetch(job, uid));
            self.events.push_back(event);
            return;
        }
        let read_only = self.view.as_ref().is_none_or(|v| v.read_only);
        if !job.seen.is_empty() && !read_only {
            // Persist `\Seen`; the FLAGS were already sent with the data.
            let event = ServerEvent::Store {
                tag: job.tag.clone(),
                mailbox: self
                    .view
                    .as_ref()
                    .and_then(|v| v.mailbox.to_utf8().ok())
                    .unwrap_or_default(),
                uids: std::mem::take(&mut job.seen),
                mode: StoreMode::Add,
                flags: vec![Flag::Seen],
            };
            self.wait = Wait::Decision(
                job.tag.clone(),
                Decision::Store {
                    uid: job.uid,
                    silent: true,
                    modified: Vec::new(),
                    condstore: false,
                    verb: "FETCH completed",
                },
            );
            self.events.push_back(event);
            return;
        }
        self.finish_fetch(&job);
    }

    fn finish_fetch(&mut self, job: &FetchJob) {
        let status = if job.unknown_cte {
            let code = Some(Code::UnknownCte);
            Status::no(
                Some(job.tag.clone()),
                code,
                "Unknown Content-Transfer-Encoding",
            )
        } else if job.missing {
            // RFC 2180 §4.1.2: some messages were expunged meanwhile.
            Status::no(
                Some(job.tag.clone()),
                None,
                "Some messages could not be fetched",
            )
        } else {
            Status::ok(Some(job.tag.clone()), None, "FETCH completed")
        };
        self.tagged(status);
    }

    /// Answers [`ServerEvent::FetchMessage`] with the message's octets; the engine renders
    /// its FETCH response and asks for the next message.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no FETCH is waiting for a message.
    pub fn fetch_message(&mut self, raw: &[u8]) -> Result<(), UsageError> {
        let (mut job, uid) = match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Decision(_, Decision::Fetch(job, uid)) => (job, uid),
            Wait::Decision(_, Decision::Search(job, uid)) => {
                self.search_message(job, uid, Some(raw));
                return Ok(());
            }
            other => {
                self.wait = other;
                return Err(UsageError::NotExpected {
                    method: "fetch_message",
                });
            }
        };
        let report = self.report().unwrap_or_default();
        if let Some(data) = self.render_message(&mut job, uid, raw, report) {
            self.data(data);
        }
        self.next_fetch(job);
        Ok(())
    }

    /// Answers [`ServerEvent::FetchMessage`] for a message the store no longer has; the FETCH
    /// ends with `NO` (RFC 2180 §4.1.2) once the others are sent.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no FETCH is waiting for a message.
    pub fn fetch_missing(&mut self) -> Result<(), UsageError> {
        let mut job = match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Decision(_, Decision::Fetch(job, _)) => job,
            Wait::Decision(_, Decision::Search(job, uid)) => {
                self.search_message(job, uid, None);
                return Ok(());
            }
            other => {
                self.wait = other;
                return Err(UsageError::NotExpected {
                    method: "fetch_missing",
                });
            }
        };
        job.missing = true;
        self.next_fetch(job);
        Ok(())
    }

    fn render_message(
        &mut self,
        job: &mut FetchJob,
        uid: NonZeroU32,
        raw: &[u8],
        report: Report,
    ) -> Option<Data> {
        let read_only = self.view.as_ref().is_none_or(|v| v.read_only);
        let view = self.view.as_mut()?;
        let i = view.index_of_uid(uid)?;
        let seq = seq_of(i)?;
        let mut attrs = job.attrs.clone();
        let info = &mut view.msgs[i].info;
        if !read_only && attrs.iter().any(sets_seen) && !info.flags.contains(&Flag::Seen) {
            info.flags.push(Flag::Seen);
            job.seen.push(uid);
            if !attrs.contains(&FetchAttr::Flags) {
                attrs.push(FetchAttr::Flags);
            }
        }
        let info = info.clone();
        let parsed = Parsed::new(raw);
        let mut items = Vec::with_capacity(attrs.len());
        for a in &attrs {
            let item = match a {
                FetchAttr::Flags => MessageData::Flags(flags_of(&info, report.rev1)),
                FetchAttr::Uid => MessageData::Uid(info.uid),
                FetchAttr::Rfc822Size => MessageData::Rfc822Size(info.size),
                FetchAttr::InternalDate => MessageData::InternalDate(info.internal_date),
                FetchAttr::ModSeq => MessageData::ModSeq(info.modseq),
                FetchAttr::Envelope => MessageData::Envelope(Box::new(parsed.envelope())),
                FetchAttr::Body => MessageData::Body(Box::new(parsed.body_structure(false))),
                FetchAttr::BodyStructure => {
                    MessageData::BodyStructure(Box::new(parsed.body_structure(true)))
                }
                FetchAttr::BodySection {
                    section: s,
                    partial,
                    ..
                } => {
                    let data = section(&parsed, s).unwrap_or_default();
                    let (data, origin) = partial_of(data, *partial);
                    MessageData::BodySection {
                        section: s.clone(),
                        origin,
                        data: literal(data, false),
                    }
                }
                FetchAttr::Binary { part, partial, .. } => match binary(&parsed, part) {
                    Ok(data) => {
                        let (data, origin) = partial_of(data, *partial);
                        MessageData::Binary {
                            part: part.clone(),
                            origin,
                            data: literal(data, true),
                        }
                    }
                    Err(BinaryError::NoPart) => MessageData::Binary {
                        part: part.clone(),
                        origin: None,
                        data: NString(None),
                    },
                    Err(_) => {
                        job.unknown_cte = true;
                        continue;
                    }
                },
                FetchAttr::BinarySize(part) => match binary(&parsed, part) {
                    Ok(d) => MessageData::BinarySize {
                        part: part.clone(),
                        size: u32::try_from(d.len()).unwrap_or(u32::MAX),
                    },
                    Err(_) => {
                        job.unknown_cte = true;
                        continue;
                    }
                },
                FetchAttr::Rfc822 => MessageData::Rfc822(literal(raw.to_vec(), false)),
                FetchAttr::Rfc822Header => {
                    let s = Section {
                        part: Vec::new(),
                        text: Some(SectionText::Header),
                    };
                    MessageData::Rfc822Header(literal(
                        section(&parsed, &s).unwrap_or_default(),
                        false,
                    ))
                }
                FetchAttr::Rfc822Text => {
                    let s = Section {
                        part: Vec::new(),
                        text: Some(SectionText::Text),
                    };
                    MessageData::Rfc822Text(literal(
                        section(&parsed, &s).unwrap_or_default(),
                        false,
                    ))
                }
            };
            items.push(item);
        }
        Some(Data::Fetch { seq, items })
    }
}
