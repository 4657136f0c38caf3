//! Scenario tests of one Maildir and a Maildir++ tree on a real temporary directory.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use mailhub_maildir::quota::QuotaDef;
use mailhub_maildir::{
    Delivery, Error, Flags, FolderName, Maildir, Store, Subdir, UidList, parse_subscriptions,
};

const MSG: &[u8] = b"From: a@example.org\nSubject: hi\n\nbody\n";

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn create_makes_0700_dirs() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("Maildir")).unwrap();
    for sub in ["", "tmp", "new", "cur"] {
        let mode = fs::metadata(md.path().join(sub))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{sub}");
    }
    assert!(matches!(
        Maildir::open(t.path()),
        Err(Error::NotAMaildir { .. })
    ));
}

#[test]
fn deliver_lands_in_new_with_sizes_and_nothing_in_tmp() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let e = md.deliver(MSG).unwrap();
    assert_eq!(e.subdir(), Subdir::New);
    assert_eq!(e.name().size(), Some(MSG.len() as u64));
    assert_eq!(e.name().vsize(), Some(MSG.len() as u64 + 4), "4 bare LFs");
    assert_eq!(
        names(&md.path().join("new")),
        vec![e.file_name().to_owned()]
    );
    assert!(names(&md.path().join("tmp")).is_empty());
    assert_eq!(fs::read(md.entry_path(&e)).unwrap(), MSG);
    assert_eq!(md.message_size(&e).unwrap(), MSG.len() as u64);
}

#[test]
fn append_with_flags_and_date_goes_to_cur() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let how = Delivery::default()
        .with_flags(Flags::SEEN | Flags::FLAGGED)
        .with_mtime(date);
    let e = md.deliver_from(MSG, &how).unwrap();
    assert_eq!(e.subdir(), Subdir::Cur);
    assert!(e.file_name().ends_with(":2,FS"), "{}", e.file_name());
    assert_eq!(
        fs::metadata(md.entry_path(&e)).unwrap().modified().unwrap(),
        date
    );
}

#[test]
fn failed_read_leaves_nothing() {
    struct Broken(usize);
    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("connection reset"));
            }
            self.0 -= 1;
            buf[0] = b'x';
            Ok(1)
        }
    }
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let err = md
        .deliver_from(Broken(10), &Delivery::default())
        .unwrap_err();
    assert!(err.is_temporary());
    for sub in ["tmp", "new", "cur"] {
        assert!(names(&md.path().join(sub)).is_empty(), "{sub}");
    }
}

#[test]
fn new_to_cur_flags_and_expunge() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let e = md.deliver(MSG).unwrap();
    let c = md.move_to_cur(&e).unwrap();
    assert_eq!(c.subdir(), Subdir::Cur);
    assert_eq!(c.file_name(), format!("{}:2,", e.base()));
    let f = md.set_flags(&c, Flags::SEEN | Flags::REPLIED).unwrap();
    assert_eq!(f.file_name(), format!("{}:2,RS", e.base()));
    // Using the stale entry still works: the message is found again by its base.
    let g = md.update_flags(&e, |fl| fl.union(Flags::FLAGGED)).unwrap();
    assert_eq!(g.flags().to_string(), "FRS");
    assert_eq!(md.list(Subdir::Cur).unwrap(), vec![g.clone()]);
    assert!(md.list(Subdir::New).unwrap().is_empty());
    assert!(md.expunge(&e).unwrap());
    assert!(!md.expunge(&g).unwrap());
    assert!(md.list_all().unwrap().is_empty());
}

#[test]
fn copy_links_and_move_keeps_name() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::create(t.path().join("M")).unwrap();
    let arch = store
        .create_folder(&FolderName::new("Archive", '/').unwrap())
        .unwrap();
    let e = store.inbox().deliver(MSG).unwrap();
    let copy = store.inbox().copy_to(&e, &arch, Some(Flags::SEEN)).unwrap();
    assert_ne!(copy.base(), e.base());
    assert_eq!(copy.name().size(), Some(MSG.len() as u64));
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (
        fs::metadata(store.inbox().entry_path(&e)).unwrap(),
        fs::metadata(arch.entry_path(&copy)).unwrap(),
    );
    assert_eq!(a.ino(), b.ino(), "copy is a hard link");
    let moved = store.inbox().move_to(&e, &arch).unwrap();
    assert_eq!(moved.base(), e.base());
    assert!(store.inbox().list_all().unwrap().is_empty());
    assert_eq!(arch.list_all().unwrap().len(), 2);
}

