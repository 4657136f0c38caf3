//! Splitting an mbox into messages, streaming, in bounded memory.
//!
//! [`Reader`] walks any `Read + Seek` (a multi-GB file) and yields one [`MessageInfo`] per
//! message: where its `From ` line starts, where the stored message starts and how long it is,
//! and optionally its header block. It holds one buffer of [`ReadOptions::buffer_size`] plus at
//! most one `From ` line and one header block, whatever the size of the file or of a message.
//! [`copy_message`] and [`read_message`] then fetch one message by offset, unquoted, without
//! touching the others; [`Reader::message_at`] re-reads the index entry at a known offset.
//!
//! # Where a message ends (RFC 4155 Appendix A, and the rules real readers use)
//!
//! - A separator is a line starting with `From ` at the start of the file or after an LF, that
//!   carries a date ([`looks_like_separator`], as mutt and Dovecot require), so an unquoted
//!   `From here on` in a body does not split a message. [`ReadOptions::loose_separators`] drops
//!   the date requirement (Python's `mailbox.mbox` behaviour).
//! - The blank line before a separator (LF, or CRLF in a CRLF file) belongs to no message.
//!   When it is missing the message keeps all its bytes and [`Anomalies::missing_blank_line`]
//!   is set.
//! - mboxcl/mboxcl2: `Content-Length:` is trusted only when it points exactly at a blank line
//!   followed by a separator, or at the end of the file (optionally after one blank line);
//!   otherwise the separator scan decides and [`Anomalies::bad_content_length`] is set. A
//!   message without the header is also found by the scan.
//!
//! # Bad input
//!
//! Leading blank lines are skipped. Anything else before the first `From ` line gives
//! [`Error::NotMbox`], an over-long first `From ` line [`Error::FromLineTooLong`]. A last
//! message without a final newline is returned as it is, flagged
//! [`Anomalies::no_final_newline`]. NUL bytes and 8-bit data are message data like any other.
//! CRLF files are read as such ([`Anomalies::crlf`]).

use std::io::{self, Read, Seek, SeekFrom, Write};

use memchr::memmem;

use crate::envelope::{Envelope, looks_like_separator};
use crate::variant::{Unquoter, Variant};
use crate::{Error, metadata};

/// How a [`Reader`] splits and what it keeps.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The variant: decides whether `Content-Length:` is used.
    pub variant: Variant,
    /// Split on every line starting with `From `, dated or not (Python's behaviour).
    pub loose_separators: bool,
    /// The longest `From ` line recognised as a separator.
    pub max_from_line: usize,
    /// The longest header block looked at (for `Content-Length:` and [`MessageInfo::headers`]);
    /// a longer one is treated as absent.
    pub max_header: usize,
    /// Keep each message's header block in [`MessageInfo::headers`].
    pub keep_headers: bool,
    /// The read buffer size.
    pub buffer_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            variant: Variant::default(),
            loose_separators: false,
            max_from_line: 1024,
            max_header: 256 * 1024,
            keep_headers: false,
            buffer_size: 256 * 1024,
        }
    }
}

impl ReadOptions {
    /// Defaults for `variant`.
    pub fn new(variant: Variant) -> Self {
        ReadOptions {
            variant,
            ..ReadOptions::default()
        }
    }

    /// The same options, keeping header blocks.
    pub fn with_headers(mut self) -> Self {
        self.keep_headers = true;
        self
    }
}

/// Things the reader tolerated in one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Anomalies {
    /// No blank line between this message and the next separator (or the end of the file).
    pub missing_blank_line: bool,
    /// The file ends inside this message, without a final newline.
    pub no_final_newline: bool,
    /// A `Content-Length:` header did not point at the end of the message and was ignored.
    pub bad_content_length: bool,
    /// The `From ` line ends in CRLF.
    pub crlf: bool,
    /// The `From ` line has no date this crate understands.
    pub undated: bool,
}

