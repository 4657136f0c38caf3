//! Known-answer tests: the examples of RFC 4616, draft-murchison-sasl-login, RFC 2195, RFC 5802 §5, RFC 7677 §3 and
//! RFC 7628 §4, written as `C:`/`S:` transcripts and replayed byte for byte against the server
//! alone, the client alone, and the two together.
//!
//! The RFCs' nonces and challenges come from the random source: a test source hands out the
//! octets that the production nonce generator turns into the RFC's characters. Nothing in the
//! library knows about these examples.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use mailhub_sasl::{
    ClientCredentials, ClientSession, Error, Mechanism, Secret, ServerContext, ServerSession,
    ServerStep, framing,
};

/// Parses a transcript: `C: ` and `S: ` start a message, indented lines continue it (the RFCs
/// wrap long lines), `<NUL>` and `^A` stand for NUL and %x01 as in RFC 4616 and RFC 7628.
fn transcript(text: &str) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("C: ") {
            out.push((true, m.to_owned()));
        } else if let Some(m) = line.strip_prefix("S: ") {
            out.push((false, m.to_owned()));
        } else if line.starts_with(' ') {
            out.last_mut()
                .expect("continuation")
                .1
                .push_str(line.trim());
        } else {
            assert!(line.trim().is_empty(), "bad transcript line {line:?}");
        }
    }
    out.into_iter()
        .map(|(c, m)| {
            let m = m.replace("<NUL>", "\0").replace("^A", "\x01");
            (c, m.into_bytes())
        })
        .collect()
}

/// Feeds the client lines of `script` to a server and checks that every server line comes out
/// exactly (the last one as success data when the protocol carries it).
fn replay_server(
    mechanism: Mechanism,
    context: ServerContext,
    users: &Users,
    script: &[(bool, Vec<u8>)],
) -> mailhub_sasl::Outcome {
    let mut s = ServerSession::new(mechanism, context).unwrap();
    let mut lines = script.iter();
    let mut step = match lines.next() {
        Some((true, ir)) => s.start(Some(ir), users).unwrap(),
        Some((false, first)) => {
            let step = s.start(None, users).unwrap();
            assert_eq!(step, ServerStep::Challenge(first.clone()));
            let (_, response) = lines.next().unwrap();
            s.step(response, users).unwrap()
        }
        None => panic!("empty script"),
    };
    loop {
        match (step, lines.next()) {
            (ServerStep::Challenge(c), Some((false, expected))) => {
                assert_eq!(
                    String::from_utf8_lossy(&c),
                    String::from_utf8_lossy(expected)
                );
                let (client, response) = lines.next().expect("client line after challenge");
                assert!(client);
                step = s.step(response, users).unwrap();
            }
            (ServerStep::Success(outcome), expected) => {
                assert_eq!(
                    outcome.additional_data.as_deref(),
                    expected.map(|(_, m)| m.as_slice())
                );
                assert!(lines.next().is_none());
                return outcome;
            }
            (step, line) => panic!("server gave {step:?}, script has {line:?}"),
        }
    }
}

/// Feeds the server lines of `script` to a client and checks every client line.
fn replay_client(mechanism: Mechanism, credentials: ClientCredentials, script: &[(bool, Vec<u8>)]) {
    let mut c = ClientSession::new(mechanism, credentials).unwrap();
    let mut lines = script.iter().peekable();
    let ir = c.start(true).unwrap();
    if let Some(ir) = ir {
        let (client, expected) = lines.next().unwrap();
        assert!(client);
        assert_eq!(
            String::from_utf8_lossy(&ir),
            String::from_utf8_lossy(expected)
        );
    }
    while let Some((client, server_msg)) = lines.next() {
        assert!(!client);
        match lines.next() {
            Some((true, expected)) => {
                let response = c.step(server_msg).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&response),
                    String::from_utf8_lossy(expected)
                );
            }
            None => return c.finish(Some(server_msg)).unwrap(),
            Some(other) => panic!("two server lines in a row: {other:?}"),
        }
    }
    c.finish(None).unwrap();
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

#[test]
fn rfc4616_plain_examples() {
    let mut users = Users::default();
    users
        .passwords
        .insert("tim".into(), "tanstaaftanstaaf".into());
    users.passwords.insert("Kurt".into(), "xipj3plmq".into());

    // First example: no initial response, an empty challenge, then the message.
    let first = transcript("S: \nC: <NUL>tim<NUL>tanstaaftanstaaf\n");
    let outcome = replay_server(Mechanism::Plain, ServerContext::default(), &users, &first);
    assert_eq!((outcome.authcid.as_str(), outcome.user()), ("tim", "tim"));
    replay_client(
        Mechanism::Plain,
        password_client("tim", "tanstaaftanstaaf"),
        &first[1..],
    );

    // Second example: Kurt asks to act as Ursel and is refused.
    let second = transcript("C: Ursel<NUL>Kurt<NUL>xipj3plmq\n");
    let mut s = ServerSession::new(Mechanism::Plain, ServerContext::default()).unwrap();
    assert_eq!(
        s.start(Some(&second[0].1), &users),
        Err(Error::NotAuthorized)
    );
    // ... and accepted where the database says Kurt may.
    users.proxies.insert(("Kurt".into(), "Ursel".into()));
    let outcome = replay_server(Mechanism::Plain, ServerContext::default(), &users, &second);
    assert_eq!(
        (outcome.authcid.as_str(), outcome.user()),
        ("Kurt", "Ursel")
    );
    let mut kurt = password_client("Kurt", "xipj3plmq");
    kurt.authzid = Some("Ursel".into());
    replay_client(Mechanism::Plain, kurt, &second);
}

