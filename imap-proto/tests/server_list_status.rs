//! LIST-STATUS (RFC 5819): RFC 5819 §3's two examples over the test store (delimiter `/`
//! instead of `.`), and a STATUS the store refuses turning the line `\Noselect` (§2).

mod server_support;

use mailhub_imap_proto::response::Code;
use mailhub_imap_proto::server::{MailboxEntry, ServerEvent, ServerOptions};
use mailhub_imap_proto::types::Flag;
use server_support::{Mailbox, World, lines};

fn world() -> (World, usize) {
    let mut w = World::new();
    for k in 0..17 {
        let flags = if k == 0 { vec![Flag::Seen] } else { vec![] };
        w.deliver("INBOX", b"Subject: x\r\n\r\nx\r\n", flags);
    }
    w.mailboxes.insert("foo".into(), Mailbox::new(5));
    for k in 0..30 {
        let flags = if k == 0 { vec![Flag::Seen] } else { vec![] };
        w.deliver("foo", b"Subject: y\r\n\r\ny\r\n", flags);
    }
    // "bar" is only a level above "bar/baz": not selectable.
    w.mailboxes.insert("bar/baz".into(), Mailbox::new(6));
    let c = w.connect(ServerOptions::default());
    (w, c)
}

#[test]
fn rfc5819_example_1_status_after_each_selectable_mailbox() {
    let (mut w, c) = world();
    assert!(w.send(c, "c CAPABILITY\r\n").contains(" LIST-STATUS "));
    assert_eq!(
        w.send(c, "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n"),
        lines(
            "* LIST (\\HasNoChildren) \"/\" INBOX
             * STATUS INBOX (MESSAGES 17 UNSEEN 16)
             * LIST (\\Noselect) \"/\" bar
             * LIST (\\HasNoChildren) \"/\" foo
             * STATUS foo (MESSAGES 30 UNSEEN 29)
             A01 OK LIST completed"
        )
    );
}

#[test]
fn rfc5819_example_2_no_status_for_a_line_shown_for_its_children() {
    let (mut w, c) = world();
    w.mailboxes.insert("foo/sub".into(), Mailbox::new(7));
    w.send(c, "s1 SUBSCRIBE INBOX\r\n");
    w.send(c, "s2 SUBSCRIBE foo/sub\r\n");
    assert_eq!(
        w.send(
            c,
            "A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))\r\n"
        ),
        lines(
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX
             * STATUS INBOX (MESSAGES 17)
             * LIST (\\HasChildren) \"/\" foo (\"CHILDINFO\" (\"SUBSCRIBED\"))
             A02 OK LIST completed"
        )
    );
}

#[test]
fn a_refused_status_lists_the_mailbox_noselect_and_the_list_goes_on() {
    let (mut w, c) = world();
    let server = &mut w.clients[c].server;
    server.handle_input(b"A03 LIST \"\" * RETURN (STATUS (MESSAGES))\r\n");
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::ListMailboxes { .. })
    ));
    let entries = [MailboxEntry::new("gone"), MailboxEntry::new("here")];
    server.mailbox_list(&entries).unwrap();
    let Some(ServerEvent::Status { mailbox, .. }) = server.poll_event() else {
        panic!()
    };
    assert_eq!(mailbox, "gone");
    server.reject(Some(Code::NonExistent), "raced").unwrap();
    let Some(ServerEvent::Status { mailbox, .. }) = server.poll_event() else {
        panic!()
    };
    assert_eq!(mailbox, "here");
    let data = mailhub_imap_proto::server::StatusData {
        messages: 4,
        ..Default::default()
    };
    server.mailbox_status(&data).unwrap();
    let out = String::from_utf8(server.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        lines(
            "* LIST (\\HasNoChildren \\Noselect) \"/\" gone
             * LIST (\\HasNoChildren) \"/\" here
             * STATUS here (MESSAGES 4)
             A03 OK LIST completed"
        )
    );
}
