//! Message content on the wire: incremental dot-unstuffing with the bare-CR/LF policy
//! ([`DataDecoder`]) and dot-stuffing ([`DataEncoder`]).
//!
//! RFC 5321 §4.1.1.4 (DATA ends with `CRLF . CRLF`, and nothing else ends it), §4.5.2
//! (transparency: a leading `.` is doubled by the sender and removed by the receiver) and
//! §2.3.8 (CR and LF only as CRLF). A bare CR or bare LF is where SMTP smuggling lives:
//! `\n.\n`, `\r.\r`, `\n.\r\n` and friends end the message for one implementation and not for
//! another, so a second message can hide inside the first. Here only `CRLF . CRLF` ends the
//! content, and a bare CR or LF anywhere is, by [`LineEndings`] policy, either a reason to
//! reject the whole message or rewritten to CRLF — never a line boundary for dot handling.
//!
//! The scan checks 64-octet blocks at a time: the CR/LF pairing with vector compares, then the
//! block's LF positions as a bit set (line starts, line lengths and the `.` that may start a line
//! follow from it with a few integer operations, whatever the number of lines), and sends
//! only the spots where something happens (a dot at a line start, a bare CR or LF) to a careful
//! path that jumps from line end to line end with `memchr2`. Content is copied in whole runs
//! between those spots, so a clean message moves at memory speed.

use wide::u8x16;

/// What to do with a CR not followed by LF, or an LF not preceded by CR, in message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEndings {
    /// Reject the message with a 5xx reply after its end (the default, and the safe choice).
    #[default]
    Reject,
    /// Rewrite each bare CR and bare LF to CRLF. A line that starts after a bare line end is
    /// still not a place where `.` ends or is unstuffed: only CRLF opens a line.
    Normalize,
}

/// Incremental decoder of DATA content (with dots) or BDAT content (without).
#[derive(Debug, Clone)]
pub struct DataDecoder {
    dots: bool,
    policy: LineEndings,
    /// 0: no limit. Counts octets including CRLF (RFC 5321 §4.5.3.1.6).
    max_line: usize,
    at_line_start: bool,
    pending_cr: bool,
    line_len: usize,
    bare: bool,
    long_line: bool,
    /// Set when the CPU has AVX2: the fast path then scans with it.
    #[cfg(target_arch = "x86_64")]
    avx2: Option<crate::avx2::Avx2>,
}

/// The result of one [`DataDecoder::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used; the rest (at most two bytes, a `.` or `.\r` at a line start) must be
    /// offered again with more input.
    pub consumed: usize,
    /// Whether the end of data (`CRLF . CRLF`) was found; `consumed` includes it.
    pub done: bool,
}

impl DataDecoder {
    /// A decoder for DATA (`dots`: unstuff and find the terminator) or BDAT (`!dots`).
    /// `max_line` 0 means no line limit.
    pub fn new(dots: bool, policy: LineEndings, max_line: usize) -> DataDecoder {
        DataDecoder {
            dots,
            policy,
            max_line,
            at_line_start: true,
            pending_cr: false,
            line_len: 0,
            bare: false,
            long_line: false,
            #[cfg(target_arch = "x86_64")]
            avx2: crate::avx2::Avx2::detect(),
        }
    }

    /// Makes the fast path use the portable scan even where AVX2 is available, so tests can
    /// check both scans against the same reference.
    #[doc(hidden)]
    pub fn without_avx2(mut self) -> DataDecoder {
        #[cfg(target_arch = "x86_64")]
        {
            self.avx2 = None;
        }
        self
    }

