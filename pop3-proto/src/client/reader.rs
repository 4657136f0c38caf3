//! Reading the server's answers (RFC 1939 §3): status lines, multi-line listings, message
//! bodies and SASL challenges (RFC 5034 §4), each turned into a [`ClientEvent`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Client, ClientCloseReason, ClientEvent, Reading};
use crate::framer::Frame;
use crate::types::{decode_sasl, greeting_timestamp};
use crate::{Capability, Command, DotUnstuffer, ListEntry, ParseError, StatusLine, UidlEntry};

impl Client {
    /// The next event, or `None` when the engine needs more input.
    #[must_use = "events carry the server's answers"]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if let Some(reason) = &self.closed {
                if self.close_reported {
                    return None;
                }
                self.close_reported = true;
                return Some(ClientEvent::Closed(reason.clone()));
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// Reads one unit of input; `false` when more input is needed.
    fn step(&mut self) -> bool {
        if let Reading::Body(unstuffer) = &mut self.reading {
            let data = self.framer.buffered();
            if data.is_empty() {
                return false;
            }
            let mut chunk = Vec::with_capacity(data.len());
            let r = unstuffer.push(data, &mut chunk);
            self.framer.consume(r.consumed);
            let progressed = !chunk.is_empty() || r.done;
            if !chunk.is_empty() {
                self.events.push_back(ClientEvent::MessageChunk(chunk));
            }
            if r.done {
                self.events.push_back(ClientEvent::MessageEnd);
                self.reading = Reading::Status;
            }
            return progressed;
        }
        let line = match self.framer.next_line(self.opts.max_line) {
            None => return false,
            Some(Frame::TooLong) => {
                self.close(ClientCloseReason::LimitExceeded("response line"));
                return true;
            }
            Some(Frame::Line(line)) => line,
        };
        match &mut self.reading {
            Reading::Greeting => self.greeting(&line),
            Reading::Status => self.status_line(&line),
            Reading::List(_) | Reading::Uidl(_) | Reading::Capa(_) => self.listing_line(&line),
            Reading::Body(_) => unreachable!("handled above"),
        }
        true
    }

    fn greeting(&mut self, line: &[u8]) {
        match StatusLine::parse(line) {
            Ok(status) => {
                let ok = status.is_ok();
                self.timestamp = greeting_timestamp(&status.text).map(str::to_owned);
                self.events.push_back(ClientEvent::Greeting {
                    status,
                    timestamp: self.timestamp.clone(),
                });
                if ok {
                    self.greeted = true;
                    self.reading = Reading::Status;
                } else {
                    self.close(ClientCloseReason::Rejected);
                }
            }
            Err(e) => self.close(ClientCloseReason::ProtocolError(e)),
        }
    }