#[test]
fn folders_create_list_rename_delete() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::create(t.path().join("M")).unwrap();
    let n = |s: &str| FolderName::new(s, '/').unwrap();
    store.create_folder(&n("Lists")).unwrap();
    store.create_folder(&n("Lists/Rust")).unwrap();
    store.create_folder(&n("Entwürfe")).unwrap();
    assert!(matches!(
        store.create_folder(&n("Lists")),
        Err(Error::FolderExists(_))
    ));
    assert!(t.path().join("M/.Lists.Rust/maildirfolder").is_file());
    assert!(t.path().join("M/.Entw&APw-rfe/cur").is_dir());
    assert_eq!(
        store.list_folders().unwrap(),
        vec![n("Entwürfe"), n("Lists"), n("Lists/Rust")]
    );

    store.subscribe("Lists.Rust").unwrap();
    store.subscribe("INBOX").unwrap();
    store.subscribe("Entwürfe").unwrap();
    assert_eq!(
        fs::read_to_string(t.path().join("M/courierimapsubscribed")).unwrap(),
        "INBOX.Lists.Rust\nINBOX\nINBOX.Entw&APw-rfe\n"
    );
    assert_eq!(
        fs::read_to_string(t.path().join("M/subscriptions")).unwrap(),
        "Lists.Rust\nINBOX\nEntw&APw-rfe\n"
    );

    let md = store.folder(&n("Lists/Rust")).unwrap();
    md.deliver(MSG).unwrap();
    store.rename_folder(&n("Lists"), &n("Old")).unwrap();
    assert_eq!(
        store.list_folders().unwrap(),
        vec![n("Entwürfe"), n("Old"), n("Old/Rust")]
    );
    assert_eq!(
        store
            .folder(&n("Old/Rust"))
            .unwrap()
            .list_all()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.subscriptions().unwrap(),
        vec!["Old.Rust", "INBOX", "Entwürfe"]
    );
    assert!(matches!(
        store.rename_folder(&n("Old"), &n("Entwürfe")),
        Err(Error::FolderExists(_))
    ));

    store.delete_folder(&n("Old/Rust")).unwrap();
    assert!(matches!(
        store.folder(&n("Old/Rust")),
        Err(Error::FolderNotFound(_))
    ));
    assert_eq!(store.list_folders().unwrap(), vec![n("Entwürfe"), n("Old")]);
    store.unsubscribe("Old.Rust").unwrap();
    assert_eq!(store.subscriptions().unwrap(), vec!["INBOX", "Entwürfe"]);
    // A stray dot file and a non-folder are ignored.
    fs::write(t.path().join("M/.notafolder"), b"").unwrap();
    fs::create_dir(t.path().join("M/..bad")).unwrap();
    assert_eq!(store.list_folders().unwrap().len(), 2);
}

#[test]
fn dovecot_v2_subscriptions_are_read() {
    assert_eq!(
        parse_subscriptions(b"V\t2\n\nLists\tRust\nINBOX\n"),
        vec!["Lists.Rust", "INBOX"]
    );
}

#[test]
fn tmp_cleanup_after_36_hours() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let old = md.path().join("tmp/old");
    let fresh = md.path().join("tmp/fresh");
    fs::write(&old, b"x").unwrap();
    fs::write(&fresh, b"x").unwrap();
    let now = SystemTime::now();
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(now - Duration::from_secs(37 * 3600))
        .unwrap();
    assert_eq!(md.clean_tmp(now).unwrap(), 1);
    assert!(!old.exists() && fresh.exists());
}

