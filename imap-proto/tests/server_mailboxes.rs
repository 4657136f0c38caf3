//! Mailbox commands of the authenticated state: CREATE, DELETE, RENAME (INBOX too),
//! SUBSCRIBE, LIST with `*`/`%`/reference and LIST-EXTENDED, LSUB, NAMESPACE, STATUS
//! (RFC 3501 §6.3, RFC 9051 §6.3, RFC 5258, RFC 6154, RFC 2342) over the in-memory store.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use server_support::{World, lines};

fn world() -> (World, usize) {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    (w, c)
}

#[test]
fn rfc3501_list_delimiter_query_and_wildcards() {
    let (mut w, c) = world();
    for n in [
        "a1 CREATE foo/bar\r\n",
        "a2 CREATE foo/baz/\r\n",
        "a3 CREATE zap\r\n",
    ] {
        let out = w.send(c, n);
        assert!(out.ends_with("OK CREATE completed\r\n"), "{out}");
    }
    assert!(
        w.mailboxes.contains_key("foo/baz"),
        "trailing delimiter dropped"
    );
    assert_eq!(
        w.send(c, "A101 LIST \"\" \"\"\r\n"),
        lines("* LIST (\\Noselect) \"/\" \"\"\nA101 OK LIST completed")
    );
    assert_eq!(
        w.send(c, "A102 LIST \"\" %\r\n"),
        lines(
            "* LIST (\\HasNoChildren) \"/\" INBOX
             * LIST (\\Noselect) \"/\" foo
             * LIST (\\HasNoChildren) \"/\" zap
             A102 OK LIST completed"
        )
    );
    assert_eq!(
        w.send(c, "A103 LIST foo/ *\r\n"),
        lines(
            "* LIST (\\HasNoChildren) \"/\" foo/bar
             * LIST (\\HasNoChildren) \"/\" foo/baz
             A103 OK LIST completed"
        )
    );
    assert_eq!(
        w.send(c, "A104 LIST \"\" inbox\r\n"),
        lines("* LIST (\\HasNoChildren) \"/\" INBOX\nA104 OK LIST completed")
    );
}

#[test]
fn create_delete_and_their_refusals() {
    let (mut w, c) = world();
    w.send(c, "a0 CREATE owatagusiam\r\n");
    assert_eq!(
        w.send(c, "a1 CREATE owatagusiam\r\n"),
        "a1 NO [ALREADYEXISTS] Mailbox exists\r\n"
    );
    assert_eq!(
        w.send(c, "a2 CREATE inbox\r\n"),
        "a2 NO [ALREADYEXISTS] INBOX always exists\r\n"
    );
    assert_eq!(
        w.send(c, "a3 DELETE INBOX\r\n"),
        "a3 NO [CANNOT] INBOX cannot be deleted\r\n"
    );
    assert_eq!(
        w.send(c, "a4 DELETE owatagusiam\r\n"),
        "a4 OK DELETE completed\r\n"
    );
    assert_eq!(
        w.send(c, "a5 DELETE owatagusiam\r\n"),
        "a5 NO [NONEXISTENT] No such mailbox\r\n"
    );
    assert_eq!(
        w.send(c, "a6 CREATE Archive (USE (\\Archive))\r\n"),
        "a6 OK CREATE completed\r\n"
    );
    assert_eq!(
        w.send(c, "a7 LIST (SPECIAL-USE) \"\" *\r\n"),
        lines("* LIST (\\HasNoChildren \\Archive) \"/\" Archive\na7 OK LIST completed")
    );
}

