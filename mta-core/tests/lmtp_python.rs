//! The LMTP driver (RFC 2033) against Python's `smtplib.LMTP`: LHLO, one reply per recipient
//! after DATA (§4.2) with one recipient over its Maildir++ quota (452 4.2.2 for it alone),
//! over loopback TCP and over a Unix socket.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

mod smtp_support;

use std::sync::Arc;

use mailhub_mta_core::session::smtp::{SmtpConfig, SmtpMode, serve};
use smtp_support::{LIMIT, PRELUDE, Setup, python, split_trace, start};

const SCRIPT: &str = "
s = smtplib.LMTP()
s.connect(HOST, port)
c, m = s.ehlo('mda.test'); assert c == 250, (c, m)
assert s.has_extn('pipelining') and s.has_extn('enhancedstatuscodes'), s.esmtp_features
assert not s.has_extn('auth') and not s.has_extn('starttls'), s.esmtp_features
c, m = s.mail('a@remote.test'); assert c == 250, (c, m)
c, m = s.rcpt('dave@example.test'); assert c == 250, (c, m)
c, m = s.rcpt('nobody@example.test'); assert c == 550, (c, m)
c, m = s.rcpt('small@example.test'); assert c == 250, (c, m)
body = b'Subject: lmtp\\r\\n\\r\\n' + b'0123456789abcdef\\r\\n' * 60
c, m = s.data(body); assert c == 250 and m.startswith(b'2.0.0'), (c, m)
c, m = s.getreply(); assert c == 452 and m.startswith(b'4.2.2'), (c, m)
s.quit()
print('ok')
";

#[tokio::test]
async fn lmtp_replies_per_recipient_with_one_over_quota() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Setup {
            mode: SmtpMode::Lmtp,
            ..Setup::default()
        })
        .await;
        let script = format!("{PRELUDE}HOST = '127.0.0.1'\n{SCRIPT}");
        assert_eq!(python(&hub, &script).await.trim(), "ok");
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let (trace, body) = split_trace(&got[0]);
        assert!(trace.contains(" with LMTP id "), "{trace}");
        assert!(body.starts_with(b"Subject: lmtp\r\n\r\n0123"));
        assert_eq!(body.len(), 17 + 18 * 60);
        assert!(hub.messages("small").is_empty());
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn lmtp_over_a_unix_socket() {
    use tokio_util::compat::TokioAsyncReadCompatExt;
    tokio::time::timeout(LIMIT, async {
        let config: Arc<std::sync::Mutex<Option<SmtpConfig>>> = Default::default();
        let keep = config.clone();
        let hub = start(Setup {
            mode: SmtpMode::Lmtp,
            tweak: Box::new(move |c| *keep.lock().unwrap() = Some(c.clone())),
            ..Setup::default()
        })
        .await;
        let config = config.lock().unwrap().take().unwrap();
        let path = hub.dir.path().join("lmtp.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            // A Unix socket has no peer IP: the embedder names one (here loopback).
            let peer = "127.0.0.1:0".parse().unwrap();
            serve(sock.compat(), peer, &config).await.unwrap()
        });
        let script = format!("{PRELUDE}HOST = {:?}\n{SCRIPT}", path.to_str().unwrap());
        assert_eq!(python(&hub, &script).await.trim(), "ok");
        server.await.unwrap();
        assert_eq!(hub.messages("dave").len(), 1);
    })
    .await
    .expect("test timed out");
}
