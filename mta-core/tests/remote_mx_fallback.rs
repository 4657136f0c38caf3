//! Which hosts and addresses remote delivery tries, and in what order (RFC 5321 §5.1,
//! RFC 7505): [`SmtpTransport`] through a static resolver and a connector that maps
//! documentation addresses (192.0.2.0/24) to our SMTP servers on loopback, or refuses them,
//! and records every attempt. Every address of every MX in preference order with per-address
//! failure; the domain's own address when it has no MX (implicit MX); no attempt at all for
//! a null MX or hosts without addresses; a temporary DNS failure defers; a host that refuses
//! the session for good (554 greeting) does not stop the next one.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use mailhub_mta_core::deliver::resolve::{Mx, ResolveError, Resolver, StaticResolver};
use mailhub_mta_core::deliver::{DeliveryJob, JobRecipient, Outcome, Transport};
use mailhub_mta_core::policy::{AccessTable, PolicyOptions};
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

/// Connects mapped addresses to loopback servers, refuses the others; records attempts.
#[derive(Default)]
struct Mapped {
    map: HashMap<IpAddr, SocketAddr>,
    attempts: Mutex<Vec<IpAddr>>,
}

#[async_trait]
impl Connector for Mapped {
    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Box<dyn AsyncStream>> {
        self.attempts.lock().unwrap().push(addr.ip());
        let Some(real) = self.map.get(&addr.ip()) else {
            return Err(std::io::ErrorKind::ConnectionRefused.into());
        };
        Ok(Box::new(
            tokio::net::TcpStream::connect(real).await?.compat(),
        ))
    }
}

/// A resolver that fails temporarily for one name and asks `inner` for the rest.
struct Flaky {
    inner: StaticResolver,
    broken: &'static str,
}

