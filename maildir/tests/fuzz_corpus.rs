//! Replays the committed seed corpora of the `maildir_*` fuzz targets through the same harness
//! the fuzzer runs, so that a fixed crash stays fixed without nightly. A few seeds are known
//! valid files; the tests below check they still parse, so the corpus keeps reaching the
//! round-trip checks.

// The harness is `pub` for the fuzz crate; in this test crate nothing else can reach it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/maildir.rs"]
mod harness;

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/harness/seeds.rs"]
mod seeds;
use seeds::corpus;

fn seed(target: &str, name: &str) -> Vec<u8> {
    corpus(target)
        .into_iter()
        .find(|(p, _)| p.ends_with(name))
        .expect(name)
        .1
}

#[test]
fn replay_maildir_uidlist_corpus() {
    for (_, data) in corpus("maildir_uidlist") {
        harness::uidlist(&data);
    }
    assert!(mailhub_maildir::UidList::parse(&seed("maildir_uidlist", "dovecot-doc")).is_ok());
}

#[test]
fn replay_maildir_keywords_corpus() {
    for (_, data) in corpus("maildir_keywords") {
        harness::keywords(&data);
    }
    assert!(mailhub_maildir::Keywords::parse(&seed("maildir_keywords", "dovecot-doc")).is_ok());
}

#[test]
fn replay_maildir_maildirsize_corpus() {
    for (_, data) in corpus("maildir_maildirsize") {
        harness::maildirsize(&data);
    }
    let spec = seed("maildir_maildirsize", "spec");
    assert!(mailhub_maildir::quota::MaildirSize::parse(&spec).is_ok());
}

#[test]
fn replay_maildir_filename_corpus() {
    for (_, data) in corpus("maildir_filename") {
        harness::filename(&data);
    }
    let name = String::from_utf8(seed("maildir_filename", "keywords")).unwrap();
    assert!(mailhub_maildir::MessageName::parse(&name).is_ok());
}
