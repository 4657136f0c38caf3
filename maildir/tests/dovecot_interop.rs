//! Interoperability with Dovecot (Debian's `dovecot-imapd`): this crate and a real Dovecot
//! share one Maildir and must agree on UIDs, UIDVALIDITY, flags, keywords and folders, both
//! ways.
//!
//! The test starts `dovecot -F -c <generated config>` as its own child on a free loopback port,
//! with a passwd-file user whose mail is the test Maildir, talks IMAP to it with the tiny
//! client below, and stops it (by its pid) at the end. It FAILS when Dovecot is not installed:
//! install it with `apt-get install -y dovecot-imapd`.
//!
//! Dovecot refuses to serve mail as uid 0, so when the test runs as root the Maildir is
//! given to `nobody` (65534) before each Dovecot session; root reads and writes it regardless.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailhub_maildir::{Delivery, Flags, FolderName, Maildir, Store};

fn dovecot_binary() -> PathBuf {
    for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v dovecot"])
        .output()
        && out.status.success()
    {
        return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    }
    panic!(
        "Dovecot is not installed, so the Maildir interoperability test cannot run: \
         install it with `apt-get install -y dovecot-imapd`"
    );
}

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// The uid/gid Dovecot serves the mail as.
fn mail_ids() -> (u32, u32) {
    if is_root() {
        (65534, 65534)
    } else {
        (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        )
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for e in fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

fn hand_over(root: &Path, home: &Path) {
    if is_root() {
        let (uid, gid) = mail_ids();
        chown_tree(root, uid, gid);
        chown_tree(home, uid, gid);
    }
}

struct Dovecot {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Dovecot {
    fn start(dir: &Path, maildir: &Path, home: &Path) -> Dovecot {
        let bin = dovecot_binary();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (uid, gid) = mail_ids();
        let log = dir.join("dovecot.log");
        let mut users = String::new();
        if !is_root() {
            // Unprivileged: Dovecot runs every process as ourselves.
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            users = format!("default_internal_user = {me}\ndefault_login_user = {me}\n");
        }
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {log}\ninfo_log_path = {log}\n\
             instance_name = mailhub-maildir-test-{port}\nprotocols = imap\nlisten = 127.0.0.1\n\
             ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain\n\
             first_valid_uid = 1\nmail_location = maildir:{m}\n{users}\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    \
             port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={h}\n}}\n",
            d = dir.display(),
            log = log.display(),
            m = maildir.display(),
            h = home.display(),
        );
        fs::write(dir.join("dovecot.conf"), conf).unwrap();
        fs::write(dir.join("passwd"), "test:{PLAIN}secret\n").unwrap();
        for sub in ["run", "state"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let mut d = Dovecot { child, port, log };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("dovecot exited with {status}; log:\n{}", d.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "dovecot did not listen; log:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn connect(&self) -> Imap {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut imap = Imap {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
            n: 0,
        };
        let greeting = imap.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        imap.ok("LOGIN test secret");
        imap
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Only the process this test started, by its pid: SIGTERM for a clean shutdown of
        // the master and its children, SIGKILL if it does not go.
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Just enough IMAP4rev1 for the test: tagged commands, APPEND with a synchronizing literal.
struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    n: u32,
}

impl Imap {
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "connection closed by dovecot");
        l.trim_end().to_owned()
    }

    fn send(&mut self, cmd: &str) -> String {
        self.n += 1;
        let tag = format!("t{}", self.n);
        write!(self.w, "{tag} {cmd}\r\n").unwrap();
        tag
    }

    fn finish(&mut self, tag: &str, what: &str) -> Vec<String> {
        let mut untagged = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{what} failed: {l}");
                untagged.push(l);
                return untagged;
            }
            untagged.push(l);
        }
    }

    fn ok(&mut self, cmd: &str) -> Vec<String> {
        let tag = self.send(cmd);
        self.finish(&tag, cmd)
    }

    fn append(&mut self, flags: &str, msg: &[u8]) -> Vec<String> {
        let tag = self.send(&format!("APPEND INBOX ({flags}) {{{}}}", msg.len()));
        let cont = self.line();
        assert!(cont.starts_with('+'), "{cont}");
        self.w.write_all(msg).unwrap();
        self.w.write_all(b"\r\n").unwrap();
        self.finish(&tag, "APPEND")
    }

    /// SELECT INBOX, then `UID FETCH 1:* (UID FLAGS)`: UIDVALIDITY and (uid, sorted flags),
    /// without `\Recent` (a session property, not stored).
    fn state(&mut self) -> (u32, Vec<(u32, Vec<String>)>) {
        let sel = self.ok("SELECT INBOX");
        let uv = sel
            .iter()
            .find_map(|l| {
                let i = l.find("[UIDVALIDITY ")?;
                l[i + 13..].split(']').next()?.parse().ok()
            })
            .expect("UIDVALIDITY in SELECT");
        let mut out = Vec::new();
        for l in self.ok("UID FETCH 1:* (UID FLAGS)") {
            if !l.starts_with("* ") || !l.contains(" FETCH ") {
                continue;
            }
            let uid = l
                .split("UID ")
                .nth(1)
                .unwrap()
                .split([' ', ')'])
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let flags = l
                .split("FLAGS (")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            let mut flags: Vec<String> = flags
                .split(' ')
                .filter(|f| !f.is_empty() && *f != "\\Recent")
                .map(str::to_owned)
                .collect();
            flags.sort();
            out.push((uid, flags));
        }
        out.sort();
        (uv, out)
    }
}

