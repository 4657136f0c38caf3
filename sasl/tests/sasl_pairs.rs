//! Every mechanism's client against its server, in memory, through `ClientSession` and
//! `ServerSession` and the base64 framing: success in every protocol shape, and the ways an
//! exchange must fail (wrong password, unknown user, wrong authzid, cancellation, channel
//! binding mismatch and downgrade, bad tokens, a forged server).

mod common;

use common::*;
use mailhub_sasl::{
    ChannelBinding, ChannelBindingType, ChannelSecurity, ClientCredentials, ClientSession, Error,
    Mechanism, Registry, Secret, ServerContext, ServerSession, ServerStep, framing,
};

const SCRAMS: [Mechanism; 4] = [
    Mechanism::ScramSha1,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256,
    Mechanism::ScramSha256Plus,
];

const PASSWORD_MECHS: [Mechanism; 7] = [
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::CramMd5,
    Mechanism::ScramSha1,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256,
    Mechanism::ScramSha256Plus,
];

fn binding(data: &[u8]) -> ChannelBinding {
    ChannelBinding {
        kind: ChannelBindingType::TlsExporter,
        data: data.to_vec(),
    }
}

/// A server context fit for `m`: TLS, binding data for -PLUS, a certificate for EXTERNAL.
fn context(m: Mechanism) -> ServerContext {
    ServerContext {
        tls: true,
        hostname: "mail.example.org".into(),
        channel_binding: m
            .needs_channel_binding()
            .then(|| binding(b"exporter-secret-32-bytes........")),
        external_identity: (m == Mechanism::External).then(|| "CN=bob".to_owned()),
        ..Default::default()
    }
}

/// Credentials that should succeed with `m` against [`Users::standard`].
fn good_client(m: Mechanism) -> ClientCredentials {
    let mut c = match m {
        Mechanism::OAuthBearer | Mechanism::XOAuth2 => ClientCredentials {
            authcid: "alice".into(),
            token: Some(Secret::new("alice-token".into())),
            host: Some(("mail.example.org".into(), 993)),
            ..Default::default()
        },
        Mechanism::Anonymous => ClientCredentials {
            anonymous_trace: Some("visitor@example.net".into()),
            ..Default::default()
        },
        Mechanism::External => ClientCredentials::default(),
        _ => password_client("alice", "wonderland"),
    };
    if m.needs_channel_binding() {
        c.channel_binding = Some(binding(b"exporter-secret-32-bytes........"));
    }
    c
}

fn expected_user(m: Mechanism) -> &'static str {
    match m {
        Mechanism::Anonymous => "anonymous",
        Mechanism::External => "bob",
        _ => "alice",
    }
}

#[test]
fn every_mechanism_succeeds_in_every_protocol_shape() {
    let users = Users::standard();
    for m in Mechanism::ALL {
        for p in ALL_PROTOCOLS {
            let (result, t) = run(m, good_client(m), context(m), &users, p);
            let outcome = result.unwrap_or_else(|e| panic!("{m} {p:?}: {e:?}\n{:#?}", t.lines));
            assert_eq!(outcome.user(), expected_user(m), "{m} {p:?}");
            let is_scram = SCRAMS.contains(&m);
            // Data with success only where the protocol carries it; otherwise SCRAM's
            // signature went as a last challenge, answered with an empty response.
            assert_eq!(
                outcome.additional_data.is_some(),
                is_scram && p.success_data,
                "{m} {p:?}"
            );
            if is_scram && !p.success_data {
                let n = t.messages.len();
                assert!(t.messages[n - 2].1.starts_with(b"v="), "{m} {:#?}", t.lines);
                assert_eq!(t.messages[n - 1], (true, Vec::new()));
            }
            // Without an initial response a client-first mechanism gets an empty challenge.
            if !p.initial_response && m.client_first() {
                assert_eq!(t.messages[0], (false, Vec::new()), "{m}");
            }
            if p.initial_response && m.client_first() {
                assert!(t.lines[0].starts_with("C: [ir]"), "{m}");
            }
        }
    }
}

