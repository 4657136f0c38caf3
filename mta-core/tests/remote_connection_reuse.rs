//! One connection carrying several messages (RFC 5321 §4.1.4): [`SmtpTransport`]'s session
//! cache against our SMTP server on loopback, counting the connections the server accepts.
//! Several messages to one destination share one connection; a cached session the server
//! dropped meanwhile is replaced by a fresh one without a failed delivery; without reuse, or
//! once the idle time is over, each message opens its own.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use mailhub_mta_core::deliver::resolve::StaticResolver;
use mailhub_mta_core::deliver::{DeliveryJob, JobRecipient, Outcome, Transport};
use mailhub_mta_core::queue::QueueId;
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp_client::SmtpClientConfig;
use mailhub_mta_core::session::smtp_transport::{
    AsyncStream, ConnectionReuse, Connector, SmtpTransport,
};
use mailhub_smtp_proto::Host;
use mailhub_smtp_proto::client::ClientOptions;
use smtp_support::{Hub, LIMIT, Setup, start};
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

fn job(hub: &Hub, n: usize) -> DeliveryJob {
    let body = format!("Subject: message {n}\r\n\r\nbody of message {n}\r\n");
    let data = hub.dir.path().join(format!("spooled-{n}"));
    std::fs::write(&data, &body).unwrap();
    DeliveryJob {
        id: QueueId::parse("0123456789abcdef").unwrap(),
        sender: "a@remote.test".into(),
        envid: None,
        ret: None,
        data,
        size: body.len() as u64,
        recipients: vec![JobRecipient {
            address: "dave@example.test".into(),
            destination: Destination::Remote("dave@example.test".into()),
            orcpt: None,
            notify: None,
        }],
        arrival: SystemTime::now(),
    }
}

fn transport(port: u16, reuse: ConnectionReuse) -> SmtpTransport {
    let r = StaticResolver::new();
    r.add_mx("example.test", 10, "mx.example.test");
    r.add_ip("mx.example.test", "127.0.0.1".parse().unwrap());
    let options = ClientOptions::new(Host::parse("queue.test").unwrap());
    let client = SmtpClientConfig::new(options, None, "", default_runtime());
    SmtpTransport::new(client, Arc::new(r), Arc::new(Tokio))
        .with_port(port)
        .with_reuse(reuse)
}

fn delivered(out: &[Outcome]) -> bool {
    out.iter().all(|o| matches!(o, Outcome::Delivered(_)))
}

/// Each stored message carries its own body, in order.
fn assert_stored(hub: &Hub, n: usize) {
    let mut got: Vec<String> = hub
        .messages("dave")
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    got.sort_by_key(|m| m.find("body of message").map(|i| m[i..].to_owned()));
    assert_eq!(got.len(), n);
    for (i, m) in got.iter().enumerate() {
        assert!(m.ends_with(&format!("body of message {i}\r\n")), "{m}");
    }
}

#[tokio::test]
async fn several_messages_to_one_destination_share_one_connection() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let t = transport(hub.addr.port(), ConnectionReuse::default());
        for i in 0..5 {
            let out = t.deliver(&job(&hub, i)).await;
            assert!(delivered(&out), "message {i}: {out:?}");
            assert_eq!(
                t.idle_sessions(),
                1,
                "the session waits for the next message"
            );
        }
        assert_eq!(hub.accepts.load(Ordering::SeqCst), 1, "one TCP connection");
        assert_stored(&hub, 5);
        t.close_idle(true).await;
        assert_eq!(t.idle_sessions(), 0);
    })
    .await;
}

#[tokio::test]
async fn without_reuse_each_message_opens_a_connection() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let t = transport(hub.addr.port(), ConnectionReuse::NEVER);
        for i in 0..3 {
            assert!(delivered(&t.deliver(&job(&hub, i)).await));
        }
        assert_eq!(hub.accepts.load(Ordering::SeqCst), 3);
        assert_eq!(t.idle_sessions(), 0);
        assert_stored(&hub, 3);
    })
    .await;
}

#[tokio::test]
async fn a_session_carries_at_most_max_messages() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let reuse = ConnectionReuse {
            max_messages: 2,
            ..ConnectionReuse::default()
        };
        let t = transport(hub.addr.port(), reuse);
        for i in 0..4 {
            assert!(delivered(&t.deliver(&job(&hub, i)).await));
        }
        assert_eq!(hub.accepts.load(Ordering::SeqCst), 2, "two messages each");
        assert_stored(&hub, 4);
    })
    .await;
}

#[tokio::test]
async fn a_dead_cached_session_is_replaced_without_a_failure() {
    bounded(async {
        // The server gives up on a silent client after 300 ms (it answers 421 and closes).
        let hub = start(Setup {
            tweak: Box::new(|c| c.options.timeouts.command = Duration::from_millis(300)),
            ..Setup::default()
        })
        .await;
        let t = transport(hub.addr.port(), ConnectionReuse::default());
        assert!(delivered(&t.deliver(&job(&hub, 0)).await));
        assert_eq!(t.idle_sessions(), 1);
        tokio::time::sleep(Duration::from_millis(900)).await;
        let out = t.deliver(&job(&hub, 1)).await;
        assert!(delivered(&out), "{out:?}");
        assert_eq!(hub.accepts.load(Ordering::SeqCst), 2, "a fresh connection");
        assert_stored(&hub, 2);
    })
    .await;
}

#[tokio::test]
async fn an_idle_session_past_its_time_is_closed_not_reused() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let reuse = ConnectionReuse {
            idle_time: Duration::from_millis(100),
            ..ConnectionReuse::default()
        };
        let t = transport(hub.addr.port(), reuse);
        assert!(delivered(&t.deliver(&job(&hub, 0)).await));
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.close_idle(false).await;
        assert_eq!(t.idle_sessions(), 0, "expired sessions are closed");
        assert!(delivered(&t.deliver(&job(&hub, 1)).await));
        assert_eq!(hub.accepts.load(Ordering::SeqCst), 2);
    })
    .await;
}