#[test]
fn quota_refuses_and_counts() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::create(t.path().join("M")).unwrap();
    let trash = store
        .create_folder(&FolderName::new("Trash", '/').unwrap())
        .unwrap();
    let work = store
        .create_folder(&FolderName::new("Work", '/').unwrap())
        .unwrap();
    work.deliver(MSG).unwrap();
    let s = store
        .set_quota(QuotaDef {
            bytes: Some(3 * MSG.len() as u64),
            count: Some(10),
        })
        .unwrap();
    assert_eq!((s.bytes, s.count), (MSG.len() as i64, 1));
    let e = store.inbox().deliver(MSG).unwrap();
    store.inbox().deliver(MSG).unwrap();
    let err = store.inbox().deliver(MSG).unwrap_err();
    assert!(matches!(err, Error::OverQuota { .. }), "{err}");
    assert!(err.is_temporary());
    assert!(
        names(&store.root().join("tmp")).is_empty(),
        "over quota leaves nothing in tmp"
    );
    assert_eq!(store.inbox().list_all().unwrap().len(), 2);
    let text = fs::read_to_string(store.root().join("maildirsize")).unwrap();
    assert!(
        text.starts_with(&format!("{}S,10C\n", 3 * MSG.len())),
        "{text}"
    );
    // Moving to Trash frees the space; moving back counts again.
    let in_trash = store.move_message(store.inbox(), &e, &trash).unwrap();
    store.inbox().deliver(MSG).unwrap();
    let err = store
        .move_message(&trash, &in_trash, store.inbox())
        .unwrap_err();
    assert!(matches!(err, Error::OverQuota { .. }));
    // A copy counts like a delivery: refused when it does not fit.
    let err = store
        .inbox()
        .copy_to(&any_message(&store), store.inbox(), None)
        .unwrap_err();
    assert!(matches!(err, Error::OverQuota { .. }));
    // Expunge writes a negative line.
    let any = store.inbox().list_all().unwrap().pop().unwrap();
    store.inbox().expunge(&any).unwrap();
    let q = store.quota().unwrap().unwrap();
    assert_eq!((q.bytes, q.count), (2 * MSG.len() as i64, 2));
    assert!(
        fs::read_to_string(store.root().join("maildirsize"))
            .unwrap()
            .contains(" -1\n")
    );
}

fn any_message(store: &Store) -> mailhub_maildir::Entry {
    store.inbox().list_all().unwrap().pop().unwrap()
}