#[test]
fn wrong_password_fails_for_every_password_mechanism() {
    let users = Users::standard();
    for m in PASSWORD_MECHS {
        let mut client = good_client(m);
        client.password = Some(Secret::new("wonderlang".into()));
        let (result, t) = run(m, client, context(m), &users, SMTP);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::AuthenticationFailed),
            "{m}"
        );
        if SCRAMS.contains(&m) {
            // SCRAM fails at the proof: the server sent its first message.
            assert!(t.messages[1].1.starts_with(b"r="), "{m}");
        }
    }
}

#[test]
fn unknown_user_looks_like_a_wrong_password() {
    let users = Users::standard();
    for m in PASSWORD_MECHS {
        let client = ClientCredentials {
            channel_binding: good_client(m).channel_binding,
            ..password_client("mallory", "whatever")
        };
        let (result, t) = run(m, client, context(m), &users, SMTP);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::AuthenticationFailed),
            "{m}"
        );
        if SCRAMS.contains(&m) {
            let first = String::from_utf8(t.messages[1].1.clone()).unwrap();
            assert!(
                first.contains(",s=") && first.ends_with(",i=4096"),
                "{first}"
            );
        }
    }
    // The decoy salt is the same on every attempt, like a real user's, and the decoy key
    // changes it.
    let salt_of = |ctx: ServerContext| {
        let mut s = ServerSession::new(Mechanism::ScramSha256, ctx).unwrap();
        let ServerStep::Challenge(c) = s
            .start(Some(b"n,,n=mallory,r=abcdefghijklmnop"), &users)
            .unwrap()
        else {
            panic!()
        };
        let c = String::from_utf8(c).unwrap();
        c.split(',')
            .find(|a| a.starts_with("s="))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        salt_of(ServerContext::default()),
        salt_of(ServerContext::default())
    );
    let keyed = || ServerContext {
        scram_decoy_key: Secret::new(b"per-site secret".to_vec()),
        ..Default::default()
    };
    assert_ne!(salt_of(ServerContext::default()), salt_of(keyed()));
    assert_eq!(salt_of(keyed()), salt_of(keyed()));
}

#[test]
fn known_user_without_usable_secret_needs_a_transition() {
    let users = Users::standard();
    for m in [
        Mechanism::CramMd5,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
    ] {
        let client = ClientCredentials {
            channel_binding: good_client(m).channel_binding,
            ..password_client("legacy", "old")
        };
        let (result, _) = run(m, client, context(m), &users, SMTP);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::TransitionNeeded),
            "{m}"
        );
    }
}

#[test]
fn store_outage_is_temporary() {
    let users = Users {
        down: true,
        ..Users::standard()
    };
    for m in Mechanism::ALL {
        let (result, _) = run(m, good_client(m), context(m), &users, SMTP);
        match result.unwrap_err() {
            Failure::Server(e @ Error::Temporary(_)) => {
                assert_eq!(e.kind(), mailhub_sasl::ErrorKind::Temporary)
            }
            other => panic!("{m}: {other:?}"),
        }
    }
}

