//! The passwd-file format: comments, blank lines, userdb and extra fields, and typed errors
//! that name the line and never show the hash.

use mailhub_sasl::passwd::{PasswdError, PasswdFile, PasswdLimits, Scheme};

const CRYPT: &str = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

#[test]
fn comments_blank_lines_and_fields() {
    let text = format!(
        "# Dovecot passwd-file\r\n\
         \n\
         \x20  \t\n\
         alice:{{SHA512-CRYPT}}{CRYPT}:1000:1000:Alice A.:/home/alice:/bin/false:userdb_quota_rule=*:storage=1G nopassword\r\n\
         # bob: not a user\n\
         bob:{{PLAIN}}pw\n\
         carol:{{PLAIN}}pw::::/var/mail/carol\n"
    );
    let file = PasswdFile::parse(&text).unwrap();
    assert_eq!(file.len(), 3);
    assert!(file.get("# bob").is_none());
    let alice = file.get("alice").unwrap();
    assert_eq!(alice.line_number(), 4);
    assert_eq!(alice.scheme(), Some(Scheme::Sha512Crypt));
    let f = alice.fields();
    assert_eq!(f.uid.as_deref(), Some("1000"));
    assert_eq!(f.gid.as_deref(), Some("1000"));
    assert_eq!(f.gecos.as_deref(), Some("Alice A."));
    assert_eq!(f.home.as_deref(), Some("/home/alice"));
    assert_eq!(f.shell.as_deref(), Some("/bin/false"));
    // The extra field keeps its colons and the CR of the CRLF line end is gone.
    assert_eq!(
        f.extra.as_deref(),
        Some("userdb_quota_rule=*:storage=1G nopassword")
    );
    assert_eq!(f.extra_field("userdb_quota_rule"), Some("*:storage=1G"));
    assert_eq!(f.extra_field("nopassword"), Some(""));
    assert_eq!(f.extra_field("absent"), None);
    let bob = file.get("bob").unwrap();
    assert_eq!(bob.fields(), &Default::default());
    assert_eq!(
        file.get("carol").unwrap().fields().home.as_deref(),
        Some("/var/mail/carol")
    );
    let users: Vec<_> = file.entries().map(|e| e.user()).collect();
    assert_eq!(users, ["alice", "bob", "carol"]);
    // Written back, the file parses to the same entries.
    let again = PasswdFile::parse(&file.to_text()).unwrap();
    for (a, b) in file.entries().zip(again.entries()) {
        assert_eq!(a.to_line(), b.to_line());
        assert_eq!(a.fields(), b.fields());
    }
    assert!(PasswdFile::parse("").unwrap().is_empty());
    assert!(
        PasswdFile::parse("# only a comment\n\n")
            .unwrap()
            .is_empty()
    );
}

/// The line an error is about, after checking that its message does not show `secret`.
fn error_line(text: &str, secret: &str) -> (usize, PasswdError) {
    let e = PasswdFile::parse(text).expect_err(text);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(secret), "error shows the value: {shown}");
    (e.line().expect("a line number"), e)
}