/// This crate's view in IMAP terms: UIDVALIDITY, (uid, sorted IMAP flags).
fn our_state(md: &Maildir) -> (u32, Vec<(u32, Vec<String>)>) {
    let snap = md.sync_uids().unwrap();
    let kw = md.keywords().unwrap();
    let mut out = Vec::new();
    for m in &snap.messages {
        let f = m.entry.flags();
        let mut flags: Vec<String> = [
            (Flags::REPLIED, "\\Answered"),
            (Flags::TRASHED, "\\Deleted"),
            (Flags::DRAFT, "\\Draft"),
            (Flags::FLAGGED, "\\Flagged"),
            (Flags::SEEN, "\\Seen"),
        ]
        .iter()
        .filter(|(bit, _)| f.contains(*bit))
        .map(|(_, n)| (*n).to_owned())
        .collect();
        flags.extend(
            Maildir::keyword_names(f, &kw)
                .into_iter()
                .map(str::to_owned),
        );
        flags.sort();
        out.push((m.uid, flags));
    }
    (snap.uid_validity, out)
}

fn v(flags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = flags.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn dovecot_and_this_crate_agree_on_uids_flags_keywords_and_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.join("home");
    fs::create_dir(&home).unwrap();
    let store = Store::create(dir.join("Maildir")).unwrap();
    let inbox = store.inbox().clone();

    // This crate writes first: three messages, flags, a keyword, a folder.
    inbox.deliver(b"Subject: one\n\nfirst\n").unwrap();
    inbox
        .deliver_from(
            &b"Subject: two\n\nsecond\n"[..],
            &Delivery::default().with_flags(Flags::SEEN | Flags::FLAGGED),
        )
        .unwrap();
    let work = inbox.keyword_flag("$Work").unwrap();
    inbox
        .deliver_from(
            &b"Subject: three\n\nthird\n"[..],
            &Delivery::default().with_flags(work),
        )
        .unwrap();
    store
        .create_folder(&FolderName::new("Lists/Rust", '/').unwrap())
        .unwrap();
    store
        .create_folder(&FolderName::new("Entwürfe", '/').unwrap())
        .unwrap();
    store.subscribe("Lists.Rust").unwrap();
    store.subscribe("Entwürfe").unwrap();
    let ours = our_state(&inbox);
    assert_eq!(
        ours.1.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    hand_over(store.root(), &home);

    let dovecot = Dovecot::start(dir, store.root(), &home);
    let mut imap = dovecot.connect();
    assert_eq!(imap.state(), ours, "Dovecot sees what this crate wrote");
    // RFC822.SIZE comes from our ,W= field: "Subject: one\n\nfirst\n" is 20 bytes, 23 as CRLF.
    let size = imap.ok("UID FETCH 1 RFC822.SIZE").join("\n");
    assert!(size.contains("RFC822.SIZE 23"), "{size}");
    let list = imap.ok("LIST \"\" \"*\"").join("\n");
    assert!(list.contains("Lists.Rust"), "{list}");
    assert!(list.contains("Entw&APw-rfe"), "{list}");
    let lsub = imap.ok("LSUB \"\" \"*\"").join("\n");
    assert!(
        lsub.contains("Lists.Rust") && lsub.contains("Entw&APw-rfe"),
        "{lsub}"
    );

    // Dovecot changes things.
    imap.ok("UID STORE 1 +FLAGS (\\Answered $Junk)");
    imap.ok("UID STORE 2 -FLAGS (\\Flagged)");
    imap.ok("UID STORE 3 +FLAGS (\\Deleted)");
    imap.ok("EXPUNGE");
    let appended = imap
        .append("\\Draft", b"Subject: four\r\n\r\nfrom dovecot\r\n")
        .join("\n");
    assert!(appended.contains("APPENDUID"), "{appended}");
    imap.ok("CREATE Dovecot");
    imap.ok("SUBSCRIBE Dovecot");
    imap.ok("UNSUBSCRIBE Lists.Rust");
    let theirs = imap.state();
    // Our mod-sequences live in fields Dovecot does not know; it must have kept them.
    let after = fs::read(store.root().join("dovecot-uidlist")).unwrap();
    let after = mailhub_maildir::UidList::parse(&after).unwrap();
    assert!(after.highest_modseq >= 3, "header M field lost: {after:?}");
    assert!(
        after
            .records
            .iter()
            .any(|r| r.uid == 1 && r.modseq.is_some()),
        "{after:?}"
    );
    imap.ok("LOGOUT");

    // This crate reads them back.
    let ours = our_state(&inbox);
    assert_eq!(ours, theirs, "this crate sees what Dovecot wrote");
    assert_eq!(
        ours.1,
        vec![
            (1, v(&["\\Answered", "$Junk"])),
            (2, v(&["\\Seen"])),
            (4, v(&["\\Draft"]))
        ],
        "log:\n{}",
        dovecot.log_text()
    );
    assert!(
        store
            .list_folders()
            .unwrap()
            .contains(&FolderName::new("Dovecot", '/').unwrap())
    );
    let mut subs = store.subscriptions().unwrap();
    subs.sort();
    assert_eq!(
        subs,
        vec!["Dovecot", "Entwürfe"],
        "subscriptions as Dovecot left them: {:?}",
        fs::read_to_string(store.root().join("subscriptions"))
    );

    // And changes more, which Dovecot must see on its next session.
    let snap = inbox.sync_uids().unwrap();
    let m4 = &snap.by_uid(4).unwrap().entry;
    inbox.update_flags(m4, |f| f.union(Flags::SEEN)).unwrap();
    inbox.deliver(b"Subject: five\n\nfifth\n").unwrap();
    let ours = our_state(&inbox);
    assert_eq!(ours.1.last().unwrap().0, 5);
    hand_over(store.root(), &home);

    let mut imap = dovecot.connect();
    assert_eq!(
        imap.state(),
        ours,
        "Dovecot sees the second round; log:\n{}",
        dovecot.log_text()
    );
    imap.ok("LOGOUT");
    let log = dovecot.log_text();
    assert!(
        !log.contains("Error:") && !log.contains("Panic"),
        "Dovecot logged errors:\n{log}"
    );
}
