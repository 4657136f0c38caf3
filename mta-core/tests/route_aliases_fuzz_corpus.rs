//! Replays the committed seed corpus of the `mta_aliases` fuzz target through the harness the
//! fuzzer runs, so a fixed crash stays fixed without nightly.

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/mta_aliases.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;

#[test]
fn replay_mta_aliases_corpus() {
    seeds::replay("mta_aliases", harness::aliases_input);
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