/// Where one message is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// Offset of the `From ` line: the key for random access.
    pub offset: u64,
    /// Offset of the first byte of the stored (quoted) message, after the `From ` line.
    pub data_offset: u64,
    /// Length of the stored message, without the separating blank line.
    pub data_len: u64,
    /// Offset of the next message's `From ` line, or the end of the file.
    pub end: u64,
    /// Length of the header block including the blank line that ends it, when found within
    /// [`ReadOptions::max_header`].
    pub header_len: Option<u64>,
    /// What the `From ` line says.
    pub envelope: Envelope,
    /// The header block (stored form), when [`ReadOptions::keep_headers`] is set and it was found.
    pub headers: Option<Vec<u8>>,
    /// What was tolerated.
    pub anomalies: Anomalies,
}

/// Bytes kept before the offset a refill starts from, so the end of the previous message can
/// still be inspected for its blank line.
const LOOKBEHIND: usize = 8;

/// The streaming splitter; see the module documentation.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    opts: ReadOptions,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_pos: u64,
    /// Where `inner`'s cursor is, to avoid needless seeks.
    inner_pos: u64,
    /// Length of the data: the end of the stream when the reader was made, or a given limit.
    len: u64,
    /// Offset of the next message's `From ` line; `None` when done, `Some(u64::MAX)` before the
    /// first call (the start has not been checked yet).
    next: Option<u64>,
}

impl<R: Read + Seek> Reader<R> {
    /// A reader over the whole of `inner` (its length is taken now: data appended later is not
    /// seen, so a reader is a consistent snapshot under a lock).
    pub fn new(mut inner: R, opts: ReadOptions) -> Result<Self, Error> {
        let len = inner.seek(SeekFrom::End(0))?;
        Self::with_len(inner, opts, len)
    }

    /// A reader that treats `len` as the end of the data (used to hide a half-done append).
    pub fn with_len(mut inner: R, opts: ReadOptions, len: u64) -> Result<Self, Error> {
        inner.seek(SeekFrom::Start(0))?;
        let buf = Vec::with_capacity(opts.buffer_size + opts.max_from_line + LOOKBEHIND);
        Ok(Reader {
            inner,
            opts,
            buf,
            buf_pos: 0,
            inner_pos: 0,
            len,
            next: Some(u64::MAX),
        })
    }

    /// The options in use.
    pub fn options(&self) -> &ReadOptions {
        &self.opts
    }

    /// The length of the data being read.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is no data at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Gives the underlying stream back.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The underlying stream, e.g. for [`copy_message`] between calls to [`Reader::next_message`]
    /// (the reader seeks before every read, so moving the cursor is harmless).
    pub fn get_mut(&mut self) -> &mut R {
        // The caller may move the cursor: seek before the next read.
        self.inner_pos = u64::MAX;
        &mut self.inner
    }

    /// The next message, or `None` at the end.
    pub fn next_message(&mut self) -> Result<Option<MessageInfo>, Error> {
        let at = match self.next {
            None => return Ok(None),
            Some(u64::MAX) => match self.first_offset()? {
                Some(at) => at,
                None => {
                    self.next = None;
                    return Ok(None);
                }
            },
            Some(at) => at,
        };
        let info = self.parse_at(at)?;
        self.next = (info.end < self.len).then_some(info.end);
        Ok(Some(info))
    }

    /// The message whose `From ` line starts at `offset` (random access); iteration continues
    /// after it. [`Error::Stale`] when no `From ` line starts there.
    pub fn message_at(&mut self, offset: u64) -> Result<MessageInfo, Error> {
        if offset >= self.len {
            return Err(Error::Stale { offset });
        }
        self.fill(offset, 5)?;
        if !self.at(offset).starts_with(b"From ") {
            return Err(Error::Stale { offset });
        }
        let info = self.parse_at(offset)?;
        self.next = (info.end < self.len).then_some(info.end);
        Ok(info)
    }

