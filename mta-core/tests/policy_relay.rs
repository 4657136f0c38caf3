//! The open-relay matrix: every classic trick from an unauthenticated outside client is
//! refused; the same addresses from a relay network or an authenticated user are accepted.
//! Plus access tables, size, submission and rate limits through the same entry points.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use mailhub_mta_core::policy::{
    AccessTable, Client, Greylist, GreylistOptions, Policy, PolicyOptions, RcptVerdict, Verdict,
};
use mailhub_mta_core::route::{AliasTable, Destination, RouteOptions, Router};

fn router() -> Router {
    let users: HashSet<String> = ["user".to_string(), "alice".to_string()].into();
    Router::new(
        RouteOptions {
            local_domains: ["local.example".to_string()].into(),
            ..RouteOptions::default()
        },
        AliasTable::default(),
        Arc::new(users),
    )
}

fn policy() -> Policy {
    Policy::new(PolicyOptions {
        relay_networks: vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
        local_literals: ["[192.0.2.25]".to_string()].into(),
        ..PolicyOptions::default()
    })
}

fn rcpt(p: &Policy, c: &Client, r: &str) -> RcptVerdict {
    block_on(p.check_recipient(c, "sender@outside.example", r, 0, &router(), Instant::now()))
}

const TRICKS: &[&str] = &[
    "user@other.example",
    "user%other.example@local.example",
    "user@other.example@local.example",
    "\"user@other.example\"@local.example",
    "\"user%other.example\"@local.example",
    "other.example!user@local.example",
    "@local.example:user@other.example",
    "@local.example,@x.example:user@other.example",
    "user@[198.51.100.7]",
    "user%other.example@[192.0.2.25]",
];

const MALFORMED: &[&str] = &[
    "user@",
    "user@.",
    "@",
    "user@local.example.",
    "user@-x.example",
    "user",
    "user@[1.2.3]",
    "",
];

#[test]
fn every_trick_from_an_outsider_is_refused() {
    let p = policy();
    let outsider = Client::new("203.0.113.5".parse().unwrap());
    for t in TRICKS {
        match rcpt(&p, &outsider, t) {
            RcptVerdict::Reject(r) => assert!(r.code >= 500, "{t}: {r}"),
            other => panic!("{t}: open relay! {other:?}"),
        }
    }
    for t in MALFORMED {
        match rcpt(&p, &outsider, t) {
            RcptVerdict::Reject(r) => assert!(r.code >= 500, "{t}: {r}"),
            other => panic!("{t:?}: accepted {other:?}"),
        }
    }
}

