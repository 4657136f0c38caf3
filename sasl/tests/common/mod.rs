//! Shared helpers of the integration tests: an in-memory user database, a random source that
//! replays chosen octets, and a driver that runs a client session against a server session
//! through the base64 framing the protocols use.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet, VecDeque};

use mailhub_sasl::random::BoxedRandom;
use mailhub_sasl::{
    ClientCredentials, ClientSession, CredentialError, Credentials, Error, Mechanism, Outcome,
    ScramHash, ScramKeys, Secret, ServerContext, ServerSession, ServerStep, ct_eq, framing,
};

/// A user database kept in memory.
#[derive(Debug, Default)]
pub struct Users {
    /// user → plaintext password.
    pub passwords: HashMap<String, String>,
    /// Users who exist but have only a hash this crate cannot use for SCRAM or CRAM-MD5.
    pub hash_only: HashSet<String>,
    /// Salt and iterations for SCRAM keys derived from the plaintext passwords.
    pub scram_salt: Vec<u8>,
    /// token → the user it belongs to.
    pub tokens: HashMap<String, String>,
    /// (authcid, authzid) pairs allowed beyond acting as oneself.
    pub proxies: HashSet<(String, String)>,
    /// external identity → user.
    pub external: HashMap<String, String>,
    /// Whether ANONYMOUS is allowed.
    pub anonymous: bool,
    /// Make every lookup fail as if the database were down.
    pub down: bool,
}

impl Users {
    /// The users the pair tests use: `alice` / `wonderland`, `bob` / `builder`, `admin` who may
    /// act as anyone, `legacy` with only a hash, a token for alice, a certificate for bob.
    pub fn standard() -> Users {
        let mut u = Users {
            scram_salt: b"0123456789abcdef".to_vec(),
            anonymous: true,
            ..Default::default()
        };
        for (user, pw) in [
            ("alice", "wonderland"),
            ("bob", "builder"),
            ("admin", "s3cret"),
        ] {
            u.passwords.insert(user.into(), pw.into());
        }
        u.hash_only.insert("legacy".into());
        u.tokens.insert("alice-token".into(), "alice".into());
        u.external.insert("CN=bob".into(), "bob".into());
        u.proxies.insert(("admin".into(), "alice".into()));
        u
    }

    fn check(&self) -> Result<(), CredentialError> {
        if self.down {
            Err(CredentialError::Unavailable("test database down".into()))
        } else {
            Ok(())
        }
    }
}

impl Credentials for Users {
    fn verify_password(
        &self,
        authcid: &str,
        password: &Secret<Vec<u8>>,
    ) -> Result<bool, CredentialError> {
        self.check()?;
        Ok(self
            .passwords
            .get(authcid)
            .is_some_and(|p| ct_eq(p.as_bytes(), password.expose())))
    }

    fn plaintext_password(
        &self,
        authcid: &str,
    ) -> Result<Option<Secret<Vec<u8>>>, CredentialError> {
        self.check()?;
        Ok(self
            .passwords
            .get(authcid)
            .map(|p| Secret::new(p.as_bytes().to_vec())))
    }

    fn scram_keys(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramKeys>, CredentialError> {
        self.check()?;
        Ok(self
            .passwords
            .get(authcid)
            .map(|p| ScramKeys::from_password(hash, p.as_bytes(), &self.scram_salt, 4096)))
    }

    fn user_exists(&self, authcid: &str) -> Result<bool, CredentialError> {
        self.check()?;
        Ok(self.passwords.contains_key(authcid) || self.hash_only.contains(authcid))
    }

    fn verify_token(
        &self,
        _user: &str,
        token: &Secret<Vec<u8>>,
        _mechanism: Mechanism,
    ) -> Result<Option<String>, CredentialError> {
        self.check()?;
        Ok(std::str::from_utf8(token.expose())
            .ok()
            .and_then(|t| self.tokens.get(t).cloned()))
    }

    fn allow_anonymous(&self, _trace: &str) -> Result<bool, CredentialError> {
        self.check()?;
        Ok(self.anonymous)
    }

    fn external_user(&self, identity: &str) -> Result<Option<String>, CredentialError> {
        self.check()?;
        Ok(self.external.get(identity).cloned())
    }

    fn authorize(&self, authcid: &str, authzid: &str) -> Result<bool, CredentialError> {
        self.check()?;
        Ok(authcid == authzid
            || self
                .proxies
                .contains(&(authcid.to_owned(), authzid.to_owned())))
    }
}

/// A random source that hands out exactly these octets, then panics: a test that draws more
/// randomness than it planned for fails loudly.
pub fn replay(octets: impl IntoIterator<Item = u8>) -> BoxedRandom {
    let mut queue: VecDeque<u8> = octets.into_iter().collect();
    BoxedRandom(Box::new(move |buf: &mut [u8]| {
        for b in buf {
            *b = queue.pop_front().expect("test random source exhausted");
        }
    }))
}

/// The octets that make SCRAM's nonce generator (uniform over RFC 5802 `printable`, one octet
/// per character when the octet is below 186) produce `nonce`.
pub fn octets_for_nonce(nonce: &str) -> Vec<u8> {
    const PRINTABLE: &[u8] = b"!\"#$%&'()*+-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    nonce
        .bytes()
        .map(|c| PRINTABLE.iter().position(|p| *p == c).expect("printable") as u8)
        .collect()
}

/// Which side of the exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server ended the exchange with this error.
    Server(Error),
    /// The client refused to go on.
    Client(Error),
}

