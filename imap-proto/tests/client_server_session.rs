//! The client engine against the server engine, in memory, for the commands both support so
//! far: greeting (OK, PREAUTH, BYE), CAPABILITY, STARTTLS, LOGIN (with LOGINDISABLED before
//! TLS and a literal password), AUTHENTICATE with SASL-IR and a challenge round trip, ID,
//! ENABLE, NOOP, IDLE/DONE and LOGOUT. No sockets: bytes are handed across by the test.

#[path = "client_support.rs"]
mod support;

use std::time::Instant;

use mailhub_imap_proto::client::{
    Client, ClientEvent, ClientOptions, ClientState, CloseReason, UsageError,
};
use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{Greeting, Server, ServerEvent, ServerOptions};
use mailhub_imap_proto::{Atom, CommandBody, Secret, StatusKind};

/// Both engines, with what each reported.
struct Pair {
    client: Client,
    server: Server,
    client_events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
}

impl Pair {
    fn new(opts: ServerOptions) -> Self {
        let now = Instant::now();
        Self {
            client: Client::new(ClientOptions::default(), now),
            server: Server::new(opts, now),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves bytes both ways until neither side has anything to say; `decide` answers the
    /// server's decisions. TLS handshakes "succeed" at once on both sides.
    fn run(&mut self, mut decide: impl FnMut(&mut Server, &ServerEvent)) {
        for _ in 0..100 {
            let mut moved = false;
            if let Some(b) = self.server.poll_transmit() {
                self.client.handle_input(&b);
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                if e == ClientEvent::StartTls {
                    self.client.tls_established().unwrap();
                }
                self.client_events.push(e);
            }
            if let Some(b) = self.client.poll_transmit() {
                self.server.handle_input(&b);
                moved = true;
            }
            while let Some(e) = self.server.poll_event() {
                if e == ServerEvent::StartTls {
                    // The server's OK must leave before the handshake.
                    if let Some(b) = self.server.poll_transmit() {
                        self.client.handle_input(&b);
                    }
                    self.server.tls_established().unwrap();
                }
                decide(&mut self.server, &e);
                self.server_events.push(e);
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("the engines never went quiet");
    }

    fn take_client(&mut self) -> Vec<String> {
        support::briefs(&std::mem::take(&mut self.client_events))
    }
}

fn no_decisions(_: &mut Server, e: &ServerEvent) {
    panic!("unexpected decision {e:?}");
}

fn accept_fred(s: &mut Server, e: &ServerEvent) {
    match e {
        ServerEvent::Login {
            username, password, ..
        } => {
            if username == "fred" && password.expose() == b"sec\rret" {
                s.accept_login("fred").unwrap();
            } else {
                s.reject(Some(Code::AuthenticationFailed), "no").unwrap();
            }
        }
        ServerEvent::StartTls => {}
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn starttls_then_login_with_literal_password() {
    let mut opts = ServerOptions::default();
    opts.starttls = true;
    let mut p = Pair::new(opts);
    p.run(no_decisions);
    assert_eq!(p.take_client(), ["greeting OK [Capability]"]);
    assert!(p.client.has_capability("LOGINDISABLED"));
    assert_eq!(
        p.client.login("fred", &Secret::new("x".into())),
        Err(UsageError::LoginDisabled)
    );
    let t = p.client.starttls().unwrap();
    p.run(accept_fred);
    assert_eq!(
        p.take_client(),
        [format!("{t} OK"), "starttls".into(), "* CAPABILITY".into()]
    );
    assert!(!p.client.has_capability("LOGINDISABLED"));
    assert!(!p.client.has_capability("STARTTLS"));
    let t = p
        .client
        .login("fred", &Secret::new("sec\rret".into()))
        .unwrap();
    p.run(accept_fred);
    assert_eq!(p.take_client(), [format!("{t} OK [Capability]")]);
    assert_eq!(p.client.state(), ClientState::Authenticated);
    assert!(p.client.has_capability("IDLE"));
    assert_eq!(p.client.poll_transmit(), None, "no CAPABILITY needed");
}

#[test]
fn authenticate_with_sasl_ir_and_a_challenge_round_trip() {
    let mut opts = ServerOptions::default();
    opts.allow_plaintext = true;
    opts.sasl_mechanisms = vec!["PLAIN".into(), "X-TWO-STEP".into()];
    let mut p = Pair::new(opts);
    p.run(no_decisions);
    assert_eq!(p.take_client(), ["greeting OK [Capability]"]);
    assert!(p.client.offers("SASL-IR"));
    let ir = Secret::new(b"\0fred\0pw".to_vec());
    let t = p
        .client
        .authenticate(Atom::new("X-TWO-STEP").unwrap(), Some(ir), {
            Box::new(|challenge: &[u8]| Some([b"re:".as_slice(), challenge].concat()))
        })
        .unwrap();
    let mut seen = Vec::new();
    p.run(|s, e| match e {
        ServerEvent::AuthStart {
            mechanism,
            initial_response,
            ..
        } => {
            seen.push(format!("start {mechanism}"));
            assert_eq!(initial_response.as_ref().unwrap().expose(), b"\0fred\0pw");
            s.auth_challenge(b"nonce").unwrap();
        }
        ServerEvent::AuthResponse { response } => {
            seen.push(String::from_utf8_lossy(response.expose()).into_owned());
            s.accept_login("fred").unwrap();
        }
        e => panic!("{e:?}"),
    });
    assert_eq!(seen, ["start X-TWO-STEP", "re:nonce"]);
    assert_eq!(p.take_client(), [format!("{t} OK [Capability]")]);
    assert_eq!(p.client.state(), ClientState::Authenticated);
}

#[test]
fn preauth_id_enable_noop_idle_logout() {
    let mut opts = ServerOptions::default();
    opts.greeting = Greeting::PreAuth {
        user: "fred".into(),
    };
    opts.id = Some(vec![("name".into(), "mailhub".into())]);
    let mut p = Pair::new(opts);
    p.run(no_decisions);
    assert_eq!(p.take_client(), ["greeting PREAUTH [Capability]"]);
    assert_eq!(p.client.state(), ClientState::Authenticated);
    let id = p.client.send(CommandBody::Id(None)).unwrap();
    let en = p
        .client
        .send(CommandBody::Enable(vec![Atom::new("IMAP4rev2").unwrap()]))
        .unwrap();
    let noop = p.client.noop().unwrap();
    p.run(|_, e| {
        assert!(matches!(
            e,
            ServerEvent::ClientId { .. } | ServerEvent::Enabled { .. }
        ))
    });
    assert_eq!(
        p.take_client(),
        [
            "* ID".to_owned(),
            format!("{id} OK"),
            "* ENABLED".into(),
            format!("{en} OK"),
            format!("{noop} OK"),
        ]
    );
    let idle = p.client.idle().unwrap();
    p.run(|_, e| assert_eq!(*e, ServerEvent::IdleStarted));
    assert_eq!(p.take_client(), [format!("{idle} idling")]);
    p.client.idle_done().unwrap();
    p.run(|_, e| assert_eq!(*e, ServerEvent::IdleEnded));
    assert_eq!(p.take_client(), [format!("{idle} OK")]);
    let out = p.client.logout().unwrap();
    p.run(|_, e| assert!(matches!(e, ServerEvent::Closed { .. })));
    assert_eq!(
        p.take_client(),
        [
            "* BYE".to_owned(),
            format!("{out} OK"),
            "closed Logout".into()
        ]
    );
    assert!(p.client.is_closed() && p.server.is_closed());
}

#[test]
fn server_bye_greeting_closes_the_client() {
    let mut opts = ServerOptions::default();
    opts.greeting = Greeting::Bye;
    let mut p = Pair::new(opts);
    let t = p.client.noop().unwrap();
    p.run(|_, e| assert!(matches!(e, ServerEvent::Closed { .. })));
    assert_eq!(
        p.take_client(),
        [
            "greeting BYE".to_owned(),
            format!("{t} abandoned"),
            "closed Bye".into()
        ]
    );
    assert!(matches!(
        p.client_events.last(),
        None | Some(ClientEvent::Closed(CloseReason::Bye(_)))
    ));
}

#[test]
fn wrong_login_is_a_tagged_no_with_its_code() {
    let mut opts = ServerOptions::default();
    opts.allow_plaintext = true;
    let mut p = Pair::new(opts);
    p.run(no_decisions);
    let _ = p.take_client();
    let t = p
        .client
        .login("fred", &Secret::new("wrong".into()))
        .unwrap();
    p.run(accept_fred);
    let ev = std::mem::take(&mut p.client_events);
    assert!(matches!(
        &ev[..],
        [ClientEvent::Completed { tag, kind: StatusKind::No, code: Some(Code::AuthenticationFailed), .. }]
            if *tag == t
    ));
    assert_eq!(p.client.state(), ClientState::NotAuthenticated);
}
