//! Incremental dot-stuffing and unstuffing of multi-line bodies (RFC 1939 §3).
//!
//! A message travels as lines; a line that starts with "." gets one more "." in front, and the
//! body ends with a line holding only ".". Both directions work on chunks of any size, keep a
//! few bits of state between chunks and never hold a whole message.
//!
//! [`DotStuffer`] also turns bare LF line ends into CRLF (Maildir and mbox files keep LF; POP3
//! requires CRLF, RFC 1939 §3), adds the missing line end when a message does not end with
//! one, so that the final "." is always on its own line, and cuts TOP output after the header
//! and the requested number of body lines (RFC 1939 §7).

use memchr::memchr;

/// Dot-stuffs a message for RETR or TOP, chunk by chunk.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    prev_cr: bool,
    /// For TOP: body lines still to send, `None` for RETR.
    top_lines: Option<u32>,
    in_header: bool,
    line_blank: bool,
    done: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// A stuffer for a whole message (RETR).
    pub fn new() -> Self {
        DotStuffer {
            at_line_start: true,
            prev_cr: false,
            top_lines: None,
            in_header: true,
            line_blank: true,
            done: false,
        }
    }

    /// A stuffer that passes the header, the blank line after it, and `lines` body lines (TOP).
    pub fn top(lines: u32) -> Self {
        DotStuffer {
            top_lines: Some(lines),
            ..Self::new()
        }
    }

    /// Whether TOP has sent all it should: further chunks are ignored, so the caller can stop
    /// reading the message.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stuffs `chunk` onto `out`. Returns `false` once TOP needs no more input.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) -> bool {
        out.reserve(chunk.len() + chunk.len() / 64 + 2);
        while !chunk.is_empty() && !self.done {
            let (seg, ends_line) = match memchr(b'\n', chunk) {
                Some(i) => (&chunk[..=i], true),
                None => (chunk, false),
            };
            chunk = &chunk[seg.len()..];
            if self.at_line_start && seg[0] == b'.' {
                out.push(b'.');
            }
            if !ends_line {
                out.extend_from_slice(seg);
                self.line_blank &= seg.iter().all(|&b| b == b'\r');
                self.prev_cr = seg[seg.len() - 1] == b'\r';
                self.at_line_start = false;
                continue;
            }
            let body = &seg[..seg.len() - 1];
            let cr_before = match body.last() {
                Some(&b) => b == b'\r',
                None => self.prev_cr,
            };
            out.extend_from_slice(body);
            out.extend_from_slice(if cr_before { b"\n" } else { b"\r\n" });
            self.line_blank &= body.iter().all(|&b| b == b'\r');
            self.end_line();
        }
        !self.done
    }

    fn end_line(&mut self) {
        self.at_line_start = true;
        self.prev_cr = false;
        if let Some(left) = self.top_lines.as_mut() {
            if self.in_header {
                if self.line_blank {
                    self.in_header = false;
                    self.done = *left == 0;
                }
            } else {
                *left = left.saturating_sub(1);
                self.done = *left == 0;
            }
        }
        self.line_blank = true;
    }

    /// Ends the body: completes the last line if the message did not end with one, then
    /// writes the terminating ".".
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(if self.prev_cr { b"\n" } else { b"\r\n" });
        }
        out.extend_from_slice(b".\r\n");
        self.done = true;
        self.at_line_start = true;
    }
}

/// What [`DotUnstuffer::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "unconsumed bytes must be offered again, and the end of the body acted on"]
pub struct Unstuffed {
    /// How many input bytes were used. Bytes after the terminating line belong to the next
    /// response; up to two bytes of a possible terminator are left for the next call.
    pub consumed: usize,
    /// Whether the terminating "." line was read.
    pub done: bool,
}

