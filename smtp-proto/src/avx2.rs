//! The DATA decoder's block scan with AVX2, chosen at run time on x86-64.
//!
//! Same checks as the portable scan in `data.rs` (RFC 5321 §4.1.1.4 end of data, §4.5.2
//! transparency, §2.3.8 CR and LF only as CRLF): a 64-octet block is clean when every LF
//! follows a CR, every CR precedes an LF and (for DATA) no `.` starts a line; the block's LF
//! positions give the line lengths. Anything else stops the scan and the careful path in
//! `data.rs` takes over at that block, so this module only decides how far the fast path may
//! skip, never what the content means.
//!
//! Why `unsafe` here: without `-C target-cpu` flags safe Rust gets only SSE2 (16 octets a
//! compare and a movemask per 16 octets), and the scan's cost is its instruction count. AVX2
//! does a 64-octet block in half the vector instructions and checks the CR/LF pairs and the
//! line-start dots in the registers with one `vptest` per two blocks. On the 10 MB benchmark
//! message (`benches/smtp.rs`, `perf stat -e cycles:u`) the decoder takes 0.135 cycles per
//! octet with this scan, 0.217 with the portable one, and the published `smtp-proto` 0.2
//! (which checks only for `\n.`) 0.142.
//!
//! The only `unsafe` operations are the unaligned loads (each reads 32 octets inside a
//! `&[u8; 65]`) and the call into the `#[target_feature(enable = "avx2,lzcnt")]` loop, made
//! only through an [`Avx2`] token that exists only once the CPU was seen to support both.

use core::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
    _mm256_or_si256, _mm256_set1_epi8, _mm256_testz_si256, _mm256_xor_si256,
};

/// Octets per block: one bit per octet in a `u64`, as in the portable scan.
const BLOCK: usize = 64;

/// Proof that this CPU supports AVX2 and `lzcnt` (only [`Avx2::detect`] makes one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

/// Where the block scan stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Skipped {
    /// The first octet not skipped (a multiple of [`BLOCK`] past the start).
    pub(crate) pos: usize,
    /// Octets of the line still open at `pos`.
    pub(crate) run: usize,
    /// Whether a line that ended in the skipped blocks was longer than the limit.
    pub(crate) long: bool,
}

impl Avx2 {
    /// The token, if the CPU supports AVX2 and `lzcnt`. `std` caches the CPUID answer, so
    /// this is a load and a bit test; the decoder asks once, when it is made.
    pub(crate) fn detect() -> Option<Avx2> {
        // `lzcnt` (one instruction for `leading_zeros`, where `bsr` needs a zero check) came
        // with AVX2 on Intel (Haswell) and before it on AMD; it is checked all the same.
        (std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("lzcnt"))
            .then_some(Avx2(()))
    }

    /// Skips clean [`BLOCK`]-octet blocks from `start` (a line start with `start > 0`), for
    /// DATA (`dots`) or BDAT, with lines of at most `limit` octets (CRLF included) and `limit
    /// >= BLOCK`, so that only a block's first line can be too long.
    pub(crate) fn skip_blocks(
        self,
        input: &[u8],
        start: usize,
        dots: bool,
        limit: usize,
    ) -> Skipped {
        // SAFETY: `self` exists only if `detect` saw AVX2 and `lzcnt` on this CPU, which is
        // all the `target_feature` functions need.
        unsafe {
            if dots {
                skip::<true>(input, start, limit)
            } else {
                skip::<false>(input, start, limit)
            }
        }
    }
}

#[target_feature(enable = "avx2,lzcnt")]
fn skip<const DOTS: bool>(input: &[u8], start: usize, limit: usize) -> Skipped {
    let mut lines = Lines::new(start, limit);
    let mut pos = start;
    // Two blocks a step while both are clean (one branch and one bounds check for both);
    // then one at a time, to stop exactly at the first block that is not.
    while let Some(window) = input.get(pos - 1..pos + 2 * BLOCK) {
        let first: &[u8; BLOCK + 1] = window[..=BLOCK].try_into().expect("BLOCK + 1 octets");
        let second: &[u8; BLOCK + 1] = window[BLOCK..].try_into().expect("BLOCK + 1 octets");
        let (bad_a, lf_a) = block::<DOTS>(first);
        let (bad_b, lf_b) = block::<DOTS>(second);
        if !clean(_mm256_or_si256(bad_a, bad_b)) {
            break;
        }
        lines.step(pos, lf_mask(lf_a));
        lines.step(pos + BLOCK, lf_mask(lf_b));
        pos += 2 * BLOCK;
    }
    while let Some(window) = input.get(pos - 1..pos + BLOCK) {
        let window: &[u8; BLOCK + 1] = window.try_into().expect("BLOCK + 1 octets");
        let (bad, lf) = block::<DOTS>(window);
        if !clean(bad) {
            break;
        }
        lines.step(pos, lf_mask(lf));
        pos += BLOCK;
    }
    Skipped {
        pos,
        run: pos - lines.line_start(),
        long: lines.long,
    }
}

