//! Recipient decisions at RCPT time: aliases and their chains, lists, includes, loops,
//! plus-addressing, virtual domains, postmaster/abuse, relocated users and the reply codes an
//! SMTP driver sends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mailhub_mta_core::route::{
    AliasLimits, AliasTable, AliasTarget, Destination, ForwardFiles, RcptDecision, RouteOptions,
    Router, VirtualDomain,
};

const ALIASES: &str = "\
# test aliases
postmaster: root
root: alice
staff: alice, bob,
  carol@remote.example
team: staff, dave
loop1: loop2
loop2: loop1
self: self, bob
devnull: /dev/null
piped: \"|/usr/bin/procmail\"
logfile: /var/log/all
ops: :include:/etc/mail/ops
";

fn local(user: &str) -> Destination {
    Destination::Local {
        user: user.into(),
        folder: None,
    }
}

fn router(options: RouteOptions) -> Router {
    let mut aliases = AliasTable::parse(ALIASES, &AliasLimits::default()).unwrap();
    aliases.set_include(
        "/etc/mail/ops",
        vec![
            AliasTarget::Address("bob".into()),
            AliasTarget::Address("ops@remote.example".into()),
        ],
    );
    let users: HashSet<String> = ["alice", "bob", "dave", "self", "root"]
        .map(String::from)
        .into();
    Router::new(options, aliases, Arc::new(users))
}

fn opts() -> RouteOptions {
    RouteOptions {
        local_domains: ["example.org".to_string()].into(),
        ..RouteOptions::default()
    }
}

fn accepted(d: RcptDecision) -> Vec<Destination> {
    match d {
        RcptDecision::Accept(v) => v,
        other => panic!("expected Accept, got {other:?}"),
    }
}

#[test]
fn unknown_local_user_is_550_at_rcpt() {
    let r = router(opts());
    let d = r.resolve("<nobody@example.org>");
    assert_eq!(d, RcptDecision::Unknown);
    let reply = d.reply().unwrap();
    assert_eq!((reply.code, reply.status.as_str()), (550, "5.1.1"));
}

#[test]
fn alias_chains_and_lists_expand_once_each() {
    let r = router(opts());
    assert_eq!(
        accepted(r.resolve("postmaster@example.org")),
        [local("alice")]
    );
    let team = accepted(r.resolve("Team@Example.ORG"));
    assert_eq!(
        team,
        [
            local("alice"),
            local("bob"),
            Destination::Remote("carol@remote.example".into()),
            local("dave")
        ]
    );
    assert_eq!(
        accepted(r.resolve("ops@example.org")),
        [
            local("bob"),
            Destination::Remote("ops@remote.example".into())
        ]
    );
}

#[test]
fn alias_loops_are_refused_and_self_reference_delivers() {
    let r = router(opts());
    let d = r.resolve("loop1@example.org");
    assert_eq!(d, RcptDecision::Loop);
    assert_eq!(d.reply().unwrap().code, 550);
    assert_eq!(
        accepted(r.resolve("self@example.org")),
        [local("self"), local("bob")]
    );
}

#[test]
fn deep_chains_count_as_loops() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!("a{i}: a{}\n", i + 1));
    }
    let aliases = AliasTable::parse(&text, &AliasLimits::default()).unwrap();
    let users: HashSet<String> = ["a50".to_string()].into();
    let r = Router::new(opts(), aliases, Arc::new(users));
    assert_eq!(r.resolve("a0@example.org"), RcptDecision::Loop);
    assert_eq!(accepted(r.resolve("a40@example.org")), [local("a50")]);
}

#[test]
fn dev_null_accepts_and_discards() {
    assert_eq!(accepted(router(opts()).resolve("devnull@example.org")), []);
}

#[test]
fn programs_and_files_are_refused_unless_enabled() {
    let r = router(opts());
    for a in ["piped@example.org", "logfile@example.org"] {
        let reply = r.resolve(a).reply().unwrap();
        assert_eq!((reply.code, reply.status.as_str()), (550, "5.7.1"), "{a}");
    }
    let r = router(RouteOptions {
        allow_programs: true,
        allow_files: true,
        ..opts()
    });
    assert_eq!(
        accepted(r.resolve("piped@example.org")),
        [Destination::Program("/usr/bin/procmail".into())]
    );
    assert_eq!(
        accepted(r.resolve("logfile@example.org")),
        [Destination::File("/var/log/all".into())]
    );
}

