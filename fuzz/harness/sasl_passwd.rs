//! Fuzz entry for the passwd-file parser of mailhub-sasl (`mailhub_sasl::passwd`).
//!
//! Shared by the cargo-fuzz target `sasl_passwd` and by the replay test
//! `sasl/tests/fuzz_corpus_passwd.rs`, which runs every file of `fuzz/corpus/sasl_passwd/`.

use mailhub_sasl::passwd::{PasswdFile, PasswdLimits};
use mailhub_sasl::{Credentials, ScramHash, Secret};

/// Parses `data` as a passwd file and checks what must hold whatever the input:
/// - no panic;
/// - an error about a line names a line that exists;
/// - a parsed file written back with `to_text` parses to the same entries;
/// - looking users up and checking passwords never panics.
pub fn parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // Low cost limits: the fuzzer must not spend its time inside Argon2 or PBKDF2.
    let limits = PasswdLimits {
        max_sha512_rounds: 5_000,
        max_argon2_m_cost: 64,
        max_argon2_t_cost: 2,
        max_argon2_p_cost: 2,
        max_scram_iterations: 64,
        ..PasswdLimits::default()
    };
    let file = match PasswdFile::parse_with_limits(&text, &limits) {
        Ok(file) => file,
        Err(e) => {
            if let Some(line) = e.line() {
                let lines = text.split('\n').count();
                assert!(
                    line >= 1 && line <= lines,
                    "error on line {line} of {lines}: {e}"
                );
            }
            return;
        }
    };

    let written = file.to_text();
    let again = PasswdFile::parse_with_limits(&written, &limits)
        .unwrap_or_else(|e| panic!("to_text output does not parse: {e}"));
    assert_eq!(file.len(), again.len());
    for (a, b) in file.entries().zip(again.entries()) {
        assert_eq!(a.user(), b.user());
        assert_eq!(a.scheme(), b.scheme());
        assert_eq!(a.fields(), b.fields());
        assert_eq!(a.to_line(), b.to_line());
    }

    let file = file.with_master_users(["admin"]).with_master_separator('*');
    let password = Secret::new(b"pencil".to_vec());
    for entry in file.entries().take(4) {
        let user = entry.user();
        let _ = file.verify_password(user, &password);
        let _ = file.plaintext_password(user);
        let _ = file.scram_keys(user, ScramHash::Sha256);
        let _ = file.authorize(user, "someone");
        let _ = file.check_login(&format!("{user}*admin"), &password);
        assert!(file.user_exists(user).unwrap_or(false) || user.contains('*'));
    }
    assert_eq!(
        file.verify_password("\u{0}no such user\u{0}", &password),
        Ok(false)
    );
}
