//! The bounded framer: finds where a command (server side) or a response (client side) ends
//! before anything is parsed (RFC 3501 §2.2, §4.3; RFC 7888; RFC 3516 `literal8`).
//!
//! A unit is one or more lines, each but the last ending in a literal header (`{n}`, `{n+}`,
//! `~{n}`), followed by the literal's octets. The framer:
//!
//! - scans each byte once (it remembers how far it has looked for a line end), so the cost is
//!   linear in the input however the input is split;
//! - announces each literal ([`FrameEvent::LiteralAnnounced`]) as soon as its header line is
//!   complete and before any of its octets are taken; the caller then [`Framer::accept_literal`]s
//!   it (it becomes part of the unit), [`Framer::stream_literal`]s it (it comes out as
//!   [`FrameEvent::LiteralChunk`]s and stays out of the unit), or [`Framer::reject_literal`]s it;
//!   for a synchronising literal from a client the server sends `+` after accepting
//!   ([`FrameEvent::LiteralAnnounced::needs_continuation`]);
//! - never holds more than [`Limits::max_line_length`] of an unfinished line nor more than
//!   [`Limits::max_unit_size`] of a unit: a line or unit over the limit is skipped to its end and
//!   reported as [`FrameEvent::Error`] with the tag when one was read, so the server answers
//!   `tag BAD` and goes on with the next line.
//!
//! Order to drive it: [`Framer::handle_input`] → [`Framer::poll_event`] until `None` →
//! (if a literal was announced, decide) → more input.

use crate::error::FrameError;
use crate::types::{LiteralMode, Tag, is_tag_char};

/// Which side of the connection this framer reads for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A server reading commands: a synchronising literal waits for the server's `+`.
    Server,
    /// A client reading responses: literals always follow at once.
    Client,
}

/// Limits on what the framer keeps in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest line (including CRLF and any literal header) held while looking for its end.
    pub max_line_length: usize,
    /// Largest literal [`Framer::stream_literal`] lets through.
    pub max_literal_size: u64,
    /// Largest unit (lines plus accepted literals) kept in memory.
    pub max_unit_size: usize,
    /// Deepest nesting of parentheses/SEARCH keys/BODYSTRUCTURE parts the parsers follow.
    pub max_depth: usize,
}

impl Limits {
    /// Defaults for a server reading commands: 64 KiB lines (RFC 7162 §4 asks for at least
    /// 8192), 1 MiB per buffered command, 64 MiB per streamed literal, depth 64.
    #[must_use]
    pub fn server() -> Self {
        Self {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            max_unit_size: 1024 * 1024,
            max_depth: 64,
        }
    }

    /// Defaults for a client reading responses: a SEARCH or FETCH line from a large mailbox can
    /// be long, so 32 MiB lines, 64 MiB per buffered response, 1 GiB per streamed literal.
    #[must_use]
    pub fn client() -> Self {
        Self {
            max_line_length: 32 * 1024 * 1024,
            max_literal_size: 1024 * 1024 * 1024,
            max_unit_size: 64 * 1024 * 1024,
            max_depth: 64,
        }
    }

