//! Throughput of whole exchanges, client against server in memory (no I/O): the server's cost
//! per login with stored SCRAM keys, and the client's (dominated by PBKDF2, 4096 iterations).
//!
//! Run: `cargo bench -p mailhub-sasl`.
use criterion::{Criterion, Throughput, criterion_main};
use mailhub_sasl::{
    ClientCredentials, ClientSession, CredentialError, Credentials, Mechanism, ScramHash,
    ScramKeys, Secret, ServerContext, ServerSession, ServerStep,
};

struct Stored(ScramKeys, ScramKeys);
impl Credentials for Stored {
    fn verify_password(&self, u: &str, p: &Secret<Vec<u8>>) -> Result<bool, CredentialError> {
        Ok(u == "user" && p.expose() == b"pencil")
    }
    fn scram_keys(&self, _: &str, h: ScramHash) -> Result<Option<ScramKeys>, CredentialError> {
        Ok(Some(if h == ScramHash::Sha1 {
            self.0.clone()
        } else {
            self.1.clone()
        }))
    }
}

fn exchange(m: Mechanism, users: &Stored) {
    let mut c = ClientSession::new(m, ClientCredentials::password("user", "pencil")).unwrap();
    let mut s = ServerSession::new(
        m,
        ServerContext {
            success_data: true,
            ..Default::default()
        },
    )
    .unwrap();
    let ir = c.start(true).unwrap();
    let mut step = s.start(ir.as_deref(), users).unwrap();
    loop {
        match step {
            ServerStep::Challenge(ch) => step = s.step(&c.step(&ch).unwrap(), users).unwrap(),
            ServerStep::Success(o) => return c.finish(o.additional_data.as_deref()).unwrap(),
        }
    }
}

/// Server side only: client messages precomputed once; each iteration is a fresh server.
fn server_only(m: Mechanism, users: &Stored, b: &mut criterion::Bencher<'_>) {
    // One real exchange to learn the messages, with a fixed server nonce source.
    let fixed = || mailhub_sasl::random::BoxedRandom(Box::new(|buf: &mut [u8]| buf.fill(7)));
    let mut c = ClientSession::new(m, ClientCredentials::password("user", "pencil")).unwrap();
    let ctx = || ServerContext {
        success_data: true,
        random: fixed(),
        ..Default::default()
    };
    let mut s = ServerSession::new(m, ctx()).unwrap();
    let ir = c.start(true).unwrap().unwrap();
    let ServerStep::Challenge(first) = s.start(Some(&ir), users).unwrap() else {
        panic!()
    };
    let fin = c.step(&first).unwrap();
    b.iter(|| {
        let mut s = ServerSession::new(m, ctx()).unwrap();
        let _ = s.start(Some(&ir), users).unwrap();
        let ServerStep::Success(_) = s.step(&fin, users).unwrap() else {
            panic!()
        };
    });
}

fn benches(c: &mut Criterion) {
    let salt = b"0123456789abcdef";
    let users = Stored(
        ScramKeys::derive(ScramHash::Sha1, b"pencil", salt, 4096),
        ScramKeys::derive(ScramHash::Sha256, b"pencil", salt, 4096),
    );
    let mut g = c.benchmark_group("sasl");
    g.throughput(Throughput::Elements(1));
    g.bench_function("PLAIN exchange", |b| {
        b.iter(|| exchange(Mechanism::Plain, &users))
    });
    g.bench_function("SCRAM-SHA-1 exchange (client PBKDF2 4096)", |b| {
        b.iter(|| exchange(Mechanism::ScramSha1, &users))
    });
    g.bench_function("SCRAM-SHA-256 exchange (client PBKDF2 4096)", |b| {
        b.iter(|| exchange(Mechanism::ScramSha256, &users))
    });
    g.bench_function("SCRAM-SHA-256 server side, stored keys", |b| {
        server_only(Mechanism::ScramSha256, &users, b)
    });
    g.finish();
}

// criterion_group! defines an undocumented pub fn; keep the allow on that one item.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches_group, super::benches);
}
criterion_main!(group::benches_group);
