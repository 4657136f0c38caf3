//! WITHIN (RFC 5032): SEARCH OLDER/YOUNGER against the time of day the caller gives
//! ([`Server::handle_wall_clock`]), announced only when the option is on; BAD without it,
//! NO [UNAVAILABLE] while no time was given.

mod server_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailhub_imap_proto::server::ServerOptions;
use server_support::{World, date, lines};

fn within() -> ServerOptions {
    let mut o = ServerOptions::default();
    o.within = true;
    o
}

/// Three messages with internal dates on 1, 3 and 5 January; the clock on 6 January, 10:00
/// in the same zone.
fn setup(opts: ServerOptions) -> (World, usize) {
    let mut w = World::new();
    for (day, subject) in [(1, "a"), (3, "b"), (5, "c")] {
        let uid = w.deliver(
            "INBOX",
            format!("Subject: {subject}\r\n\r\nx\r\n").as_bytes(),
            vec![],
        );
        let mb = w.mailboxes.get_mut("INBOX").unwrap();
        mb.messages.iter_mut().find(|m| m.uid == uid).unwrap().date = date(day);
    }
    let c = w.connect(opts);
    w.send(c, "s SELECT INBOX\r\n");
    (w, c)
}

fn at(day: u8) -> SystemTime {
    let secs = date(day).unix_timestamp();
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

#[test]
fn older_and_younger_split_at_now_minus_interval() {
    let (mut w, c) = setup(within());
    assert!(w.send(c, "c CAPABILITY\r\n").contains(" WITHIN"));
    assert_eq!(
        w.send(c, "a SEARCH YOUNGER 86400\r\n"),
        lines("a NO [UNAVAILABLE] The time of day is unknown")
    );
    w.clients[c].server.handle_wall_clock(at(6));
    let day = 86_400;
    // Younger than two days: only the message of the 5th (one day old).
    assert_eq!(
        w.send(c, &format!("b SEARCH YOUNGER {}\r\n", 2 * day)),
        lines("* SEARCH 3\nb OK SEARCH completed")
    );
    assert_eq!(
        w.send(c, &format!("c SEARCH OLDER {}\r\n", 2 * day)),
        lines("* SEARCH 1 2\nc OK SEARCH completed")
    );
    // Exactly three days old is still "within" three days (RFC 5032 §3, inclusive).
    assert_eq!(
        w.send(
            c,
            &format!("d UID SEARCH YOUNGER {} NOT OLDER {}\r\n", 3 * day, 3 * day)
        ),
        lines("* SEARCH 2 3\nd OK SEARCH completed")
    );
    // The clock moves: a day later the message of the 5th is two days old.
    w.clients[c].server.handle_wall_clock(at(7));
    assert_eq!(
        w.send(
            c,
            &format!("e SEARCH OR YOUNGER {} OLDER {}\r\n", day, 5 * day)
        ),
        lines("* SEARCH 1\ne OK SEARCH completed")
    );
}

#[test]
fn without_the_option_within_is_neither_announced_nor_accepted() {
    let (mut w, c) = setup(ServerOptions::default());
    w.clients[c].server.handle_wall_clock(at(6));
    assert!(!w.send(c, "c CAPABILITY\r\n").contains("WITHIN"));
    assert_eq!(
        w.send(c, "a SEARCH NOT OLDER 100\r\n"),
        lines("a BAD OLDER/YOUNGER need WITHIN")
    );
}
