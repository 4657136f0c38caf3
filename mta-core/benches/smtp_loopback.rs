//! Messages per second through the SMTP server driver over loopback TCP into a Maildir (with
//! the store's fsync), sent by our SMTP client driver: 20 concurrent senders, one 5 KB
//! message per connection, the 250 only after the message is in the Maildir.

use std::collections::HashSet;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_main};
use mailhub_mta_core::auth::{AuthPolicy, Authenticator};
use mailhub_mta_core::policy::{Policy, PolicyOptions};
use mailhub_mta_core::route::{AliasTable, RouteOptions, Router};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, serve};
use mailhub_mta_core::session::smtp_client::{BytesBody, RcptStatus, SmtpClientConfig, deliver};
use mailhub_mta_core::session::smtp_sink::StoreSink;
use mailhub_mta_core::store::{MailStore, MaildirStore};
use mailhub_sasl::{PasswdFile, Registry};
use mailhub_smtp_proto::client::{ClientOptions, Envelope, TlsPolicy};
use mailhub_smtp_proto::{ForwardPath, Host, MailParams, RcptParams, ReversePath};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

const SENDERS: usize = 20;

fn smtp_into_maildir(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = default_runtime();
    let store: Arc<dyn MailStore> = Arc::new(MaildirStore::under(
        dir.path().join("mail"),
        runtime.clone(),
    ));
    let auth = Authenticator::new(
        Registry::default(),
        PasswdFile::parse("").unwrap(),
        AuthPolicy::default(),
        runtime.clone(),
    );
    let mut route = RouteOptions::default();
    route.local_domains.insert("example.test".into());
    let users: HashSet<String> = ["dave".to_owned()].into();
    let router = Router::new(route, AliasTable::default(), Arc::new(users));
    let config = Arc::new(SmtpConfig::new(
        SmtpMode::Mta,
        "mx.example.test",
        Arc::new(auth),
        Arc::new(Policy::new(PolicyOptions {
            max_messages_per_client: u32::MAX,
            ..PolicyOptions::default()
        })),
        router,
        Arc::new(StoreSink::new(store, 1 << 20)),
        runtime.clone(),
    ));
    let addr = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, peer)) = listener.accept().await {
                let config = config.clone();
                tokio::spawn(async move { serve(tcp.compat(), peer, &config).await });
            }
        });
        addr
    });
    let mut options = ClientOptions::new(Host::parse("client.test").unwrap());
    options.starttls = TlsPolicy::Never;
    let client = Arc::new(SmtpClientConfig::new(options, None, "localhost", runtime));
    let mut body = b"From: a@remote.test\r\nSubject: bench\r\n\r\n".to_vec();
    while body.len() < 5000 {
        body.extend_from_slice(format!("{}\r\n", "x".repeat(76)).as_bytes());
    }
    let envelope = Envelope {
        from: ReversePath::parse("<a@remote.test>").unwrap(),
        params: MailParams::default(),
        recipients: vec![(
            ForwardPath::parse("<dave@example.test>").unwrap(),
            RcptParams::default(),
        )],
    };
    let mut g = c.benchmark_group("smtp_loopback");
    g.throughput(Throughput::Elements(SENDERS as u64));
    g.sample_size(10);
    g.bench_function("20_senders_5k_into_maildir", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = Vec::new();
                for _ in 0..SENDERS {
                    let (client, env, data) = (client.clone(), envelope.clone(), body.clone());
                    tasks.push(tokio::spawn(async move {
                        let tcp = TcpStream::connect(addr).await.unwrap();
                        let mut src = BytesBody::new(data);
                        let r = deliver(tcp.compat(), &client, env, &mut src).await.unwrap();
                        assert_eq!(r.recipients[0].status, RcptStatus::Delivered);
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::smtp_into_maildir);
}
criterion_main!(group::benches);
