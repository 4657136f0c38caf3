//! The client engine against the server engine in memory, in the selected state: SELECT and
//! a failed SELECT, UID FETCH of flags, changes by other sessions arriving on NOOP and while
//! idling (RFC 3501 §7.4.1, RFC 2177), UNSELECT. The mailbox data is the test's own.

#[path = "client_support.rs"]
mod support;

use std::num::NonZeroU32;
use std::time::Instant;

use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions, ClientState};
use mailhub_imap_proto::response::{Code, Data, MessageData};
use mailhub_imap_proto::server::{
    Greeting, MailboxChange, MessageInfo, SelectData, Server, ServerEvent, ServerOptions,
};
use mailhub_imap_proto::types::{Date, DateTime, Flag, FlagPerm};
use mailhub_imap_proto::{Command, CommandBody, MailboxName};
use support::briefs;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn message(uid: u32, flags: Vec<Flag>) -> MessageInfo {
    let date = DateTime::new(Date::new(2024, 2, 1).unwrap(), 10, 0, 0, 60).unwrap();
    MessageInfo {
        uid: nz(uid),
        flags,
        size: 100 + u64::from(uid),
        internal_date: date,
        modseq: 1,
        recent: false,
    }
}

fn inbox() -> SelectData {
    SelectData {
        uid_validity: nz(7),
        uid_next: nz(4),
        highest_modseq: Some(1),
        flags: vec![Flag::Seen, Flag::Deleted],
        permanent_flags: vec![FlagPerm::Flag(Flag::Seen), FlagPerm::Wildcard],
        read_only: false,
        messages: vec![
            message(1, vec![Flag::Seen]),
            message(2, vec![]),
            message(3, vec![]),
        ],
    }
}

struct Pair {
    client: Client,
    server: Server,
    events: Vec<ClientEvent>,
}

impl Pair {
    fn new() -> Self {
        let mut opts = ServerOptions::default();
        opts.greeting = Greeting::PreAuth {
            user: "fred".into(),
        };
        let now = Instant::now();
        let mut p = Self {
            client: Client::new(ClientOptions::default(), now),
            server: Server::new(opts, now),
            events: Vec::new(),
        };
        p.run();
        p.events.clear();
        p
    }

    /// Moves bytes both ways until both are quiet; SELECT of INBOX succeeds, of anything
    /// else fails.
    fn run(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            if let Some(b) = self.server.poll_transmit() {
                self.client.handle_input(&b);
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push(e);
            }
            if let Some(b) = self.client.poll_transmit() {
                self.server.handle_input(&b);
                moved = true;
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                if let ServerEvent::Select { mailbox, .. } = e {
                    if mailbox == "INBOX" {
                        self.server.select_mailbox(inbox()).unwrap();
                    } else {
                        self.server.reject(Some(Code::NonExistent), "no").unwrap();
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("never quiet");
    }

    fn take(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }
}

fn fetch(line: &str) -> CommandBody {
    Command::parse(format!("x {line}\r\n").as_bytes())
        .unwrap()
        .body
}

#[test]
fn select_fetch_and_other_sessions_changes_reach_the_client() {
    let mut p = Pair::new();
    let s = p.client.select(MailboxName::Inbox).unwrap();
    p.run();
    let ev = p.take();
    assert_eq!(
        briefs(&ev),
        [
            "* FLAGS".to_owned(),
            "* 3 EXISTS".into(),
            "* 0 RECENT".into(),
            "* OK [Unseen]".into(),
            "* OK [UidValidity]".into(),
            "* OK [UidNext]".into(),
            "* OK [PermanentFlags]".into(),
            "* OK [HighestModSeq]".into(),
            format!("{s} OK [ReadWrite]"),
        ]
    );
    assert_eq!(p.client.state(), ClientState::Selected);

    let f = p.client.send(fetch("UID FETCH 1:* (FLAGS)")).unwrap();
    p.run();
    let ev = p.take();
    let uids: Vec<(u32, bool)> = ev
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Data(Data::Fetch { items, .. }) => {
                let uid = items.iter().find_map(|i| match i {
                    MessageData::Uid(u) => Some(u.get()),
                    _ => None,
                })?;
                let seen = items
                    .iter()
                    .any(|i| matches!(i, MessageData::Flags(f) if f.contains(&Flag::Seen)));
                Some((uid, seen))
            }
            _ => None,
        })
        .collect();
    assert_eq!(uids, [(1, true), (2, false), (3, false)]);
    assert_eq!(briefs(&ev[3..]), [format!("{f} OK")]);

    // Another session appends and sets a flag: reported with the next NOOP.
    p.server
        .mailbox_changed(MailboxChange::Appended(vec![message(4, vec![])]));
    p.server.mailbox_changed(MailboxChange::Flags {
        uid: nz(2),
        flags: vec![Flag::Flagged],
        modseq: 2,
    });
    let n = p.client.noop().unwrap();
    p.run();
    let b = briefs(&p.take());
    assert_eq!(
        b,
        [
            "* 2 FETCH Flags".to_owned(),
            "* 4 EXISTS".into(),
            format!("{n} OK")
        ]
    );

    // While idling, an expunge arrives at once.
    let i = p.client.idle().unwrap();
    p.run();
    assert_eq!(briefs(&p.take()), [format!("{i} idling")]);
    p.server
        .mailbox_changed(MailboxChange::Expunged(vec![nz(1)]));
    p.run();
    assert_eq!(briefs(&p.take()), ["* 1 EXPUNGE"]);
    p.client.idle_done().unwrap();
    p.run();
    assert_eq!(briefs(&p.take()), [format!("{i} OK")]);

    let u = p.client.send(CommandBody::Unselect).unwrap();
    p.run();
    assert_eq!(briefs(&p.take()), [format!("{u} OK")]);
    assert_eq!(p.client.state(), ClientState::Authenticated);
}

#[test]
fn failed_select_is_a_tagged_no_and_leaves_the_client_authenticated() {
    let mut p = Pair::new();
    let _ = p.client.select(MailboxName::Inbox).unwrap();
    p.run();
    let _ = p.take();
    let s = p
        .client
        .select(MailboxName::from_utf8("Nope").unwrap())
        .unwrap();
    p.run();
    assert_eq!(
        briefs(&p.take()),
        ["* OK [Closed]".to_owned(), format!("{s} NO [NonExistent]")]
    );
    assert_eq!(p.client.state(), ClientState::Authenticated);
}
