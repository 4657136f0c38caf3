//! Fuzz entry points for the file parsers of `mailhub-maildir`, shared by the cargo-fuzz
//! targets `maildir_uidlist`, `maildir_keywords`, `maildir_maildirsize` and
//! `maildir_filename`, and by `maildir/tests/fuzz_corpus.rs`, which replays the committed seeds
//! in a normal `cargo test`.
//!
//! Each function parses arbitrary bytes (never panicking, whatever they are) and, when the
//! parse succeeds, checks the round trip `parse(serialize(x)) == x`.

use mailhub_maildir::quota::{MaildirSize, QuotaDef};
use mailhub_maildir::{FolderName, Keywords, MessageName, UidList, utf7};

/// `dovecot-uidlist`: parse; a parsed list serializes to bytes that parse to the same list.
pub fn uidlist(data: &[u8]) {
    if let Ok(list) = UidList::parse(data) {
        let again = UidList::parse(&list.to_bytes()).expect("serialized uid list parses");
        assert_eq!(again, list);
        assert!(list.records.windows(2).all(|w| w[0].uid < w[1].uid));
        assert!(list.records.last().is_none_or(|r| r.uid < list.next_uid));
    }
}

/// `dovecot-keywords`: parse and round trip.
pub fn keywords(data: &[u8]) {
    if let Ok(kw) = Keywords::parse(data) {
        let again = Keywords::parse(&kw.to_bytes()).expect("serialized keywords parse");
        assert_eq!(again, kw);
    }
}

/// `maildirsize`: parse; the definition line and the totals survive a recalculated file.
pub fn maildirsize(data: &[u8]) {
    if let Ok(size) = MaildirSize::parse(data) {
        let again = MaildirSize::parse(&size.to_bytes()).expect("serialized maildirsize parses");
        assert_eq!(
            (again.def, again.bytes, again.count),
            (size.def, size.bytes, size.count)
        );
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(def) = QuotaDef::parse(s)
    {
        assert_eq!(QuotaDef::parse(&def.to_string()), Ok(def));
    }
}

/// Message file names, folder directory names and modified UTF-7.
pub fn filename(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = MessageName::parse(s) {
        let again = MessageName::parse(&name.to_string()).expect("displayed name parses");
        assert_eq!(again, name);
        // Adding `:2,` can push a name past the file-name limit; such a rename fails in the
        // file system, so only names that still fit must parse.
        let reflagged = name.with_flags(name.flags()).to_string();
        if reflagged.len() <= mailhub_maildir::MAX_NAME_LEN {
            assert_eq!(
                MessageName::parse(&reflagged).unwrap().flags(),
                name.flags()
            );
        }
    }
    if let Ok(folder) = FolderName::from_dir_name(s) {
        assert_eq!(FolderName::from_dir_name(&folder.dir_name()), Ok(folder));
    }
    if let Ok(decoded) = utf7::decode(s) {
        assert_eq!(
            utf7::encode(&decoded),
            s,
            "strict decoding accepts only canonical input"
        );
    }
    let encoded = utf7::encode(s);
    assert_eq!(utf7::decode(&encoded).as_deref(), Ok(s));
}
