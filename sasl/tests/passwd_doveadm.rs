//! Interoperability with Dovecot's own password code, through `doveadm pw` (Debian package
//! `dovecot-core`): lines made here verify in Dovecot, and hashes made by Dovecot verify here.
//!
//! Fails when `doveadm` is not installed: `.ci/run` installs it, and a test that skips itself
//! would pass without checking anything.

use std::process::Command;

use mailhub_sasl::passwd::{HashParams, PasswdFile, Scheme, hash_password_with};
use mailhub_sasl::{Credentials, Secret};

fn require_doveadm() {
    let found = Command::new("doveadm")
        .args(["pw", "-l"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`doveadm pw -l` does not run: install Debian's dovecot-core (as .ci/run does)"
    );
}

/// `doveadm pw -t <field> -p <password>`: whether Dovecot accepts the password.
fn dovecot_verifies(field: &str, password: &str) -> bool {
    let out = Command::new("doveadm")
        .args(["pw", "-t", field, "-p", password])
        .output()
        .expect("doveadm runs");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("(verified)")
}

fn counter() -> impl FnMut(&mut [u8]) + Send {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        for b in buf {
            n = n.wrapping_add(101);
            *b = n;
        }
    }
}

#[test]
fn our_hashes_verify_in_dovecot() {
    require_doveadm();
    let params = HashParams {
        argon2_m_cost: 256,
        argon2_t_cost: 1,
        ..HashParams::default()
    };
    let mut random = counter();
    for scheme in Scheme::ALL {
        for password in ["pencil", "p\u{e4}ssw\u{f6}rd with spaces", "a:b"] {
            let field =
                hash_password_with(scheme, password.as_bytes(), &params, &mut random).unwrap();
            assert!(
                dovecot_verifies(&field, password),
                "{field} for {password:?}"
            );
            assert!(
                !dovecot_verifies(&field, "wrong"),
                "{field} accepts a wrong password"
            );
        }
    }
}

#[test]
fn dovecot_hashes_verify_here() {
    require_doveadm();
    // Dovecot's Argon2id parameters (64 MiB, t=3) cost seconds per check in a debug build on a
    // loaded machine: its hash gets the right password only (the wrong-password path is the
    // same code, covered by the known-answer tests).
    let schemes = [
        "PLAIN",
        "SHA512-CRYPT",
        "ARGON2ID",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
    ];
    let mut text = String::new();
    for (i, scheme) in schemes.iter().enumerate() {
        let out = Command::new("doveadm")
            .args(["pw", "-s", scheme, "-p", "pencil"])
            .output()
            .expect("doveadm runs");
        assert!(out.status.success(), "doveadm pw -s {scheme} failed");
        let field = String::from_utf8(out.stdout).unwrap();
        text.push_str(&format!("u{i}:{}\n", field.trim_end()));
    }
    let file = PasswdFile::parse(&text).unwrap();
    for (i, scheme) in schemes.iter().enumerate() {
        let user = format!("u{i}");
        assert_eq!(
            file.get(&user).unwrap().scheme().map(Scheme::name),
            Some(*scheme)
        );
        let check = |pw: &str| {
            file.verify_password(&user, &Secret::new(pw.as_bytes().to_vec()))
                .unwrap()
        };
        assert!(check("pencil"), "{scheme}");
        if *scheme != "ARGON2ID" {
            assert!(!check("pencils"), "{scheme}");
        }
    }
}