#[test]
fn authorization_identity_is_checked() {
    let users = Users::standard();
    let with_authzid = [
        Mechanism::Plain,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
    ];
    for m in with_authzid {
        // alice may not act as bob.
        let mut client = good_client(m);
        client.authzid = Some("bob".into());
        let (result, _) = run(m, client, context(m), &users, IMAP4REV2);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::NotAuthorized),
            "{m}"
        );
    }
    for m in [
        Mechanism::Plain,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
    ] {
        // admin may act as alice (the `user*admin` proxy login).
        let client = ClientCredentials {
            authzid: Some("alice".into()),
            channel_binding: good_client(m).channel_binding,
            ..password_client("admin", "s3cret")
        };
        let (result, _) = run(m, client, context(m), &users, SMTP);
        let outcome = result.unwrap();
        assert_eq!(
            (outcome.authcid.as_str(), outcome.user()),
            ("admin", "alice"),
            "{m}"
        );
        // An authzid equal to the authcid is no request at all.
        let mut client = good_client(m);
        client.authzid = Some("alice".into());
        assert_eq!(
            run(m, client, context(m), &users, SMTP).0.unwrap().user(),
            "alice"
        );
    }
    // SCRAM escapes ',' and '=' in the authzid and user name.
    let mut users = Users::standard();
    users.passwords.insert("a,b=c".into(), "pw".into());
    users.proxies.insert(("a,b=c".into(), "x=y,z".into()));
    let client = ClientCredentials {
        authzid: Some("x=y,z".into()),
        ..password_client("a,b=c", "pw")
    };
    let (result, t) = run(
        Mechanism::ScramSha256,
        client,
        context(Mechanism::ScramSha256),
        &users,
        SMTP,
    );
    assert_eq!(result.unwrap().user(), "x=y,z");
    assert!(t.messages[0].1.starts_with(b"n,a=x=3Dy=2Cz,n=a=2Cb=3Dc,r="));
    // EXTERNAL: the certificate's user, or someone it may act as.
    for (authzid, expected) in [
        (None, Ok("bob")),
        (Some("bob"), Ok("bob")),
        (Some("alice"), Err(Error::NotAuthorized)),
    ] {
        let client = ClientCredentials {
            authzid: authzid.map(str::to_owned),
            ..Default::default()
        };
        let (result, _) = run(
            Mechanism::External,
            client,
            context(Mechanism::External),
            &users,
            IMAP_NO_IR,
        );
        assert_eq!(
            result.map(|o| o.authzid).map_err(|e| match e {
                Failure::Server(e) => e,
                Failure::Client(e) => panic!("{e:?}"),
            }),
            expected.map(str::to_owned)
        );
    }
}

#[test]
fn the_client_can_cancel_at_any_challenge() {
    let users = Users::standard();
    for m in Mechanism::ALL {
        let mut s = ServerSession::new(m, context(m)).unwrap();
        assert!(
            matches!(s.start(None, &users).unwrap(), ServerStep::Challenge(_)),
            "{m}"
        );
        assert_eq!(
            s.step_line(framing::CANCEL.as_bytes(), &users),
            Err(Error::Cancelled)
        );
        assert!(s.is_done());
        assert!(matches!(s.step(b"", &users), Err(Error::OutOfSequence(_))));
    }
    // Cancelling after SCRAM's server-first message.
    let m = Mechanism::ScramSha256;
    let mut c = ClientSession::new(m, good_client(m)).unwrap();
    let mut s = ServerSession::new(m, context(m)).unwrap();
    let ir = c.start(true).unwrap();
    let _ = s.start(ir.as_deref(), &users).unwrap();
    assert_eq!(s.step_line(b"*", &users), Err(Error::Cancelled));
    assert_eq!(Error::Cancelled.kind(), mailhub_sasl::ErrorKind::Cancelled);
}

#[test]
fn channel_binding_data_must_match() {
    let users = Users::standard();
    for m in [Mechanism::ScramSha1Plus, Mechanism::ScramSha256Plus] {
        let mut client = good_client(m);
        client.channel_binding = Some(binding(b"another connection's exporter..."));
        let (result, _) = run(m, client, context(m), &users, SMTP);
        assert!(
            matches!(result, Err(Failure::Server(Error::ChannelBinding(_)))),
            "{m}: {result:?}"
        );
        // A type the server does not have.
        let mut client = good_client(m);
        client.channel_binding = Some(ChannelBinding {
            kind: ChannelBindingType::TlsUnique,
            data: b"exporter-secret-32-bytes........".to_vec(),
        });
        let (result, _) = run(m, client, context(m), &users, SMTP);
        assert!(
            matches!(result, Err(Failure::Server(Error::ChannelBinding(_)))),
            "{m}"
        );
    }
    // No binding data on the server: a -PLUS session cannot even start.
    assert!(matches!(
        ServerSession::new(Mechanism::ScramSha256Plus, ServerContext::default()),
        Err(Error::ChannelBinding(_))
    ));
    // A -PLUS client without binding data cannot either.
    assert!(
        ClientSession::new(
            Mechanism::ScramSha256Plus,
            password_client("alice", "wonderland")
        )
        .is_err()
    );
}