    /// Skips leading blank lines; checks that a `From ` line follows.
    fn first_offset(&mut self) -> Result<Option<u64>, Error> {
        let mut at = 0;
        loop {
            self.fill(at, 2)?;
            match self.at(at) {
                [] => return Ok(None),
                [b'\n', ..] => at += 1,
                [b'\r', b'\n', ..] => at += 2,
                s if s.starts_with(b"From ") || s.len() < 5 && b"From ".starts_with(s) => {
                    self.fill(at, 5)?;
                    return if self.at(at).starts_with(b"From ") {
                        Ok(Some(at))
                    } else {
                        Err(Error::NotMbox { offset: at })
                    };
                }
                _ => return Err(Error::NotMbox { offset: at }),
            }
        }
    }

    fn parse_at(&mut self, offset: u64) -> Result<MessageInfo, Error> {
        let max_line = self.opts.max_from_line;
        self.fill(offset, max_line + 1)?;
        let line = self.at(offset);
        let (line_len, has_nl) = match memchr::memchr(b'\n', &line[..line.len().min(max_line + 1)])
        {
            Some(i) => (i + 1, true),
            None if (line.len() as u64) == self.len - offset && line.len() <= max_line => {
                (line.len(), false)
            }
            None => {
                return Err(Error::FromLineTooLong {
                    offset,
                    limit: max_line,
                });
            }
        };
        let line = &line[..line_len];
        let envelope = Envelope::parse(line).ok_or(Error::Stale { offset })?;
        let mut anomalies = Anomalies {
            crlf: line.ends_with(b"\r\n"),
            undated: envelope.time().is_none(),
            ..Anomalies::default()
        };
        let data_offset = offset + line_len as u64;
        if !has_nl {
            anomalies.no_final_newline = true;
            return Ok(MessageInfo {
                offset,
                data_offset,
                data_len: 0,
                end: self.len,
                header_len: None,
                envelope,
                headers: None,
                anomalies,
            });
        }

        // The header block: needed for Content-Length and when the caller keeps headers.
        let want_headers = self.opts.keep_headers || self.opts.variant.uses_content_length();
        let mut header_len = None;
        let mut headers = None;
        if want_headers {
            // Look at what is buffered first and widen only when needed, so a message with
            // small headers costs no extra read.
            let max = self.opts.max_header + 2;
            let mut need = 8192.min(max);
            loop {
                self.fill(data_offset - 1, need)?;
                let window = self.at(data_offset - 1);
                let window = &window[..window.len().min(max)];
                if let Some(hl) = header_end(window) {
                    header_len = Some(hl as u64);
                    headers = Some(window[1..1 + hl].to_vec());
                    break;
                }
                if window.len() >= max || data_offset - 1 + window.len() as u64 >= self.len {
                    break;
                }
                need = (window.len() * 2).max(need).min(max);
            }
        }

        // mboxcl/mboxcl2: jump to where Content-Length says, if it checks out.
        if self.opts.variant.uses_content_length() {
            let cl = headers.as_deref().and_then(metadata::content_length);
            if let (Some(cl), Some(hl)) = (cl, header_len) {
                if let Some(end) = self.check_content_length(data_offset + hl, cl)? {
                    let data_len = hl + cl;
                    return Ok(self.finish(
                        offset,
                        data_offset,
                        data_len,
                        end,
                        header_len,
                        headers,
                        envelope,
                        anomalies,
                    ));
                }
                anomalies.bad_content_length = true;
            }
        }

        let end = self.find_separator(data_offset - 1)?.unwrap_or(self.len);
        // Where the stored message stops: before the blank line that precedes the separator.
        let raw_len = end - data_offset;
        self.fill(end.saturating_sub(4).max(data_offset), 4)?;
        let tail_start = end.saturating_sub(4).max(data_offset).max(self.buf_pos);
        let tail = self.at(tail_start);
        let tail = &tail[..tail.len().min(end.saturating_sub(tail_start) as usize)];
        let data_len = if tail.ends_with(b"\r\n\r\n") {
            raw_len - 2
        } else if tail.ends_with(b"\n\n") || raw_len == 1 && tail == b"\n" {
            raw_len - 1
        } else {
            if !tail.ends_with(b"\n") && end == self.len && raw_len > 0 {
                anomalies.no_final_newline = true;
            } else if raw_len > 0 || end < self.len {
                anomalies.missing_blank_line = true;
            }
            raw_len
        };
        // A header block that runs into the next message is not a header block.
        if header_len.is_some_and(|hl| hl > data_len) {
            header_len = None;
            headers = None;
        }
        Ok(self.finish(
            offset,
            data_offset,
            data_len,
            end,
            header_len,
            headers,
            envelope,
            anomalies,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        offset: u64,
        data_offset: u64,
        data_len: u64,
        end: u64,
        header_len: Option<u64>,
        headers: Option<Vec<u8>>,
        envelope: Envelope,
        anomalies: Anomalies,
    ) -> MessageInfo {
        let headers = if self.opts.keep_headers {
            headers
        } else {
            None
        };
        MessageInfo {
            offset,
            data_offset,
            data_len,
            end,
            header_len,
            envelope,
            headers,
            anomalies,
        }
    }

    /// `Some(offset of the next From line or the end)` when a body of `cl` octets starting at
    /// `body` ends exactly where a message may end.
    fn check_content_length(&mut self, body: u64, cl: u64) -> Result<Option<u64>, Error> {
        let Some(at) = body.checked_add(cl).filter(|&at| at <= self.len) else {
            return Ok(None);
        };
        if at == self.len {
            return Ok(Some(at));
        }
        self.fill(at, 2 + self.opts.max_from_line + 1)?;
        let s = self.at(at);
        let next = if s.starts_with(b"\r\n") {
            at + 2
        } else if s.starts_with(b"\n") {
            at + 1
        } else {
            return Ok(None);
        };
        if next == self.len {
            return Ok(Some(next));
        }
        let line = self.at(next);
        Ok(self.is_separator(line).then_some(next))
    }

    fn is_separator(&self, line: &[u8]) -> bool {
        let max = self.opts.max_from_line;
        let line = &line[..line.len().min(max + 1)];
        let line = match memchr::memchr(b'\n', line) {
            Some(i) => &line[..=i],
            None if line.len() > max => return false,
            None => line,
        };
        if self.opts.loose_separators {
            line.starts_with(b"From ")
        } else {
            looks_like_separator(line)
        }
    }

    /// The offset of the first separator line that starts right after an LF at or after `from`.
    fn find_separator(&mut self, from: u64) -> Result<Option<u64>, Error> {
        const NEEDLE: &[u8] = b"\nFrom ";
        let finder = memmem::Finder::new(NEEDLE);
        let mut s = from;
        let chunk = self.opts.buffer_size;
        loop {
            // Search what is buffered before reading more.
            self.fill(s, NEEDLE.len())?;
            let hay = self.at(s);
            match finder.find(hay) {
                Some(i) => {
                    let line_at = s + i as u64 + 1;
                    self.fill(line_at, self.opts.max_from_line + 1)?;
                    if self.is_separator(self.at(line_at)) {
                        return Ok(Some(line_at));
                    }
                    s = line_at;
                }
                None => {
                    let end = s + hay.len() as u64;
                    if end >= self.len {
                        return Ok(None);
                    }
                    // Keep the last bytes: the needle may straddle the refill.
                    s = s.max(end.saturating_sub(NEEDLE.len() as u64 - 1));
                    // Make sure the next fill reads past what we have.
                    self.fill(s, (end - s) as usize + chunk)?;
                }
            }
        }
    }

    /// The buffered bytes from file offset `at` on (empty if `at` is not buffered).
    fn at(&self, at: u64) -> &[u8] {
        let end = self.buf_pos + self.buf.len() as u64;
        if at < self.buf_pos || at >= end {
            return &[];
        }
        &self.buf[(at - self.buf_pos) as usize..]
    }

    /// Makes `[at, at + need)` buffered, or as much of it as exists before [`Reader::len`].
    /// Reads only when the range is not already there.
    fn fill(&mut self, at: u64, need: usize) -> io::Result<()> {
        let want_end = at.saturating_add(need as u64).min(self.len);
        let buf_end = self.buf_pos + self.buf.len() as u64;
        if at >= self.buf_pos && want_end <= buf_end {
            return Ok(());
        }
        if at < self.buf_pos || at > buf_end {
            // Not contiguous with what we have: start afresh at `at`.
            self.buf.clear();
            self.buf_pos = at;
        } else {
            let keep_from = at.saturating_sub(LOOKBEHIND as u64).max(self.buf_pos);
            let drop = (keep_from - self.buf_pos) as usize;
            self.buf.drain(..drop);
            self.buf_pos = keep_from;
        }
        let read_from = self.buf_pos + self.buf.len() as u64;
        if self.inner_pos != read_from {
            self.inner.seek(SeekFrom::Start(read_from))?;
            self.inner_pos = read_from;
        }
        // Read at least a whole buffer's worth so small fills do not mean small reads.
        let target_end = want_end.max((read_from + self.opts.buffer_size as u64).min(self.len));
        while self.buf_pos + (self.buf.len() as u64) < target_end {
            let room = (target_end - (self.buf_pos + self.buf.len() as u64)) as usize;
            let old = self.buf.len();
            self.buf.resize(old + room, 0);
            let n = match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            };
            self.buf.truncate(old + n);
            self.inner_pos += n as u64;
            if n == 0 {
                // The stream is shorter than it was: stop here, as at the end of the file.
                self.len = self.buf_pos + self.buf.len() as u64;
                break;
            }
        }
        Ok(())
    }
}

impl<R: Read + Seek> Iterator for Reader<R> {
    type Item = Result<MessageInfo, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_message() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => {
                // An error ends the iteration: the position after it is unknown.
                self.next = None;
                Some(Err(e))
            }
        }
    }
}

