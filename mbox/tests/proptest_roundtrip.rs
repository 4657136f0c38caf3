//! Property tests: what is written reads back (bodies full of `From ` and `>From ` lines), for
//! every variant and any buffer size; arbitrary bytes never panic any reader or parser.

use std::io::Cursor;

use mailhub_mbox::metadata::{self, strip_metadata};
use mailhub_mbox::variant::{quote, unquote};
use mailhub_mbox::write::{StoreHeaders, encode_message, split_header};
use mailhub_mbox::{Envelope, ReadOptions, Reader, Variant, read_message};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("From a@b Thu Nov 20 00:14:56 2025".to_owned()),
        Just("From ".to_owned()),
        Just("From".to_owned()),
        Just(">From x".to_owned()),
        Just(">>From y Mon Jan  5 10:00:00 1998".to_owned()),
        Just(String::new()),
        "[a-zA-Z >:]{0,30}",
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec("[A-Z][a-z]{0,5}: [a-z ]{0,10}", 0..3),
        prop::collection::vec(line(), 0..12),
    )
        .prop_map(|(heads, body)| {
            let mut m = String::new();
            for h in heads {
                m.push_str(&h);
                m.push('\n');
            }
            m.push('\n');
            for l in body {
                m.push_str(&l);
                m.push('\n');
            }
            m.into_bytes()
        })
}

fn variant() -> impl Strategy<Value = Variant> {
    prop::sample::select(Variant::ALL.to_vec())
}

/// What mboxo-family reading gives back: an original `>From ` line loses its `>`.
fn mboxo_view(m: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, l) in m.split_inclusive(|&b| b == b'\n').enumerate() {
        let _ = i;
        out.extend_from_slice(
            l.strip_prefix(b">")
                .filter(|r| r.starts_with(b"From "))
                .unwrap_or(l),
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_gives_the_same_messages(
        v in variant(),
        msgs in prop::collection::vec(message(), 0..8),
        buffer in prop_oneof![Just(256 * 1024usize), 1usize..200],
        sender in "[a-z]{0,8}(@[a-z]{1,5})?",
        time in 0i64..4_000_000_000,
    ) {
        let env = Envelope::new(&sender, time).unwrap();
        let file: Vec<u8> = msgs
            .iter()
            .flat_map(|m| encode_message(&env, m, v, StoreHeaders::default()))
            .collect();
        let mut opts = ReadOptions::new(v);
        opts.buffer_size = buffer;
        let mut r = Reader::new(Cursor::new(file), opts).unwrap();
        let mut got = Vec::new();
        while let Some(info) = r.next_message().unwrap() {
            prop_assert_eq!(&info.envelope, &env);
            got.push(read_message(r.get_mut(), &info, v, u64::MAX).unwrap());
        }
        prop_assert_eq!(got.len(), msgs.len());
        for (g, m) in got.iter().zip(&msgs) {
            let (head, body) = split_header(g);
            let mut g = strip_metadata(head);
            g.extend_from_slice(body);
            let want = match v {
                Variant::Mboxo | Variant::Mboxcl => mboxo_view(m),
                _ => m.clone(),
            };
            prop_assert_eq!(String::from_utf8_lossy(&g), String::from_utf8_lossy(&want));
        }
    }

    #[test]
    fn mboxrd_quoting_is_lossless(data in prop::collection::vec(prop_oneof![Just(b'>'), Just(b'\n'), Just(b'F'), Just(b'r'), Just(b'o'), Just(b'm'), Just(b' '), any::<u8>()], 0..200)) {
        prop_assert_eq!(unquote(Variant::Mboxrd, &quote(Variant::Mboxrd, &data)), data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        v in variant(),
        prefix in prop_oneof![Just(b"From a Thu Nov 20 00:14:56 2025\n".to_vec()), Just(Vec::new())],
        data in prop::collection::vec(prop_oneof![
            Just(b"\nFrom b Thu Nov 20 00:14:56 2025\n".to_vec()),
            Just(b"\nContent-Length: 5\n".to_vec()),
            Just(b"\n\n".to_vec()),
            Just(b"\r\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..20),
        ], 0..20),
        buffer in 1usize..64,
    ) {
        let mut bytes = prefix;
        for d in data {
            bytes.extend(d);
        }
        let mut opts = ReadOptions::new(v).with_headers();
        opts.buffer_size = buffer;
        let len = bytes.len() as u64;
        let mut r = Reader::new(Cursor::new(bytes.clone()), opts).unwrap();
        let mut last_end = 0;
        for _ in 0..=bytes.len() {
            match r.next_message() {
                Ok(Some(info)) => {
                    // Messages tile the file in order and stay inside it.
                    prop_assert!(info.offset >= last_end && info.end <= len && info.data_offset + info.data_len <= info.end);
                    last_end = info.end;
                    let _ = read_message(r.get_mut(), &info, v, 1 << 20).unwrap();
                    if let Some(h) = &info.headers {
                        let _ = metadata::parse(h);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        let _ = Envelope::parse(&bytes);
        let _ = metadata::parse(&bytes);
        let _ = metadata::uid_last_span(&bytes);
        let _ = mailhub_mbox::detect(Cursor::new(bytes), 10, 1 << 20);
    }
}
