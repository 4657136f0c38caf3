//! The configuration file: the embedded default and the sample at the repository root parse,
//! errors name the file, line and column, and first start prepares the data directory once
//! (self-signed certificate, users file with a hashed demo password). The `[policy]` access
//! table loads (a missing file is empty, a bad line is named); a file remembers where it was
//! read from, for reloads; `set_password` run by root keeps the users file's owner.

use mailhub_mta_core::config::{Config, ConfigError, DEFAULT_CONFIG, Service, prepare};

fn invalid(text: &str) -> (usize, usize, String) {
    match Config::parse(text, "test.toml") {
        Err(ConfigError::Invalid {
            file,
            line,
            column,
            message,
        }) => {
            assert_eq!(file, "test.toml");
            (line, column, message)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The default with one line replaced.
fn edited(from: &str, to: &str) -> String {
    assert!(DEFAULT_CONFIG.contains(from), "{from}");
    DEFAULT_CONFIG.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_default_listens_on_loopback_unprivileged_ports() {
    let c = Config::default_config();
    let ports: Vec<(Service, u16)> = c.listeners().iter().map(|(s, a)| (*s, a.port())).collect();
    assert_eq!(
        ports,
        vec![
            (Service::Smtp, 2525),
            (Service::Submission, 2587),
            (Service::Submissions, 2465),
            (Service::Imap, 1143),
            (Service::Imaps, 1993),
            (Service::Pop3, 1110),
            (Service::Pop3s, 1995),
            (Service::Lmtp, 2424),
        ]
    );
    assert!(c.listeners().iter().all(|(_, a)| a.ip().is_loopback()));
    assert_eq!(c.server.data_dir, std::path::Path::new("./mailhub-data"));
    assert_eq!(c.auth.demo_user, "demo");
    assert!(c.tls.cert.is_none());
}

#[test]
fn the_sample_at_the_repository_root_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mailhub.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.listeners(), Config::default_config().listeners());
    // Reloads read the file again; the embedded default has no file.
    assert_eq!(c.source.as_deref(), Some(path.as_path()));
    assert!(Config::default_config().source.is_none());
}

#[test]
fn the_access_table_loads_or_names_its_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default_config();
    c.server.data_dir = dir.path().to_owned();
    assert_eq!(
        c.policy.access_file.as_deref(),
        Some(std::path::Path::new("access"))
    );
    // Missing: an empty table (the default configuration names a file nobody made yet).
    let empty = c.load_access().unwrap();
    let ip = "192.0.2.7".parse().unwrap();
    assert_eq!(
        empty.check_client(ip),
        mailhub_mta_core::policy::Action::Dunno
    );
    std::fs::write(
        dir.path().join("access"),
        "# rules
client 192.0.2.0/24 REJECT
",
    )
    .unwrap();
    let t = c.load_access().unwrap();
    assert!(matches!(
        t.check_client(ip),
        mailhub_mta_core::policy::Action::Reject(_)
    ));
    let o = c.policy_options(false, t);
    assert!(matches!(
        o.access.check_client(ip),
        mailhub_mta_core::policy::Action::Reject(_)
    ));
    assert_eq!(o.max_messages_per_client, c.policy.max_messages_per_client);
    std::fs::write(
        dir.path().join("access"),
        "# rules
client nonsense
",
    )
    .unwrap();
    let e = c.load_access().unwrap_err().to_string();
    assert!(e.contains("access") && e.contains("line 2"), "{e}");
}

#[cfg(unix)]
#[test]
fn set_password_keeps_the_owner_of_the_users_file() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default_config();
    c.server.data_dir = dir.path().join("data");
    let p = prepare(&c).unwrap();
    let me = std::fs::metadata(&p.users_path).unwrap().uid();
    if me != 0 {
        // Only root can give a file away; as anyone else the owner is the writer anyway.
        c.set_password("erin", "e").unwrap();
        assert_eq!(std::fs::metadata(&p.users_path).unwrap().uid(), me);
        return;
    }
    // As root for a hub that runs as nobody: the rewritten file stays nobody's.
    std::os::unix::fs::chown(&p.users_path, Some(65534), Some(65534)).unwrap();
    c.set_password("erin", "e").unwrap();
    let m = std::fs::metadata(&p.users_path).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
}

#[test]
fn a_syntax_error_names_its_line() {
    let text = edited("hostname = \"localhost\"", "hostname = ");
    let (line, _, _) = invalid(&text);
    assert_eq!(line, line_of(&text, "hostname = "));
}

#[test]
fn an_unknown_key_names_its_line_and_the_key() {
    let text = edited("max_recipients = 100", "max_recipents = 100");
    let (line, column, message) = invalid(&text);
    assert_eq!(line, line_of(&text, "max_recipents"));
    assert_eq!(column, 1);
    assert!(message.contains("max_recipents"), "{message}");
}

