//! LMTP as a queue transport (RFC 2033): [`LmtpTransport`] against our own LMTP server
//! (the SMTP driver in [`SmtpMode::Lmtp`]) over loopback TCP and over a Unix socket. One
//! reply per recipient after the content (§4.2) becomes that recipient's outcome — delivered,
//! deferred (a mailbox that turned out full, 452 4.2.2), failed (unknown at RCPT, 550 5.1.1);
//! several batches share one connection; recipients can be named by local user; an absent
//! server defers.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use mailhub_mta_core::deliver::{
    DeliveryJob, JobRecipient, LmtpConnector, LmtpRecipient, LmtpTarget, LmtpTransport, Outcome,
    Transport,
};
use mailhub_mta_core::queue::QueueId;
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, serve};
use mailhub_mta_core::session::smtp_client::SmtpClientConfig;
use mailhub_mta_core::session::smtp_transport::AsyncStream;
use mailhub_smtp_proto::Host;
use mailhub_smtp_proto::client::ClientOptions;
use smtp_support::{Hub, LIMIT, Setup, split_trace, start};
use tokio_util::compat::TokioAsyncReadCompatExt;

struct Tokio;

#[async_trait]
impl LmtpConnector for Tokio {
    async fn connect(&self, target: &LmtpTarget) -> std::io::Result<Box<dyn AsyncStream>> {
        Ok(match target {
            LmtpTarget::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a).await?.compat()),
            LmtpTarget::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?.compat()),
            other => panic!("unexpected target {other:?}"),
        })
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// 1,100 octets: more than `small`'s 300-octet quota.
fn body(n: usize) -> Vec<u8> {
    let mut b = format!("Subject: lmtp batch {n}\r\n\r\n").into_bytes();
    for _ in 0..60 {
        b.extend_from_slice(b"0123456789abcdef\r\n");
    }
    b
}

fn local(address: &str, user: &str) -> JobRecipient {
    JobRecipient {
        address: address.into(),
        destination: Destination::Local {
            user: user.into(),
            folder: None,
        },
        orcpt: None,
        notify: None,
    }
}

/// A batch; its declared size is 10 octets, so `small` passes the quota check at RCPT and
/// fails only when the content is appended (a per-recipient failure after DATA).
fn job(dir: &Path, n: usize, recipients: Vec<JobRecipient>) -> DeliveryJob {
    let data = dir.join(format!("spooled-{n}"));
    std::fs::write(&data, body(n)).unwrap();
    DeliveryJob {
        id: QueueId::parse("0123456789abcdef").unwrap(),
        sender: "a@remote.test".into(),
        envid: None,
        ret: None,
        data,
        size: 10,
        recipients,
        arrival: SystemTime::now(),
    }
}

fn transport(target: LmtpTarget) -> LmtpTransport {
    let options = ClientOptions::new(Host::parse("queue.test").unwrap());
    let client = SmtpClientConfig::new(options, None, "", default_runtime());
    LmtpTransport::new(client, target, Arc::new(Tokio))
}

fn kinds(out: &[Outcome]) -> Vec<&'static str> {
    out.iter()
        .map(|o| match o {
            Outcome::Delivered(_) => "delivered",
            Outcome::Deferred(_) => "deferred",
            Outcome::Failed(_) => "failed",
        })
        .collect()
}

