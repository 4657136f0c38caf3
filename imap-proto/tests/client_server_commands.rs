//! The client engine against the server engine in memory, over the in-memory test store, for
//! the commands the other client/server tests leave out: APPEND with a synchronising literal
//! and with LITERAL+ (and streamed), STORE, SEARCH/ESEARCH/SORT/THREAD, LIST/LSUB/STATUS/
//! NAMESPACE and the mailbox commands, COPY/MOVE, EXPUNGE/UID EXPUNGE, IDLE with another
//! session's delivery, QRESYNC's VANISHED, QUOTA and ACL. Each test asserts the typed results
//! the client reports: its `Data` events and the tagged completion's kind and code.

mod server_support;

use std::num::NonZeroU32;
use std::time::Instant;

use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions, ClientState};
use mailhub_imap_proto::command::StatusItem;
use mailhub_imap_proto::response::{Code, Data, ESearchItem, MessageData, Thread};
use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::{Flag, MailboxName, SequenceSet, Tag};
use mailhub_imap_proto::{Command, CommandBody, StatusKind};
use server_support::World;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A command body from its text (after the tag).
fn body(text: &str) -> CommandBody {
    let line = format!("x {text}\r\n");
    Command::parse(line.as_bytes()).unwrap().body
}

/// A client session against session `s` of the test store.
struct Net {
    w: World,
    s: usize,
    client: Client,
    /// Everything the client sent.
    wire: Vec<u8>,
}

/// What one command produced on the client side.
struct Outcome {
    data: Vec<Data>,
    statuses: Vec<mailhub_imap_proto::Status>,
    kind: StatusKind,
    code: Option<Code>,
}

impl Net {
    fn new(opts: ServerOptions, literal_plus: bool) -> Self {
        let mut w = World::new();
        w.admin = true;
        let (s, mut greeting) = w.connect_greeted(opts);
        if !literal_plus {
            // The client believes the server has no LITERAL+: synchronising literals.
            let text = String::from_utf8(greeting)
                .unwrap()
                .replace(" LITERAL+", "");
            greeting = text.into_bytes();
        }
        let mut client = Client::new(ClientOptions::default(), Instant::now());
        client.handle_input(&greeting);
        let mut net = Net {
            w,
            s,
            client,
            wire: Vec::new(),
        };
        let events = net.pump();
        assert!(matches!(events.first(), Some(ClientEvent::Greeting(_))));
        net
    }

    /// Moves bytes both ways until both sides are quiet; the client's events.
    fn pump(&mut self) -> Vec<ClientEvent> {
        let mut events = Vec::new();
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(e) = self.client.poll_event() {
                events.push(e);
                moved = true;
            }
            let sent = self.client.poll_transmit().unwrap_or_default();
            self.wire.extend_from_slice(&sent);
            let back = self.w.send_bytes(self.s, &sent);
            if !sent.is_empty() || !back.is_empty() {
                moved = true;
            }
            if !back.is_empty() {
                self.client.handle_input(&back);
            }
            if !moved {
                return events;
            }
        }
        panic!("no quiet point");
    }

    fn run(&mut self, b: CommandBody) -> Outcome {
        let tag = self.client.send(b).unwrap();
        let events = self.pump();
        outcome(&tag, events)
    }

    fn ok(&mut self, text: &str) -> Outcome {
        let o = self.run(body(text));
        assert_eq!(o.kind, StatusKind::Ok, "{text}: {:?}", o.code);
        o
    }
}

