//! Server scenarios: DELE/RSET and the UPDATE state, the maildrop snapshot, plaintext policy,
//! AUTH edge cases, APOP, UTF8, STLS input discarding, and the limits (line length, errors,
//! idle timeout, buffered input).

mod common;

use std::time::Duration;

use common::{Backend, lines, now, replay_server};
use mailhub_pop3_proto::server::{
    CloseReason, Limits, PlaintextPolicy, Server, ServerEvent, ServerOptions, State,
};
use mailhub_pop3_proto::{Secret, StatusLine, UsageError};

fn backend() -> Backend {
    Backend::default().with_user("alice", "pw").with_messages(&[
        b"Subject: a\r\n\r\none\r\n",
        b"Subject: b\r\n\r\ntwo\r\n",
        b"Subject: c\r\n\r\n.three\r\n",
    ])
}

fn loopback() -> ServerOptions {
    ServerOptions {
        loopback: true,
        ..ServerOptions::default()
    }
}

/// Sends one line and returns the server's answer lines.
fn send(server: &mut Server, backend: &mut Backend, line: &str) -> Vec<String> {
    server.handle_input(format!("{line}\r\n").as_bytes());
    backend.drive(server);
    server
        .poll_transmit()
        .map(|b| lines(&b))
        .unwrap_or_default()
}

fn logged_in(backend: &mut Backend) -> Server {
    let mut s = Server::new(loopback(), now());
    backend.drive(&mut s);
    let _ = s.poll_transmit();
    assert!(send(&mut s, backend, "USER alice")[0].starts_with("+OK"));
    assert!(send(&mut s, backend, "PASS pw")[0].starts_with("+OK"));
    assert_eq!(s.state(), State::Transaction);
    s
}

#[test]
fn dele_rset_and_update() {
    let mut b = backend();
    let mut s = logged_in(&mut b);
    assert_eq!(send(&mut s, &mut b, "STAT"), ["+OK 3 60"]);
    assert!(send(&mut s, &mut b, "DELE 2")[0].starts_with("+OK"));
    for cmd in ["DELE 2", "RETR 2", "LIST 2", "UIDL 2", "TOP 2 0"] {
        assert!(send(&mut s, &mut b, cmd)[0].starts_with("-ERR"), "{cmd}");
    }
    assert!(send(&mut s, &mut b, "RETR 4")[0].starts_with("-ERR"));
    assert_eq!(send(&mut s, &mut b, "STAT"), ["+OK 2 41"]);
    assert_eq!(
        send(&mut s, &mut b, "LIST"),
        ["+OK 2 messages (41 octets)", "1 19", "3 22", "."]
    );
    assert_eq!(
        send(&mut s, &mut b, "UIDL"),
        ["+OK unique-id listing follows", "1 uid-0", "3 uid-2", "."]
    );
    assert!(send(&mut s, &mut b, "RSET")[0].starts_with("+OK"));
    assert_eq!(send(&mut s, &mut b, "STAT"), ["+OK 3 60"]);
    send(&mut s, &mut b, "DELE 3");
    assert_eq!(
        send(&mut s, &mut b, "RETR 1"),
        ["+OK 19 octets", "Subject: a", "", "one", "."]
    );
    assert_eq!(b.updates, 0, "nothing is deleted before QUIT");
    let bye = send(&mut s, &mut b, "QUIT");
    assert!(bye[0].starts_with("+OK"), "{bye:?}");
    assert_eq!(b.updates, 1);
    assert_eq!(b.deleted.iter().map(|m| m.msg).collect::<Vec<_>>(), [3]);
    assert_eq!(b.retrieved.iter().map(|m| m.msg).collect::<Vec<_>>(), [1]);
    assert_eq!(b.closed, Some(CloseReason::Quit));
    assert!(s.is_closed());
}

#[test]
fn dropped_or_idle_session_deletes_nothing() {
    let mut b = backend();
    let t0 = now();
    let mut s = Server::new(loopback(), t0);
    b.drive(&mut s);
    let _ = s.poll_transmit();
    send(&mut s, &mut b, "USER alice");
    send(&mut s, &mut b, "PASS pw");
    send(&mut s, &mut b, "DELE 1");
    s.handle_timeout(t0 + Duration::from_secs(60));
    // RFC 1939 §3: at least ten minutes of idleness are allowed.
    s.handle_timeout(t0 + Duration::from_secs(9 * 60));
    assert!(!s.is_closed());
    let deadline = s.poll_timeout().unwrap();
    s.handle_timeout(deadline);
    b.drive(&mut s);
    assert!(s.poll_transmit().is_none(), "no reply on autologout");
    assert!(s.is_closed());
    assert_eq!(b.closed, Some(CloseReason::Timeout));
    assert_eq!(b.updates, 0);
}

