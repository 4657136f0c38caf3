//! Replays the committed seed corpus of the `imap_client` fuzz target through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/imap_client.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;

#[test]
fn replay_imap_client_corpus() {
    seeds::replay("imap_client", harness::client_input);
}