/// Removes dot-stuffing from a multi-line body as it arrives, and finds its end.
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    at_line_start: bool,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotUnstuffer {
    /// An unstuffer positioned at the start of the body (after the `+OK` line).
    pub fn new() -> Self {
        DotUnstuffer {
            at_line_start: true,
        }
    }

    /// Appends the unstuffed content of `input` to `out`. The terminating line is not part of
    /// the content; a bare LF after the "." is accepted as its end too.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Unstuffed {
        let mut i = 0;
        while i < input.len() {
            if self.at_line_start {
                self.at_line_start = false;
                if input[i] == b'.' {
                    match (input.get(i + 1), input.get(i + 2)) {
                        (Some(b'\n'), _) => {
                            return Unstuffed {
                                consumed: i + 2,
                                done: true,
                            };
                        }
                        (Some(b'\r'), Some(b'\n')) => {
                            return Unstuffed {
                                consumed: i + 3,
                                done: true,
                            };
                        }
                        (None, _) | (Some(b'\r'), None) => {
                            self.at_line_start = true;
                            return Unstuffed {
                                consumed: i,
                                done: false,
                            };
                        }
                        _ => i += 1,
                    }
                }
            }
            match memchr(b'\n', &input[i..]) {
                Some(p) => {
                    out.extend_from_slice(&input[i..=i + p]);
                    i += p + 1;
                    self.at_line_start = true;
                }
                None => {
                    out.extend_from_slice(&input[i..]);
                    i = input.len();
                }
            }
        }
        Unstuffed {
            consumed: i,
            done: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(chunks: &[&[u8]], top: Option<u32>) -> Vec<u8> {
        let mut s = top.map_or_else(DotStuffer::new, DotStuffer::top);
        let mut out = Vec::new();
        for c in chunks {
            let _ = s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn stuffs_and_terminates() {
        assert_eq!(stuff(&[b"a\r\n.b\r\n"], None), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff(&[b"a\n.", b"\n"], None), b"a\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b"no end"], None), b"no end\r\n.\r\n");
        assert_eq!(stuff(&[b"cr at end\r"], None), b"cr at end\r\n.\r\n");
        assert_eq!(
            stuff(&[b"x\r", b"\n.", b".\r\n"], None),
            b"x\r\n...\r\n.\r\n"
        );
        assert_eq!(stuff(&[], None), b".\r\n");
        assert_eq!(stuff(&[b"a.b\r\n"], None), b"a.b\r\n.\r\n");
    }

    #[test]
    fn top_cuts_after_body_lines() {
        let msg: &[u8] = b"Subject: x\r\nFrom: y\r\n\r\nline1\r\n.line2\r\nline3\r\n";
        assert_eq!(
            stuff(&[msg], Some(0)),
            b"Subject: x\r\nFrom: y\r\n\r\n.\r\n"
        );
        assert_eq!(
            stuff(&[msg], Some(2)),
            b"Subject: x\r\nFrom: y\r\n\r\nline1\r\n..line2\r\n.\r\n"
        );
        assert_eq!(stuff(&[msg], Some(99)), stuff(&[msg], None));
        // Split everywhere, LF endings.
        let lf: Vec<&[u8]> = b"A: 1\n\nb1\nb2\n".chunks(1).collect();
        assert_eq!(stuff(&lf, Some(1)), b"A: 1\r\n\r\nb1\r\n.\r\n");
    }

    #[test]
    fn unstuffs_split_anywhere() {
        let wire: &[u8] = b"a\r\n..b\r\n.c\r\n\r\n.\r\n+OK next";
        for split in 0..wire.len() {
            let mut u = DotUnstuffer::new();
            let mut out = Vec::new();
            let mut pending = wire[..split].to_vec();
            let r = u.push(&pending, &mut out);
            assert!(!r.done || split >= wire.len() - 8);
            pending.drain(..r.consumed);
            let mut rest = pending;
            rest.extend_from_slice(&wire[split..]);
            let r2 = if r.done { r } else { u.push(&rest, &mut out) };
            assert!(r2.done, "split {split}");
            assert_eq!(out, b"a\r\n.b\r\nc\r\n\r\n", "split {split}");
        }
    }
}
