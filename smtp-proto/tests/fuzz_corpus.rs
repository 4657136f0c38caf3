//! Replays the committed fuzz seeds (`fuzz/corpus/smtp_*`) through the fuzz harness, so a
//! fixed crash stays fixed in a normal `cargo test`.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/smtp.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::replay;

#[test]
fn smtp_server_corpus() {
    replay("smtp_server", harness::server_input);
}

#[test]
fn smtp_client_corpus() {
    replay("smtp_client", harness::client_input);
}

#[test]
fn smtp_path_corpus() {
    replay("smtp_path", harness::path);
}

#[test]
fn smtp_command_corpus() {
    replay("smtp_command", harness::command);
}

#[test]
fn smtp_data_corpus() {
    replay("smtp_data", harness::data_stream);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// A poor man's fuzz run of every entry point, so their own invariants are exercised on
    /// stable too.
    #[test]
    fn harness_on_random_input(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        harness::server_input(&data);
        harness::client_input(&data);
        harness::path(&data);
        harness::command(&data);
        harness::data_stream(&data);
    }
}
