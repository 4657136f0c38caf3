//! Replays the committed seed corpus of the `mta_aliases` fuzz target through the harness the
//! fuzzer runs, so a fixed crash stays fixed without nightly.

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/mta_aliases.rs"]
mod harness;

#[test]
fn replay_mta_aliases_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/mta_aliases");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            harness::aliases_input(&std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seed files in {}", dir.display());
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep (xorshift) over short inputs built from the dictionary's
    // interesting bytes; proptest-style without the dependency.
    let alphabet = b"ab:,\"\\#|/@%![] \n\t\rx.";
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut buf = Vec::new();
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let len = (s % 40) as usize;
        for _ in 0..len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buf.push(alphabet[(s % alphabet.len() as u64) as usize]);
        }
        harness::aliases_input(&buf);
    }
}
