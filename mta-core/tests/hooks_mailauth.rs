//! SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) through the `mail-auth` message hook,
//! in real SMTP sessions over loopback: the `Authentication-Results:` field (RFC 8601) is in
//! the delivered Maildir copy, and the DMARC `p=reject` option refuses a forged message.
//! DNS is an offline [`AuthDns`] holding the test's records: no network.
//!
//! Every test is bounded by a timeout.
#![cfg(feature = "mail-auth")]

mod smtp_support;

use std::sync::Arc;

use base64::Engine;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use mailhub_mta_core::policy::{AuthDns, MailAuth, MailAuthOptions, Policy, PolicyOptions};
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

const MESSAGE: &[u8] = b"From: Alice <alice@remote.test>\r\nTo: dave@example.test\r\n\
Subject: signed\r\nMessage-ID: <1@remote.test>\r\n\r\nHello Dave,\r\nthis is signed.\r\n";

/// `remote.test` publishes a DKIM key (selector `s1`), SPF allowing only `spf_ip`, and DMARC
/// `p=reject`. Returns the zone and the signed message.
fn zone(spf_ip: &str) -> (Arc<AuthDns>, Vec<u8>) {
    let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap();
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    let signature = DkimSigner::from_key(key)
        .domain("remote.test")
        .selector("s1")
        .headers(["From", "To", "Subject", "Message-ID"])
        .sign(MESSAGE)
        .unwrap();
    let mut signed = signature.to_header().into_bytes();
    signed.extend_from_slice(MESSAGE);

    let dns = AuthDns::offline();
    dns.add_txt(
        "s1._domainkey.remote.test",
        &format!("v=DKIM1; k=ed25519; p={public}"),
    )
    .unwrap();
    dns.add_txt("remote.test", &format!("v=spf1 ip4:{spf_ip} -all"))
        .unwrap();
    dns.add_txt("_dmarc.remote.test", "v=DMARC1; p=reject")
        .unwrap();
    (Arc::new(dns), signed)
}

async fn hub(dns: Arc<AuthDns>, reject_dmarc: bool) -> Hub {
    let options = MailAuthOptions {
        reject_dmarc,
        ..MailAuthOptions::new("mx.example.test")
    };
    let hook = Arc::new(MailAuth::offline(options, dns).unwrap());
    start(Setup {
        mode: SmtpMode::Mta,
        tweak: Box::new(move |c| {
            c.policy = Arc::new(Policy::new(PolicyOptions::default()).with_message_hook(hook));
        }),
        ..Setup::default()
    })
    .await
}

async fn send(hub: &Hub, body: &[u8]) -> DeliveryReport {
    let options = ClientOptions::new(Host::parse("mail.remote.test").unwrap());
    let cfg = SmtpClientConfig::new(options, None, "localhost", default_runtime());
    let env = Envelope {
        from: ReversePath::parse("<alice@remote.test>").unwrap(),
        params: MailParams::default(),
        recipients: vec![(
            ForwardPath::parse("<dave@example.test>").unwrap(),
            RcptParams::default(),
        )],
    };
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    deliver(tcp.compat(), &cfg, env, &mut BytesBody::new(body.to_vec()))
        .await
        .unwrap()
}

/// The stored message's `Authentication-Results:` field, unfolded.
fn auth_results(stored: &[u8]) -> String {
    let text = String::from_utf8_lossy(stored);
    let start = text
        .find("Authentication-Results: ")
        .unwrap_or_else(|| panic!("no Authentication-Results in {text}"));
    let mut field = String::new();
    for (i, line) in text[start..].split("\r\n").enumerate() {
        if i > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        field.push_str(line.trim_start());
        field.push(' ');
    }
    field
}

