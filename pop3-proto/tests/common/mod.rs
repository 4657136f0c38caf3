//! Test fixtures shared by the integration tests: a scripted embedding server (users, a
//! maildrop, a toy SASL PLAIN and the RFC 5034 DIGEST-MD5 example replayed), a transcript
//! runner for `C:`/`S:` examples, and an in-memory client ↔ server pair.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::time::Instant;

use mailhub_pop3_proto::client::{Client, ClientEvent};
use mailhub_pop3_proto::server::{
    CloseReason, Maildrop, MessageInfo, MessageRef, Server, ServerEvent,
};
use mailhub_pop3_proto::{RespCode, Secret, StatusLine, UniqueId};

/// A replayed SASL exchange: the challenges to send and the responses expected.
#[derive(Clone, Default)]
pub struct Script {
    pub challenges: Vec<Vec<u8>>,
    pub responses: Vec<Vec<u8>>,
    pub user: String,
}

/// The embedding server's side, answering every decision the engine asks for.
#[derive(Default)]
pub struct Backend {
    pub users: HashMap<String, String>,
    pub messages: Vec<Vec<u8>>,
    /// Messages delivered while a session runs: a session must not see them.
    pub late_messages: Vec<Vec<u8>>,
    pub locked_by_other: bool,
    pub chunk_size: usize,
    pub scripts: HashMap<String, Script>,
    sasl: Option<(Script, usize)>,
    pub deleted: Vec<MessageRef>,
    pub retrieved: Vec<MessageRef>,
    pub updates: usize,
    pub closed: Option<CloseReason>,
    pub logins: Vec<String>,
    pub tls_handshakes: usize,
}

impl Backend {
    pub fn with_user(mut self, user: &str, password: &str) -> Self {
        self.users.insert(user.into(), password.into());
        self
    }

    pub fn with_messages(mut self, messages: &[&[u8]]) -> Self {
        self.messages = messages.iter().map(|m| m.to_vec()).collect();
        self
    }

    /// The listing the engine keeps as its snapshot: sizes with CRLF line ends.
    pub fn maildrop(&self) -> Maildrop {
        Maildrop {
            messages: self
                .messages
                .iter()
                .enumerate()
                .map(|(i, m)| MessageInfo {
                    size: crlf_size(m),
                    uid: UniqueId::try_from(format!("uid-{i}")).unwrap(),
                })
                .collect(),
            ..Maildrop::default()
        }
    }

    fn check_plain(&self, data: &[u8]) -> Option<String> {
        let mut parts = data.split(|&b| b == 0);
        let _authz = parts.next()?;
        let user = std::str::from_utf8(parts.next()?).ok()?;
        let pass = std::str::from_utf8(parts.next()?).ok()?;
        (self.users.get(user).map(String::as_str) == Some(pass)).then(|| user.to_owned())
    }

    /// Answers every pending event; returns the events seen.
    pub fn drive(&mut self, server: &mut Server) -> Vec<ServerEvent> {
        let mut seen = Vec::new();
        while let Some(ev) = server.poll_event() {
            seen.push(ev.clone());
            match ev {
                ServerEvent::Login { user, password } => {
                    if self.users.get(&user) == Some(password.expose()) {
                        server.accept_login(user).unwrap();
                    } else {
                        server
                            .reject(Some(RespCode::Auth), "invalid credentials")
                            .unwrap();
                    }
                }
                ServerEvent::ApopLookup { user } => {
                    let secret = self.users.get(&user).map(|s| Secret::from(s.as_str()));
                    server.apop_secret(secret.as_ref()).unwrap();
                }
                ServerEvent::AuthStart {
                    mechanism,
                    initial_response,
                } => {
                    if mechanism == "PLAIN" {
                        match initial_response {
                            Some(ir) => self.plain(server, ir.expose()),
                            None => server.auth_challenge(b"").unwrap(),
                        }
                        self.sasl = None;
                    } else if let Some(script) = self.scripts.get(&mechanism).cloned() {
                        server.auth_challenge(&script.challenges[0]).unwrap();
                        self.sasl = Some((script, 0));
                    } else {
                        server.reject(None, "mechanism not supported").unwrap();
                    }
                }
                ServerEvent::AuthResponse { response } => match self.sasl.take() {
                    None => self.plain(server, response.expose()),
                    Some((script, i)) => {
                        if script.responses[i] != *response.expose() {
                            server.reject(Some(RespCode::Auth), "bad response").unwrap();
                        } else if i + 1 < script.challenges.len() {
                            server.auth_challenge(&script.challenges[i + 1]).unwrap();
                            self.sasl = Some((script, i + 1));
                        } else {
                            server.accept_login(script.user.clone()).unwrap();
                        }
                    }
                },
                ServerEvent::AuthAborted => self.sasl = None,
                ServerEvent::LockMaildrop { user } => {
                    if self.locked_by_other {
                        server
                            .reject(
                                Some(RespCode::InUse),
                                "Do you have another POP session running?",
                            )
                            .unwrap();
                    } else {
                        self.logins.push(user);
                        server.load_maildrop(self.maildrop()).unwrap();
                        // Mail that arrives now is not part of this session's snapshot.
                        let late = std::mem::take(&mut self.late_messages);
                        self.messages.extend(late);
                    }
                }
                ServerEvent::StartTls => {
                    self.tls_handshakes += 1;
                    server.tls_established().unwrap();
                }
                ServerEvent::Retrieve { message, .. } => {
                    let body = self.messages[message.index].clone();
                    let size = if self.chunk_size == 0 {
                        body.len().max(1)
                    } else {
                        self.chunk_size
                    };
                    for chunk in body.chunks(size) {
                        if !server.message_chunk(chunk).unwrap() {
                            break;
                        }
                    }
                    server.message_end().unwrap();
                }
                ServerEvent::Update { deleted, retrieved } => {
                    self.updates += 1;
                    self.deleted = deleted;
                    self.retrieved = retrieved;
                    server.update_done().unwrap();
                }
                ServerEvent::Closed { reason } => self.closed = Some(reason),
                other => panic!("unexpected event {other:?}"),
            }
        }
        seen
    }