#[test]
fn errors_name_the_line_and_hide_the_value() {
    let ok = "a:{PLAIN}x\n# comment\n";
    /// A bad line, a part of it that must not show in the error, and the expected error.
    type Case = (&'static str, &'static str, fn(&PasswdError) -> bool);
    let cases: &[Case] = &[
        ("nocolonTOPSECRET", "TOPSECRET", |e| {
            matches!(e, PasswdError::Syntax { .. })
        }),
        (":{PLAIN}TOPSECRET", "TOPSECRET", |e| {
            matches!(e, PasswdError::Syntax { .. })
        }),
        ("u:{PLAIN TOPSECRET", "TOPSECRET", |e| {
            matches!(e, PasswdError::Syntax { .. })
        }),
        (
            "u:{MD5}TOPSECRETHASH",
            "TOPSECRET",
            |e| matches!(e, PasswdError::UnknownScheme { scheme, .. } if scheme == "MD5"),
        ),
        (
            "u:TOPSECRETHASH",
            "TOPSECRET",
            |e| matches!(e, PasswdError::UnknownScheme { scheme, .. } if scheme.is_empty()),
        ),
        (
            "u:{CRYPT}abTOPSECRET",
            "TOPSECRET",
            |e| matches!(e, PasswdError::UnknownScheme { scheme, .. } if scheme == "CRYPT"),
        ),
        ("u:{SHA512-CRYPT}$6$salt$TOPSECRET", "TOPSECRET", |e| {
            matches!(
                e,
                PasswdError::BadHash {
                    scheme: Scheme::Sha512Crypt,
                    ..
                }
            )
        }),
        (
            "u:{SHA512-CRYPT}$6$rounds=999$salt$TOPSECRET",
            "TOPSECRET",
            |e| matches!(e, PasswdError::BadHash { .. }),
        ),
        ("u:{SHA512-CRYPT}$5$salt$TOPSECRET", "TOPSECRET", |e| {
            matches!(e, PasswdError::BadHash { .. })
        }),
        (
            "u:{ARGON2ID}$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$TOPSECRET",
            "TOPSECRET",
            |e| {
                matches!(
                    e,
                    PasswdError::BadHash {
                        scheme: Scheme::Argon2id,
                        ..
                    }
                )
            },
        ),
        (
            "u:{ARGON2ID}$argon2id$v=19$m=256,t=2,p=1$TOPSECRET",
            "TOPSECRET",
            |e| matches!(e, PasswdError::BadHash { .. }),
        ),
        ("u:{SCRAM-SHA-256}4096,TOPSECRET", "TOPSECRET", |e| {
            matches!(
                e,
                PasswdError::BadHash {
                    scheme: Scheme::ScramSha256,
                    ..
                }
            )
        }),
        (
            "u:{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,TOPSECRET,D+CSWLOshSulAsxiupA+qs2/fTE=",
            "TOPSECRET",
            |e| matches!(e, PasswdError::BadHash { .. }),
        ),
        (
            "u:{SCRAM-SHA-1}0,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
            "6dlGYMOd",
            |e| matches!(e, PasswdError::BadHash { .. }),
        ),
        ("u:{PLAIN.b64}TOPSECRET!", "TOPSECRET", |e| {
            matches!(e, PasswdError::BadHash { .. })
        }),
        ("u:{SHA512-CRYPT.hex}TOPSECRET", "TOPSECRET", |e| {
            matches!(e, PasswdError::BadHash { .. })
        }),
        ("u:{PLAIN}TOP\u{7}SECRET", "TOP", |e| {
            matches!(e, PasswdError::Syntax { .. })
        }),
    ];
    for (bad, secret, kind) in cases {
        let (line, e) = error_line(&format!("{ok}{bad}\n{ok}"), secret);
        assert_eq!(line, 3, "{bad}: {e}");
        assert!(kind(&e), "{bad}: unexpected {e:?}");
        assert!(e.to_string().starts_with("line 3: "), "{e}");
    }
}

#[test]
fn duplicate_users_are_refused() {
    let (line, e) = error_line("a:{PLAIN}x\nb:{PLAIN}y\na:{PLAIN}zzzz\n", "zzzz");
    assert_eq!(line, 3);
    assert!(
        matches!(&e, PasswdError::DuplicateUser { first_line: 1, user, .. } if user == "a"),
        "{e:?}"
    );
}

#[test]
fn cost_limits() {
    let limits = PasswdLimits {
        max_sha512_rounds: 4_000,
        max_argon2_m_cost: 128,
        max_scram_iterations: 1_000,
        ..PasswdLimits::default()
    };
    let too_costly = [
        format!("u:{{SHA512-CRYPT}}{CRYPT}"), // implicit 5000 rounds
        "u:$6$rounds=5000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1".into(),
        "u:{ARGON2ID}$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4".into(),
        "u:{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=".into(),
    ];
    for text in &too_costly {
        let e = PasswdFile::parse_with_limits(text, &limits).unwrap_err();
        assert!(
            matches!(e, PasswdError::CostTooHigh { line: 1, .. }),
            "{text}: {e:?}"
        );
        // Within the default limits the same lines are fine.
        PasswdFile::parse(text).unwrap();
    }
}

#[test]
fn load_reads_a_file_and_enforces_its_size_limit() {
    let dir = std::env::temp_dir().join(format!("mailhub-passwd-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("passwd");
    std::fs::write(&path, "alice:{PLAIN}pw\n").unwrap();
    let file = PasswdFile::load(&path).unwrap();
    assert_eq!(file.len(), 1);
    let small = PasswdLimits {
        max_file_size: 8,
        ..PasswdLimits::default()
    };
    let e = PasswdFile::load_with_limits(&path, &small).unwrap_err();
    assert!(matches!(e, PasswdError::TooLarge { limit: 8 }), "{e:?}");
    std::fs::write(&path, b"alice:{PLAIN}\xff\n").unwrap();
    let e = PasswdFile::load(&path).unwrap_err();
    assert!(matches!(e, PasswdError::Io { .. }), "{e:?}");
    let e = PasswdFile::load(dir.join("missing")).unwrap_err();
    assert!(
        matches!(e, PasswdError::Io { .. }) && e.line().is_none(),
        "{e:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
