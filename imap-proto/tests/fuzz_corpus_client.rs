//! Replays the committed seed corpus of the `imap_client` fuzz target through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/imap_client.rs"]
mod harness;

use std::path::PathBuf;

#[test]
fn replay_imap_client_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/imap_client");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed files in {}", dir.display());
    for p in files {
        harness::client_input(&std::fs::read(&p).unwrap());
    }
}
