//! Replays the committed fuzz seeds (`fuzz/corpus/mbox_*`) through the fuzz harness, so that a
//! fixed crash stays fixed without a nightly toolchain.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub)]
#[path = "../../fuzz/harness/mbox.rs"]
mod harness;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn mbox_reader_corpus() {
    replay("mbox_reader", harness::reader);
}

#[test]
fn mbox_metadata_corpus() {
    replay("mbox_metadata", harness::metadata);
}
