//! Fuzz entry point for the IMAP server engine of `mailhub-imap-proto`, shared by the
//! cargo-fuzz target `imap_server` and by `imap-proto/tests/server_fuzz_corpus.rs`, which
//! replays the committed seeds in a normal `cargo test`.
//!
//! [`server_input`]: octet 0 picks how the rest is split into reads (1 to 64 octets) and, in
//! its top bits, whether plaintext logins are allowed and whether the caller accepts logins;
//! the rest is what a client sent. A scripted caller answers every decision (login, SASL,
//! STARTTLS, SELECT of a three-message mailbox, mail from another session now and then;
//! QRESYNC's expunged-UID questions answered with a list or "forgotten" in turn; WITHIN
//! against a fixed time of day; whole-message FETCH bodies streamed in 7-octet chunks every
//! other read).
//! Invariants: no panic; the server's output frames and parses as IMAP responses; output
//! and events stay bounded by the input; nothing is read after the session closed.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use mailhub_imap_proto::Response;
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{
    MailboxChange, MailboxEntry, MessageInfo, SelectData, Server, ServerEvent, ServerLimits,
    ServerOptions, StatusData, StoredFlags,
};
use mailhub_imap_proto::types::{Date, DateTime, Flag, FlagPerm, MailboxAttr};

const SAMPLE: &[u8] = b"From: a@b.c\r\nSubject: =?utf-8?q?x?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n--b--\r\n";

fn message(uid: u32) -> MessageInfo {
    let date = DateTime::new(Date::new(2024, 2, 29).unwrap(), 23, 59, 60, -420).unwrap();
    MessageInfo {
        uid: NonZeroU32::new(uid).unwrap(),
        flags: if uid.is_multiple_of(2) {
            vec![Flag::Seen]
        } else {
            vec![]
        },
        size: u64::from(uid) * 100,
        internal_date: date,
        modseq: u64::from(uid),
        recent: uid == 3,
    }
}

fn select_data() -> SelectData {
    SelectData {
        uid_validity: NonZeroU32::new(7).unwrap(),
        uid_next: NonZeroU32::new(10).unwrap(),
        highest_modseq: Some(9),
        flags: vec![Flag::Seen, Flag::Deleted],
        permanent_flags: vec![FlagPerm::Flag(Flag::Seen), FlagPerm::Wildcard],
        read_only: false,
        messages: vec![message(2), message(3), message(5)],
    }
}

/// Checks that the server's output is a sequence of well-formed responses.
fn check_output(out: &[u8]) {
    let mut f = Framer::new(Side::Client, Limits::client());
    f.handle_input(out);
    let mut taken = 0;
    while let Some(e) = f.poll_event() {
        match e {
            FrameEvent::Unit(u) => {
                taken += u.len();
                if let Err(e) = Response::parse(&u) {
                    panic!(
                        "server sent an unparsable response {:?}: {e}",
                        String::from_utf8_lossy(&u)
                    );
                }
            }
            FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
            other => panic!("server output does not frame: {other:?}"),
        }
    }
    assert_eq!(taken, out.len(), "server output ends mid-response");
}

