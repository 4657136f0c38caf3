//! Rendering from raw octets (RFC 3501 §6.4.5, §7.4.2): BODYSTRUCTURE of nested multipart
//! with a message/rfc822 attachment, ENVELOPE with encoded words kept, BODY[section] forms.

use std::num::NonZeroU32;

use mailhub_imap_proto::Response;
use mailhub_imap_proto::fetch::{Section, SectionText};
use mailhub_imap_proto::render::{Parsed, binary, section};
use mailhub_imap_proto::response::{Data, MessageData};
use mailhub_imap_proto::types::AString;

const NESTED: &str = "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\n\
To: a@example.net, \"B, C\" <bc@example.org>\r\n\
Subject: =?utf-8?b?w6TDtsO8?= nested\r\n\
Date: Tue, 1 Feb 2022 10:00:00 +0100\r\n\
Message-ID: <m1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
preamble\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
H=C3=A9llo\r\n\
world\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>hi</p>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: attachment; filename=fwd.eml\r\n\
\r\n\
From: x@y.z\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--outer--\r\n";

fn render(item: MessageData) -> String {
    let seq = NonZeroU32::new(1).unwrap();
    let r = Response::Data(Data::Fetch {
        seq,
        items: vec![item],
    });
    String::from_utf8(r.to_bytes()).unwrap()
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.iter().map(|n| NonZeroU32::new(*n).unwrap()).collect(),
        text,
    }
}

fn text(p: &Parsed<'_>, s: Section) -> String {
    String::from_utf8(section(p, &s).unwrap()).unwrap()
}

#[test]
fn bodystructure_of_alternative_inside_mixed_with_a_message_rfc822_attachment() {
    let p = Parsed::new(NESTED.as_bytes());
    let bs = render(MessageData::BodyStructure(Box::new(p.body_structure(true))));
    assert_eq!(
        bs,
        "* 1 FETCH (BODYSTRUCTURE (((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 17 2 NIL NIL NIL NIL)\
(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 9 1 NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 41 (NIL \"inner\" ((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) NIL NIL NIL NIL NIL) \
(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) 4 NIL (\"ATTACHMENT\" (\"FILENAME\" \"fwd.eml\")) NIL NIL) \
\"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL))\r\n"
    );
    let body = render(MessageData::Body(Box::new(p.body_structure(false))));
    assert!(body.starts_with("* 1 FETCH (BODY (((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 17 2)"), "{body}");
}

#[test]
fn envelope_keeps_encoded_words_as_sent() {
    let p = Parsed::new(NESTED.as_bytes());
    assert_eq!(
        render(MessageData::Envelope(Box::new(p.envelope()))),
        "* 1 FETCH (ENVELOPE (\"Tue, 1 Feb 2022 10:00:00 +0100\" \"=?utf-8?b?w6TDtsO8?= nested\" \
((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"jorg\" \"example.com\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"jorg\" \"example.com\")) \
((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"jorg\" \"example.com\")) ((NIL NIL \"a\" \"example.net\")(\"B, C\" NIL \"bc\" \"example.org\")) \
NIL NIL NIL \"<m1@example.com>\"))\r\n"
    );
}

#[test]
fn sections_of_the_nested_message() {
    let p = Parsed::new(NESTED.as_bytes());
    assert_eq!(text(&p, sec(&[1, 1], None)), "H=C3=A9llo\r\nworld");
    assert_eq!(text(&p, sec(&[1, 2], None)), "<p>hi</p>");
    assert_eq!(
        text(&p, sec(&[1, 2], Some(SectionText::Mime))),
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
    );
    assert_eq!(
        text(&p, sec(&[2, 1], None)),
        "inner body",
        "part 1 of a message/rfc822 is its body"
    );
    assert_eq!(
        text(&p, sec(&[2], Some(SectionText::Header))),
        "From: x@y.z\r\nSubject: inner\r\n\r\n"
    );
    assert_eq!(text(&p, sec(&[2], Some(SectionText::Text))), "inner body");
    assert_eq!(
        text(
            &p,
            sec(
                &[],
                Some(SectionText::HeaderFields(vec![
                    AString::atom("subject").unwrap(),
                    AString::atom("TO").unwrap()
                ]))
            )
        ),
        "To: a@example.net, \"B, C\" <bc@example.org>\r\nSubject: =?utf-8?b?w6TDtsO8?= nested\r\n\r\n"
    );
    let not = text(
        &p,
        sec(
            &[],
            Some(SectionText::HeaderFieldsNot(vec![
                AString::atom("Content-Type").unwrap(),
            ])),
        ),
    );
    assert!(
        !not.contains("Content-Type") && not.contains("Message-ID") && not.ends_with("\r\n\r\n")
    );
    assert_eq!(text(&p, sec(&[], None)), NESTED);
    assert!(text(&p, sec(&[], Some(SectionText::Text))).starts_with("preamble\r\n--outer\r\n"));
    assert_eq!(section(&p, &sec(&[3], None)), None);
    assert_eq!(section(&p, &sec(&[1, 1], Some(SectionText::Header))), None);
    let one: Vec<NonZeroU32> = [1, 1]
        .iter()
        .map(|n| NonZeroU32::new(*n).unwrap())
        .collect();
    assert_eq!(binary(&p, &one).unwrap(), "Héllo\r\nworld".as_bytes());
}

#[test]
fn a_message_without_mime_is_one_text_part() {
    let raw = "Subject: plain\r\n\r\nline one\r\nline two\r\n";
    let p = Parsed::new(raw.as_bytes());
    assert_eq!(
        render(MessageData::BodyStructure(Box::new(
            p.body_structure(false)
        ))),
        "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 20 2))\r\n"
    );
    assert_eq!(text(&p, sec(&[1], None)), "line one\r\nline two\r\n");
    assert_eq!(
        text(&p, sec(&[], Some(SectionText::Header))),
        "Subject: plain\r\n\r\n"
    );
}
