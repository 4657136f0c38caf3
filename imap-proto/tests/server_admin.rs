//! QUOTA (RFC 9208 §4) and ACL (RFC 4314 §3) commands: the RFCs' examples (roots written as
//! atoms where the grammar allows), and refusal when
//! the embedding server does not offer them.

mod server_support;

use mailhub_imap_proto::response::QuotaResource;
use mailhub_imap_proto::server::{ServerEvent, ServerOptions};
use mailhub_imap_proto::types::Atom;
use server_support::{World, lines};

fn offered() -> (World, usize) {
    let mut w = World::new();
    let mut o = ServerOptions::default();
    o.quota = true;
    o.acl = true;
    let c = w.connect(o);
    (w, c)
}

fn res(name: &str, usage: u64, limit: u64) -> QuotaResource {
    QuotaResource {
        name: Atom::new(name).unwrap(),
        usage,
        limit,
    }
}

#[test]
fn rfc9208_getquotaroot_and_getquota() {
    let (mut w, c) = offered();
    assert_eq!(w.send(c, "G0001 GETQUOTAROOT INBOX\r\n"), "");
    assert!(matches!(
        w.clients[c].events.last(),
        Some(ServerEvent::GetQuotaRoot { mailbox, .. }) if mailbox == "INBOX"
    ));
    let roots = vec![
        (
            "#user/alice".to_string(),
            vec![res("STORAGE", 54, 111), res("MESSAGE", 42, 1000)],
        ),
        ("#shared/Alice".to_string(), vec![res("STORAGE", 58, 100)]),
    ];
    w.clients[c].server.quota(&roots).unwrap();
    assert_eq!(
        w.output(c),
        lines(
            "* QUOTAROOT INBOX #user/alice #shared/Alice
             * QUOTA #user/alice (STORAGE 54 111 MESSAGE 42 1000)
             * QUOTA #shared/Alice (STORAGE 58 100)
             G0001 OK GETQUOTAROOT completed"
        )
    );
    w.send(c, "G0002 GETQUOTA \"#user/alice\"\r\n");
    w.clients[c].server.quota(&roots[..1]).unwrap();
    assert_eq!(
        w.output(c),
        lines(
            "* QUOTA #user/alice (STORAGE 54 111 MESSAGE 42 1000)
             G0002 OK GETQUOTA completed"
        )
    );
    w.send(c, "S0001 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n");
    assert!(matches!(
        w.clients[c].events.last(),
        Some(ServerEvent::SetQuota { limits, .. }) if limits == &[("STORAGE".to_string(), 510)]
    ));
    w.clients[c].server.done().unwrap();
    assert_eq!(w.output(c), "S0001 OK SETQUOTA completed\r\n");
}

#[test]
fn rfc4314_getacl_listrights_myrights_setacl() {
    let (mut w, c) = offered();
    w.send(c, "A002 GETACL INBOX\r\n");
    w.clients[c]
        .server
        .acl(&[("Fred".into(), "rwipslxetad".into())])
        .unwrap();
    assert_eq!(
        w.output(c),
        lines("* ACL INBOX Fred rwipslxetad\nA002 OK GETACL completed")
    );
    w.send(c, "a LISTRIGHTS ~/Mail/saved smith\r\n");
    let groups: Vec<(String, String)> = ["la", "r", "swicdkxte"]
        .iter()
        .map(|r| (String::new(), r.to_string()))
        .collect();
    w.clients[c].server.acl(&groups).unwrap();
    assert_eq!(
        w.output(c),
        lines("* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\na OK LISTRIGHTS completed")
    );
    w.send(c, "b MYRIGHTS INBOX\r\n");
    w.clients[c]
        .server
        .acl(&[(String::new(), "rwiptsldaex".into())])
        .unwrap();
    assert_eq!(
        w.output(c),
        lines("* MYRIGHTS INBOX rwiptsldaex\nb OK MYRIGHTS completed")
    );
    w.send(c, "A035 SETACL INBOX/Drafts John +lrsw\r\n");
    assert!(matches!(
        w.clients[c].events.last(),
        Some(ServerEvent::SetAcl { identifier, rights, .. }) if identifier == "John" && rights == "+lrsw"
    ));
    w.clients[c].server.done().unwrap();
    assert_eq!(w.output(c), "A035 OK SETACL completed\r\n");
    assert_eq!(
        w.send(c, "A036 SETACL INBOX John lrz\r\n"),
        "A036 BAD Unknown rights\r\n"
    );
}

#[test]
fn quota_and_acl_not_offered_are_bad_and_not_announced() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    let caps = w.send(c, "a CAPABILITY\r\n");
    assert!(!caps.contains("QUOTA") && !caps.contains("ACL"), "{caps}");
    assert_eq!(
        w.send(c, "b GETQUOTAROOT INBOX\r\n"),
        "b BAD Command not supported\r\n"
    );
    assert_eq!(
        w.send(c, "c MYRIGHTS INBOX\r\n"),
        "c BAD Command not supported\r\n"
    );
    let (mut w, c) = offered();
    let caps = w.send(c, "a CAPABILITY\r\n");
    assert!(
        caps.contains(" QUOTA ") && caps.contains(" ACL RIGHTS=texk"),
        "{caps}"
    );
}