    /// Builder-style setters, since the struct is non-exhaustive.
    #[must_use]
    pub fn with_max_line_length(mut self, n: usize) -> Self {
        self.max_line_length = n;
        self
    }
    /// Sets [`Limits::max_literal_size`].
    #[must_use]
    pub fn with_max_literal_size(mut self, n: u64) -> Self {
        self.max_literal_size = n;
        self
    }
    /// Sets [`Limits::max_unit_size`].
    #[must_use]
    pub fn with_max_unit_size(mut self, n: usize) -> Self {
        self.max_unit_size = n;
        self
    }
    /// Sets [`Limits::max_depth`].
    #[must_use]
    pub fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::server()
    }
}

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A literal header ended a line; none of its octets have been taken. Decide with
    /// [`Framer::accept_literal`], [`Framer::stream_literal`] or [`Framer::reject_literal`];
    /// until then [`Framer::poll_event`] returns `None`.
    LiteralAnnounced {
        /// The tag of the command or response, when it starts with one.
        tag: Option<Tag>,
        /// The announced length.
        length: u64,
        /// `{n}`, `{n+}`, `~{n}` or `~{n+}`.
        mode: LiteralMode,
        /// Whether the peer waits for a `+` continuation (a synchronising literal read by a
        /// server): send it after accepting, or send a tagged NO/BAD after rejecting.
        needs_continuation: bool,
    },
    /// Octets of a streamed literal, in order.
    LiteralChunk {
        /// The octets.
        data: Vec<u8>,
        /// Whether this is the literal's last chunk (it may be empty for an empty literal).
        last: bool,
    },
    /// A complete command or response, CRLF included, with its accepted literals inline. The
    /// octets of streamed literals are not in it (their headers are).
    Unit(Vec<u8>),
    /// Input broke a limit or the literal syntax and was skipped up to the end of its
    /// command/response; the server answers `tag BAD` (or `* BAD` when `tag` is `None`).
    Error {
        /// The tag, when the skipped unit started with one.
        tag: Option<Tag>,
        /// What was wrong.
        error: FrameError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Decision {
        length: u64,
        mode: LiteralMode,
    },
    Literal {
        remaining: u64,
        sink: Sink,
    },
    /// Discarding an over-long line up to its LF.
    SkipLine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Buffer,
    Stream,
    Discard,
}

/// The framer. See the module documentation.
#[derive(Debug)]
pub struct Framer {
    side: Side,
    limits: Limits,
    buf: Vec<u8>,
    pos: usize,
    /// Octets after `pos` already known to hold no LF.
    scanned: usize,
    unit: Vec<u8>,
    state: State,
    /// Discarding the rest of the current unit; `Some(report)` says what to report at its end.
    skipping: Option<Option<(Option<Tag>, FrameError)>>,
    /// Streamed literals of the unit being read, then of the last unit emitted.
    streamed: Vec<StreamedLiteral>,
    last_streamed: Vec<StreamedLiteral>,
}

/// Where a streamed literal sat in a unit: its header ends at `offset` (just after the CRLF)
/// and its `length` octets, which came out as chunks, are not in the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamedLiteral {
    /// Offset in the unit just after the literal header's CRLF.
    pub offset: usize,
    /// The literal's length.
    pub length: u64,
}

/// The tag at the start of `b`, when it is a valid one followed by a space.
fn tag_of(b: &[u8]) -> Option<Tag> {
    let n = b.iter().position(|c| !is_tag_char(*c))?;
    (n > 0 && b[n] == b' ').then(|| Tag::from_checked(&b[..n]))
}

