//! The `dovecot-uidlist` file, version 3: persistent IMAP UIDs for a Maildir.
//!
//! Format (Dovecot's Maildir documentation, "IMAP UID mapping"; `maildir-uidlist.c`):
//!
//! ```text
//! 3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1
//! 25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,
//! 25017 W2481 :1276533073.M242911P3632.kurkku:2,F
//! ```
//!
//! The header is the version and `<key><value>` fields: `V` UIDVALIDITY, `N` the next UID,
//! `G` the mailbox GUID in hex; other fields are kept and written back. A record is the UID,
//! `<key><value>` extension fields (an upper case letter each; `W` vsize, `S` size, `G` GUID,
//! `P`/`O` POP3 UIDL and order), then `:` and the last known file name. UIDs ascend strictly.
//!
//! Mod-sequences (RFC 7162 CONDSTORE) are kept where Dovecot does not look for them but
//! preserves them: a header field `M<highest modseq>` and a record field `M<modseq>`. Dovecot
//! keeps unknown header fields and unknown upper-case record fields when it rewrites the file,
//! and a reader that does not know them ignores them.
//!
//! Version 1 (`1 <uidvalidity> <next uid>`, then `<uid> <file name>`; Courier's
//! `courierimapuiddb`) is read too; this crate always writes version 3.

use crate::error::ParseError;

/// One message of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidRecord {
    /// The message's UID (never 0).
    pub uid: u32,
    /// The last known file name (with or without the info suffix).
    pub file_name: String,
    /// The message's mod-sequence, when known.
    pub modseq: Option<u64>,
    /// Other extension fields (`W2481`, `GF00…`), verbatim, in file order.
    pub extensions: Vec<String>,
}

impl UidRecord {
    /// The base of the file name: everything before `:`.
    #[must_use]
    pub fn base(&self) -> &str {
        self.file_name
            .split_once(':')
            .map_or(&self.file_name, |(b, _)| b)
    }
}

/// The contents of a `dovecot-uidlist` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidList {
    /// UIDVALIDITY (never 0).
    pub uid_validity: u32,
    /// The UID the next new message gets (greater than every UID in `records`).
    pub next_uid: u32,
    /// The mailbox GUID, 32 hex digits, when present.
    pub guid: Option<String>,
    /// The highest mod-sequence given out in this mailbox (0 when none).
    pub highest_modseq: u64,
    /// Header fields this crate does not interpret, verbatim.
    pub header_extensions: Vec<String>,
    /// The messages, UIDs ascending.
    pub records: Vec<UidRecord>,
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A decimal number from bytes, without going through `str` (the per-record hot path).
fn number_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

fn valid_file_name(name: &str) -> bool {
    !name.is_empty() && memchr::memchr2(b'/', 0, name.as_bytes()).is_none()
}

/// One record borrowed from the file's bytes: what [`crate::Maildir::sync_uids`] works on, so
/// that an up-to-date list of 100,000 messages is read without a copy per message. Turned
/// into a [`UidRecord`] only when the list is rewritten.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordRef<'a> {
    pub(crate) uid: u32,
    pub(crate) file_name: &'a str,
    pub(crate) base_len: usize,
    pub(crate) modseq: Option<u64>,
    /// The fields between the UID and the `:` (version 3), verbatim.
    fields: &'a str,
}

impl<'a> RecordRef<'a> {
    pub(crate) fn base(&self) -> &'a str {
        &self.file_name[..self.base_len]
    }

    /// The extension fields kept: those with an upper-case key other than `M` (Dovecot drops
    /// the others).
    pub(crate) fn extensions(&self) -> impl Iterator<Item = &'a str> {
        self.fields
            .split(' ')
            .filter(|f| matches!(f.as_bytes().first(), Some(b'A'..=b'L' | b'N'..=b'Z')))
    }

    pub(crate) fn to_record(self) -> UidRecord {
        UidRecord {
            uid: self.uid,
            file_name: self.file_name.to_owned(),
            modseq: self.modseq,
            extensions: self.extensions().map(str::to_owned).collect(),
        }
    }
}

