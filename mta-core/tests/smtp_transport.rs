//! The queue's remote transport over SMTP ([`SmtpTransport`]) against our SMTP server on
//! loopback, with a static resolver: MX lookup and per-recipient outcomes (delivered, failed
//! 5.1.1, deferred 4.2.2), a null MX and a missing domain failing, an unreachable host
//! deferring, and a smart host with AUTH over STARTTLS.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use mailhub_mta_core::deliver::resolve::StaticResolver;
use mailhub_mta_core::deliver::{DeliveryJob, JobRecipient, Outcome, SmartHost, Transport};
use mailhub_mta_core::queue::QueueId;
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp_client::SmtpClientConfig;
use mailhub_mta_core::session::smtp_transport::{AsyncStream, Connector, SmtpTransport};
use mailhub_mta_core::tls::{ClientVerification, client_config};
use mailhub_sasl::Secret;
use mailhub_smtp_proto::Host;
use mailhub_smtp_proto::client::ClientOptions;
use smtp_support::{Hub, LIMIT, Setup, Tls, split_trace, start};
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

const BODY: &[u8] = b"Subject: relayed by the queue\r\n\r\nhello\r\n";

fn job(hub: &Hub, to: &[&str]) -> DeliveryJob {
    let data = hub.dir.path().join("spooled");
    std::fs::write(&data, BODY).unwrap();
    DeliveryJob {
        id: QueueId::parse("0123456789abcdef").unwrap(),
        sender: "a@remote.test".into(),
        envid: None,
        ret: None,
        data,
        size: BODY.len() as u64,
        recipients: to
            .iter()
            .map(|t| JobRecipient {
                address: (*t).to_owned(),
                destination: Destination::Remote((*t).to_owned()),
                orcpt: None,
                notify: None,
            })
            .collect(),
        arrival: SystemTime::now(),
    }
}

fn transport(resolver: StaticResolver, port: u16) -> SmtpTransport {
    let options = ClientOptions::new(Host::parse("queue.test").unwrap());
    let tls = client_config(&ClientVerification::Opportunistic);
    let client = SmtpClientConfig::new(options, Some(tls), "", default_runtime());
    SmtpTransport::new(client, Arc::new(resolver), Arc::new(Tokio)).with_port(port)
}

fn kind(o: &Outcome) -> &'static str {
    match o {
        Outcome::Delivered(_) => "delivered",
        Outcome::Deferred(_) => "deferred",
        Outcome::Failed(_) => "failed",
    }
}

#[tokio::test]
async fn mx_delivery_with_per_recipient_outcomes() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Starttls,
            ..Setup::default()
        })
        .await;
        let r = StaticResolver::new();
        r.add_mx("example.test", 10, "mx.example.test");
        r.add_ip("mx.example.test", "127.0.0.1".parse().unwrap());
        let t = transport(r, hub.addr.port());
        let j = job(
            &hub,
            &[
                "dave@example.test",
                "nobody@example.test",
                "full@example.test",
            ],
        );
        let out = t.deliver(&j).await;
        let kinds: Vec<&str> = out.iter().map(kind).collect();
        assert_eq!(kinds, ["delivered", "failed", "deferred"], "{out:?}");
        assert!(
            matches!(&out[1], Outcome::Failed(s) if s.contains("550 5.1.1")),
            "{out:?}"
        );
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let (trace, body) = split_trace(&got[0]);
        assert_eq!(body, BODY);
        assert!(
            trace.contains(" with ESMTPS id "),
            "opportunistic TLS: {trace}"
        );
    })
    .await;
}

#[tokio::test]
async fn null_mx_missing_domain_and_unreachable_hosts() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let r = StaticResolver::new();
        r.add_mx("null.test", 0, ".");
        r.add_mx("down.test", 10, "mx.down.test");
        r.add_ip("mx.down.test", "127.0.0.1".parse().unwrap());
        // Nothing listens on this port once the listener is gone.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let t = transport(r, port);
        let out = t.deliver(&job(&hub, &["x@null.test"])).await;
        assert!(
            matches!(&out[0], Outcome::Failed(s) if s.starts_with("556 5.1.10")),
            "{out:?}"
        );
        let out = t.deliver(&job(&hub, &["x@nowhere.test"])).await;
        assert!(
            matches!(&out[0], Outcome::Failed(s) if s.starts_with("550 5.1.2")),
            "{out:?}"
        );
        let out = t.deliver(&job(&hub, &["x@down.test", "y@down.test"])).await;
        assert_eq!(
            out.iter().map(kind).collect::<Vec<_>>(),
            ["deferred", "deferred"]
        );
    })
    .await;
}

#[tokio::test]
async fn smart_host_with_auth_over_starttls() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Starttls,
            collect: true,
            ..Setup::default()
        })
        .await;
        let t = transport(StaticResolver::new(), 1).with_smart_host(SmartHost {
            host: "127.0.0.1".into(),
            port: hub.addr.port(),
            no_mx: true,
            username: Some("dave".into()),
            password: Some(Secret::new("secret".into())),
            require_tls: true,
        });
        let out = t.deliver(&job(&hub, &["friend@far.test"])).await;
        assert_eq!(kind(&out[0]), "delivered", "{out:?}");
        let all = hub.collected.lock().unwrap().clone();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0.authenticated.as_deref(), Some("dave"));
        assert!(all[0].0.tls);
        assert_eq!(all[0].0.recipients[0].address, "friend@far.test");
    })
    .await;
}
