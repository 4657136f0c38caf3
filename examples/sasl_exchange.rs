//! Every SASL mechanism of `mailhub-sasl`, client against server, in memory.
//!
//! ```sh
//! cargo run --example sasl_exchange                 # demo user "alice", password "wonderland"
//! cargo run --example sasl_exchange -- bob s3cret   # your own user and password
//! ```
//!
//! The example writes a passwd-style user file (one user stored with SCRAM-SHA-256 keys, the same
//! user stored in plaintext for CRAM-MD5), prints it, and then runs each mechanism's client
//! against its server, printing the exchange as SMTP AUTH (RFC 4954) would carry it. It is the
//! wiring an SMTP, IMAP or POP3 server does around `mailhub::sasl`, without the network.

use mailhub::sasl::passwd::{self, PasswdFile, Scheme};
use mailhub::sasl::random::OsRandom;
use mailhub::sasl::{
    ChannelBinding, ChannelBindingType, ChannelSecurity, ClientCredentials, ClientSession,
    CredentialError, Credentials, Mechanism, Registry, ScramHash, ScramKeys, Secret, ServerContext,
    ServerStep, framing,
};

/// The passwd file, plus what a real server would take from elsewhere: bearer tokens (an OAuth
/// introspection endpoint), anonymous access and TLS client certificates.
struct Users {
    file: PasswdFile,
    token: &'static str,
}

impl Credentials for Users {
    fn verify_password(&self, u: &str, p: &Secret<Vec<u8>>) -> Result<bool, CredentialError> {
        self.file.verify_password(u, p)
    }
    fn plaintext_password(&self, u: &str) -> Result<Option<Secret<Vec<u8>>>, CredentialError> {
        self.file.plaintext_password(u)
    }
    fn scram_keys(&self, u: &str, h: ScramHash) -> Result<Option<ScramKeys>, CredentialError> {
        self.file.scram_keys(u, h)
    }
    fn user_exists(&self, u: &str) -> Result<bool, CredentialError> {
        self.file.user_exists(u)
    }
    fn verify_token(
        &self,
        user: &str,
        token: &Secret<Vec<u8>>,
        _: Mechanism,
    ) -> Result<Option<String>, CredentialError> {
        let ok = mailhub::sasl::ct_eq(token.expose(), self.token.as_bytes());
        Ok(ok.then(|| user.to_owned()))
    }
    fn allow_anonymous(&self, _trace: &str) -> Result<bool, CredentialError> {
        Ok(true)
    }
    fn external_user(&self, identity: &str) -> Result<Option<String>, CredentialError> {
        Ok(identity.strip_prefix("CN=").map(str::to_owned))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let user = args.next().unwrap_or_else(|| "alice".into());
    let password = args.next().unwrap_or_else(|| "wonderland".into());

    // 1. The user file, as `passwd::line` writes it. PasswdFile keeps one entry per user, so a
    //    plaintext twin lives under a second name for CRAM-MD5 and SCRAM-SHA-1.
    let mut rng = OsRandom;
    let scram = passwd::line(&user, Scheme::ScramSha256, password.as_bytes(), &mut rng);
    let plain = passwd::line("plain-twin", Scheme::Plain, password.as_bytes(), &mut rng);
    let text = format!("{}\n{}\n", scram.expect("valid user name"), plain.unwrap());
    println!("# users file\n{text}");
    let users = Users {
        file: PasswdFile::parse(&text).expect("our own lines parse"),
        token: "tok3n",
    };

    // 2. What a server would offer on a TLS connection with channel binding.
    let registry = Registry::new(Mechanism::ALL);
    let security = ChannelSecurity {
        tls: true,
        allow_plaintext: false,
        channel_binding: true,
    };
    println!("S: 250-AUTH {}\n", registry.advertised_names(&security));

    // 3. Each mechanism, client against server.
    for mechanism in registry.advertised(&security) {
        // CRAM-MD5 needs the plaintext; SCRAM-SHA-1 keys are derived from it.
        let needs_plaintext = matches!(
            mechanism,
            Mechanism::CramMd5 | Mechanism::ScramSha1 | Mechanism::ScramSha1Plus
        );
        let login = if needs_plaintext {
            "plain-twin"
        } else {
            user.as_str()
        };
        let binding = ChannelBinding {
            kind: ChannelBindingType::TlsExporter,
            data: vec![7; 32],
        };
        let mut creds = ClientCredentials::password(login, password.clone());
        creds.token = Some(Secret::new("tok3n".into()));
        creds.host = Some(("mail.example.org".into(), 587));
        creds.anonymous_trace = Some("guest@example.org".into());
        // A client that has channel binding uses it whenever the server offers -PLUS; one that
        // picks a plain SCRAM anyway is what the server's downgrade check is there to catch.
        if mechanism.needs_channel_binding() {
            creds.channel_binding = Some(binding.clone());
        }
        let context = ServerContext {
            tls: true,
            channel_binding: Some(binding),
            external_identity: Some(format!("CN={user}")),
            hostname: "mail.example.org".into(),
            ..Default::default()
        };
        match run(mechanism, creds, &registry, &security, context, &users) {
            Ok(who) => println!("   => authenticated as {who}\n"),
            Err(e) => println!("   => failed: {e}\n"),
        }
    }
}

/// One exchange, printed the way SMTP AUTH carries it.
fn run(
    mechanism: Mechanism,
    creds: ClientCredentials,
    registry: &Registry,
    security: &ChannelSecurity,
    context: ServerContext,
    users: &Users,
) -> Result<String, mailhub::sasl::Error> {
    let mut client = ClientSession::new(mechanism, creds)?;
    let mut server = registry.server(mechanism.name(), security, context)?;
    let initial = client.start(true)?;
    match &initial {
        Some(ir) => println!(
            "C: AUTH {mechanism} {}",
            framing::encode_initial_response(ir)
        ),
        None => println!("C: AUTH {mechanism}"),
    }
    let mut step = server.start(initial.as_deref(), users)?;
    loop {
        match step {
            ServerStep::Challenge(challenge) => {
                println!("S: 334 {}", framing::encode(&challenge));
                let response = client.step(&challenge)?;
                println!("C: {}", framing::encode(&response));
                step = server.step(&response, users)?;
            }
            ServerStep::Success(outcome) => {
                println!("S: 235 2.7.0 Authentication successful");
                client.finish(outcome.additional_data.as_deref())?;
                return Ok(outcome.authzid);
            }
        }
    }
}