fn outcome(tag: &Tag, events: Vec<ClientEvent>) -> Outcome {
    let mut data = Vec::new();
    let mut statuses = Vec::new();
    let mut done = None;
    for e in events {
        match e {
            ClientEvent::Data(d) => data.push(d),
            ClientEvent::Status(s) => statuses.push(s),
            ClientEvent::Completed {
                tag: t, kind, code, ..
            } if &t == tag => {
                done = Some((kind, code));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let (kind, code) = done.expect("the command completed");
    Outcome {
        data,
        statuses,
        kind,
        code,
    }
}

fn name(m: &MailboxName) -> String {
    m.to_utf8().unwrap()
}

fn flags_of(d: &Data) -> Option<(u32, Vec<Flag>)> {
    match d {
        Data::Fetch { seq, items } => items.iter().find_map(|i| match i {
            MessageData::Flags(f) => Some((seq.get(), f.clone())),
            _ => None,
        }),
        _ => None,
    }
}

fn message(subject: &str, day: u8) -> String {
    format!("Subject: {subject}\r\nDate: {day} Jan 2024 10:00:00 +0000\r\n\r\nhello {subject}\r\n")
}

#[test]
fn append_with_a_synchronising_literal_waits_for_the_continuation() {
    let mut net = Net::new(ServerOptions::default(), false);
    // Over 4096 octets: IMAP4rev2's LITERAL- does not cover it (RFC 7888 §5).
    let m = message(&"one ".repeat(1500), 1);
    let o = net.ok(&format!("APPEND INBOX (\\Seen) {{{}}}\r\n{m}", m.len()));
    let Some(Code::AppendUid { uid_validity, uids }) = o.code else {
        panic!("{:?}", o.code)
    };
    assert_eq!(uid_validity.get(), net.w.mailboxes["INBOX"].uid_validity);
    assert_eq!(uids, SequenceSet::single(1).unwrap());
    let wire = String::from_utf8_lossy(&net.wire).into_owned();
    assert!(wire.contains(&format!("{{{}}}\r\n", m.len())), "{wire}");
    assert!(!wire.contains("+}"), "{wire}");
    let stored = &net.w.mailboxes["INBOX"].messages[0];
    assert_eq!(stored.data, m.as_bytes());
    assert_eq!(stored.flags, vec![Flag::Seen]);
}

#[test]
fn append_with_literal_plus_and_streamed_and_multiappend() {
    let mut net = Net::new(ServerOptions::default(), true);
    let (a, b) = (message("a", 1), message("b", 2));
    // MULTIAPPEND: two messages, one command, one APPENDUID with both UIDs.
    let o = net.ok(&format!(
        "APPEND INBOX {{{}}}\r\n{a} (\\Flagged) {{{}}}\r\n{b}",
        a.len(),
        b.len()
    ));
    assert!(
        matches!(&o.code, Some(Code::AppendUid { uids, .. }) if *uids == SequenceSet::range(1, 2).unwrap())
    );
    let wire = String::from_utf8_lossy(&net.wire).into_owned();
    assert!(wire.contains(&format!("{{{}+}}\r\n", a.len())), "{wire}");
    // A streamed APPEND: announced, then the octets in two pieces.
    let c = message("streamed", 3);
    let inbox = MailboxName::from_utf8("INBOX").unwrap();
    let tag = net
        .client
        .append_streamed(inbox, None, None, c.len() as u64, false)
        .unwrap();
    let events = net.pump();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::AppendReady { tag: t } if *t == tag))
    );
    let (x, y) = c.as_bytes().split_at(10);
    net.client.append_data(x).unwrap();
    net.client.append_data(y).unwrap();
    let o = outcome(&tag, net.pump());
    assert!(
        matches!(&o.code, Some(Code::AppendUid { uids, .. }) if *uids == SequenceSet::single(3).unwrap())
    );
    let datas: Vec<&[u8]> = net.w.mailboxes["INBOX"]
        .messages
        .iter()
        .map(|m| m.data.as_slice())
        .collect();
    assert_eq!(datas, vec![a.as_bytes(), b.as_bytes(), c.as_bytes()]);
    // APPEND to a mailbox that does not exist: NO [TRYCREATE].
    let o = net.run(body(&format!("APPEND Nope {{{}}}\r\n{a}", a.len())));
    assert_eq!((o.kind, o.code), (StatusKind::No, Some(Code::TryCreate)));
}

#[test]
fn mailbox_commands_list_lsub_status_namespace() {
    let mut net = Net::new(ServerOptions::default(), true);
    net.w.deliver("INBOX", message("x", 1).as_bytes(), vec![]);
    net.ok("CREATE Work/");
    net.ok("CREATE Work/Reports");
    let o = net.run(body("CREATE Work"));
    assert_eq!(
        (o.kind, o.code),
        (StatusKind::No, Some(Code::AlreadyExists))
    );
    net.ok("SUBSCRIBE Work");
    let o = net.ok("LIST \"\" *");
    let mut names: Vec<String> = o
        .data
        .iter()
        .filter_map(|d| match d {
            Data::List(e) => Some(name(&e.mailbox)),
            _ => None,
        })
        .collect();
    names.sort();
    assert_eq!(names, ["INBOX", "Work", "Work/Reports"]);
    let o = net.ok("LSUB \"\" *");
    assert!(
        matches!(o.data.as_slice(), [Data::Lsub(e)] if name(&e.mailbox) == "Work"),
        "{:?}",
        o.data
    );
    net.ok("RENAME Work Play");
    let o = net.ok("LIST \"\" Play/%");
    assert!(matches!(o.data.as_slice(), [Data::List(e)] if name(&e.mailbox) == "Play/Reports"));
    net.ok("UNSUBSCRIBE Work");
    net.ok("DELETE Play/Reports");
    let o = net.ok("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)");
    let [Data::Status { mailbox, items }] = o.data.as_slice() else {
        panic!("{:?}", o.data)
    };
    assert_eq!(name(mailbox), "INBOX");
    assert_eq!(
        items.as_slice(),
        [
            (StatusItem::Messages, Some(1)),
            (StatusItem::Unseen, Some(1)),
            (StatusItem::UidNext, Some(2)),
        ]
    );
    let o = net.ok("NAMESPACE");
    assert!(
        matches!(o.data.as_slice(), [Data::Namespace { personal: Some(p), .. }] if p.len() == 1)
    );
}

