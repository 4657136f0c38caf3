//! Reading the server's replies: each is matched to the oldest command still waiting
//! (RFC 2920 §3.1 keeps them in order) and moves the session on.

use base64::Engine as _;

use super::{Capabilities, Client, Event, Expect, Phase, TlsPolicy};
use crate::command::Command;
use crate::error::ClientError;
use crate::reply::Reply;

impl Client {
    pub(super) fn on_reply(&mut self, reply: Reply) {
        let Some(expect) = self.expect.pop_front() else {
            // RFC 5321 §3.8: a 421 may come at any time.
            if reply.code().value() == 421 {
                self.events.push_back(Event::Closed);
                self.phase = Phase::Closed;
                return;
            }
            return self.fail(ClientError::Unsolicited);
        };
        let code = reply.code();
        let positive = code.is_positive_completion();
        let intermediate_ok = matches!(expect, Expect::Data | Expect::Auth | Expect::Ignore);
        if code.is_intermediate() && !intermediate_ok {
            return self.fail(ClientError::Unexpected(
                code.value(),
                "a command without 3xx",
            ));
        }
        if code.value() == 421 && expect != Expect::Quit {
            self.events.push_back(Event::MessageFailed(reply));
            self.events.push_back(Event::Closed);
            self.phase = Phase::Closed;
            self.expect.clear();
            return;
        }
        match expect {
            Expect::Greeting => {
                self.events.push_back(Event::Greeting(reply));
                if positive {
                    self.hello();
                } else {
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::Ehlo => {
                if positive {
                    self.caps = Capabilities::from_ehlo(&reply);
                    self.after_hello();
                } else if !self.opts.lmtp && code.value() >= 500 {
                    // RFC 5321 §3.2: an old server; try HELO.
                    let h = self.opts.hello_name.clone();
                    self.send(&Command::Helo(h), Expect::Helo);
                } else {
                    self.events
                        .push_back(Event::Error(ClientError::Unexpected(code.value(), "EHLO")));
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::Helo => {
                if positive {
                    self.caps = Capabilities::default();
                    self.after_hello();
                } else {
                    self.events
                        .push_back(Event::Error(ClientError::Unexpected(code.value(), "HELO")));
                    self.send(&Command::Quit, Expect::Quit);
                }
            }
            Expect::StartTls => {
                if code.value() == 220 {
                    self.events.push_back(Event::StartTls);
                } else if self.opts.starttls == TlsPolicy::Required {
                    self.events.push_back(Event::Error(ClientError::Unexpected(
                        code.value(),
                        "STARTTLS",
                    )));
                    self.send(&Command::Quit, Expect::Quit);
                } else {
                    self.ready();
                }
            }
            Expect::Auth => self.on_auth_reply(reply),
            Expect::Mail => {
                let Some(tx) = self.tx.as_mut() else {
                    return;
                };
                if positive {
                    tx.mail_reply = Some(reply);
                    if !self.pipelining {
                        self.send_next_rcpt();
                    }
                } else {
                    tx.failed = Some(reply);
                    if !self.pipelining {
                        self.end_failed(false);
                    }
                }
            }
            Expect::Rcpt(index) => self.on_rcpt_reply(index, reply),
            Expect::Data if positive => {
                // RFC 5321 §4.3.2: DATA is answered by 354 or a failure, never by 2xx.
                self.fail(ClientError::Unexpected(code.value(), "DATA"));
            }
            Expect::Data => {
                let ok = self
                    .tx
                    .as_ref()
                    .is_some_and(|t| t.failed.is_none() && !t.accepted.is_empty());
                if code.is_intermediate() && ok {
                    self.phase = Phase::Body;
                    self.events.push_back(Event::BodyReady);
                } else if code.is_intermediate() {
                    // A server that said 354 to a transaction with no recipient (RFC 2920
                    // §3.2, second example): send an empty message and forget its reply.
                    self.out.extend_from_slice(b".\r\n");
                    self.expect.push_front(Expect::End(None));
                    if let Some(tx) = self.tx.as_mut() {
                        tx.accepted.clear();
                    }
                } else {
                    let Some(tx) = self.tx.as_mut() else {
                        return;
                    };
                    if tx.failed.is_none() {
                        tx.failed = Some(reply);
                    }
                    self.end_failed(true);
                }
            }
            Expect::Bdat => {
                if !positive {
                    if let Some(tx) = self.tx.as_mut()
                        && tx.failed.is_none()
                    {
                        tx.failed = Some(reply);
                    }
                } else if !self.pipelining && self.phase == Phase::Body {
                    self.events.push_back(Event::BodyReady);
                }
            }
            Expect::End(index) => self.on_end_reply(index, reply),
            Expect::Rset | Expect::Noop => self.events.push_back(Event::Reply(reply)),
            Expect::Ignore => {
                if code.is_intermediate() {
                    // A 354 to a DATA of an abandoned transaction: end it empty.
                    self.out.extend_from_slice(b".\r\n");
                    self.expect.push_front(Expect::Ignore);
                }
            }
            Expect::Quit => {
                self.events.push_back(Event::Closed);
                self.phase = Phase::Closed;
            }
        }
    }

    fn after_hello(&mut self) {
        self.pipelining = self.opts.pipelining && self.caps.pipelining;
        if !self.tls && self.opts.starttls != TlsPolicy::Never && self.caps.starttls {
            self.send(&Command::StartTls, Expect::StartTls);
        } else if !self.tls && self.opts.starttls == TlsPolicy::Required {
            self.events
                .push_back(Event::Error(ClientError::MissingExtension("STARTTLS")));
            self.send(&Command::Quit, Expect::Quit);
        } else {
            self.ready();
        }
    }

    fn ready(&mut self) {
        self.phase = Phase::Ready;
        self.events.push_back(Event::Ready(self.caps.clone()));
    }

    fn on_auth_reply(&mut self, reply: Reply) {
        let code = reply.code().value();
        if code == 334 {
            let text = reply.line_iter().next().unwrap_or_default().trim();
            let challenge = if text.is_empty() {
                Some(Vec::new())
            } else {
                base64::engine::general_purpose::STANDARD.decode(text).ok()
            };
            let response = match (challenge, self.auth.as_mut()) {
                (Some(c), Some(step)) => step(&c).ok(),
                _ => None,
            };
            match response {
                // RFC 4954 §4: an empty response to a challenge is an empty line; `=` stands
                // for an empty *initial* response only.
                Some(r) => {
                    let line = base64::engine::general_purpose::STANDARD.encode(&r);
                    self.out.extend_from_slice(line.as_bytes());
                }
                // RFC 4954 §4: `*` cancels; the server answers 501.
                None => self.out.push(b'*'),
            }
            self.out.extend_from_slice(b"\r\n");
            self.expect.push_front(Expect::Auth);
            self.rearm = true;
            return;
        }
        self.auth = None;
        if reply.code().is_positive_completion() {
            self.events.push_back(Event::Authenticated);
        } else {
            self.events.push_back(Event::AuthFailed(reply));
        }
    }

    fn on_rcpt_reply(&mut self, index: usize, reply: Reply) {
        let positive = reply.code().is_positive_completion();
        let pipelining = self.pipelining;
        let Some(tx) = self.tx.as_mut() else {
            return;
        };
        if positive {
            tx.accepted.push(index);
        }
        tx.last_rcpt_reply = Some(reply.clone());
        let last = index + 1 == tx.recipients.len();
        let (bdat, any) = (tx.bdat, !tx.accepted.is_empty());
        let mail_ok = tx.failed.is_none();
        self.events.push_back(Event::RcptResult { index, reply });
        if !pipelining && !last {
            self.send_next_rcpt();
            return;
        }
        if !last {
            return;
        }
        match (any && mail_ok, bdat, pipelining) {
            (true, true, _) => {
                self.phase = Phase::Body;
                self.events.push_back(Event::BodyReady);
            }
            (true, false, false) => self.send(&Command::Data, Expect::Data),
            // Pipelined DATA is already on its way; its reply decides.
            (_, false, true) => {}
            (false, _, _) => {
                if let Some(tx) = self.tx.as_mut()
                    && tx.failed.is_none()
                {
                    tx.failed = tx.last_rcpt_reply.clone();
                }
                if !pipelining || bdat {
                    self.end_failed(true);
                }
            }
        }
    }

    fn on_end_reply(&mut self, index: Option<usize>, reply: Reply) {
        let Some(tx) = self.tx.as_mut() else {
            return;
        };
        if tx.accepted.is_empty() {
            // The empty message sent after an unwanted 354.
            self.end_failed(true);
            return;
        }
        match index {
            Some(i) => tx.results.push((i, reply)),
            None => {
                let failed = tx.failed.clone();
                let r = failed.unwrap_or(reply);
                tx.results = tx.accepted.iter().map(|&i| (i, r.clone())).collect();
            }
        }
        if self.expect.iter().any(|e| matches!(e, Expect::End(_))) {
            return;
        }
        let tx = self.tx.take().expect("checked above");
        self.phase = Phase::Ready;
        self.events.push_back(Event::MessageResult(tx.results));
    }

    /// Reports a failed transaction; `rset` when the server holds an open transaction.
    fn end_failed(&mut self, rset: bool) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let reply = tx
            .failed
            .or(tx.last_rcpt_reply)
            .unwrap_or_else(|| Reply::internal(554, None, "Transaction failed"));
        self.events.push_back(Event::MessageFailed(reply));
        // Replies still due for this transaction (pipelined RCPT/DATA) are read and dropped.
        for e in self.expect.iter_mut() {
            if matches!(
                e,
                Expect::Rcpt(_) | Expect::Data | Expect::End(_) | Expect::Bdat
            ) {
                *e = Expect::Ignore;
            }
        }
        self.phase = Phase::Ready;
        if rset {
            self.send(&Command::Rset, Expect::Ignore);
        }
    }
}
