//! Replies: [`ReplyCode`], [`EnhancedStatus`] and the multi-line [`Reply`].
//!
//! RFC 5321 §4.2 (reply syntax: `Reply-code [ SP textstring ] CRLF`, every line but the last
//! with `-` after the code), §4.2.1 (code digits) and RFC 2034 §4 / RFC 3463 §2 (enhanced
//! status codes `class.subject.detail`, carried at the start of the text of every line).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use crate::error::ReplyError;

/// A three-digit reply code (RFC 5321 §4.2.1): first digit 2–5, second 0–5, third 0–9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220 Service ready.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 Service closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954).
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 334 AUTH challenge (RFC 4954).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input.
    pub const START_DATA: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing transmission channel.
    pub const UNAVAILABLE: ReplyCode = ReplyCode(421);

    /// A code from its numeric value, if it is a valid reply code.
    pub const fn new(value: u16) -> Option<ReplyCode> {
        let (a, b) = (value / 100, value / 10 % 10);
        if a >= 2 && a <= 5 && b <= 5 {
            Some(ReplyCode(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The first digit (2 positive completion, 3 intermediate, 4 transient, 5 permanent).
    pub const fn class(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// 2xx.
    pub const fn is_positive_completion(self) -> bool {
        self.class() == 2
    }

    /// 3xx.
    pub const fn is_intermediate(self) -> bool {
        self.class() == 3
    }

    /// 4xx or 5xx.
    pub const fn is_negative(self) -> bool {
        self.class() >= 4
    }

    /// 4xx.
    pub const fn is_transient(self) -> bool {
        self.class() == 4
    }

    /// 5xx.
    pub const fn is_permanent(self) -> bool {
        self.class() == 5
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = ReplyError;
    fn try_from(value: u16) -> Result<Self, ReplyError> {
        ReplyCode::new(value).ok_or(ReplyError::BadCode)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An enhanced status code (RFC 3463 §2): `class.subject.detail`, class 2, 4 or 5, subject and
/// detail 0–999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatus {
    /// A status code, if the parts are in range.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatus> {
        if (class == 2 || class == 4 || class == 5) && subject <= 999 && detail <= 999 {
            Some(EnhancedStatus {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// Builds a constant; panics at compile time on bad parts.
    pub(crate) const fn c(class: u8, subject: u16, detail: u16) -> EnhancedStatus {
        match EnhancedStatus::new(class, subject, detail) {
            Some(s) => s,
            None => panic!("bad enhanced status"),
        }
    }

    /// The class (2, 4 or 5).
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject.
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail.
    pub const fn detail(self) -> u16 {
        self.detail
    }

    /// Parses `class.subject.detail` (the whole string).
    pub fn parse(s: &str) -> Result<EnhancedStatus, ReplyError> {
        fn num(p: Option<&str>) -> Option<u16> {
            let p = p?;
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // RFC 3463 §2: no leading zeros except the single digit 0.
            if p.len() > 1 && p.starts_with('0') {
                return None;
            }
            p.parse().ok()
        }
        let mut it = s.split('.');
        let class = it
            .next()
            .filter(|c| c.len() == 1)
            .and_then(|c| num(Some(c)));
        let subject = num(it.next());
        let detail = num(it.next());
        match (class, subject, detail, it.next()) {
            (Some(c), Some(s), Some(d), None) => {
                EnhancedStatus::new(c as u8, s, d).ok_or(ReplyError::BadEnhancedStatus)
            }
            _ => Err(ReplyError::BadEnhancedStatus),
        }
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A reply: a code, an optional enhanced status code and one or more lines of text.
///
/// When the status is present it is written at the start of every line (RFC 2034 §4), and
/// [`Reply::parse`] recognises it when the first line's text starts with a status whose class
/// matches the code's first digit. A text that itself starts with such a pattern therefore
/// reads back as a status: build such replies with the status set.
///
/// The lines are held as one string joined by LF (which no line can contain), so parsing a
/// reply of n lines makes one allocation instead of n + 1; [`Reply::lines`] builds the
/// `Vec<String>` view on first use, and [`Reply::line_iter`] reads without allocating.
pub struct Reply {
    code: ReplyCode,
    status: Option<EnhancedStatus>,
    joined: String,
    split: OnceLock<Vec<String>>,
}

impl Clone for Reply {
    fn clone(&self) -> Reply {
        Reply::from_joined(self.code, self.status, self.joined.clone())
    }
}

impl PartialEq for Reply {
    fn eq(&self, other: &Reply) -> bool {
        self.code == other.code && self.status == other.status && self.joined == other.joined
    }
}

impl Eq for Reply {}

impl Hash for Reply {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code.hash(state);
        self.status.hash(state);
        self.joined.hash(state);
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code)
            .field("status", &self.status)
            .field("lines", &self.line_iter().collect::<Vec<_>>())
            .finish()
    }
}

/// Whether a text line may be carried in a reply: no CR, LF or NUL (RFC 5321 §4.2 `textstring`
/// is `%d09 / %d32-126`; UTF-8 is allowed for RFC 6531 servers).
fn valid_text(line: &str) -> bool {
    !line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

impl Reply {
    /// A one-line reply.
    pub fn new(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        text: impl Into<String>,
    ) -> Result<Reply, ReplyError> {
        Reply::multiline(code, status, vec![text.into()])
    }

    /// A reply of several lines (at least one).
    pub fn multiline(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        lines: Vec<String>,
    ) -> Result<Reply, ReplyError> {
        if lines.is_empty() {
            return Err(ReplyError::Empty);
        }
        if !lines.iter().all(|l| valid_text(l)) {
            return Err(ReplyError::BadText);
        }
        if status.is_some_and(|s| s.class() != code.class()) {
            return Err(ReplyError::ClassMismatch);
        }
        Ok(Reply::from_joined(code, status, lines.join("\n")))
    }

    /// A reply from its lines joined by LF; the caller has checked them.
    fn from_joined(code: ReplyCode, status: Option<EnhancedStatus>, joined: String) -> Reply {
        Reply {
            code,
            status,
            joined,
            split: OnceLock::new(),
        }
    }

    /// Builds a reply from trusted parts; for the engine's own replies.
    pub(crate) fn internal(code: u16, status: Option<EnhancedStatus>, text: &str) -> Reply {
        let code = ReplyCode::new(code).expect("internal reply code");
        debug_assert!(valid_text(text), "internal reply text {text:?}");
        Reply::from_joined(
            code,
            status.filter(|s| s.class() == code.class()),
            text.to_owned(),
        )
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code, if any.
    pub fn status(&self) -> Option<EnhancedStatus> {
        self.status
    }

    /// The text lines (without code and status). Built on the first call; prefer
    /// [`Reply::line_iter`], which does not allocate.
    pub fn lines(&self) -> &[String] {
        self.split
            .get_or_init(|| self.line_iter().map(str::to_owned).collect())
    }

    /// The text lines (without code and status), borrowed.
    pub fn line_iter(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.joined.split('\n')
    }

    /// The number of lines (at least one).
    pub fn line_count(&self) -> usize {
        1 + memchr::memchr_iter(b'\n', self.joined.as_bytes()).count()
    }

    /// The text of all lines joined with a space.
    pub fn text(&self) -> String {
        self.joined.replace('\n', " ")
    }

    /// The same reply with the status removed (for a session without ENHANCEDSTATUSCODES).
    pub fn without_status(mut self) -> Reply {
        self.status = None;
        self
    }

    /// The same reply with another status, if its class matches.
    pub fn with_status(mut self, status: EnhancedStatus) -> Reply {
        if status.class() == self.code.class() {
            self.status = Some(status);
        }
        self
    }

    /// Appends the wire form (every line ending in CRLF) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.line_count() - 1;
        let status = self.status.map(StatusText::new);
        for (i, line) in self.line_iter().enumerate() {
            out.extend_from_slice(itoa3(self.code.0).as_slice());
            let sep = if i == last { b' ' } else { b'-' };
            match &status {
                Some(s) => {
                    out.push(sep);
                    out.extend_from_slice(s.as_bytes());
                    if !line.is_empty() {
                        out.push(b' ');
                        out.extend_from_slice(line.as_bytes());
                    }
                }
                None if line.is_empty() && i == last => {}
                None => {
                    out.push(sep);
                    out.extend_from_slice(line.as_bytes());
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }

    /// Parses one complete reply at the start of `input`.
    ///
    /// Returns `Ok(None)` when more input is needed, `Ok(Some((reply, consumed)))` otherwise.
    /// Lines longer than `max_line` or replies of more than `max_lines` lines are errors, so a
    /// hostile server cannot make the client buffer without bound.
    pub fn parse(
        input: &[u8],
        max_line: usize,
        max_lines: usize,
    ) -> Result<Option<(Reply, usize)>, ReplyError> {
        let mut pos = 0;
        let mut code: Option<ReplyCode> = None;
        let mut status: Option<EnhancedStatus> = None;
        // Bytes, checked as UTF-8 once at the end: one call instead of one per line.
        let mut joined: Vec<u8> = Vec::new();
        let mut count = 0usize;
        let mut status_text = StatusText::default();
        loop {
            let rest = &input[pos..];
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                if rest.len() > max_line {
                    return Err(ReplyError::LineTooLong);
                }
                return Ok(None);
            };
            if nl + 1 > max_line {
                return Err(ReplyError::LineTooLong);
            }
            // Tolerate a bare LF from the server: it cannot smuggle anything into a reply.
            let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
            pos += nl + 1;
            // A line that repeats the first line's three digits (the input starts with that
            // line) has its valid code: only the separator and the text are left to check, in
            // the order `split_reply_line` would. Decoding and range-checking the code again
            // took a tenth of the time of an EHLO reply.
            let (this_code, last, text) = match code {
                Some(c) if line.get(..3) == input.get(..3) => {
                    let (last, text) = split_reply_rest(line)?;
                    (c, last, text)
                }
                _ => split_reply_line(line)?,
            };
            match code {
                None => code = Some(this_code),
                Some(c) if c != this_code => return Err(ReplyError::CodeMismatch),
                Some(_) => {}
            }
            let mut text = text;
            if count == 0 {
                status = leading_status(text, this_code);
                if let Some(s) = status {
                    status_text = StatusText::new(s);
                }
                // Room for a typical reply (an EHLO list) in one allocation, without
                // reserving a whole pipelined input buffer.
                joined.reserve(input.len().min(512));
            } else {
                joined.push(b'\n');
            }
            if status.is_some() {
                // Servers put the status on every line; strip it where it appears.
                if let Some(t) = text.strip_prefix(status_text.as_bytes())
                    && (t.is_empty() || t[0] == b' ')
                {
                    text = t.strip_prefix(b" ").unwrap_or(t);
                }
            }
            joined.extend_from_slice(text);
            count += 1;
            if last {
                let code = code.expect("set above");
                let joined = String::from_utf8(joined).map_err(|_| ReplyError::BadText)?;
                return Ok(Some((Reply::from_joined(code, status, joined), pos)));
            }
            if count >= max_lines {
                return Err(ReplyError::TooManyLines);
            }
        }
    }
}

/// An enhanced status code written out (`x.yyy.zzz` at most), on the stack.
#[derive(Default)]
struct StatusText {
    buf: [u8; 12],
    len: usize,
}

impl StatusText {
    fn new(s: EnhancedStatus) -> StatusText {
        let mut t = StatusText::default();
        t.push_num(u16::from(s.class));
        t.buf[t.len] = b'.';
        t.len += 1;
        t.push_num(s.subject);
        t.buf[t.len] = b'.';
        t.len += 1;
        t.push_num(s.detail);
        t
    }

    /// Appends a number of at most three digits (as [`EnhancedStatus`] holds), no leading zeros.
    fn push_num(&mut self, n: u16) {
        let digits = itoa3(n);
        let skip = if n >= 100 {
            0
        } else if n >= 10 {
            1
        } else {
            2
        };
        let d = &digits[skip..];
        self.buf[self.len..self.len + d.len()].copy_from_slice(d);
        self.len += d.len();
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn itoa3(n: u16) -> [u8; 3] {
    [
        b'0' + (n / 100) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ]
}

/// Splits `250-text` into code, whether it is the last line, and text.
fn split_reply_line(line: &[u8]) -> Result<(ReplyCode, bool, &[u8]), ReplyError> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::Garbage);
    }
    let value =
        (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    let code = ReplyCode::new(value).ok_or(ReplyError::BadCode)?;
    let (last, text) = split_reply_rest(line)?;
    Ok((code, last, text))
}

/// The part of [`split_reply_line`] after the code: the separator and the text.
#[inline]
fn split_reply_rest(line: &[u8]) -> Result<(bool, &[u8]), ReplyError> {
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(ReplyError::Garbage),
    };
    // A plain loop: a `memchr2` call costs more than the scan of a short line. UTF-8 is
    // checked once for the whole reply by the caller.
    if text.iter().any(|&b| b == 0 || b == b'\r') {
        return Err(ReplyError::BadText);
    }
    Ok((last, text))
}

fn leading_status(text: &[u8], code: ReplyCode) -> Option<EnhancedStatus> {
    // Cheap test first: a status starts with the code's class digit and a dot.
    let b = text;
    if b.len() < 5 || b[0] != b'0' + code.class() || b[1] != b'.' {
        return None;
    }
    let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
    let word = std::str::from_utf8(&b[..end]).ok()?;
    let s = EnhancedStatus::parse(word).ok()?;
    (s.class() == code.class()).then_some(s)
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_validate() {
        assert!(ReplyCode::new(250).is_some());
        assert!(ReplyCode::new(199).is_none());
        assert!(ReplyCode::new(260).is_none());
        assert!(ReplyCode::new(600).is_none());
        assert!(EnhancedStatus::parse("5.7.8").is_ok());
        assert!(EnhancedStatus::parse("3.0.0").is_err());
        assert!(EnhancedStatus::parse("5.01.0").is_err());
        assert!(EnhancedStatus::parse("5.1000.0").is_err());
        assert!(EnhancedStatus::parse("5.1").is_err());
    }

    #[test]
    fn multiline_round_trip() {
        let raw = b"250-mx.example.org\r\n250-SIZE 100\r\n250 PIPELINING\r\n";
        let (r, n) = Reply::parse(raw, 512, 100).unwrap().unwrap();
        assert_eq!(n, raw.len());
        assert_eq!(r.code().value(), 250);
        assert_eq!(r.lines(), ["mx.example.org", "SIZE 100", "PIPELINING"]);
        assert_eq!(r.to_bytes(), raw);
    }

    #[test]
    fn status_on_every_line() {
        let raw = b"550-5.1.1 no such user\r\n550 5.1.1 really\r\n";
        let (r, _) = Reply::parse(raw, 512, 100).unwrap().unwrap();
        assert_eq!(r.status(), EnhancedStatus::new(5, 1, 1));
        assert_eq!(r.lines(), ["no such user", "really"]);
        assert_eq!(r.to_bytes(), raw);
    }

    #[test]
    fn incomplete_and_garbage() {
        assert_eq!(Reply::parse(b"250-a\r\n250", 512, 10).unwrap(), None);
        assert_eq!(
            Reply::parse(b"25x ok\r\n", 512, 10),
            Err(ReplyError::Garbage)
        );
        assert_eq!(
            Reply::parse(b"250-a\r\n251 b\r\n", 512, 10),
            Err(ReplyError::CodeMismatch)
        );
        assert_eq!(
            Reply::parse(&[b'2'; 600], 512, 10),
            Err(ReplyError::LineTooLong)
        );
        assert_eq!(
            Reply::parse(b"250-a\r\n250-b\r\n", 512, 2),
            Err(ReplyError::TooManyLines)
        );
    }
}