    fn status_line(&mut self, line: &[u8]) {
        let Some(front) = self.in_flight.front_mut() else {
            // The server spoke out of turn; nothing it says can be matched to a command.
            return self.close(ClientCloseReason::ProtocolError(ParseError::InvalidStatus));
        };
        if let (Some((step, deferred)), [b'+', rest @ ..]) = (&mut front.sasl, line)
            && (rest.is_empty() || rest[0] == b' ')
        {
            let text = String::from_utf8_lossy(rest.get(1..).unwrap_or_default());
            let challenge = if text.is_empty() {
                Ok(Vec::new())
            } else {
                decode_sasl(&text)
            };
            let response = match challenge {
                // The initial response that did not fit on the AUTH line (RFC 5034 §4).
                Ok(c) if c.is_empty() && deferred.is_some() => {
                    deferred.take().map(|ir| ir.expose().clone())
                }
                Ok(c) => step(&c),
                Err(_) => None,
            };
            match response {
                Some(r) => {
                    self.out.extend_from_slice(BASE64.encode(&r).as_bytes());
                    self.out.extend_from_slice(b"\r\n");
                }
                None => {
                    self.out.extend_from_slice(b"*\r\n");
                    self.events.push_back(ClientEvent::AuthCancelled);
                }
            }
            self.activity = true;
            return;
        }
        let status = match StatusLine::parse(line) {
            Ok(s) => s,
            Err(e) => return self.close(ClientCloseReason::ProtocolError(e)),
        };
        let q = self.in_flight.pop_front().expect("front exists");
        let command = q.command.kind();
        if !status.is_ok() {
            self.events
                .push_back(ClientEvent::Reply { command, status });
            return;
        }
        match q.command {
            Command::Capa => self.reading = Reading::Capa(Vec::new()),
            Command::List(None) => self.reading = Reading::List(Vec::new()),
            Command::Uidl(None) => self.reading = Reading::Uidl(Vec::new()),
            Command::List(Some(_)) | Command::Stat => {
                match ListEntry::parse(status.text.as_bytes()) {
                    Ok(e) if command == crate::CommandKind::Stat => {
                        self.events.push_back(ClientEvent::Stat {
                            count: e.msg,
                            size: e.size,
                        })
                    }
                    Ok(e) => self.events.push_back(ClientEvent::List(vec![e])),
                    Err(e) => self.close(ClientCloseReason::ProtocolError(e)),
                }
            }
            Command::Uidl(Some(_)) => match UidlEntry::parse(status.text.as_bytes()) {
                Ok(e) => self.events.push_back(ClientEvent::Uidl(vec![e])),
                Err(e) => self.close(ClientCloseReason::ProtocolError(e)),
            },
            Command::Retr(msg) | Command::Top { msg, .. } => {
                self.events.push_back(ClientEvent::MessageStart {
                    command,
                    msg,
                    status,
                });
                self.reading = Reading::Body(DotUnstuffer::new());
            }
            Command::Stls => {
                self.tls_pending = true;
                // Bytes that came before the handshake are not protected; drop them.
                self.framer.clear();
                self.events
                    .push_back(ClientEvent::Reply { command, status });
                self.events.push_back(ClientEvent::StartTls);
            }
            Command::Quit => {
                self.events
                    .push_back(ClientEvent::Reply { command, status });
                self.close(ClientCloseReason::Quit);
            }
            Command::Pass(_) | Command::Apop { .. } | Command::Auth { .. } => {
                self.authenticated = true;
                self.events
                    .push_back(ClientEvent::Reply { command, status });
            }
            Command::User(_) | Command::Dele(_) | Command::Noop | Command::Rset | Command::Utf8 => {
                self.events
                    .push_back(ClientEvent::Reply { command, status })
            }
        }
    }

    fn listing_line(&mut self, line: &[u8]) {
        if line == b"." {
            match std::mem::replace(&mut self.reading, Reading::Status) {
                Reading::List(v) => self.events.push_back(ClientEvent::List(v)),
                Reading::Uidl(v) => self.events.push_back(ClientEvent::Uidl(v)),
                Reading::Capa(v) => {
                    self.pipelining = v.contains(&Capability::Pipelining);
                    self.capabilities = Some(v.clone());
                    self.events.push_back(ClientEvent::Capabilities(v));
                }
                _ => unreachable!("only listings come here"),
            }
            return;
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        let max = self.opts.max_list_entries;
        let full = match &mut self.reading {
            Reading::List(v) => match ListEntry::parse(line) {
                Ok(e) => {
                    v.push(e);
                    v.len() > max
                }
                Err(e) => return self.close(ClientCloseReason::ProtocolError(e)),
            },
            Reading::Uidl(v) => match UidlEntry::parse(line) {
                Ok(e) => {
                    v.push(e);
                    v.len() > max
                }
                Err(e) => return self.close(ClientCloseReason::ProtocolError(e)),
            },
            Reading::Capa(v) => {
                // Unknown or odd capability lines are skipped: RFC 2449 §5 lets servers
                // announce anything.
                if let Ok(c) = Capability::parse(line) {
                    v.push(c);
                }
                v.len() > max
            }
            _ => unreachable!("only listings come here"),
        };
        if full {
            self.close(ClientCloseReason::LimitExceeded("listing entries"));
        }
    }
}
