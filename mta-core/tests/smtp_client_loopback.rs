//! Our SMTP client driver against our SMTP server driver over loopback TCP: STARTTLS with a
//! verified test certificate and AUTH (SCRAM, the strongest mechanism both offer) with
//! per-recipient results (delivered, failed 5.1.1, deferred 4.2.2) and the content landing
//! byte-correct; STARTTLS required but not offered; LMTP client mode with per-recipient
//! replies after the content.
//!
//! Every test is bounded by a timeout.

mod smtp_support;

use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::smtp::SmtpMode;
use mailhub_mta_core::session::smtp_client::{
    BytesBody, DeliverError, RcptStatus, SmtpClientConfig, deliver,
};
use mailhub_mta_core::tls::{ClientVerification, client_config};
use mailhub_sasl::{Mechanism, Secret};
use mailhub_smtp_proto::client::{ClientOptions, Envelope, TlsPolicy};
use mailhub_smtp_proto::{ClientError, ForwardPath, Host, MailParams, RcptParams, ReversePath};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use smtp_support::{Hub, LIMIT, Setup, Tls, split_trace, start};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        from: ReversePath::parse(&format!("<{from}>")).unwrap(),
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
    }
}

fn config(hub: &Hub, starttls: TlsPolicy, lmtp: bool) -> SmtpClientConfig {
    let pem = std::fs::read(&hub.cert).unwrap();
    let root = CertificateDer::from_pem_slice(&pem).unwrap();
    let tls = client_config(&ClientVerification::Verified {
        extra_roots: vec![root],
    });
    let mut options = ClientOptions::new(Host::parse("client.example.test").unwrap());
    options.starttls = starttls;
    options.lmtp = lmtp;
    SmtpClientConfig::new(options, Some(tls), "localhost", default_runtime())
}

const BODY: &[u8] =
    b"From: dave@example.test\r\nSubject: via our client\r\n\r\n.a dot\r\n..two\r\nend\r\n";

#[tokio::test]
async fn starttls_auth_and_per_recipient_results() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Starttls,
            ..Setup::default()
        })
        .await;
        let mut cfg = config(&hub, TlsPolicy::Required, false);
        cfg.credentials = Some(("dave".into(), Secret::new("secret".into())));
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let env = envelope(
            "dave@example.test",
            &[
                "dave@example.test",
                "nobody@example.test",
                "full@example.test",
            ],
        );
        let mut body = BytesBody::new(BODY.to_vec());
        let report = deliver(tcp.compat(), &cfg, env, &mut body).await.unwrap();
        assert!(report.tls && report.authenticated, "{report:?}");
        // TLS 1.3 gives channel binding, so the strongest SCRAM is the -PLUS one.
        assert_eq!(report.mechanism, Some(Mechanism::ScramSha256Plus));
        let st: Vec<RcptStatus> = report.recipients.iter().map(|r| r.status).collect();
        assert_eq!(
            st,
            [
                RcptStatus::Delivered,
                RcptStatus::Failed,
                RcptStatus::Deferred
            ]
        );
        assert_eq!(report.recipients[1].reply.code().value(), 550);
        assert_eq!(report.recipients[2].reply.code().value(), 452);
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let (trace, content) = split_trace(&got[0]);
        assert!(trace.contains(" with ESMTPSA id "), "{trace}");
        assert_eq!(content, BODY);
    })
    .await;
}

#[tokio::test]
async fn required_starttls_not_offered_is_an_error_and_opportunistic_goes_plain() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let cfg = config(&hub, TlsPolicy::Required, false);
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut body = BytesBody::new(BODY.to_vec());
        let env = envelope("a@remote.test", &["dave@example.test"]);
        let err = deliver(tcp.compat(), &cfg, env.clone(), &mut body)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DeliverError::Protocol(ClientError::MissingExtension(_))
            ),
            "{err:?}"
        );
        assert!(!err.is_permanent());
        assert!(hub.messages("dave").is_empty());

        let cfg = config(&hub, TlsPolicy::Opportunistic, false);
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut body = BytesBody::new(BODY.to_vec());
        let report = deliver(tcp.compat(), &cfg, env, &mut body).await.unwrap();
        assert!(!report.tls);
        assert_eq!(report.recipients[0].status, RcptStatus::Delivered);
        assert_eq!(hub.messages("dave").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn lmtp_client_gets_one_result_per_recipient() {
    bounded(async {
        let hub = start(Setup {
            mode: SmtpMode::Lmtp,
            ..Setup::default()
        })
        .await;
        let cfg = config(&hub, TlsPolicy::Never, true);
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut data = b"Subject: big\r\n\r\n".to_vec();
        data.extend(b"0123456789abcdef\r\n".repeat(40));
        let mut body = BytesBody::new(data.clone());
        let env = envelope(
            "a@remote.test",
            &["dave@example.test", "small@example.test"],
        );
        let report = deliver(tcp.compat(), &cfg, env, &mut body).await.unwrap();
        let st: Vec<RcptStatus> = report.recipients.iter().map(|r| r.status).collect();
        assert_eq!(st, [RcptStatus::Delivered, RcptStatus::Deferred]);
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        assert_eq!(split_trace(&got[0]).1, data);
    })
    .await;
}

#[tokio::test]
async fn implicit_tls_client_to_an_implicit_tls_server() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Implicit,
            ..Setup::default()
        })
        .await;
        let mut cfg = config(&hub, TlsPolicy::Opportunistic, false);
        cfg.implicit_tls = true;
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut body = BytesBody::new(BODY.to_vec());
        let env = envelope("a@remote.test", &["dave@example.test"]);
        let report = deliver(tcp.compat(), &cfg, env, &mut body).await.unwrap();
        assert!(report.tls && !report.authenticated, "{report:?}");
        assert_eq!(report.recipients[0].status, RcptStatus::Delivered);
        let got = hub.messages("dave");
        assert_eq!(split_trace(&got[0]).1, BODY);
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_servers_size_is_not_offered() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let cfg = config(&hub, TlsPolicy::Never, false);
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut body = BytesBody::new(BODY.to_vec());
        let mut env = envelope("a@remote.test", &["dave@example.test"]);
        env.params.size = Some(1 << 40);
        let err = deliver(tcp.compat(), &cfg, env, &mut body)
            .await
            .unwrap_err();
        assert!(matches!(err, DeliverError::Unsupported(_)), "{err:?}");
        assert!(err.is_permanent());
        assert!(hub.messages("dave").is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_sink_failure_mid_bdat_refuses_the_whole_message() {
    bounded(async {
        // The engine would take 25 MB; the sink stops at 100 kB, in the second BDAT chunk.
        let hub = start(Setup {
            store_sink_limit: 100_000,
            ..Setup::default()
        })
        .await;
        let cfg = config(&hub, TlsPolicy::Never, false);
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut data = b"Subject: big\r\n\r\n".to_vec();
        data.extend(format!("{}\r\n", "y".repeat(98)).repeat(1500).as_bytes());
        let mut body = BytesBody::new(data);
        let env = envelope("a@remote.test", &["dave@example.test"]);
        let report = deliver(tcp.compat(), &cfg, env, &mut body).await.unwrap();
        assert_eq!(
            report.recipients[0].status,
            RcptStatus::Failed,
            "{report:?}"
        );
        assert_eq!(report.recipients[0].reply.code().value(), 552);
        assert!(
            hub.messages("dave").is_empty(),
            "no partial message delivered"
        );
    })
    .await;
}
