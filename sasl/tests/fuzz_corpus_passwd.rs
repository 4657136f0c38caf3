//! Replays the committed seed corpus of the `sasl_passwd` fuzz target through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub)]
#[path = "../../fuzz/harness/sasl_passwd.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;

#[test]
fn replay_sasl_passwd_corpus() {
    seeds::replay("sasl_passwd", harness::parse);
}