/// Reads a literal header at the end of a line: `None` when there is none, `Some(Err)` when it
/// is broken.
fn literal_header(line: &[u8]) -> Option<Result<(u64, LiteralMode), ()>> {
    let body = line.strip_suffix(b"}\r\n")?;
    let open = memchr::memrchr(b'{', body)?;
    let mut digits = &body[open + 1..];
    let plus = digits.last() == Some(&b'+');
    if plus {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let binary = open > 0 && body[open - 1] == b'~';
    if digits.len() > 19 {
        return Some(Err(()));
    }
    let n = digits
        .iter()
        .fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
    let mode = match (binary, plus) {
        (false, false) => LiteralMode::Sync,
        (false, true) => LiteralMode::NonSync,
        (true, false) => LiteralMode::Binary,
        (true, true) => LiteralMode::BinaryNonSync,
    };
    Some(Ok((n, mode)))
}

impl Framer {
    /// A framer for `side` with `limits`.
    #[must_use]
    pub fn new(side: Side, limits: Limits) -> Self {
        Self {
            side,
            limits,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            unit: Vec::new(),
            state: State::Line,
            skipping: None,
            streamed: Vec::new(),
            last_streamed: Vec::new(),
        }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Appends received octets. Feed after [`Framer::poll_event`] returned `None`, so the buffer
    /// stays bounded by one read plus the line limit.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The unit read so far (lines and accepted literals) — at a
    /// [`FrameEvent::LiteralAnnounced`], the command text up to and including the literal
    /// header, which tells the caller what the literal is for (an APPEND message, a password).
    #[must_use]
    pub fn unit_so_far(&self) -> &[u8] {
        &self.unit
    }

    /// The streamed literals of the last [`FrameEvent::Unit`]: pass them to
    /// [`crate::Response::parse_streamed`] or [`crate::Command::parse_streamed`] to parse a
    /// unit whose literal octets went out as chunks.
    #[must_use]
    pub fn last_unit_streamed(&self) -> &[StreamedLiteral] {
        &self.last_streamed
    }

    /// Octets received but not yet framed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the octets received after the last complete unit, leaving the framer empty.
    ///
    /// Call it when the protocol switches layers after a command: after the tagged OK to
    /// STARTTLS, octets that arrived with the command were sent before TLS and must be
    /// discarded, never read as commands (RFC 3501 §6.2.1, the STARTTLS command-injection
    /// attacks of RFC 8314 §4.3); after the tagged OK to COMPRESS they are already DEFLATE data
    /// for the decompressor (RFC 4978 §3).
    #[must_use = "the octets belong to the next layer, or must be dropped on purpose"]
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        self.scanned = 0;
        self.unit.clear();
        self.streamed.clear();
        self.state = State::Line;
        self.skipping = None;
        rest
    }

    fn peer_waits(&self, mode: LiteralMode) -> bool {
        self.side == Side::Server && mode.is_sync()
    }

    fn take_decision(&mut self) -> Option<(u64, LiteralMode)> {
        match self.state {
            State::Decision { length, mode } => Some((length, mode)),
            _ => None,
        }
    }

    /// Takes the announced literal into the unit.
    ///
    /// # Errors
    /// [`FrameError::UnitTooLarge`] when it would make the unit larger than
    /// [`Limits::max_unit_size`]; the literal is then rejected as by
    /// [`Framer::reject_literal`] (the caller answers NO/BAD).
    pub fn accept_literal(&mut self) -> Result<(), FrameError> {
        let Some((length, _)) = self.take_decision() else {
            return Ok(());
        };
        if self.unit.len() as u64 + length > self.limits.max_unit_size as u64 {
            self.reject_literal();
            return Err(FrameError::UnitTooLarge {
                limit: self.limits.max_unit_size,
            });
        }
        self.unit.reserve(usize::try_from(length).unwrap_or(0));
        self.state = State::Literal {
            remaining: length,
            sink: Sink::Buffer,
        };
        Ok(())
    }

    /// Lets the announced literal through as [`FrameEvent::LiteralChunk`]s; its octets stay out
    /// of the unit.
    ///
    /// # Errors
    /// [`FrameError::LiteralTooLarge`] above [`Limits::max_literal_size`]; the literal is then
    /// rejected as by [`Framer::reject_literal`].
    pub fn stream_literal(&mut self) -> Result<(), FrameError> {
        let Some((length, _)) = self.take_decision() else {
            return Ok(());
        };
        if length > self.limits.max_literal_size {
            self.reject_literal();
            return Err(FrameError::LiteralTooLarge {
                length,
                limit: self.limits.max_literal_size,
            });
        }
        self.state = State::Literal {
            remaining: length,
            sink: Sink::Stream,
        };
        self.streamed.push(StreamedLiteral {
            offset: self.unit.len(),
            length,
        });
        Ok(())
    }

    /// Refuses the announced literal. When the peer waits for `+`, the unit ends here and the
    /// next line is a new command; otherwise the literal's octets and the rest of the unit are
    /// skipped without being kept. No [`FrameEvent::Error`] follows: the caller answers.
    pub fn reject_literal(&mut self) {
        let Some((length, mode)) = self.take_decision() else {
            return;
        };
        self.unit.clear();
        self.streamed.clear();
        if self.peer_waits(mode) {
            self.state = State::Line;
        } else {
            self.skipping = Some(None);
            self.state = State::Literal {
                remaining: length,
                sink: Sink::Discard,
            };
        }
    }

    fn compact(&mut self) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= 64 * 1024 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// Ends a unit that was being skipped; yields its report, if any.
    fn end_skip(&mut self) -> Option<FrameEvent> {
        self.unit.clear();
        self.streamed.clear();
        let report = self.skipping.take().flatten()?;
        Some(FrameEvent::Error {
            tag: report.0,
            error: report.1,
        })
    }

    fn start_skip(&mut self, error: FrameError, line: &[u8]) {
        let tag = tag_of(if self.unit.is_empty() {
            line
        } else {
            &self.unit
        });
        self.unit.clear();
        self.streamed.clear();
        self.skipping = Some(Some((tag, error)));
    }

    /// The next event, or `None` when more input (or a literal decision) is needed.
    #[must_use = "events carry the commands, literals and errors the caller must act on"]
    pub fn poll_event(&mut self) -> Option<FrameEvent> {
        let ev = self.next_event();
        self.compact();
        ev
    }

    fn next_event(&mut self) -> Option<FrameEvent> {
        loop {
            match self.state {
                State::Decision { .. } => return None,
                State::Literal { remaining, sink } => {
                    let avail = (self.buf.len() - self.pos) as u64;
                    if avail == 0 && remaining > 0 {
                        return None;
                    }
                    let n = avail.min(remaining) as usize;
                    let chunk = &self.buf[self.pos..self.pos + n];
                    self.pos += n;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::Line
                    } else {
                        State::Literal { remaining, sink }
                    };
                    match sink {
                        Sink::Buffer => self.unit.extend_from_slice(chunk),
                        Sink::Discard => {}
                        Sink::Stream => {
                            return Some(FrameEvent::LiteralChunk {
                                data: chunk.to_vec(),
                                last: remaining == 0,
                            });
                        }
                    }
                }
                State::SkipLine => {
                    let from = self.pos + self.scanned;
                    match memchr::memchr(b'\n', &self.buf[from..]) {
                        None => {
                            self.pos = self.buf.len();
                            self.scanned = 0;
                            return None;
                        }
                        Some(k) => {
                            self.pos = from + k + 1;
                            self.scanned = 0;
                            self.state = State::Line;
                            if let Some(ev) = self.end_skip() {
                                return Some(ev);
                            }
                        }
                    }
                }
                State::Line => {
                    let from = self.pos + self.scanned;
                    let Some(k) = memchr::memchr(b'\n', &self.buf[from..]) else {
                        self.scanned = self.buf.len() - self.pos;
                        if self.scanned > self.limits.max_line_length {
                            if self.skipping.is_none() {
                                let limit = self.limits.max_line_length;
                                let head = self.buf[self.pos..].to_vec();
                                self.start_skip(FrameError::LineTooLong { limit }, &head);
                            }
                            self.pos = self.buf.len();
                            self.scanned = 0;
                            self.state = State::SkipLine;
                        }
                        return None;
                    };
                    let end = from + k + 1;
                    self.scanned = 0;
                    let start = self.pos;
                    self.pos = end;
                    if let Some(ev) = self.on_line(start, end) {
                        return Some(ev);
                    }
                }
            }
        }
    }

    fn on_line(&mut self, start: usize, end: usize) -> Option<FrameEvent> {
        let line = &self.buf[start..end];
        let lit = literal_header(line);
        if self.skipping.is_none() {
            let error = if line.len() > self.limits.max_line_length {
                Some(FrameError::LineTooLong {
                    limit: self.limits.max_line_length,
                })
            } else if self.unit.len() + line.len() > self.limits.max_unit_size {
                Some(FrameError::UnitTooLarge {
                    limit: self.limits.max_unit_size,
                })
            } else if let Some(Err(())) = lit {
                Some(FrameError::BadLiteralHeader)
            } else {
                None
            };
            if let Some(error) = error {
                let line = line.to_vec();
                self.start_skip(error, &line);
            }
        }
        if self.skipping.is_some() {
            return match lit {
                Some(Ok((length, mode))) if !self.peer_waits(mode) => {
                    self.state = State::Literal {
                        remaining: length,
                        sink: Sink::Discard,
                    };
                    None
                }
                _ => self.end_skip(),
            };
        }
        self.unit.extend_from_slice(&self.buf[start..end]);
        match lit {
            Some(Ok((length, mode))) => {
                self.state = State::Decision { length, mode };
                Some(FrameEvent::LiteralAnnounced {
                    tag: tag_of(&self.unit),
                    length,
                    mode,
                    needs_continuation: self.peer_waits(mode),
                })
            }
            _ => {
                self.last_streamed = std::mem::take(&mut self.streamed);
                Some(FrameEvent::Unit(std::mem::take(&mut self.unit)))
            }
        }
    }
}