/// A selected INBOX with four messages: subjects `b`, `Re: b`, `a`, `c` on days 4, 5, 1, 2.
fn selected() -> Net {
    let mut net = Net::new(ServerOptions::default(), true);
    for (s, d) in [("b", 4), ("Re: b", 5), ("a", 1), ("c", 2)] {
        net.w.deliver("INBOX", message(s, d).as_bytes(), vec![]);
    }
    net.ok("CREATE Archive");
    // No \Recent in the flags (RFC 9051 has none).
    net.ok("ENABLE IMAP4rev2");
    let o = net.ok("SELECT INBOX");
    assert!(o.data.contains(&Data::Exists(4)));
    net
}

#[test]
fn store_search_esearch_sort_thread() {
    let mut net = selected();
    let o = net.ok("STORE 1:2 +FLAGS (\\Flagged)");
    let got: Vec<(u32, Vec<Flag>)> = o.data.iter().filter_map(flags_of).collect();
    assert_eq!(got, [(1, vec![Flag::Flagged]), (2, vec![Flag::Flagged])]);
    let o = net.ok("UID STORE 2 -FLAGS.SILENT (\\Flagged)");
    assert!(o.data.is_empty(), "{:?}", o.data);
    let o = net.ok("SEARCH FLAGGED");
    assert_eq!(
        o.data,
        [Data::Search {
            ids: vec![nz(1)],
            modseq: None
        }]
    );
    let o = net.ok("UID SEARCH SUBJECT b");
    assert_eq!(
        o.data,
        [Data::Search {
            ids: vec![nz(1), nz(2)],
            modseq: None
        }]
    );
    let o = net.ok("SEARCH RETURN (MIN MAX COUNT) UNFLAGGED");
    let [
        Data::ESearch {
            items, uid: false, ..
        },
    ] = o.data.as_slice()
    else {
        panic!("{:?}", o.data)
    };
    assert_eq!(
        items.as_slice(),
        [
            ESearchItem::Min(nz(2)),
            ESearchItem::Max(nz(4)),
            ESearchItem::Count(3)
        ]
    );
    let o = net.ok("SORT (DATE) UTF-8 ALL");
    assert_eq!(
        o.data,
        [Data::Sort {
            ids: vec![nz(3), nz(4), nz(1), nz(2)],
            modseq: None
        }]
    );
    let o = net.ok("SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 ALL");
    let [Data::ESearch { items, .. }] = o.data.as_slice() else {
        panic!("{:?}", o.data)
    };
    let order: Vec<u32> = vec![3, 4, 1, 2];
    assert_eq!(
        items.as_slice(),
        [
            ESearchItem::Min(nz(3)),
            ESearchItem::Max(nz(2)),
            ESearchItem::All(
                SequenceSet::new(vec![
                    mailhub_imap_proto::types::SeqRange::Range(
                        mailhub_imap_proto::types::SeqNo::Value(nz(order[0])),
                        mailhub_imap_proto::types::SeqNo::Value(nz(order[1])),
                    ),
                    mailhub_imap_proto::types::SeqRange::Range(
                        mailhub_imap_proto::types::SeqNo::Value(nz(order[2])),
                        mailhub_imap_proto::types::SeqNo::Value(nz(order[3])),
                    ),
                ])
                .unwrap()
            ),
            ESearchItem::Count(4),
        ]
    );
    let o = net.ok("SORT (REVERSE SUBJECT) UTF-8 ALL");
    assert_eq!(
        o.data,
        [Data::Sort {
            ids: vec![nz(4), nz(1), nz(2), nz(3)],
            modseq: None
        }]
    );
    let leaf = |n| Thread {
        members: vec![nz(n)],
        children: Vec::new(),
    };
    let o = net.ok("THREAD REFERENCES UTF-8 ALL");
    let pair = Thread {
        members: vec![nz(1), nz(2)],
        children: Vec::new(),
    };
    assert_eq!(o.data, [Data::Thread(vec![leaf(3), leaf(4), pair.clone()])]);
    let o = net.ok("THREAD ORDEREDSUBJECT UTF-8 ALL");
    assert_eq!(o.data, [Data::Thread(vec![leaf(3), leaf(4), pair])]);
}

