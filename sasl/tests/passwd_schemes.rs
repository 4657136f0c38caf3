//! Every passwd scheme: known-answer vectors (Drepper's SHA-crypt examples, the Argon2
//! reference implementation, RFC 5802 §5 and RFC 7677 §3 in Dovecot's format, lines made by
//! Dovecot's `doveadm pw`) and hash → line → parse → verify round trips.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailhub_sasl::passwd::{
    HashParams, PasswdFile, Scheme, UserFields, hash_password, hash_password_with, line, line_with,
};
use mailhub_sasl::{Credentials, ScramHash, ScramKeys, Secret};

fn secret(s: &str) -> Secret<Vec<u8>> {
    Secret::new(s.as_bytes().to_vec())
}

/// A deterministic random source: a counter, so successive salts differ.
fn counter() -> impl FnMut(&mut [u8]) + Send {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        for b in buf {
            n = n.wrapping_add(37);
            *b = n;
        }
    }
}

/// Cheap parameters: tests check behaviour, not strength.
fn cheap() -> HashParams {
    HashParams {
        sha512_rounds: 1_000,
        argon2_m_cost: 64,
        argon2_t_cost: 1,
        argon2_p_cost: 1,
        scram_iterations: 64,
    }
}

fn check(file: &PasswdFile, user: &str, password: &str) -> bool {
    file.verify_password(user, &secret(password)).unwrap()
}

#[test]
fn sha512_crypt_known_answers() {
    // Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors 1 and 2; the third line
    // was made by Dovecot's `doveadm pw -s SHA512-CRYPT -p pencil`, the fourth with -r 1000.
    let file = PasswdFile::parse(concat!(
        "a:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n",
        "b:$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.\n",
        "c:{SHA512-CRYPT}$6$6XOFT/N6440tZb06$4N1Nci5iTwBiyv4Euh7k2Spgb0.kUvnNuzr92oKjAo4S6vt/67k2MZQRlhlznM6c1tP5InJ5CYI5lsxRUCCub1\n",
        "d:{CRYPT}$6$rounds=1000$UPL7Ez8bCXjIvgyN$BSj4Xvs4QtZrsmfrU5Odg2wXPh7nH./1l/t8In/.d.PO8BA6WYPcXW46pBScY1xlI4aTLICydNieH1J9l4eqX1\n",
    ))
    .unwrap();
    assert!(check(&file, "a", "Hello world!"));
    assert!(!check(&file, "a", "Hello world?"));
    assert!(check(&file, "b", "Hello world!"));
    assert!(!check(&file, "b", "Hello world"));
    assert!(check(&file, "c", "pencil"));
    assert!(!check(&file, "c", "pencil "));
    assert!(check(&file, "d", "pencil"));
    assert!(!check(&file, "d", "Pencil"));
    for user in ["a", "b", "c", "d"] {
        assert_eq!(file.get(user).unwrap().scheme(), Some(Scheme::Sha512Crypt));
        // Only PLAIN serves CRAM-MD5 and SCRAM.
        assert_eq!(file.plaintext_password(user).unwrap(), None);
        assert_eq!(file.scram_keys(user, ScramHash::Sha256).unwrap(), None);
    }
}

#[test]
fn argon2id_known_answer() {
    // The Argon2 reference implementation's test vector: "password", salt "somesalt",
    // t=2, m=256 KiB, p=1, version 0x13.
    let file = PasswdFile::parse(
        "u:{ARGON2ID}$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4\n\
         bare:$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4\n",
    )
    .unwrap();
    for user in ["u", "bare"] {
        assert_eq!(file.get(user).unwrap().scheme(), Some(Scheme::Argon2id));
        assert!(check(&file, user, "password"));
        assert!(!check(&file, user, "passwore"));
    }
}

