//! Fuzz entry points for the parsers of `mailhub-mbox`, shared by the cargo-fuzz targets
//! `mbox_reader` and `mbox_metadata` and by `mbox/tests/fuzz_corpus.rs`, which replays the
//! committed seeds in a normal `cargo test`.
//!
//! Both functions take arbitrary bytes, must never panic, and check invariants on the way.

use std::io::Cursor;

use mailhub_mbox::metadata::{self, strip_metadata};
use mailhub_mbox::write::{StoreHeaders, encode_message};
use mailhub_mbox::{Envelope, ReadOptions, Reader, Variant, read_message};

/// Splits `data` as each variant with two buffer sizes and checks that the messages tile the
/// file in order, that the split does not depend on the buffer size, and that every message
/// read as mboxrd survives being written as mboxrd and read again.
pub fn reader(data: &[u8]) {
    for v in Variant::ALL {
        let mut splits = Vec::new();
        for buffer in [7, 64 * 1024] {
            let mut opts = ReadOptions::new(v).with_headers();
            opts.buffer_size = buffer;
            let mut r = Reader::new(Cursor::new(data), opts).expect("a cursor has a length");
            let mut msgs = Vec::new();
            let mut last_end = 0;
            while let Ok(Some(info)) = r.next_message() {
                assert!(info.offset >= last_end, "messages out of order");
                assert!(
                    info.data_offset > info.offset && info.data_offset + info.data_len <= info.end
                );
                assert!(info.end <= data.len() as u64 && info.end > info.offset);
                last_end = info.end;
                let m = read_message(r.get_mut(), &info, v, u64::MAX).expect("in-range read");
                if let Some(h) = &info.headers {
                    let _ = metadata::parse(h);
                }
                msgs.push((info.offset, info.data_len, m));
            }
            splits.push(msgs);
        }
        assert_eq!(
            splits[0], splits[1],
            "{v}: split depends on the buffer size"
        );
        if v == Variant::Mboxrd {
            round_trip(splits[0].iter().map(|m| m.2.as_slice()));
        }
    }
}

fn round_trip<'a>(msgs: impl Iterator<Item = &'a [u8]>) {
    let env = Envelope::new("fuzz@example.org", 0).expect("valid envelope");
    let msgs: Vec<&[u8]> = msgs.collect();
    let file: Vec<u8> = msgs
        .iter()
        .flat_map(|m| encode_message(&env, m, Variant::Mboxrd, StoreHeaders::default()))
        .collect();
    let mut r =
        Reader::new(Cursor::new(&file[..]), ReadOptions::new(Variant::Mboxrd)).expect("cursor");
    for m in msgs {
        let info = r
            .next_message()
            .expect("own output reads")
            .expect("message present");
        let back = read_message(r.get_mut(), &info, Variant::Mboxrd, u64::MAX).expect("read");
        let mut want = m.to_vec();
        if !want.is_empty() && !want.ends_with(b"\n") {
            want.push(b'\n');
        }
        assert_eq!(back, want, "mboxrd round trip");
    }
    assert!(
        r.next_message().expect("own output reads").is_none(),
        "extra message"
    );
}

/// Parses `data` as a header block; rendering what was parsed and parsing it again gives the
/// same state; stripping removes every field this crate owns.
pub fn metadata(data: &[u8]) {
    let info = metadata::parse(data);
    let out = metadata::render(
        data,
        Some(&info.meta),
        info.folder.as_ref(),
        info.pseudo,
        info.content_length,
    );
    let again = metadata::parse(&out);
    assert_eq!(again.meta, info.meta, "message state round trip");
    assert_eq!(again.folder, info.folder, "folder state round trip");
    assert_eq!(again.content_length, info.content_length);
    if info.folder.is_some() {
        let (at, len) = metadata::uid_last_span(&out).expect("rendered X-IMAPbase has a last UID");
        assert_eq!(len, 10);
        assert!(out[at..at + len].iter().all(u8::is_ascii_digit));
    }
    let stripped = metadata::parse(&strip_metadata(data));
    assert!(
        stripped.meta.uid.is_none()
            && stripped.folder.is_none()
            && stripped.content_length.is_none()
    );
    let _ = metadata::content_length(data);
    let _ = Envelope::parse(data);
}
