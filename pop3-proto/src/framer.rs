//! A bounded line framer: finds CRLF-terminated lines (RFC 1939 §3) in the bytes that arrived.
//!
//! A line longer than the limit is never buffered whole: once the limit is passed without a
//! line end, the bytes are dropped until the next LF and the line is reported as
//! [`Frame::TooLong`], so the engine can answer `-ERR` and carry on. A bare LF ends a line too;
//! a CR before it is removed.

/// What [`LineFramer::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete line, without its line end.
    Line(Vec<u8>),
    /// A line that passed the limit; its bytes were dropped.
    TooLong,
}

#[derive(Debug, Default)]
pub(crate) struct LineFramer {
    buf: Vec<u8>,
    /// Bytes before this offset are consumed; compacting lazily keeps pipelined input linear.
    start: usize,
    /// Dropping an over-long line until its LF.
    skipping: bool,
    /// An over-long line ended and has not been reported yet.
    too_long: bool,
}

impl LineFramer {
    pub(crate) fn extend(&mut self, mut bytes: &[u8]) {
        if self.skipping {
            match memchr::memchr(b'\n', bytes) {
                Some(i) => {
                    self.skipping = false;
                    self.too_long = true;
                    bytes = &bytes[i + 1..];
                }
                None => return,
            }
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The unconsumed bytes.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks `n` buffered bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops everything buffered (after STLS: plaintext sent before TLS must not be read as if
    /// it came over TLS, RFC 2595 §4).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.skipping = false;
        self.too_long = false;
    }

    /// The next complete line, if any; `limit` counts the line end too.
    pub(crate) fn next_line(&mut self, limit: usize) -> Option<Frame> {
        if self.too_long {
            self.too_long = false;
            return Some(Frame::TooLong);
        }
        let data = self.buffered();
        match memchr::memchr(b'\n', data) {
            Some(i) => {
                let too_long = i + 1 > limit;
                let line = if too_long {
                    None
                } else {
                    let end = if i > 0 && data[i - 1] == b'\r' {
                        i - 1
                    } else {
                        i
                    };
                    Some(data[..end].to_vec())
                };
                self.consume(i + 1);
                Some(line.map_or(Frame::TooLong, Frame::Line))
            }
            None if data.len() >= limit => {
                self.clear();
                self.skipping = true;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines_across_reads() {
        let mut f = LineFramer::default();
        f.extend(b"STAT\r\nLI");
        assert_eq!(f.next_line(255), Some(Frame::Line(b"STAT".to_vec())));
        assert_eq!(f.next_line(255), None);
        f.extend(b"ST\nNOOP\r\n");
        assert_eq!(f.next_line(255), Some(Frame::Line(b"LIST".to_vec())));
        assert_eq!(f.next_line(255), Some(Frame::Line(b"NOOP".to_vec())));
        assert_eq!(f.next_line(255), None);
    }

    #[test]
    fn skips_long_lines_without_buffering_them() {
        let mut f = LineFramer::default();
        f.extend(&[b'x'; 100]);
        assert_eq!(f.next_line(10), None);
        assert_eq!(f.len(), 0);
        f.extend(&[b'x'; 1000]);
        assert_eq!(f.len(), 0);
        f.extend(b"xx\r\nQUIT\r\n");
        assert_eq!(f.next_line(10), Some(Frame::TooLong));
        assert_eq!(f.next_line(10), Some(Frame::Line(b"QUIT".to_vec())));
        f.extend(b"0123456789012\r\n");
        assert_eq!(f.next_line(10), Some(Frame::TooLong));
    }
}
