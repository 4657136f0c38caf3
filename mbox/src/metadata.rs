//! IMAP state kept in message headers, as UW IMAP (c-client) and Dovecot keep it.
//!
//! An mbox has nowhere else to keep IMAP flags and UIDs (RFC 3501 §2.3.1.1, §2.3.2), so the
//! IMAP servers that use it write them into each message's header block:
//!
//! - `Status:` — `R` \Seen, `O` "old": not \Recent;
//! - `X-Status:` — `A` \Answered, `F` \Flagged, `T` \Draft, `D` \Deleted;
//! - `X-Keywords:` — the message's keywords, separated by blanks (commas are accepted);
//! - `X-UID:` — the message's UID;
//! - `X-IMAPbase: <UIDVALIDITY> <last UID> [keywords…]` in the first message, or `X-IMAP:` with
//!   the same fields in a first pseudo-message whose subject is [`PSEUDO_SUBJECT`] (created so
//!   that the folder data survives when every real message is deleted). The last UID is written
//!   zero-padded to ten digits, as Dovecot does, so it can be updated in place.
//!
//! A server hides these headers (and `Content-Length:`) from clients: [`strip_metadata`] removes
//! them; [`render`] writes a header block back with fresh values, leaving every other field, and
//! the order of the others, untouched. Parsing is total: garbage values read as "no value".

use crate::envelope::rfc2822_date;

/// The subject of the pseudo-message that holds folder data (UW IMAP, Dovecot).
pub const PSEUDO_SUBJECT: &str = "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA";

/// The header fields this crate owns; [`strip_metadata`] removes exactly these.
pub const METADATA_FIELDS: [&str; 7] = [
    "Status",
    "X-Status",
    "X-Keywords",
    "X-UID",
    "X-IMAPbase",
    "X-IMAP",
    "Content-Length",
];

/// The IMAP system flags of a message (RFC 3501 §2.3.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `\Seen`: `Status: R`.
    pub seen: bool,
    /// `\Answered`: `X-Status: A`.
    pub answered: bool,
    /// `\Flagged`: `X-Status: F`.
    pub flagged: bool,
    /// `\Deleted`: `X-Status: D`.
    pub deleted: bool,
    /// `\Draft`: `X-Status: T`.
    pub draft: bool,
    /// `\Recent`: the absence of `Status: O`.
    pub recent: bool,
}

/// The per-message state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageMeta {
    /// System flags.
    pub flags: Flags,
    /// Keywords, in the order read.
    pub keywords: Vec<String>,
    /// `X-UID:`, if present and valid (non-zero).
    pub uid: Option<u32>,
}

/// The per-folder state from `X-IMAPbase:` / `X-IMAP:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderMeta {
    /// UIDVALIDITY (non-zero).
    pub uid_validity: u32,
    /// The last UID given out (UIDNEXT - 1).
    pub uid_last: u32,
    /// The folder's known keywords.
    pub keywords: Vec<String>,
}

/// Everything this crate reads from one header block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Flags, keywords, UID.
    pub meta: MessageMeta,
    /// Folder data, when the block has `X-IMAPbase:` or `X-IMAP:`.
    pub folder: Option<FolderMeta>,
    /// Whether this is the folder-data pseudo-message (its subject and an `X-IMAP` field).
    pub pseudo: bool,
    /// `Content-Length:`, if present and a number.
    pub content_length: Option<u64>,
}

/// One header field: its name and its whole raw text (continuation lines included).
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
    raw: &'a [u8],
}

/// Splits a header block into fields. Lines that are not `name:` fields (and not
/// continuations) come out as fields with an empty name, so nothing is lost when rewriting.
fn fields(block: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    while start < block.len() {
        let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i + 1);
        let line = &block[start..end];
        let is_cont = matches!(line.first(), Some(b' ' | b'\t'));
        if let (true, Some(last)) = (is_cont, out.last_mut()) {
            let from = last.raw.as_ptr() as usize - block.as_ptr() as usize;
            last.raw = &block[from..end];
            let vfrom = last.value.as_ptr() as usize - block.as_ptr() as usize;
            last.value = &block[vfrom..end];
        } else {
            let colon = memchr::memchr(b':', line)
                .filter(|&i| i > 0 && line[..i].iter().all(|&b| b > b' ' && b < 0x7f));
            match colon {
                Some(i) => out.push(Field {
                    name: &line[..i],
                    value: &line[i + 1..],
                    raw: line,
                }),
                None => out.push(Field {
                    name: b"",
                    value: line,
                    raw: line,
                }),
            }
        }
        start = end;
    }
    out
}