#[test]
fn idle_timeout_is_at_least_ten_minutes() {
    let t0 = now();
    let opts = ServerOptions {
        limits: Limits {
            idle_timeout: Duration::from_secs(5),
            ..Limits::default()
        },
        ..ServerOptions::default()
    };
    let mut s = Server::new(opts, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(600)));
    s.handle_timeout(t0 + Duration::from_secs(599));
    assert!(!s.is_closed());
}

#[test]
fn snapshot_hides_late_mail() {
    let mut b = backend();
    b.late_messages = vec![b"Subject: late\r\n\r\nx\r\n".to_vec()];
    let mut s = logged_in(&mut b);
    assert_eq!(b.messages.len(), 4, "the late message is in the store");
    assert_eq!(send(&mut s, &mut b, "STAT"), ["+OK 3 60"]);
    assert!(send(&mut s, &mut b, "RETR 4")[0].starts_with("-ERR"));
}

#[test]
fn plaintext_policy() {
    let mut b = backend();
    // Not loopback, no TLS: USER refused, not announced.
    let mut s = Server::new(
        ServerOptions {
            stls: true,
            sasl_mechanisms: vec!["PLAIN".into()],
            ..ServerOptions::default()
        },
        now(),
    );
    let _ = s.poll_transmit();
    let capa = send(&mut s, &mut b, "CAPA");
    assert!(
        !capa.iter().any(|l| l == "USER" || l.starts_with("SASL")),
        "{capa:?}"
    );
    assert!(capa.iter().any(|l| l == "STLS"));
    let r = send(&mut s, &mut b, "USER alice");
    assert!(r[0].starts_with("-ERR [AUTH]"), "{r:?}");
    assert!(send(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHB3")[0].starts_with("-ERR"));
    // After STLS both are allowed; STLS is no longer offered.
    assert_eq!(
        send(&mut s, &mut b, "STLS"),
        ["+OK Begin TLS negotiation now"]
    );
    assert!(s.is_tls());
    let capa = send(&mut s, &mut b, "CAPA");
    assert!(capa.iter().any(|l| l == "USER") && capa.iter().any(|l| l == "SASL PLAIN"));
    assert!(!capa.iter().any(|l| l == "STLS"));
    assert!(send(&mut s, &mut b, "STLS")[0].starts_with("-ERR"));
    assert!(send(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHB3")[0].starts_with("+OK"));
    assert_eq!(s.user(), Some("alice"));

    // Policy Never: loopback does not help; Always: no TLS needed.
    let never = ServerOptions {
        loopback: true,
        plaintext: PlaintextPolicy::Never,
        ..ServerOptions::default()
    };
    let mut s = Server::new(never, now());
    let _ = s.poll_transmit();
    assert!(send(&mut s, &mut b, "USER alice")[0].starts_with("-ERR"));
    let always = ServerOptions {
        plaintext: PlaintextPolicy::Always,
        ..ServerOptions::default()
    };
    let mut s = Server::new(always, now());
    assert!(send(&mut s, &mut b, "USER alice")[1].starts_with("+OK"));
}

#[test]
fn stls_discards_pipelined_plaintext() {
    let mut b = backend();
    let mut s = Server::new(
        ServerOptions {
            stls: true,
            ..ServerOptions::default()
        },
        now(),
    );
    let _ = s.poll_transmit();
    // An attacker appends a command to the plaintext STLS line; it must not run under TLS.
    s.handle_input(b"STLS\r\nUSER alice\r\nPASS pw\r\n");
    let events = b.drive(&mut s);
    assert!(events.contains(&ServerEvent::StartTls));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServerEvent::Login { .. }))
    );
    assert_eq!(
        lines(&s.poll_transmit().unwrap()),
        ["+OK Begin TLS negotiation now"]
    );
    // Nor may plaintext that arrives in a later read, before the handshake is done.
    let mut s = Server::new(
        ServerOptions {
            stls: true,
            ..ServerOptions::default()
        },
        now(),
    );
    let _ = s.poll_transmit();
    s.handle_input(b"STLS\r\n");
    assert_eq!(s.poll_event(), Some(ServerEvent::StartTls));
    s.handle_input(b"USER alice\r\n");
    s.tls_established().unwrap();
    assert_eq!(s.poll_event(), None);
    assert_eq!(
        lines(&s.poll_transmit().unwrap()),
        ["+OK Begin TLS negotiation now"]
    );
}

#[test]
fn auth_cancel_bad_base64_and_unknown_mechanism() {
    let mut b = backend();
    let opts = ServerOptions {
        loopback: true,
        sasl_mechanisms: vec!["PLAIN".into()],
        ..ServerOptions::default()
    };
    let mut s = Server::new(opts, now());
    let _ = s.poll_transmit();
    assert_eq!(send(&mut s, &mut b, "AUTH PLAIN"), ["+ "]);
    assert!(send(&mut s, &mut b, "*")[0].starts_with("-ERR"));
    assert_eq!(send(&mut s, &mut b, "AUTH PLAIN"), ["+ "]);
    assert!(send(&mut s, &mut b, "not=base64!")[0].starts_with("-ERR"));
    assert!(send(&mut s, &mut b, "AUTH CRAM-MD5")[0].starts_with("-ERR"));
    assert!(send(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHdyb25n")[0].starts_with("-ERR [AUTH]"));
    assert_eq!(s.state(), State::Authorization);
    assert!(send(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHB3")[0].starts_with("+OK"));
    // RFC 5034 §4: no AUTH after a successful one.
    assert!(send(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHB3")[0].starts_with("-ERR"));
    // A SASL response line may be longer than a command line.
    let mut s = Server::new(
        ServerOptions {
            loopback: true,
            sasl_mechanisms: vec!["PLAIN".into()],
            ..ServerOptions::default()
        },
        now(),
    );
    let _ = s.poll_transmit();
    send(&mut s, &mut b, "AUTH PLAIN");
    let long = "QUFB".repeat(1000);
    let r = send(&mut s, &mut b, &long);
    assert!(
        r[0].starts_with("-ERR [AUTH]"),
        "the long response reached the backend: {r:?}"
    );
}

#[test]
fn apop_needs_timestamp_and_right_digest() {
    let mut b = Backend::default().with_user("mrose", "tanstaaf");
    let mut s = Server::new(ServerOptions::default(), now());
    let greeting = lines(&s.poll_transmit().unwrap());
    assert!(!greeting[0].contains('<'), "no timestamp without APOP");
    assert!(
        send(
            &mut s,
            &mut b,
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb"
        )[0]
        .starts_with("-ERR")
    );

    let opts = ServerOptions {
        apop_timestamp: Some("<1896.697170952@dbc.mtview.ca.us>".into()),
        ..ServerOptions::default()
    };
    let mut s = Server::new(opts.clone(), now());
    let _ = s.poll_transmit();
    assert!(
        send(
            &mut s,
            &mut b,
            "APOP mrose 00000000000000000000000000000000"
        )[0]
        .starts_with("-ERR [AUTH]")
    );
    assert!(
        send(
            &mut s,
            &mut b,
            "APOP nobody c4c9334bac560ecc979e58001b3e22fb"
        )[0]
        .starts_with("-ERR [AUTH]")
    );
    assert!(
        send(
            &mut s,
            &mut b,
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb"
        )[0]
        .starts_with("+OK")
    );
}

#[test]
fn utf8_user_names_need_utf8_mode() {
    let mut b = Backend::default()
        .with_user("jösé", "pw")
        .with_messages(&[]);
    let mut s = Server::new(
        ServerOptions {
            loopback: true,
            utf8: true,
            ..ServerOptions::default()
        },
        now(),
    );
    let _ = s.poll_transmit();
    assert!(send(&mut s, &mut b, "CAPA").contains(&"UTF8 USER".to_owned()));
    assert!(send(&mut s, &mut b, "USER jösé")[0].starts_with("-ERR"));
    assert!(send(&mut s, &mut b, "UTF8")[0].starts_with("+OK"));
    assert!(s.is_utf8());
    assert!(send(&mut s, &mut b, "USER jösé")[0].starts_with("+OK"));
    assert!(send(&mut s, &mut b, "PASS pw")[0].starts_with("+OK"));
    assert!(
        send(&mut s, &mut b, "UTF8")[0].starts_with("-ERR"),
        "UTF8 is an AUTHORIZATION command"
    );
}

#[test]
fn bad_input_keeps_the_session_until_too_many_errors() {
    let mut b = backend();
    let mut s = logged_in(&mut b);
    let long = "NOOP ".to_owned() + &"x".repeat(5000);
    assert!(send(&mut s, &mut b, &long)[0].starts_with("-ERR"));
    assert!(send(&mut s, &mut b, "\u{0}\u{1}garbage")[0].starts_with("-ERR"));
    assert!(
        send(&mut s, &mut b, "USER alice")[0].starts_with("-ERR"),
        "wrong state"
    );
    assert_eq!(send(&mut s, &mut b, "NOOP"), ["+OK"]);
    for _ in 0..6 {
        assert!(send(&mut s, &mut b, "BOGUS")[0].starts_with("-ERR"));
    }
    assert!(!s.is_closed());
    let last = send(&mut s, &mut b, "BOGUS");
    assert!(last[0].starts_with("-ERR"));
    assert!(s.is_closed());
    assert_eq!(b.closed, Some(CloseReason::TooManyErrors));
    assert_eq!(b.updates, 0);
}

#[test]
fn buffered_input_is_bounded() {
    let mut b = backend();
    let opts = ServerOptions {
        limits: Limits {
            max_buffered_input: 1000,
            ..Limits::default()
        },
        ..loopback()
    };
    let mut s = Server::new(opts, now());
    let _ = s.poll_transmit();
    s.handle_input(b"USER alice\r\nPASS pw\r\n");
    // The backend has not answered the login yet; the client keeps pipelining.
    let _ = s.poll_event();
    for _ in 0..200 {
        s.handle_input(b"NOOP\r\n");
    }
    b.drive(&mut s);
    assert!(s.is_closed() || b.closed == Some(CloseReason::InputOverflow));
    assert_eq!(b.closed, Some(CloseReason::InputOverflow));
}

#[test]
fn decisions_out_of_order_are_usage_errors() {
    let mut s = Server::new(ServerOptions::default(), now());
    assert_eq!(s.accept_login("x"), Err(UsageError::NotPending("login")));
    assert!(s.message_chunk(b"x").is_err());
    assert!(s.message_end().is_err());
    assert!(s.update_done().is_err());
    assert!(s.tls_established().is_err());
    assert!(s.auth_challenge(b"").is_err());
    assert!(s.apop_secret(Some(&Secret::from("x"))).is_err());
    assert!(s.reject(None, "x").is_err());
    let greeting = lines(&s.poll_transmit().unwrap());
    let greeting = StatusLine::parse(greeting[0].as_bytes()).unwrap();
    assert!(greeting.is_ok());
}

#[test]
fn quit_before_login_and_reject_mid_message() {
    let mut b = backend();
    let mut s = Server::new(ServerOptions::default(), now());
    replay_server(&mut s, &mut b, "S: +OK\nC: QUIT\nS: +OK bye");
    assert!(s.is_closed());
    assert_eq!(b.updates, 0);

    // A message that fails after its first chunk cannot get an -ERR: the session closes.
    let mut b = backend();
    let mut s = logged_in(&mut b);
    s.handle_input(b"RETR 1\r\n");
    let Some(ServerEvent::Retrieve { .. }) = s.poll_event() else {
        panic!()
    };
    s.message_chunk(b"Subject: a\r\n").unwrap();
    s.reject(None, "disk error").unwrap();
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed {
            reason: CloseReason::Aborted
        })
    );
}

#[test]
fn capa_reflects_state_and_per_user_policies() {
    use mailhub_pop3_proto::Expire;
    use mailhub_pop3_proto::server::{Maildrop, MessageInfo};
    let opts = ServerOptions {
        loopback: true,
        expire: Some((Expire::Days(0), true)),
        login_delay: Some((900, true)),
        implementation: Some("mailhub".into()),
        ..ServerOptions::default()
    };
    let mut b = backend();
    let mut s = Server::new(opts, now());
    let _ = s.poll_transmit();
    let capa = send(&mut s, &mut b, "CAPA");
    assert!(capa.contains(&"EXPIRE 0 USER".to_owned()), "{capa:?}");
    assert!(capa.contains(&"LOGIN-DELAY 900 USER".to_owned()));
    assert!(capa.contains(&"IMPLEMENTATION mailhub".to_owned()));
    s.handle_input(b"USER alice\r\nPASS pw\r\n");
    while let Some(ev) = s.poll_event() {
        match ev {
            ServerEvent::Login { user, .. } => s.accept_login(user).unwrap(),
            ServerEvent::LockMaildrop { .. } => s
                .load_maildrop(Maildrop {
                    messages: vec![MessageInfo {
                        size: 1,
                        uid: "a".try_into().unwrap(),
                    }],
                    expire: Some(Expire::Never),
                    login_delay: Some(60),
                })
                .unwrap(),
            other => panic!("{other:?}"),
        }
    }
    let _ = s.poll_transmit();
    let capa = send(&mut s, &mut b, "CAPA");
    assert!(capa.contains(&"EXPIRE NEVER".to_owned()), "{capa:?}");
    assert!(capa.contains(&"LOGIN-DELAY 60".to_owned()));
    assert!(
        capa.contains(&"USER".to_owned()),
        "USER stays announced in TRANSACTION"
    );
}