#[test]
fn fetch_contents_check_examine_and_uid_move() {
    let mut net = selected();
    let o = net.ok("FETCH 3 (ENVELOPE BODYSTRUCTURE BODY.PEEK[TEXT])");
    let [Data::Fetch { seq, items }] = o.data.as_slice() else {
        panic!("{:?}", o.data)
    };
    assert_eq!(seq.get(), 3);
    let MessageData::Envelope(env) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(env.subject.as_bytes(), Some(&b"a"[..]));
    assert!(matches!(&items[1], MessageData::BodyStructure(b)
        if matches!(**b, mailhub_imap_proto::bodystructure::BodyStructure::Single { .. })));
    assert!(matches!(&items[2], MessageData::BodySection { data, .. }
        if data.as_bytes() == Some(&b"hello a\r\n"[..])));
    // BODY[] (not PEEK) sets \Seen: the new flags come with the data.
    let o = net.ok("UID FETCH 3 (BODY[])");
    let [Data::Fetch { items, .. }] = o.data.as_slice() else {
        panic!("{:?}", o.data)
    };
    assert!(
        items
            .iter()
            .any(|i| matches!(i, MessageData::Flags(f) if f.contains(&Flag::Seen)))
    );
    assert!(
        items
            .iter()
            .any(|i| matches!(i, MessageData::BodySection { data, .. }
        if data.as_bytes() == Some(message("a", 1).as_bytes())))
    );
    assert!(
        net.w.mailboxes["INBOX"].messages[2]
            .flags
            .contains(&Flag::Seen)
    );
    net.ok("CHECK");
    // UID MOVE: COPYUID in an untagged OK, the source message expunged.
    let o = net.ok("UID MOVE 4 Archive");
    assert!(
        o.statuses
            .iter()
            .any(|s| matches!(s.code, Some(Code::CopyUid { .. })))
    );
    assert_eq!(o.data, [Data::Expunge(nz(4))]);
    // EXAMINE: read-only, a STORE is refused.
    let o = net.ok("EXAMINE Archive");
    assert_eq!(o.code, Some(Code::ReadOnly));
    assert!(o.data.contains(&Data::Exists(1)));
    assert!(o.statuses.iter().any(|s| s.code == Some(Code::Closed)));
    let o = net.run(body("STORE 1 +FLAGS (\\Seen)"));
    assert_eq!(o.kind, StatusKind::No);
}

#[test]
fn copy_move_expunge_and_uid_expunge() {
    let mut net = selected();
    let o = net.ok("COPY 1:2 Archive");
    assert_eq!(
        o.code,
        Some(Code::CopyUid {
            uid_validity: nz(net.w.mailboxes["Archive"].uid_validity),
            source: SequenceSet::range(1, 2).unwrap(),
            dest: SequenceSet::range(1, 2).unwrap(),
        })
    );
    let o = net.run(body("COPY 1 Nowhere"));
    assert_eq!((o.kind, o.code), (StatusKind::No, Some(Code::TryCreate)));
    // MOVE: the untagged OK [COPYUID …], then the EXPUNGE of the moved message.
    let o = net.ok("MOVE 3 Archive");
    assert!(matches!(
        o.statuses.as_slice(),
        [s] if matches!(&s.code, Some(Code::CopyUid { source, .. }) if *source == SequenceSet::single(3).unwrap())
    ));
    assert_eq!(o.data, [Data::Expunge(nz(3))]);
    net.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)");
    // UID EXPUNGE removes only the UIDs named (UID 4 is message 3 now).
    let o = net.ok("UID EXPUNGE 4");
    assert_eq!(o.data, [Data::Expunge(nz(3))]);
    let o = net.ok("EXPUNGE");
    assert_eq!(o.data, [Data::Expunge(nz(1)), Data::Expunge(nz(1))]);
    let uids: Vec<u32> = net.w.mailboxes["INBOX"]
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    assert!(uids.is_empty(), "{uids:?}");
    assert_eq!(net.w.mailboxes["Archive"].messages.len(), 3);
    net.ok("CLOSE");
}

