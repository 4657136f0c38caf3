//! Replays the committed fuzz seeds (`fuzz/corpus/mbox_*`) through the fuzz harness, so that a
//! fixed crash stays fixed without a nightly toolchain.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub)]
#[path = "../../fuzz/harness/mbox.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::replay;

#[test]
fn mbox_reader_corpus() {
    replay("mbox_reader", harness::reader);
}

#[test]
fn mbox_metadata_corpus() {
    replay("mbox_metadata", harness::metadata);
}