/// draft-murchison-sasl-login-00 §2.3, as carried by SMTP (base64 lines).
const LOGIN_DRAFT: &str = "\
S: VXNlciBOYW1lAA==
C: dGlt
S: UGFzc3dvcmQA
C: dGFuc3RhYWZ0YW5zdGFhZg==
";

#[test]
fn login_draft_example() {
    let script: Vec<(bool, Vec<u8>)> = transcript(LOGIN_DRAFT)
        .into_iter()
        .map(|(c, line)| (c, b64(std::str::from_utf8(&line).unwrap())))
        .collect();
    assert_eq!(script[0].1, b"User Name\0");
    // The client ignores the challenges' text, as §2.1 asks.
    replay_client(
        Mechanism::Login,
        password_client("tim", "tanstaaftanstaaf"),
        &script,
    );
    // The server sends the `Username:`/`Password:` variant the draft's note allows.
    let mut users = Users::default();
    users
        .passwords
        .insert("tim".into(), "tanstaaftanstaaf".into());
    let mut ours = script.clone();
    ours[0].1 = b"Username:".to_vec();
    ours[2].1 = b"Password:".to_vec();
    let outcome = replay_server(Mechanism::Login, ServerContext::default(), &users, &ours);
    assert_eq!(outcome.user(), "tim");
    // NUL, CR and LF are not allowed in a LOGIN password (§2).
    let mut s = ServerSession::new(Mechanism::Login, ServerContext::default()).unwrap();
    let _ = s.start(Some(b"tim"), &users).unwrap();
    assert!(matches!(
        s.step(b"tanstaaf\ntanstaaf", &users),
        Err(Error::Malformed(_))
    ));
}

const RFC2195: &str = "\
S: <1896.697170952@postoffice.reston.mci.net>
C: tim b913a602c7eda7a495b4e6e7334d3890
";

fn rfc2195_context() -> ServerContext {
    // The challenge's two numbers are drawn as a big-endian u32 and u64.
    let mut octets = 1896u32.to_be_bytes().to_vec();
    octets.extend(697170952u64.to_be_bytes());
    ServerContext {
        hostname: "postoffice.reston.mci.net".into(),
        random: replay(octets),
        ..Default::default()
    }
}

#[test]
fn rfc2195_cram_md5_example() {
    let mut users = Users::default();
    users
        .passwords
        .insert("tim".into(), "tanstaaftanstaaf".into());
    let script = transcript(RFC2195);
    let outcome = replay_server(Mechanism::CramMd5, rfc2195_context(), &users, &script);
    assert_eq!(outcome.user(), "tim");
    replay_client(
        Mechanism::CramMd5,
        password_client("tim", "tanstaaftanstaaf"),
        &script,
    );
    // The base64 lines of the RFC's IMAP example.
    assert_eq!(
        framing::encode(&script[0].1),
        "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
    );
    assert_eq!(
        framing::encode(&script[1].1),
        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
    );
    // One digit off fails.
    let mut s = ServerSession::new(Mechanism::CramMd5, rfc2195_context()).unwrap();
    let _ = s.start(None, &users).unwrap();
    assert_eq!(
        s.step(b"tim b913a602c7eda7a495b4e6e7334d3891", &users),
        Err(Error::AuthenticationFailed)
    );
}

const RFC5802: &str = "\
C: n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL
S: r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,
   i=4096
C: c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,
   p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=
S: v=rmF9pqV8S7suAoZWja4dJRkFsKQ=
";

const RFC7677: &str = "\
C: n,,n=user,r=rOprNGfwEbeRWgbNEkqO
S: r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
   s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096
C: c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
   p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=
S: v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=
";

struct ScramExample {
    mechanism: Mechanism,
    script: &'static str,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt: &'static str,
}

const SCRAM_EXAMPLES: [ScramExample; 2] = [
    ScramExample {
        mechanism: Mechanism::ScramSha1,
        script: RFC5802,
        client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
        server_nonce: "3rfcNHYJY1ZVvWVs7j",
        salt: "QSXCR+Q6sek8bf92",
    },
    ScramExample {
        mechanism: Mechanism::ScramSha256,
        script: RFC7677,
        client_nonce: "rOprNGfwEbeRWgbNEkqO",
        server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    },
];