#[test]
fn downgrade_to_scram_without_plus_is_detected() {
    let users = Users::standard();
    let bound = || binding(b"exporter-secret-32-bytes........");
    for m in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        // The client could bind but saw no -PLUS (an attacker removed it): it sends `y`, and
        // the server, which does support binding, refuses.
        let client = ClientCredentials {
            channel_binding: Some(bound()),
            ..password_client("alice", "wonderland")
        };
        let server = ServerContext {
            channel_binding: Some(bound()),
            ..context(m)
        };
        let (result, t) = run(m, client, server, &users, SMTP);
        assert!(t.messages[0].1.starts_with(b"y,,"));
        assert!(
            matches!(result, Err(Failure::Server(Error::ChannelBinding(_)))),
            "{m}: {result:?}"
        );
        // The same `y` at a server that really cannot bind is fine.
        let client = ClientCredentials {
            channel_binding: Some(bound()),
            ..password_client("alice", "wonderland")
        };
        assert!(run(m, client, context(m), &users, SMTP).0.is_ok());
        // A client that cannot bind says `n`, which every server accepts.
        let server = ServerContext {
            channel_binding: Some(bound()),
            ..context(m)
        };
        let (result, t) = run(m, good_client(m), server, &users, SMTP);
        assert!(result.is_ok() && t.messages[0].1.starts_with(b"n,,"));
    }
    // An attacker who rewrites the client's `y` into `n` is caught by `c=`, which repeats the
    // GS2 header under the proof.
    let m = Mechanism::ScramSha256;
    let mut c = ClientSession::new(
        m,
        ClientCredentials {
            channel_binding: Some(bound()),
            ..password_client("alice", "wonderland")
        },
    )
    .unwrap();
    let mut s = ServerSession::new(m, context(m)).unwrap();
    let mut ir = c.start(true).unwrap().unwrap();
    assert_eq!(ir[0], b'y');
    ir[0] = b'n';
    let ServerStep::Challenge(first) = s.start(Some(&ir), &users).unwrap() else {
        panic!()
    };
    let fin = c.step(&first).unwrap();
    assert!(matches!(
        s.step(&fin, &users),
        Err(Error::ChannelBinding(_))
    ));
    // `p=` with a mechanism that has no binding, and `n` with one that needs it.
    let mut s =
        ServerSession::new(Mechanism::ScramSha256, context(Mechanism::ScramSha256)).unwrap();
    assert!(matches!(
        s.start(Some(b"p=tls-exporter,,n=alice,r=abcdefghijklmnop"), &users),
        Err(Error::ChannelBinding(_))
    ));
    let mut s = ServerSession::new(
        Mechanism::ScramSha256Plus,
        context(Mechanism::ScramSha256Plus),
    )
    .unwrap();
    assert!(matches!(
        s.start(Some(b"n,,n=alice,r=abcdefghijklmnop"), &users),
        Err(Error::ChannelBinding(_))
    ));
}

type ErrorCheck = fn(&Error) -> bool;

