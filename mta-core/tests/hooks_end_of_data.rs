//! Message hooks at the end of DATA (the DKIM/DMARC/SPF hook point, RFC 5321 §4.1.1.4):
//! the SMTP and LMTP drivers hold the content back, show it with its envelope to the
//! policy's [`MessageHook`]s, and honour their verdict — a 5yz refusal rejects the message,
//! a 4yz one tempfails it, added header fields (`Authentication-Results`, RFC 8601) are on
//! top of the stored message, malformed ones are dropped, and a message longer than the
//! hold limit is shown cut but stored whole. Over loopback with our client driver.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mailhub_mta_core::policy::{
    HookMessage, HookVerdict, MessageHook, Policy, PolicyOptions, Reply,
};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::SmtpMode;
use mailhub_mta_core::session::smtp_client::{
    BytesBody, DeliveryReport, RcptStatus, SmtpClientConfig, deliver,
};
use mailhub_smtp_proto::client::{ClientOptions, Envelope};
use mailhub_smtp_proto::{ForwardPath, Host, MailParams, RcptParams, ReversePath};
use smtp_support::{Hub, LIMIT, Setup, start};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// What a hook saw: sender, recipients, message, whether whole, whether the client was
/// trusted.
type Seen = Arc<Mutex<Vec<(String, Vec<String>, Vec<u8>, bool, bool)>>>;

/// A hook that answers `verdict` and remembers what it was shown.
struct Scripted {
    verdict: HookVerdict,
    seen: Seen,
}

#[async_trait]
impl MessageHook for Scripted {
    async fn check_message(&self, m: &HookMessage<'_>) -> HookVerdict {
        self.seen.lock().unwrap().push((
            m.sender.to_owned(),
            m.recipients.to_vec(),
            m.message.to_vec(),
            m.complete,
            m.trusted,
        ));
        self.verdict.clone()
    }
}

/// A hub whose policy has one hook answering `verdict`; messages held up to `hold` octets.
async fn hub(mode: SmtpMode, verdict: HookVerdict, hold: usize) -> (Hub, Seen) {
    let seen: Seen = Arc::default();
    let hook = Arc::new(Scripted {
        verdict,
        seen: seen.clone(),
    });
    let hub = start(Setup {
        mode,
        tweak: Box::new(move |c| {
            let options = PolicyOptions {
                max_hook_message: hold,
                ..PolicyOptions::default()
            };
            c.policy = Arc::new(Policy::new(options).with_message_hook(hook));
        }),
        ..Setup::default()
    })
    .await;
    (hub, seen)
}

const BODY: &[u8] = b"From: a@remote.test\r\nSubject: checked\r\n\r\nhello\r\n";

async fn send(hub: &Hub, lmtp: bool, to: &[&str], body: &[u8]) -> DeliveryReport {
    let mut options = ClientOptions::new(Host::parse("client.remote.test").unwrap());
    options.lmtp = lmtp;
    let cfg = SmtpClientConfig::new(options, None, "localhost", default_runtime());
    send_with(hub, &cfg, to, body).await
}

async fn send_with(hub: &Hub, cfg: &SmtpClientConfig, to: &[&str], body: &[u8]) -> DeliveryReport {
    let env = Envelope {
        from: ReversePath::parse("<a@remote.test>").unwrap(),
        params: MailParams::default(),
        recipients: to
            .iter()
            .map(|t| {
                (
                    ForwardPath::parse(&format!("<{t}>")).unwrap(),
                    RcptParams::default(),
                )
            })
            .collect(),
    };
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    deliver(tcp.compat(), cfg, env, &mut BytesBody::new(body.to_vec()))
        .await
        .unwrap()
}

fn codes(r: &DeliveryReport) -> Vec<u16> {
    r.recipients
        .iter()
        .map(|r| r.reply.code().value())
        .collect()
}