/// Parses the header line into a list without records; returns it with the version.
fn parse_header(header: &str) -> Result<(UidList, u32, u32), ParseError> {
    let (version, rest) = header.split_once(' ').unwrap_or((header, ""));
    let version: u32 = number(version).ok_or(ParseError::Syntax {
        line: 1,
        what: "bad version",
    })?;
    let mut list = UidList::new(1, None);
    let (mut uid_validity, mut next_uid) = (0u32, 0u32);
    match version {
        1 => {
            let mut f = rest.split(' ');
            uid_validity = f.next().and_then(number).unwrap_or(0);
            next_uid = f.next().and_then(number).unwrap_or(0);
        }
        3 => {
            for field in rest.split(' ').filter(|f| !f.is_empty()) {
                let (key, value) = field.split_at(field.chars().next().map_or(0, char::len_utf8));
                match key {
                    "V" => uid_validity = number(value).unwrap_or(0),
                    "N" => next_uid = number(value).unwrap_or(0),
                    "G" if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        list.guid = Some(value.to_ascii_lowercase());
                    }
                    "G" => {
                        return Err(ParseError::Syntax {
                            line: 1,
                            what: "bad GUID",
                        });
                    }
                    "M" => {
                        list.highest_modseq = number(value).ok_or(ParseError::Syntax {
                            line: 1,
                            what: "bad modseq",
                        })?;
                    }
                    _ => list.header_extensions.push(field.to_owned()),
                }
            }
        }
        v => return Err(ParseError::Version(v)),
    }
    if uid_validity == 0 || next_uid == 0 {
        return Err(ParseError::Syntax {
            line: 1,
            what: "missing UIDVALIDITY or next UID",
        });
    }
    list.uid_validity = uid_validity;
    Ok((list, version, next_uid))
}

/// Parses one record line (without its LF).
fn parse_record(line: &str, version: u32, lineno: usize) -> Result<RecordRef<'_>, ParseError> {
    let bad = |what| ParseError::Syntax { line: lineno, what };
    let bytes = line.as_bytes();
    let sp = memchr::memchr(b' ', bytes).ok_or(bad("expected '<uid> ...'"))?;
    let uid = number_u64(&bytes[..sp])
        .and_then(|u| u32::try_from(u).ok())
        .filter(|&u| u != 0 && u != u32::MAX)
        .ok_or(bad("bad UID"))?;
    let rest = &line[sp + 1..];
    let mut rec = RecordRef {
        uid,
        file_name: rest,
        base_len: 0,
        modseq: None,
        fields: "",
    };
    if version != 1 {
        // Fields, then ` :<file name>`; a name may hold spaces and colons, a field may not.
        let colon = rest
            .as_bytes()
            .iter()
            .enumerate()
            .find(|&(i, &b)| b == b':' && (i == 0 || rest.as_bytes()[i - 1] == b' '))
            .map(|(i, _)| i)
            .ok_or(bad("missing ':<file name>'"))?;
        rec.fields = rest[..colon].trim_end_matches(' ');
        rec.file_name = &rest[colon + 1..];
        // Bytes and a plain loop: the fields are a few bytes (`M123`), too short for the
        // vector search `str::split(' ')` sets up.
        for field in rec.fields.as_bytes().split(|&b| b == b' ') {
            if let Some(m) = field.strip_prefix(b"M") {
                rec.modseq = Some(number_u64(m).ok_or(bad("bad modseq"))?);
            }
        }
    }
    if !valid_file_name(rec.file_name) {
        return Err(bad("bad file name"));
    }
    rec.base_len = memchr::memchr(b':', rec.file_name.as_bytes()).unwrap_or(rec.file_name.len());
    Ok(rec)
}

