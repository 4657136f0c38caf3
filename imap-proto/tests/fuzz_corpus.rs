//! Replays the committed seed corpora of the `imap_command`, `imap_response`,
//! `imap_command_roundtrip` and `imap_response_roundtrip` fuzz targets through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/imap.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::corpus;

#[test]
fn replay_imap_command_corpus() {
    for (_, data) in corpus("imap_command") {
        harness::command(&data);
    }
}

#[test]
fn replay_imap_response_corpus() {
    for (_, data) in corpus("imap_response") {
        harness::response(&data);
    }
}

#[test]
fn replay_imap_command_roundtrip_corpus() {
    for (_, data) in corpus("imap_command_roundtrip") {
        harness::command_roundtrip(&data);
    }
}

#[test]
fn replay_imap_response_roundtrip_corpus() {
    for (_, data) in corpus("imap_response_roundtrip") {
        harness::response_roundtrip(&data);
    }
}

/// The valid seeds really parse, so the corpus reaches the deep parts of the grammar.
#[test]
fn valid_seeds_parse() {
    let mut parsed = 0;
    for (path, data) in corpus("imap_command_roundtrip") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ok = mailhub_imap_proto::Command::parse(&data).is_ok();
        assert_eq!(ok, name != "garbage", "{name}");
        parsed += usize::from(ok);
    }
    for (path, data) in corpus("imap_response_roundtrip") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ok = mailhub_imap_proto::Response::parse(&data).is_ok();
        assert_eq!(ok, name != "garbage", "{name}");
        parsed += usize::from(ok);
    }
    assert!(parsed >= 16, "{parsed}");
}