#[test]
fn a_bad_address_or_network_names_its_line() {
    let text = edited("pop3 = [\"127.0.0.1:1110\"]", "pop3 = [\"127.0.0.1:pop\"]");
    let (line, _, _) = invalid(&text);
    assert_eq!(line, line_of(&text, "127.0.0.1:pop"));
    let text = edited("\"::1/128\"", "\"::1/129\"");
    let (line, _, message) = invalid(&text);
    assert_eq!(line, line_of(&text, "::1/129"));
    assert!(message.contains("::1/129"), "{message}");
    let text = edited("kind = \"maildir\"", "kind = \"maildirs\"");
    let (line, _, _) = invalid(&text);
    assert_eq!(line, line_of(&text, "maildirs"));
}

#[test]
fn checks_beyond_types_point_at_the_key() {
    for (from, to, key) in [
        ("# run_as = \"mail\"", "run_as = \"no body\"", "run_as ="),
        (
            "rate_window_secs = 3600",
            "rate_window_secs = 0",
            "rate_window_secs = 0",
        ),
        (
            "# cert = \"/etc/ssl/mail.pem\"",
            "cert = \"c.pem\"",
            "cert = \"c.pem\"",
        ),
        (
            "local = [\"localhost\", \"example.test\"]",
            "local = []",
            "local = []",
        ),
        (
            "pop3s = [\"127.0.0.1:1995\"]",
            "pop3s = [\"127.0.0.1:1110\"]",
            "pop3s =",
        ),
        (
            "# smart_host = \"smtp.example.net:587\"",
            "smart_host = \"nohost\"",
            "smart_host =",
        ),
        (
            "recipient_delimiter = \"+\"",
            "recipient_delimiter = \"+-\"",
            "recipient_delimiter",
        ),
    ] {
        let text = edited(from, to);
        let (line, _, message) = invalid(&text);
        assert_eq!(line, line_of(&text, key), "{to}: {message}");
    }
}

#[test]
fn errors_display_file_line_and_column() {
    let e = Config::parse("[server]\nhostname = 1\n", "x.toml").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("x.toml:2:12: "), "{s}");
}

#[test]
fn first_start_prepares_the_data_directory_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default_config();
    c.server.data_dir = dir.path().join("data");
    let p = prepare(&c).unwrap();
    let demo = p.demo.clone().unwrap();
    assert_eq!(demo.name, "demo");
    let password = demo.password.expose().clone();
    assert_eq!(password.len(), 16);
    let users = std::fs::read_to_string(&p.users_path).unwrap();
    assert!(users.contains("demo:{SCRAM-SHA-256}"), "{users}");
    assert!(
        !users.contains(&password),
        "the users file holds a hash only"
    );
    assert!(p.self_signed);
    assert!(
        std::fs::read_to_string(&p.cert_path)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let cert = std::fs::read(&p.cert_path).unwrap();
    for sub in ["mail", "queue"] {
        assert!(c.server.data_dir.join(sub).is_dir(), "{sub}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&p.users_path, &c.server.data_dir.join("demo-password")] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}", f.display());
        }
    }
    // The password checks against the users file.
    let file = c.load_users().unwrap();
    assert!(
        file.get("demo")
            .unwrap()
            .verify_password(password.as_bytes())
    );
    assert!(!file.get("demo").unwrap().verify_password(b"wrong"));
    // A second start keeps the certificate and the password.
    let again = prepare(&c).unwrap();
    assert_eq!(again.demo.unwrap().password.expose(), &password);
    assert_eq!(std::fs::read(&again.cert_path).unwrap(), cert);
}

#[test]
fn set_password_adds_or_replaces_one_hashed_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default_config();
    c.server.data_dir = dir.path().join("data");
    let p = prepare(&c).unwrap();
    std::fs::write(&p.users_path, "# users\nalice:{PLAIN}a\nbob:{PLAIN}b\n").unwrap();
    assert!(c.set_password("carol", "c-pass").unwrap());
    assert!(!c.set_password("alice", "new-a").unwrap());
    let text = std::fs::read_to_string(&p.users_path).unwrap();
    assert!(text.starts_with("# users\nalice:{SCRAM-SHA-256}"), "{text}");
    assert!(text.contains("\nbob:{PLAIN}b\n"), "{text}");
    assert!(
        !text.contains("new-a") && !text.contains("c-pass"),
        "{text}"
    );
    let users = c.load_users().unwrap();
    assert!(users.get("alice").unwrap().verify_password(b"new-a"));
    assert!(!users.get("alice").unwrap().verify_password(b"a"));
    assert!(users.get("carol").unwrap().verify_password(b"c-pass"));
    assert_eq!(users.len(), 3);
    // A name that cannot be a line is refused and the file is unchanged.
    assert!(c.set_password("bad:name", "x").is_err());
    assert_eq!(std::fs::read_to_string(&p.users_path).unwrap(), text);
}
