//! The DATA/BDAT decoder (with its 64-octet fast path) against a byte-at-a-time reference, on
//! message-like inputs with long clean stretches, rare dots, rare bare CR/LF and long lines,
//! fed in random pieces. Each input goes through both block scans: AVX2 (where the CPU has
//! it) and the portable one.

use mailhub_smtp_proto::{DataDecoder, LineEndings};
use proptest::prelude::*;

#[derive(Debug, Default, PartialEq, Eq)]
struct Result {
    out: Vec<u8>,
    bare: bool,
    long: bool,
    end: Option<usize>,
}

fn reference(wire: &[u8], dots: bool, normalize: bool, max: usize) -> Result {
    let mut r = Result::default();
    let (mut at_start, mut len) = (true, 0usize);
    let mut i = 0;
    while i < wire.len() {
        if dots && at_start && wire[i] == b'.' {
            if wire.get(i + 1..i + 3) == Some(b"\r\n") {
                r.end = Some(i + 3);
                return r;
            }
            if i + 1 >= wire.len() || wire[i + 1] == b'\r' && i + 2 >= wire.len() {
                return r; // needs more input
            }
            len += 1;
            i += 1;
        }
        at_start = false;
        let c = wire[i];
        if c == b'\r' && wire.get(i + 1) == Some(&b'\n') {
            if max != 0 && len + 2 > max {
                r.long = true;
            }
            r.out.extend_from_slice(b"\r\n");
            len = 0;
            at_start = true;
            i += 2;
        } else if c == b'\r' && i + 1 == wire.len() {
            // A final CR waits for its LF.
            if !dots {
                r.bare = true;
                if normalize {
                    r.out.extend_from_slice(b"\r\n");
                }
            }
            return r;
        } else if c == b'\r' || c == b'\n' {
            r.bare = true;
            if normalize {
                r.out.extend_from_slice(b"\r\n");
            }
            len = 0;
            i += 1;
        } else {
            r.out.push(c);
            len += 1;
            i += 1;
        }
    }
    if !dots && len > 0 && max != 0 && len + 2 > max {
        r.long = true;
    }
    r
}

/// The decoder, with the AVX2 scan where this CPU has it (checked, so the AVX2 path is known
/// to run on such a machine), or with the portable scan.
fn decoder(dots: bool, policy: LineEndings, max: usize, portable: bool) -> DataDecoder {
    let d = DataDecoder::new(dots, policy, max);
    if portable {
        let d = d.without_avx2();
        assert!(!d.uses_avx2());
        return d;
    }
    #[cfg(target_arch = "x86_64")]
    assert_eq!(d.uses_avx2(), std::is_x86_feature_detected!("avx2"));
    d
}

/// Both scans' results on the same input.
fn both(wire: &[u8], dots: bool, normalize: bool, max: usize, cuts: &[usize]) -> [Result; 2] {
    [false, true].map(|portable| incremental(wire, dots, normalize, max, cuts, portable))
}

