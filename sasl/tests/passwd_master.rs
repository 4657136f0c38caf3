//! Master users (Dovecot's `user*master` proxy login, RFC 4422 §3.4.1 authorization
//! identities): through the authorize hook, through login names, and through a PLAIN exchange.

use mailhub_sasl::passwd::{Login, MasterLogin, PasswdFile, split_master_login};
use mailhub_sasl::{
    Credentials, Error, Mechanism, ScramHash, Secret, ServerContext, ServerSession, ServerStep,
};

fn secret(s: &str) -> Secret<Vec<u8>> {
    Secret::new(s.as_bytes().to_vec())
}

fn file() -> PasswdFile {
    PasswdFile::parse(concat!(
        "alice:{PLAIN}alicepw\n",
        "bob:{PLAIN}bobpw\n",
        "admin:{SCRAM-SHA-256}64,W22ZaJ0SNY7soEsUEjb6gQ==,1a4X+aAwQ0ZSNpKuFsdMcFLSSIdzWjruZAWVVWc9Gn4=,E9/+XuclCwYKUCeWACD3mcXS9BftSQcguvTPDdsV2aQ=\n",
    ))
    .unwrap()
    .with_master_users(["admin"])
}

#[test]
fn the_test_master_password_is_right() {
    // The SCRAM line above is for password "adminpw" with 64 iterations.
    let f = file();
    assert!(f.verify_password("admin", &secret("adminpw")).unwrap());
}

#[test]
fn split_at_the_first_separator() {
    assert_eq!(
        split_master_login("alice*admin", '*'),
        Some(MasterLogin {
            user: "alice",
            master: "admin"
        })
    );
    assert_eq!(
        split_master_login("alice*ad*min", '*'),
        Some(MasterLogin {
            user: "alice",
            master: "ad*min"
        })
    );
    assert_eq!(split_master_login("alice", '*'), None);
    assert_eq!(split_master_login("*admin", '*'), None);
    assert_eq!(split_master_login("alice*", '*'), None);
    assert_eq!(
        split_master_login("alice%admin", '%'),
        Some(MasterLogin {
            user: "alice",
            master: "admin"
        })
    );
}

#[test]
fn default_is_only_self() {
    let f = PasswdFile::parse("alice:{PLAIN}a\nadmin:{PLAIN}b\n").unwrap();
    assert!(f.authorize("alice", "alice").unwrap());
    assert!(!f.authorize("alice", "admin").unwrap());
    assert!(!f.authorize("admin", "alice").unwrap());
}

#[test]
fn masters_may_act_as_anyone_others_only_as_themselves() {
    let f = file();
    assert!(f.is_master("admin"));
    assert!(!f.is_master("alice"));
    assert!(f.authorize("admin", "alice").unwrap());
    assert!(f.authorize("admin", "someone-elsewhere").unwrap());
    assert!(f.authorize("alice", "alice").unwrap());
    assert!(!f.authorize("alice", "bob").unwrap());
    assert!(!f.authorize("bob", "admin").unwrap());
    // A name in the master set without an entry is no master.
    let f = PasswdFile::parse("alice:{PLAIN}a\n")
        .unwrap()
        .with_master_users(["ghost"]);
    assert!(!f.authorize("ghost", "alice").unwrap());
}

#[test]
fn check_login_accepts_user_star_master() {
    let f = file().with_master_separator('*');
    assert_eq!(
        f.check_login("alice*admin", &secret("adminpw")).unwrap(),
        Some(Login {
            authcid: "admin".into(),
            user: "alice".into()
        })
    );
    assert_eq!(
        f.check_login("alice", &secret("alicepw")).unwrap(),
        Some(Login {
            authcid: "alice".into(),
            user: "alice".into()
        })
    );
    // The user's own password does not open a master login, nor does a non-master's.
    assert_eq!(
        f.check_login("alice*admin", &secret("alicepw")).unwrap(),
        None
    );
    assert_eq!(f.check_login("alice*bob", &secret("bobpw")).unwrap(), None);
    assert_eq!(f.check_login("alice", &secret("adminpw")).unwrap(), None);
    // Without a separator configured, `alice*admin` is just an unknown user name.
    assert_eq!(
        file()
            .check_login("alice*admin", &secret("adminpw"))
            .unwrap(),
        None
    );
}

#[test]
fn credentials_resolve_master_logins_when_the_separator_is_set() {
    let f = file().with_master_separator('*');
    assert!(f.user_exists("alice*admin").unwrap());
    assert!(!f.user_exists("alice*bob").unwrap());
    assert!(
        f.verify_password("alice*admin", &secret("adminpw"))
            .unwrap()
    );
    assert!(!f.verify_password("alice*bob", &secret("bobpw")).unwrap());
    let keys = f
        .scram_keys("alice*admin", ScramHash::Sha256)
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(keys),
        f.scram_keys("admin", ScramHash::Sha256).unwrap()
    );
    assert!(f.authorize("alice*admin", "alice").unwrap());
    assert!(!f.authorize("alice*admin", "bob").unwrap());
    assert!(!f.authorize("alice*bob", "alice").unwrap());
    assert_eq!(f.effective_user("alice*admin"), "alice");
    assert_eq!(f.effective_user("alice*bob"), "alice*bob");
    assert_eq!(f.effective_user("alice"), "alice");
}

fn plain(f: &PasswdFile, message: &[u8]) -> Result<ServerStep, Error> {
    let mut s = ServerSession::new(Mechanism::Plain, ServerContext::default()).unwrap();
    s.start(Some(message), f)
}

#[test]
fn plain_with_authzid_through_the_session() {
    let f = file();
    match plain(&f, b"alice\0admin\0adminpw").unwrap() {
        ServerStep::Success(o) => {
            assert_eq!(o.authcid, "admin");
            assert_eq!(o.user(), "alice");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        plain(&f, b"bob\0alice\0alicepw").unwrap_err(),
        Error::NotAuthorized
    );
    assert_eq!(
        plain(&f, b"\0alice\0wrong").unwrap_err(),
        Error::AuthenticationFailed
    );
    assert_eq!(
        plain(&f, b"\0mallory\0wrong").unwrap_err(),
        Error::AuthenticationFailed
    );
    // `user*master` as the authentication identity, with the separator set.
    let f = file().with_master_separator('*');
    match plain(&f, b"\0alice*admin\0adminpw").unwrap() {
        ServerStep::Success(o) => assert_eq!(f.effective_user(o.user()), "alice"),
        other => panic!("{other:?}"),
    }
}