    /// Whether the fast path scans with AVX2 (for tests that must know which scan ran).
    #[doc(hidden)]
    pub fn uses_avx2(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.avx2.is_some()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether a bare CR or LF was seen (with [`LineEndings::Reject`] the message must be
    /// refused).
    pub fn saw_bare_line_ending(&self) -> bool {
        self.bare
    }

    /// Whether a line longer than the limit was seen.
    pub fn saw_long_line(&self) -> bool {
        self.long_line
    }

    fn bare_found(&mut self, out: &mut Vec<u8>) {
        self.bare = true;
        if self.policy == LineEndings::Normalize {
            out.extend_from_slice(b"\r\n");
        }
        self.line_len = 0;
    }

    fn line_end(&mut self) {
        if self.max_line != 0 && self.line_len + 2 > self.max_line {
            self.long_line = true;
        }
        self.line_len = 0;
        self.at_line_start = true;
    }

    /// Decodes `input`, appending content to `out`. Unless `done`, call again with the
    /// unconsumed bytes followed by more input.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Decoded {
        let len = input.len();
        let mut i = 0;
        if self.pending_cr && len > 0 {
            self.pending_cr = false;
            if input[0] == b'\n' {
                out.extend_from_slice(b"\r\n");
                i = 1;
                self.line_end();
            } else {
                // A CR that ended the previous input and is not followed by LF.
                self.bare_found(out);
            }
        }
        let mut seg = i;
        loop {
            if self.at_line_start
                && i > 0
                && len - i >= 2 * BLOCK
                && (self.max_line == 0 || self.max_line >= BLOCK)
            {
                i = self.skip_clean(input, i);
            }
            if self.at_line_start && self.dots {
                if i >= len {
                    break;
                }
                if input[i] == b'.' {
                    if i + 1 >= len {
                        out.extend_from_slice(&input[seg..i]);
                        return Decoded {
                            consumed: i,
                            done: false,
                        };
                    }
                    if input[i + 1] == b'\r' {
                        if i + 2 >= len {
                            out.extend_from_slice(&input[seg..i]);
                            return Decoded {
                                consumed: i,
                                done: false,
                            };
                        }
                        if input[i + 2] == b'\n' {
                            out.extend_from_slice(&input[seg..i]);
                            return Decoded {
                                consumed: i + 3,
                                done: true,
                            };
                        }
                    }
                    // Transparency: drop the leading dot.
                    out.extend_from_slice(&input[seg..i]);
                    i += 1;
                    seg = i;
                    self.line_len += 1;
                }
            }
            self.at_line_start = false;
            match memchr::memchr2(b'\r', b'\n', &input[i..]) {
                None => {
                    self.line_len += len - i;
                    break;
                }
                Some(k) => {
                    let p = i + k;
                    self.line_len += k;
                    if input[p] == b'\r' {
                        if p + 1 >= len {
                            out.extend_from_slice(&input[seg..p]);
                            self.pending_cr = true;
                            return Decoded {
                                consumed: len,
                                done: false,
                            };
                        }
                        if input[p + 1] == b'\n' {
                            i = p + 2;
                            self.line_end();
                            continue;
                        }
                    }
                    // A bare CR (followed by something else) or a bare LF.
                    out.extend_from_slice(&input[seg..p]);
                    self.bare_found(out);
                    i = p + 1;
                    seg = i;
                }
            }
        }
        out.extend_from_slice(&input[seg..len]);
        Decoded {
            consumed: len,
            done: false,
        }
    }

    /// The fast path: from a line start, skips [`BLOCK`]-octet blocks in which every LF follows
    /// a CR, every CR precedes an LF and no `.` starts a line, so they need no work but the
    /// copy. Each block's LF positions become a bit set (one bit per octet): line starts,
    /// line lengths and the place of a `.` that would start a line follow from it with a few
    /// integer operations. The blocks are scanned with AVX2 where the CPU has it
    /// (`crate::avx2`), else with the portable [`skip_blocks`]. Returns where the careful path
    /// takes over (at the first block that is not clean, or near the end of the input), with
    /// the line state set for it. Needs
    /// `start > 0` (the octet before the first block is read) and `max_line` 0 or at least
    /// [`BLOCK`], so that only a block's first line can be too long.
    fn skip_clean(&mut self, input: &[u8], start: usize) -> usize {
        let limit = match self.max_line {
            0 => usize::MAX,
            m => m,
        };
        #[cfg(target_arch = "x86_64")]
        let skipped = match self.avx2 {
            Some(avx2) => avx2.skip_blocks(input, start, self.dots, limit),
            None => skip_blocks(input, start, self.dots, limit),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let skipped = skip_blocks(input, start, self.dots, limit);
        let Skipped { pos, run, long } = skipped;
        if long {
            self.long_line = true;
        }
        if pos == start {
            return start;
        }
        if input[pos - 1] == b'\r' {
            // Leave the CR to the careful path, which must see it with its LF.
            self.line_len = run - 1;
            self.at_line_start = false;
            pos - 1
        } else {
            self.line_len = run;
            // The octet before a clean block's end is an LF only as the end of a CRLF.
            self.at_line_start = input[pos - 1] == b'\n';
            pos
        }
    }

    /// Ends BDAT content: a CR still waiting for its LF is bare.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            self.bare_found(out);
        }
        if self.line_len > 0 && self.max_line != 0 && self.line_len + 2 > self.max_line {
            self.long_line = true;
        }
    }
}

/// Octets checked per step of the fast path: one bit per octet in a `u64`.
const BLOCK: usize = 64;

#[cfg(target_arch = "x86_64")]
use crate::avx2::Skipped;

