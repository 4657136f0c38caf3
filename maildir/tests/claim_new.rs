//! `Maildir::claim_new`: the reader whose rename takes a message from `new/` to `cur/` is the
//! only one told it did (Dovecot's rule for IMAP `\Recent`, RFC 3501 §2.3.2).

use std::sync::{Arc, Barrier};

use mailhub_maildir::{Flags, Maildir, Subdir};

const MSG: &[u8] = b"From: a@example.org\nSubject: hi\n\nbody\n";

#[test]
fn claim_moves_once_and_second_claim_gets_none() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("Maildir")).unwrap();
    let entry = md.deliver(MSG).unwrap();
    assert_eq!(entry.subdir(), Subdir::New);

    let claimed = md.claim_new(&entry).unwrap().expect("first claim renames");
    assert_eq!(claimed.subdir(), Subdir::Cur);
    assert_eq!(claimed.base(), entry.base());
    assert_eq!(claimed.file_name(), format!("{}:2,", entry.base()));
    assert!(md.entry_path(&claimed).is_file());
    assert!(!md.entry_path(&entry).exists());

    // The stale entry from the same listing, and the entry already in cur/: nothing to claim.
    assert_eq!(md.claim_new(&entry).unwrap(), None);
    assert_eq!(md.claim_new(&claimed).unwrap(), None);
    assert!(md.entry_path(&claimed).is_file());
}

#[test]
fn claim_keeps_flags_of_a_name_in_new() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("Maildir")).unwrap();
    let delivered = md.deliver(MSG).unwrap();
    // Some agents deliver into new/ with an info suffix already.
    let flagged = format!("{}:2,S", delivered.base());
    std::fs::rename(
        md.entry_path(&delivered),
        md.path().join("new").join(&flagged),
    )
    .unwrap();
    let entry = md
        .list(Subdir::New)
        .unwrap()
        .into_iter()
        .next()
        .expect("listed");
    let claimed = md.claim_new(&entry).unwrap().expect("claimed");
    assert_eq!(claimed.file_name(), flagged);
    assert_eq!(claimed.flags(), Flags::SEEN);
}

#[test]
fn racing_readers_claim_each_message_exactly_once() {
    const READERS: usize = 4;
    const MESSAGES: usize = 20;
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("Maildir")).unwrap();
    for _ in 0..MESSAGES {
        md.deliver(MSG).unwrap();
    }
    // Every reader lists new/ before any claims, as sessions selecting at once would.
    let listing = md.list(Subdir::New).unwrap();
    assert_eq!(listing.len(), MESSAGES);
    let barrier = Arc::new(Barrier::new(READERS));
    let handles: Vec<_> = (0..READERS)
        .map(|_| {
            let (md, listing, barrier) = (md.clone(), listing.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                listing
                    .iter()
                    .filter_map(|e| md.claim_new(e).unwrap())
                    .map(|e| e.base().to_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let mut expected: Vec<String> = listing.iter().map(|e| e.base().to_owned()).collect();
    expected.sort();
    assert_eq!(all, expected, "each message claimed by exactly one reader");
    assert!(md.list(Subdir::New).unwrap().is_empty());
    assert_eq!(md.list(Subdir::Cur).unwrap().len(), MESSAGES);
}

#[test]
fn a_claim_is_no_flag_change_for_condstore() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("Maildir")).unwrap();
    md.deliver(MSG).unwrap();
    md.deliver(MSG).unwrap();
    let before = md.sync_uids().unwrap();
    for m in &before.messages {
        assert!(md.claim_new(&m.entry).unwrap().is_some());
    }
    let after = md.sync_uids().unwrap();
    assert_eq!(after.highest_modseq, before.highest_modseq);
    for (b, a) in before.messages.iter().zip(&after.messages) {
        assert_eq!((a.uid, a.modseq), (b.uid, b.modseq));
        assert_eq!(a.entry.subdir(), Subdir::Cur);
    }
    // A real flag change still gets a new mod-sequence.
    md.set_flags(&after.messages[0].entry, Flags::SEEN).unwrap();
    let flagged = md.sync_uids().unwrap();
    assert!(flagged.messages[0].modseq > after.messages[0].modseq);
    assert_eq!(flagged.messages[1].modseq, after.messages[1].modseq);
}
