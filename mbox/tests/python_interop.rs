//! Interoperability with Python's `mailbox.mbox` (python3 from Debian's `python3` package): it
//! reads what this crate writes, and this crate reads what it writes. The test fails, rather
//! than skipping, when python3 is missing.

use std::fs::File;
use std::process::Command;

use mailhub_mbox::metadata::strip_metadata;
use mailhub_mbox::write::split_header;
use mailhub_mbox::{
    Envelope, Flags, Mailbox, MailboxOptions, MessageMeta, ReadOptions, Reader, Variant,
    read_message,
};

fn python(script: &str, arg: &std::path::Path) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .expect("python3 is needed for this test (Debian package python3)");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: a@example.org\nSubject: plain\n\nhello\n".to_vec(),
        b"Subject: from lines\n\nFrom the start of a line\nFrom a@b Thu Nov 20 00:14:56 2025\nnot From here\n".to_vec(),
        b"Subject: empty body\n\n".to_vec(),
        b"Subject: blank lines\n\n\n\nx\n\n\n".to_vec(),
        "Subject: =?utf-8?q?caf=C3=A9?=\n\n8-bit: café\n".as_bytes().to_vec(),
    ]
}

/// Python lists every message with its From line, its flags and its raw bytes.
const READ_SCRIPT: &str = r#"
import mailbox, sys
mb = mailbox.mbox(sys.argv[1], create=False)
for key in mb.iterkeys():
    m = mb.get_message(key)
    print("MSG", m.get_from().encode().hex(), m.get_flags() or "-", mb.get_bytes(key).hex())
"#;

#[test]
fn python_reads_what_we_write() {
    for v in [Variant::Mboxo, Variant::Mboxrd] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.mbox");
        let mut o = MailboxOptions::default();
        o.variant = Some(v);
        let mb = Mailbox::create(&path, o, 1234).unwrap();
        let env = Envelope::new("alice@example.org", 1_700_000_000).unwrap();
        let flagged = MessageMeta {
            flags: Flags {
                seen: true,
                flagged: true,
                answered: true,
                ..Flags::default()
            },
            ..MessageMeta::default()
        };
        for (i, m) in messages().iter().enumerate() {
            let plain = MessageMeta::default();
            mb.append(&env, m, if i % 2 == 0 { &flagged } else { &plain })
                .unwrap();
        }
        let out = python(READ_SCRIPT, &path);
        let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split(' ').collect()).collect();
        let snap = mb.scan().unwrap();
        // Python does not know the pseudo-message: it is its first message.
        assert_eq!(rows.len(), snap.messages.len() + 1, "{v}");
        assert!(
            String::from_utf8(hex::decode(rows[0][3]).unwrap())
                .unwrap()
                .contains("FOLDER INTERNAL DATA")
        );
        let file = File::open(&path).unwrap();
        let mut r = Reader::new(file, ReadOptions::new(v)).unwrap();
        r.next_message().unwrap(); // the pseudo-message
        for (i, row) in rows[1..].iter().enumerate() {
            assert_eq!(row[0], "MSG");
            let from = String::from_utf8(hex::decode(row[1]).unwrap()).unwrap();
            assert_eq!(from, "alice@example.org Tue Nov 14 22:13:20 2023", "{v}");
            let info = r.next_message().unwrap().unwrap();
            // Python does not unquote: it must see exactly the stored bytes.
            let stored = read_message(r.get_mut(), &info, Variant::Mboxcl2, 1 << 20).unwrap();
            assert_eq!(hex::decode(row[3]).unwrap(), stored, "{v} message {i}");
            let want_flags = if i % 2 == 0 { "ROAF" } else { "O" };
            let mut got: Vec<char> = row[2].chars().collect();
            let mut want: Vec<char> = want_flags.chars().collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{v} message {i}");
            // And our own unquoted view is the original message.
            let ours = mb.fetch(&snap.messages[i]).unwrap();
            // No original has a ">From " line, so even lossy mboxo gives it back exactly.
            assert_eq!(ours, messages()[i], "{v} message {i}");
        }
    }
}

const WRITE_SCRIPT: &str = r#"
import mailbox, sys, time
mb = mailbox.mbox(sys.argv[1])
bodies = [
    b"From: a@example.org\nSubject: plain\n\nhello\n",
    b"Subject: from lines\n\nFrom the start of a line\n>From quoted already\nFrom a@b Thu Nov 20 00:14:56 2025\n",
    b"Subject: no final newline\n\nabc",
]
for i, b in enumerate(bodies):
    m = mailbox.mboxMessage(b)
    m.set_from("bob@example.net", time.gmtime(1700000000 + i))
    if i == 1:
        m.set_flags("RF")
    mb.add(m)
mb.flush()
mb.close()
"#;

#[test]
fn we_read_what_python_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py.mbox");
    python(WRITE_SCRIPT, &path);
    let mb = Mailbox::open(&path, MailboxOptions::default()).unwrap();
    // Python quotes like mboxo; with only `>From ` evidence the detector says so.
    assert_eq!(mb.variant(), Variant::Mboxo);
    let snap = mb.scan().unwrap();
    assert_eq!(snap.messages.len(), 3);
    assert!(snap.needs_sync && snap.folder.is_none());
    let want: [&[u8]; 3] = [
        b"From: a@example.org\nSubject: plain\n\nhello\n",
        // mboxo reading: the original ">From quoted" reads back as "From quoted" (lossy variant).
        b"Subject: from lines\n\nFrom the start of a line\nFrom quoted already\nFrom a@b Thu Nov 20 00:14:56 2025\n",
        b"Subject: no final newline\n\nabc\n",
    ];
    for (i, e) in snap.messages.iter().enumerate() {
        assert_eq!(e.info.envelope.sender(), "bob@example.net");
        assert_eq!(e.info.envelope.time(), Some(1_700_000_000 + i as i64));
        let got = mb.fetch(e).unwrap();
        let (head, body) = split_header(&got);
        let mut clean = strip_metadata(head);
        clean.extend_from_slice(body);
        assert_eq!(
            String::from_utf8_lossy(&clean),
            String::from_utf8_lossy(want[i]),
            "message {i}"
        );
    }
    let f = snap.messages[1].meta.flags;
    assert!(f.seen && f.flagged && !f.answered);
    // After a sync (UIDs, folder data) Python still reads every message.
    mb.sync().unwrap();
    let out = python(READ_SCRIPT, &path);
    // No pseudo-message is added to a file that had none: X-IMAPbase goes in the first message.
    assert_eq!(out.lines().count(), 3);
}