/// Where the block scan stopped.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy)]
struct Skipped {
    /// The first octet not skipped (a multiple of [`BLOCK`] past the start).
    pos: usize,
    /// Octets of the line still open at `pos`.
    run: usize,
    /// Whether a line that ended in the skipped blocks was longer than the limit.
    long: bool,
}

/// The portable block scan (every target, and x86-64 without AVX2): skips clean blocks from
/// `start` (a line start, `start > 0`) for DATA (`dots`) or BDAT, lines of at most `limit`
/// octets, `limit >= BLOCK`.
fn skip_blocks(input: &[u8], start: usize, dots: bool, limit: usize) -> Skipped {
    // At a line start the octet before is the LF of a CRLF.
    let mut prev_lf = 1u64;
    let mut long = false;
    // Octets of the current line before the block (its CR included, if it ends the block).
    let mut run = 0usize;
    let mut pos = start;
    while let Some(window) = input.get(pos - 1..pos + BLOCK) {
        let window: &[u8; BLOCK + 1] = window.try_into().expect("BLOCK + 1 octets");
        let (bad_pair, lf) = block_scan(window);
        if bad_pair {
            break;
        }
        let starts = (lf << 1) | prev_lf;
        if dots && starts != 0 {
            // Usually one line starts in a block, seldom more than two: look at the first
            // and the last; find all the dots only when there are more.
            let block = &window[1..];
            let first = block[starts.trailing_zeros() as usize];
            let last = block[(BLOCK - 1) - starts.leading_zeros() as usize];
            if first == b'.'
                || last == b'.'
                || (more_than_two(starts) && dot_mask(block) & starts != 0)
            {
                break;
            }
        }
        if lf == 0 {
            run += BLOCK;
        } else {
            // Octets of the line ending at the block's first LF, CRLF included.
            if run + lf.trailing_zeros() as usize + 1 > limit {
                long = true;
            }
            run = lf.leading_zeros() as usize;
        }
        prev_lf = lf >> (BLOCK - 1);
        pos += BLOCK;
    }
    Skipped { pos, run, long }
}

/// For the block `w[1..]` of a window that starts one octet early: whether a pair
/// `(w[j - 1], w[j])` has an LF not after a CR or a CR not before an LF, and the LF positions
/// as a bit set (bit `k` for `w[1 + k]`). Sixteen-octet vector compares through `wide` (SSE2 on
/// any x86-64, NEON on aarch64); the pair check stays in vector registers, so a block costs
/// only five movemasks.
#[inline(always)]
fn block_scan(w: &[u8; BLOCK + 1]) -> (bool, u64) {
    let (cr_v, lf_v) = (u8x16::splat(b'\r'), u8x16::splat(b'\n'));
    let mut bad = u8x16::splat(0);
    let mut lf = 0u64;
    for c in 0..BLOCK / 16 {
        let prev = load(&w[c * 16..c * 16 + 16]);
        let cur = load(&w[c * 16 + 1..c * 16 + 17]);
        let is_lf = cur.cmp_eq(lf_v);
        bad |= is_lf ^ prev.cmp_eq(cr_v);
        lf |= u64::from(is_lf.move_mask().cast_unsigned()) << (c * 16);
    }
    (bad.any(), lf)
}

/// Whether `x` has more than two bits set (`count_ones` is a slow loop without `popcnt`,
/// which baseline x86-64 lacks).
#[inline(always)]
fn more_than_two(x: u64) -> bool {
    let x = x & x.wrapping_sub(1);
    x & x.wrapping_sub(1) != 0
}

/// Sixteen octets into a vector register (`b` has exactly 16).
#[inline(always)]
fn load(b: &[u8]) -> u8x16 {
    u8x16::from(<[u8; 16]>::try_from(b).expect("16 octets"))
}

/// The `.` positions of a block as a bit set.
fn dot_mask(b: &[u8]) -> u64 {
    let dot_v = u8x16::splat(b'.');
    let mut dot = 0u64;
    for (c, lane) in b.chunks_exact(16).enumerate() {
        let v = load(lane);
        dot |= u64::from(v.cmp_eq(dot_v).move_mask().cast_unsigned()) << (c * 16);
    }
    dot
}

/// Incremental dot-stuffing for a client sending DATA. Bare CR and bare LF in the caller's
/// content are written as CRLF, so this client can never be the one that sends `\n.\n`.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    at_line_start: bool,
    pending_cr: bool,
    /// False for BDAT content: line ends are made CRLF but dots are left alone.
    stuff: bool,
}

impl Default for DataEncoder {
    fn default() -> Self {
        DataEncoder::new()
    }
}

