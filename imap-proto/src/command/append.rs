//! APPEND with streamed message data (RFC 3501 §6.3.11, MULTIAPPEND RFC 3502, UTF8=ACCEPT
//! RFC 6855 §4, BINARY RFC 3516).
//!
//! A server does not keep a message in memory to parse the APPEND around it: when the framer
//! announces the literal, [`parse_streamed_append`] reads the command so far
//! ([`crate::framing::Framer::unit_so_far`]) — if it is an APPEND, the server checks the
//! mailbox and size, then streams the literal ([`crate::framing::Framer::stream_literal`]).
//! With MULTIAPPEND the next header follows the data and is announced the same way; the final
//! unit (literal octets left out) tells the command is complete.

use super::parse::append_flags_date;
use crate::error::ParseError;
use crate::parse::{R, all, byte, crlf, fail, kw, mailbox, number64, peek, sp, tag_};
use crate::types::{DateTime, Flag, LiteralMode, MailboxName, Tag};

/// The header of one message of a streamed APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendHeader {
    /// Flags to set.
    pub flags: Option<Vec<Flag>>,
    /// Internal date to set.
    pub date: Option<DateTime>,
    /// `UTF8 (…)` form.
    pub utf8: bool,
    /// The announced length.
    pub length: u64,
    /// How the literal is announced.
    pub mode: LiteralMode,
}

/// An APPEND read so far, message octets left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedAppend {
    /// The tag.
    pub tag: Tag,
    /// The destination.
    pub mailbox: MailboxName,
    /// The message headers so far; the last is the one just announced unless `complete`.
    pub messages: Vec<AppendHeader>,
    /// Whether the command ended (the unit ends with the final CRLF).
    pub complete: bool,
}

fn header_only(i: &[u8]) -> R<'_, (u64, LiteralMode)> {
    let (i, binary) = if peek(i, b'~') {
        (&i[1..], true)
    } else {
        (i, false)
    };
    let (i, ()) = byte(b'{')(i)?;
    let (i, n) = number64(i)?;
    let (i, plus) = if peek(i, b'+') {
        (&i[1..], true)
    } else {
        (i, false)
    };
    let (i, ()) = byte(b'}')(i)?;
    let (i, ()) = crlf(i)?;
    let mode = match (binary, plus) {
        (false, false) => LiteralMode::Sync,
        (false, true) => LiteralMode::NonSync,
        (true, false) => LiteralMode::Binary,
        (true, true) => LiteralMode::BinaryNonSync,
    };
    Ok((i, (n, mode)))
}

fn streamed(i: &[u8]) -> R<'_, StreamedAppend> {
    let (i, tag) = tag_(i)?;
    let (i, ()) = sp(i)?;
    let (i, ()) = kw("APPEND ")(i)?;
    let (mut i, mailbox) = mailbox(i)?;
    let mut messages = Vec::new();
    loop {
        if i.is_empty() && !messages.is_empty() {
            return Ok((
                i,
                StreamedAppend {
                    tag,
                    mailbox,
                    messages,
                    complete: false,
                },
            ));
        }
        if let Ok((r, ())) = crlf(i)
            && !messages.is_empty()
        {
            return Ok((
                r,
                StreamedAppend {
                    tag,
                    mailbox,
                    messages,
                    complete: true,
                },
            ));
        }
        let (r, ()) = sp(i)?;
        let (r, (flags, date)) = append_flags_date(r)?;
        let (r, utf8) = match kw("UTF8 (")(r) {
            Ok((r, ())) => (r, true),
            Err(_) => (r, false),
        };
        let (mut r, (length, mode)) = header_only(r)?;
        messages.push(AppendHeader {
            flags,
            date,
            utf8,
            length,
            mode,
        });
        if utf8 && !r.is_empty() {
            r = byte(b')')(r)?.0;
        }
        if r.is_empty() || peek(r, b' ') || r.starts_with(b"\r\n") {
            i = r;
        } else {
            return fail(r);
        }
    }
}

/// Reads an APPEND whose literal octets were streamed (left out of the unit). `Ok(None)` when
/// the unit is not an APPEND (buffer the literal and use [`crate::Command::parse`] then).
///
/// # Errors
/// [`ParseError::Syntax`] with the tag when it is an APPEND but malformed.
pub fn parse_streamed_append(unit: &[u8]) -> Result<Option<StreamedAppend>, ParseError> {
    let Ok((rest, tag)) = tag_(unit) else {
        return Ok(None);
    };
    if !rest
        .get(..8)
        .is_some_and(|n| n.eq_ignore_ascii_case(b" APPEND "))
    {
        return Ok(None);
    }
    all(unit, streamed)
        .map(Some)
        .map_err(|(offset, _)| ParseError::Syntax {
            tag: Some(tag),
            offset,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiappend_headers_without_data() {
        let s = parse_streamed_append(b"A003 APPEND saved (\\Seen) {310}\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.messages.len(), s.complete, s.messages[0].length),
            (1, false, 310)
        );
        let s = parse_streamed_append(
            b"A003 APPEND saved (\\Seen) {310}\r\n \" 7-Feb-1994 22:43:04 -0800\" UTF8 (~{5+}\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.messages.len(), 2);
        assert!(s.messages[1].utf8 && s.messages[1].date.is_some() && !s.complete);
        let s = parse_streamed_append(b"A003 APPEND saved {3}\r\n UTF8 (~{5}\r\n)\r\n")
            .unwrap()
            .unwrap();
        assert!(s.complete && s.messages.len() == 2);
        assert_eq!(parse_streamed_append(b"A1 LOGIN {3}\r\n").unwrap(), None);
        assert!(
            parse_streamed_append(b"A1 APPEND x y {3}\r\n")
                .unwrap_err()
                .tag()
                .is_some()
        );
    }
}