#[test]
fn rename_moves_children_and_rename_of_inbox_moves_its_messages() {
    let (mut w, c) = world();
    w.deliver("INBOX", b"Subject: a\r\n\r\nx\r\n", vec![]);
    w.send(c, "a1 CREATE blurdybloop/child\r\n");
    w.send(c, "a2 CREATE blurdybloop\r\n");
    assert_eq!(
        w.send(c, "a3 RENAME blurdybloop sarasoop\r\n"),
        "a3 OK RENAME completed\r\n"
    );
    assert!(w.mailboxes.contains_key("sarasoop/child"));
    assert_eq!(
        w.send(c, "a4 RENAME INBOX old-mail\r\n"),
        "a4 OK RENAME completed\r\n"
    );
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 0, "INBOX stays, empty");
    assert_eq!(w.mailboxes["old-mail"].messages.len(), 1);
    assert_eq!(
        w.send(c, "a5 RENAME sarasoop inbox\r\n"),
        "a5 NO [ALREADYEXISTS] INBOX always exists\r\n"
    );
}

#[test]
fn subscribe_lsub_and_list_extended_subscribed() {
    let (mut w, c) = world();
    w.send(c, "a1 CREATE news/comp/mail/misc\r\n");
    w.send(c, "a2 CREATE news/comp/mail/mime\r\n");
    w.send(c, "a3 SUBSCRIBE news/comp/mail/mime\r\n");
    w.send(c, "a4 SUBSCRIBE gone\r\n");
    assert_eq!(
        w.send(c, "a5 LSUB \"news/\" \"comp/mail/*\"\r\n"),
        lines("* LSUB () \"/\" news/comp/mail/mime\na5 OK LSUB completed")
    );
    assert_eq!(
        w.send(c, "a6 LSUB \"\" news/%\r\n"),
        lines("* LSUB (\\Noselect) \"/\" news/comp\na6 OK LSUB completed")
    );
    assert_eq!(
        w.send(c, "a7 LIST (SUBSCRIBED) \"\" *\r\n"),
        lines(
            "* LIST (\\NonExistent \\Subscribed) \"/\" gone
             * LIST (\\HasNoChildren \\Subscribed) \"/\" news/comp/mail/mime
             a7 OK LIST completed"
        )
    );
    assert_eq!(
        w.send(c, "a8 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" news/%\r\n"),
        lines(
            "* LIST (\\NonExistent) \"/\" news/comp (\"CHILDINFO\" (\"SUBSCRIBED\"))
             a8 OK LIST completed"
        )
    );
    w.send(c, "a9 UNSUBSCRIBE gone\r\n");
    assert!(!w.subscribed.contains("gone"));
    assert_eq!(
        w.send(c, "b1 LIST (RECURSIVEMATCH) \"\" *\r\n"),
        "b1 BAD RECURSIVEMATCH alone\r\n"
    );
}

#[test]
fn namespace_and_status() {
    let (mut w, c) = world();
    w.deliver("INBOX", b"Subject: a\r\n\r\nx\r\n", vec![]);
    w.deliver(
        "INBOX",
        b"Subject: b\r\n\r\nxy\r\n",
        vec![mailhub_imap_proto::Flag::Seen],
    );
    assert_eq!(
        w.send(c, "a1 NAMESPACE\r\n"),
        lines("* NAMESPACE ((\"\" \"/\")) NIL NIL\na1 OK NAMESPACE completed")
    );
    assert_eq!(
        w.send(c, "A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"),
        "A042 NO [NONEXISTENT] No such mailbox\r\n"
    );
    assert_eq!(
        w.send(
            c,
            "A043 STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE DELETED)\r\n"
        ),
        lines(
            "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 1 SIZE 35 DELETED 0)
             A043 OK STATUS completed"
        )
    );
}

#[test]
fn mailbox_names_are_modified_utf7_for_rev1_and_utf8_for_rev2() {
    let (mut w, c) = world();
    w.send(c, "a1 CREATE \"&ZeVnLIqe-\"\r\n");
    assert!(w.mailboxes.contains_key("日本語"));
    assert_eq!(
        w.send(c, "a2 LIST \"\" \"&ZeVnLIqe-\"\r\n"),
        lines("* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-\na2 OK LIST completed")
    );
    w.send(c, "a3 ENABLE IMAP4rev2\r\n");
    assert_eq!(
        w.send(c, "a4 LIST \"\" \"日*\"\r\n"),
        lines("* LIST (\\HasNoChildren) \"/\" \"日本語\"\na4 OK LIST completed")
    );
}
