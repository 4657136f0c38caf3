//! The sending side: when a queued command may go (RFC 3501 §5.5), how its literals are sent
//! (synchronising, RFC 3501 §7.5, or non-synchronising under LITERAL+/LITERAL-, RFC 7888 §4–§5),
//! and what a `+` continuation request sends next (the next literal, a SASL response per
//! RFC 3501 §6.2.2 and RFC 4959 §3, IDLE's DONE, a streamed APPEND's message).

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{
    Active, Client, ClientEvent, ClientState, InFlight, Kind, Payload, Queued, UsageError,
};
use crate::command::{AppendMessage, CommandBody};
use crate::types::{Literal, LiteralMode, Secret};

/// LITERAL- allows non-synchronising literals up to this size (RFC 7888 §5).
const LITERAL_MINUS_MAX: u64 = 4096;

/// Splits `encoded` where the client must wait for `+`, turning synchronising literals into
/// non-synchronising ones where the server allows it (`plus`: LITERAL+, `minus`: LITERAL-).
fn pieces(encoded: &crate::Encoded, plus: bool, minus: bool) -> VecDeque<Vec<u8>> {
    let mut out: VecDeque<Vec<u8>> = VecDeque::new();
    let mut cur: Vec<u8> = Vec::new();
    let all = encoded.pieces();
    let last = all.len() - 1;
    for (n, p) in all.into_iter().enumerate() {
        cur.extend_from_slice(p);
        if n == last {
            break;
        }
        // Every piece but the last ends with a synchronising header `{n}\r\n` or `~{n}\r\n`.
        let len = literal_len(&cur);
        if len.is_some_and(|l| plus || (minus && l <= LITERAL_MINUS_MAX)) {
            cur.truncate(cur.len() - 3);
            cur.extend_from_slice(b"+}\r\n");
        } else {
            out.push_back(std::mem::take(&mut cur));
        }
    }
    out.push_back(cur);
    out
}

/// The length in a literal header that ends `b`.
fn literal_len(b: &[u8]) -> Option<u64> {
    let body = b.strip_suffix(b"}\r\n")?;
    let open = memchr::memrchr(b'{', body)?;
    std::str::from_utf8(&body[open + 1..]).ok()?.parse().ok()
}

impl Client {
    /// Whether `q` may be sent now.
    fn may_send(&self, q: &Queued) -> bool {
        if self.in_flight.len() >= self.opts.max_in_flight {
            return false;
        }
        if self.in_flight.iter().any(|f| f.kind.is_barrier()) {
            return false;
        }
        if q.kind.is_barrier() && !self.in_flight.is_empty() {
            return false;
        }
        !(q.kind == Kind::SeqNum && self.in_flight.iter().any(|f| f.kind == Kind::Expunge))
    }

    /// Sends what may be sent.
    pub(super) fn pump(&mut self) {
        while !self.closed
            && !self.tls_pending
            && self.active.is_none()
            && self.state != ClientState::Greeting
            && self.state != ClientState::Logout
        {
            let Some(q) = self.queue.front() else { break };
            if !self.may_send(q) {
                break;
            }
            let q = self.queue.pop_front().expect("front exists");
            self.dispatch(q);
        }
    }

