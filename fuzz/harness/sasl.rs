//! Fuzz entry points for the SASL mechanisms of `mailhub-sasl`, shared by the cargo-fuzz
//! targets `sasl_server` and `sasl_client` and by `sasl/tests/fuzz_corpus.rs`, which replays
//! the committed seeds in a normal `cargo test`.
//!
//! Input layout (both functions):
//! - octet 0: the mechanism, an index into [`MECHANISMS`] (modulo its length);
//! - octet 1: flags — bit 0: the first line is an initial response; bit 1: the protocol
//!   carries data with success; bit 2: the connection has channel-binding data; bit 3: an
//!   external identity (server) / an authzid (client); bit 4: lines are base64 as on the wire
//!   (`*` cancels) instead of raw octets;
//! - the rest: messages from the peer, separated by `\n`.
//!
//! Random sources are deterministic (octet `i` of a draw is `i % 186`), so a seed can carry a
//! valid SCRAM client-final message for the server nonce the harness will produce.

use mailhub_sasl::random::BoxedRandom;
use mailhub_sasl::{
    ChannelBinding, ChannelBindingType, ClientCredentials, ClientSession, CredentialError,
    Credentials, ErrorKind, Mechanism, ScramHash, ScramKeys, Secret, ServerContext, ServerSession,
    ServerStep, framing,
};

/// The mechanisms in the order octet 0 selects them: fixed here so that seeds keep their
/// meaning when the library adds mechanisms.
pub const MECHANISMS: [Mechanism; 11] = [
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::CramMd5,
    Mechanism::ScramSha1,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256,
    Mechanism::ScramSha256Plus,
    Mechanism::OAuthBearer,
    Mechanism::XOAuth2,
    Mechanism::Anonymous,
    Mechanism::External,
];

const IR: u8 = 1;
const SUCCESS_DATA: u8 = 2;
const BINDING: u8 = 4;
const IDENTITY: u8 = 8;
const BASE64: u8 = 16;

/// The one user: `user` / `pencil`, SCRAM salt `fuzz-salt-16-oct`, 4096 iterations; token
/// `token`; certificate `CN=user`; `admin` (password `admin`) may act as anyone.
pub struct FuzzUsers;

impl Credentials for FuzzUsers {
    fn verify_password(
        &self,
        authcid: &str,
        pw: &Secret<Vec<u8>>,
    ) -> Result<bool, CredentialError> {
        Ok(self
            .plaintext_password(authcid)?
            .is_some_and(|p| p.expose() == pw.expose()))
    }

    fn plaintext_password(
        &self,
        authcid: &str,
    ) -> Result<Option<Secret<Vec<u8>>>, CredentialError> {
        Ok(match authcid {
            "user" => Some(Secret::new(b"pencil".to_vec())),
            "admin" => Some(Secret::new(b"admin".to_vec())),
            _ => None,
        })
    }

    fn scram_keys(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramKeys>, CredentialError> {
        Ok(self
            .plaintext_password(authcid)?
            .map(|pw| ScramKeys::from_password(hash, pw.expose(), b"fuzz-salt-16-oct", 4096)))
    }

    fn user_exists(&self, authcid: &str) -> Result<bool, CredentialError> {
        Ok(matches!(authcid, "user" | "admin" | "legacy"))
    }

    fn verify_token(
        &self,
        _: &str,
        token: &Secret<Vec<u8>>,
        _: Mechanism,
    ) -> Result<Option<String>, CredentialError> {
        Ok((token.expose() == b"token").then(|| "user".to_owned()))
    }

    fn allow_anonymous(&self, _: &str) -> Result<bool, CredentialError> {
        Ok(true)
    }

    fn external_user(&self, identity: &str) -> Result<Option<String>, CredentialError> {
        Ok((identity == "CN=user").then(|| "user".to_owned()))
    }

    fn authorize(&self, authcid: &str, authzid: &str) -> Result<bool, CredentialError> {
        Ok(authcid == authzid || authcid == "admin")
    }
}

/// The deterministic random source described in the module docs.
pub fn counting_random() -> BoxedRandom {
    let mut n: u32 = 0;
    BoxedRandom(Box::new(move |buf: &mut [u8]| {
        for b in buf {
            *b = (n % 186) as u8;
            n += 1;
        }
    }))
}

fn binding() -> ChannelBinding {
    ChannelBinding {
        kind: ChannelBindingType::TlsExporter,
        data: b"fuzz-channel-binding".to_vec(),
    }
}

fn split(data: &[u8]) -> Option<(Mechanism, u8, Vec<&[u8]>)> {
    let (&m, rest) = data.split_first()?;
    let (&flags, rest) = rest.split_first().unwrap_or((&0, &[]));
    let mechanism = MECHANISMS[usize::from(m) % MECHANISMS.len()];
    let lines = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|b| *b == b'\n').collect()
    };
    Some((mechanism, flags, lines))
}