/// Runs a server session over `data` (see the module documentation).
pub fn server_input(data: &[u8]) {
    let Some((&ctl, bytes)) = data.split_first() else {
        return;
    };
    let split = usize::from(ctl & 0x3f) + 1;
    let mut options = ServerOptions::default();
    options.allow_plaintext = ctl & 0x40 != 0;
    options.starttls = true;
    options.quota = true;
    options.acl = true;
    options.qresync = true;
    options.within = true;
    options.sasl_mechanisms = vec!["PLAIN".into(), "SCRAM-SHA-256".into()];
    let mut limits = ServerLimits::default();
    limits.framing = Limits::server()
        .with_max_line_length(1024)
        .with_max_unit_size(4096)
        .with_max_depth(16);
    limits.max_preauth_literal = 512;
    options.limits = limits;
    let accept = ctl & 0x80 != 0;
    let mut now = Instant::now();
    let mut server = Server::new(options, now);
    server.handle_wall_clock(std::time::UNIX_EPOCH + Duration::from_secs(1_709_251_200));
    let mut out = server.poll_transmit().unwrap_or_default();
    let mut next_uid = 10;
    let mut events = 0usize;
    for (n, chunk) in bytes.chunks(split).enumerate() {
        let closed = server.is_closed();
        server.handle_input(chunk);
        while let Some(e) = server.poll_event() {
            // A FETCH or SEARCH asks once per message: those are bounded by the mailbox.
            if !matches!(e, ServerEvent::FetchMessage { .. }) {
                events += 1;
            }
            assert!(!closed, "event after close: {e:?}");
            match e {
                ServerEvent::Login { .. } | ServerEvent::AuthResponse { .. } if accept => {
                    server.accept_login("fuzz").unwrap();
                }
                ServerEvent::AuthStart {
                    initial_response: None,
                    ..
                } => {
                    server.auth_challenge(b"challenge").unwrap();
                }
                ServerEvent::Login { .. }
                | ServerEvent::AuthStart { .. }
                | ServerEvent::AuthResponse { .. } => {
                    if accept {
                        server.accept_login("fuzz").unwrap();
                    } else {
                        server
                            .reject(Some(Code::AuthenticationFailed), "no")
                            .unwrap();
                    }
                }
                ServerEvent::StartTls => server.tls_established().unwrap(),
                ServerEvent::Select { mailbox, .. } => {
                    if mailbox.eq_ignore_ascii_case("inbox") {
                        server.select_mailbox(select_data()).unwrap();
                    } else {
                        server
                            .reject(Some(Code::NonExistent), "no such mailbox")
                            .unwrap();
                    }
                }
                ServerEvent::Create { .. }
                | ServerEvent::Delete { .. }
                | ServerEvent::Rename { .. }
                | ServerEvent::Subscribe { .. } => server.done().unwrap(),
                ServerEvent::ListMailboxes { .. } => {
                    let mut sent = MailboxEntry::new("Sent");
                    sent.special_use = vec![MailboxAttr::Sent];
                    sent.subscribed = true;
                    let mut gone = MailboxEntry::new("a/gone");
                    gone.exists = false;
                    gone.subscribed = true;
                    let entries = [
                        MailboxEntry::new("INBOX"),
                        MailboxEntry::new("a/b/c"),
                        sent,
                        gone,
                    ];
                    server.mailbox_list(&entries).unwrap();
                }
                ServerEvent::Expunge { uids, .. } => {
                    server.expunged_at(&uids, Some(60 + n as u64)).unwrap();
                }
                ServerEvent::ExpungedSince { uids, .. } => {
                    if n % 2 == 0 {
                        // Some of the asked UIDs, some not asked, some still present.
                        let gone: Vec<NonZeroU32> = [1, 3, 4, 6, 7, 9, 11, 4_000_000_000]
                            .into_iter()
                            .filter(|u| *u == 4_000_000_000 || uids.contains(*u, 0))
                            .filter_map(NonZeroU32::new)
                            .collect();
                        server.expunged_since(Some(&gone)).unwrap();
                    } else {
                        server.expunged_since(None).unwrap();
                    }
                }
                ServerEvent::Store { uids, flags, .. } => {
                    let result: Vec<StoredFlags> = uids
                        .iter()
                        .map(|u| StoredFlags {
                            uid: *u,
                            flags: flags.clone(),
                            modseq: 50,
                        })
                        .collect();
                    server.stored(&result).unwrap();
                }
                ServerEvent::Copy {
                    uids, destination, ..
                } => {
                    if destination == "INBOX" {
                        server.reject(Some(Code::TryCreate), "no").unwrap();
                    } else {
                        let pairs: Vec<_> = uids.iter().map(|u| (*u, *u)).collect();
                        server.copied(NonZeroU32::new(9).unwrap(), &pairs).unwrap();
                    }
                }
                ServerEvent::Append { index, length, .. } => {
                    if index < 3 && length < 1000 {
                        server.accept_append().unwrap();
                    } else {
                        server.reject(Some(Code::TooBig), "no").unwrap();
                    }
                }
                ServerEvent::AppendCommit { messages, .. } => {
                    let uids: Vec<_> = (1..=messages as u32).filter_map(NonZeroU32::new).collect();
                    server.appended(NonZeroU32::new(9).unwrap(), &uids).unwrap();
                }
                ServerEvent::GetQuota { .. } | ServerEvent::GetQuotaRoot { .. } => {
                    server.quota(&[("".into(), Vec::new())]).unwrap();
                }
                ServerEvent::SetQuota { .. }
                | ServerEvent::SetAcl { .. }
                | ServerEvent::DeleteAcl { .. } => server.done().unwrap(),
                ServerEvent::GetAcl { .. }
                | ServerEvent::ListRights { .. }
                | ServerEvent::MyRights { .. } => {
                    server
                        .acl(&[("fred".into(), "lr".into()), ("x y".into(), "".into())])
                        .unwrap();
                }
                ServerEvent::FetchMessage { uid, .. } => {
                    if uid.get() == 5 {
                        server.fetch_missing().unwrap();
                    } else if server.fetch_streamable() && n % 2 == 0 {
                        // The whole message streamed in small chunks.
                        server.fetch_stream_start(SAMPLE.len() as u64).unwrap();
                        for piece in SAMPLE.chunks(7) {
                            server.fetch_stream_data(piece).unwrap();
                            if let Some(o) = server.poll_transmit() {
                                out.extend(o);
                            }
                        }
                    } else {
                        server.fetch_message(SAMPLE).unwrap();
                    }
                }
                ServerEvent::Status { .. } => {
                    server.mailbox_status(&StatusData::default()).unwrap()
                }
                _ => {}
            }
        }
        // Another session makes changes now and then.
        match n % 7 {
            3 => {
                server.mailbox_changed(MailboxChange::Appended(vec![message(next_uid)]));
                next_uid += 1;
            }
            5 => server.mailbox_changed(MailboxChange::Expunged(vec![NonZeroU32::new(3).unwrap()])),
            6 => server.mailbox_changed(MailboxChange::Flags {
                uid: NonZeroU32::new(5).unwrap(),
                flags: vec![Flag::Flagged],
                modseq: 99,
            }),
            _ => {}
        }
        if let Some(o) = server.poll_transmit() {
            out.extend(o);
        }
        now += Duration::from_secs(1);
        server.handle_timeout(now);
    }
    if let Some(o) = server.poll_transmit() {
        out.extend(o);
    }
    assert!(
        events <= bytes.len() + 8,
        "{events} events for {} octets",
        bytes.len()
    );
    // Each input octet can cost a few short responses, or a few hundred octets per message
    // of the mailbox (FETCH 1:* FULL); the mailbox grows by one message every seven reads.
    let messages = next_uid as usize - 10 + 3;
    assert!(
        out.len() <= 4096 + bytes.len() * 1024 * messages,
        "{} octets out for {} in",
        out.len(),
        bytes.len()
    );
    check_output(&out);
}