#[tokio::test]
async fn a_rejecting_hook_refuses_the_message_with_its_reply() {
    bounded(async {
        let reject = Reply::new(550, "5.7.1", "DMARC policy of remote.test says reject");
        let (hub, seen) = hub(SmtpMode::Mta, HookVerdict::Reject(reject), 1 << 20).await;
        let r = send(&hub, false, &["dave@example.test"], BODY).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Failed);
        assert_eq!(codes(&r), [550]);
        assert!(r.recipients[0].reply.text().contains("DMARC"), "{r:?}");
        assert!(hub.messages("dave").is_empty(), "nothing stored");
        // The hook saw the envelope and the whole message as sent, without our trace field.
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "a@remote.test");
        assert_eq!(seen[0].1, ["dave@example.test"]);
        assert_eq!(seen[0].2, BODY);
        assert!(seen[0].3, "complete");
        assert!(!seen[0].4, "an outside client is not trusted");
    })
    .await;
}

#[tokio::test]
async fn a_tempfailing_hook_defers_the_message() {
    bounded(async {
        let (hub, _) = hub(SmtpMode::Mta, HookVerdict::tempfail("DNS timeout"), 1 << 20).await;
        let r = send(&hub, false, &["dave@example.test"], BODY).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Deferred);
        assert_eq!(codes(&r), [451]);
        assert!(hub.messages("dave").is_empty());
    })
    .await;
}

