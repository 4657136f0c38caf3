//! The committed seed corpus of a fuzz target, for each crate's replay tests
//! (`#[path = "../../fuzz/harness/seeds.rs"] mod seeds;`), which run the seeds through the
//! same harness function the fuzzer runs, so a fixed crash stays fixed without nightly. Not a
//! fuzz target itself.

use std::path::PathBuf;

/// Every seed file of `fuzz/corpus/<target>/`, sorted by name, with its bytes. Panics when the
/// folder is missing or empty: a replay over nothing would prove nothing.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    // Every crate is one folder below the repository root.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed files in {}", dir.display());
    files
}

/// Runs `run` over every seed of `target`; a seed that panics is named.
pub fn replay(target: &str, run: impl Fn(&[u8])) {
    for (path, data) in corpus(target) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(r.is_ok(), "seed {} panicked", path.display());
    }
}
