//! Arbitrary bytes at any step of every server mechanism (and every client mechanism) give a
//! typed result, never a panic. Each case first drives a valid exchange part of the way, so
//! that the garbage arrives in the mechanism's later states too, not only at the start.

mod common;

use common::*;
use mailhub_sasl::{
    ChannelBinding, ChannelBindingType, ClientCredentials, ClientSession, ErrorKind, Mechanism,
    Secret, ServerContext, ServerSession, ServerStep,
};
use proptest::prelude::*;

fn binding() -> ChannelBinding {
    ChannelBinding {
        kind: ChannelBindingType::TlsExporter,
        data: b"binding".to_vec(),
    }
}

fn client(m: Mechanism) -> ClientCredentials {
    ClientCredentials {
        authcid: "alice".into(),
        password: Some(Secret::new("wonderland".into())),
        token: Some(Secret::new("alice-token".into())),
        anonymous_trace: Some("trace".into()),
        channel_binding: m.needs_channel_binding().then(binding),
        ..Default::default()
    }
}

fn context(m: Mechanism, success_data: bool) -> ServerContext {
    ServerContext {
        channel_binding: m.needs_channel_binding().then(binding),
        external_identity: Some("CN=bob".into()),
        success_data,
        ..Default::default()
    }
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop::sample::select(Mechanism::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After `valid_steps` genuine client messages, the server gets `garbage` (raw or as a
    /// base64 line) and must answer with a challenge, a success or a peer error.
    #[test]
    fn server_survives_garbage_at_any_step(
        m in mechanism(),
        valid_steps in 0usize..4,
        garbage in prop::collection::vec(any::<u8>(), 0..300),
        as_line in any::<bool>(),
        ir in any::<bool>(),
        success_data in any::<bool>(),
    ) {
        let users = Users::standard();
        let mut s = ServerSession::new(m, context(m, success_data)).unwrap();
        let mut c = ClientSession::new(m, client(m)).unwrap();
        let mut step = if valid_steps == 0 {
            s.start(Some(&garbage), &users)
        } else {
            let first = c.start(ir).unwrap();
            let mut step = s.start(first.as_deref(), &users);
            for _ in 1..valid_steps {
                let Ok(ServerStep::Challenge(ch)) = &step else { break };
                let Ok(resp) = c.step(ch) else { break };
                step = s.step(&resp, &users);
            }
            if let Ok(ServerStep::Challenge(_)) = step {
                if as_line { s.step_line(&garbage, &users) } else { s.step(&garbage, &users) }
            } else {
                step
            }
        };
        // Whatever came back, the session can be asked again without panicking.
        for _ in 0..2 {
            match step {
                Ok(ServerStep::Challenge(_)) => step = s.step(&garbage, &users),
                Ok(ServerStep::Success(o)) => {
                    prop_assert!(!o.authzid.is_empty());
                    break;
                }
                Err(e) => {
                    prop_assert_ne!(e.kind(), ErrorKind::Internal, "{:?}", e);
                    prop_assert!(s.is_done());
                    break;
                }
            }
        }
    }

    /// The same for clients: garbage as any challenge, or as success data.
    #[test]
    fn client_survives_garbage_at_any_step(
        m in mechanism(),
        valid_steps in 0usize..3,
        garbage in prop::collection::vec(any::<u8>(), 0..300),
        finish in any::<bool>(),
    ) {
        let users = Users::standard();
        let mut s = ServerSession::new(m, context(m, false)).unwrap();
        let mut c = ClientSession::new(m, client(m)).unwrap();
        let first = c.start(true).unwrap();
        let mut step = s.start(first.as_deref(), &users);
        for _ in 0..valid_steps {
            let Ok(ServerStep::Challenge(ch)) = &step else { break };
            let Ok(resp) = c.step(ch) else { break };
            step = s.step(&resp, &users);
        }
        let _ = if finish { c.finish(Some(&garbage)) } else { c.step(&garbage).map(drop) };
        let _ = c.step(&garbage);
        let _ = c.finish(None);
    }
}

/// SCRAM messages made of the right attributes in the wrong shapes.
#[test]
fn scram_server_rejects_structured_garbage() {
    let users = Users::standard();
    let firsts: &[&[u8]] = &[
        b"n,,",
        b"n,,n=,r=abc",
        b"n,,r=abc,n=alice",
        b"n,,n=alice",
        b"n,,n=alice,r=",
        b"n,,n=alice,r=a,b",
        b"n,,n=alice,r=\x7f",
        b"n,,n=al\xffice,r=abc",
        b"n,a=,n=alice,r=abc",
        b"n,a=x=2,n=alice,r=abc",
        b"p=,,n=alice,r=abc",
    ];
    for first in firsts {
        let mut s = ServerSession::new(Mechanism::ScramSha256, ServerContext::default()).unwrap();
        let e = s.start(Some(first), &users).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Syntax,
            "{}: {e:?}",
            String::from_utf8_lossy(first)
        );
    }
    let finals: &[&[u8]] = &[
        b"",
        b"c=biws",
        b"c=biws,r=x",
        b"r=x,c=biws,p=AAAA",
        b"c=biws,r=x,p=",
        b"c=!!!!,r=abcdefghijklmnop,p=AAAA",
        b"c=biws,r=wrong,p=AAAA",
        b"c=eSws,r=x,p=AAAA",
    ];
    for fin in finals {
        let mut s = ServerSession::new(Mechanism::ScramSha256, ServerContext::default()).unwrap();
        let _ = s
            .start(Some(b"n,,n=alice,r=abcdefghijklmnop"), &users)
            .unwrap();
        let e = s.step(fin, &users).unwrap_err();
        assert_ne!(e.kind(), ErrorKind::Internal, "{e:?}");
    }
}
