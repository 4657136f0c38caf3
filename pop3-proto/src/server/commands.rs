//! Command dispatch per state (RFC 1939 §4–§7) and the CAPA list (RFC 2449 §5).

use super::{Entry, MessageRef, Server, State, Stream, Wait};
use crate::dot::DotStuffer;
use crate::{Capability, Command, CommandKind, Expire, ParseError, RespCode, StatusLine};

/// SASL mechanisms that carry the password in the clear; held back like USER/PASS before TLS
/// (RFC 5034 §4, RFC 2595 §2.2).
const PLAINTEXT_MECHANISMS: [&str; 2] = ["PLAIN", "LOGIN"];

impl Server {
    pub(super) fn command_line(&mut self, line: &[u8]) {
        let command = match Command::parse(line) {
            Ok(c) => c,
            Err(ParseError::UnknownCommand(_)) => {
                return self.client_error(None, "unknown command");
            }
            Err(e) => return self.client_error(None, &e.to_string()),
        };
        if !self.enabled(command.kind()) {
            return self.client_error(None, "unknown command");
        }
        // PASS must follow USER directly (RFC 1939 §7).
        let pending_user = self.pending_user.take();
        match (self.state, command) {
            (_, Command::Capa) => self.capa(),
            (State::Authorization, Command::Quit) => {
                self.reply(StatusLine::ok("POP3 server signing off"));
                self.shut(super::CloseReason::Quit);
            }
            (State::Authorization, Command::User(user)) => self.user_command(user),
            (State::Authorization, Command::Pass(password)) => match pending_user {
                Some(user) => {
                    self.wait = Wait::Login;
                    self.events
                        .push_back(super::ServerEvent::Login { user, password });
                }
                None => self.client_error(None, "USER first"),
            },
            (State::Authorization, Command::Apop { user, digest }) => {
                if self.opts.apop_timestamp.is_none() {
                    self.client_error(None, "APOP not available")
                } else if !self.name_allowed(&user) {
                    self.client_error(None, "UTF-8 user names need the UTF8 command")
                } else {
                    self.wait = Wait::Apop {
                        user: user.clone(),
                        digest,
                    };
                    self.events
                        .push_back(super::ServerEvent::ApopLookup { user });
                }
            }
            (
                State::Authorization,
                Command::Auth {
                    mechanism,
                    initial_response,
                },
            ) => {
                if !self.offered_mechanisms().any(|m| *m == mechanism) {
                    self.client_error(None, "mechanism not available")
                } else {
                    self.wait = Wait::Sasl;
                    self.events.push_back(super::ServerEvent::AuthStart {
                        mechanism,
                        initial_response,
                    });
                }
            }
            (State::Authorization, Command::Stls) => {
                if self.tls {
                    self.client_error(None, "TLS already active")
                } else {
                    self.reply(StatusLine::ok("Begin TLS negotiation now"));
                    // Plaintext pipelined after STLS must never be read as if it came over
                    // TLS (the STARTTLS command-injection class of bugs).
                    self.framer.clear();
                    self.wait = Wait::StartTls;
                    self.events.push_back(super::ServerEvent::StartTls);
                }
            }
            (State::Authorization, Command::Utf8) => {
                self.utf8 = true;
                self.reply(StatusLine::ok("UTF8 enabled"));
            }
            (State::Authorization, _) => self.client_error(None, "not valid before login"),
            (State::Transaction, Command::Stat) => {
                let (n, size) = self.totals();
                self.reply(StatusLine::ok(format!("{n} {size}")));
            }
            (State::Transaction, Command::List(None)) => {
                let (n, size) = self.totals();
                self.reply(StatusLine::ok(format!("{n} messages ({size} octets)")));
                for i in 0..self.messages.len() {
                    if !self.messages[i].deleted {
                        let text = format!("{} {}", i + 1, self.messages[i].info.size);
                        self.line(&text);
                    }
                }
                self.line(".");
            }
            (State::Transaction, Command::List(Some(n))) => {
                if let Some(e) = self.live(n) {
                    let text = format!("{n} {}", e.info.size);
                    self.reply(StatusLine::ok(text));
                }
            }
            (State::Transaction, Command::Uidl(None)) => {
                self.reply(StatusLine::ok("unique-id listing follows"));
                for i in 0..self.messages.len() {
                    if !self.messages[i].deleted {
                        let text = format!("{} {}", i + 1, self.messages[i].info.uid);
                        self.line(&text);
                    }
                }
                self.line(".");
            }
            (State::Transaction, Command::Uidl(Some(n))) => {
                if let Some(e) = self.live(n) {
                    let text = format!("{n} {}", e.info.uid);
                    self.reply(StatusLine::ok(text));
                }
            }
            (State::Transaction, Command::Retr(n)) => self.retrieve(n, None),
            (State::Transaction, Command::Top { msg, lines }) => self.retrieve(msg, Some(lines)),
            (State::Transaction, Command::Dele(n)) => {
                if self.live(n).is_some() {
                    self.messages[n as usize - 1].deleted = true;
                    self.reply(StatusLine::ok(format!("message {n} deleted")));
                }
            }
            (State::Transaction, Command::Noop) => self.reply(StatusLine::ok("")),
            (State::Transaction, Command::Rset) => {
                for m in &mut self.messages {
                    m.deleted = false;
                }
                let (n, size) = self.totals();
                self.reply(StatusLine::ok(format!(
                    "maildrop has {n} messages ({size} octets)"
                )));
            }
            (State::Transaction, Command::Quit) => {
                self.state = State::Update;
                self.wait = Wait::Update;
                let refs = |keep: &dyn Fn(&Entry) -> bool| -> Vec<MessageRef> {
                    self.messages
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| keep(e))
                        .map(|(i, e)| message_ref(i, e))
                        .collect()
                };
                let deleted = refs(&|e| e.deleted);
                let retrieved = refs(&|e| e.retrieved && !e.deleted);
                self.events
                    .push_back(super::ServerEvent::Update { deleted, retrieved });
            }
            (State::Transaction, _) => self.client_error(None, "not valid after login"),
            (State::Update, _) => {}
        }
    }

    /// Whether a command is switched on by the options.
    fn enabled(&self, kind: CommandKind) -> bool {
        match kind {
            CommandKind::Top => self.opts.top,
            CommandKind::Uidl => self.opts.uidl,
            CommandKind::Stls => self.opts.stls || self.tls,
            CommandKind::Utf8 => self.opts.utf8,
            CommandKind::User | CommandKind::Pass => self.opts.user_pass,
            CommandKind::Auth => !self.opts.sasl_mechanisms.is_empty(),
            _ => true,
        }
    }

    fn user_command(&mut self, user: String) {
        if !self.plaintext_allowed() {
            // The wording of RFC 2595 §2.2's advice; [AUTH] tells the client not to retry.
            self.client_error(
                Some(RespCode::Auth),
                "plaintext authentication disallowed on a connection without TLS",
            );
        } else if !self.name_allowed(&user) {
            self.client_error(None, "UTF-8 user names need the UTF8 command");
        } else {
            self.pending_user = Some(user);
            self.reply(StatusLine::ok("send PASS"));
        }
    }

    /// Before UTF8 (RFC 6856 §2.1), user names are ASCII.
    fn name_allowed(&self, user: &str) -> bool {
        self.utf8 || user.is_ascii()
    }

    /// The mechanisms AUTH accepts now.
    fn offered_mechanisms(&self) -> impl Iterator<Item = &String> {
        let plaintext = self.plaintext_allowed();
        self.opts
            .sasl_mechanisms
            .iter()
            .filter(move |m| plaintext || !PLAINTEXT_MECHANISMS.contains(&m.as_str()))
    }

    /// The entry for message number `n` if it exists and is not deleted; otherwise answers
    /// `-ERR` (RFC 1939 §5) and returns `None`.
    fn live(&mut self, n: u32) -> Option<&Entry> {
        let ok = (n as usize)
            .checked_sub(1)
            .and_then(|i| self.messages.get(i))
            .map(|e| !e.deleted);
        match ok {
            Some(true) => self.messages.get(n as usize - 1),
            Some(false) => {
                self.client_error(None, &format!("message {n} already deleted"));
                None
            }
            None => {
                self.client_error(None, "no such message");
                None
            }
        }
    }

    fn retrieve(&mut self, n: u32, top: Option<u32>) {
        let Some(e) = self.live(n) else { return };
        let message = message_ref(n as usize - 1, e);
        self.wait = Wait::Message(Stream {
            stuffer: top.map_or_else(DotStuffer::new, DotStuffer::top),
            started: false,
            index: message.index,
            size: message.size,
            whole: top.is_none(),
        });
        self.events.push_back(super::ServerEvent::Retrieve {
            message,
            top_lines: top,
        });
    }

    /// The capability list for the current state and channel (RFC 2449 §5).
    pub(super) fn capabilities(&self) -> Vec<Capability> {
        let auth = self.state == State::Authorization;
        let o = &self.opts;
        let mut caps = Vec::new();
        if o.top {
            caps.push(Capability::Top);
        }
        if o.user_pass && self.plaintext_allowed() {
            caps.push(Capability::User);
        }
        // RFC 5034 §3: SASL stays in the list after AUTH succeeded.
        let mechs: Vec<String> = self.offered_mechanisms().cloned().collect();
        if !mechs.is_empty() {
            caps.push(Capability::Sasl(mechs));
        }
        if o.resp_codes {
            caps.push(Capability::RespCodes);
        }
        let login_delay = if auth { None } else { self.user_login_delay };
        if let Some(seconds) = login_delay.or(o.login_delay.map(|(s, _)| s)) {
            let per_user = auth && o.login_delay.is_some_and(|(_, u)| u);
            caps.push(Capability::LoginDelay { seconds, per_user });
        }
        if o.pipelining {
            caps.push(Capability::Pipelining);
        }
        let expire: Option<Expire> = if auth { None } else { self.user_expire };
        if let Some(policy) = expire.or(o.expire.map(|(e, _)| e)) {
            let per_user = auth && o.expire.is_some_and(|(_, u)| u);
            caps.push(Capability::Expire { policy, per_user });
        }
        if o.uidl {
            caps.push(Capability::Uidl);
        }
        if o.stls && !self.tls && auth {
            caps.push(Capability::Stls);
        }
        if o.utf8 {
            caps.push(Capability::Utf8 { user: true });
        }
        if let Some(i) = &o.implementation {
            caps.push(Capability::Implementation(i.clone()));
        }
        caps
    }

    fn capa(&mut self) {
        self.reply(StatusLine::ok("Capability list follows"));
        for c in self.capabilities() {
            self.line(&c.to_line());
        }
        self.line(".");
    }
}

fn message_ref(index: usize, e: &Entry) -> MessageRef {
    MessageRef {
        msg: u32::try_from(index + 1).unwrap_or(u32::MAX),
        index,
        uid: e.info.uid.clone(),
        size: e.info.size,
    }
}