async fn lmtp_hub() -> Hub {
    start(Setup {
        mode: SmtpMode::Lmtp,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn per_recipient_replies_after_data_become_outcomes_over_tcp() {
    bounded(async {
        let hub = lmtp_hub().await;
        let t = transport(LmtpTarget::Tcp(hub.addr));
        let j = job(
            hub.dir.path(),
            0,
            vec![
                local("dave@example.test", "dave"),
                local("nobody@example.test", "nobody"),
                local("small@example.test", "small"),
            ],
        );
        let out = t.deliver(&j).await;
        assert_eq!(kinds(&out), ["delivered", "failed", "deferred"], "{out:?}");
        assert!(
            matches!(&out[1], Outcome::Failed(s) if s.contains("550 5.1.1")),
            "{out:?}"
        );
        assert!(
            matches!(&out[2], Outcome::Deferred(s) if s.contains("452 4.2.2")),
            "{out:?}"
        );
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let (trace, stored) = split_trace(&got[0]);
        assert!(trace.contains(" with LMTP id "), "{trace}");
        assert_eq!(stored, body(0));
        assert!(hub.messages("small").is_empty());
    })
    .await;
}

#[tokio::test]
async fn batches_share_one_unix_socket_connection() {
    bounded(async {
        let config: Arc<Mutex<Option<SmtpConfig>>> = Default::default();
        let keep = config.clone();
        let hub = start(Setup {
            mode: SmtpMode::Lmtp,
            tweak: Box::new(move |c| *keep.lock().unwrap() = Some(c.clone())),
            ..Setup::default()
        })
        .await;
        let config = Arc::new(config.lock().unwrap().take().unwrap());
        let path = hub.dir.path().join("lmtp.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let counter = accepts.clone();
        let server = tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let config = config.clone();
                tokio::spawn(async move {
                    // A Unix socket has no peer IP: the embedder names one.
                    let peer = "127.0.0.1:0".parse().unwrap();
                    let _ = serve(sock.compat(), peer, &config).await;
                });
            }
        });
        let t = transport(LmtpTarget::Unix(path));
        for n in 0..3 {
            let j = job(hub.dir.path(), n, vec![local("dave@example.test", "dave")]);
            let out = t.deliver(&j).await;
            assert_eq!(kinds(&out), ["delivered"], "{out:?}");
        }
        assert_eq!(
            accepts.load(Ordering::SeqCst),
            1,
            "one connection for three batches"
        );
        assert_eq!(hub.messages("dave").len(), 3);
        t.close_idle(true).await;
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn recipients_named_by_local_user() {
    bounded(async {
        let hub = lmtp_hub().await;
        // The queued address is an alias the LMTP server does not know; routing chose `dave`.
        let rcpt = || vec![local("team@example.test", "dave")];
        let by_address = transport(LmtpTarget::Tcp(hub.addr));
        let out = by_address.deliver(&job(hub.dir.path(), 0, rcpt())).await;
        assert_eq!(kinds(&out), ["failed"], "{out:?}");
        let by_user = transport(LmtpTarget::Tcp(hub.addr)).with_recipient(LmtpRecipient::User);
        let out = by_user.deliver(&job(hub.dir.path(), 1, rcpt())).await;
        assert_eq!(kinds(&out), ["delivered"], "{out:?}");
        assert_eq!(hub.messages("dave").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_tokio_constructor_delivers_over_tcp() {
    bounded(async {
        let hub = lmtp_hub().await;
        let options = ClientOptions::new(Host::parse("queue.test").unwrap());
        let client = SmtpClientConfig::new(options, None, "", default_runtime());
        let t = LmtpTransport::on_tokio(client, LmtpTarget::Tcp(hub.addr));
        let j = job(hub.dir.path(), 0, vec![local("dave@example.test", "dave")]);
        assert_eq!(kinds(&t.deliver(&j).await), ["delivered"]);
        assert_eq!(hub.messages("dave").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_queue_delivers_local_mail_over_lmtp() {
    use mailhub_mta_core::bounce::DsnOptions;
    use mailhub_mta_core::queue::{ManualClock, NewMessage, NewRecipient, Queue, QueueOptions};
    bounded(async {
        let hub = lmtp_hub().await;
        let spool = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let options = QueueOptions {
            fsync: false,
            dsn: DsnOptions::new("queue.test"),
            ..QueueOptions::default()
        };
        let (q, _) = Queue::open(spool.path(), options, clock, default_runtime())
            .await
            .unwrap();
        let rcpt = |user: &str| NewRecipient {
            address: format!("{user}@example.test"),
            destination: Destination::Local {
                user: user.into(),
                folder: None,
            },
            orcpt: None,
            notify: None,
        };
        // 250 octets pass `small`'s 300-octet quota at RCPT; with the trace fields the
        // LMTP server adds they do not fit, so `small` fails after DATA, alone.
        let mut body = b"Subject: queued for lmtp\r\n\r\n".to_vec();
        body.resize(248, b'x');
        body.extend_from_slice(b"\r\n");
        let message = NewMessage {
            sender: "a@remote.test".into(),
            recipients: vec![rcpt("dave"), rcpt("small")],
            ..NewMessage::default()
        };
        q.enqueue(message, &body).await.unwrap();
        let t = transport(LmtpTarget::Tcp(hub.addr));
        let r = q.run_due(&t).await;
        assert_eq!((r.delivered, r.deferred, r.failed), (1, 1, 0));
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        assert_eq!(split_trace(&got[0]).1, body);
        assert!(hub.messages("small").is_empty());
        assert_eq!(q.list().len(), 1, "small's copy waits in the queue");
    })
    .await;
}

#[tokio::test]
async fn an_absent_lmtp_server_defers() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let t = transport(LmtpTarget::Unix(dir.path().join("nobody-listens.sock")));
        let j = job(dir.path(), 0, vec![local("dave@example.test", "dave")]);
        let out = t.deliver(&j).await;
        assert_eq!(kinds(&out), ["deferred"], "{out:?}");
    })
    .await;
}
