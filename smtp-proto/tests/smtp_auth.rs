//! RFC 4954 §7 examples and the AUTH rules: initial response, challenges, `*`, TLS first.

mod common;

use common::{Decision, reply, transcript};
use mailhub_smtp_proto::server::{Event, Extensions, ServerOptions};

fn example_com(mechs: &[&str]) -> ServerOptions {
    let mut o = ServerOptions::new("smtp.example.com");
    o.extensions = Extensions {
        enhanced_status_codes: true,
        starttls: true,
        auth: mechs.iter().map(|m| m.to_string()).collect(),
        auth_requires_tls: false,
        ..Extensions::default()
    };
    o
}

fn secret(e: &Event) -> Option<Vec<u8>> {
    match e {
        Event::Auth {
            initial_response: Some(ir),
            ..
        } => Some(ir.expose().clone()),
        Event::AuthResponse(r) => Some(r.expose().clone()),
        _ => None,
    }
}

#[test]
fn rfc4954_plain_with_initial_response_after_starttls() {
    let mut o = example_com(&["GSSAPI", "DIGEST-MD5", "PLAIN"]);
    o.extensions.auth_requires_tls = true;
    let mut got = Vec::new();
    let (server, seen) = transcript(
        o,
        "S: 220 smtp.example.com ESMTP Service ready
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250 STARTTLS
         C: AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=
         S: 538 5.7.11 Encryption required for requested authentication mechanism
         C: STARTTLS
         S: 220 2.0.0 Ready to start TLS
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250 AUTH GSSAPI DIGEST-MD5 PLAIN
         C: AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=
         S: 235 2.7.0 Authentication successful",
        |e| {
            if let Some(s) = secret(e) {
                got.push(s);
            }
            None
        },
    );
    assert_eq!(got, vec![b"test\0test\x001234".to_vec()]);
    assert!(server.is_authenticated() && server.is_tls());
    assert!(seen.events.contains(&Event::StartTls));
}

#[test]
fn rfc4954_plain_with_empty_challenge() {
    transcript(
        example_com(&["GSSAPI", "DIGEST-MD5", "PLAIN"]),
        "S: 220 smtp.example.com ESMTP Service ready
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250-STARTTLS
         S: 250 AUTH GSSAPI DIGEST-MD5 PLAIN
         C: AUTH PLAIN
         S: 334<sp>
         C: dGVzdAB0ZXN0ADEyMzQ=
         S: 235 2.7.0 Authentication successful",
        |e| match e {
            Event::Auth {
                initial_response: None,
                ..
            } => Some(Decision::AuthChallenge(vec![])),
            _ => None,
        },
    );
}

#[test]
fn rfc4954_cram_md5_challenge() {
    let challenge = b"<4192942341.12828472@sourcefour.andrew.cmu.edu>".to_vec();
    let mut responses = Vec::new();
    transcript(
        example_com(&["DIGEST-MD5", "CRAM-MD5"]),
        "S: 220 smtp.example.com ESMTP Service ready
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250-STARTTLS
         S: 250 AUTH DIGEST-MD5 CRAM-MD5
         C: AUTH CRAM-MD5
         S: 334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=
         C: cmpzMyBlYzNhNTlmZWQzOTVhYmExZWM2MzY3YzRmNGI0MWFjMA==
         S: 235 2.7.0 Authentication successful",
        |e| match e {
            Event::Auth { .. } => Some(Decision::AuthChallenge(challenge.clone())),
            Event::AuthResponse(r) => {
                responses.push(r.expose().clone());
                None
            }
            _ => None,
        },
    );
    assert_eq!(
        responses,
        vec![b"rjs3 ec3a59fed395aba1ec6367c4f4b41ac0".to_vec()]
    );
}

#[test]
fn external_empty_initial_response_and_mail_auth_param() {
    let (_, seen) = transcript(
        example_com(&["EXTERNAL", "PLAIN"]),
        "S: 220 smtp.example.com ESMTP Service ready
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250-STARTTLS
         S: 250 AUTH EXTERNAL PLAIN
         C: AUTH EXTERNAL =
         S: 235 2.7.0 Authentication successful
         C: AUTH PLAIN
         S: 503 5.5.1 Already authenticated
         C: MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com
         S: 250 2.1.0 OK",
        |_| None,
    );
    assert!(seen.events.iter().any(|e| matches!(
        e,
        Event::Mail { params, .. } if params.auth == Some(Some("e=mc2@example.com".into()))
    )));
}

#[test]
fn cancel_bad_base64_failure_and_unknown_mechanism() {
    let (_, seen) = transcript(
        example_com(&["PLAIN", "LOGIN"]),
        "S: 220 smtp.example.com ESMTP Service ready
         C: EHLO client.example.com
         S: 250-smtp.example.com Hello
         S: 250-ENHANCEDSTATUSCODES
         S: 250-STARTTLS
         S: 250 AUTH PLAIN LOGIN
         C: AUTH CRAM-MD5
         S: 504 5.5.4 Unrecognized authentication type
         C: AUTH PLAIN %%%
         S: 501 5.5.2 Syntax error in parameters
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: *
         S: 501 5.0.0 Authentication cancelled
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: !!!notbase64
         S: 501 5.5.2 Invalid base64 data
         C: AUTH PLAIN AGJvYgB3cm9uZw==
         S: 535 5.7.8 Authentication credentials invalid",
        |e| match e {
            Event::Auth { mechanism, .. } if mechanism == "LOGIN" => {
                Some(Decision::AuthChallenge(b"Username:".to_vec()))
            }
            Event::Auth { .. } => Some(Decision::Reject(
                mailhub_smtp_proto::Reply::new(
                    mailhub_smtp_proto::ReplyCode::new(535).unwrap(),
                    mailhub_smtp_proto::EnhancedStatus::new(5, 7, 8),
                    "Authentication credentials invalid",
                )
                .unwrap(),
            )),
            _ => None,
        },
    );
    assert_eq!(
        seen.events
            .iter()
            .filter(|e| **e == Event::AuthCancelled)
            .count(),
        2
    );
    let _ = reply(250, "unused");
}

#[test]
fn a_long_initial_response_fits_the_auth_line_limit() {
    use base64::Engine as _;
    let token = vec![b'x'; 6000];
    let ir = base64::engine::general_purpose::STANDARD.encode(&token);
    let mut got = 0;
    transcript(
        example_com(&["XOAUTH2"]),
        &format!(
            "S: 220 smtp.example.com ESMTP Service ready
             C: EHLO client.example.com
             S: 250-smtp.example.com Hello
             S: 250-ENHANCEDSTATUSCODES
             S: 250-STARTTLS
             S: 250 AUTH XOAUTH2
             C: AUTH XOAUTH2 {ir}
             S: 235 2.7.0 Authentication successful
             C: NOOP {}
             S: 500 5.5.2 Line too long",
            "y".repeat(3000)
        ),
        |e| {
            if let Some(s) = secret(e) {
                got = s.len();
            }
            None
        },
    );
    assert_eq!(got, 6000);
}