#[test]
fn idle_reports_another_sessions_delivery_and_qresync_vanished() {
    let mut opts = ServerOptions::default();
    opts.qresync = true;
    let mut net = Net::new(opts, true);
    net.w.deliver("INBOX", message("a", 1).as_bytes(), vec![]);
    let o = net.ok("ENABLE QRESYNC");
    assert!(matches!(o.data.as_slice(), [Data::Enabled(c)] if c.len() == 1));
    net.ok("SELECT INBOX");
    let tag = net.client.idle().unwrap();
    let events = net.pump();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::IdleStarted { .. }))
    );
    // Another agent delivers; the idling session hears of it at once.
    net.w.deliver("INBOX", message("b", 2).as_bytes(), vec![]);
    let back = net.w.send_bytes(net.s, b"");
    net.client.handle_input(&back);
    let events = net.pump();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::Data(Data::Exists(2)))),
        "{events:?}"
    );
    net.client.idle_done().unwrap();
    let o = outcome(&tag, net.pump());
    assert_eq!(o.kind, StatusKind::Ok);
    // Under QRESYNC another session's expunge is a VANISHED on NOOP.
    net.w.expunge("INBOX", &[1]);
    let o = net.ok("NOOP");
    assert_eq!(
        o.data,
        [Data::Vanished {
            earlier: false,
            uids: SequenceSet::single(1).unwrap()
        }]
    );
    let o = net.ok("UID FETCH 1:2 (FLAGS) (CHANGEDSINCE 1 VANISHED)");
    assert_eq!(
        o.data.first(),
        Some(&Data::Vanished {
            earlier: true,
            uids: SequenceSet::single(1).unwrap()
        })
    );
}

#[test]
fn unauthenticate_then_login_as_someone_else() {
    let mut opts = ServerOptions::default();
    opts.unauthenticate = true;
    opts.allow_plaintext = true;
    let mut net = Net::new(opts, true);
    net.ok("SELECT INBOX");
    assert_eq!(net.client.state(), ClientState::Selected);
    net.ok("UNAUTHENTICATE");
    assert_eq!(net.client.state(), ClientState::NotAuthenticated);
    // The client asked for the capabilities again by itself.
    assert!(net.client.has_capability("AUTH=PLAIN"));
    assert!(!net.client.has_capability("UNAUTHENTICATE"));
    let o = net.run(body("LOGIN wilma wrong"));
    assert_eq!(
        (o.kind, o.code),
        (StatusKind::No, Some(Code::AuthenticationFailed))
    );
    let o = net.ok("LOGIN wilma sesame");
    assert!(matches!(o.code, Some(Code::Capability(_))));
    assert_eq!(net.client.state(), ClientState::Authenticated);
    assert_eq!(net.w.clients[net.s].server.user(), Some("wilma"));
}

#[test]
fn quota_and_acl() {
    let mut opts = ServerOptions::default();
    opts.quota = true;
    opts.acl = true;
    let mut net = Net::new(opts, true);
    net.w.deliver("INBOX", message("a", 1).as_bytes(), vec![]);
    let o = net.ok("GETQUOTAROOT INBOX");
    assert!(
        matches!(&o.data[0], Data::QuotaRoot { mailbox, roots } if name(mailbox) == "INBOX" && roots.len() == 1)
    );
    let Data::Quota { resources, .. } = &o.data[1] else {
        panic!("{:?}", o.data)
    };
    let got: Vec<(String, u64, u64)> = resources
        .iter()
        .map(|r| (r.name.as_str().to_string(), r.usage, r.limit))
        .collect();
    assert_eq!(
        got,
        [("STORAGE".into(), 1, 1024), ("MESSAGE".into(), 1, 1000)]
    );
    let o = net.run(body("SETQUOTA \"\" (STORAGE 10)"));
    assert_eq!((o.kind, o.code), (StatusKind::No, Some(Code::NoPerm)));
    net.ok("SETACL INBOX bob lr");
    net.ok("SETACL INBOX bob +w");
    let o = net.ok("GETACL INBOX");
    let [Data::Acl { entries, .. }] = o.data.as_slice() else {
        panic!("{:?}", o.data)
    };
    let e: Vec<(String, String)> = entries
        .iter()
        .map(|(a, b)| {
            (
                String::from_utf8(a.as_bytes().to_vec()).unwrap(),
                String::from_utf8(b.as_bytes().to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(e, [("bob".into(), "lrw".into())]);
    let o = net.ok("LISTRIGHTS INBOX bob");
    assert!(matches!(&o.data[0], Data::ListRights { optional, .. } if optional.len() == 4));
    let o = net.ok("MYRIGHTS INBOX");
    assert!(
        matches!(&o.data[0], Data::MyRights { rights, .. } if rights.as_bytes() == b"lrswipkxtea")
    );
    net.ok("DELETEACL INBOX bob");
    let o = net.ok("GETACL INBOX");
    assert!(matches!(&o.data[0], Data::Acl { entries, .. } if entries.is_empty()));
}