/// What an exchange looked like on the wire.
#[derive(Debug, Default)]
pub struct Transcript {
    /// `C: ` / `S: ` lines, base64 as the protocol would carry it (an initial response is
    /// shown as `C: [ir] ...`).
    pub lines: Vec<String>,
    /// Decoded messages in order: (from client?, octets).
    pub messages: Vec<(bool, Vec<u8>)>,
}

/// How the protocol carries the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Protocol {
    /// The client may send an initial response with the command (SMTP, IMAP with SASL-IR).
    pub initial_response: bool,
    /// The success reply carries additional data (IMAP with SASL-IR / IMAP4rev2).
    pub success_data: bool,
}

pub const SMTP: Protocol = Protocol {
    initial_response: true,
    success_data: false,
};
pub const IMAP_NO_IR: Protocol = Protocol {
    initial_response: false,
    success_data: false,
};
pub const IMAP4REV2: Protocol = Protocol {
    initial_response: true,
    success_data: true,
};
pub const ALL_PROTOCOLS: [Protocol; 3] = [SMTP, IMAP_NO_IR, IMAP4REV2];

/// Runs `client` against a server session for `mechanism` until success or failure. Every
/// message goes through base64 and back, as the protocols carry it.
pub fn run(
    mechanism: Mechanism,
    client: ClientCredentials,
    mut context: ServerContext,
    users: &Users,
    protocol: Protocol,
) -> (Result<Outcome, Failure>, Transcript) {
    context.success_data = protocol.success_data;
    let mut t = Transcript::default();
    let result = run_inner(mechanism, client, context, users, protocol, &mut t);
    (result, t)
}

fn run_inner(
    mechanism: Mechanism,
    client: ClientCredentials,
    context: ServerContext,
    users: &Users,
    protocol: Protocol,
    t: &mut Transcript,
) -> Result<Outcome, Failure> {
    let limit = framing::DEFAULT_MAX_MESSAGE;
    let mut c = ClientSession::new(mechanism, client).map_err(Failure::Client)?;
    let mut s = ServerSession::new(mechanism, context).map_err(Failure::Server)?;
    let ir = c
        .start(protocol.initial_response)
        .map_err(Failure::Client)?;
    let ir = ir.map(|ir| {
        let line = framing::encode_initial_response(&ir);
        t.lines.push(format!("C: [ir] {line}"));
        t.messages.push((true, ir));
        framing::decode_response(line.as_bytes(), limit).expect("own encoding decodes")
    });
    let mut step = s.start(ir.as_deref(), users).map_err(Failure::Server)?;
    for _ in 0..10 {
        match step {
            ServerStep::Challenge(challenge) => {
                let line = framing::encode(&challenge);
                t.lines.push(format!("S: {line}"));
                t.messages.push((false, challenge));
                let challenge = framing::decode_challenge(line.as_bytes(), limit)
                    .expect("own encoding decodes");
                let response = c.step(&challenge).map_err(Failure::Client)?;
                let line = framing::encode(&response);
                t.lines.push(format!("C: {line}"));
                t.messages.push((true, response));
                step = s
                    .step_line(line.as_bytes(), users)
                    .map_err(Failure::Server)?;
            }
            ServerStep::Success(outcome) => {
                if let Some(data) = &outcome.additional_data {
                    t.lines
                        .push(format!("S: [success] {}", framing::encode(data)));
                    t.messages.push((false, data.clone()));
                }
                assert!(s.is_done());
                c.finish(outcome.additional_data.as_deref())
                    .map_err(Failure::Client)?;
                return Ok(outcome);
            }
        }
    }
    panic!("exchange did not end in 10 rounds");
}

/// A client with a password.
pub fn password_client(user: &str, password: &str) -> ClientCredentials {
    ClientCredentials::password(user, password)
}