#[test]
fn uids_persist_and_follow_renames() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let a = md.deliver(b"a\n").unwrap();
    let b = md.deliver(b"b\n").unwrap();
    let s1 = md.sync_uids().unwrap();
    assert_eq!(
        s1.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(s1.uid_next, 3);
    assert_eq!(s1.messages[0].entry.base(), a.base());
    assert!(!md.uidlist_locked());
    let text = fs::read_to_string(md.path().join("dovecot-uidlist")).unwrap();
    assert!(
        text.starts_with(&format!("3 V{} N3 G", s1.uid_validity)),
        "{text}"
    );

    // Unchanged: same snapshot, file not rewritten.
    let before = fs::metadata(md.path().join("dovecot-uidlist"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(md.sync_uids().unwrap(), s1);
    let after = fs::metadata(md.path().join("dovecot-uidlist"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // A flag change bumps the mod-sequence of that message only; UIDs stay.
    md.set_flags(&b, Flags::SEEN).unwrap();
    md.expunge(&a).unwrap();
    md.deliver(b"c\n").unwrap();
    let s2 = md.sync_uids().unwrap();
    assert_eq!(s2.uid_validity, s1.uid_validity);
    assert_eq!(
        s2.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(s2.by_uid(2).unwrap().entry.flags(), Flags::SEEN);
    assert!(s2.by_uid(2).unwrap().modseq > s1.by_uid(2).unwrap().modseq);
    assert_eq!(s2.highest_modseq, s2.by_uid(3).unwrap().modseq);
    let list = UidList::parse(&fs::read(md.path().join("dovecot-uidlist")).unwrap()).unwrap();
    assert_eq!(list.records[0].file_name, format!("{}:2,S", b.base()));
}

#[test]
fn keywords_get_letters() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let junk = md.keyword_flag("$Junk").unwrap();
    let work = md.keyword_flag("Work").unwrap();
    assert_eq!(md.keyword_flag("$junk").unwrap(), junk);
    assert_eq!(
        (junk.to_string(), work.to_string()),
        ("a".into(), "b".into())
    );
    assert_eq!(
        fs::read_to_string(md.path().join("dovecot-keywords")).unwrap(),
        "0 $Junk\n1 Work\n"
    );
    let e = md
        .deliver_from(MSG, &Delivery::default().with_flags(Flags::SEEN | work))
        .unwrap();
    assert!(e.file_name().ends_with(":2,Sb"));
    let kw = md.keywords().unwrap();
    assert_eq!(Maildir::keyword_names(e.flags(), &kw), vec!["Work"]);
    assert!(md.keyword_flag("bad name").is_err());
    assert!(!md.uidlist_locked());
}

#[test]
fn a_message_seen_in_new_and_cur_at_once_gets_one_uid() {
    // What a listing sees when another program moves new → cur while it runs.
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let e = md.deliver(MSG).unwrap();
    let cur = md.path().join("cur").join(format!("{}:2,S", e.file_name()));
    fs::hard_link(md.entry_path(&e), &cur).unwrap();
    let snap = md.sync_uids().unwrap();
    assert_eq!(snap.messages.len(), 1);
    assert_eq!(snap.messages[0].entry.subdir(), Subdir::Cur);
    assert_eq!(snap.messages[0].entry.flags(), Flags::SEEN);
    assert_eq!(snap.uid_next, 2);
}

#[test]
fn maildirsize_is_recalculated_past_5120_bytes() {
    let t = tempfile::tempdir().unwrap();
    let mut opts = mailhub_maildir::Options::default();
    opts.fsync = false;
    let store = Store::create(t.path().join("M"))
        .unwrap()
        .with_options(opts);
    store
        .set_quota(QuotaDef {
            bytes: Some(1 << 30),
            count: None,
        })
        .unwrap();
    for _ in 0..10 {
        store.inbox().deliver(b"x").unwrap();
    }
    let path = store.root().join("maildirsize");
    // Many appended deltas that are wrong (another program counted what it never stored):
    // the file grows past 5120 bytes, which forces a recalculation from the messages.
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    while f.metadata().unwrap().len() < 5120 {
        std::io::Write::write_all(&mut f, b"       1000 1\n").unwrap();
    }
    let q = store.quota().unwrap().unwrap();
    assert_eq!((q.bytes, q.count), (10, 10));
    assert!(fs::metadata(&path).unwrap().len() < 100);
    assert_eq!(q.def.bytes, Some(1 << 30), "the definition line survives");
}

/// A rewrite of the uid list keeps what it does not own: other programs' record fields
/// (Dovecot's `W` vsize, `G` GUID) and header fields; it updates only names and mod-sequences.
#[test]
fn sync_rewrite_keeps_foreign_fields() {
    let t = tempfile::tempdir().unwrap();
    let md = Maildir::create(t.path().join("M")).unwrap();
    let a = md.deliver(MSG).unwrap();
    let b = md.deliver(MSG).unwrap();
    let first = md.sync_uids().unwrap();
    let path = md.path().join(mailhub_maildir::UIDLIST);
    let text = fs::read_to_string(&path).unwrap();
    // Foreign fields on both records and in the header, as Dovecot might write them.
    let text = text
        .replacen('\n', " Xhdr7\n", 1)
        .replace("\n1 M", "\n1 W1234 GF00D M")
        .replace("\n2 M", "\n2 W99  M");
    fs::write(&path, &text).unwrap();
    // Unchanged folder: nothing is rewritten.
    let same = md.sync_uids().unwrap();
    assert_eq!(same, first);
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    // Message 1 renamed (flag), a third delivered: the list is rewritten.
    md.set_flags(&a, Flags::SEEN).unwrap();
    md.deliver(MSG).unwrap();
    let after = md.sync_uids().unwrap();
    assert_eq!(after.messages.len(), 3);
    assert!(after.messages[0].modseq > first.highest_modseq);
    assert_eq!(after.messages[1].modseq, first.messages[1].modseq);
    let list = md.read_uidlist().unwrap().unwrap();
    assert_eq!(list.header_extensions, vec!["Xhdr7".to_string()]);
    assert_eq!(list.records[0].extensions, vec!["W1234", "GF00D"]);
    assert_eq!(list.records[0].file_name, format!("{}:2,S", a.base()));
    assert_eq!(list.records[1].extensions, vec!["W99"]);
    assert_eq!(list.records[1].file_name, b.file_name());
    assert!(list.records[2].extensions.is_empty());
    assert_eq!(list.records[2].modseq, Some(after.highest_modseq));
}