#[tokio::test]
async fn added_header_fields_are_on_top_of_the_stored_message() {
    bounded(async {
        // Over BDAT (RFC 3030, what our client uses when offered) and over DATA.
        for chunking in [true, false] {
            let fields = vec![
                "Authentication-Results: mx.example.test;\r\n\tdkim=pass header.d=remote.test"
                    .into(),
                // Not a fold but a second field smuggled in: dropped.
                "X-Evil: a\r\nBcc: victim@example.test".into(),
            ];
            let (hub, _) = hub(SmtpMode::Mta, HookVerdict::AddHeaders(fields), 1 << 20).await;
            let mut options = ClientOptions::new(Host::parse("client.remote.test").unwrap());
            options.chunking = chunking;
            let cfg = SmtpClientConfig::new(options, None, "localhost", default_runtime());
            let r = send_with(&hub, &cfg, &["dave@example.test"], BODY).await;
            assert_eq!(codes(&r), [250]);
            let got = hub.messages("dave");
            assert_eq!(got.len(), 1);
            let stored = String::from_utf8_lossy(&got[0]).into_owned();
            let ar = stored.find("Authentication-Results: mx.example.test;\r\n\tdkim=pass");
            let received = stored.find("Received: from client.remote.test");
            assert!(ar.is_some() && received.is_some(), "{stored}");
            assert!(ar < received, "above the trace field: {stored}");
            assert!(
                !stored.contains("X-Evil") && !stored.contains("Bcc:"),
                "{stored}"
            );
            assert!(got[0].ends_with(BODY), "{stored}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_hold_limit_is_shown_cut_and_stored_whole() {
    bounded(async {
        let fields = vec!["X-Checked: partly".to_owned()];
        let (hub, seen) = hub(SmtpMode::Mta, HookVerdict::AddHeaders(fields), 64).await;
        let mut body = BODY.to_vec();
        for i in 0..200 {
            body.extend_from_slice(format!("line {i} of a long message\r\n").as_bytes());
        }
        let r = send(&hub, false, &["dave@example.test"], &body).await;
        assert_eq!(codes(&r), [250]);
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1);
            assert!(!seen[0].3, "not complete");
            assert_eq!(seen[0].2, body[..64]);
        }
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with(b"Return-Path:"));
        let stored = String::from_utf8_lossy(&got[0]).into_owned();
        assert!(
            stored.contains("X-Checked: partly\r\nReceived:"),
            "{stored}"
        );
        assert!(got[0].ends_with(&body));
    })
    .await;
}

#[tokio::test]
async fn lmtp_gives_every_recipient_the_hooks_refusal() {
    bounded(async {
        let reject = Reply::new(554, "5.7.1", "content refused");
        let (hub, _) = hub(SmtpMode::Lmtp, HookVerdict::Reject(reject), 1 << 20).await;
        let r = send(
            &hub,
            true,
            &["dave@example.test", "small@example.test"],
            BODY,
        )
        .await;
        assert_eq!(codes(&r), [554, 554]);
        assert!(hub.messages("dave").is_empty() && hub.messages("small").is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_passing_hook_leaves_the_message_as_it_was() {
    bounded(async {
        let (hub, seen) = hub(SmtpMode::Mta, HookVerdict::Pass, 1 << 20).await;
        let r = send(&hub, false, &["dave@example.test"], BODY).await;
        assert_eq!(codes(&r), [250]);
        let got = hub.messages("dave");
        let (trace, body) = smtp_support::split_trace(&got[0]);
        assert_eq!(body, BODY, "{trace}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn added_header_fields_are_in_the_queued_message() {
    use mailhub_mta_core::bounce::DsnOptions;
    use mailhub_mta_core::queue::{ManualClock, Queue, QueueOptions};
    bounded(async {
        let spool = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(std::time::SystemTime::now()));
        let options = QueueOptions {
            fsync: false,
            dsn: DsnOptions::new("mx.example.test"),
            ..QueueOptions::default()
        };
        let (queue, _) = Queue::open(spool.path(), options, clock, default_runtime())
            .await
            .unwrap();
        let hook = Arc::new(Scripted {
            verdict: HookVerdict::AddHeaders(vec![
                "Authentication-Results: mx.example.test; spf=pass".into(),
            ]),
            seen: Seen::default(),
        });
        let hub = start(Setup {
            queue: Some(queue.clone()),
            tweak: Box::new(move |c| {
                c.policy = Arc::new(Policy::new(PolicyOptions::default()).with_message_hook(hook));
            }),
            ..Setup::default()
        })
        .await;
        let r = send(&hub, false, &["dave@example.test"], BODY).await;
        assert_eq!(codes(&r), [250]);
        let queued = queue.list();
        assert_eq!(queued.len(), 1);
        let data = std::fs::read(queue.data_path(&queued[0].id)).unwrap();
        let text = String::from_utf8_lossy(&data);
        assert!(
            text.starts_with("Authentication-Results: mx.example.test; spf=pass\r\nReceived: "),
            "{text}"
        );
        assert!(data.ends_with(BODY));
    })
    .await;
}

#[tokio::test]
async fn on_submission_the_hooks_see_the_fixed_up_message_of_a_trusted_client() {
    bounded(async {
        let fields = vec!["X-Signed: yes".to_owned()];
        let (hub, seen) = hub(
            SmtpMode::Submission,
            HookVerdict::AddHeaders(fields),
            1 << 20,
        )
        .await;
        let options = ClientOptions::new(Host::parse("laptop.example.test").unwrap());
        let mut cfg = SmtpClientConfig::new(options, None, "localhost", default_runtime());
        cfg.credentials = Some(("dave".into(), mailhub_sasl::Secret::new("secret".into())));
        cfg.allow_plaintext_auth = true;
        let body = b"From: dave@example.test\r\nSubject: no date\r\n\r\nhi\r\n";
        let r = send_with(&hub, &cfg, &["dave@example.test"], body).await;
        assert_eq!(codes(&r), [250], "{r:?}");
        {
            let seen = seen.lock().unwrap();
            let shown = String::from_utf8_lossy(&seen[0].2).into_owned();
            assert!(
                shown.contains("\r\nDate: ") || shown.starts_with("Date: "),
                "{shown}"
            );
            assert!(shown.contains("Message-ID: <"), "{shown}");
            assert!(seen[0].4, "an authenticated client is trusted");
        }
        let stored = String::from_utf8_lossy(&hub.messages("dave")[0]).into_owned();
        let signed = stored.find("X-Signed: yes\r\nReceived: ");
        let date = stored.find("Date: ");
        assert!(signed.is_some() && signed < date, "{stored}");
        assert!(stored.ends_with("\r\nhi\r\n"), "{stored}");
    })
    .await;
}
