//! The server engine's connection states and the commands that need no mailbox (RFC 9051 §3,
//! §6.1, §6.2; RFC 2177 IDLE; RFC 5161 ENABLE; RFC 2971 ID; RFC 4959 SASL-IR), driven as C:/S:
//! transcripts on a virtual clock. Each test is named after what it proves.

use std::time::{Duration, Instant};

use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{
    CloseReason, Greeting, Server, ServerEvent, ServerOptions, State,
};

/// A session whose caller accepts `fred`/`sesame` (LOGIN or PLAIN) and answers nothing else.
struct Session {
    server: Server,
    now: Instant,
    events: Vec<ServerEvent>,
}

fn plain_user(msg: &[u8]) -> Option<String> {
    let mut parts = msg.split(|b| *b == 0);
    let _authz = parts.next()?;
    let user = parts.next()?;
    let pass = parts.next()?;
    (user == b"fred" && pass == b"sesame").then(|| "fred".to_string())
}

impl Session {
    fn new(options: ServerOptions) -> Self {
        let now = Instant::now();
        let mut s = Session {
            server: Server::new(options, now),
            now,
            events: Vec::new(),
        };
        s.drain();
        s
    }

    fn cleartext() -> Self {
        Self::new(ServerOptions::default())
    }

    fn open() -> Self {
        let mut o = ServerOptions::default();
        o.allow_plaintext = true;
        Self::new(o)
    }

    /// Runs events through the scripted caller; returns nothing, output stays queued.
    fn drain(&mut self) {
        while let Some(e) = self.server.poll_event() {
            match &e {
                ServerEvent::Login {
                    username, password, ..
                } => {
                    if username == "fred" && password.expose() == b"sesame" {
                        self.server.accept_login("fred").unwrap();
                    } else {
                        let code = Some(Code::AuthenticationFailed);
                        self.server.reject(code, "Invalid credentials").unwrap();
                    }
                }
                ServerEvent::AuthStart {
                    initial_response: Some(r),
                    ..
                }
                | ServerEvent::AuthResponse { response: r } => match plain_user(r.expose()) {
                    Some(u) => self.server.accept_login(u).unwrap(),
                    None => {
                        let code = Some(Code::AuthenticationFailed);
                        self.server.reject(code, "Invalid credentials").unwrap();
                    }
                },
                ServerEvent::AuthStart { .. } => self.server.auth_challenge(b"").unwrap(),
                _ => {}
            }
            self.events.push(e);
        }
    }

    fn output(&mut self) -> String {
        let out = self.server.poll_transmit().unwrap_or_default();
        String::from_utf8(out).unwrap()
    }

    /// Feeds `input`, runs the caller, returns what the server sent.
    fn send(&mut self, input: &str) -> String {
        self.server.handle_input(input.as_bytes());
        self.drain();
        self.output()
    }

    /// Replays a transcript: `C:` lines are sent (CRLF added), the `S:` lines after them must
    /// be exactly what the server answered.
    fn transcript(&mut self, t: &str) {
        let mut expect = String::new();
        let mut pending = String::new();
        let flush = |s: &mut Session, pending: &mut String, expect: &mut String| {
            if !pending.is_empty() || !expect.is_empty() {
                let got = s.send(pending);
                assert_eq!(got, *expect, "after C: {pending:?}");
                pending.clear();
                expect.clear();
            }
        };
        for line in t.lines().map(str::trim_start).filter(|l| !l.is_empty()) {
            if let Some(c) = line.strip_prefix("C: ") {
                if !expect.is_empty() {
                    flush(self, &mut pending, &mut expect);
                }
                pending.push_str(c);
                pending.push_str("\r\n");
            } else if let Some(s) = line.strip_prefix("S: ") {
                expect.push_str(s);
                expect.push_str("\r\n");
            } else {
                panic!("bad transcript line {line:?}");
            }
        }
        flush(self, &mut pending, &mut expect);
    }
}

#[test]
fn greeting_on_cleartext_offers_starttls_and_disables_login() {
    let mut o = ServerOptions::default();
    o.starttls = true;
    let mut s = Session::new(o);
    assert_eq!(
        s.output(),
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED SASL-IR LITERAL+ ID \
         ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] IMAP server ready\r\n"
    );
    assert_eq!(s.server.state(), State::NotAuthenticated);
}

#[test]
fn rfc9051_starttls_then_authenticate_plain_with_initial_response() {
    // RFC 9051 §6.2.1 and §6.2.2 (the AUTH=PLAIN example of §6.1.1), with our texts.
    let mut o = ServerOptions::default();
    o.starttls = true;
    let mut s = Session::new(o);
    s.output();
    s.transcript(
        "C: a001 CAPABILITY
         S: * CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED SASL-IR LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE
         S: a001 OK CAPABILITY completed
         C: a002 STARTTLS
         S: a002 OK Begin TLS negotiation now",
    );
    assert_eq!(s.events.last(), Some(&ServerEvent::StartTls));
    s.server.tls_established().unwrap();
    assert!(s.server.is_tls());
    s.transcript(
        "C: a003 CAPABILITY
         S: * CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN SASL-IR LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE
         S: a003 OK CAPABILITY completed
         C: a004 AUTHENTICATE PLAIN AGZyZWQAc2VzYW1l
         S: a004 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] Logged in",
    );
    assert_eq!(
        (s.server.state(), s.server.user()),
        (State::Authenticated, Some("fred"))
    );
}

