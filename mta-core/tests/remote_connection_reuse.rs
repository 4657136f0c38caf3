//! One connection carrying several messages (RFC 5321 §4.1.4): [`SmtpTransport`]'s session
//! cache against our SMTP server on loopback, counting the connections the server accepts.
//! Several messages to one destination share one connection; a cached session the server
//! dropped meanwhile is replaced by a fresh one without a failed delivery; without reuse, or
//! once the idle time is over, each message opens its own.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    job_at(&data)
}

/// A job for `dave@example.test` with the message in `data`.
fn job_at(data: &std::path::Path) -> DeliveryJob {
    let size = std::fs::metadata(data).unwrap().len();
    let data = data.to_owned();
    DeliveryJob {
        id: QueueId::parse("0123456789abcdef").unwrap(),
        sender: "a@remote.test".into(),
        envid: None,
        ret: None,
        data,
        size,
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

/// A minimal SMTP server that takes messages and, on the first connection only, closes the
/// socket without a word right after answering RSET (a peer that drops idle clients
/// silently). Returns its port, the accept count and the messages it took.
async fn silent_dropper() -> (u16, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepts = Arc::new(AtomicUsize::new(0));
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let (count, took) = (accepts.clone(), messages.clone());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let first = count.fetch_add(1, Ordering::SeqCst) == 0;
            let took = took.clone();
            tokio::spawn(async move {
                let (r, mut w) = tcp.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            took.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 taken\r\n").await.unwrap();
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250 fake\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                    if verb == "QUIT" || (verb == "RSET" && first) {
                        return;
                    }
                }
            });
        }
    });
    (port, accepts, messages)
}

#[tokio::test]
async fn a_cached_session_closed_without_a_word_is_replaced() {
    bounded(async {
        let (port, accepts, messages) = silent_dropper().await;
        let dir = tempfile::tempdir().unwrap();
        let hub_like = |n| {
            let data = dir.path().join(format!("m{n}"));
            std::fs::write(&data, format!("Subject: {n}\r\n\r\nbody {n}\r\n")).unwrap();
            job_at(&data)
        };
        let t = transport(port, ConnectionReuse::default());
        assert!(delivered(&t.deliver(&hub_like(0)).await));
        assert_eq!(t.idle_sessions(), 1, "parked after RSET");
        // The server has closed that session meanwhile; the next message finds out.
        let out = t.deliver(&hub_like(1)).await;
        assert!(delivered(&out), "{out:?}");
        assert_eq!(accepts.load(Ordering::SeqCst), 2);
        let took = messages.lock().unwrap().clone();
        assert_eq!(took.len(), 2, "each message once: {took:?}");
        assert!(took[1].contains("body 1"), "{took:?}");
    })
    .await;
}

/// Maps 192.0.2.x to loopback servers.
struct Mapped(std::collections::HashMap<std::net::IpAddr, SocketAddr>);

#[async_trait]
impl Connector for Mapped {
    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Box<dyn AsyncStream>> {
        let real = self
            .0
            .get(&addr.ip())
            .ok_or(std::io::ErrorKind::ConnectionRefused)?;
        Ok(Box::new(
            tokio::net::TcpStream::connect(real).await?.compat(),
        ))
    }
}

#[tokio::test]
async fn a_full_cache_closes_its_oldest_session() {
    bounded(async {
        let relay = || Setup {
            collect: true,
            policy: mailhub_mta_core::policy::PolicyOptions {
                relay_networks: vec!["127.0.0.0/8".parse().unwrap()],
                ..Default::default()
            },
            ..Setup::default()
        };
        let (one, two) = (start(relay()).await, start(relay()).await);
        let r = StaticResolver::new();
        r.add_ip("one.test", "192.0.2.1".parse().unwrap());
        r.add_ip("two.test", "192.0.2.2".parse().unwrap());
        let map = [
            ("192.0.2.1".parse().unwrap(), one.addr),
            ("192.0.2.2".parse().unwrap(), two.addr),
        ];
        let options = ClientOptions::new(Host::parse("queue.test").unwrap());
        let client = SmtpClientConfig::new(options, None, "", default_runtime());
        let reuse = ConnectionReuse {
            max_idle: 1,
            ..ConnectionReuse::default()
        };
        let t =
            SmtpTransport::new(client, Arc::new(r), Arc::new(Mapped(map.into()))).with_reuse(reuse);
        let to = |domain: &str, n| {
            let mut j = job(&one, n);
            let addr = format!("x@{domain}");
            j.recipients[0].address = addr.clone();
            j.recipients[0].destination = Destination::Remote(addr);
            j
        };
        assert!(delivered(&t.deliver(&to("one.test", 0)).await));
        assert!(delivered(&t.deliver(&to("two.test", 1)).await));
        assert_eq!(t.idle_sessions(), 1, "at most one idle session");
        assert!(delivered(&t.deliver(&to("two.test", 2)).await));
        assert!(delivered(&t.deliver(&to("one.test", 3)).await));
        assert_eq!(
            two.accepts.load(Ordering::SeqCst),
            1,
            "two.test's session reused"
        );
        assert_eq!(
            one.accepts.load(Ordering::SeqCst),
            2,
            "one.test's was evicted"
        );
        assert_eq!(one.collected.lock().unwrap().len(), 2);
        assert_eq!(two.collected.lock().unwrap().len(), 2);
    })
    .await;
}
