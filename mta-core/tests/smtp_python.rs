//! The SMTP server driver over real loopback TCP against Python's smtplib: a message landing
//! byte-correct in the Maildir behind a `Received:` field, STARTTLS with a test certificate,
//! AUTH PLAIN after STARTTLS, AUTH not offered before TLS on a non-loopback policy, SIZE
//! refusal, unknown and relocated users at RCPT, relaying refused to an unauthenticated client
//! and allowed after AUTH, submission's AUTH-before-MAIL and sender ownership, a full mailbox
//! refused at RCPT.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

mod smtp_support;

use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::policy::PolicyOptions;
use mailhub_mta_core::session::smtp::SmtpMode;
use smtp_support::{LIMIT, PRELUDE, Setup, Tls, python, split_trace, start};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

#[tokio::test]
async fn message_lands_in_maildir_byte_correct_with_received() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let script = format!(
            "{PRELUDE}
msg = b'From: a@remote.test\\r\\nSubject: hi\\r\\n\\r\\n.leading dot\\r\\nline two \\xc3\\xa9\\r\\n'
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('client.remote.test')
assert s.has_extn('pipelining') and s.has_extn('8bitmime') and s.has_extn('enhancedstatuscodes')
assert s.has_extn('size') and s.has_extn('chunking') and s.has_extn('dsn') and s.has_extn('smtputf8')
r = s.sendmail('a@remote.test', ['dave@example.test'], msg)
assert r == {{}}, r
s.quit()
"
        );
        python(&hub, &script).await;
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let (trace, body) = split_trace(&got[0]);
        assert_eq!(
            body,
            b"From: a@remote.test\r\nSubject: hi\r\n\r\n.leading dot\r\nline two \xc3\xa9\r\n"
        );
        assert!(trace.starts_with("Return-Path: <a@remote.test>\r\n"), "{trace}");
        assert!(
            trace.contains("Received: from client.remote.test ([127.0.0.1])\r\n\tby mx.example.test with ESMTP id "),
            "{trace}"
        );
        assert!(trace.contains("\tfor <dave@example.test>; "), "{trace}");
    })
    .await;
}

