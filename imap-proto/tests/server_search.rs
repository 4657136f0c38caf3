//! SEARCH evaluation through the engine (RFC 3501 §6.4.4, RFC 9051 §6.4.4, RFC 4731 ESEARCH):
//! flag, size, date and number keys on the view; header and text keys on decoded content,
//! including encoded-word subjects; `[BADCHARSET]`.

mod server_support;

use mailhub_imap_proto::server::ServerOptions;
use mailhub_imap_proto::types::Flag;
use server_support::{World, lines};

fn setup() -> (World, usize) {
    let mut w = World::new();
    let msgs: [(&str, Vec<Flag>); 4] = [
        (
            "From: Smith <smith@example.com>\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nPlain body about widgets\r\n",
            vec![Flag::Seen],
        ),
        (
            "From: jones@example.org\r\nTo: smith@example.com\r\nSubject: =?utf-8?b?w6TDtsO8?= umlauts\r\nDate: Fri, 5 Jan 2024 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 society\r\n",
            vec![Flag::Flagged],
        ),
        (
            "From: x@y.z\r\nSubject: big one\r\nX-Tag: Special\r\n\r\n"
                .to_string()
                .leak(),
            vec![
                Flag::Deleted,
                Flag::Keyword(mailhub_imap_proto::Atom::new("$Work").unwrap()),
            ],
        ),
        ("Subject: none\r\n\r\nnothing\r\n", vec![]),
    ];
    for (m, f) in msgs {
        w.deliver("INBOX", m.as_bytes(), f);
    }
    let c = w.connect(ServerOptions::default());
    w.send(c, "e ENABLE IMAP4rev2\r\n");
    w.send(c, "s SELECT INBOX\r\n");
    (w, c)
}

fn search(w: &mut World, c: usize, q: &str) -> String {
    w.send(c, &format!("a {q}\r\n"))
}

#[test]
fn search_with_encoded_word_subjects_matches_decoded_text() {
    let (mut w, c) = setup();
    assert_eq!(
        search(&mut w, c, "SEARCH CHARSET UTF-8 SUBJECT \"köln\""),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH CHARSET UTF-8 SUBJECT \"ÄÖÜ\""),
        lines("* SEARCH 2\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH CHARSET UTF-8 SUBJECT \"GRÜSSE\""),
        lines("* SEARCH\na OK SEARCH completed"),
        "no folding of ß"
    );
    assert_eq!(
        search(&mut w, c, "SEARCH CHARSET UTF-8 BODY \"café\""),
        lines("* SEARCH 2\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH TEXT widgets"),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH TEXT x-tag"),
        lines("* SEARCH 3\na OK SEARCH completed")
    );
}

#[test]
fn header_address_and_date_keys() {
    let (mut w, c) = setup();
    assert_eq!(
        search(&mut w, c, "SEARCH FROM SMITH"),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH TO smith@example"),
        lines("* SEARCH 2\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH HEADER X-Tag special"),
        lines("* SEARCH 3\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH HEADER X-Tag \"\""),
        lines("* SEARCH 3\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH SENTSINCE 2-Jan-2024"),
        lines("* SEARCH 2\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH SENTBEFORE 2-Jan-2024"),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH ON 1-Jan-2024"),
        lines("* SEARCH 1 2 3 4\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH BEFORE 1-Jan-2024"),
        lines("* SEARCH\na OK SEARCH completed")
    );
}

#[test]
fn flag_size_number_and_boolean_keys_without_reading_messages() {
    let (mut w, c) = setup();
    let before = w.clients[c].events.len();
    assert_eq!(
        search(&mut w, c, "SEARCH FLAGGED"),
        lines("* SEARCH 2\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH UNSEEN NOT DELETED"),
        lines("* SEARCH 2 4\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH OR SEEN KEYWORD $work"),
        lines("* SEARCH 1 3\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH LARGER 100 SMALLER 200"),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "UID SEARCH 2:* UID 1:3"),
        lines("* SEARCH 2 3\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH (RECENT NEW) UNKEYWORD $Work"),
        lines("* SEARCH 2 4\na OK SEARCH completed")
    );
    let reads = w.clients[c].events[before..]
        .iter()
        .filter(|e| {
            matches!(
                e,
                mailhub_imap_proto::server::ServerEvent::FetchMessage { .. }
            )
        })
        .count();
    assert_eq!(reads, 0, "no message read for view keys");
}

#[test]
fn esearch_return_options_and_badcharset() {
    let (mut w, c) = setup();
    assert_eq!(
        search(&mut w, c, "UID SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED"),
        lines("* ESEARCH (TAG \"a\") UID MIN 1 MAX 4 ALL 1:2,4 COUNT 3\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH RETURN () DRAFT"),
        lines("* ESEARCH (TAG \"a\")\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH CHARSET KOI8-R TEXT x"),
        "a NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n"
    );
}

