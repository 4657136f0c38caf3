//! Arbitrary server bytes never make the client engine panic, grow without bound or report
//! events after it closed (the invariants live in the fuzz harness, shared here).

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/imap_client.rs"]
mod harness;

use proptest::prelude::*;

/// Pieces of plausible server output, so that the engine gets past the greeting.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR] hi\r\n".to_vec()),
        Just(b"* PREAUTH ok\r\n".to_vec()),
        Just(b"+ go\r\n".to_vec()),
        Just(b"+ aGk=\r\n".to_vec()),
        Just(b"* 3 EXISTS\r\n".to_vec()),
        Just(b"* 1 FETCH (BODY[] {10}\r\n".to_vec()),
        Just(b"0123456789)\r\n".to_vec()),
        Just(b"* BYE x\r\n".to_vec()),
        (1u8..8, prop_oneof![Just("OK"), Just("NO"), Just("BAD")])
            .prop_map(|(n, k)| format!("A{n} {k} done\r\n").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_server_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        harness::client_input(&bytes);
    }

    #[test]
    fn plausible_server_sessions_never_panic(
        ctl in any::<u8>(),
        parts in proptest::collection::vec(fragment(), 0..24),
    ) {
        let mut data = vec![ctl];
        for p in parts {
            data.extend(p);
        }
        harness::client_input(&data);
    }
}