#[test]
fn plus_addressing_keeps_the_detail_and_a_custom_separator_works() {
    let r = router(opts());
    assert_eq!(
        accepted(r.resolve("bob+lists@example.org")),
        [Destination::Local {
            user: "bob".into(),
            folder: Some("lists".into())
        }]
    );
    assert_eq!(r.resolve("nobody+x@example.org"), RcptDecision::Unknown);
    let r = router(RouteOptions {
        recipient_delimiter: Some('-'),
        ..opts()
    });
    assert_eq!(
        accepted(r.resolve("bob-news@example.org")),
        [Destination::Local {
            user: "bob".into(),
            folder: Some("news".into())
        }]
    );
    let r = router(RouteOptions {
        recipient_delimiter: None,
        ..opts()
    });
    assert_eq!(r.resolve("bob+lists@example.org"), RcptDecision::Unknown);
}

#[test]
fn postmaster_and_abuse_always_deliverable() {
    let users: HashSet<String> = HashSet::new();
    let r = Router::new(opts(), AliasTable::default(), Arc::new(users));
    assert_eq!(accepted(r.resolve("abuse@example.org")), [local("root")]);
    assert_eq!(accepted(r.resolve("<Postmaster>")), [local("root")]);
    let mut v = opts();
    v.virtual_domains
        .insert("virt.example".into(), VirtualDomain::default());
    let r = Router::new(v, AliasTable::default(), Arc::new(HashSet::<String>::new()));
    assert_eq!(
        accepted(r.resolve("postmaster@virt.example")),
        [local("root")]
    );
}

#[test]
fn relocated_users_get_551_with_the_new_address() {
    let mut o = opts();
    o.relocated
        .insert("olduser@example.org".into(), "new@elsewhere.example".into());
    let d = router(o).resolve("OldUser@example.org");
    let reply = d.reply().unwrap();
    assert_eq!(reply.code, 551);
    assert!(reply.text.contains("<new@elsewhere.example>"), "{reply}");
}

#[test]
fn virtual_domains_maps_and_catch_all() {
    let mut o = opts();
    let mut v = VirtualDomain::default();
    v.mailboxes.insert("info".into(), "alice".into());
    v.aliases.insert(
        "sales".into(),
        vec!["bob@example.org".into(), "x@remote.example".into()],
    );
    o.virtual_domains.insert("virt.example".into(), v.clone());
    let r = router(o.clone());
    assert_eq!(accepted(r.resolve("info@virt.example")), [local("alice")]);
    assert_eq!(
        accepted(r.resolve("info+billing@virt.example")),
        [Destination::Local {
            user: "alice".into(),
            folder: Some("billing".into())
        }]
    );
    assert_eq!(
        accepted(r.resolve("sales@virt.example")),
        [local("bob"), Destination::Remote("x@remote.example".into())]
    );
    assert_eq!(r.resolve("random@virt.example"), RcptDecision::Unknown);
    v.catch_all = Some("dave".into());
    o.virtual_domains.insert("virt.example".into(), v);
    assert_eq!(
        accepted(router(o).resolve("random@virt.example")),
        [local("dave")]
    );
}

#[test]
fn other_domains_are_for_relay_control() {
    let d = router(opts()).resolve("x@remote.example");
    assert_eq!(
        d,
        RcptDecision::NotLocal {
            domain: "remote.example".into()
        }
    );
    assert_eq!(d.reply(), None);
    assert_eq!(router(opts()).resolve("x@@").reply().unwrap().code, 501);
}

struct Forwards(HashMap<String, String>);
impl ForwardFiles for Forwards {
    fn forward(&self, user: &str) -> Option<String> {
        self.0.get(user).cloned()
    }
}

#[test]
fn forward_files_only_when_enabled() {
    let fw = Arc::new(Forwards(
        [("bob".to_string(), "\\bob, bob@remote.example\n".to_string())].into(),
    ));
    let r = router(opts()).with_forward_files(fw.clone());
    assert_eq!(accepted(r.resolve("bob@example.org")), [local("bob")]);
    let r = router(RouteOptions {
        forward_files: true,
        ..opts()
    })
    .with_forward_files(fw);
    assert_eq!(
        accepted(r.resolve("bob@example.org")),
        [
            local("bob"),
            Destination::Remote("bob@remote.example".into())
        ]
    );
}

#[test]
fn destination_tokens_round_trip() {
    for d in [
        local("a"),
        Destination::Local {
            user: "a".into(),
            folder: Some("x/y".into()),
        },
        Destination::Remote("\"a b\"@x.org".into()),
        Destination::Program("/bin/x -a".into()),
        Destination::File("/var/x".into()),
    ] {
        assert_eq!(Destination::from_token(&d.to_token()), Some(d));
    }
}