#[test]
fn the_scram_client_checks_the_server() {
    let m = Mechanism::ScramSha256;
    let start = || {
        let mut c = ClientSession::new(
            m,
            ClientCredentials {
                random: replay(octets_for_nonce("clientnonceclientnonce00")),
                ..password_client("alice", "wonderland")
            },
        )
        .unwrap();
        let ir = c.start(true).unwrap().unwrap();
        assert_eq!(ir, b"n,,n=alice,r=clientnonceclientnonce00");
        c
    };
    let cases: [(&[u8], ErrorCheck); 7] = [
        (b"r=clientnonceclientnonce00xyz,s=c2FsdA==,i=1000", |e| {
            matches!(e, Error::Malformed(_))
        }),
        (
            b"r=clientnonceclientnonce00xyz,s=c2FsdA==,i=100000000",
            |e| matches!(e, Error::Malformed(_)),
        ),
        (b"r=someoneelsesnonce,s=c2FsdA==,i=4096", |e| {
            *e == Error::NonceMismatch
        }),
        (b"r=clientnonceclientnonce00,s=c2FsdA==,i=4096", |e| {
            *e == Error::NonceMismatch
        }),
        (b"e=unknown-user", |e| {
            *e == Error::ServerError("unknown-user".into())
        }),
        (
            b"m=ext,r=clientnonceclientnonce00xyz,s=c2FsdA==,i=4096",
            |e| matches!(e, Error::Malformed(_)),
        ),
        (b"r=clientnonceclientnonce00xyz,s=!!,i=4096", |e| {
            *e == Error::BadBase64
        }),
    ];
    for (server_first, check) in cases {
        let mut c = start();
        let err = c.step(server_first).unwrap_err();
        assert!(
            check(&err),
            "{}: {err:?}",
            String::from_utf8_lossy(server_first)
        );
        assert!(matches!(c.step(b"x"), Err(Error::OutOfSequence(_))));
    }
    // An `e=` server-final message sent as a challenge.
    let mut c = start();
    let _ = c
        .step(b"r=clientnonceclientnonce00xyz,s=c2FsdA==,i=4096")
        .unwrap();
    assert_eq!(
        c.step(b"e=invalid-proof"),
        Err(Error::ServerError("invalid-proof".into()))
    );
    // A server that proves nothing but says "success".
    let mut c = start();
    let _ = c
        .step(b"r=clientnonceclientnonce00xyz,s=c2FsdA==,i=4096")
        .unwrap();
    assert_eq!(c.finish(None), Err(Error::ServerSignatureMismatch));
}

#[test]
fn bearer_token_errors_use_the_json_challenge() {
    let users = Users::standard();
    for m in [Mechanism::OAuthBearer, Mechanism::XOAuth2] {
        let mut client = good_client(m);
        client.token = Some(Secret::new("expired".into()));
        let (result, t) = run(m, client, context(m), &users, SMTP);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::AuthenticationFailed),
            "{m}"
        );
        let (from_client, json) = &t.messages[1];
        assert!(
            !from_client && json.starts_with(b"{\"status\":"),
            "{m}: {:#?}",
            t.lines
        );
        let dummy: &[u8] = if m == Mechanism::OAuthBearer {
            b"\x01"
        } else {
            b""
        };
        assert_eq!(t.messages[2], (true, dummy.to_vec()), "{m}");
    }
    // Anything but the dummy response after the error is malformed.
    let mut s =
        ServerSession::new(Mechanism::OAuthBearer, context(Mechanism::OAuthBearer)).unwrap();
    let _ = s
        .start(Some(b"n,,\x01auth=Bearer nope\x01\x01"), &users)
        .unwrap();
    assert!(matches!(
        s.step(b"n,,\x01auth=Bearer alice-token\x01\x01", &users),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn anonymous_and_external_policies() {
    let mut users = Users::standard();
    users.anonymous = false;
    let m = Mechanism::Anonymous;
    let (result, _) = run(m, good_client(m), context(m), &users, SMTP);
    assert_eq!(
        result.unwrap_err(),
        Failure::Server(Error::AuthenticationFailed)
    );
    users.anonymous = true;
    // 255 characters of up to four octets each are fine; 256 are not.
    let long: String = "𝄞".repeat(255);
    let client = ClientCredentials {
        anonymous_trace: Some(long.clone()),
        ..Default::default()
    };
    assert!(run(m, client, context(m), &users, SMTP).0.is_ok());
    let mut s = ServerSession::new(m, context(m)).unwrap();
    assert!(matches!(
        s.start(Some(format!("{long}x").as_bytes()), &users),
        Err(Error::Malformed(_))
    ));
    let mut s = ServerSession::new(m, context(m)).unwrap();
    assert!(matches!(
        s.start(Some(b"tab\there"), &users),
        Err(Error::Malformed(_))
    ));
    let client = ClientCredentials {
        anonymous_trace: Some(format!("{long}x")),
        ..Default::default()
    };
    assert!(matches!(
        run(m, client, context(m), &users, SMTP).0,
        Err(Failure::Client(_))
    ));

    // EXTERNAL needs an identity from outside, and one the database knows.
    let m = Mechanism::External;
    for identity in [None, Some("CN=stranger")] {
        let ctx = ServerContext {
            external_identity: identity.map(str::to_owned),
            ..context(m)
        };
        let (result, _) = run(m, good_client(m), ctx, &users, SMTP);
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::AuthenticationFailed)
        );
    }
}

