//! Replays the committed seed corpus of the `imap_server` fuzz target through the same
//! harness the fuzzer runs, so that a fixed crash stays fixed without nightly.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/imap_server.rs"]
mod harness;

use std::path::PathBuf;

#[test]
fn replay_imap_server_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/imap_server");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed files in {}", dir.display());
    for p in files {
        harness::server_input(&std::fs::read(&p).unwrap());
    }
}

/// Arbitrary client bytes never panic the server or make it send something unparsable.
mod arbitrary {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_input_is_answered_with_well_formed_responses(
            data in proptest::collection::vec(any::<u8>(), 0..600)
        ) {
            super::harness::server_input(&data);
        }

        #[test]
        fn command_soup_is_answered_with_well_formed_responses(
            ctl in any::<u8>(),
            lines in proptest::collection::vec(
                prop_oneof![
                    Just("a LOGIN fred sesame\r\n".to_string()),
                    Just("a SELECT INBOX\r\n".to_string()),
                    Just("a EXAMINE INBOX\r\n".to_string()),
                    Just("a FETCH 1:* (FLAGS UID)\r\n".to_string()),
                    Just("a UID FETCH 1:* FAST\r\n".to_string()),
                    Just("a NOOP\r\n".to_string()),
                    Just("a IDLE\r\n".to_string()),
                    Just("DONE\r\n".to_string()),
                    Just("a UNSELECT\r\n".to_string()),
                    Just("a AUTHENTICATE PLAIN\r\n".to_string()),
                    Just("AGZyZWQAc2VzYW1l\r\n".to_string()),
                    Just("a ENABLE IMAP4rev2\r\n".to_string()),
                    Just("a ENABLE QRESYNC\r\n".to_string()),
                    Just("a SELECT INBOX (QRESYNC (7 1 1:9 (1:2 2,3)))\r\n".to_string()),
                    Just("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n".to_string()),
                    Just("a STORE 1 +FLAGS (\\Deleted)\r\n".to_string()),
                    Just("a EXPUNGE\r\n".to_string()),
                    Just("a FETCH 1:* (UID BODY[])\r\n".to_string()),
                    Just("a THREAD REFERENCES UTF-8 ALL\r\n".to_string()),
                    Just("a SORT RETURN (MIN ALL) (SUBJECT) UTF-8 ALL\r\n".to_string()),
                    Just("a SEARCH YOUNGER 100000\r\n".to_string()),
                    Just("a LIST \"\" * RETURN (STATUS (MESSAGES))\r\n".to_string()),
                    "[a-z0-9 ]{0,20}\r\n",
                ],
                0..30,
            )
        ) {
            let mut data = vec![ctl];
            data.extend(lines.concat().into_bytes());
            super::harness::server_input(&data);
        }
    }
}