fn value_str(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_named(f: &Field<'_>, name: &str) -> bool {
    f.name.eq_ignore_ascii_case(name.as_bytes())
}

/// Reads the state from a header block (the bytes after the `From ` line up to and including
/// the blank line; a block without the blank line works too).
pub fn parse(block: &[u8]) -> HeaderInfo {
    let mut info = HeaderInfo::default();
    let mut status_seen = false;
    let mut subject_pseudo = false;
    let mut x_imap = false;
    for f in fields(block) {
        let v = value_str(f.value);
        if is_named(&f, "Status") {
            status_seen = true;
            info.meta.flags.seen |= v.contains('R');
            info.meta.flags.recent = !v.contains('O');
        } else if is_named(&f, "X-Status") {
            info.meta.flags.answered |= v.contains('A');
            info.meta.flags.flagged |= v.contains('F');
            info.meta.flags.draft |= v.contains('T');
            info.meta.flags.deleted |= v.contains('D');
        } else if is_named(&f, "X-Keywords") {
            for k in v.split([' ', ',']).filter(|k| !k.is_empty()) {
                if !info.meta.keywords.iter().any(|x| x == k) {
                    info.meta.keywords.push(k.to_owned());
                }
            }
        } else if is_named(&f, "X-UID") {
            info.meta.uid = v.parse::<u32>().ok().filter(|&u| u != 0);
        } else if is_named(&f, "X-IMAPbase") || is_named(&f, "X-IMAP") {
            x_imap |= is_named(&f, "X-IMAP");
            let mut it = v.split(' ');
            let validity = it
                .next()
                .and_then(|s| s.parse::<u32>().ok())
                .filter(|&u| u != 0);
            let last = it.next().and_then(|s| s.parse::<u32>().ok());
            if let (Some(uid_validity), Some(uid_last)) = (validity, last) {
                let keywords = it.filter(|k| !k.is_empty()).map(str::to_owned).collect();
                info.folder = Some(FolderMeta {
                    uid_validity,
                    uid_last,
                    keywords,
                });
            }
        } else if is_named(&f, "Subject") {
            subject_pseudo = v == PSEUDO_SUBJECT;
        } else if is_named(&f, "Content-Length") {
            info.content_length = v.parse().ok();
        }
    }
    if !status_seen {
        // No Status at all: nobody has looked at this message yet (mail just delivered).
        info.meta.flags.recent = true;
    }
    info.pseudo = subject_pseudo && x_imap;
    info
}

/// `Content-Length:` of a header block, if present and a number.
pub fn content_length(block: &[u8]) -> Option<u64> {
    fields(block)
        .iter()
        .find(|f| is_named(f, "Content-Length"))
        .and_then(|f| value_str(f.value).parse().ok())
}

/// Where the ten-digit last-UID field of `X-IMAPbase:`/`X-IMAP:` is in `block`, as
/// `(offset, len)`, so that it can be overwritten in place.
pub fn uid_last_span(block: &[u8]) -> Option<(usize, usize)> {
    let f = fields(block)
        .into_iter()
        .find(|f| is_named(f, "X-IMAPbase") || is_named(f, "X-IMAP"))?;
    let base = f.value.as_ptr() as usize - block.as_ptr() as usize;
    let v = f.value;
    // Skip blanks, the UIDVALIDITY, blanks: the next run of digits is the last UID.
    let mut i = 0;
    let skip = |i: &mut usize, pred: fn(u8) -> bool| {
        while *i < v.len() && pred(v[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, |b| b == b' ' || b == b'\t');
    skip(&mut i, |b| b.is_ascii_digit());
    skip(&mut i, |b| b == b' ' || b == b'\t');
    let start = i;
    skip(&mut i, |b| b.is_ascii_digit());
    (i > start).then_some((base + start, i - start))
}

/// The header block without the fields this crate owns ([`METADATA_FIELDS`]): what an IMAP
/// client is shown.
pub fn strip_metadata(block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len());
    for f in fields(block) {
        if !METADATA_FIELDS.iter().any(|n| is_named(&f, n)) {
            out.extend_from_slice(f.raw);
        }
    }
    out
}

/// Rewrites a header block. With `meta`, the per-message fields (`Status`, `X-Status`,
/// `X-Keywords`, `X-UID`) are removed and written afresh; with `folder`, `X-IMAPbase:` (or
/// `X-IMAP:` when `pseudo`) likewise; with `content_length`, `Content-Length:`. A stale
/// `Content-Length:` is always dropped, since it would mislead readers of the new file. Every
/// other field keeps its bytes and order. Line ends follow the block's (CRLF if it ends in
/// CRLF). `block` may lack its terminating blank line; the result always has one.
pub fn render(
    block: &[u8],
    meta: Option<&MessageMeta>,
    folder: Option<&FolderMeta>,
    pseudo: bool,
    content_length: Option<u64>,
) -> Vec<u8> {
    let crlf = block.ends_with(b"\r\n");
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::with_capacity(block.len() + 128);
    let owned: &[&str] = match (meta.is_some(), folder.is_some()) {
        (true, true) => &METADATA_FIELDS,
        (true, false) => &[
            "Status",
            "X-Status",
            "X-Keywords",
            "X-UID",
            "Content-Length",
        ],
        (false, true) => &["X-IMAPbase", "X-IMAP", "Content-Length"],
        (false, false) => &["Content-Length"],
    };
    for f in fields(block) {
        let blank = f.name.is_empty() && (f.raw == b"\n" || f.raw == b"\r\n");
        if blank || owned.iter().any(|n| is_named(&f, n)) {
            continue;
        }
        out.extend_from_slice(f.raw);
        if !f.raw.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
    }
    let mut line = |s: String| {
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(eol);
    };
    if let Some(fm) = folder {
        let name = if pseudo { "X-IMAP" } else { "X-IMAPbase" };
        let mut s = format!("{name}: {} {:010}", fm.uid_validity, fm.uid_last);
        for k in &fm.keywords {
            s.push(' ');
            s.push_str(k);
        }
        line(s);
    }
    if let Some(meta) = meta {
        message_lines(meta, &mut line);
    }
    if let Some(cl) = content_length {
        line(format!("Content-Length: {cl}"));
    }
    out.extend_from_slice(eol);
    out
}

fn message_lines(meta: &MessageMeta, line: &mut impl FnMut(String)) {
    if let Some(uid) = meta.uid {
        line(format!("X-UID: {uid}"));
    }
    let fl = meta.flags;
    let status: String = [(fl.seen, 'R'), (!fl.recent, 'O')]
        .iter()
        .filter(|x| x.0)
        .map(|x| x.1)
        .collect();
    if !status.is_empty() {
        line(format!("Status: {status}"));
    }
    let xs: String = [
        (fl.answered, 'A'),
        (fl.flagged, 'F'),
        (fl.draft, 'T'),
        (fl.deleted, 'D'),
    ]
    .iter()
    .filter(|x| x.0)
    .map(|x| x.1)
    .collect();
    if !xs.is_empty() {
        line(format!("X-Status: {xs}"));
    }
    if !meta.keywords.is_empty() {
        line(format!("X-Keywords: {}", meta.keywords.join(" ")));
    }
}

/// Whether a keyword can be written in `X-Keywords:` and read back: an IMAP atom (RFC 3501
/// §9 `flag-keyword`) without the characters the header uses as separators.
pub fn is_valid_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 128
        && k.bytes()
            .all(|b| b > b' ' && b < 0x7f && !b"(){%*\"\\],]".contains(&b))
}

/// The pseudo-message that keeps folder data in an otherwise empty mbox, in UW IMAP's form
/// (which Dovecot also writes and reads): the message bytes after the `From ` line.
pub fn pseudo_message(folder: &FolderMeta, now: i64, hostname: &str) -> Vec<u8> {
    let meta = MessageMeta {
        flags: Flags {
            seen: true,
            ..Flags::default()
        },
        ..MessageMeta::default()
    };
    let head = format!(
        "Date: {}\nFrom: Mail System Internal Data <MAILER-DAEMON@{hostname}>\nSubject: {PSEUDO_SUBJECT}\nMessage-ID: <{now}@{hostname}>\n",
        rfc2822_date(now)
    );
    let mut out = render(head.as_bytes(), Some(&meta), Some(folder), true, None);
    out.extend_from_slice(
        b"This text is part of the internal format of your mail folder, and is not\n\
a real message.  It is created automatically by the mail system software.\n\
If deleted, important folder data will be lost, and it will be re-created\n\
with the data reset to initial values.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uw_and_dovecot_headers() {
        let h = b"From: a@b\nX-IMAPbase: 1234567890 0000000042 $Label1 Junk\nStatus: RO\nX-Status: AF\nX-Keywords: $Label1  Junk,Work\nX-UID: 7\nSubject: hi\n continued\nContent-Length: 12\n\n";
        let i = parse(h);
        assert_eq!(
            i.meta.flags,
            Flags {
                seen: true,
                answered: true,
                flagged: true,
                ..Flags::default()
            }
        );
        assert_eq!(i.meta.keywords, ["$Label1", "Junk", "Work"]);
        assert_eq!(i.meta.uid, Some(7));
        let f = i.folder.unwrap();
        assert_eq!((f.uid_validity, f.uid_last), (1_234_567_890, 42));
        assert_eq!(f.keywords, ["$Label1", "Junk"]);
        assert_eq!(i.content_length, Some(12));
        assert!(!i.pseudo);
        let (at, len) = uid_last_span(h).unwrap();
        assert_eq!(&h[at..at + len], b"0000000042");
    }

    #[test]
    fn status_absent_means_recent() {
        assert!(parse(b"Subject: x\n\n").meta.flags.recent);
        assert!(!parse(b"Status: O\n\n").meta.flags.recent);
        assert!(parse(b"Status: R\n\n").meta.flags.recent);
        assert_eq!(parse(b"X-UID: 0\n\n").meta.uid, None);
        assert_eq!(parse(b"X-UID: x\n\n").meta.uid, None);
        assert_eq!(parse(b"X-IMAPbase: 0 5\n\n").folder, None);
    }

    #[test]
    fn render_round_trips_and_keeps_other_fields() {
        let h = b"Received: x\n y\nStatus: O\nSubject: s\nX-UID: 3\n\n";
        let meta = MessageMeta {
            flags: Flags {
                seen: true,
                deleted: true,
                draft: true,
                ..Flags::default()
            },
            keywords: vec!["a".into(), "$b".into()],
            uid: Some(9),
        };
        let folder = FolderMeta {
            uid_validity: 5,
            uid_last: 9,
            keywords: vec!["a".into()],
        };
        let out = render(h, Some(&meta), Some(&folder), false, Some(10));
        assert_eq!(
            out,
            b"Received: x\n y\nSubject: s\nX-IMAPbase: 5 0000000009 a\nX-UID: 9\nStatus: RO\nX-Status: TD\nX-Keywords: a $b\nContent-Length: 10\n\n"
        );
        let back = parse(&out);
        assert_eq!(back.meta, meta);
        assert_eq!(back.folder, Some(folder));
        assert_eq!(strip_metadata(&out), b"Received: x\n y\nSubject: s\n\n");
        let crlf = render(b"A: b\r\n\r\n", Some(&meta), None, false, None);
        assert!(crlf.ends_with(b"X-Keywords: a $b\r\n\r\n"));
    }

    #[test]
    fn pseudo_message_is_recognised() {
        let f = FolderMeta {
            uid_validity: 77,
            uid_last: 0,
            keywords: vec![],
        };
        let m = pseudo_message(&f, 0, "host");
        let i = parse(&m[..m.windows(2).position(|w| w == b"\n\n").unwrap() + 2]);
        assert!(i.pseudo);
        assert_eq!(i.folder, Some(f));
    }
}