impl ScramExample {
    fn users(&self) -> Users {
        let mut users = Users {
            scram_salt: b64(self.salt),
            ..Default::default()
        };
        users.passwords.insert("user".into(), "pencil".into());
        users
    }

    fn server(&self, success_data: bool) -> ServerContext {
        ServerContext {
            random: replay(octets_for_nonce(self.server_nonce)),
            nonce_len: self.server_nonce.len(),
            success_data,
            ..Default::default()
        }
    }

    fn client(&self) -> ClientCredentials {
        ClientCredentials {
            random: replay(octets_for_nonce(self.client_nonce)),
            nonce_len: self.client_nonce.len(),
            ..password_client("user", "pencil")
        }
    }
}

#[test]
fn rfc5802_and_rfc7677_scram_exchanges() {
    for ex in &SCRAM_EXAMPLES {
        let script = transcript(ex.script);
        assert_eq!(script.len(), 4);
        // Server alone, with the RFC's client messages.
        let outcome = replay_server(ex.mechanism, ex.server(true), &ex.users(), &script);
        assert_eq!(outcome.user(), "user");
        // Client alone, with the RFC's server messages.
        replay_client(ex.mechanism, ex.client(), &script);
        // Both together, as IMAP4rev2 carries it: exactly the RFC's four messages.
        let (result, t) = run(
            ex.mechanism,
            ex.client(),
            ex.server(true),
            &ex.users(),
            IMAP4REV2,
        );
        assert_eq!(result.unwrap().user(), "user");
        assert_eq!(t.messages, script, "{:#?}", t.lines);
        // As SMTP carries it: the signature travels as a challenge, answered empty.
        let (result, t) = run(
            ex.mechanism,
            ex.client(),
            ex.server(false),
            &ex.users(),
            SMTP,
        );
        assert!(result.is_ok());
        let mut expected = script.clone();
        expected.push((true, Vec::new()));
        assert_eq!(t.messages, expected);
    }
}

#[test]
fn rfc5802_client_rejects_a_forged_server_signature() {
    let ex = &SCRAM_EXAMPLES[0];
    let script = transcript(ex.script);
    let mut c = ClientSession::new(ex.mechanism, ex.client()).unwrap();
    let _ = c.start(true).unwrap();
    assert_eq!(c.step(&script[1].1).unwrap(), script[2].1);
    assert_eq!(
        c.finish(Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKA=")),
        Err(Error::ServerSignatureMismatch)
    );
    // Success with no signature at all is no better.
    let mut c = ClientSession::new(ex.mechanism, ex.client()).unwrap();
    let _ = c.start(true).unwrap();
    let _ = c.step(&script[1].1).unwrap();
    assert_eq!(c.finish(None), Err(Error::ServerSignatureMismatch));
}

const RFC7628_SUCCESS: &str = "\
C: n,a=user@example.com,^Ahost=server.example.com^Aport=143^A
   auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==^A^A
";

#[test]
fn rfc7628_oauthbearer_examples() {
    let script = transcript(RFC7628_SUCCESS);
    let mut users = Users::default();
    users.tokens.insert(
        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into(),
        "user@example.com".into(),
    );
    let outcome = replay_server(
        Mechanism::OAuthBearer,
        ServerContext::default(),
        &users,
        &script,
    );
    assert_eq!(outcome.user(), "user@example.com");
    let client = ClientCredentials {
        authcid: "user@example.com".into(),
        token: Some(Secret::new(
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into(),
        )),
        host: Some(("server.example.com".into(), 143)),
        ..Default::default()
    };
    replay_client(Mechanism::OAuthBearer, client, &script);
    // §4.1's base64, as IMAP carries it.
    assert_eq!(
        framing::encode(&script[0].1),
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
    );

    // §4.3: an empty auth value asks for discovery; the server answers with its error
    // document, takes the %x01 dummy response, and fails.
    let failed =
        b64("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9AQE=");
    assert_eq!(
        failed,
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=\x01\x01"
    );
    let mut s = ServerSession::new(Mechanism::OAuthBearer, ServerContext::default()).unwrap();
    let ServerStep::Challenge(error) = s.start(Some(&failed), &users).unwrap() else {
        panic!("expected the error challenge");
    };
    assert!(error.starts_with(br#"{"status":"invalid_token""#));
    assert_eq!(
        s.step_line(b"AQ==", &users),
        Err(Error::AuthenticationFailed)
    );
    assert!(s.is_done());
    // The IMAP way out of the same state is to cancel.
    let mut s = ServerSession::new(Mechanism::OAuthBearer, ServerContext::default()).unwrap();
    let _ = s.start(Some(&failed), &users).unwrap();
    assert_eq!(s.step_line(b"*", &users), Err(Error::Cancelled));
}