/// `unit` with every streamed literal's length rewritten to 0, so that the parser reads the
/// literals as empty instead of looking for octets that are not there. Offsets that do not
/// follow a literal header are left alone (the parse then fails).
pub(crate) fn zero_streamed(unit: &[u8], streamed: &[StreamedLiteral]) -> Vec<u8> {
    let mut out = Vec::with_capacity(unit.len());
    let mut last = 0;
    for s in streamed {
        let Some(head) = unit.get(last..s.offset) else {
            break;
        };
        let Some(body) = head.strip_suffix(b"}\r\n") else {
            break;
        };
        let Some(open) = memchr::memrchr(b'{', body) else {
            break;
        };
        let digits = body[open + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        out.extend_from_slice(&head[..=open]);
        out.push(b'0');
        out.extend_from_slice(&head[open + 1 + digits..]);
        last = s.offset;
    }
    out.extend_from_slice(&unit[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(f: &mut Framer) -> Vec<FrameEvent> {
        let mut v = Vec::new();
        while let Some(e) = f.poll_event() {
            v.push(e);
        }
        v
    }

    #[test]
    fn lines_split_anywhere() {
        let input = b"a1 NOOP\r\na2 LOGIN {4}\r\nfred {3+}\r\npwd\r\n";
        for split in 1..input.len() {
            let mut f = Framer::new(Side::Server, Limits::server());
            let mut units = Vec::new();
            for chunk in input.chunks(split) {
                f.handle_input(chunk);
                while let Some(e) = f.poll_event() {
                    match e {
                        FrameEvent::Unit(u) => units.push(u),
                        FrameEvent::LiteralAnnounced { .. } => f.accept_literal().unwrap(),
                        e => panic!("{e:?}"),
                    }
                }
            }
            assert_eq!(
                units,
                vec![b"a1 NOOP\r\n".to_vec(), input[9..].to_vec()],
                "{split}"
            );
        }
    }

    #[test]
    fn literal_announced_before_bytes_and_streamed() {
        let mut f = Framer::new(Side::Server, Limits::server());
        f.handle_input(b"A003 APPEND saved {10}\r\n");
        let ev = drain(&mut f);
        assert_eq!(
            ev,
            vec![FrameEvent::LiteralAnnounced {
                tag: Some(Tag::new("A003").unwrap()),
                length: 10,
                mode: LiteralMode::Sync,
                needs_continuation: true
            }]
        );
        assert_eq!(f.unit_so_far(), b"A003 APPEND saved {10}\r\n");
        f.stream_literal().unwrap();
        f.handle_input(b"01234");
        f.handle_input(b"56789\r\n");
        let ev = drain(&mut f);
        assert_eq!(
            ev,
            vec![
                FrameEvent::LiteralChunk {
                    data: b"0123456789".to_vec(),
                    last: true
                },
                FrameEvent::Unit(b"A003 APPEND saved {10}\r\n\r\n".to_vec())
            ]
        );
    }

    #[test]
    fn rejected_sync_literal_resyncs_at_next_line() {
        let mut f = Framer::new(Side::Server, Limits::server());
        f.handle_input(b"A1 APPEND x {99999999}\r\n");
        assert!(matches!(
            drain(&mut f)[..],
            [FrameEvent::LiteralAnnounced { .. }]
        ));
        f.reject_literal();
        f.handle_input(b"A2 NOOP\r\n");
        assert_eq!(
            drain(&mut f),
            vec![FrameEvent::Unit(b"A2 NOOP\r\n".to_vec())]
        );
    }

    #[test]
    fn rejected_nonsync_literal_is_skipped_unread() {
        let mut f = Framer::new(Side::Server, Limits::server());
        f.handle_input(b"A1 APPEND x {5+}\r\n");
        let _ = drain(&mut f);
        f.reject_literal();
        f.handle_input(b"ab\r\nd {2+}\r\nxy\r\nA2 NOOP\r\n");
        assert_eq!(
            drain(&mut f),
            vec![FrameEvent::Unit(b"A2 NOOP\r\n".to_vec())]
        );
        assert!(f.stream_literal().is_ok()); // no decision pending: no-op
    }

    #[test]
    fn over_long_line_skipped_with_tag() {
        let mut f = Framer::new(Side::Server, Limits::server().with_max_line_length(16));
        f.handle_input(b"A7 SEARCH TEXT aaaaaaaaa");
        assert_eq!(drain(&mut f), vec![]);
        f.handle_input(&[b'a'; 100]);
        assert_eq!(drain(&mut f), vec![]);
        assert!(f.buffered() == 0, "skipped bytes are not kept");
        f.handle_input(b"\r\nA8 NOOP\r\n");
        assert_eq!(
            drain(&mut f),
            vec![
                FrameEvent::Error {
                    tag: Some(Tag::new("A7").unwrap()),
                    error: FrameError::LineTooLong { limit: 16 }
                },
                FrameEvent::Unit(b"A8 NOOP\r\n".to_vec())
            ]
        );
    }

    #[test]
    fn unit_limit_and_bad_header() {
        let mut f = Framer::new(Side::Server, Limits::server().with_max_unit_size(40));
        f.handle_input(b"A1 LOGIN {30}\r\n");
        let _ = drain(&mut f);
        assert_eq!(
            f.accept_literal(),
            Err(FrameError::UnitTooLarge { limit: 40 })
        );
        f.handle_input(b"A2 X {99999999999999999999+}\r\nA3 NOOP\r\n");
        let ev = drain(&mut f);
        assert!(matches!(
            &ev[0],
            FrameEvent::Error {
                error: FrameError::BadLiteralHeader,
                ..
            }
        ));
        assert_eq!(ev[1], FrameEvent::Unit(b"A3 NOOP\r\n".to_vec()));
    }

    #[test]
    fn starttls_injection_is_handed_back_not_framed() {
        let mut f = Framer::new(Side::Server, Limits::server());
        f.handle_input(b"A1 STARTTLS\r\nA2 LOGIN evil pw\r\n");
        assert_eq!(
            f.poll_event(),
            Some(FrameEvent::Unit(b"A1 STARTTLS\r\n".to_vec()))
        );
        // The server answers OK and switches to TLS: what came with the command is dropped.
        assert_eq!(f.take_buffered(), b"A2 LOGIN evil pw\r\n");
        assert_eq!(f.poll_event(), None);
        f.handle_input(b"A3 NOOP\r\n");
        assert_eq!(
            f.poll_event(),
            Some(FrameEvent::Unit(b"A3 NOOP\r\n".to_vec()))
        );
    }

    #[test]
    fn client_side_literals_never_wait() {
        let mut f = Framer::new(Side::Client, Limits::client());
        f.handle_input(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n");
        let ev = drain(&mut f);
        assert!(matches!(
            ev[0],
            FrameEvent::LiteralAnnounced {
                needs_continuation: false,
                ..
            }
        ));
        f.accept_literal().unwrap();
        assert_eq!(
            drain(&mut f),
            vec![FrameEvent::Unit(
                b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n".to_vec()
            )]
        );
    }
}