#[async_trait]
impl Resolver for Flaky {
    async fn mx(&self, domain: &str) -> Result<Vec<Mx>, ResolveError> {
        self.inner.mx(domain).await
    }
    async fn ip(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if host == self.broken {
            return Err(ResolveError::Temporary("SERVFAIL".into()));
        }
        self.inner.ip(host).await
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn job(dir: &std::path::Path, to: &str) -> DeliveryJob {
    let body = b"Subject: where to\r\n\r\nhello\r\n";
    let data = dir.join("spooled");
    std::fs::write(&data, body).unwrap();
    DeliveryJob {
        id: QueueId::parse("0123456789abcdef").unwrap(),
        sender: "a@remote.test".into(),
        envid: None,
        ret: None,
        data,
        size: body.len() as u64,
        recipients: vec![JobRecipient {
            address: to.into(),
            destination: Destination::Remote(to.into()),
            orcpt: None,
            notify: None,
        }],
        arrival: SystemTime::now(),
    }
}

fn transport(resolver: Arc<dyn Resolver>, connector: Arc<Mapped>) -> SmtpTransport {
    let options = ClientOptions::new(Host::parse("queue.test").unwrap());
    let client = SmtpClientConfig::new(options, None, "", default_runtime());
    SmtpTransport::new(client, resolver, connector).with_reuse(ConnectionReuse::NEVER)
}

/// An MTA for `dave@example.test` (and, since every test sends there, the final host).
async fn mx() -> Hub {
    start(Setup::default()).await
}

#[tokio::test]
async fn every_address_of_every_mx_in_preference_order() {
    bounded(async {
        let hub = mx().await;
        let r = StaticResolver::new();
        r.add_mx("example.test", 20, "mx2.example.test").add_mx(
            "example.test",
            10,
            "mx1.example.test",
        );
        r.add_ip("mx1.example.test", ip("192.0.2.1"))
            .add_ip("mx1.example.test", ip("192.0.2.2"));
        r.add_ip("mx2.example.test", ip("192.0.2.3"));
        let c = Arc::new(Mapped {
            map: [(ip("192.0.2.3"), hub.addr)].into(),
            ..Mapped::default()
        });
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(hub.dir.path(), "dave@example.test")).await;
        assert!(
            matches!(&out[0], Outcome::Delivered(s) if s.starts_with("mx2.example.test: 250")),
            "{out:?}"
        );
        assert_eq!(
            *c.attempts.lock().unwrap(),
            [ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")]
        );
        assert_eq!(hub.messages("dave").len(), 1);

        // With at most two addresses tried, mx2 is never reached.
        c.attempts.lock().unwrap().clear();
        let r = StaticResolver::new();
        r.add_mx("example.test", 10, "mx1.example.test").add_mx(
            "example.test",
            20,
            "mx2.example.test",
        );
        r.add_ip("mx1.example.test", ip("192.0.2.1"))
            .add_ip("mx1.example.test", ip("192.0.2.2"));
        r.add_ip("mx2.example.test", ip("192.0.2.3"));
        let t = transport(Arc::new(r), c.clone()).with_max_addresses(2);
        let out = t.deliver(&job(hub.dir.path(), "dave@example.test")).await;
        assert!(matches!(&out[0], Outcome::Deferred(_)), "{out:?}");
        assert_eq!(c.attempts.lock().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn no_mx_falls_back_to_the_domains_address() {
    bounded(async {
        let hub = mx().await;
        let r = StaticResolver::new();
        r.add_ip("example.test", ip("192.0.2.7"));
        let c = Arc::new(Mapped {
            map: [(ip("192.0.2.7"), hub.addr)].into(),
            ..Mapped::default()
        });
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(hub.dir.path(), "dave@example.test")).await;
        assert!(matches!(&out[0], Outcome::Delivered(_)), "{out:?}");
        assert_eq!(*c.attempts.lock().unwrap(), [ip("192.0.2.7")]);
    })
    .await;
}

#[tokio::test]
async fn a_null_mx_fails_without_falling_back_to_the_address() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let r = StaticResolver::new();
        r.add_mx("example.test", 0, ".");
        // The address record must not be used (RFC 7505 §3).
        r.add_ip("example.test", ip("192.0.2.7"));
        let c = Arc::new(Mapped::default());
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(dir.path(), "dave@example.test")).await;
        assert!(
            matches!(&out[0], Outcome::Failed(s) if s.starts_with("556 5.1.10")),
            "{out:?}"
        );
        assert!(c.attempts.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn mx_hosts_without_addresses_fail_and_a_dns_timeout_defers() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let r = StaticResolver::new();
        r.add_mx("example.test", 10, "gone.example.test");
        let c = Arc::new(Mapped::default());
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(dir.path(), "dave@example.test")).await;
        assert!(
            matches!(&out[0], Outcome::Failed(s) if s.starts_with("550 5.4.4")),
            "{out:?}"
        );

        let inner = StaticResolver::new();
        inner.add_mx("example.test", 10, "slow.example.test");
        let flaky = Flaky {
            inner,
            broken: "slow.example.test",
        };
        let t = transport(Arc::new(flaky), c.clone());
        let out = t.deliver(&job(dir.path(), "dave@example.test")).await;
        assert!(
            matches!(&out[0], Outcome::Deferred(s) if s.starts_with("451 4.4.3")),
            "{out:?}"
        );
        assert!(c.attempts.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_host_refusing_the_session_for_good_does_not_stop_the_next() {
    bounded(async {
        let refusing = start(Setup {
            policy: PolicyOptions {
                access: AccessTable::parse("client 127.0.0.0/8 REJECT 554 5.7.1 Go away").unwrap(),
                ..PolicyOptions::default()
            },
            ..Setup::default()
        })
        .await;
        let hub = mx().await;
        let r = StaticResolver::new();
        r.add_mx("example.test", 10, "mx1.example.test").add_mx(
            "example.test",
            20,
            "mx2.example.test",
        );
        r.add_ip("mx1.example.test", ip("192.0.2.1"));
        r.add_ip("mx2.example.test", ip("192.0.2.2"));
        let c = Arc::new(Mapped {
            map: [
                (ip("192.0.2.1"), refusing.addr),
                (ip("192.0.2.2"), hub.addr),
            ]
            .into(),
            ..Mapped::default()
        });
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(hub.dir.path(), "dave@example.test")).await;
        assert!(matches!(&out[0], Outcome::Delivered(_)), "{out:?}");
        assert_eq!(c.attempts.lock().unwrap().len(), 2);

        // When every host refuses for good, the message fails.
        let r = StaticResolver::new();
        r.add_mx("example.test", 10, "mx1.example.test");
        r.add_ip("mx1.example.test", ip("192.0.2.1"));
        let t = transport(Arc::new(r), c.clone());
        let out = t.deliver(&job(hub.dir.path(), "dave@example.test")).await;
        assert!(
            matches!(&out[0], Outcome::Failed(s) if s.contains("Go away")),
            "{out:?}"
        );
    })
    .await;
}
