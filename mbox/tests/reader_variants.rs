//! Splitting per variant, Content-Length trust rules, random access and tolerated bad input.

use std::io::Cursor;

use mailhub_mbox::write::{StoreHeaders, encode_message};
use mailhub_mbox::{Envelope, Error, ReadOptions, Reader, Variant, detect, read_message};

fn split(data: &[u8], opts: ReadOptions) -> Vec<(mailhub_mbox::MessageInfo, Vec<u8>)> {
    let variant = opts.variant;
    let mut r = Reader::new(Cursor::new(data.to_vec()), opts).unwrap();
    let mut out = Vec::new();
    while let Some(info) = r.next_message().unwrap() {
        let msg = read_message(r.get_mut(), &info, variant, u64::MAX).unwrap();
        out.push((info, msg));
    }
    out
}

fn bodies(data: &[u8], variant: Variant) -> Vec<Vec<u8>> {
    split(data, ReadOptions::new(variant))
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

const M1: &[u8] = b"Subject: one\n\nFrom the start\n>From quoted\n";
const M2: &[u8] = b"Subject: two\n\nbody two\n";

fn file(variant: Variant, msgs: &[&[u8]]) -> Vec<u8> {
    let env = Envelope::new("a@example.org", 1_000_000_000).unwrap();
    msgs.iter()
        .flat_map(|m| encode_message(&env, m, variant, StoreHeaders::default()))
        .collect()
}

#[test]
fn every_variant_reads_what_it_writes() {
    for v in Variant::ALL {
        let data = file(v, &[M1, M2, b"", M1]);
        let got = bodies(&data, v);
        assert_eq!(got.len(), 4, "{v}");
        let strip = |m: &[u8]| mailhub_mbox::metadata::strip_metadata(m);
        let want1: Vec<u8> = match v {
            Variant::Mboxo | Variant::Mboxcl => {
                b"Subject: one\n\nFrom the start\nFrom quoted\n".to_vec()
            }
            _ => M1.to_vec(),
        };
        assert_eq!(strip(&got[0]), want1, "{v}");
        assert_eq!(strip(&got[1]), M2, "{v}");
        assert_eq!(strip(&got[3]), want1, "{v}");
        if !v.uses_content_length() {
            assert_eq!(got[2], b"", "{v}");
        }
    }
}

#[test]
fn offsets_allow_random_access() {
    let data = file(Variant::Mboxrd, &[M1, M2, M1]);
    let infos: Vec<_> = split(&data, ReadOptions::default())
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(infos[0].offset, 0);
    assert_eq!(infos[1].offset, infos[0].end);
    assert_eq!(infos[2].end, data.len() as u64);
    let mut r = Reader::new(Cursor::new(data.clone()), ReadOptions::default()).unwrap();
    let second = r.message_at(infos[1].offset).unwrap();
    assert_eq!(second, infos[1]);
    assert_eq!(
        read_message(r.get_mut(), &second, Variant::Mboxrd, 1 << 20).unwrap(),
        M2
    );
    // Iteration goes on after a random access.
    assert_eq!(r.next_message().unwrap().unwrap(), infos[2]);
    assert!(matches!(r.message_at(3), Err(Error::Stale { offset: 3 })));
    assert!(matches!(
        read_message(r.get_mut(), &second, Variant::Mboxrd, 3),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn content_length_is_trusted_only_when_it_checks_out() {
    // cl2 body with an unquoted, dated From line: only Content-Length keeps it whole.
    let body = b"Subject: x\n\nFrom a@b Thu Nov 20 00:14:56 2025\nsecond line\n";
    let data = file(Variant::Mboxcl2, &[body, M2]);
    let got = split(&data, ReadOptions::new(Variant::Mboxcl2));
    assert_eq!(got.len(), 2);
    assert!(!got[0].0.anomalies.bad_content_length);
    // Read as mboxrd (no Content-Length), the same file splits at the body line.
    assert_eq!(split(&data, ReadOptions::new(Variant::Mboxrd)).len(), 3);

    // A wrong Content-Length (too short, too long, past the end) falls back to the scan.
    for bad in ["3", "9", "99999", "x"] {
        let text = format!(
            "From a Thu Nov 20 00:14:56 2025\nContent-Length: {bad}\n\nhello\nworld\n\nFrom b Thu Nov 20 00:14:56 2025\nX: y\n\nz\n"
        );
        let got = split(text.as_bytes(), ReadOptions::new(Variant::Mboxcl));
        assert_eq!(got.len(), 2, "{bad}");
        assert!(got[0].1.ends_with(b"hello\nworld\n"), "{bad}");
        assert_eq!(got[0].0.anomalies.bad_content_length, bad != "x", "{bad}");
    }
}

#[test]
fn undated_from_lines_do_not_split_unless_loose() {
    let data = b"From a Thu Nov 20 00:14:56 2025\nS: 1\n\nFrom here on\nx\n";
    assert_eq!(bodies(data, Variant::Mboxo).len(), 1);
    let mut loose = ReadOptions::new(Variant::Mboxo);
    loose.loose_separators = true;
    assert_eq!(split(data, loose).len(), 2);
}

#[test]
fn bad_input_is_tolerated_as_documented() {
    // Not an mbox.
    let err = Reader::new(
        Cursor::new(b"Hello\nFrom x\n".to_vec()),
        ReadOptions::default(),
    )
    .unwrap()
    .next_message()
    .unwrap_err();
    assert!(matches!(err, Error::NotMbox { offset: 0 }));
    // Empty and blank files hold no message.
    assert!(bodies(b"", Variant::Mboxrd).is_empty());
    assert!(bodies(b"\n\r\n", Variant::Mboxrd).is_empty());
    // Missing blank line before From, truncated last message, CRLF, NUL bytes.
    let data = b"From a Thu Nov 20 00:14:56 2025\nS: 1\n\nx\nFrom b Thu Nov 20 00:14:56 2025\nS: 2\n\n\0y\0";
    let got = split(data, ReadOptions::default());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, b"S: 1\n\nx\n");
    assert!(got[0].0.anomalies.missing_blank_line);
    assert_eq!(got[1].1, b"S: 2\n\n\0y\0");
    assert!(got[1].0.anomalies.no_final_newline);
    let crlf = b"From a Thu Nov 20 00:14:56 2025\r\nS: 1\r\n\r\nx\r\n\r\nFrom b Thu Nov 20 00:14:56 2025\r\nS: 2\r\n\r\ny\r\n\r\n";
    let got = split(crlf, ReadOptions::default().with_headers());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, b"S: 1\r\n\r\nx\r\n");
    assert_eq!(got[1].0.headers.as_deref(), Some(&b"S: 2\r\n\r\n"[..]));
    assert!(got[0].0.anomalies.crlf);
    // A From line with no newline at the very end.
    let got = split(b"From a Thu Nov 20 00:14:56 2025", ReadOptions::default());
    assert_eq!(got.len(), 1);
    assert!(got[0].0.anomalies.no_final_newline);
    // An over-long first From line.
    let long = format!("From {} Thu Nov 20 00:14:56 2025\n\n", "a".repeat(5000));
    let err = Reader::new(Cursor::new(long.into_bytes()), ReadOptions::default())
        .unwrap()
        .next_message();
    assert!(matches!(err, Err(Error::FromLineTooLong { .. })));
}

#[test]
fn small_buffers_give_the_same_split() {
    let data = file(Variant::Mboxrd, &[M1, M2, &[b'x'; 3000], M1, b"", M2]);
    let want = split(&data, ReadOptions::default());
    for size in [1, 2, 5, 7, 64, 1000] {
        let mut o = ReadOptions::default().with_headers();
        o.buffer_size = size;
        let got = split(&data, o);
        assert_eq!(got.len(), want.len(), "{size}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (g.0.offset, g.0.data_len, &g.1),
                (w.0.offset, w.0.data_len, &w.1),
                "{size}"
            );
        }
    }
}

#[test]
fn detection() {
    let d = |data: &[u8]| detect(Cursor::new(data.to_vec()), 100, 1 << 20).unwrap();
    assert_eq!(
        d(&file(Variant::Mboxrd, &[M1, b"S: x\n\n>From y\n"])).variant,
        Variant::Mboxrd
    );
    assert_eq!(d(&file(Variant::Mboxo, &[M1, M2])).variant, Variant::Mboxo);
    assert_eq!(
        d(&file(Variant::Mboxcl, &[M1, M2])).variant,
        Variant::Mboxcl
    );
    assert_eq!(
        d(&file(Variant::Mboxcl2, &[M1, M2])).variant,
        Variant::Mboxcl2
    );
    let none = d(&file(Variant::Mboxo, &[M2]));
    assert_eq!((none.variant, none.evidence), (Variant::Mboxrd, false));
}
