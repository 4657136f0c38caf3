//! The POP3 driver over real loopback TCP against Python's poplib: USER/PASS, AUTH PLAIN,
//! STLS, POP3S, RETR of dot-leading lines and of a 1 MB message, DELE+QUIT deleting from the
//! Maildir, a dropped connection deleting nothing, the plaintext policy; and SCRAM-SHA-256-PLUS
//! from mailhub-sasl's client over TLS 1.3 with channel binding.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use mailhub_maildir::{Maildir, Subdir};
use mailhub_mta_core::auth::{AuthPolicy, Authenticator, Plaintext};
use mailhub_mta_core::runtime::default_runtime;
use mailhub_mta_core::session::pop3::{Pop3Config, TlsMode, refuse, serve};
use mailhub_mta_core::session::{ConnectionLimiter, ConnectionLimits};
use mailhub_mta_core::store::{AppendRequest, MailStore, MaildirStore};
use mailhub_mta_core::tls::{
    ClientVerification, ServerTls, Stream, client_config, self_signed_pem,
};
use mailhub_sasl::{ClientCredentials, ClientSession, Mechanism, PasswdFile, Registry, framing};
use rustls_pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

const LIMIT: Duration = Duration::from_secs(60);

struct Hub {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    cert: PathBuf,
    task: tokio::task::JoinHandle<()>,
    store: Arc<dyn MailStore>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hub {
    fn maildir(&self) -> Maildir {
        Maildir::open(self.dir.path().join("mail/dave")).unwrap()
    }

    fn message_count(&self) -> usize {
        let m = self.maildir();
        m.list(Subdir::New).unwrap().len() + m.list(Subdir::Cur).unwrap().len()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tls {
    None,
    Stls,
    Implicit,
}

async fn start(tls: Tls, plaintext: Plaintext, messages: &[Vec<u8>]) -> Hub {
    start_with(tls, plaintext, messages, |_| {}).await
}

async fn start_with(
    tls: Tls,
    plaintext: Plaintext,
    messages: &[Vec<u8>],
    tweak: impl FnOnce(&mut Pop3Config),
) -> Hub {
    start_limited(tls, plaintext, messages, tweak, ConnectionLimits::default()).await
}

async fn start_limited(
    tls: Tls,
    plaintext: Plaintext,
    messages: &[Vec<u8>],
    tweak: impl FnOnce(&mut Pop3Config),
    limits: ConnectionLimits,
) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let runtime = default_runtime();
    let store = MaildirStore::under(dir.path().join("mail"), runtime.clone());
    let mail = store.open("dave").await.unwrap();
    for m in messages {
        mail.append(
            "INBOX",
            AppendRequest {
                data: m.clone().into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let users = PasswdFile::parse("dave:{PLAIN}secret\n").unwrap();
    let policy = AuthPolicy {
        plaintext,
        failure_delay: Duration::from_millis(10),
        ..AuthPolicy::default()
    };
    let auth = Authenticator::new(Registry::default(), users, policy, runtime.clone());
    let (cert_pem, key_pem) =
        self_signed_pem(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    let server_tls = ServerTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let store: Arc<dyn MailStore> = Arc::new(store);
    let mut config = Pop3Config::new(store.clone(), Arc::new(auth), runtime);
    config.tls = match tls {
        Tls::None => TlsMode::None,
        Tls::Stls => TlsMode::StartTls(server_tls),
        Tls::Implicit => TlsMode::Implicit(server_tls),
    };
    tweak(&mut config);
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limiter = ConnectionLimiter::new(limits);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let config = config.clone();
            let limiter = limiter.clone();
            tokio::spawn(async move {
                match limiter.try_acquire(peer.ip()) {
                    Ok(_permit) => {
                        let _ = serve(tcp.compat(), peer, &config).await;
                    }
                    Err(e) => {
                        let _ = refuse(tcp.compat(), &e.to_string(), &config).await;
                    }
                }
            });
        }
    });
    Hub {
        addr,
        dir,
        cert,
        task,
        store,
    }
}

/// Runs a Python script with `port`, the certificate path and an output path as arguments;
/// returns its stdout.
async fn python(hub: &Hub, script: &str) -> String {
    let out_path = hub.dir.path().join("retrieved");
    let child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(hub.addr.port().to_string())
        .arg(&hub.cert)
        .arg(&out_path)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, child)
        .await
        .expect("python timed out")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn retrieved(hub: &Hub) -> Vec<u8> {
    std::fs::read(hub.dir.path().join("retrieved")).unwrap()
}

/// `data` as POP3 sends it after unstuffing: CRLF line ends, ending with CRLF.
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = 0;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

const PRELUDE: &str = r#"
import poplib, ssl, sys, base64
port = int(sys.argv[1]); cafile = sys.argv[2]; out = sys.argv[3]
def save(lines):
    open(out, "wb").write(b"".join(l + b"\r\n" for l in lines))
def ctx():
    c = ssl.create_default_context(cafile=cafile)
    return c
"#;

fn dotty() -> Vec<u8> {
    b"From: a@example.org\nSubject: dots\n\n.starts with a dot\n..two dots\n.\nend\n".to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_pass_retr_dele_quit_deletes() {
    tokio::time::timeout(LIMIT, async {
        let big: Vec<u8> = (0..25_000)
            .flat_map(|i| format!("line {i:05} of a large message, padded to fifty\n").into_bytes())
            .collect();
        assert!(big.len() > 1_000_000);
        let hub = start(Tls::None, Plaintext::Loopback, &[dotty(), big.clone()]).await;
        // An IMAP-style watcher on the same store learns of POP3's deletion as an expunge.
        let mut watch = hub.store.open("dave").await.unwrap().watch("INBOX");
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
caps = p.capa()
print("CAPA", sorted(caps))
p.user("dave"); p.pass_("secret")
print("STAT", p.stat())
resp, lines, octets = p.retr(1)
save(lines)
print("LIST", p.list()[1])
print("UIDL", p.uidl()[1])
p.dele(1)
print(p.quit())
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("'USER'"), "{out}");
        assert!(out.contains("STAT (2, "), "{out}");
        assert_eq!(retrieved(&hub), crlf(&dotty()));
        assert_eq!(hub.message_count(), 1, "DELE+QUIT removed one message");
        assert!(matches!(
            watch.try_next(),
            Some(mailhub_mta_core::store::Change::Expunged { uids }) if uids.len() == 1
        ));

        // The large message, streamed.
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.user("dave"); p.pass_("secret")
resp, lines, octets = p.retr(1)
save(lines)
print(p.quit())
"#
        );
        python(&hub, &script).await;
        assert_eq!(retrieved(&hub), crlf(&big));
        assert_eq!(hub.message_count(), 1);
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_deletes_nothing_and_releases_the_lock() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::None, Plaintext::Loopback, &[dotty(), dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.user("dave"); p.pass_("secret")
p.dele(1); p.dele(2)
p.sock.close()
print("dropped")
"#
        );
        python(&hub, &script).await;
        // The lock is released once the server notices the close; a new session then works.
        let script = format!(
            "{PRELUDE}{}",
            r#"
import time
for attempt in range(50):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user("dave")
    try:
        p.pass_("secret")
        break
    except poplib.error_proto as e:
        assert b"IN-USE" in e.args[0], e
        p.quit(); time.sleep(0.1)
print("STAT", p.stat())
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("STAT (2, "), "{out}");
        assert_eq!(hub.message_count(), 2);
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_session_gets_in_use() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::None, Plaintext::Loopback, &[dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
a = poplib.POP3("127.0.0.1", port, timeout=20)
a.user("dave"); a.pass_("secret")
b = poplib.POP3("127.0.0.1", port, timeout=20)
b.user("dave")
try:
    b.pass_("secret"); print("second login accepted")
except poplib.error_proto as e:
    print("refused", e)
a.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("refused b'-ERR [IN-USE]"), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_plain_and_bad_password() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::None, Plaintext::Loopback, &[dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
try:
    p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0dave\0wrong").decode())
    print("wrong password accepted")
except poplib.error_proto as e:
    print("refused", e)
print(p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0dave\0secret").decode()))
print("STAT", p.stat())
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("refused b'-ERR [AUTH]"), "{out}");
        assert!(out.contains("STAT (1, "), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_refused_when_policy_says_never() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::Stls, Plaintext::Never, &[dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
print("CAPA", sorted(p.capa()))
try:
    p.user("dave"); p.pass_("secret"); print("cleartext login accepted")
except poplib.error_proto as e:
    print("refused", e)
try:
    p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0dave\0secret").decode())
    print("cleartext AUTH PLAIN accepted")
except poplib.error_proto as e:
    print("refused", e)
p.stls(context=ctx())
print("CAPA-TLS", p.capa())
p.user("dave"); p.pass_("secret")
print("STAT", p.stat())
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(!out.contains("accepted"), "{out}");
        assert_eq!(out.matches("refused").count(), 2, "{out}");
        let capa = out.lines().find(|l| l.starts_with("CAPA ")).unwrap();
        assert!(!capa.contains("'USER'") && capa.contains("'STLS'"), "{out}");
        let capa_tls = out.lines().find(|l| l.starts_with("CAPA-TLS")).unwrap();
        assert!(
            capa_tls.contains("'USER'") && capa_tls.contains("'PLAIN'"),
            "{out}"
        );
        assert!(out.contains("STAT (1, "), "{out}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stls_and_pop3s_with_a_test_certificate() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::Stls, Plaintext::Loopback, &[dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.stls(context=ctx())
print("TLS", p.sock.version())
p.user("dave"); p.pass_("secret")
resp, lines, octets = p.retr(1)
save(lines)
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("TLS TLSv1.3"), "{out}");
        assert_eq!(retrieved(&hub), crlf(&dotty()));

        let hub = start(Tls::Implicit, Plaintext::Never, &[dotty()]).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3_SSL("127.0.0.1", port, context=ctx(), timeout=20)
print("TLS", p.sock.version())
p.user("dave"); p.pass_("secret")
resp, lines, octets = p.top(1, 1)
save(lines)
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("TLS TLSv1.3"), "{out}");
        let top = retrieved(&hub);
        assert!(
            top.ends_with(b"\r\n.starts with a dot\r\n"),
            "{:?}",
            String::from_utf8_lossy(&top)
        );
    })
    .await
    .expect("test timed out");
}

async fn line<R: futures::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut s = String::new();
    r.read_line(&mut s).await.unwrap();
    s.trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha256_plus_over_pop3s() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(Tls::Implicit, Plaintext::Never, &[dotty()]).await;
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let connector =
            futures_rustls::TlsConnector::from(client_config(&ClientVerification::Opportunistic));
        let tls = Stream::Plain(tcp.compat())
            .connect(&connector, ServerName::try_from("localhost").unwrap())
            .await
            .unwrap();
        let cb = tls.channel_binding().expect("TLS 1.3 channel binding");
        let mut io = BufReader::new(tls);
        assert!(line(&mut io).await.starts_with("+OK"));
        let mut creds = ClientCredentials::password("dave", "secret");
        creds.channel_binding = Some(cb);
        let mut client = ClientSession::new(Mechanism::ScramSha256Plus, creds).unwrap();
        let first = client.start(true).unwrap().unwrap();
        let cmd = format!("AUTH SCRAM-SHA-256-PLUS {}\r\n", framing::encode(&first));
        io.write_all(cmd.as_bytes()).await.unwrap();
        let result = loop {
            let l = line(&mut io).await;
            if let Some(ch) = l
                .strip_prefix("+ ")
                .or(if l == "+" { Some("") } else { None })
            {
                let challenge = framing::decode_challenge(ch.as_bytes(), 1 << 16).unwrap();
                let resp = client.step(&challenge).unwrap();
                io.write_all(format!("{}\r\n", framing::encode(&resp)).as_bytes())
                    .await
                    .unwrap();
            } else {
                break l;
            }
        };
        assert!(result.starts_with("+OK"), "{result}");
        io.write_all(b"STAT\r\n").await.unwrap();
        assert!(line(&mut io).await.starts_with("+OK 1 "));
        io.write_all(b"QUIT\r\n").await.unwrap();
        assert!(line(&mut io).await.starts_with("+OK"));

        // A wrong binding is refused: the server's SCRAM checks it.
        let tcp = TcpStream::connect(hub.addr).await.unwrap();
        let tls = Stream::Plain(tcp.compat())
            .connect(&connector, ServerName::try_from("localhost").unwrap())
            .await
            .unwrap();
        let mut io = BufReader::new(tls);
        line(&mut io).await;
        let mut creds = ClientCredentials::password("dave", "secret");
        creds.channel_binding = Some(mailhub_sasl::ChannelBinding {
            kind: mailhub_sasl::ChannelBindingType::TlsExporter,
            data: vec![0; 32],
        });
        let mut client = ClientSession::new(Mechanism::ScramSha256Plus, creds).unwrap();
        let first = client.start(true).unwrap().unwrap();
        let cmd = format!("AUTH SCRAM-SHA-256-PLUS {}\r\n", framing::encode(&first));
        io.write_all(cmd.as_bytes()).await.unwrap();
        let l = line(&mut io).await;
        let challenge = framing::decode_challenge(&l.as_bytes()[2..], 1 << 16).unwrap();
        let resp = client.step(&challenge).unwrap();
        io.write_all(format!("{}\r\n", framing::encode(&resp)).as_bytes())
            .await
            .unwrap();
        assert!(line(&mut io).await.starts_with("-ERR"));
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_is_dropped_without_stalling_others() {
    tokio::time::timeout(LIMIT, async {
        let big = vec![b'x'; 1 << 20];
        let hub = start_with(Tls::None, Plaintext::Loopback, &[big, dotty()], |c| {
            c.write_timeout = Duration::from_secs(1);
        })
        .await;
        // Log in, ask for 40 MB in pipelined RETRs, and read nothing.
        let mut stuck = TcpStream::connect(hub.addr).await.unwrap();
        let mut cmds = b"USER dave\r\nPASS secret\r\n".to_vec();
        for _ in 0..40 {
            cmds.extend_from_slice(b"RETR 1\r\n");
        }
        tokio::io::AsyncWriteExt::write_all(&mut stuck, &cmds)
            .await
            .unwrap();
        // Meanwhile another session is served; its maildrop lock attempt sees IN-USE,
        // which proves the stuck session holds the lock and this one was not stalled.
        let script = format!(
            "{PRELUDE}{}",
            r#"
import time
t = time.time()
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.user("dave")
try:
    p.pass_("secret"); print("no lock")
except poplib.error_proto as e:
    print("busy", e)
p.quit()
# Once the write timeout dropped the stuck session, the maildrop is free again.
for attempt in range(100):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user("dave")
    try:
        p.pass_("secret"); break
    except poplib.error_proto:
        p.quit(); time.sleep(0.1)
print("STAT", p.stat())
p.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("busy b'-ERR [IN-USE]"), "{out}");
        assert!(out.contains("STAT (2, "), "{out}");
        drop(stuck);
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbox_store_behind_pop3() {
    tokio::time::timeout(LIMIT, async {
        let spool = tempfile::tempdir().unwrap();
        let path = spool.path().to_owned();
        let hub = start_with(Tls::None, Plaintext::Loopback, &[], move |c| {
            let store = mailhub_mta_core::store::MboxStore::classic(
                path.join("spool"),
                path.join("home"),
                default_runtime(),
            );
            futures::executor::block_on(async {
                let u = store.open("dave").await.unwrap();
                for m in [dotty(), b"Subject: two\n\nsecond\n".to_vec()] {
                    let req = AppendRequest {
                        data: m.into(),
                        ..Default::default()
                    };
                    u.append("INBOX", req).await.unwrap();
                }
            });
            c.store = Arc::new(store);
        })
        .await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.user("dave"); p.pass_("secret")
print("STAT", p.stat())
resp, lines, octets = p.retr(1)
save(lines)
p.dele(2)
print(p.quit())
"#
        );
        let out = python(&hub, &script).await;
        assert!(out.contains("STAT (2, "), "{out}");
        assert_eq!(retrieved(&hub), crlf(&dotty()));
        let inbox = std::fs::read_to_string(spool.path().join("spool/dave")).unwrap();
        assert!(inbox.contains("Subject: dots"), "{inbox}");
        assert!(
            !inbox.contains("Subject: two"),
            "deleted in UPDATE: {inbox}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_limited() {
    tokio::time::timeout(LIMIT, async {
        let limits = ConnectionLimits {
            max_total: 10,
            max_per_address: 1,
        };
        let hub = start_limited(Tls::None, Plaintext::Loopback, &[dotty()], |_| {}, limits).await;
        let script = format!(
            "{PRELUDE}{}",
            r#"
a = poplib.POP3("127.0.0.1", port, timeout=20)
try:
    b = poplib.POP3("127.0.0.1", port, timeout=20)
    print("second connection accepted")
except poplib.error_proto as e:
    print("refused", e)
a.quit()
"#
        );
        let out = python(&hub, &script).await;
        assert!(
            out.contains("refused b'-ERR [SYS/TEMP] too many connections from this address'"),
            "{out}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_tls_client_is_dropped_after_the_handshake_timeout() {
    tokio::time::timeout(LIMIT, async {
        let hub = start_with(Tls::Implicit, Plaintext::Loopback, &[], |c| {
            c.handshake_timeout = Duration::from_millis(300);
        })
        .await;
        let mut tcp = TcpStream::connect(hub.addr).await.unwrap();
        let mut buf = [0u8; 16];
        // The server says nothing before the handshake and closes once its timer fires.
        let n = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf)
            .await
            .unwrap_or(0);
        assert_eq!(n, 0);
    })
    .await
    .expect("the server never closed the silent connection");
}
