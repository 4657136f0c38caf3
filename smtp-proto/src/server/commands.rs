//! Command handling: sequence rules (RFC 5321 §4.1.4, §3.3), parameter checks against the
//! advertised extensions, and the decisions the caller answers.

use base64::Engine as _;

use super::{Event, HelloName, HeloKind, Pending, Phase, Server, Transaction, st};
use crate::address::ReversePath;
use crate::command::Command;
use crate::error::UsageError;
use crate::params::{Body, MailParams, RcptParams};
use crate::reply::Reply;
use crate::secret::Secret;

fn b64(s: &str) -> Option<Vec<u8>> {
    if s == "=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

impl Server {
    /// Applies the caller's answer to the pending decision.
    pub(super) fn decide(&mut self, reply: Reply) -> Result<(), UsageError> {
        let pending = self
            .pending
            .take()
            .ok_or(UsageError::NoDecisionPending("decide"))?;
        let positive = !reply.code().is_negative();
        self.activity = true;
        match pending {
            Pending::Connect => {
                self.send_plain(reply.clone());
                if reply.code().value() == 421 {
                    self.closing = true;
                } else if !positive {
                    self.phase = Phase::Refused;
                }
            }
            Pending::Hello(kind) => {
                self.send_plain(reply);
                if positive {
                    self.hello = Some(kind);
                }
            }
            Pending::Mail(params) => {
                if positive {
                    self.tx = Some(Transaction {
                        body: params.body,
                        smtputf8: params.smtputf8,
                        rcpts: 0,
                        rcpts_tried: 0,
                        size: 0,
                        bdat_used: false,
                        decoder: None,
                        too_big: false,
                    });
                }
                self.send(reply);
            }
            Pending::Rcpt => {
                if positive && let Some(tx) = self.tx.as_mut() {
                    tx.rcpts += 1;
                }
                self.send(reply);
            }
            Pending::Data => {
                if positive {
                    self.phase = Phase::Data;
                    if let Some(tx) = self.tx.as_mut() {
                        let max = self.opts.limits.max_text_line;
                        tx.decoder =
                            Some(crate::DataDecoder::new(true, self.opts.line_endings, max));
                    }
                }
                self.send(reply);
            }
            Pending::Bdat { size, last } => {
                if positive {
                    if let Some(tx) = self.tx.as_mut()
                        && tx.decoder.is_none()
                        && tx.body != Some(Body::BinaryMime)
                    {
                        let max = self.opts.limits.max_text_line;
                        tx.decoder =
                            Some(crate::DataDecoder::new(false, self.opts.line_endings, max));
                    }
                    self.bdat_reply =
                        (reply.code().value() != 250 || reply.text() != "OK").then_some(reply);
                } else {
                    self.send(reply);
                }
                self.phase = Phase::Bdat {
                    remaining: size,
                    last,
                    discard: !positive,
                };
            }
            Pending::MessageEnd => {
                let n = if self.opts.lmtp {
                    self.tx.as_ref().map_or(1, |t| t.rcpts)
                } else {
                    1
                };
                for _ in 0..n {
                    self.send(reply.clone());
                }
                self.end_transaction();
            }
            Pending::Auth => {
                self.phase = Phase::Command;
                self.send(reply);
            }
            Pending::Vrfy | Pending::Expn => self.send(reply),
        }
        Ok(())
    }

    /// The EHLO/LHLO reply with the extension list (RFC 5321 §4.1.1.1), or HELO's one line.
    pub(super) fn hello_reply(&self, kind: HeloKind) -> Reply {
        let host = &self.opts.hostname;
        if kind == HeloKind::Helo {
            return Reply::internal(250, None, host);
        }
        let x = &self.opts.extensions;
        let mut lines = vec![format!("{host} Hello")];
        if x.size {
            lines.push(format!("SIZE {}", self.opts.limits.max_message_size));
        }
        for (on, name) in [
            (x.pipelining, "PIPELINING"),
            (x.eightbitmime, "8BITMIME"),
            (x.binarymime && x.chunking, "BINARYMIME"),
            (x.chunking, "CHUNKING"),
            (x.smtputf8, "SMTPUTF8"),
            (x.dsn, "DSN"),
            (x.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (x.requiretls && self.tls, "REQUIRETLS"),
            (x.mt_priority, "MT-PRIORITY"),
            (x.starttls && !self.tls, "STARTTLS"),
        ] {
            if on {
                lines.push(name.to_owned());
            }
        }
        match x.deliverby {
            Some(0) => lines.push("DELIVERBY".to_owned()),
            Some(min) => lines.push(format!("DELIVERBY {min}")),
            None => {}
        }
        if self.auth_offered() {
            lines.push(format!("AUTH {}", x.auth.join(" ")));
        }
        Reply::multiline(crate::ReplyCode::OK, None, lines).expect("valid EHLO lines")
    }

    fn auth_offered(&self) -> bool {
        let x = &self.opts.extensions;
        !x.auth.is_empty() && (self.tls || !x.auth_requires_tls)
    }

    fn decision(&mut self, pending: Pending, event: Event) {
        self.events.push_back((event, Some(pending)));
    }

    fn reset_transaction(&mut self) {
        if self.tx.take().is_some() {
            self.events.push_back((Event::Reset, None));
        }
    }

    /// Enters a BDAT chunk whose octets are read and dropped (its reply was sent).
    fn discard_bdat(&mut self, size: u64) {
        self.phase = Phase::Bdat {
            remaining: size,
            last: false,
            discard: true,
        };
    }

    /// Handles one command line (without CRLF).
    pub(super) fn on_line(&mut self, line: &[u8]) {
        let cmd = match Command::parse(line) {
            Ok(c) => c,
            Err(_) if let Some((kind, name)) = self.lenient_hello(line) => {
                return self.on_hello(HelloName::Other(name), kind);
            }
            Err(e) => {
                let r = e.reply();
                self.send(r);
                self.count_error();
                return;
            }
        };
        if self.phase == Phase::Refused {
            match cmd {
                Command::Quit => self.quit(),
                other => {
                    if let Command::Bdat { size, .. } = other {
                        self.discard_bdat(size);
                    }
                    self.error(
                        503,
                        st(5, 5, 1),
                        "Bad sequence of commands: service refused",
                    );
                }
            }
            return;
        }
        match cmd {
            Command::Helo(host) => self.on_hello(HelloName::Host(host), HeloKind::Helo),
            Command::Ehlo(host) => self.on_hello(HelloName::Host(host), HeloKind::Ehlo),
            Command::Lhlo(host) => self.on_hello(HelloName::Host(host), HeloKind::Lhlo),
            Command::Mail { from, params } => {
                if self.hello.is_none() {
                    return self.error(503, st(5, 5, 1), "Send HELO/EHLO first");
                }
                if self.tx.is_some() {
                    return self.error(503, st(5, 5, 1), "Nested MAIL command");
                }
                if let Err(r) = self.check_mail(&from, &params) {
                    self.send(r);
                    return self.count_error();
                }
                let p = Box::new(params.clone());
                self.decision(Pending::Mail(p), Event::Mail { from, params });
            }
            Command::Rcpt { to, params } => {
                let Some(tx) = self.tx.as_ref() else {
                    return self.error(503, st(5, 5, 1), "Need MAIL command");
                };
                if tx.bdat_used {
                    return self.error(503, st(5, 5, 1), "RCPT after BDAT");
                }
                if tx.rcpts >= self.opts.limits.max_recipients {
                    return self.reply(452, st(4, 5, 3), "Too many recipients");
                }
                let utf8 = tx.smtputf8;
                if let Err(r) = self.check_rcpt(&params) {
                    self.send(r);
                    return self.count_error();
                }
                if !to.is_ascii() && !utf8 {
                    return self.error(553, st(5, 6, 7), "Non-ASCII addresses require SMTPUTF8");
                }
                if let Some(tx) = self.tx.as_mut() {
                    tx.rcpts_tried += 1;
                }
                self.decision(Pending::Rcpt, Event::Rcpt { to, params });
            }
            Command::Data => match self.tx.as_ref() {
                None => self.error(503, st(5, 5, 1), "Need MAIL command"),
                Some(t) if t.bdat_used => self.error(503, st(5, 5, 1), "DATA after BDAT"),
                Some(t) if t.body == Some(Body::BinaryMime) => {
                    self.error(503, st(5, 5, 1), "BINARYMIME needs BDAT")
                }
                Some(t) if t.rcpts == 0 && t.rcpts_tried > 0 => {
                    self.error(554, st(5, 5, 1), "No valid recipients")
                }
                Some(t) if t.rcpts == 0 => self.error(503, st(5, 5, 1), "Need RCPT command"),
                Some(_) => self.decision(Pending::Data, Event::DataStart),
            },
            Command::Bdat { size, last } => self.on_bdat_command(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.reply(250, st(2, 0, 0), "OK");
            }
            Command::Noop(_) => self.reply(250, st(2, 0, 0), "OK"),
            Command::Quit => self.quit(),
            Command::Vrfy(s) => {
                if self.opts.vrfy {
                    self.decision(Pending::Vrfy, Event::Vrfy(s));
                } else {
                    self.reply(
                        252,
                        st(2, 5, 2),
                        "Cannot VRFY user, but will accept message and attempt delivery",
                    );
                }
            }
            Command::Expn(s) => {
                if self.opts.expn {
                    self.decision(Pending::Expn, Event::Expn(s));
                } else {
                    self.error(502, st(5, 5, 1), "EXPN not available");
                }
            }
            Command::Help(_) => self.reply(214, st(2, 0, 0), "See RFC 5321"),
            Command::StartTls => {
                if !self.opts.extensions.starttls {
                    return self.error(502, st(5, 5, 1), "Command not implemented");
                }
                if self.tls {
                    return self.error(503, st(5, 5, 1), "TLS already active");
                }
                self.reply(220, st(2, 0, 0), "Ready to start TLS");
                // RFC 3207 §5: nothing sent before the handshake may be acted upon.
                self.pos = self.input.len();
                self.reset_transaction();
                self.phase = Phase::StartTls;
                self.events.push_back((Event::StartTls, None));
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => self.on_auth(mechanism, initial_response),
        }
    }

    fn on_hello(&mut self, host: HelloName, kind: HeloKind) {
        if self.opts.lmtp != (kind == HeloKind::Lhlo) {
            return self.error(500, st(5, 5, 1), "Command unrecognized");
        }
        self.reset_transaction();
        self.hello = None;
        self.decision(Pending::Hello(kind), Event::Hello { host, kind });
    }

    /// `quirk_lenient_hello`: a HELO/EHLO/LHLO whose argument is one printable word but not a
    /// domain or address literal (`EHLO my_pc`, `HELO _gateway`).
    fn lenient_hello(&self, line: &[u8]) -> Option<(HeloKind, String)> {
        if !self.opts.quirk_lenient_hello || self.phase == Phase::Refused {
            return None;
        }
        let line = std::str::from_utf8(line).ok()?.trim_end_matches(' ');
        let (verb, arg) = line.split_once(' ')?;
        let kind = match verb.to_ascii_uppercase().as_str() {
            "HELO" => HeloKind::Helo,
            "EHLO" => HeloKind::Ehlo,
            "LHLO" => HeloKind::Lhlo,
            _ => return None,
        };
        let word = !arg.is_empty()
            && arg.len() <= 255
            && arg
                .chars()
                .all(|c| c.is_alphanumeric() || c.is_ascii_graphic());
        word.then(|| (kind, arg.to_owned()))
    }

    fn quit(&mut self) {
        let text = format!(
            "{} Service closing transmission channel",
            self.opts.hostname
        );
        self.reply(221, st(2, 0, 0), &text);
        self.tx = None;
        self.closing = true;
    }

    pub(super) fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.opts.limits.max_errors {
            let text = format!("{} Error: too many errors", self.opts.hostname);
            self.reply(421, st(4, 7, 0), &text);
            self.closing = true;
        }
    }

    fn on_bdat_command(&mut self, size: u64, last: bool) {
        // The chunk's octets follow the command whatever the reply: they are read and dropped
        // on every error, so payload never becomes commands.
        if !self.opts.extensions.chunking {
            self.discard_bdat(size);
            return self.error(502, st(5, 5, 1), "Command not implemented");
        }
        let max = self.opts.limits.max_message_size;
        let Some(tx) = self.tx.as_mut() else {
            self.discard_bdat(size);
            return self.error(503, st(5, 5, 1), "Need MAIL command");
        };
        if tx.rcpts == 0 {
            self.discard_bdat(size);
            return self.error(503, st(5, 5, 1), "Need RCPT command");
        }
        if tx.size.saturating_add(size) > max {
            self.discard_bdat(size);
            let r = Reply::internal(552, st(5, 3, 4), "Message size exceeds fixed maximum");
            self.reject_message(r);
            return;
        }
        tx.bdat_used = true;
        self.decision(
            Pending::Bdat { size, last },
            Event::BdatStart { size, last },
        );
    }

    fn on_auth(&mut self, mechanism: String, initial: Option<Secret<String>>) {
        if self.opts.extensions.auth.is_empty() {
            return self.error(502, st(5, 5, 1), "Command not implemented");
        }
        if !matches!(self.hello, Some(HeloKind::Ehlo | HeloKind::Lhlo)) {
            return self.error(503, st(5, 5, 1), "Send EHLO first");
        }
        if !self.auth_offered() {
            return self.error(
                538,
                st(5, 7, 11),
                "Encryption required for requested authentication mechanism",
            );
        }
        if self.authenticated {
            return self.error(503, st(5, 5, 1), "Already authenticated");
        }
        if self.tx.is_some() {
            return self.error(
                503,
                st(5, 5, 1),
                "AUTH not allowed during a mail transaction",
            );
        }
        if !self
            .opts
            .extensions
            .auth
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&mechanism))
        {
            return self.error(504, st(5, 5, 4), "Unrecognized authentication type");
        }
        let initial_response = match initial {
            None => None,
            Some(s) => match b64(s.expose()) {
                Some(v) => Some(Secret::new(v)),
                None => return self.error(501, st(5, 5, 2), "Invalid base64 data"),
            },
        };
        self.decision(
            Pending::Auth,
            Event::Auth {
                mechanism,
                initial_response,
            },
        );
    }

    /// A line read while an AUTH exchange waits for the client (RFC 4954 §4).
    pub(super) fn on_auth_response(&mut self, line: &[u8]) {
        self.phase = Phase::Command;
        if line == b"*" {
            self.events.push_back((Event::AuthCancelled, None));
            return self.reply(501, st(5, 0, 0), "Authentication cancelled");
        }
        let decoded = std::str::from_utf8(line).ok().and_then(|s| {
            if s.is_empty() {
                Some(Vec::new())
            } else {
                base64::engine::general_purpose::STANDARD.decode(s).ok()
            }
        });
        match decoded {
            Some(v) => {
                self.phase = Phase::AuthResponse;
                self.decision(Pending::Auth, Event::AuthResponse(Secret::new(v)));
            }
            None => {
                self.events.push_back((Event::AuthCancelled, None));
                self.error(501, st(5, 5, 2), "Invalid base64 data");
            }
        }
    }

    fn check_mail(&self, from: &ReversePath, p: &MailParams) -> Result<(), Reply> {
        let x = &self.opts.extensions;
        let unsupported = |name: &str| {
            Reply::internal(555, st(5, 5, 4), &format!("{name} parameter not supported"))
        };
        if self.hello == Some(HeloKind::Helo) && !p.is_empty() {
            return Err(unsupported("ESMTP"));
        }
        if let Some(size) = p.size {
            if !x.size {
                return Err(unsupported("SIZE"));
            }
            if size > self.opts.limits.max_message_size {
                return Err(Reply::internal(
                    552,
                    st(5, 3, 4),
                    "Message size exceeds fixed maximum message size",
                ));
            }
        }
        match p.body {
            Some(Body::EightBitMime) if !x.eightbitmime => return Err(unsupported("BODY")),
            Some(Body::BinaryMime) if !(x.binarymime && x.chunking) => {
                return Err(unsupported("BODY"));
            }
            _ => {}
        }
        let checks = [
            (p.smtputf8 && !x.smtputf8, "SMTPUTF8"),
            ((p.ret.is_some() || p.envid.is_some()) && !x.dsn, "DSN"),
            (p.auth.is_some() && x.auth.is_empty(), "AUTH"),
            (p.requiretls && !(x.requiretls && self.tls), "REQUIRETLS"),
            (p.by.is_some() && x.deliverby.is_none(), "BY"),
            (p.mt_priority.is_some() && !x.mt_priority, "MT-PRIORITY"),
        ];
        if let Some((_, name)) = checks.iter().find(|(bad, _)| *bad) {
            return Err(unsupported(name));
        }
        if let Some((k, _)) = p.other.first() {
            return Err(unsupported(k));
        }
        if let (Some(by), Some(min)) = (p.by, x.deliverby)
            && by.mode == crate::params::ByMode::Return
            && by.seconds < i64::from(min)
        {
            return Err(Reply::internal(
                501,
                st(5, 5, 4),
                "BY time below the minimum",
            ));
        }
        if !from.is_ascii() && !p.smtputf8 {
            return Err(Reply::internal(
                550,
                st(5, 6, 7),
                "Non-ASCII addresses require SMTPUTF8",
            ));
        }
        Ok(())
    }

    fn check_rcpt(&self, p: &RcptParams) -> Result<(), Reply> {
        let unsupported = |name: &str| {
            Reply::internal(555, st(5, 5, 4), &format!("{name} parameter not supported"))
        };
        if self.hello == Some(HeloKind::Helo) && *p != RcptParams::default() {
            return Err(unsupported("ESMTP"));
        }
        if (p.notify.is_some() || p.orcpt.is_some()) && !self.opts.extensions.dsn {
            return Err(unsupported("DSN"));
        }
        if let Some((k, _)) = p.other.first() {
            return Err(unsupported(k));
        }
        Ok(())
    }
}
