//! Two hubs over loopback: hop A is an SMTP listener (the SMTP driver over a [`QueueSink`],
//! relaying for 127.0.0.0/8) in front of a durable queue on a virtual clock
//! ([`ManualClock`]) that delivers with [`SmtpTransport`] through a static resolver
//! (`example.test` MX → 127.0.0.1, the port of hop B); hop B is the SMTP driver over a
//! Maildir store. Mail enters hop A by SMTP from our client driver. The scenarios: relay to
//! the next hop, retry after a 451, over-quota deferral then bounce after expiry with the
//! DSN landing in the sender's mailbox at B (RFC 3464), NOTIFY=SUCCESS given over SMTP and
//! honoured (RFC 3461 §4.1), an alias chain and plus-addressing end to end.
//!
//! The queue at A is run with `run_due` so the virtual clock decides when retries are due.
//! Every test is bounded by a timeout.

mod smtp_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use mailhub_mta_core::bounce::DsnOptions;
use mailhub_mta_core::deliver::resolve::StaticResolver;
use mailhub_mta_core::policy::PolicyOptions;
use mailhub_mta_core::queue::{ManualClock, Queue, QueueOptions};
use mailhub_mta_core::route::{AliasLimits, AliasTable, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp_client::{BytesBody, RcptStatus, SmtpClientConfig, deliver};
use mailhub_mta_core::session::smtp_sink::{Envelope, MessageSink, MessageWriter, SinkError};
use mailhub_mta_core::session::smtp_transport::{AsyncStream, Connector, SmtpTransport};
use mailhub_smtp_proto::client::{ClientOptions, Envelope as ClientEnvelope};
use mailhub_smtp_proto::params::Notify;
use mailhub_smtp_proto::{ForwardPath, Host, MailParams, RcptParams, ReversePath};
use smtp_support::{Hub, LIMIT, Setup, split_trace, start};
use tokio_util::compat::TokioAsyncReadCompatExt;

struct Tokio;

#[async_trait]
impl Connector for Tokio {
    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Box<dyn AsyncStream>> {
        Ok(Box::new(
            tokio::net::TcpStream::connect(addr).await?.compat(),
        ))
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// A sink that answers 451 (temporary) to the first `fail` messages, then hands over.
struct FailFirst {
    inner: Arc<dyn MessageSink>,
    fail: usize,
    seen: AtomicUsize,
}

#[async_trait]
impl MessageSink for FailFirst {
    async fn begin(&self, envelope: &Envelope) -> Result<Box<dyn MessageWriter>, SinkError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.fail {
            return Err(SinkError::Temporary("next hop busy".into()));
        }
        self.inner.begin(envelope).await
    }
}

/// Hop B: `dave`, `full` (over quota) at `example.test`; aliases `sales → team → dave`;
/// `+` as the recipient delimiter; the first `fail` messages answered 451.
async fn hop_b(fail: usize) -> Hub {
    start(Setup {
        tweak: Box::new(move |c| {
            c.sink = Arc::new(FailFirst {
                inner: c.sink.clone(),
                fail,
                seen: AtomicUsize::new(0),
            });
            let mut route = RouteOptions::default();
            route.local_domains.insert("example.test".into());
            route.recipient_delimiter = Some('+');
            let aliases =
                AliasTable::parse("sales: team\nteam: dave\n", &AliasLimits::default()).unwrap();
            let known: std::collections::HashSet<String> =
                ["dave", "full", "small", "root"].map(String::from).into();
            c.router = Router::new(route, aliases, Arc::new(known));
        }),
        ..Setup::default()
    })
    .await
}

const T0: u64 = 1_700_000_000;

/// Hop A: an SMTP listener relaying for loopback clients into a queue on a virtual clock
/// (its only local domain is `a.test`), and the queue's SMTP transport to hop B.
struct HopA {
    hub: Hub,
    queue: Queue,
    clock: Arc<ManualClock>,
    transport: SmtpTransport,
}

async fn hop_a(dir: &std::path::Path, b: &Hub) -> HopA {
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(T0)));
    let options = QueueOptions {
        fsync: false,
        dsn: DsnOptions::new("queue.test"),
        ..QueueOptions::default()
    };
    let (queue, _) = Queue::open(dir, options, clock.clone(), default_runtime())
        .await
        .unwrap();
    let hub = start(Setup {
        queue: Some(queue.clone()),
        policy: PolicyOptions {
            relay_networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..PolicyOptions::default()
        },
        tweak: Box::new(|c| {
            let mut route = RouteOptions::default();
            route.local_domains.insert("a.test".into());
            let known: std::collections::HashSet<String> = ["root"].map(String::from).into();
            c.router = Router::new(route, AliasTable::default(), Arc::new(known));
        }),
        ..Setup::default()
    })
    .await;
    let r = StaticResolver::new();
    r.add_mx("example.test", 10, "mx.example.test");
    r.add_ip("mx.example.test", "127.0.0.1".parse().unwrap());
    let client = SmtpClientConfig::new(
        ClientOptions::new(Host::parse("queue.test").unwrap()),
        None,
        "",
        default_runtime(),
    );
    let transport =
        SmtpTransport::new(client, Arc::new(r), Arc::new(Tokio)).with_port(b.addr.port());
    HopA {
        hub,
        queue,
        clock,
        transport,
    }
}

