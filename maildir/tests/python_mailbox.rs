//! Python's `mailbox.Maildir` (an independent Maildir reader from the standard library) reads
//! what this crate writes: messages, their subdirectory, flags and folders.
//!
//! Needs `python3` on the PATH; fails (does not skip) without it.

use std::fs;
use std::process::Command;

use mailhub_maildir::{Delivery, Flags, FolderName, Store};

const SCRIPT: &str = r#"
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
rows = []
for key, msg in md.items():
    rows.append("%s|%s|%s|%d" % (msg["Subject"], msg.get_subdir(), msg.get_flags(),
                                 len(msg.get_payload())))
for row in sorted(rows):
    print(row)
for folder in sorted(md.list_folders()):
    sub = md.get_folder(folder)
    print("folder|%s|%d" % (folder, len(sub)))
"#;

#[test]
fn python_mailbox_reads_what_this_crate_wrote() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::create(t.path().join("Maildir")).unwrap();
    let inbox = store.inbox();
    inbox.deliver(b"Subject: plain\n\nbody one\n").unwrap();
    let kw = inbox.keyword_flag("$Work").unwrap();
    inbox
        .deliver_from(
            &b"Subject: flagged\n\nbody two!\n"[..],
            &Delivery::default().with_flags(Flags::SEEN | Flags::REPLIED | kw),
        )
        .unwrap();
    let third = inbox.deliver(b"Subject: moved\n\nthree\n").unwrap();
    inbox.set_flags(&third, Flags::DRAFT).unwrap();
    let lists = store
        .create_folder(&FolderName::new("Lists/Rust", '/').unwrap())
        .unwrap();
    lists.deliver(b"Subject: in folder\n\nx\n").unwrap();
    store
        .create_folder(&FolderName::new("Entwürfe", '/').unwrap())
        .unwrap();
    inbox.sync_uids().unwrap();

    let script = t.path().join("read.py");
    fs::write(&script, SCRIPT).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(store.root())
        .output()
        .expect("python3 is needed for this test");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "flagged|cur|RSa|10\n\
         moved|cur|D|6\n\
         plain|new||9\n\
         folder|Entw&APw-rfe|0\n\
         folder|Lists.Rust|1\n"
    );
}
