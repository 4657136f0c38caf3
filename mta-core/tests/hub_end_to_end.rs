//! The whole hub from its default configuration, in a temporary data directory on ephemeral
//! loopback ports: a message submitted with Python's smtplib (STARTTLS, then AUTH as the demo
//! user whose password first start generated) is delivered through the queue and read back
//! with poplib (STLS) byte for byte after the trace fields and with imaplib (STARTTLS; a flag
//! set is seen in the next session); curl's smtp://, pop3s:// and imaps:// URLs do the same; a reload makes a new user known; after shutdown the ports are closed.
//!
//! Needs `python3` (standard library), `curl` and `swaks` (Debian packages `curl`, `swaks`):
//! the tests fail when they are missing.

use std::time::Duration;

use mailhub_mta_core::config::{Config, Hub, Service};

const LIMIT: Duration = Duration::from_secs(90);

async fn start(dir: &std::path::Path) -> Hub {
    start_with(dir, |_| {}).await
}

async fn start_with(dir: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> Hub {
    let mut config = Config::default_config();
    tweak(&mut config);
    config.server.data_dir = dir.join("data");
    for s in Service::ALL {
        for a in config.listen.get_mut(s) {
            a.set_port(0);
        }
    }
    Hub::start(config).await.unwrap()
}

/// `[store] kind = "mbox"`: SMTP in, the queue delivers into the INBOX file, POP3 out.
#[tokio::test]
async fn an_mbox_store_receives_and_serves() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start_with(dir.path(), |c| {
            c.store.kind = mailhub_mta_core::config::StoreKind::Mbox;
        })
        .await;
        let demo = hub.prepared().demo.clone().unwrap();
        let creds = format!("{}:{}", demo.name, demo.password.expose());
        let smtp = format!(
            "smtp://127.0.0.1:{}",
            hub.addr(Service::Smtp).unwrap().port()
        );
        let msg = b"Subject: to mbox\r\n\r\nFrom the start of a line\r\n";
        let args = ["-sS", "--url", &smtp, "--mail-from", "x@remote.test"];
        let mut args = args.to_vec();
        args.extend(["--mail-rcpt", "demo@localhost", "-T", "-"]);
        run("curl", &args, Some(msg)).await;
        let pop = format!(
            "pop3://127.0.0.1:{}/1",
            hub.addr(Service::Pop3).unwrap().port()
        );
        let mut got = Vec::new();
        for _ in 0..600 {
            let o = tokio::process::Command::new("curl")
                .args(["-sS", "-u", &creds, &pop])
                .output()
                .await
                .expect("curl must be installed");
            if o.status.success() {
                got = o.stdout;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(got.ends_with(msg), "{}", String::from_utf8_lossy(&got));
        let inbox = dir.path().join("data/mail/inbox/demo");
        let file = std::fs::read(&inbox).unwrap();
        // On disk the body line is quoted (mboxrd); POP3 gave it back unquoted above.
        assert!(
            file.windows(26)
                .any(|w| w == b"\n>From the start of a line"),
            "{}",
            String::from_utf8_lossy(&file)
        );
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

async fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const SCRIPT: &str = r#"
import smtplib, poplib, ssl, sys, time
sub, pop, cafile, user, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
imap = int(sys.argv[6])
import imaplib
ctx = ssl.create_default_context(cafile=cafile)
msg = (b'From: demo@localhost\r\nTo: demo@localhost\r\nSubject: through the hub\r\n'
       b'Date: Sat, 21 Nov 2026 02:00:00 +0000\r\nMessage-ID: <e2e@client.test>\r\n\r\n'
       b'Hello from smtplib.\r\n.leading dot\r\n')
s = smtplib.SMTP('127.0.0.1', sub)
s.ehlo('client.test')
c, m = s.mail('demo@localhost'); assert c == 530, (c, m)  # AUTH first on submission
s.rset()
s.starttls(context=ctx); s.ehlo('client.test')
s.login(user, pw)
s.sendmail('demo@localhost', ['demo@localhost'], msg)
s.quit()
for _ in range(600):
    p = poplib.POP3('127.0.0.1', pop)
    p.stls(context=ctx); p.user(user); p.pass_(pw)
    if p.stat()[0] > 0:
        break
    p.quit(); time.sleep(0.05)
lines = p.retr(1)[1]
p.quit()
got = b'\r\n'.join(lines) + b'\r\n'
assert got.endswith(msg), got
head = got[:len(got) - len(msg)]
assert head.startswith(b'Return-Path: <demo@localhost>\r\nDelivered-To: demo@localhost\r\n'), head
assert b'Received: from client.test' in head, head
# The same message over IMAP (STARTTLS), byte for byte; a flag set here is seen next time.
m = imaplib.IMAP4('127.0.0.1', imap)
m.starttls(ssl_context=ctx); m.login(user, pw); m.select('INBOX')
typ, data = m.fetch('1', '(BODY.PEEK[])'); assert typ == 'OK', data
assert data[0][1] == got, (data[0][1], got)
typ, _ = m.store('1', '+FLAGS', '(\\Flagged)'); assert typ == 'OK'
m.logout()
m = imaplib.IMAP4('127.0.0.1', imap)
m.starttls(ssl_context=ctx); m.login(user, pw); m.select('INBOX', readonly=True)
typ, data = m.fetch('1', '(FLAGS)'); assert b'\\Flagged' in data[0], data
m.logout()
print('ok')
"#;

#[tokio::test]
async fn submission_then_pop3_with_python_and_curl() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let demo = hub.prepared().demo.clone().expect("a demo user");
        let password = demo.password.expose().clone();
        let cert = hub.prepared().cert_path.display().to_string();
        let port = |s| hub.addr(s).unwrap().port().to_string();
        let out = run(
            "python3",
            &[
                "-c",
                SCRIPT,
                &port(Service::Submission),
                &port(Service::Pop3),
                &cert,
                &demo.name,
                &password,
                &port(Service::Imap),
            ],
            None,
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&out).trim(), "ok");

        // curl: plain SMTP to the MTA port (a local recipient needs no AUTH), then POP3S.
        let msg = b"From: demo@localhost\r\nSubject: via curl\r\n\r\ncurl body\r\n";
        let smtp = format!("smtp://127.0.0.1:{}", port(Service::Smtp));
        run(
            "curl",
            &[
                "-sS",
                "--url",
                &smtp,
                "--mail-from",
                "someone@remote.test",
                "--mail-rcpt",
                "demo@example.test",
                "-T",
                "-",
            ],
            Some(msg),
        )
        .await;
        let pop3s = format!("pop3s://127.0.0.1:{}/2", port(Service::Pop3s));
        let creds = format!("{}:{password}", demo.name);
        let mut got = Vec::new();
        for _ in 0..600 {
            // The queue delivers in the background: wait for the second message.
            let list = format!("pop3s://127.0.0.1:{}/", port(Service::Pop3s));
            let l = run(
                "curl",
                &["-sS", "--cacert", &cert, "-u", &creds, &list],
                None,
            )
            .await;
            if String::from_utf8_lossy(&l).lines().count() >= 2 {
                got = run(
                    "curl",
                    &["-sS", "--cacert", &cert, "-u", &creds, &pop3s],
                    None,
                )
                .await;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(got.ends_with(msg), "{}", String::from_utf8_lossy(&got));
        assert!(got.starts_with(b"Return-Path: <someone@remote.test>\r\n"));
        // And over IMAPS with curl: the second message by UID.
        let imaps = format!("imaps://127.0.0.1:{}/INBOX;UID=2", port(Service::Imaps));
        let by_imap = run(
            "curl",
            &["-sS", "--cacert", &cert, "-u", &creds, &imaps],
            None,
        )
        .await;
        assert_eq!(by_imap, got);
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn reload_makes_a_new_user_known_and_shutdown_closes_the_ports() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let pop = hub.addr(Service::Pop3).unwrap();
        let smtp = hub.addr(Service::Smtp).unwrap();
        let script = r#"
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user('erin')
try:
    p.pass_('pw'); print('in'); p.quit()
except poplib.error_proto:
    print('refused')
"#;
        let login = || async {
            let o = run("python3", &["-c", script, &pop.port().to_string()], None).await;
            String::from_utf8_lossy(&o).trim().to_owned()
        };
        assert_eq!(login().await, "refused");
        let users = hub.prepared().users_path.clone();
        let mut text = std::fs::read_to_string(&users).unwrap();
        text.push_str("erin:{PLAIN}pw\n");
        std::fs::write(&users, text).unwrap();
        hub.reload().unwrap();
        assert_eq!(login().await, "in");
        // A bad file keeps the old tables.
        std::fs::write(&users, "erin:{NOSUCH}x\n").unwrap();
        assert!(hub.reload().is_err());
        assert_eq!(login().await, "in");
        hub.shutdown(Duration::from_secs(5)).await;
        for a in [pop, smtp] {
            assert!(
                tokio::net::TcpStream::connect(a).await.is_err(),
                "{a} still open"
            );
        }
    })
    .await
    .expect("test timed out");
}

/// The banner's "Try it" commands work as printed (run through `sh -c`).
#[tokio::test]
async fn the_banner_commands_work_as_printed() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let banner = hub.banner();
        let commands: Vec<&str> = banner
            .lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("printf") || l.starts_with("curl") || l.starts_with("python3")
            })
            .collect();
        assert_eq!(commands.len(), 7, "{banner}");
        for c in commands {
            let mut out = None;
            // Reading waits for the queue's background delivery of the first message.
            for _ in 0..600 {
                let o = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(c)
                    .output()
                    .await
                    .unwrap();
                if o.status.success() {
                    out = Some(o.stdout);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let out = out.unwrap_or_else(|| panic!("{c} never succeeded"));
            let text = String::from_utf8_lossy(&out);
            if c.contains("pop3") || c.contains("poplib") || c.contains("imap") {
                assert!(text.contains("Hi there!"), "{c}: {text}");
            }
        }
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}

/// Issue 11's "must show": a message sent with swaks over SMTP is read back over IMAP with
/// Python and over POP3 with curl, byte for byte equal after the added trace fields.
#[tokio::test]
async fn swaks_in_imaplib_and_curl_pop3_out_byte_for_byte() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let hub = start(dir.path()).await;
        let demo = hub.prepared().demo.clone().unwrap();
        let password = demo.password.expose().clone();
        let msg: &[u8] = b"From: x@remote.test\r\nTo: demo@localhost\r\nSubject: swaks\r\n\
            Date: Sat, 21 Nov 2026 02:00:00 +0000\r\nMessage-ID: <swaks@remote.test>\r\n\r\n\
            line one\r\n.a line starting with a dot\r\n\r\nlast line\r\n";
        let file = dir.path().join("msg.eml");
        // swaks ends the data with CRLF "." CRLF itself: the file leaves out the last CRLF.
        std::fs::write(&file, &msg[..msg.len() - 2]).unwrap();
        let smtp = hub.addr(Service::Smtp).unwrap();
        run(
            "swaks",
            &[
                "--server",
                &smtp.ip().to_string(),
                "--port",
                &smtp.port().to_string(),
                "--from",
                "x@remote.test",
                "--to",
                "demo@localhost",
                "--data",
                &file.display().to_string(),
            ],
            None,
        )
        .await;
        let script = r#"
import imaplib, sys, time
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for _ in range(600):
    m = imaplib.IMAP4('127.0.0.1', port); m.login(user, pw)
    typ, data = m.select('INBOX')
    if int(data[0]) > 0:
        break
    m.logout(); time.sleep(0.05)
typ, data = m.fetch('1', '(BODY.PEEK[])')
sys.stdout.buffer.write(data[0][1])
m.logout()
"#;
        let imap_port = hub.addr(Service::Imap).unwrap().port().to_string();
        let by_imap = run(
            "python3",
            &["-c", script, &imap_port, &demo.name, &password],
            None,
        )
        .await;
        let pop = format!(
            "pop3://127.0.0.1:{}/1",
            hub.addr(Service::Pop3).unwrap().port()
        );
        let creds = format!("{}:{password}", demo.name);
        let by_pop = run("curl", &["-sS", "-u", &creds, &pop], None).await;
        assert_eq!(by_imap, by_pop);
        assert!(
            by_imap.ends_with(msg),
            "{}",
            String::from_utf8_lossy(&by_imap)
        );
        let trace = &by_imap[..by_imap.len() - msg.len()];
        let trace = String::from_utf8_lossy(trace);
        assert!(
            trace.starts_with(
                "Return-Path: <x@remote.test>\r\nDelivered-To: demo@localhost\r\nReceived: "
            ),
            "{trace}"
        );
        hub.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("test timed out");
}