    fn dispatch(&mut self, q: Queued) {
        let Queued {
            tag,
            kind,
            payload,
            internal,
        } = q;
        let plus = self.has_capability("LITERAL+");
        let minus = self.offers("LITERAL-");
        match payload {
            Payload::Command(CommandBody::Login { .. }) if self.has_capability("LOGINDISABLED") => {
                self.events.push_back(ClientEvent::Refused {
                    tag,
                    reason: UsageError::LoginDisabled,
                });
                return;
            }
            Payload::Command(body) => {
                let mut p = pieces(&Self::command_bytes(&tag, body), plus, minus);
                self.out.extend(p.pop_front().unwrap_or_default());
                if kind == Kind::Idle {
                    self.active = Some(Active::Idle {
                        tag: tag.clone(),
                        started: false,
                        done: false,
                        since: None,
                    });
                } else if !p.is_empty() {
                    self.active = Some(Active::Literal {
                        tag: tag.clone(),
                        rest: p,
                    });
                }
            }
            Payload::Auth {
                mechanism,
                initial,
                step,
            } => {
                let ir_inline = initial.is_some() && self.offers("SASL-IR");
                let (inline, pending_ir) = if ir_inline {
                    let ir = initial.map(|s| Secret::new(B64.encode(s.expose()).into_bytes()));
                    (ir, None)
                } else {
                    (None, initial)
                };
                let body = CommandBody::Authenticate {
                    mechanism,
                    initial_response: inline,
                };
                self.out
                    .extend(Self::command_bytes(&tag, body).into_bytes());
                self.active = Some(Active::Auth {
                    tag: tag.clone(),
                    step,
                    pending_ir,
                });
            }
            Payload::Append {
                mailbox,
                flags,
                date,
                length,
                binary,
            } => {
                let mode = match (binary, plus || (minus && length <= LITERAL_MINUS_MAX)) {
                    (false, false) => LiteralMode::Sync,
                    (false, true) => LiteralMode::NonSync,
                    (true, false) => LiteralMode::Binary,
                    (true, true) => LiteralMode::BinaryNonSync,
                };
                // Encode with an empty literal, then put the real length in its header: the
                // codec writes every other part (mailbox quoting, flags, date).
                let msg = AppendMessage {
                    flags,
                    date,
                    data: Literal::new(Vec::new(), mode).expect("empty literal is valid"),
                    utf8: false,
                };
                let body = CommandBody::Append {
                    mailbox,
                    messages: vec![msg],
                };
                let mut line = Self::command_bytes(&tag, body).into_bytes();
                // It ends `{0}\r\n\r\n` or `{0+}\r\n\r\n`.
                let open = memchr::memrchr(b'{', &line).unwrap_or(line.len());
                line.truncate(open);
                line.push(b'{');
                line.extend_from_slice(length.to_string().as_bytes());
                if !mode.is_sync() {
                    line.push(b'+');
                }
                line.extend_from_slice(b"}\r\n");
                self.out.extend(line);
                let ready = !mode.is_sync();
                if ready {
                    self.events
                        .push_back(ClientEvent::AppendReady { tag: tag.clone() });
                }
                self.active = Some(Active::Append {
                    tag: tag.clone(),
                    remaining: length,
                    ready,
                });
                if ready && length == 0 {
                    self.out.extend_from_slice(b"\r\n");
                    self.active = None;
                }
            }
        }
        match kind {
            Kind::Logout => self.state = ClientState::Logout,
            Kind::Login | Kind::Authenticate => {}
            _ => {}
        }
        self.in_flight.push_back(InFlight {
            tag,
            kind,
            internal,
            caps_seen: false,
        });
        self.touch();
    }

    /// Handles a `+` continuation request.
    ///
    /// Returns `false` when no command waits for one.
    pub(super) fn on_continue(&mut self, challenge: Option<Vec<u8>>) -> bool {
        let Some(active) = self.active.as_mut() else {
            return false;
        };
        match active {
            Active::Literal { rest, .. } => {
                if let Some(p) = rest.pop_front() {
                    self.out.extend(p);
                }
                if rest.is_empty() {
                    self.active = None;
                    self.pump();
                }
            }
            Active::Idle {
                tag,
                started,
                done,
                since,
            } => {
                if *started {
                    return false;
                }
                *started = true;
                *since = Some(self.now);
                self.events
                    .push_back(ClientEvent::IdleStarted { tag: tag.clone() });
                if *done {
                    self.out.extend_from_slice(crate::command::IDLE_DONE);
                }
            }
            Active::Append { tag, ready, .. } => {
                if *ready {
                    return false;
                }
                *ready = true;
                self.events
                    .push_back(ClientEvent::AppendReady { tag: tag.clone() });
            }
            Active::Auth {
                tag,
                step,
                pending_ir,
            } => {
                // RFC 4959 §3: without SASL-IR the initial response answers the first,
                // empty, challenge.
                let response = match (pending_ir.take(), challenge) {
                    (Some(ir), _) => Some(ir.into_inner()),
                    (None, Some(c)) => step(&c),
                    (None, None) => None,
                };
                match response {
                    Some(r) => {
                        self.out.extend(B64.encode(&r).into_bytes());
                        self.out.extend_from_slice(b"\r\n");
                    }
                    None => {
                        self.out.extend_from_slice(b"*\r\n");
                        self.events
                            .push_back(ClientEvent::AuthCancelled { tag: tag.clone() });
                    }
                }
            }
        }
        true
    }

    /// The base64 challenge of a continuation request, decoded (`None` when it is not
    /// base64).
    pub(super) fn decode_challenge(text: &[u8]) -> Option<Vec<u8>> {
        B64.decode(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Command;
    use crate::types::{AString, Tag};

    fn login(user: &[u8]) -> crate::Encoded {
        Command::new(
            Tag::new("a").unwrap(),
            CommandBody::Login {
                username: AString::from_bytes(user.to_vec()),
                password: Secret::new(AString::from_bytes(b"p\r\nw".to_vec())),
            },
        )
        .encode()
    }

    #[test]
    fn pieces_follow_literal_extensions() {
        let e = login(b"f\"r\\ed\n");
        assert_eq!(pieces(&e, false, false).len(), 3);
        let all = pieces(&e, true, false);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0], b"a LOGIN {7+}\r\nf\"r\\ed\n {4+}\r\np\r\nw\r\n");
        assert_eq!(pieces(&e, false, true).len(), 1);
        let big = login(&vec![b'\n'; 5000]);
        let p = pieces(&big, false, true);
        assert_eq!(p.len(), 2, "LITERAL- only up to 4096 octets");
        assert!(p[0].ends_with(b"{5000}\r\n"));
        assert!(p[1].ends_with(b"{4+}\r\np\r\nw\r\n"));
    }
}