    fn plain(&mut self, server: &mut Server, data: &[u8]) {
        match self.check_plain(data) {
            Some(user) => server.accept_login(user).unwrap(),
            None => server
                .reject(Some(RespCode::Auth), "invalid credentials")
                .unwrap(),
        }
    }
}

/// A message's size with CRLF line ends (RFC 1939 §11), as LIST reports it.
pub fn crlf_size(m: &[u8]) -> u64 {
    let bare_lf = m
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || m[i - 1] != b'\r'))
        .count();
    (m.len() + bare_lf) as u64
}

/// Splits output into lines without their CRLF.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(bytes);
    let mut v: Vec<String> = s.split("\r\n").map(str::to_owned).collect();
    assert_eq!(
        v.pop().as_deref(),
        Some(""),
        "output must end with CRLF: {s:?}"
    );
    v
}

/// Compares one expected `S:` line with one actual line. Status lines compare status and
/// response code (their text is free-form, RFC 1939 §3) plus any `<timestamp>`; every other
/// line compares exactly.
pub fn same_line(expected: &str, actual: &str) -> bool {
    if expected.starts_with("+OK") || expected.starts_with("-ERR") {
        let (Ok(e), Ok(a)) = (
            StatusLine::parse(expected.as_bytes()),
            StatusLine::parse(actual.as_bytes()),
        ) else {
            return false;
        };
        let ts = |t: &str| t.find('<').map(|i| t[i..].to_owned());
        e.status == a.status && e.code == a.code && ts(&e.text) == ts(&a.text)
    } else {
        expected == actual
    }
}

/// One step of a transcript.
pub enum Step {
    Client(String),
    Server(String),
}

/// Reads `C:`/`S:` lines; `S: <message n>` expands to message n's dot-stuffed lines.
pub fn parse_transcript(text: &str, messages: &[Vec<u8>]) -> Vec<Step> {
    let mut steps = Vec::new();
    for raw in text.lines() {
        let l = raw.trim_start();
        if let Some(c) = l.strip_prefix("C:") {
            steps.push(Step::Client(
                c.strip_prefix(' ').unwrap_or(c).trim_start().to_owned(),
            ));
        } else if let Some(s) = l.strip_prefix("S:") {
            let s = s.trim_start();
            if let Some(n) = s
                .strip_prefix("<message ")
                .and_then(|r| r.strip_suffix('>'))
            {
                let m = &messages[n.parse::<usize>().unwrap() - 1];
                for line in String::from_utf8_lossy(m).split_terminator("\r\n") {
                    let stuffed = if line.starts_with('.') {
                        format!(".{line}")
                    } else {
                        line.to_owned()
                    };
                    steps.push(Step::Server(stuffed));
                }
            } else {
                // "S: +" lines keep their trailing space in the RFC; keep one if present.
                steps.push(Step::Server(if s == "+" {
                    "+ ".into()
                } else {
                    s.to_owned()
                }));
            }
        }
    }
    steps
}

/// Replays a transcript against a server engine, the backend answering its decisions.
pub fn replay_server(server: &mut Server, backend: &mut Backend, transcript: &str) {
    let steps = parse_transcript(transcript, &backend.messages.clone());
    backend.drive(server);
    let mut pending: Vec<String> = lines(&server.poll_transmit().unwrap_or_default());
    let mut pending = pending.drain(..).collect::<std::collections::VecDeque<_>>();
    for step in steps {
        match step {
            Step::Client(line) => {
                assert!(
                    pending.is_empty(),
                    "server sent more than the transcript: {pending:?}"
                );
                server.handle_input(format!("{line}\r\n").as_bytes());
                backend.drive(server);
                pending.extend(lines(&server.poll_transmit().unwrap_or_default()));
            }
            Step::Server(expected) => {
                let actual = pending
                    .pop_front()
                    .unwrap_or_else(|| panic!("server did not send {expected:?}"));
                assert!(
                    same_line(&expected, &actual),
                    "expected {expected:?}, got {actual:?}"
                );
            }
        }
    }
    assert!(
        pending.is_empty(),
        "server sent more than the transcript: {pending:?}"
    );
}

/// Moves bytes between a client and a server until neither has anything to say; returns the
/// client's events.
pub fn pump(client: &mut Client, server: &mut Server, backend: &mut Backend) -> Vec<ClientEvent> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let mut moved = false;
        backend.drive(server);
        if let Some(bytes) = server.poll_transmit() {
            client.handle_input(&bytes);
            moved = true;
        }
        while let Some(ev) = client.poll_event() {
            if ev == ClientEvent::StartTls {
                client.tls_established().unwrap();
            }
            events.push(ev);
        }
        if let Some(bytes) = client.poll_transmit() {
            server.handle_input(&bytes);
            moved = true;
        }
        if !moved {
            return events;
        }
    }
    panic!("client and server did not settle");
}

pub fn now() -> Instant {
    Instant::now()
}