/// The line lengths of the skipped blocks, from their LF bit sets: the last block that had an
/// LF and that bit set, so the open line's start is found only when it is needed.
struct Lines {
    /// The end of the last block with an LF (the scan's start before any).
    last_end: usize,
    /// That block's LF bits (bit 63 alone before any: the line starts at `last_end`).
    mask: u64,
    limit: usize,
    long: bool,
}

impl Lines {
    fn new(start: usize, limit: usize) -> Lines {
        Lines {
            last_end: start,
            mask: 1 << 63,
            limit,
            long: false,
        }
    }

    /// Where the open line starts: after the last LF.
    #[inline(always)]
    fn line_start(&self) -> usize {
        self.last_end - self.mask.leading_zeros() as usize
    }

    /// The block at `pos` with LF bits `lf`.
    #[inline(always)]
    fn step(&mut self, pos: usize, lf: u64) {
        // A line ending in this block started after `last_end - BLOCK` and ends before
        // `pos + BLOCK`; only when that span passes the limit is its exact length needed
        // (with lines of a few dozen octets and a limit of 1000, a branch never taken).
        if pos + 2 * BLOCK - self.last_end > self.limit
            && lf != 0
            && pos + lf.trailing_zeros() as usize + 1 - self.line_start() > self.limit
        {
            self.long = true;
        }
        if lf != 0 {
            self.last_end = pos + BLOCK;
            self.mask = lf;
        }
    }
}

/// Whether a block's (or two blocks') anomaly lanes are all clear.
#[target_feature(enable = "avx2")]
#[inline]
fn clean(bad: __m256i) -> bool {
    _mm256_testz_si256(bad, bad) != 0
}

/// The LF bit set (bit `k` for octet `k` of the block) from the two halves' compare results.
#[target_feature(enable = "avx2")]
#[inline]
fn lf_mask((low, high): (__m256i, __m256i)) -> u64 {
    let low = u64::from(_mm256_movemask_epi8(low).cast_unsigned());
    let high = u64::from(_mm256_movemask_epi8(high).cast_unsigned());
    low | high << 32
}

/// For the block `w[1..]` of a window that starts one octet early: a vector with a lane set
/// for each pair `(w[j - 1], w[j])` that is an LF not after a CR, a CR not before an LF or
/// (with `DOTS`) a `.` after an LF, and the LF compares of the block's two halves. The octet
/// before the block is the LF of a CRLF exactly when the block starts a line, so "after an
/// LF" is "at a line start" here, with no carry between blocks.
#[target_feature(enable = "avx2")]
#[inline]
fn block<const DOTS: bool>(w: &[u8; BLOCK + 1]) -> (__m256i, (__m256i, __m256i)) {
    let p = w.as_ptr();
    // SAFETY: `w` has 65 octets; the loads read `w[0..32]`, `w[1..33]`, `w[32..64]` and
    // `w[33..65]`, all inside it, with no alignment needed (`loadu`).
    let (prev0, cur0, prev1, cur1) = unsafe {
        (
            _mm256_loadu_si256(p.cast::<__m256i>()),
            _mm256_loadu_si256(p.add(1).cast::<__m256i>()),
            _mm256_loadu_si256(p.add(32).cast::<__m256i>()),
            _mm256_loadu_si256(p.add(33).cast::<__m256i>()),
        )
    };
    let cr = _mm256_set1_epi8(b'\r' as i8);
    let lf = _mm256_set1_epi8(b'\n' as i8);
    let lf0 = _mm256_cmpeq_epi8(cur0, lf);
    let lf1 = _mm256_cmpeq_epi8(cur1, lf);
    let mut bad = _mm256_or_si256(
        _mm256_xor_si256(lf0, _mm256_cmpeq_epi8(prev0, cr)),
        _mm256_xor_si256(lf1, _mm256_cmpeq_epi8(prev1, cr)),
    );
    if DOTS {
        let dot = _mm256_set1_epi8(b'.' as i8);
        let start0 = _mm256_and_si256(_mm256_cmpeq_epi8(prev0, lf), _mm256_cmpeq_epi8(cur0, dot));
        let start1 = _mm256_and_si256(_mm256_cmpeq_epi8(prev1, lf), _mm256_cmpeq_epi8(cur1, dot));
        bad = _mm256_or_si256(bad, _mm256_or_si256(start0, start1));
    }
    (bad, (lf0, lf1))
}
