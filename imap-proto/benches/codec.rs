//! Criterion benches of the codec, with the published `imap-codec` crate (1.0) parsing the same
//! inputs as a side-by-side reference (the command and response mixes hold only what both
//! accept: imap-codec 1.0 rejects `SELECT … (CONDSTORE)`, `CHANGEDSINCE` and `UID EXPUNGE`):
//!
//! - `commands`: a mix of typical client commands (bytes/s);
//! - `responses`: a mix of typical server responses (bytes/s);
//! - `fetch_large`: one FETCH response with ENVELOPE, a nested BODYSTRUCTURE and a 1 MiB
//!   `BODY[]` literal; `fetch_batch`: 1,000 FETCH responses with FLAGS, ENVELOPE and
//!   BODYSTRUCTURE;
//! - `search_3m`: `* SEARCH` with 3,000,000 UIDs, and `* ESEARCH … ALL` with 3,000,000
//!   non-adjacent UIDs (framing and parsing; imap-codec 1.0 has no ESEARCH);
//! - `literal`: a literal of 1, 10 and 100 MiB fed to the framer 1 KiB at a time, streamed and
//!   buffered — the time per byte stays flat when the cost is linear.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use imap_codec::decode::Decoder;
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::{Command, Response};

const COMMANDS: &[&str] = &[
    "a001 CAPABILITY\r\n",
    "a002 LOGIN \"fred@example.com\" \"correct horse battery staple\"\r\n",
    "a003 SELECT INBOX\r\n",
    "a004 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (DATE FROM TO CC SUBJECT MESSAGE-ID)])\r\n",
    "a005 UID SEARCH CHARSET UTF-8 OR (UNSEEN FROM \"Smith\") (SINCE 1-Feb-2024 NOT DELETED LARGER 10000)\r\n",
    "a006 UID STORE 1:100,200,300:400 +FLAGS.SILENT (\\Seen $Forwarded)\r\n",
    "a007 LIST \"\" \"*\"\r\n",
    "a008 STATUS \"Sent Items\" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)\r\n",
    "a009 UID COPY 1:5 Archive/2024\r\n",
    "a010 APPEND Drafts (\\Draft) \" 7-Feb-1994 21:52:25 -0800\" {65}\r\nFrom: a@example.com\r\nSubject: draft\r\n\r\nHello there, this is it.\r\n\r\n",
    "a011 UID FETCH 4827313:4828442 (FLAGS)\r\n",
    "a012 NOOP\r\n",
    "a013 IDLE\r\n",
    "a014 EXPUNGE\r\n",
    "a015 LOGOUT\r\n",
];

const RESPONSES: &[&str] = &[
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n",
    "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY LITERAL+ NOTIFY SPECIAL-USE\r\n",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk)\r\n",
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk \\*)] Flags permitted.\r\n",
    "* 1843 EXISTS\r\n",
    "* OK [UIDVALIDITY 1709999999] UIDs valid\r\n",
    "* OK [UIDNEXT 4829] Predicted next UID\r\n",
    "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
    "a003 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n",
    "* 12 FETCH (UID 4827 FLAGS (\\Seen $Forwarded) RFC822.SIZE 4286 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n",
    "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n",
    "* STATUS \"Sent Items\" (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1709999999 UNSEEN 0)\r\n",
    "* SEARCH 2 84 882 1024 2048 4096\r\n",
    "a009 OK [COPYUID 1709999999 1:5 4829:4833] Copy completed.\r\n",
    "+ idling\r\n",
    "* 44 EXPUNGE\r\n",
];

const ENVELOPE: &str = "ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")";
const BODYSTRUCTURE: &str = "BODYSTRUCTURE (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 1152 23 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 4554 73 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b2\") NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL NIL \"base64\" 201844 NIL (\"attachment\" (\"filename\" \"report.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)";

fn fetch_line(seq: u32) -> String {
    format!(
        "* {seq} FETCH (UID {seq} FLAGS (\\Seen) RFC822.SIZE 207550 {ENVELOPE} {BODYSTRUCTURE})\r\n"
    )
}