#[test]
fn searchres_saves_a_result_for_dollar() {
    let (mut w, c) = setup();
    assert_eq!(
        search(&mut w, c, "SEARCH RETURN (SAVE) UNDELETED"),
        "a OK SEARCH completed\r\n",
        "SAVE alone answers no ESEARCH (RFC 5182 §2.4)"
    );
    assert_eq!(
        search(&mut w, c, "FETCH $ UID"),
        lines("* 1 FETCH (UID 1)\n* 2 FETCH (UID 2)\n* 4 FETCH (UID 4)\na OK FETCH completed")
    );
    assert_eq!(
        search(&mut w, c, "UID SEARCH RETURN (COUNT SAVE) UID $ SEEN"),
        lines("* ESEARCH (TAG \"a\") UID COUNT 1\na OK SEARCH completed")
    );
    assert_eq!(
        search(&mut w, c, "SEARCH $"),
        lines("* SEARCH 1\na OK SEARCH completed")
    );
    search(&mut w, c, "SEARCH RETURN (SAVE) CHARSET X-BAD ALL");
    assert_eq!(
        search(&mut w, c, "SEARCH $"),
        lines("* SEARCH\na OK SEARCH completed"),
        "a failed search empties $"
    );
}

#[test]
fn sort_by_base_subject_size_arrival_and_from() {
    let (mut w, c) = setup();
    assert_eq!(
        search(&mut w, c, "SORT (SUBJECT) UTF-8 ALL"),
        lines("* SORT 3 1 4 2\na OK SORT completed")
    );
    assert_eq!(
        search(&mut w, c, "SORT (REVERSE SIZE) US-ASCII ALL"),
        lines("* SORT 2 1 3 4\na OK SORT completed")
    );
    assert_eq!(
        search(&mut w, c, "UID SORT (ARRIVAL) UTF-8 UNDELETED"),
        lines("* SORT 1 2 4\na OK SORT completed")
    );
    assert_eq!(
        search(&mut w, c, "SORT (FROM) UTF-8 ALL"),
        lines("* SORT 4 2 1 3\na OK SORT completed")
    );
    assert_eq!(
        search(&mut w, c, "SORT (DATE) KOI8-R ALL"),
        "a NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n"
    );
}

/// ESORT (RFC 5267 §3.2): SORT RETURN answers ESEARCH in sort order (MIN and MAX are the
/// first and last sorted, ALL keeps the order); SAVE alone answers nothing.
#[test]
fn esort_answers_esearch_in_sort_order() {
    let (mut w, c) = setup();
    assert_eq!(
        search(
            &mut w,
            c,
            "SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL"
        ),
        lines("* ESEARCH (TAG \"a\") MIN 3 MAX 2 ALL 3,1,4,2 COUNT 4\na OK SORT completed")
    );
    assert_eq!(
        search(
            &mut w,
            c,
            "UID SORT RETURN () (REVERSE SIZE) US-ASCII UID 1:3"
        ),
        lines("* ESEARCH (TAG \"a\") UID ALL 2,1,3\na OK SORT completed")
    );
    assert_eq!(
        search(&mut w, c, "SORT RETURN (SAVE) (SUBJECT) UTF-8 UNSEEN"),
        "a OK SORT completed\r\n"
    );
    assert_eq!(
        search(&mut w, c, "UID SEARCH $"),
        lines("* SEARCH 2 3 4\na OK SEARCH completed")
    );
}

#[test]
fn thread_orderedsubject_groups_by_base_subject_in_date_order() {
    let mut w = World::new();
    for (subject, day) in [
        ("a", 3),
        ("Re: a", 4),
        ("b", 1),
        ("RE: [x] a", 5),
        ("c", 2),
        ("Fwd: c", 6),
    ] {
        let m = format!("Subject: {subject}\r\nDate: {day} Jan 2024 10:00:00 +0000\r\n\r\nx\r\n");
        w.deliver("INBOX", m.as_bytes(), vec![]);
    }
    let c = w.connect(ServerOptions::default());
    w.send(c, "s SELECT INBOX\r\n");
    assert_eq!(
        search(&mut w, c, "THREAD ORDEREDSUBJECT UTF-8 ALL"),
        lines("* THREAD (3)(5 6)(1 (2)(4))\na OK THREAD completed")
    );
    // Without Message-IDs REFERENCES gathers by base subject too (RFC 5256 §3 step 5).
    assert_eq!(
        search(&mut w, c, "THREAD REFERENCES UTF-8 ALL"),
        lines("* THREAD (3)(5 6)(1 (2)(4))\na OK THREAD completed")
    );
    assert_eq!(
        search(&mut w, c, "THREAD X-OTHER UTF-8 ALL"),
        "a BAD Unsupported threading algorithm\r\n"
    );
}