impl DataEncoder {
    /// A fresh encoder for DATA (at the start of a line).
    pub fn new() -> DataEncoder {
        DataEncoder {
            at_line_start: true,
            pending_cr: false,
            stuff: true,
        }
    }

    /// An encoder for BDAT content (RFC 3030 with 7BIT or 8BITMIME): bare CR and LF become
    /// CRLF, dots stay as they are.
    pub fn new_bdat() -> DataEncoder {
        DataEncoder {
            stuff: false,
            ..DataEncoder::new()
        }
    }

    /// Encodes one piece of content.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let len = input.len();
        let mut i = 0;
        if self.pending_cr && len > 0 {
            self.pending_cr = false;
            out.extend_from_slice(b"\r\n");
            if input[0] == b'\n' {
                i = 1;
            }
            self.at_line_start = true;
        }
        let mut seg = i;
        loop {
            if self.at_line_start {
                if i >= len {
                    break;
                }
                if input[i] == b'.' && self.stuff {
                    out.extend_from_slice(&input[seg..i]);
                    out.push(b'.');
                    seg = i;
                }
                self.at_line_start = false;
            }
            match memchr::memchr2(b'\r', b'\n', &input[i..]) {
                None => break,
                Some(k) => {
                    let p = i + k;
                    if input[p] == b'\r' {
                        if p + 1 >= len {
                            out.extend_from_slice(&input[seg..p]);
                            self.pending_cr = true;
                            return;
                        }
                        if input[p + 1] == b'\n' {
                            i = p + 2;
                            self.at_line_start = true;
                            continue;
                        }
                    }
                    out.extend_from_slice(&input[seg..p]);
                    out.extend_from_slice(b"\r\n");
                    i = p + 1;
                    seg = i;
                    self.at_line_start = true;
                }
            }
        }
        out.extend_from_slice(&input[seg..len]);
    }

    /// Writes the end of data: a CRLF if the content did not end with one, then `.` CRLF.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = DataEncoder::new();
    }

    /// Ends BDAT content: a CR held back from the last piece is written as CRLF.
    pub fn finish_bdat(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            out.extend_from_slice(b"\r\n");
        }
        *self = DataEncoder::new_bdat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], policy: LineEndings, step: usize) -> (Vec<u8>, bool, usize) {
        let mut d = DataDecoder::new(true, policy, 1000);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut fed = 0;
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            fed += piece.len();
            let r = d.decode(&buf, &mut out);
            buf.drain(..r.consumed);
            if r.done {
                return (out, d.saw_bare_line_ending(), fed - buf.len());
            }
        }
        (out, d.saw_bare_line_ending(), usize::MAX)
    }

    #[test]
    fn unstuffs_in_any_split() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nafter";
        for step in 1..wire.len() {
            let (out, bare, end) = decode_all(wire, LineEndings::Reject, step);
            assert_eq!(out, b"Subject: x\r\n\r\n.leading dot\r\n", "step {step}");
            assert!(!bare);
            assert_eq!(end, wire.len() - 5, "step {step}");
        }
    }

    #[test]
    fn empty_message_and_first_line_dot() {
        assert_eq!(decode_all(b".\r\n", LineEndings::Reject, 3).0, b"");
        assert_eq!(
            decode_all(b"..a\r\n.\r\n", LineEndings::Reject, 2).0,
            b".a\r\n"
        );
    }

    #[test]
    fn bare_endings() {
        let (out, bare, end) = decode_all(b"a\n.\nb\r\n.\r\n", LineEndings::Reject, 4);
        assert!(bare);
        assert_eq!(end, 10);
        assert_eq!(out, b"a.b\r\n");
        let (out, bare, _) = decode_all(b"a\n.\nb\r\r\n.\r\n", LineEndings::Normalize, 3);
        assert!(bare);
        assert_eq!(out, b"a\r\n.\r\nb\r\n\r\n");
    }

    #[test]
    fn encoder_round_trip() {
        let body = b"line\r\n.dot\r\n..two\r\nbare\nlf\rcr\r\nend";
        for step in 1..body.len() {
            let mut e = DataEncoder::new();
            let mut wire = Vec::new();
            for piece in body.chunks(step) {
                e.encode(piece, &mut wire);
            }
            e.finish(&mut wire);
            let (out, bare, end) = decode_all(&wire, LineEndings::Reject, 7);
            assert!(!bare);
            assert_eq!(end, wire.len());
            assert_eq!(out, b"line\r\n.dot\r\n..two\r\nbare\r\nlf\r\ncr\r\nend\r\n");
        }
    }
}
