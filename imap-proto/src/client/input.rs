//! The reading side: frames responses (RFC 3501 §2.2.2, §7), streams large FETCH body
//! literals (§7.4.2), matches tagged completions to their commands (§2.2.1), keeps the
//! capability cache (§6.1.1, §6.2.1–§6.2.3, §7.1 `CAPABILITY` code) and the connection state
//! (§3), and turns everything into [`ClientEvent`]s.

use crate::framing::{FrameEvent, StreamedLiteral};
use crate::response::StreamedItem;
use crate::response::{Code, Continue, Data, MessageData, Response, Status, StatusKind};

use super::{BodyStream, Client, ClientError, ClientEvent, ClientState, CloseReason, Kind};

/// Untagged data this crate has no type for (`* XAPPLEPUSHSERVICE …`, `* METADATA …`):
/// a client must accept any response at any time (RFC 9051 §7), so it is reported raw. A
/// malformed response of a kind the crate knows stays a protocol error.
fn is_unknown_data(unit: &[u8]) -> bool {
    const KNOWN: [&[u8]; 24] = [
        b"OK",
        b"NO",
        b"BAD",
        b"BYE",
        b"PREAUTH",
        b"CAPABILITY",
        b"LIST",
        b"LSUB",
        b"STATUS",
        b"SEARCH",
        b"ESEARCH",
        b"FLAGS",
        b"SORT",
        b"THREAD",
        b"NAMESPACE",
        b"ID",
        b"ENABLED",
        b"QUOTA",
        b"QUOTAROOT",
        b"ACL",
        b"LISTRIGHTS",
        b"MYRIGHTS",
        b"VANISHED",
        b"",
    ];
    let Some(rest) = unit.strip_prefix(b"* ") else {
        return false;
    };
    let word = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric() && *b != b'-' && *b != b'.')
        .map_or(rest, |n| &rest[..n]);
    !word.first().is_some_and(u8::is_ascii_digit)
        && !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Client {
    /// Appends received octets. Feed after [`Client::poll_event`] returned `None`, so the
    /// buffer stays bounded by one read plus the line limit. Octets that arrive between an
    /// accepted STARTTLS and [`Client::tls_established`] were sent in the clear after the
    /// server's OK and are dropped (RFC 3501 §6.2.1); so is anything after the session ended.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.closed || self.tls_pending {
            return;
        }
        if !bytes.is_empty() {
            self.touch();
        }
        self.framer.handle_input(bytes);
    }

    /// The next event, or `None` when more input is needed.
    #[must_use = "events carry the server's responses"]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.closed || self.tls_pending {
                return None;
            }
            let fe = self.framer.poll_event()?;
            self.on_frame(fe);
        }
    }

    fn protocol_error(&mut self, e: ClientError) {
        self.close(CloseReason::Protocol(e));
    }

    fn on_frame(&mut self, fe: FrameEvent) {
        match fe {
            FrameEvent::LiteralAnnounced { length, .. } => self.on_literal(length),
            FrameEvent::LiteralChunk { data, last } => {
                if let Some(b) = self.body {
                    if last {
                        self.body = None;
                    }
                    self.events.push_back(ClientEvent::FetchBodyChunk {
                        seq: b.seq,
                        data,
                        last,
                    });
                }
            }
            FrameEvent::Unit(unit) => {
                let streamed = std::mem::take(&mut self.streamed);
                let parsed = if streamed.is_empty() {
                    Response::parse_with_limits(&unit, self.framer.limits())
                } else {
                    Response::parse_streamed(&unit, &streamed)
                };
                match parsed {
                    Ok(r) => self.on_response(r),
                    Err(_) if self.state != ClientState::Greeting && is_unknown_data(&unit) => {
                        self.events.push_back(ClientEvent::UnknownData(unit));
                    }
                    Err(e) => self.protocol_error(ClientError::Parse(e)),
                }
            }
            FrameEvent::Error { error, .. } => self.protocol_error(ClientError::Frame(error)),
        }
    }

    /// A literal in a response: a large FETCH body streams, anything else is buffered (up to
    /// the framer's unit limit).
    fn on_literal(&mut self, length: u64) {
        if length >= self.opts.stream_threshold
            && let Some((seq, item)) = self.streamable(length)
        {
            let offset = self.framer.unit_so_far().len();
            match self.framer.stream_literal() {
                Ok(()) => {
                    self.streamed.push(StreamedLiteral { offset, length });
                    self.body = Some(BodyStream { seq });
                    self.events
                        .push_back(ClientEvent::FetchBodyStart { seq, item, length });
                }
                Err(e) => self.protocol_error(ClientError::Frame(e)),
            }
            return;
        }
        if let Err(e) = self.framer.accept_literal() {
            self.protocol_error(ClientError::Frame(e));
        }
    }

    /// Whether the literal just announced is the body of a FETCH item, and which: the
    /// response so far, closed right after an empty literal, must parse as a FETCH whose last
    /// item is a body.
    fn streamable(&self, length: u64) -> Option<(std::num::NonZeroU32, StreamedItem)> {
        let so_far = self.framer.unit_so_far();
        if !so_far.starts_with(b"* ") {
            return None;
        }
        let mut probe = so_far.to_vec();
        probe.extend_from_slice(b")\r\n");
        let mut streamed = self.streamed.clone();
        streamed.push(StreamedLiteral {
            offset: so_far.len(),
            length,
        });
        let Ok(Response::Data(Data::Fetch { seq, items })) =
            Response::parse_streamed(&probe, &streamed)
        else {
            return None;
        };
        let item = match items.last()? {
            MessageData::BodySection {
                section, origin, ..
            } => StreamedItem::Body {
                section: section.clone(),
                origin: *origin,
            },
            MessageData::Binary { part, origin, .. } => StreamedItem::Binary {
                part: part.clone(),
                origin: *origin,
            },
            MessageData::Rfc822(_) => StreamedItem::Rfc822,
            MessageData::Rfc822Header(_) => StreamedItem::Rfc822Header,
            MessageData::Rfc822Text(_) => StreamedItem::Rfc822Text,
            _ => return None,
        };
        Some((seq, item))
    }

    fn on_response(&mut self, r: Response) {
        if self.state == ClientState::Greeting {
            return self.on_greeting(r);
        }
        match r {
            Response::Continue(c) => {
                let challenge = match c {
                    Continue::Base64(b) => Self::decode_challenge(&b),
                    Continue::Text { .. } => None,
                };
                if !self.on_continue(challenge) {
                    self.protocol_error(ClientError::UnexpectedContinuation);
                }
            }
            Response::Data(d) => {
                if let Data::Capability(caps) = &d {
                    self.set_capabilities(caps.clone());
                }
                self.events.push_back(ClientEvent::Data(d));
            }
            Response::Status(s) if s.tag.is_none() => self.on_untagged_status(s),
            Response::Status(s) => self.on_tagged(s),
        }
    }

    fn on_greeting(&mut self, r: Response) {
        let Response::Status(s) = r else {
            return self.protocol_error(ClientError::BadGreeting);
        };
        if s.tag.is_some() {
            return self.protocol_error(ClientError::BadGreeting);
        }
        if let Some(Code::Capability(c)) = &s.code {
            self.set_capabilities(c.clone());
        }
        self.state = match s.kind {
            StatusKind::Ok => ClientState::NotAuthenticated,
            StatusKind::PreAuth => ClientState::Authenticated,
            StatusKind::Bye => {
                self.events.push_back(ClientEvent::Greeting(s.clone()));
                return self.close(CloseReason::Bye(s));
            }
            StatusKind::No | StatusKind::Bad => {
                return self.protocol_error(ClientError::BadGreeting);
            }
        };
        self.events.push_back(ClientEvent::Greeting(s));
        self.pump();
    }

    fn on_untagged_status(&mut self, s: Status) {
        if let Some(Code::Capability(c)) = &s.code {
            self.set_capabilities(c.clone());
        }
        match s.kind {
            StatusKind::PreAuth => {
                return self.protocol_error(ClientError::MisplacedStatus(StatusKind::PreAuth));
            }
            StatusKind::Bye => {
                // RFC 3501 §7.1.5: during LOGOUT, BYE comes before the tagged OK; otherwise
                // the server is closing the connection.
                self.events.push_back(ClientEvent::Status(s.clone()));
                if !self.in_flight.iter().any(|f| f.kind == Kind::Logout) {
                    self.close(CloseReason::Bye(s));
                }
                return;
            }
            _ => {}
        }
        self.events.push_back(ClientEvent::Status(s));
    }

    fn set_capabilities(&mut self, caps: Vec<crate::types::Atom>) {
        self.capabilities = Some(caps);
        for f in &mut self.in_flight {
            f.caps_seen = true;
        }
    }

    fn on_tagged(&mut self, s: Status) {
        let tag = s.tag.clone().expect("tagged");
        let Some(pos) = self.in_flight.iter().position(|f| f.tag == tag) else {
            return self.protocol_error(ClientError::UnknownTag(tag));
        };
        if matches!(s.kind, StatusKind::PreAuth | StatusKind::Bye) {
            return self.protocol_error(ClientError::MisplacedStatus(s.kind));
        }
        let f = self.in_flight.remove(pos).expect("position is valid");
        if self.active.as_ref().is_some_and(|a| *a.tag() == tag) {
            // A NO/BAD instead of `+` ends the command (RFC 3501 §7.5); so does the OK
            // after DONE or after the last SASL step.
            self.active = None;
        }
        let ok = s.kind == StatusKind::Ok;
        let mut caps_seen = f.caps_seen;
        if let Some(Code::Capability(c)) = &s.code {
            self.set_capabilities(c.clone());
            caps_seen = true;
        }
        let mut closing = false;
        let mut after = None;
        match f.kind {
            Kind::StartTls if ok => {
                // RFC 3501 §6.2.1: what arrived after the OK was sent in the clear and is
                // dropped; the capabilities are stale.
                let _dropped = self.framer.take_buffered();
                self.streamed.clear();
                self.capabilities = None;
                self.tls_pending = true;
            }
            Kind::Compress if ok => {
                // RFC 4978 §3: what follows the OK is already compressed; it goes back to
                // the caller to decompress and feed again.
                self.streamed.clear();
                let pending = self.framer.take_buffered();
                after = Some(ClientEvent::CompressionStarted { pending });
            }
            Kind::Login | Kind::Authenticate if ok => {
                self.state = ClientState::Authenticated;
                // RFC 9051 §6.2.2: capabilities may change after authentication; keep them
                // only when the server sent new ones since the command.
                if !caps_seen {
                    self.capabilities = None;
                    if self.opts.refresh_capabilities {
                        self.queue_internal_capability();
                    }
                }
            }
            Kind::Select => {
                // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
                self.state = if ok {
                    ClientState::Selected
                } else {
                    ClientState::Authenticated
                };
            }
            Kind::Deselect if ok => self.state = ClientState::Authenticated,
            Kind::Barrier if ok => {
                // UNAUTHENTICATE (RFC 8437): logged out, the capabilities are the pre-login
                // ones again.
                self.state = ClientState::NotAuthenticated;
                self.capabilities = None;
                if self.opts.refresh_capabilities {
                    self.queue_internal_capability();
                }
            }
            Kind::Logout => closing = true,
            _ => {}
        }
        if !f.internal {
            self.events.push_back(ClientEvent::Completed {
                tag,
                kind: s.kind,
                code: s.code,
                text: s.text,
            });
        }
        if f.kind == Kind::StartTls && ok {
            self.events.push_back(ClientEvent::StartTls);
        }
        self.events.extend(after);
        if closing {
            self.close(CloseReason::Logout);
        } else {
            self.pump();
        }
    }
}
