//! Message content: DATA (RFC 5321 §4.1.1.4, dot-unstuffing and the bare-CR/LF policy of
//! [`crate::LineEndings`]) and BDAT chunks (RFC 3030 §2, exact octet counts).

use super::{Event, Pending, Phase, Server, st};
use crate::data::LineEndings;
use crate::reply::Reply;

impl Server {
    /// Reads DATA content from the buffer. `None`: more input is needed.
    pub(super) fn on_data(&mut self) -> Option<()> {
        let max = self.opts.limits.max_message_size;
        let reject_bare = self.opts.line_endings == LineEndings::Reject;
        let avail = &self.input[self.pos..];
        if avail.is_empty() {
            return None;
        }
        let Some(tx) = self.tx.as_mut() else {
            // Unreachable by construction; recover rather than panic.
            self.phase = super::Phase::Command;
            return Some(());
        };
        let Some(decoder) = tx.decoder.as_mut() else {
            self.phase = super::Phase::Command;
            return Some(());
        };
        let mut chunk = Vec::with_capacity(avail.len());
        let r = decoder.decode(avail, &mut chunk);
        self.pos += r.consumed;
        tx.size += chunk.len() as u64;
        if tx.size > max {
            tx.too_big = true;
        }
        let refused = tx.too_big || reject_bare && decoder.saw_bare_line_ending();
        if !refused && !chunk.is_empty() {
            self.events.push_back((Event::BodyChunk(chunk), None));
        }
        if r.done {
            self.phase = Phase::Command;
            self.finish_message();
            return Some(());
        }
        if r.consumed == 0 { None } else { Some(()) }
    }

    /// Reads the current BDAT chunk from the buffer. `None`: more input is needed.
    pub(super) fn on_bdat(&mut self) -> Option<()> {
        let Phase::Bdat {
            remaining,
            last,
            discard,
        } = self.phase
        else {
            return Some(());
        };
        if remaining > 0 {
            let avail = self.input.len() - self.pos;
            if avail == 0 {
                return None;
            }
            let n = remaining.min(avail as u64) as usize;
            let data = &self.input[self.pos..self.pos + n];
            self.pos += n;
            self.phase = Phase::Bdat {
                remaining: remaining - n as u64,
                last,
                discard,
            };
            if !discard && let Some(tx) = self.tx.as_mut() {
                tx.size += n as u64;
                let mut chunk = Vec::with_capacity(n);
                let bare = match tx.decoder.as_mut() {
                    Some(d) => {
                        let _ = d.decode(data, &mut chunk);
                        d.saw_bare_line_ending()
                    }
                    None => {
                        chunk.extend_from_slice(data);
                        false
                    }
                };
                let refused = bare && self.opts.line_endings == LineEndings::Reject;
                if !refused && !chunk.is_empty() {
                    self.events.push_back((Event::BodyChunk(chunk), None));
                }
            }
            if remaining > n as u64 {
                return Some(());
            }
        }
        self.phase = Phase::Command;
        if discard {
            return Some(());
        }
        if last {
            if let Some(d) = self.tx.as_mut().and_then(|t| t.decoder.as_mut()) {
                let mut tail = Vec::new();
                d.finish(&mut tail);
                if !tail.is_empty() && self.opts.line_endings == LineEndings::Normalize {
                    self.events.push_back((Event::BodyChunk(tail), None));
                }
            }
            self.finish_message();
        } else {
            let size = self.tx.as_ref().map_or(0, |t| t.size);
            match self.bdat_reply.take() {
                Some(r) => self.send(r),
                None => self.reply(250, st(2, 0, 0), &format!("{size} octets received")),
            }
        }
        Some(())
    }

    /// The content is complete: refuse it for a policy reason, or ask the caller.
    fn finish_message(&mut self) {
        let Some(tx) = self.tx.as_ref() else {
            return;
        };
        let (bare, long) = tx.decoder.as_ref().map_or((false, false), |d| {
            (d.saw_bare_line_ending(), d.saw_long_line())
        });
        let refusal = if tx.too_big {
            Some((
                552,
                st(5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ))
        } else if bare && self.opts.line_endings == LineEndings::Reject {
            // RFC 5321 §2.3.8: CR and LF appear only together; anything else is how SMTP
            // smuggling splits messages, so the whole message goes.
            Some((
                550,
                st(5, 6, 0),
                "Bare CR or LF in message content not allowed",
            ))
        } else if long {
            Some((500, st(5, 5, 2), "Line too long"))
        } else {
            None
        };
        match refusal {
            Some((code, status, text)) => self.reject_message(Reply::internal(code, status, text)),
            None => {
                let recipients = tx.rcpts;
                let e = Event::MessageEnd { recipients };
                self.events.push_back((e, Some(Pending::MessageEnd)));
            }
        }
    }

    /// Refuses the message with `reply` (once per recipient in LMTP) and ends the
    /// transaction.
    pub(super) fn reject_message(&mut self, reply: Reply) {
        let n = match (&self.tx, self.opts.lmtp) {
            (Some(tx), true) => tx.rcpts.max(1),
            _ => 1,
        };
        for _ in 0..n {
            self.send(reply.clone());
        }
        self.events.push_back((Event::MessageRejected(reply), None));
        self.tx = None;
    }
}
