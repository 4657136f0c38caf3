//! Interoperability with Debian's Dovecot (package `dovecot-imapd`), run by this test as its own
//! child on a loopback port: Dovecot serves a mailbox this crate wrote with the same
//! UIDVALIDITY, UIDs, flags, keywords and contents; then Dovecot changes flags and expunges,
//! and this crate reads the result. The test fails, rather than skipping, when Dovecot is
//! missing. It must run as root (Dovecot's master drops to the `mail` user for the mailbox).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailhub_mbox::{Action, Envelope, Flags, Mailbox, MailboxOptions, MessageMeta, Variant};

const DOVECOT: &str = "/usr/sbin/dovecot";
const MAIL_UID: u32 = 8; // Debian's `mail` user and group

struct Dovecot {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its login, auth and imap children too.
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.child.wait();
    }
}

fn start_dovecot(dir: &Path, port: u16) -> Dovecot {
    assert!(
        Path::new(DOVECOT).exists(),
        "Dovecot is needed for this test: apt-get install dovecot-imapd"
    );
    let d = dir.display();
    let conf = format!(
        r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = mbox:{d}/mail:INBOX={d}/mail/inbox
mbox_read_locks = fcntl
mbox_write_locks = dotlock fcntl
mbox_lazy_writes = no
first_valid_uid = {MAIL_UID}
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={d}/home
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"#
    );
    let conf_path = dir.join("dovecot.conf");
    fs::write(&conf_path, conf).unwrap();
    let child = Command::new(DOVECOT)
        .args(["-F", "-c"])
        .arg(&conf_path)
        .stdin(Stdio::null())
        .spawn()
        .expect("start dovecot");
    Dovecot {
        child,
        log: dir.join("dovecot.log"),
    }
}

struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    n: u32,
}

impl Imap {
    fn connect(port: u16, dovecot: &Dovecot) -> Imap {
        let deadline = Instant::now() + Duration::from_secs(20);
        let s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!(
                    "dovecot did not listen: {e}\n{}",
                    fs::read_to_string(&dovecot.log).unwrap_or_default()
                ),
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut imap = Imap {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
            n: 0,
        };
        let greeting = imap.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        imap
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l.trim_end().to_owned()
    }

    /// Sends a command; returns the untagged lines, with each literal appended as bytes.
    fn cmd(&mut self, c: &str) -> Vec<(String, Vec<u8>)> {
        self.n += 1;
        let tag = format!("t{}", self.n);
        write!(self.w, "{tag} {c}\r\n").unwrap();
        let mut out = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{c}: {l}");
                return out;
            }
            let mut lit = Vec::new();
            let mut text = l.clone();
            // A line ending in {n} is followed by n bytes of literal, then the rest of the line.
            while let Some(n) = text
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut buf = vec![0; n];
                self.r.read_exact(&mut buf).unwrap();
                lit.extend_from_slice(&buf);
                text = self.line();
            }
            out.push((l, lit));
        }
    }
}

fn flags_of(line: &str) -> BTreeSet<String> {
    let start = line.find("FLAGS (").unwrap() + 7;
    let end = start + line[start..].find(')').unwrap();
    line[start..end]
        .split(' ')
        .filter(|f| !f.is_empty() && *f != "\\Recent")
        .map(str::to_owned)
        .collect()
}

