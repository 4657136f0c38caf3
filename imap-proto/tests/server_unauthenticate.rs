//! UNAUTHENTICATE (RFC 8437): opt-in; from the selected state the mailbox closes without an
//! expunge, ENABLE is undone, the session is not authenticated and another user may log in.

mod server_support;

use mailhub_imap_proto::server::{ServerEvent, ServerOptions, State};
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

fn options() -> ServerOptions {
    let mut o = ServerOptions::default();
    o.unauthenticate = true;
    o.allow_plaintext = true;
    o
}

#[test]
fn unauthenticate_returns_to_not_authenticated() {
    let mut w = World::new();
    w.deliver("INBOX", b"Subject: a\r\n\r\nx\r\n", vec![Flag::Deleted]);
    let c = w.connect(options());
    assert!(w.send(c, "c CAPABILITY\r\n").contains(" UNAUTHENTICATE"));
    w.send(c, "e ENABLE IMAP4rev2\r\n");
    w.send(c, "s SELECT INBOX\r\n");
    assert_eq!(
        w.send(c, "u UNAUTHENTICATE\r\n"),
        lines("u OK UNAUTHENTICATE completed")
    );
    let server = &w.clients[c].server;
    assert_eq!(server.state(), State::NotAuthenticated);
    assert_eq!(server.user(), None);
    assert!(!server.is_enabled("IMAP4rev2"));
    let events = &w.clients[c].events;
    let tail: Vec<&ServerEvent> = events.iter().rev().take(2).collect();
    assert_eq!(
        tail,
        [&ServerEvent::Unauthenticated, &ServerEvent::Unselected]
    );
    // No expunge: the \Deleted message stays.
    assert_eq!(w.mailboxes["INBOX"].messages.len(), 1);
    // Mailbox commands need a login again; the capabilities are the pre-login ones.
    assert_eq!(
        w.send(c, "l LIST \"\" *\r\n"),
        lines("l BAD Not authenticated")
    );
    let caps = w.send(c, "c CAPABILITY\r\n");
    assert!(
        caps.contains("AUTH=PLAIN") && !caps.contains("UNAUTHENTICATE"),
        "{caps}"
    );
    assert_eq!(
        w.send(c, "u2 UNAUTHENTICATE\r\n"),
        lines("u2 BAD Not authenticated")
    );
    // Another user logs in on the same connection.
    let out = w.send(c, "l2 LOGIN wilma sesame\r\n");
    assert!(out.starts_with("l2 OK [CAPABILITY "), "{out}");
    assert_eq!(w.clients[c].server.user(), Some("wilma"));
}

#[test]
fn without_the_option_unauthenticate_is_unknown() {
    let mut w = World::new();
    let c = w.connect(ServerOptions::default());
    assert!(!w.send(c, "c CAPABILITY\r\n").contains("UNAUTHENTICATE"));
    assert_eq!(
        w.send(c, "u UNAUTHENTICATE\r\n"),
        lines("u BAD Command not supported")
    );
    assert_eq!(w.clients[c].server.state(), State::Authenticated);
}
