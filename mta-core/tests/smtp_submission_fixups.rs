//! Submission fix-ups over real loopback TCP against Python's smtplib (RFC 6409 §8.2, §8.3): a
//! message submitted without `Date:` or `Message-ID:` is stored with them, one submitted with
//! both is stored unchanged, a header-only message (no empty line) gets them too, and the MTA
//! port (RFC 5321 relay, not submission) adds nothing.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

mod smtp_support;

use mailhub_mta_core::policy::PolicyOptions;
use mailhub_mta_core::session::smtp::SmtpMode;
use smtp_support::{LIMIT, PRELUDE, Setup, python, split_trace, start};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// Submits `msgs` (Python byte literals) as dave on a submission or MTA listener and returns
/// the stored messages without their trace fields, in the order submitted.
async fn submit(mode: SmtpMode, msgs: &[&str]) -> Vec<Vec<u8>> {
    let hub = start(Setup {
        mode,
        policy: PolicyOptions {
            require_auth: mode == SmtpMode::Submission,
            ..PolicyOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let login = if mode == SmtpMode::Submission {
        "s.login('dave', 'secret')"
    } else {
        ""
    };
    let sends: String = msgs
        .iter()
        .map(|m| {
            format!("assert s.sendmail('dave@example.test', ['dave@example.test'], {m}) == {{}}\n")
        })
        .collect();
    let script = format!(
        "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
{login}
{sends}s.quit()
"
    );
    python(&hub, &script).await;
    let mut got: Vec<(String, Vec<u8>)> = hub
        .messages("dave")
        .iter()
        .map(|m| {
            let (_, body) = split_trace(m);
            let subject = String::from_utf8_lossy(&body)
                .lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
                .unwrap_or_default();
            (subject, body)
        })
        .collect();
    assert_eq!(got.len(), msgs.len());
    got.sort();
    got.into_iter().map(|(_, b)| b).collect()
}

fn header_names(msg: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(msg);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
        .collect()
}

#[tokio::test]
async fn submission_adds_missing_date_and_message_id() {
    bounded(async {
        let got = submit(
            SmtpMode::Submission,
            &[
                "b'Subject: 1 bare\\r\\nFrom: dave@example.test\\r\\n\\r\\nDate: in the body\\r\\n'",
                "b'Subject: 2 has date\\r\\nDate: Tue, 14 Nov 2023 22:13:20 +0000\\r\\n\\r\\nx\\r\\n'",
                "b'Subject: 3 has both\\r\\nDate: Tue, 14 Nov 2023 22:13:20 +0000\\r\\nMessage-ID: <k@c.test>\\r\\n\\r\\nx\\r\\n'",
                "b'Subject: 4 header only\\r\\n'",
            ],
        )
        .await;
        let names: Vec<_> = got.iter().map(|m| header_names(m)).collect();
        let count = |i: usize, n: &str| names[i].iter().filter(|h| *h == n).count();
        // 1: both added, the body's "Date:" line does not count.
        assert_eq!((count(0, "date"), count(0, "message-id")), (1, 1), "{names:?}");
        let one = String::from_utf8_lossy(&got[0]).into_owned();
        assert!(one.ends_with("\r\n\r\nDate: in the body\r\n"), "{one}");
        let id = one
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("a Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@mx.example.test>"), "{id}");
        // 2: only the Message-ID added; the client's Date kept.
        assert_eq!((count(1, "date"), count(1, "message-id")), (1, 1), "{names:?}");
        assert!(String::from_utf8_lossy(&got[1]).contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
        // 3: nothing added, byte for byte.
        assert_eq!(
            got[2],
            b"Subject: 3 has both\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <k@c.test>\r\n\r\nx\r\n"
        );
        // 4: a message that is all header gets both at its end of data.
        assert_eq!((count(3, "date"), count(3, "message-id")), (1, 1), "{names:?}");
        // Two messages, two different ids.
        let id_of = |m: &[u8]| {
            String::from_utf8_lossy(m)
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
        };
        assert_ne!(id_of(&got[0]), id_of(&got[1]));
    })
    .await;
}

#[tokio::test]
async fn mta_port_adds_nothing() {
    bounded(async {
        let got = submit(SmtpMode::Mta, &["b'Subject: relay\\r\\n\\r\\nx\\r\\n'"]).await;
        assert_eq!(got[0], b"Subject: relay\r\n\r\nx\r\n");
    })
    .await;
}