/// Submits a message to hop A over SMTP (our client driver); every recipient must get 250.
async fn send_to_a(a: &HopA, sender: &str, rcpts: &[(&str, Option<Notify>)], body: &[u8]) {
    let envelope = ClientEnvelope {
        from: ReversePath::parse(&format!("<{sender}>")).unwrap(),
        params: MailParams::default(),
        recipients: rcpts
            .iter()
            .map(|(to, notify)| {
                let params = RcptParams {
                    notify: *notify,
                    ..RcptParams::default()
                };
                (ForwardPath::parse(&format!("<{to}>")).unwrap(), params)
            })
            .collect(),
    };
    let cfg = SmtpClientConfig::new(
        ClientOptions::new(Host::parse("client.remote.test").unwrap()),
        None,
        "localhost",
        default_runtime(),
    );
    let tcp = tokio::net::TcpStream::connect(a.hub.addr).await.unwrap();
    let report = deliver(
        tcp.compat(),
        &cfg,
        envelope,
        &mut BytesBody::new(body.to_vec()),
    )
    .await
    .unwrap();
    assert!(
        report
            .recipients
            .iter()
            .all(|r| r.status == RcptStatus::Delivered),
        "{report:?}"
    );
    assert_eq!(a.queue.list().len(), 1, "queued at A");
}

fn bodies(b: &Hub, user: &str) -> Vec<String> {
    b.messages(user)
        .iter()
        .map(|m| String::from_utf8_lossy(&split_trace(m).1).into_owned())
        .collect()
}

const BODY: &[u8] =
    b"From: a@remote.test\r\nSubject: two hops\r\nMessage-ID: <th@remote.test>\r\n\r\nhello\r\n";

#[tokio::test]
async fn relay_to_the_next_hop() {
    bounded(async {
        let b = hop_b(0).await;
        let spool = tempfile::tempdir().unwrap();
        let a = hop_a(spool.path(), &b).await;
        send_to_a(&a, "a@remote.test", &[("dave@example.test", None)], BODY).await;
        let r = a.queue.run_due(&a.transport).await;
        assert_eq!((r.delivered, r.deferred, r.failed), (1, 0, 0));
        assert_eq!(bodies(&b, "dave"), [String::from_utf8_lossy(BODY)]);
        assert!(
            a.queue.list().is_empty(),
            "delivered messages leave the queue"
        );
        // Both hops left their trace field (RFC 5321 §4.4), B's on top.
        let stored = String::from_utf8_lossy(&b.messages("dave")[0]).into_owned();
        let by_b = stored.find("from queue.test").expect("B's Received");
        let by_a = stored
            .find("from client.remote.test")
            .expect("A's Received");
        assert!(by_b < by_a, "{stored}");
    })
    .await;
}