#[test]
fn starttls_drops_commands_pipelined_in_cleartext() {
    let mut o = ServerOptions::default();
    o.starttls = true;
    let mut s = Session::new(o);
    s.output();
    let out = s.send("a1 STARTTLS\r\na2 LOGIN fred sesame\r\n");
    assert_eq!(out, "a1 OK Begin TLS negotiation now\r\n");
    assert_eq!(s.server.poll_event(), None);
    s.server.tls_established().unwrap();
    assert_eq!(s.send(""), "");
    assert_eq!(s.server.state(), State::NotAuthenticated);
    assert_eq!(
        s.send("a3 STARTTLS\r\n"),
        "a3 BAD STARTTLS not available\r\n"
    );
}

#[test]
fn login_without_tls_is_refused_with_privacyrequired() {
    let mut s = Session::cleartext();
    s.output();
    s.transcript(
        "C: a1 LOGIN fred sesame
         S: a1 NO [PRIVACYREQUIRED] LOGIN needs TLS
         C: a2 AUTHENTICATE PLAIN AGZyZWQAc2VzYW1l
         S: a2 NO [PRIVACYREQUIRED] Mechanism needs TLS",
    );
    assert_eq!(s.server.state(), State::NotAuthenticated);
}

#[test]
fn login_with_literal_password_and_wrong_password() {
    let mut s = Session::open();
    s.output();
    s.transcript(
        "C: a1 LOGIN fred {5}
         S: + Ready for literal data
         C: wrong
         S: a1 NO [AUTHENTICATIONFAILED] Invalid credentials
         C: a2 LOGIN fred {6+}
         C: sesame
         S: a2 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] Logged in",
    );
}

#[test]
fn authenticate_with_continuations_and_cancel() {
    let mut s = Session::open();
    s.output();
    s.transcript(
        "C: a1 AUTHENTICATE PLAIN
         S: + 
         C: *
         S: a1 BAD Authentication cancelled
         C: a2 AUTHENTICATE PLAIN
         S: + 
         C: !!notbase64
         S: a2 BAD Invalid base64
         C: a3 AUTHENTICATE CRAM-MD5
         S: a3 NO Unsupported mechanism
         C: a4 AUTHENTICATE plain
         S: + 
         C: AGZyZWQAc2VzYW1l
         S: a4 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] Logged in",
    );
    let aborted = s
        .events
        .iter()
        .filter(|e| **e == ServerEvent::AuthAborted)
        .count();
    assert_eq!(aborted, 2);
}

#[test]
fn commands_in_the_wrong_state_get_bad() {
    let mut s = Session::open();
    s.output();
    s.transcript(
        "C: a1 SELECT INBOX
         S: a1 BAD Not authenticated
         C: a2 ENABLE IMAP4rev2
         S: a2 BAD Not authenticated
         C: a3 FETCH 1 FLAGS
         S: a3 BAD Not authenticated
         C: a4 LOGIN fred sesame
         S: a4 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] Logged in
         C: a5 LOGIN fred sesame
         S: a5 BAD Already authenticated
         C: a6 FETCH 1 FLAGS
         S: a6 BAD No mailbox selected
         C: a7 COMPRESS DEFLATE
         S: a7 BAD Command not supported
         C: a8 FROB
         S: a8 BAD Unknown command
         C: a9 NOOP
         S: a9 OK NOOP completed",
    );
}

#[test]
fn too_many_errors_end_with_bye() {
    let mut s = Session::cleartext();
    s.output();
    let mut out = String::new();
    for i in 0..11 {
        out = s.send(&format!("x{i} FROB\r\n"));
    }
    assert_eq!(out, "x10 BAD Unknown command\r\n* BYE Too many errors\r\n");
    assert!(s.server.is_closed());
    assert_eq!(
        s.events.last(),
        Some(&ServerEvent::Closed {
            reason: CloseReason::TooManyErrors
        })
    );
    assert_eq!(s.send("a1 NOOP\r\n"), "", "nothing is read after BYE");
}

#[test]
fn huge_literal_before_login_is_refused_without_reading() {
    let mut s = Session::open();
    s.output();
    // A synchronising literal: the client waits for `+`, gets the BAD, never sends the octets.
    assert_eq!(
        s.send("a1 LOGIN fred {1000000}\r\n"),
        "a1 BAD [TOOBIG] Too large\r\n"
    );
    // A non-synchronising one arrives anyway: its octets are skipped, not buffered.
    let mut input = b"a2 LOGIN fred {20000+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 20000));
    input.extend_from_slice(b"\r\na3 NOOP\r\n");
    s.server.handle_input(&input);
    s.drain();
    assert_eq!(
        s.output(),
        "a2 BAD [TOOBIG] Too large\r\na3 OK NOOP completed\r\n"
    );
}