#[test]
fn login_accepts_the_user_name_as_initial_response() {
    let users = Users::standard();
    let mut s = ServerSession::new(Mechanism::Login, context(Mechanism::Login)).unwrap();
    assert_eq!(
        s.start(Some(b"alice"), &users).unwrap(),
        ServerStep::Challenge(b"Password:".to_vec())
    );
    let ServerStep::Success(o) = s.step(b"wonderland", &users).unwrap() else {
        panic!()
    };
    assert_eq!(o.user(), "alice");
    let mut s = ServerSession::new(Mechanism::Login, context(Mechanism::Login)).unwrap();
    assert_eq!(
        s.start(None, &users).unwrap(),
        ServerStep::Challenge(b"Username:".to_vec())
    );
    // CRAM-MD5 has no initial response at all.
    let mut s = ServerSession::new(Mechanism::CramMd5, context(Mechanism::CramMd5)).unwrap();
    assert!(matches!(
        s.start(Some(b"alice"), &users),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn registry_and_limits() {
    let users = Users::standard();
    let registry = Registry::new(Mechanism::ALL);
    let security = ChannelSecurity {
        tls: true,
        channel_binding: true,
        ..Default::default()
    };
    for m in Mechanism::ALL {
        let mut s = registry.server(m.name(), &security, context(m)).unwrap();
        assert_eq!(s.mechanism(), m);
        let _ = s.start(None, &users).unwrap();
    }
    // Over-long messages are refused before any mechanism sees them.
    let ctx = ServerContext {
        max_message: 64,
        ..context(Mechanism::Plain)
    };
    let mut s = ServerSession::new(Mechanism::Plain, ctx).unwrap();
    assert_eq!(
        s.start(Some(&[b'a'; 65]), &users),
        Err(Error::TooLong { limit: 64 })
    );
    // And the client picks the strongest mechanism it can run.
    let offered = ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "XOAUTH2"];
    assert_eq!(
        mailhub_sasl::client::choose(offered, &password_client("a", "b"), true, false),
        Some(Mechanism::ScramSha256)
    );
}

#[test]
fn non_ascii_passwords_go_through_saslprep() {
    // The server stores "I\u{AD}X" (with a soft hyphen); the client types "IX". SASLprep maps
    // the soft hyphen to nothing on both sides, so SCRAM agrees; a full-width space and a
    // decomposed accent are normalised the same way.
    for (stored, typed) in [
        ("I\u{AD}X", "IX"),
        ("pass\u{3000}word", "pass word"),
        ("caf\u{E9}", "cafe\u{301}"),
    ] {
        let mut users = Users::standard();
        users.passwords.insert("ü".into(), stored.into());
        for m in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
            let (result, _) = run(m, password_client("ü", typed), context(m), &users, SMTP);
            assert_eq!(result.unwrap().user(), "ü", "{m} {stored:?}");
        }
    }
    // A password SASLprep refuses (a control character) is used as given, on both sides.
    let mut users = Users::standard();
    users.passwords.insert("ctl".into(), "a\u{7}b".into());
    let (result, _) = run(
        Mechanism::ScramSha256,
        password_client("ctl", "a\u{7}b"),
        context(Mechanism::ScramSha256),
        &users,
        SMTP,
    );
    assert!(result.is_ok());
}