fn large_fetch() -> Vec<u8> {
    let body: Vec<u8> = (0..1024 * 1024)
        .map(|i| {
            if i % 78 == 77 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut v = format!(
        "* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE {} {ENVELOPE} {BODYSTRUCTURE} BODY[] {{{}}}\r\n",
        body.len(),
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(&body);
    v.extend_from_slice(b")\r\n");
    v
}

fn search_3m() -> Vec<u8> {
    let mut v = Vec::with_capacity(24 * 1024 * 1024);
    v.extend_from_slice(b"* SEARCH");
    for n in 1..=3_000_000u32 {
        v.push(b' ');
        v.extend_from_slice(n.to_string().as_bytes());
    }
    v.extend_from_slice(b"\r\n");
    v
}

fn esearch_3m() -> Vec<u8> {
    let mut v = Vec::with_capacity(24 * 1024 * 1024);
    v.extend_from_slice(b"* ESEARCH (TAG \"a1\") UID ALL ");
    for n in 0..3_000_000u32 {
        if n > 0 {
            v.push(b',');
        }
        v.extend_from_slice((2 * n + 1).to_string().as_bytes());
    }
    v.extend_from_slice(b"\r\n");
    v
}

/// Frames and parses every response in `input` (client side), returning how many parsed.
fn frame_and_parse(input: &[u8], limits: &Limits) -> usize {
    let mut f = Framer::new(Side::Client, limits.clone());
    f.handle_input(input);
    let mut n = 0;
    while let Some(e) = f.poll_event() {
        match e {
            FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
            FrameEvent::Unit(u) => {
                Response::parse_with_limits(&u, limits).unwrap();
                n += 1;
            }
            e => panic!("{e:?}"),
        }
    }
    n
}

/// Reports inputs a parser rejects (none should be), so that a bench never times an error.
fn check_inputs() {
    let cc = imap_codec::CommandCodec::default();
    let rc = imap_codec::ResponseCodec::default();
    for s in COMMANDS {
        assert!(Command::parse(s.as_bytes()).is_ok(), "{s}");
        if cc.decode(s.as_bytes()).is_err() {
            eprintln!("imap-codec rejects command {s:?}");
        }
    }
    for s in RESPONSES {
        assert!(Response::parse(s.as_bytes()).is_ok(), "{s}");
        if rc.decode(s.as_bytes()).is_err() {
            eprintln!("imap-codec rejects response {s:?}");
        }
    }
}

fn commands(c: &mut Criterion) {
    check_inputs();
    let bytes: usize = COMMANDS.iter().map(|s| s.len()).sum();
    let mut g = c.benchmark_group("commands");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mailhub", |b| {
        b.iter(|| {
            for s in COMMANDS {
                std::hint::black_box(Command::parse(s.as_bytes()).unwrap());
            }
        });
    });
    let codec = imap_codec::CommandCodec::default();
    g.bench_function("imap-codec", |b| {
        b.iter(|| {
            for s in COMMANDS {
                std::hint::black_box(codec.decode(s.as_bytes()).unwrap());
            }
        });
    });
    g.finish();
}

fn responses(c: &mut Criterion) {
    let bytes: usize = RESPONSES.iter().map(|s| s.len()).sum();
    let mut g = c.benchmark_group("responses");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mailhub", |b| {
        b.iter(|| {
            for s in RESPONSES {
                std::hint::black_box(Response::parse(s.as_bytes()).unwrap());
            }
        });
    });
    let codec = imap_codec::ResponseCodec::default();
    g.bench_function("imap-codec", |b| {
        b.iter(|| {
            for s in RESPONSES {
                std::hint::black_box(codec.decode(s.as_bytes()).unwrap());
            }
        });
    });
    g.finish();
}