#[test]
fn the_same_addresses_relay_for_trusted_clients() {
    let p = policy();
    let lan = Client::new("10.1.2.3".parse().unwrap());
    let mut authed = Client::new("203.0.113.5".parse().unwrap());
    authed.authenticated = Some("alice".into());
    let v6_loopback = Client::new("::1".parse().unwrap());
    for c in [&lan, &authed, &v6_loopback] {
        for t in TRICKS {
            match rcpt(&p, c, t) {
                RcptVerdict::Accept(d) => {
                    assert_eq!(d.len(), 1, "{t}");
                    assert!(matches!(&d[0], Destination::Remote(_)), "{t}: {d:?}");
                }
                other => panic!("{t} from {c:?}: {other:?}"),
            }
        }
    }
    // The trick resolves to the address it names.
    match rcpt(&p, &lan, "user%other.example@local.example") {
        RcptVerdict::Accept(d) => assert_eq!(d, [Destination::Remote("user@other.example".into())]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn local_mail_from_anyone_and_source_routes_to_local_are_fine() {
    let p = policy();
    let outsider = Client::new("203.0.113.5".parse().unwrap());
    let local = RcptVerdict::Accept(vec![Destination::Local {
        user: "user".into(),
        folder: None,
    }]);
    assert_eq!(rcpt(&p, &outsider, "user@local.example"), local);
    assert_eq!(
        rcpt(&p, &outsider, "<@other.example:user@local.example>"),
        local
    );
    assert_eq!(rcpt(&p, &outsider, "user@[192.0.2.25]"), local);
    assert_eq!(
        rcpt(&p, &outsider, "postmaster"),
        RcptVerdict::Accept(vec![Destination::Local {
            user: "root".into(),
            folder: None
        }])
    );
    let r = rcpt(&p, &outsider, "nobody@local.example");
    assert!(
        matches!(r, RcptVerdict::Reject(ref r) if r.code == 550),
        "{r:?}"
    );
}

#[test]
fn relay_domains_accept_from_anyone_as_backup_mx() {
    let mut o = PolicyOptions::default();
    o.relay_domains.insert("backup.example".into());
    let p = Policy::new(o);
    let outsider = Client::new("203.0.113.5".parse().unwrap());
    assert!(matches!(
        rcpt(&p, &outsider, "x@backup.example"),
        RcptVerdict::Accept(_)
    ));
    assert!(matches!(
        rcpt(&p, &outsider, "x@other.example"),
        RcptVerdict::Reject(_)
    ));
}

#[test]
fn closed_by_default_even_from_loopback() {
    let p = Policy::new(PolicyOptions::default());
    let lo = Client::new("127.0.0.1".parse().unwrap());
    assert!(matches!(rcpt(&p, &lo, "x@other.example"), RcptVerdict::Reject(r) if r.code == 554));
}

#[test]
fn access_tables_at_every_stage() {
    let access = AccessTable::parse(
        "client 198.51.100.0/24 REJECT 554 5.7.1 Go away\nclient 203.0.113.77 RELAY\nhelo bad.helo REJECT\n\
         sender spam@bad.example REJECT\nsender @junk.example DISCARD\nrecipient trap@local.example DISCARD\n\
         recipient user@local.example REJECT 550 5.2.1 Mailbox disabled\n",
    )
    .unwrap();
    let p = Policy::new(PolicyOptions {
        access,
        ..PolicyOptions::default()
    });
    let now = Instant::now();
    let bad = Client::new("198.51.100.9".parse().unwrap());
    assert!(matches!(block_on(p.check_client(&bad)), Verdict::Reject(r) if r.text == "Go away"));
    let c = Client::new("203.0.113.5".parse().unwrap());
    assert_eq!(block_on(p.check_client(&c)), Verdict::Accept);
    assert!(matches!(p.check_helo(&c, "BAD.helo"), Verdict::Reject(_)));
    assert!(matches!(
        block_on(p.check_sender(&c, "spam@bad.example", None, now)),
        Verdict::Reject(_)
    ));
    assert_eq!(
        block_on(p.check_sender(&c, "x@junk.example", None, now)),
        Verdict::Discard
    );
    assert_eq!(block_on(p.check_sender(&c, "", None, now)), Verdict::Accept);
    assert_eq!(rcpt(&p, &c, "trap@local.example"), RcptVerdict::Discard);
    assert!(
        matches!(rcpt(&p, &c, "user@local.example"), RcptVerdict::Reject(r) if r.code == 550 && r.status == "5.2.1")
    );
    let relay = Client::new("203.0.113.77".parse().unwrap());
    assert!(matches!(
        rcpt(&p, &relay, "x@other.example"),
        RcptVerdict::Accept(_)
    ));
}

#[test]
fn size_submission_and_rate_limits() {
    let p = Policy::new(PolicyOptions {
        max_message_size: 1000,
        require_auth: true,
        max_messages_per_user: 2,
        ..PolicyOptions::default()
    });
    let now = Instant::now();
    let anon = Client::new("203.0.113.5".parse().unwrap());
    assert!(
        matches!(block_on(p.check_sender(&anon, "a@x.example", None, now)), Verdict::Reject(r) if r.code == 530)
    );
    let mut alice = anon.clone();
    alice.authenticated = Some("alice".into());
    assert!(
        matches!(block_on(p.check_sender(&alice, "alice@x.example", Some(5000), now)), Verdict::Reject(r) if r.code == 552)
    );
    assert!(
        matches!(block_on(p.check_sender(&alice, "bob@x.example", None, now)), Verdict::Reject(r) if r.code == 553)
    );
    assert_eq!(
        block_on(p.check_sender(&alice, "alice@x.example", Some(10), now)),
        Verdict::Accept
    );
    assert_eq!(
        block_on(p.check_sender(&alice, "Alice@x.example", None, now)),
        Verdict::Accept
    );
    assert!(
        matches!(block_on(p.check_sender(&alice, "alice@x.example", None, now)), Verdict::Reject(r) if r.code == 450)
    );
    let later = now + Duration::from_secs(3601);
    assert_eq!(
        block_on(p.check_sender(&alice, "alice@x.example", None, later)),
        Verdict::Accept
    );
    assert!(matches!(p.check_size(1001), Verdict::Reject(r) if r.code == 552));
    let p = Policy::new(PolicyOptions {
        max_recipients: 2,
        ..PolicyOptions::default()
    });
    let r = block_on(p.check_recipient(&anon, "", "user@local.example", 2, &router(), now));
    assert!(matches!(r, RcptVerdict::Reject(r) if r.code == 452));
}

#[test]
fn greylisting_as_a_recipient_hook_skips_trusted_clients() {
    let p = Policy::new(PolicyOptions {
        relay_networks: vec!["10.0.0.0/8".parse().unwrap()],
        ..PolicyOptions::default()
    })
    .with_recipient_hook(Arc::new(Greylist::new(GreylistOptions::default())));
    let t0 = Instant::now();
    let out = Client::new("203.0.113.5".parse::<IpAddr>().unwrap());
    let check = |c: &Client, t: Instant| {
        block_on(p.check_recipient(c, "s@x.example", "user@local.example", 0, &router(), t))
    };
    assert!(matches!(check(&out, t0), RcptVerdict::Reject(r) if r.code == 451));
    assert!(matches!(
        check(&out, t0 + Duration::from_secs(600)),
        RcptVerdict::Accept(_)
    ));
    assert!(matches!(
        check(&Client::new("10.0.0.1".parse().unwrap()), t0),
        RcptVerdict::Accept(_)
    ));
}