/// The length of the header block in `window` (which starts with the LF that ends the `From `
/// line), including its terminating blank line.
fn header_end(window: &[u8]) -> Option<usize> {
    let lf = memmem::find(window, b"\n\n").map(|i| i + 2);
    let crlf = memmem::find(window, b"\n\r\n").map(|i| i + 3);
    let end = match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(end - 1)
}

/// Copies the message described by `info` to `out`, unquoted for `variant`, in bounded memory.
/// Returns the number of bytes written.
pub fn copy_message<R: Read + Seek, W: Write>(
    r: &mut R,
    info: &MessageInfo,
    variant: Variant,
    out: &mut W,
) -> Result<u64, Error> {
    r.seek(SeekFrom::Start(info.data_offset))?;
    let mut src = r.take(info.data_len);
    let mut unq = Unquoter::new(variant);
    let mut chunk = vec![0; 64 * 1024];
    let mut pending = Vec::with_capacity(64 * 1024 + 64);
    let mut total = 0u64;
    let mut seen = 0u64;
    loop {
        let n = match src.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        seen += n as u64;
        unq.feed(&chunk[..n], &mut pending);
        out.write_all(&pending)?;
        total += pending.len() as u64;
        pending.clear();
    }
    if seen != info.data_len {
        // The file shrank under us: the index is stale.
        return Err(Error::Stale {
            offset: info.offset,
        });
    }
    unq.finish(&mut pending);
    out.write_all(&pending)?;
    Ok(total + pending.len() as u64)
}

/// Reads the message described by `info`, unquoted for `variant`; [`Error::TooLarge`] when it
/// is larger than `limit`.
pub fn read_message<R: Read + Seek>(
    r: &mut R,
    info: &MessageInfo,
    variant: Variant,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    if info.data_len > limit {
        return Err(Error::TooLarge { limit });
    }
    let mut out = Vec::with_capacity(info.data_len as usize);
    copy_message(r, info, variant, &mut out)?;
    Ok(out)
}
