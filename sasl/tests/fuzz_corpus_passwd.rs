//! Replays the committed seed corpus of the `sasl_passwd` fuzz target through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub)]
#[path = "../../fuzz/harness/sasl_passwd.rs"]
mod harness;

#[test]
fn replay_sasl_passwd_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sasl_passwd");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            harness::parse(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no seed files in {}", dir.display());
}