fn fetch(c: &mut Criterion) {
    let codec = imap_codec::ResponseCodec::default();
    let large = large_fetch();
    let mut g = c.benchmark_group("fetch_large");
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("mailhub", |b| {
        b.iter(|| Response::parse(std::hint::black_box(&large)).unwrap())
    });
    g.bench_function("imap-codec", |b| {
        b.iter(|| codec.decode(std::hint::black_box(&large)).unwrap())
    });
    g.finish();

    let lines: Vec<String> = (1..=1000).map(fetch_line).collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut g = c.benchmark_group("fetch_batch");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("mailhub", |b| {
        b.iter(|| {
            for l in &lines {
                std::hint::black_box(Response::parse(l.as_bytes()).unwrap());
            }
        });
    });
    g.bench_function("imap-codec", |b| {
        b.iter(|| {
            for l in &lines {
                std::hint::black_box(codec.decode(l.as_bytes()).unwrap());
            }
        });
    });
    g.finish();
    eprintln!("fetch_batch: {} responses, {bytes} bytes", lines.len());
}

fn search(c: &mut Criterion) {
    let codec = imap_codec::ResponseCodec::default();
    let limits = Limits::client().with_max_line_length(64 * 1024 * 1024);
    let mut g = c.benchmark_group("search_3m");
    g.sample_size(10);
    let s = search_3m();
    g.throughput(Throughput::Elements(3_000_000));
    g.bench_function("mailhub SEARCH frame+parse", |b| {
        b.iter(|| frame_and_parse(&s, &limits))
    });
    g.bench_function("mailhub SEARCH parse", |b| {
        b.iter(|| Response::parse(&s).unwrap())
    });
    g.bench_function("imap-codec SEARCH parse", |b| {
        b.iter(|| codec.decode(&s).unwrap())
    });
    let e = esearch_3m();
    g.bench_function("mailhub ESEARCH frame+parse", |b| {
        b.iter(|| frame_and_parse(&e, &limits))
    });
    g.finish();
}

fn literal(c: &mut Criterion) {
    let mut g = c.benchmark_group("literal");
    g.sample_size(10);
    let chunk = vec![b'x'; 1024];
    for mib in [1usize, 10, 100] {
        let len = mib * 1024 * 1024;
        g.throughput(Throughput::Bytes(len as u64));
        for stream in [true, false] {
            let name = if stream { "streamed" } else { "buffered" };
            g.bench_with_input(
                BenchmarkId::new(name, format!("{mib}MiB")),
                &len,
                |b, &len| {
                    b.iter(|| {
                        let limits = Limits::server()
                            .with_max_unit_size(len + 1024)
                            .with_max_literal_size(len as u64);
                        let mut f = Framer::new(Side::Server, limits);
                        f.handle_input(format!("A1 APPEND INBOX {{{len}}}\r\n").as_bytes());
                        assert!(matches!(
                            f.poll_event(),
                            Some(FrameEvent::LiteralAnnounced { .. })
                        ));
                        if stream {
                            f.stream_literal().unwrap()
                        } else {
                            f.accept_literal().unwrap()
                        }
                        let mut seen = 0;
                        let mut fed = 0;
                        while fed < len {
                            f.handle_input(&chunk);
                            fed += chunk.len();
                            while let Some(e) = f.poll_event() {
                                if let FrameEvent::LiteralChunk { data, .. } = e {
                                    seen += data.len();
                                }
                            }
                        }
                        f.handle_input(b"\r\n");
                        let Some(FrameEvent::Unit(u)) = f.poll_event() else {
                            panic!()
                        };
                        // "A1 APPEND INBOX {n}\r\n" + literal + "\r\n", wherever the octets went.
                        assert_eq!(seen + u.len(), len + 22 + len.to_string().len());
                    });
                },
            );
        }
    }
    g.finish();
}

// criterion_group! defines an undocumented pub fn; keep the allow on that one item.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::commands,
        super::responses,
        super::fetch,
        super::search,
        super::literal
    );
}
criterion_main!(group::benches);