/// `ClientProof` and `ServerSignature` of an RFC exchange, computed from the stored keys of a
/// passwd entry: they match the RFC's `p=` and `v=` only if StoredKey and ServerKey are right.
fn proof_and_signature(keys: &ScramKeys, password: &str, auth_message: &str) -> (String, String) {
    let h = keys.hash;
    let salted = h.hi(password.as_bytes(), &keys.salt, keys.iterations);
    let client_key = h.hmac(&salted, b"Client Key");
    let client_signature = h.hmac(keys.stored_key.expose(), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&client_signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let server_signature = h.hmac(keys.server_key.expose(), auth_message.as_bytes());
    (STANDARD.encode(proof), STANDARD.encode(server_signature))
}

#[test]
fn scram_sha256_rfc7677_stored_keys() {
    // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096.
    let file = PasswdFile::parse(
        "user:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n",
    )
    .unwrap();
    let keys = file.scram_keys("user", ScramHash::Sha256).unwrap().unwrap();
    assert_eq!(keys.iterations, 4096);
    let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
        r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
        c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    let (proof, signature) = proof_and_signature(&keys, "pencil", auth_message);
    assert_eq!(proof, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    assert_eq!(signature, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    // The same entry checks a plain password by deriving ClientKey.
    assert!(check(&file, "user", "pencil"));
    assert!(!check(&file, "user", "pencil2"));
    // Keys of one hash do not serve the other, and there is no plaintext.
    assert_eq!(file.scram_keys("user", ScramHash::Sha1).unwrap(), None);
    assert_eq!(file.plaintext_password("user").unwrap(), None);
    assert!(file.user_exists("user").unwrap());
}

#[test]
fn scram_sha1_rfc5802_stored_keys() {
    // RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, i=4096.
    let file = PasswdFile::parse(
        "user:{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n",
    )
    .unwrap();
    let keys = file.scram_keys("user", ScramHash::Sha1).unwrap().unwrap();
    let auth_message = "n=user,r=fyko+d2lbbFgONRv9qkxdawL,\
        r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,\
        c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    let (proof, signature) = proof_and_signature(&keys, "pencil", auth_message);
    assert_eq!(proof, "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    assert_eq!(signature, "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    assert!(check(&file, "user", "pencil"));
    assert!(!check(&file, "user", "pencil "));
    // SCRAM uses the password as an HMAC key, and HMAC pads short keys with zeros, so trailing
    // NULs do not change the keys (SASLprep forbids U+0000 in passwords anyway).
    assert!(check(&file, "user", "pencil\0"));
}

#[test]
fn dovecot_made_scram_lines() {
    // `doveadm pw -s SCRAM-SHA-256 -p pencil` and `-s SCRAM-SHA-1` (Dovecot 2.3).
    let file = PasswdFile::parse(concat!(
        "a:{SCRAM-SHA-256}4096,wUsVwmrK6WkVS1bkLMr0UQ==,bAmugRrL2L2t2/jpU304kmCCJuTlSJ4oZmg9h/wTjfE=,mfVfiqkUhwXKcQzA+zf8m2kRqfCikZ0qHr1ND/FhdNg=\n",
        "b:{scram-sha-1}4096,+HPPIefJmuV6XZKQhNrWlw==,Pd+VSYmcC4/D4+0MqwD/U0p0eOo=,+QEwyKKGJqhXH7v831WoI38pMUo=\n",
    ))
    .unwrap();
    assert!(check(&file, "a", "pencil"));
    assert!(!check(&file, "a", "pencul"));
    assert!(check(&file, "b", "pencil"));
    assert!(!check(&file, "b", ""));
}

#[test]
fn plain_and_its_aliases() {
    let file = PasswdFile::parse(concat!(
        "a:{PLAIN}pencil\n",
        "b:{CLEAR}pencil\n",
        "c:{cleartext}pencil\n",
        "d:{PLAIN.b64}YTpi\n",
        "e:{PLAIN.hex}70656e63696c\n",
        "f:{PLAIN}\n",
    ))
    .unwrap();
    for user in ["a", "b", "c", "e"] {
        assert_eq!(file.get(user).unwrap().scheme(), Some(Scheme::Plain));
        assert!(check(&file, user, "pencil"), "{user}");
        assert!(!check(&file, user, "pencil!"), "{user}");
        assert_eq!(
            file.plaintext_password(user).unwrap().unwrap().expose(),
            b"pencil"
        );
    }
    assert!(check(&file, "d", "a:b"));
    // `{PLAIN}` with nothing after it is the empty password, as in Dovecot.
    assert!(check(&file, "f", ""));
    assert!(!check(&file, "f", "x"));
}

#[test]
fn plain_entries_serve_scram_like_the_trait_default() {
    /// A store with only a plaintext lookup: SCRAM keys come from the trait's default.
    struct OnlyPlain;
    impl Credentials for OnlyPlain {
        fn plaintext_password(
            &self,
            _: &str,
        ) -> Result<Option<Secret<Vec<u8>>>, mailhub_sasl::CredentialError> {
            Ok(Some(secret("pencil")))
        }
    }
    let file = PasswdFile::parse("alice:{PLAIN}pencil\n").unwrap();
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let ours = file.scram_keys("alice", hash).unwrap().unwrap();
        let default = OnlyPlain.scram_keys("alice", hash).unwrap().unwrap();
        assert_eq!(ours, default);
        assert_eq!(
            ours,
            ScramKeys::derive(hash, b"pencil", &ours.salt, ours.iterations)
        );
    }
}

#[test]
fn unknown_user_and_wrong_password_look_the_same() {
    let file = PasswdFile::parse(concat!(
        "alice:{SCRAM-SHA-256}64,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n",
        "nopass::1000\n",
    ))
    .unwrap();
    let wrong = file.verify_password("alice", &secret("nope"));
    let unknown = file.verify_password("mallory", &secret("nope"));
    assert_eq!(wrong, Ok(false));
    assert_eq!(unknown, wrong);
    assert_eq!(file.scram_keys("mallory", ScramHash::Sha256), Ok(None));
    assert!(!file.user_exists("mallory").unwrap());
    // A user without a password exists, and no password (not even the empty one) works.
    assert!(file.user_exists("nopass").unwrap());
    assert_eq!(file.get("nopass").unwrap().scheme(), None);
    assert!(!check(&file, "nopass", ""));
    assert!(!check(&file, "nopass", "nope"));
}

#[test]
fn every_scheme_round_trips_through_a_line() {
    let mut random = counter();
    let passwords = ["pencil", "", "a:b c\u{e9}", "line\nbreak", "{PLAIN}x"];
    for scheme in Scheme::ALL {
        for password in passwords {
            let text = line_with(
                "user",
                scheme,
                password.as_bytes(),
                &cheap(),
                &UserFields::default(),
                &mut random,
            )
            .unwrap();
            assert!(!text.contains('\n'), "{scheme}: {text:?}");
            let file = PasswdFile::parse(&text).unwrap_or_else(|e| panic!("{scheme}: {e}"));
            let entry = file.get("user").unwrap();
            assert_eq!(entry.scheme(), Some(scheme));
            assert!(check(&file, "user", password), "{scheme} {password:?}");
            assert!(!check(&file, "user", "wrong"), "{scheme} {password:?}");
            assert_eq!(entry.to_line(), text, "{scheme}: written back as read");
        }
    }
}

#[test]
fn salts_come_from_the_random_source() {
    let fixed = |byte: u8| move |buf: &mut [u8]| buf.fill(byte);
    for scheme in [Scheme::Sha512Crypt, Scheme::Argon2id, Scheme::ScramSha256] {
        let a1 = hash_password_with(scheme, b"pw", &cheap(), &mut fixed(1)).unwrap();
        let a2 = hash_password_with(scheme, b"pw", &cheap(), &mut fixed(1)).unwrap();
        let b = hash_password_with(scheme, b"pw", &cheap(), &mut fixed(2)).unwrap();
        assert_eq!(a1, a2, "{scheme}: same random bytes, same hash");
        assert_ne!(a1, b, "{scheme}: other random bytes, other salt");
    }
    // SCRAM salts are the 16 random octets themselves.
    let field = hash_password_with(Scheme::ScramSha1, b"pw", &cheap(), &mut fixed(9)).unwrap();
    let salt = field.split(',').nth(1).unwrap();
    assert_eq!(STANDARD.decode(salt).unwrap(), vec![9u8; 16]);
}

#[test]
fn default_parameters() {
    let mut random = counter();
    let crypt = hash_password(Scheme::Sha512Crypt, b"pencil", &mut random);
    // glibc's default of 5000 rounds is written without rounds=.
    assert!(
        crypt.starts_with("{SHA512-CRYPT}$6$") && !crypt.contains("rounds="),
        "{crypt}"
    );
    assert_eq!(
        crypt.split('$').nth(2).unwrap().len(),
        16,
        "16-character salt"
    );
    let scram = hash_password(Scheme::ScramSha256, b"pencil", &mut random);
    assert!(scram.starts_with("{SCRAM-SHA-256}4096,"), "{scram}");
    let file = PasswdFile::parse(&format!("a:{crypt}\nb:{scram}\n")).unwrap();
    assert!(check(&file, "a", "pencil"));
    assert!(check(&file, "b", "pencil"));
    // Argon2id's defaults are the argon2 crate's (19 MiB, t=2, p=1); hashing with them is
    // too slow for a debug-build test, so only the parameters are checked.
    let d = HashParams::default();
    assert_eq!(
        (d.argon2_m_cost, d.argon2_t_cost, d.argon2_p_cost),
        (
            argon2::Params::DEFAULT_M_COST,
            argon2::Params::DEFAULT_T_COST,
            argon2::Params::DEFAULT_P_COST
        )
    );
    assert_eq!((d.sha512_rounds, d.scram_iterations), (5000, 4096));
}

#[test]
fn line_writes_userdb_fields() {
    let mut random = counter();
    let fields = UserFields {
        uid: Some("1000".into()),
        gid: Some("mail".into()),
        home: Some("/home/a".into()),
        extra: Some("userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8".into()),
        ..UserFields::default()
    };
    let text = line_with("a", Scheme::Plain, b"pw", &cheap(), &fields, &mut random).unwrap();
    assert_eq!(
        text,
        "a:{PLAIN}pw:1000:mail::/home/a::userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8"
    );
    let file = PasswdFile::parse(&text).unwrap();
    assert_eq!(file.get("a").unwrap().fields(), &fields);
    assert_eq!(
        line("b", Scheme::Plain, b"pw", &mut random).unwrap(),
        "b:{PLAIN}pw"
    );
}

#[test]
fn line_refuses_what_cannot_be_written() {
    let mut random = counter();
    for user in ["", "a:b", "#a", "a\nb"] {
        let e = line(user, Scheme::Plain, b"pw", &mut random).unwrap_err();
        assert!(e.to_string().contains("user name"), "{user:?}: {e}");
    }
    let fields = UserFields {
        home: Some("/a:b".into()),
        ..UserFields::default()
    };
    let e = line_with("a", Scheme::Plain, b"pw", &cheap(), &fields, &mut random).unwrap_err();
    assert!(e.to_string().contains("home"), "{e}");
    let bad = HashParams {
        sha512_rounds: 10,
        ..cheap()
    };
    assert!(hash_password_with(Scheme::Sha512Crypt, b"pw", &bad, &mut random).is_err());
    let bad = HashParams {
        argon2_m_cost: 1,
        ..cheap()
    };
    assert!(hash_password_with(Scheme::Argon2id, b"pw", &bad, &mut random).is_err());
    let bad = HashParams {
        scram_iterations: 0,
        ..cheap()
    };
    assert!(hash_password_with(Scheme::ScramSha1, b"pw", &bad, &mut random).is_err());
}
