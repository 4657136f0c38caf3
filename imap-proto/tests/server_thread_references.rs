//! THREAD=REFERENCES (RFC 5256 §3) through the server engine: the mailbox behind RFC 5256's
//! `A285 THREAD REFERENCES` example is rebuilt (UIDs 166–208 with Message-ID, References,
//! In-Reply-To, Subject and Date fields chosen to give the RFC's threads) and the RFC's
//! response is expected, byte for byte, from `UID THREAD`; the sequence-number form is checked
//! against it.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use server_support::{World, lines};

/// One message: UID, subject, own Message-ID, References (oldest first), and an
/// In-Reply-To used when there are no References.
struct M {
    uid: u32,
    subject: &'static str,
    refs: &'static [&'static str],
    in_reply_to: Option<&'static str>,
}

const fn m(uid: u32, subject: &'static str, refs: &'static [&'static str]) -> M {
    M {
        uid,
        subject,
        refs,
        in_reply_to: None,
    }
}

/// The top-level threads of the RFC's answer in order; each message's sent date follows its
/// place here (thread k at k·1000 minutes, its messages one minute apart in the order
/// listed), so the RFC's sibling order is the date order.
fn threads() -> Vec<Vec<M>> {
    vec![
        vec![m(166, "s166", &[])],
        vec![m(167, "s167", &[])],
        vec![m(168, "s168", &[])],
        vec![m(169, "s169", &[])],
        vec![m(172, "s172", &[])],
        // Two replies to a message that is not in the mailbox: a dummy parent stays.
        vec![
            m(170, "Re: t6", &["<gone6@x>"]),
            m(179, "Re: t6", &["<gone6@x>"]),
        ],
        vec![m(171, "s171", &[])],
        vec![m(173, "s173", &[])],
        vec![
            m(174, "Re: t9", &["<gone9@x>"]),
            m(175, "Re: t9", &["<gone9@x>"]),
            m(176, "Re: t9", &["<gone9@x>"]),
            m(178, "Re: t9", &["<gone9@x>"]),
            m(181, "Re: t9", &["<gone9@x>"]),
            m(180, "Re: t9", &["<gone9@x>"]),
        ],
        // Same base subject, none a reply: gathered under a new dummy (step 5.C).
        vec![
            m(177, "t10", &[]),
            m(183, "[list] t10", &[]),
            m(182, "t10 (fwd)", &[]),
            m(188, "T10", &[]),
            m(184, "Re: t10", &["<m188@x>"]),
            m(189, "Re: t10", &["<m188@x>"]),
            m(185, "t10", &[]),
            // In-Reply-To when there is no References (RFC 5256 §3).
            M {
                uid: 186,
                subject: "Re: t10",
                refs: &[],
                in_reply_to: Some("<m185@x> (Fred's message)"),
            },
            m(187, "t10", &[]),
        ],
        vec![m(190, "s190", &[])],
        vec![m(191, "s191", &[])],
        vec![m(192, "s192", &[])],
        vec![m(193, "s193", &[])],
        vec![
            m(194, "Re: t15", &["<gone15@x>"]),
            m(195, "Re: t15", &["<gone15@x>"]),
            m(196, "Re: t15", &["<gone15@x>", "<m195@x>"]),
        ],
        // A quoted local part is the same Message-ID (RFC 5256 §3).
        vec![m(197, "s197", &[]), m(198, "Re: s197", &["<\"m197\"@x>"])],
        vec![m(199, "s199", &[])],
        vec![m(200, "s200", &[]), m(202, "Re: s200", &["<m200@x>"])],
        vec![m(201, "s201", &[])],
        vec![m(203, "s203", &[])],
        vec![m(204, "s204", &[])],
        vec![
            m(205, "s205", &[]),
            m(206, "Re: s205", &["<m205@x>"]),
            m(207, "Re: s205", &["<m205@x>", "<m206@x>"]),
        ],
        vec![m(208, "s208", &[])],
    ]
}

fn mailbox() -> (World, usize) {
    let mut w = World::new();
    let mut all: Vec<(M, u32)> = Vec::new();
    for (k, thread) in threads().into_iter().enumerate() {
        for (j, msg) in thread.into_iter().enumerate() {
            let minute = u32::try_from(k * 1000 + j).unwrap();
            all.push((msg, minute));
        }
    }
    all.sort_by_key(|(msg, _)| msg.uid);
    w.mailboxes.get_mut("INBOX").unwrap().uid_next = 166;
    for (msg, minute) in all {
        let mut text = format!(
            "Message-ID: <m{}@x>\r\nSubject: {}\r\nDate: {} Jan 2024 {:02}:{:02}:00 +0000\r\n",
            msg.uid,
            msg.subject,
            1 + minute / 1440,
            minute % 1440 / 60,
            minute % 60
        );
        if !msg.refs.is_empty() {
            text.push_str(&format!("References: {}\r\n", msg.refs.join(" ")));
        }
        if let Some(r) = msg.in_reply_to {
            text.push_str(&format!("In-Reply-To: {r}\r\n"));
        }
        text.push_str("\r\nbody\r\n");
        let uid = w.deliver("INBOX", text.as_bytes(), vec![]);
        assert_eq!(uid, msg.uid);
    }
    let c = w.connect(ServerOptions::default());
    w.send(c, "s SELECT INBOX\r\n");
    (w, c)
}

/// RFC 5256 §4's A285 example (its line breaks removed, as the RFC says).
const A285: &str = "* THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)\
    ((174)(175)(176)(178)(181)(180))((177)(183)(182)(188 (184)(189))(185 186)(187))\
    (190)(191)(192)(193)((194)(195 196))(197 198)(199)(200 202)(201)(203)(204)\
    (205 206 207)(208)";

#[test]
fn rfc5256_a285_thread_references() {
    let (mut w, c) = mailbox();
    let caps = w.send(c, "c CAPABILITY\r\n");
    assert!(caps.contains(" THREAD=REFERENCES"), "{caps}");
    assert_eq!(
        w.send(c, "A285 UID THREAD REFERENCES UTF-8 ALL\r\n"),
        lines(&format!("{A285}\nA285 OK THREAD completed"))
    );
    // The same threads in sequence numbers: UID 166 is message 1.
    let by_seq = w.send(c, "A286 THREAD REFERENCES UTF-8 ALL\r\n");
    let first = by_seq.lines().next().unwrap();
    assert_eq!(shift(first, 165), A285, "{by_seq}");
    // SEARCH keys restrict the messages threaded: a reply whose parent is left out is
    // promoted.
    assert_eq!(
        w.send(
            c,
            "A287 UID THREAD REFERENCES UTF-8 UID 205:207 NOT UID 205\r\n"
        ),
        lines("* THREAD (206 207)\nA287 OK THREAD completed")
    );
}

/// `s` with every number raised by `by`.
fn shift(s: &str, by: u32) -> String {
    let mut out = String::new();
    let mut num = String::new();
    for ch in s.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        if !num.is_empty() {
            out.push_str(&(num.parse::<u32>().unwrap() + by).to_string());
            num.clear();
        }
        out.push(ch);
    }
    out.pop();
    out
}
