//! Replays the committed seed corpora of the `pop3_server` and `pop3_client` fuzz targets
//! through the same harness the fuzzer runs, so that a fixed crash stays fixed without nightly.
//! A test below checks that the full-session seeds still reach the end of a session, so the
//! corpus keeps covering the deep states.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/pop3.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::corpus;

use std::path::PathBuf;
use std::time::Instant;

use mailhub_pop3_proto::server::{Maildrop, Server, ServerEvent, ServerOptions};

#[test]
fn replay_pop3_server_corpus() {
    for (path, data) in corpus("pop3_server") {
        eprintln!("{}", path.display());
        harness::server_input(&data);
    }
}

#[test]
fn replay_pop3_client_corpus() {
    for (path, data) in corpus("pop3_client") {
        eprintln!("{}", path.display());
        harness::client_input(&data);
    }
}

#[test]
fn full_session_seed_reaches_update() {
    let data = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/pop3_server/full-session-user-pass"),
    )
    .unwrap();
    let mut server = Server::new(
        ServerOptions {
            loopback: data[0] & 1 != 0,
            ..ServerOptions::default()
        },
        Instant::now(),
    );
    server.handle_input(&data[2..]);
    let mut update = false;
    while let Some(ev) = server.poll_event() {
        match ev {
            ServerEvent::Login { user, .. } => server.accept_login(user).unwrap(),
            ServerEvent::LockMaildrop { .. } => server
                .load_maildrop(Maildrop {
                    messages: (0..3)
                        .map(|i| mailhub_pop3_proto::server::MessageInfo {
                            size: 10,
                            uid: format!("u{i}").try_into().unwrap(),
                        })
                        .collect(),
                    ..Maildrop::default()
                })
                .unwrap(),
            ServerEvent::Retrieve { .. } => server.message_end().unwrap(),
            ServerEvent::Update { deleted, .. } => {
                assert_eq!(deleted.len(), 1);
                update = true;
                server.update_done().unwrap();
            }
            _ => {}
        }
    }
    let _ = server.poll_transmit();
    assert!(update && server.is_closed());
}