/// Drives one server-side exchange with the peer messages in `data`. Never panics on any
/// input; checks that failures are never blamed on the caller, that the session ends when it
/// says so, and that a success never grants an identity [`Credentials::authorize`] refused.
pub fn server_input(data: &[u8]) {
    let Some((mechanism, flags, lines)) = split(data) else {
        return;
    };
    let context = ServerContext {
        tls: true,
        channel_binding: (flags & BINDING != 0).then(binding),
        external_identity: (flags & IDENTITY != 0).then(|| "CN=user".to_owned()),
        success_data: flags & SUCCESS_DATA != 0,
        hostname: "fuzz.example".to_owned(),
        random: counting_random(),
        ..Default::default()
    };
    let Ok(mut session) = ServerSession::new(mechanism, context) else {
        return;
    };
    let users = FuzzUsers;
    let mut lines = lines.into_iter();
    let first = if flags & IR != 0 { lines.next() } else { None };
    let first = match first.map(|l| decode(l, flags)) {
        Some(Err(_)) => return,
        Some(Ok(ir)) => Some(ir),
        None => None,
    };
    let mut result = session.start(first.as_deref(), &users);
    loop {
        match result {
            Ok(ServerStep::Challenge(_)) => {
                assert!(!session.is_done(), "a challenge from an ended session");
                let Some(line) = lines.next() else { return };
                result = if flags & BASE64 != 0 {
                    session.step_line(line, &users)
                } else {
                    session.step(line, &users)
                };
            }
            Ok(ServerStep::Success(outcome)) => {
                assert!(session.is_done());
                assert!(!outcome.authzid.is_empty());
                assert!(
                    users.authorize(&outcome.authcid, &outcome.authzid).unwrap()
                        || mechanism == Mechanism::Anonymous,
                    "{mechanism} granted {:?} to {:?}",
                    outcome.authzid,
                    outcome.authcid
                );
                assert!(session.step(b"", &users).is_err());
                return;
            }
            Err(e) => {
                assert_ne!(
                    e.kind(),
                    ErrorKind::Internal,
                    "{mechanism}: peer input blamed on the caller: {e:?}"
                );
                assert!(session.is_done());
                return;
            }
        }
    }
}

fn decode(line: &[u8], flags: u8) -> Result<Vec<u8>, mailhub_sasl::Error> {
    if flags & BASE64 != 0 {
        framing::decode_response(line, framing::DEFAULT_MAX_MESSAGE)
    } else {
        Ok(line.to_vec())
    }
}

/// Drives one client-side exchange with the server messages in `data` (the last line, if the
/// client is still running, is offered as success data). Never panics on any input.
pub fn client_input(data: &[u8]) {
    let Some((mechanism, flags, lines)) = split(data) else {
        return;
    };
    let credentials = ClientCredentials {
        authcid: "user".to_owned(),
        authzid: (flags & IDENTITY != 0).then(|| "other".to_owned()),
        password: Some(Secret::new("pencil".to_owned())),
        token: Some(Secret::new("token".to_owned())),
        host: Some(("fuzz.example".to_owned(), 143)),
        anonymous_trace: Some("fuzz@example.org".to_owned()),
        channel_binding: (flags & BINDING != 0).then(binding),
        random: counting_random(),
        ..Default::default()
    };
    let Ok(mut session) = ClientSession::new(mechanism, credentials) else {
        return;
    };
    if session.start(flags & IR != 0).is_err() {
        return;
    }
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let challenge = if flags & BASE64 != 0 {
            match framing::decode_challenge(line, framing::DEFAULT_MAX_MESSAGE) {
                Ok(c) => c,
                Err(_) => return,
            }
        } else {
            line.to_vec()
        };
        if i + 1 == n {
            let _ = session.finish(Some(&challenge));
            assert!(session.step(b"").is_err(), "step after finish");
            return;
        }
        if session.step(&challenge).is_err() {
            assert!(session.step(b"").is_err(), "step after a failed step");
            return;
        }
    }
}
