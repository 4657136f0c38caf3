//! Replays the committed seed corpora of the `sasl_server` and `sasl_client` fuzz targets
//! through the same harness the fuzzer runs, so that a fixed crash stays fixed without nightly.
//! Some seeds are complete valid exchanges; a test below checks that they still succeed, so the
//! corpus keeps reaching the deep states of each mechanism.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/sasl.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::corpus;

use mailhub_sasl::{ServerContext, ServerSession, ServerStep};

#[test]
fn replay_sasl_server_corpus() {
    for (_, data) in corpus("sasl_server") {
        harness::server_input(&data);
    }
}

#[test]
fn replay_sasl_client_corpus() {
    for (_, data) in corpus("sasl_client") {
        harness::client_input(&data);
    }
}

/// The valid-exchange seeds really authenticate: run them by hand and look for success.
#[test]
fn valid_server_seeds_reach_success() {
    let users = harness::FuzzUsers;
    let mut successes = 0;
    for (path, data) in corpus("sasl_server") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let should_succeed = ![
            "bad",
            "wrong",
            "unknown",
            "downgrade",
            "cancel",
            "escape",
            "extension",
            "discovery",
        ]
        .iter()
        .any(|w| name.contains(w));
        let mechanism = harness::MECHANISMS[usize::from(data[0]) % harness::MECHANISMS.len()];
        let flags = data[1];
        let context = ServerContext {
            tls: true,
            channel_binding: (flags & 4 != 0).then(|| mailhub_sasl::ChannelBinding {
                kind: mailhub_sasl::ChannelBindingType::TlsExporter,
                data: b"fuzz-channel-binding".to_vec(),
            }),
            external_identity: (flags & 8 != 0).then(|| "CN=user".to_owned()),
            success_data: flags & 2 != 0,
            hostname: "fuzz.example".to_owned(),
            random: harness::counting_random(),
            ..Default::default()
        };
        let mut s = ServerSession::new(mechanism, context).unwrap();
        let mut lines = data[2..].split(|b| *b == b'\n');
        let decode = |l: &[u8]| {
            if flags & 16 != 0 {
                mailhub_sasl::framing::decode_response(l, 1 << 14)
            } else {
                Ok(l.to_vec())
            }
        };
        let first = if flags & 1 != 0 {
            Some(decode(lines.next().unwrap()).unwrap())
        } else {
            None
        };
        let mut step = s.start(first.as_deref(), &users);
        let succeeded = loop {
            match step {
                Ok(ServerStep::Challenge(_)) => match lines.next() {
                    Some(l) => step = decode(l).and_then(|l| s.step(&l, &users)),
                    None => break false,
                },
                Ok(ServerStep::Success(_)) => break true,
                Err(_) => break false,
            }
        };
        assert_eq!(succeeded, should_succeed, "{name}");
        successes += usize::from(succeeded);
    }
    assert!(successes >= 10, "only {successes} seeds authenticate");
}
