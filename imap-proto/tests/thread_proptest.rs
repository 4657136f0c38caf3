//! THREAD=REFERENCES (RFC 5256 §3) over arbitrary message graphs (missing, repeated and
//! self-referencing Message-IDs, reference loops, shared subjects): it ends, and every message
//! appears exactly once in the threads; the base subject never panics and never keeps
//! leading or trailing white space.

use std::num::NonZeroU32;

use mailhub_imap_proto::response::Thread;
use mailhub_imap_proto::search_eval::{ThreadMessage, base_subject, thread_references};
use proptest::prelude::*;

fn ids(t: &Thread, out: &mut Vec<u32>) {
    out.extend(t.members.iter().map(|n| n.get()));
    for c in &t.children {
        ids(c, out);
    }
}

/// RFC 5256 §5: a thread-list is not empty and nested lists come two or more at a time.
fn well_formed(t: &Thread) -> bool {
    (!t.members.is_empty() || t.children.len() >= 2)
        && t.children.len() != 1
        && t.children.iter().all(well_formed)
}

fn message() -> impl Strategy<Value = (Option<u8>, Vec<u8>, u8, bool, i64)> {
    (
        proptest::option::of(0u8..12),
        proptest::collection::vec(0u8..12, 0..4),
        0u8..4,
        any::<bool>(),
        0i64..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_message_is_threaded_once(msgs in proptest::collection::vec(message(), 0..25)) {
        let input: Vec<ThreadMessage> = msgs
            .iter()
            .enumerate()
            .map(|(i, (mid, refs, subject, reply, sent))| ThreadMessage {
                id: NonZeroU32::new(i as u32 + 1).unwrap(),
                message_id: mid.map(|m| format!("m{m}@x")),
                references: refs.iter().map(|r| format!("m{r}@x")).collect(),
                subject: format!("{}s{subject}", if *reply { "Re: " } else { "" }),
                sent: *sent,
            })
            .collect();
        let threads = thread_references(&input);
        let mut seen = Vec::new();
        for t in &threads {
            ids(t, &mut seen);
            prop_assert!(well_formed(t), "{:?}", t);
        }
        seen.sort_unstable();
        let want: Vec<u32> = (1..=input.len() as u32).collect();
        prop_assert_eq!(seen, want);
    }

    #[test]
    fn base_subject_is_trimmed(s in "[ \\t]{0,2}((re|fwd?|RE|Fw)[ ]?(\\[[a-z ]{0,4}\\])?:|\\[fwd:|\\(fwd\\)|[a-z ]{0,5}|\\]|\\[[a-z]{0,3}\\]){0,6}[ \\t]{0,2}") {
        let b = base_subject(&s);
        prop_assert_eq!(b.trim(), b.as_str());
    }
}