#[test]
fn overlong_line_gets_bad_and_the_session_goes_on() {
    let mut s = Session::cleartext();
    s.output();
    let long = format!("a1 NOOP {}\r\na2 NOOP\r\n", "x".repeat(70_000));
    assert_eq!(
        s.send(&long),
        "a1 BAD Line too long\r\na2 OK NOOP completed\r\n"
    );
}

#[test]
fn idle_until_done_and_broken_idle() {
    let mut s = Session::open();
    s.output();
    s.transcript(
        "C: a1 LOGIN fred sesame
         S: a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] Logged in
         C: a2 IDLE
         S: + idling
         C: done
         S: a2 OK IDLE terminated
         C: a3 IDLE
         S: + idling
         C: a4 NOOP
         S: a3 BAD Expected DONE",
    );
    let idle: Vec<_> = s
        .events
        .iter()
        .filter(|e| matches!(e, ServerEvent::IdleStarted | ServerEvent::IdleEnded))
        .collect();
    assert_eq!(idle.len(), 4);
}

#[test]
fn preauth_and_bye_greetings() {
    let mut o = ServerOptions::default();
    o.greeting = Greeting::PreAuth {
        user: "fred".into(),
    };
    let mut s = Session::new(o);
    assert_eq!(
        s.output(),
        "* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UNSELECT NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UIDPLUS MOVE MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE] IMAP server ready\r\n"
    );
    assert_eq!(s.server.state(), State::Authenticated);
    let mut o = ServerOptions::default();
    o.greeting = Greeting::Bye;
    o.greeting_text = "Too busy".into();
    let mut s = Session::new(o);
    assert_eq!(s.output(), "* BYE Too busy\r\n");
    assert!(s.server.is_closed());
    assert_eq!(
        s.events,
        vec![ServerEvent::Closed {
            reason: CloseReason::Refused
        }]
    );
}

#[test]
fn enable_reports_only_new_known_capabilities() {
    let mut o = ServerOptions::default();
    o.allow_plaintext = true;
    o.utf8_accept = true;
    let mut s = Session::new(o);
    s.output();
    s.send("a1 LOGIN fred sesame\r\n");
    s.transcript(
        "C: a2 ENABLE IMAP4rev2 X-UNKNOWN
         S: * ENABLED IMAP4rev2
         S: a2 OK ENABLE completed
         C: a3 ENABLE imap4rev2 UTF8=ACCEPT
         S: * ENABLED UTF8=ACCEPT
         S: a3 OK ENABLE completed",
    );
    assert!(s.server.is_enabled("IMAP4rev2") && s.server.is_enabled("utf8=accept"));
}

#[test]
fn id_in_any_state_and_logout() {
    let mut o = ServerOptions::default();
    o.id = Some(vec![("name".into(), "mailhub".into())]);
    let mut s = Session::new(o);
    s.output();
    s.transcript(
        r#"C: a1 ID ("name" "sodr" "version" NIL)
           S: * ID ("name" "mailhub")
           S: a1 OK ID completed
           C: a2 LOGOUT
           S: * BYE Logging out
           S: a2 OK LOGOUT completed"#,
    );
    assert!(s.events.contains(&ServerEvent::ClientId {
        fields: Some(vec![
            ("name".into(), Some("sodr".into())),
            ("version".into(), None)
        ])
    }));
    assert!(s.server.is_closed());
}

#[test]
fn idle_client_is_logged_out_on_the_virtual_clock() {
    let mut s = Session::cleartext();
    s.output();
    let t0 = s.now;
    assert_eq!(s.server.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    s.server.handle_timeout(t0 + Duration::from_secs(59));
    assert_eq!(s.output(), "");
    s.server.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(s.output(), "* BYE Autologout; idle for too long\r\n");
    assert!(s.server.is_closed() && s.server.poll_timeout().is_none());
}

#[test]
fn activity_moves_the_deadline_and_login_lengthens_it() {
    let mut s = Session::open();
    s.output();
    let t0 = s.now;
    s.send("a1 LOGIN fred sesame\r\n");
    s.server.handle_timeout(t0 + Duration::from_secs(50));
    let deadline = s.server.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(50 + 30 * 60));
    s.server.handle_timeout(deadline - Duration::from_secs(1));
    assert!(!s.server.is_closed());
}

#[test]
fn decisions_out_of_turn_are_usage_errors() {
    let mut s = Session::cleartext();
    assert!(s.server.accept_login("x").is_err());
    assert!(s.server.auth_challenge(b"x").is_err());
    assert!(s.server.reject(None, "x").is_err());
    assert!(s.server.tls_established().is_err());
    assert_eq!(s.server.state(), State::NotAuthenticated);
}
