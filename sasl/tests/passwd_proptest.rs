//! Properties of the passwd store: arbitrary text never panics the parser, and lines made by
//! the helper parse back and verify.

use mailhub_sasl::passwd::{HashParams, PasswdFile, Scheme, UserFields, line_with};
use mailhub_sasl::{Credentials, Secret};
use proptest::prelude::*;

fn cheap() -> HashParams {
    HashParams {
        sha512_rounds: 1_000,
        argon2_m_cost: 16,
        argon2_t_cost: 1,
        argon2_p_cost: 1,
        scram_iterations: 16,
    }
}

/// Text made of the pieces passwd lines are made of, so that parsing gets past the first field.
fn passwd_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(":".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("#".to_owned()),
        Just("{PLAIN}".to_owned()),
        Just("{PLAIN.b64}".to_owned()),
        Just("{SHA512-CRYPT}$6$".to_owned()),
        Just("rounds=1000$".to_owned()),
        Just("{ARGON2ID}$argon2id$v=19$m=16,t=1,p=1$".to_owned()),
        Just("{SCRAM-SHA-256}16,".to_owned()),
        Just("{SCRAM-SHA-1}".to_owned()),
        Just(",".to_owned()),
        "[a-zA-Z0-9+/=$.]{0,12}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = PasswdFile::parse(&text);
    }

    #[test]
    fn passwd_like_text_never_panics(text in passwd_like()) {
        match PasswdFile::parse(&text) {
            Ok(file) => {
                let again = PasswdFile::parse(&file.to_text()).expect("written file parses");
                prop_assert_eq!(file.len(), again.len());
                let pw = Secret::new(b"x".to_vec());
                for e in file.entries().take(2) {
                    let _ = file.verify_password(e.user(), &pw);
                }
            }
            Err(e) => {
                let line = e.line().expect("parse errors name a line");
                prop_assert!(line >= 1 && line <= text.split('\n').count());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn helper_lines_parse_and_verify(
        user in "[a-z][a-z0-9@.*_-]{0,20}",
        password in proptest::collection::vec(any::<u8>(), 0..40),
        other in proptest::collection::vec(any::<u8>(), 0..40),
        scheme in proptest::sample::select(Scheme::ALL.to_vec()),
        seed in any::<u8>(),
    ) {
        let mut random = move |buf: &mut [u8]| buf.fill(seed);
        let text = line_with(&user, scheme, &password, &cheap(), &UserFields::default(), &mut random)
            .unwrap();
        let file = PasswdFile::parse(&text).unwrap();
        prop_assert_eq!(file.get(&user).unwrap().scheme(), Some(scheme));
        prop_assert!(file.verify_password(&user, &Secret::new(password.clone())).unwrap());
        // SCRAM's HMAC zero-pads the password used as a key: trailing NULs do not count there.
        let same = if matches!(scheme, Scheme::ScramSha1 | Scheme::ScramSha256) {
            let trim = |p: &[u8]| p.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            password[..trim(&password)] == other[..trim(&other)]
        } else {
            other == password
        };
        prop_assert_eq!(
            file.verify_password(&user, &Secret::new(other.clone())).unwrap(),
            same
        );
        prop_assert_eq!(file.get(&user).unwrap().to_line(), text);
    }
}