#[tokio::test]
async fn retry_after_a_temporary_failure() {
    bounded(async {
        let b = hop_b(1).await;
        let spool = tempfile::tempdir().unwrap();
        let a = hop_a(spool.path(), &b).await;
        let (q, t) = (&a.queue, &a.transport);
        send_to_a(&a, "a@remote.test", &[("dave@example.test", None)], BODY).await;
        let r = q.run_due(t).await;
        assert_eq!((r.delivered, r.deferred), (0, 1), "451 first");
        // Nothing stored for the refused attempt: the pipelined BDAT LAST after a refused
        // chunk must not make a truncated message of its own.
        assert!(b.messages("dave").is_empty());
        assert_eq!(q.run_due(t).await.batches, 0, "not due before the backoff");
        a.clock.advance(Duration::from_secs(24 * 3600));
        let r = q.run_due(t).await;
        assert_eq!((r.delivered, r.deferred), (1, 0));
        assert_eq!(bodies(&b, "dave"), [String::from_utf8_lossy(BODY)]);
        assert!(q.list().is_empty());
    })
    .await;
}

#[tokio::test]
async fn over_quota_defers_then_bounces_after_expiry_with_dsn_to_the_sender() {
    bounded(async {
        let b = hop_b(0).await;
        let spool = tempfile::tempdir().unwrap();
        let a = hop_a(spool.path(), &b).await;
        let (q, t) = (&a.queue, &a.transport);
        send_to_a(
            &a,
            "dave@example.test",
            &[("full@example.test", None)],
            BODY,
        )
        .await;
        let r = q.run_due(t).await;
        assert_eq!(
            (r.delivered, r.deferred, r.failed),
            (0, 1, 0),
            "452 4.2.2 defers"
        );
        assert!(!q.list().is_empty());
        // Past the queue lifetime (default options), retried until it expires.
        let mut failed = 0;
        for _ in 0..64 {
            a.clock.advance(Duration::from_secs(12 * 3600));
            failed += q.run_due(t).await.failed;
            if failed > 0 {
                break;
            }
        }
        assert_eq!(failed, 1, "expired");
        assert!(b.messages("full").is_empty());
        // The DSN is a queued message to the sender: it goes to hop B too.
        for _ in 0..4 {
            if bodies(&b, "dave")
                .iter()
                .any(|d| d.contains("Action: failed"))
            {
                break;
            }
            q.run_due(t).await;
            a.clock.advance(Duration::from_secs(600));
        }
        // Delay warnings may come first (RFC 3461 §4.1 NOTIFY default); exactly one failure.
        let all = bodies(&b, "dave");
        let failed: Vec<_> = all
            .iter()
            .filter(|d| d.contains("Action: failed"))
            .collect();
        assert_eq!(failed.len(), 1, "{all:?}");
        assert!(failed[0].contains("multipart/report"), "{}", failed[0]);
        assert!(failed[0].contains("full@example.test"), "{}", failed[0]);
        assert!(
            all.iter()
                .all(|d| d.contains("Action: failed") || d.contains("Action: delayed"))
        );
    })
    .await;
}

#[tokio::test]
async fn notify_success_sends_a_delivered_dsn() {
    bounded(async {
        let b = hop_b(0).await;
        let spool = tempfile::tempdir().unwrap();
        let a = hop_a(spool.path(), &b).await;
        let success = Notify {
            success: true,
            failure: false,
            delay: false,
        };
        send_to_a(
            &a,
            "root@example.test",
            &[("dave@example.test", Some(success))],
            BODY,
        )
        .await;
        for _ in 0..3 {
            a.queue.run_due(&a.transport).await;
        }
        assert_eq!(bodies(&b, "dave"), [String::from_utf8_lossy(BODY)]);
        let dsn = bodies(&b, "root");
        assert_eq!(dsn.len(), 1, "{dsn:?}");
        assert!(dsn[0].contains("Action: delivered"), "{}", dsn[0]);
    })
    .await;
}

#[tokio::test]
async fn alias_chain_and_plus_addressing_end_to_end() {
    bounded(async {
        let b = hop_b(0).await;
        let spool = tempfile::tempdir().unwrap();
        let a = hop_a(spool.path(), &b).await;
        send_to_a(
            &a,
            "a@remote.test",
            &[
                ("sales@example.test", None),
                ("dave+lists@example.test", None),
            ],
            BODY,
        )
        .await;
        let r = a.queue.run_due(&a.transport).await;
        assert_eq!((r.delivered, r.failed), (2, 0));
        // One transaction with two recipients both landing in dave's mailbox: one copy each.
        let got = b.messages("dave");
        assert_eq!(got.len(), 2, "sales → team → dave, and dave+lists → dave");
        for m in &got {
            assert_eq!(split_trace(m).1, BODY);
        }
    })
    .await;
}