fn incremental(
    wire: &[u8],
    dots: bool,
    normalize: bool,
    max: usize,
    cuts: &[usize],
    portable: bool,
) -> Result {
    let policy = if normalize {
        LineEndings::Normalize
    } else {
        LineEndings::Reject
    };
    let mut d = decoder(dots, policy, max, portable);
    let mut r = Result::default();
    let mut held = Vec::new();
    let mut fed = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    for p in points {
        if p <= fed {
            continue;
        }
        held.extend_from_slice(&wire[fed..p]);
        fed = p;
        let x = d.decode(&held, &mut r.out);
        held.drain(..x.consumed);
        if x.done {
            r.end = Some(fed - held.len());
            break;
        }
    }
    if !dots {
        d.finish(&mut r.out);
    }
    r.bare = d.saw_bare_line_ending();
    r.long = d.saw_long_line();
    r
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![20 => 0usize..120, 2 => 120usize..1100],
        prop_oneof![30 => Just(&b""[..]), 1 => Just(&b"."[..]), 1 => Just(&b".."[..])],
        prop_oneof![60 => Just(&b"\r\n"[..]), 1 => Just(&b"\n"[..]), 1 => Just(&b"\r"[..]), 1 => Just(&b""[..])],
        any::<u8>(),
    )
        .prop_map(|(n, lead, end, seed)| {
            let mut l = lead.to_vec();
            l.extend((0..n).map(|k| b'a' + ((k as u8).wrapping_add(seed)) % 26));
            l.extend_from_slice(end);
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_the_reference(
        lines in prop::collection::vec(line(), 0..60),
        dots in any::<bool>(),
        normalize in any::<bool>(),
        max in prop_oneof![Just(0usize), Just(1000usize), Just(64usize), Just(200usize), Just(400usize), Just(700usize)],
        terminate in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut wire = lines.concat();
        if terminate {
            wire.extend_from_slice(b"\r\n.\r\ntrailing");
        }
        let want = reference(&wire, dots, normalize, max);
        for got in both(&wire, dots, normalize, max, &cuts) {
            // Unterminated DATA: compare only what both produced so far and the flags seen.
            if dots && want.end.is_none() {
                prop_assert!(got.end.is_none());
                prop_assert!(want.out.starts_with(&got.out) || got.out.starts_with(&want.out));
            } else {
                prop_assert_eq!(&got, &want);
            }
        }
    }
}

/// Octets drawn mostly from the ones the decoder looks at, in long runs, so CR, LF and `.`
/// fall on every position of the fast path's 64-octet blocks and across their edges, and whole
/// lines one octet either side of a limit.
fn dense() -> impl Strategy<Value = Vec<u8>> {
    let run = (
        prop_oneof![
            8 => Just(b'a'),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            2 => Just(b'.'),
            1 => any::<u8>(),
        ],
        prop_oneof![4 => 1usize..4, 1 => 4usize..200],
    );
    let crlf = prop_oneof![Just(b"\r\n".to_vec()), Just(b"\r\n.".to_vec())];
    prop::collection::vec(
        prop_oneof![
            3 => run.prop_map(|(b, n)| vec![b; n]),
            2 => crlf,
            // Whole lines one octet either side of the limits tested below.
            2 => prop::sample::select(vec![61usize, 62, 63, 64, 127, 128, 129, 997, 998, 999])
                .prop_map(|n| {
                    let mut l = vec![b'a'; n];
                    l.extend_from_slice(b"\r\n");
                    l
                }),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn dense_octets_match_the_reference(
        wire in dense(),
        dots in any::<bool>(),
        normalize in any::<bool>(),
        max in prop_oneof![Just(0usize), Just(63usize), Just(64usize), Just(65usize), Just(130usize), Just(1000usize)],
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let want = reference(&wire, dots, normalize, max);
        for got in both(&wire, dots, normalize, max, &cuts) {
            if dots && want.end.is_none() {
                // Unterminated: the flags cover the same octets (all but a held `.` or `.\r`).
                prop_assert!(got.end.is_none());
                prop_assert_eq!((got.bare, got.long), (want.bare, want.long));
                prop_assert!(want.out.starts_with(&got.out) || got.out.starts_with(&want.out));
            } else {
                prop_assert_eq!(&got, &want);
            }
        }
    }
}

/// Lines one octet either side of the limit, at every alignment to the fast path's blocks
/// (so each of their octets, the CR among them, is at some point a block's last one).
#[test]
fn lines_at_the_limit_at_every_alignment() {
    for (max, n) in [
        (64, 62),
        (64, 63),
        (100, 98),
        (100, 99),
        (1000, 998),
        (1000, 999),
    ] {
        for pad in 0..64 {
            let mut wire = vec![b'a'; pad];
            wire.extend_from_slice(b"\r\n");
            for _ in 0..3 {
                wire.extend(std::iter::repeat_n(b'b', n));
                wire.extend_from_slice(b"\r\n");
            }
            for _ in 0..5 {
                wire.extend_from_slice(&[b'c'; 40]);
                wire.extend_from_slice(b"\r\n");
            }
            for dots in [false, true] {
                let mut w = wire.clone();
                if dots {
                    w.extend_from_slice(b".\r\n");
                }
                let want = reference(&w, dots, false, max);
                assert_eq!(
                    want.long,
                    n + 2 > max || pad + 2 > max,
                    "max {max} n {n} pad {pad}"
                );
                for cuts in [&[][..], &[pad + 1][..], &[pad + 3, pad + 70][..]] {
                    for (got, scan) in both(&w, dots, false, max, cuts)
                        .iter()
                        .zip(["avx2", "portable"])
                    {
                        assert_eq!(
                            got, &want,
                            "max {max} n {n} pad {pad} dots {dots} cuts {cuts:?} {scan}"
                        );
                    }
                }
            }
        }
    }
}