#[tokio::test]
async fn a_signed_message_from_an_authorised_address_passes_and_is_stamped() {
    bounded(async {
        // The loopback client is 127.0.0.1, which the SPF record allows.
        let (dns, signed) = zone("127.0.0.1");
        let hub = hub(dns, true).await;
        let r = send(&hub, &signed).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Delivered, "{r:?}");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let ar = auth_results(&got[0]);
        assert!(
            ar.starts_with("Authentication-Results: mx.example.test;"),
            "{ar}"
        );
        assert!(ar.contains("dkim=pass"), "{ar}");
        assert!(ar.contains("header.d=remote.test"), "{ar}");
        assert!(ar.contains("spf=pass"), "{ar}");
        assert!(ar.contains("smtp.mailfrom=alice@remote.test"), "{ar}");
        assert!(ar.contains("dmarc=pass"), "{ar}");
        // On top, above our Received: field, and the message itself untouched below.
        let text = String::from_utf8_lossy(&got[0]);
        assert!(
            text.find("Authentication-Results:") < text.find("Received:"),
            "{text}"
        );
        assert!(got[0].ends_with(&signed), "{text}");
    })
    .await;
}

#[tokio::test]
async fn a_tampered_message_is_stamped_failed_and_still_delivered_by_default() {
    bounded(async {
        // SPF fails too (the record allows another address): nothing aligns.
        let (dns, signed) = zone("192.0.2.1");
        let hub = hub(dns, false).await;
        let tampered = String::from_utf8(signed)
            .unwrap()
            .replace("this is signed.", "send me your password.");
        let r = send(&hub, tampered.as_bytes()).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Delivered, "{r:?}");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1, "the default never refuses");
        let ar = auth_results(&got[0]);
        // RFC 6376 §3.7: a body that no longer matches its body hash; the signature no
        // longer vouches for anything.
        assert!(
            ar.contains("dkim=neutral (body hash did not verify)"),
            "{ar}"
        );
        assert!(!ar.contains("dkim=pass"), "{ar}");
        assert!(ar.contains("spf=fail"), "{ar}");
        assert!(ar.contains("dmarc=fail"), "{ar}");
        assert!(ar.contains("policy.dmarc=reject"), "{ar}");
    })
    .await;
}

#[tokio::test]
async fn the_reject_option_refuses_a_dmarc_failure_with_550_5_7_1() {
    bounded(async {
        let (dns, signed) = zone("192.0.2.1");
        let hub = hub(dns, true).await;
        let tampered = String::from_utf8(signed)
            .unwrap()
            .replace("this is signed.", "send me your password.");
        let r = send(&hub, tampered.as_bytes()).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Failed, "{r:?}");
        assert_eq!(r.recipients[0].reply.code().value(), 550);
        assert!(r.recipients[0].reply.text().contains("DMARC"), "{r:?}");
        assert!(hub.messages("dave").is_empty(), "nothing stored");
    })
    .await;
}

#[tokio::test]
async fn forged_results_under_our_authserv_id_are_removed_and_others_kept() {
    bounded(async {
        // SPF fails (the record allows another address), whatever the forged field says.
        let (dns, signed) = zone("192.0.2.1");
        let hub = hub(dns, false).await;
        let mut forged = b"Authentication-Results: MX.example.test;\r\n spf=pass smtp.mailfrom=alice@remote.test\r\nAuthentication-Results: other.example; spf=pass\r\n".to_vec();
        forged.extend_from_slice(&signed);
        let r = send(&hub, &forged).await;
        assert_eq!(r.recipients[0].status, RcptStatus::Delivered, "{r:?}");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let text = String::from_utf8_lossy(&got[0]).into_owned();
        // Ours, on top, says what the checks found; the forgery is gone.
        let ar = auth_results(&got[0]);
        assert!(ar.contains("spf=fail"), "{ar}");
        assert_eq!(
            text.to_ascii_lowercase()
                .matches("authentication-results: mx.example.test;")
                .count(),
            1,
            "{text}"
        );
        assert!(!text.contains("MX.example.test"), "{text}");
        // Another host's results are not ours to remove.
        assert!(
            text.contains("Authentication-Results: other.example; spf=pass\r\n"),
            "{text}"
        );
        assert!(got[0].ends_with(&signed), "{text}");
    })
    .await;
}