#[tokio::test]
async fn starttls_then_auth_plain_and_no_auth_before_tls() {
    bounded(async {
        let hub = start(Setup {
            tls: Tls::Starttls,
            plaintext: Plaintext::Never,
            collect: true,
            ..Setup::default()
        })
        .await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
assert s.has_extn('starttls')
assert not s.has_extn('auth'), s.esmtp_features
try:
    s.login('dave', 'secret')
    raise AssertionError('login before TLS')
except smtplib.SMTPNotSupportedError:
    pass
c, m = s.docmd('AUTH', 'PLAIN AGRhdmUAc2VjcmV0'); assert c == 538, (c, m)
s.starttls(context=ctx())
s.ehlo('c.test')
assert not s.has_extn('starttls')
assert 'PLAIN' in s.esmtp_features['auth'], s.esmtp_features
expect(535, s.login, 'dave', 'wrong')
s.login('dave', 'secret')
r = s.sendmail('dave@example.test', ['friend@remote.test'], b'Subject: relayed\\r\\n\\r\\nhi\\r\\n')
assert r == {{}}, r
s.quit()
"
        );
        python(&hub, &script).await;
        let all = hub.collected.lock().unwrap().clone();
        assert_eq!(all.len(), 1);
        let (env, data) = &all[0];
        assert_eq!(env.authenticated.as_deref(), Some("dave"));
        assert!(env.tls);
        assert_eq!(env.recipients[0].address, "friend@remote.test");
        let text = String::from_utf8_lossy(data);
        assert!(text.contains(" with ESMTPSA id "), "{text}");
        assert!(text.contains("\r\n\t(using TLSv1_3 TLS13_"), "{text}");
        assert!(text.ends_with("Subject: relayed\r\n\r\nhi\r\n"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn relay_refused_unknown_user_relocated_and_full_mailbox_at_rcpt() {
    bounded(async {
        let hub = start(Setup::default()).await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
s.mail('a@remote.test')
c, m = s.rcpt('victim@remote.test'); assert c == 554 and m.startswith(b'5.7.1'), (c, m)
c, m = s.rcpt('user%other.test@example.test'); assert c == 554, (c, m)
c, m = s.rcpt('nobody@example.test'); assert c == 550 and m.startswith(b'5.1.1'), (c, m)
c, m = s.rcpt('moved@example.test'); assert c == 551 and b'moved@elsewhere.test' in m, (c, m)
c, m = s.rcpt('full@example.test'); assert c == 452 and m.startswith(b'4.2.2'), (c, m)
c, m = s.rcpt('Postmaster'); assert c == 550 or c == 250, (c, m)
c, m = s.rcpt('dave@example.test'); assert c == 250, (c, m)
s.quit()
"
        );
        python(&hub, &script).await;
        assert!(hub.messages("dave").is_empty());
    })
    .await;
}

#[tokio::test]
async fn declared_size_over_the_limit_is_refused_at_mail() {
    bounded(async {
        let hub = start(Setup {
            policy: PolicyOptions {
                max_message_size: 10_000,
                ..PolicyOptions::default()
            },
            ..Setup::default()
        })
        .await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
assert s.esmtp_features['size'] == '10000', s.esmtp_features
e = expect(552, s.sendmail, 'a@remote.test', ['dave@example.test'], b'x' * 20000)
s.rset()
r = s.sendmail('a@remote.test', ['dave@example.test'], b'Subject: small\\r\\n\\r\\nok\\r\\n')
assert r == {{}}
s.quit()
"
        );
        python(&hub, &script).await;
        assert_eq!(hub.messages("dave").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn submission_requires_auth_and_owned_sender() {
    bounded(async {
        let hub = start(Setup {
            mode: SmtpMode::Submission,
            policy: PolicyOptions {
                require_auth: true,
                ..PolicyOptions::default()
            },
            ..Setup::default()
        })
        .await;
        // Loopback: the default plaintext policy lets AUTH PLAIN through without TLS.
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
c, m = s.mail('dave@example.test'); assert c == 530 and m.startswith(b'5.7.0'), (c, m)
s.login('dave', 'secret')
c, m = s.mail('someone.else@example.test'); assert c == 553, (c, m)
c, m = s.mail('dave@example.test'); assert c == 250, (c, m)
c, m = s.rcpt('dave@example.test'); assert c == 250, (c, m)
c, m = s.data(b'Subject: sub\\r\\n\\r\\nbody\\r\\n'); assert c == 250, (c, m)
s.quit()
"
        );
        python(&hub, &script).await;
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let text = String::from_utf8_lossy(&got[0]);
        assert!(text.contains(" with ESMTPA id "), "{text}");
    })
    .await;
}

#[tokio::test]
async fn implicit_tls_submission_on_a_465_style_port() {
    bounded(async {
        let hub = start(Setup {
            mode: SmtpMode::Submission,
            tls: Tls::Implicit,
            plaintext: Plaintext::Never,
            policy: PolicyOptions {
                require_auth: true,
                ..PolicyOptions::default()
            },
            ..Setup::default()
        })
        .await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP_SSL('127.0.0.1', port, context=ctx())
s.ehlo('c.test')
assert not s.has_extn('starttls')
assert 'PLAIN' in s.esmtp_features['auth'], s.esmtp_features
s.login('dave', 'secret')
assert s.sendmail('dave@example.test', ['dave@example.test'], b'Subject: 465\\r\\n\\r\\nx\\r\\n') == {{}}
s.quit()
"
        );
        python(&hub, &script).await;
        let got = hub.messages("dave");
        assert_eq!(got.len(), 1);
        let text = String::from_utf8_lossy(&got[0]);
        assert!(text.contains(" with ESMTPSA id "), "{text}");
    })
    .await;
}