impl UidList {
    /// A new, empty list.
    #[must_use]
    pub fn new(uid_validity: u32, guid: Option<String>) -> UidList {
        UidList {
            uid_validity: uid_validity.max(1),
            next_uid: 1,
            guid,
            highest_modseq: 0,
            header_extensions: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Parses the file. Lines must end in LF; a last line without one is ignored, as a
    /// reader of a file being appended to must.
    pub fn parse(data: &[u8]) -> Result<UidList, ParseError> {
        let (mut list, records) = UidList::parse_borrowed(data)?;
        list.records = records.into_iter().map(RecordRef::to_record).collect();
        Ok(list)
    }

    /// [`UidList::parse`] with the records borrowed from `data` (and `records` left empty).
    pub(crate) fn parse_borrowed(data: &[u8]) -> Result<(UidList, Vec<RecordRef<'_>>), ParseError> {
        let text = std::str::from_utf8(data).map_err(|_| ParseError::Syntax {
            line: 1,
            what: "not UTF-8",
        })?;
        // Only complete lines: a torn last line is not read.
        let text = &text[..memchr::memrchr(b'\n', data).map_or(0, |i| i + 1)];
        // Lines found with memchr's vector search rather than `str::split`'s.
        let mut start = 0;
        let mut lines = memchr::memchr_iter(b'\n', text.as_bytes()).map(|end| {
            let line = &text[start..end];
            start = end + 1;
            line
        });
        let header = lines.next().ok_or(ParseError::Syntax {
            line: 1,
            what: "empty file",
        })?;
        let (mut list, version, next_uid) = parse_header(header)?;
        let mut records = Vec::with_capacity(memchr::memchr_iter(b'\n', data).count());
        let mut prev = 0u32;
        for (i, line) in lines.enumerate() {
            let rec = parse_record(line, version, i + 2)?;
            if rec.uid <= prev {
                return Err(ParseError::UidOrder { line: i + 2 });
            }
            prev = rec.uid;
            records.push(rec);
        }
        // As Dovecot: the next UID is always above every UID in the list.
        list.next_uid = if prev >= next_uid {
            prev.saturating_add(1)
        } else {
            next_uid
        };
        Ok((list, records))
    }

    /// Serializes as version 3.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(64 + self.records.len() * 64);
        out.push_str(&format!("3 V{} N{}", self.uid_validity, self.next_uid));
        if let Some(guid) = &self.guid {
            out.push_str(" G");
            out.push_str(guid);
        }
        if self.highest_modseq != 0 {
            out.push_str(&format!(" M{}", self.highest_modseq));
        }
        for ext in &self.header_extensions {
            out.push(' ');
            out.push_str(ext);
        }
        out.push('\n');
        for r in &self.records {
            out.push_str(&r.uid.to_string());
            for ext in &r.extensions {
                out.push(' ');
                out.push_str(ext);
            }
            if let Some(m) = r.modseq {
                out.push_str(&format!(" M{m}"));
            }
            out.push_str(" :");
            out.push_str(&r.file_name);
            out.push('\n');
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str = "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n\
        25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n\
        25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n";

    #[test]
    fn dovecot_documentation_example() {
        let l = UidList::parse(DOC.as_bytes()).unwrap();
        assert_eq!(l.uid_validity, 1275660208);
        assert_eq!(l.next_uid, 25022);
        assert_eq!(l.guid.as_deref(), Some("3085f01b7f11094c501100008c4a11c1"));
        assert_eq!(l.records.len(), 2);
        assert_eq!(l.records[1].extensions, vec!["W2481".to_string()]);
        assert_eq!(l.records[1].base(), "1276533073.M242911P3632.kurkku");
        assert_eq!(String::from_utf8(l.to_bytes()).unwrap(), DOC);
    }

    #[test]
    fn modseq_and_unknown_fields_survive() {
        let text = "3 V5 N10 M42 Xfoo\n3 GABC M41 :a:2,S\n7 M42 :b\n";
        let l = UidList::parse(text.as_bytes()).unwrap();
        assert_eq!(l.highest_modseq, 42);
        assert_eq!(l.header_extensions, vec!["Xfoo".to_string()]);
        assert_eq!(l.records[0].modseq, Some(41));
        assert_eq!(String::from_utf8(l.to_bytes()).unwrap(), text);
    }

    #[test]
    fn version_1_and_next_uid_fixup() {
        let l = UidList::parse(b"1 99 2\n5 a:2,S\n").unwrap();
        assert_eq!((l.uid_validity, l.next_uid), (99, 6));
        assert_eq!(l.records[0].file_name, "a:2,S");
    }

    #[test]
    fn broken_files() {
        for bad in [
            &b""[..],
            b"3 V0 N1\n",
            b"3 N1\n",
            b"2 V1 N1\n",
            b"3 V1 N5\n2 :a\n2 :b\n",
            b"3 V1 N5\n0 :a\n",
            b"3 V1 N5\n1 W5\n",
            b"3 V1 N5\n1 :a/b\n",
            b"3 V1 N5 Gxyz\n",
            b"3 V1 N5\n1 Mx :a\n",
        ] {
            assert!(
                UidList::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A torn last line (no LF yet) is not read.
        assert_eq!(
            UidList::parse(b"3 V1 N5\n1 :a\n2 :b")
                .unwrap()
                .records
                .len(),
            1
        );
    }

    fn arb_list() -> impl Strategy<Value = UidList> {
        let rec = (
            "[A-Za-z0-9.,=_]{1,30}(:2,[A-Z]{0,3})?",
            proptest::option::of(1u64..1000),
            proptest::collection::vec("[A-LN-Z][0-9a-f]{1,6}", 0..2),
        );
        (
            1u32..u32::MAX,
            proptest::collection::vec(rec, 0..20),
            0u64..100,
        )
            .prop_map(|(uv, recs, hm)| {
                let mut l = UidList::new(uv, Some("00112233445566778899aabbccddeeff".into()));
                l.highest_modseq = hm;
                for (i, (name, modseq, extensions)) in recs.into_iter().enumerate() {
                    l.records.push(UidRecord {
                        uid: i as u32 * 3 + 1,
                        file_name: name,
                        modseq,
                        extensions,
                    });
                }
                l.next_uid = l.records.last().map_or(1, |r| r.uid + 1);
                l
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip(l in arb_list()) {
            prop_assert_eq!(UidList::parse(&l.to_bytes()).unwrap(), l);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = UidList::parse(&data);
        }
    }
}