fn uid_of(line: &str) -> u32 {
    let start = line.find("UID ").unwrap() + 4;
    line[start..]
        .split([' ', ')'])
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn imap_flags(m: &MessageMeta) -> BTreeSet<String> {
    let f = m.flags;
    let mut s: BTreeSet<String> = [
        (f.seen, "\\Seen"),
        (f.answered, "\\Answered"),
        (f.flagged, "\\Flagged"),
        (f.deleted, "\\Deleted"),
        (f.draft, "\\Draft"),
    ]
    .iter()
    .filter(|x| x.0)
    .map(|x| x.1.to_owned())
    .collect();
    s.extend(m.keywords.iter().cloned());
    s
}

fn crlf(m: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len() + m.len() / 40);
    for &b in m {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The message as Dovecot serves it: the stored bytes (Dovecot does not undo `>From `
/// quoting), without the metadata headers.
fn as_stored(mb: &Mailbox, e: &mailhub_mbox::Entry) -> Vec<u8> {
    let mut f = fs::File::open(mb.path()).unwrap();
    let raw = mailhub_mbox::read_message(&mut f, &e.info, Variant::Mboxcl2, 1 << 20).unwrap();
    let (head, body) = mailhub_mbox::write::split_header(&raw);
    let mut out = mailhub_mbox::metadata::strip_metadata(head);
    out.extend_from_slice(body);
    out
}

#[test]
fn dovecot_interop_mboxrd() {
    run(Variant::Mboxrd);
}

#[test]
fn dovecot_interop_mboxcl2() {
    run(Variant::Mboxcl2);
}

fn run(variant: Variant) {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test must run as root: Dovecot's master hands the mailbox to the `mail` user"
    );
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for sub in ["mail", "home", "run", "state"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let inbox = dir.path().join("mail/inbox");
    let mut opts = MailboxOptions::default();
    opts.variant = Some(variant);
    let mb = Mailbox::create(&inbox, opts, 1_234_567).unwrap();
    let env = Envelope::new("sender@example.org", 1_700_000_000).unwrap();
    let metas = [
        MessageMeta {
            flags: Flags {
                seen: true,
                ..Flags::default()
            },
            ..MessageMeta::default()
        },
        MessageMeta::default(),
        MessageMeta {
            flags: Flags {
                flagged: true,
                answered: true,
                ..Flags::default()
            },
            keywords: vec!["$Work".into()],
            uid: None,
        },
        MessageMeta {
            flags: Flags {
                draft: true,
                deleted: true,
                seen: true,
                ..Flags::default()
            },
            ..MessageMeta::default()
        },
    ];
    for (i, m) in metas.iter().enumerate() {
        let msg = format!(
            "From: a@example.org\nSubject: message {i}\n\nFrom the body of {i}\n>From quoted\nFrom a@b Thu Nov 20 00:14:56 2025\nend\n"
        );
        mb.append(&env, msg.as_bytes(), m).unwrap();
    }
    // Expunge UID 2, then append once more: UIDs 1, 3, 4, 5; UIDNEXT 6.
    mb.update(|e| {
        if e.uid == Some(2) {
            Action::Expunge
        } else {
            Action::Keep(e.meta.clone())
        }
    })
    .unwrap();
    mb.append(&env, b"Subject: last\n\nbody\n", &MessageMeta::default())
        .unwrap();
    let snap = mb.scan().unwrap();
    assert_eq!(
        snap.messages
            .iter()
            .map(|e| e.uid.unwrap())
            .collect::<Vec<_>>(),
        [1, 3, 4, 5]
    );

    for p in ["mail", "home", "mail/inbox"] {
        std::os::unix::fs::chown(dir.path().join(p), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dovecot = start_dovecot(dir.path(), port);
    let mut imap = Imap::connect(port, &dovecot);
    imap.cmd("LOGIN user secret");
    let sel = imap.cmd("SELECT INBOX");
    let text: String = sel.iter().map(|l| l.0.clone() + "\n").collect();
    assert!(text.contains("[UIDVALIDITY 1234567]"), "{text}");
    assert!(text.contains("[UIDNEXT 6]"), "{text}");
    assert!(text.contains("* 4 EXISTS"), "{text}");
    let fetched = imap.cmd("FETCH 1:* (UID FLAGS BODY.PEEK[])");
    assert_eq!(fetched.len(), 4);
    for ((line, body), e) in fetched.iter().zip(&snap.messages) {
        assert_eq!(uid_of(line), e.uid.unwrap(), "{line}");
        assert_eq!(flags_of(line), imap_flags(&e.meta), "{line}");
        // Dovecot hides the same metadata headers, serves CRLF, and leaves quoting alone.
        let want = crlf(&as_stored(&mb, e));
        assert_eq!(
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&want),
            "{variant} {line}"
        );
        if variant == Variant::Mboxcl2 {
            assert_eq!(as_stored(&mb, e), mb.fetch(e).unwrap());
        }
    }

    // Now Dovecot writes: flag UID 1 answered, set a keyword on 5, expunge the deleted UID 4.
    imap.cmd("UID STORE 1 +FLAGS (\\Answered)");
    imap.cmd("UID STORE 5 +FLAGS (Later)");
    imap.cmd("EXPUNGE");
    imap.cmd("LOGOUT");
    drop(dovecot);

    let after = mb.scan().unwrap();
    let uids: Vec<u32> = after.messages.iter().map(|e| e.uid.unwrap()).collect();
    assert_eq!(uids, [1, 3, 5], "after Dovecot's expunge");
    assert_eq!(after.folder.as_ref().unwrap().uid_validity, 1_234_567);
    assert!(after.uid_next >= 6);
    let m1 = &after.messages[0].meta;
    assert!(m1.flags.seen && m1.flags.answered);
    assert_eq!(after.messages[1].meta.keywords, ["$Work"]);
    assert!(
        after.messages[2]
            .meta
            .keywords
            .contains(&"Later".to_owned())
    );
    assert_eq!(
        mb.fetch(&after.messages[2]).unwrap(),
        b"Subject: last\n\nbody\n"
    );
    // And we can keep appending after Dovecot's rewrite.
    assert_eq!(
        mb.append(&env, b"Subject: after\n\nx\n", &MessageMeta::default())
            .unwrap(),
        Some(after.uid_next)
    );
}
