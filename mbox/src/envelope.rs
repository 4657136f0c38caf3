//! The `From ` separator line: written exactly, read leniently.
//!
//! RFC 4155 Appendix A fixes the default form: `From`, one space, the envelope sender as an
//! `addr-spec`, one space, the UTC receipt time in the traditional `ctime(3)` form without a time
//! zone (`Thu Nov 20 12:34:56 2026`), end of line. [`Envelope::to_line`] writes exactly that.
//!
//! RFC 4155 §2 warns that real files vary widely, so [`Envelope::parse`] accepts what mutt's
//! `is_from()` and Dovecot's `mbox_from_parse()` accept: any sender (even empty or with spaces),
//! runs of blanks, `hh:mm` without seconds, a time zone name or a numeric offset before or after
//! the year, two-digit years, a trailing CR. [`looks_like_separator`] is the test the reader uses
//! to tell a real separator from an unquoted `From ` line in a body: the line must carry a date.

use crate::Error;

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The sender written when the envelope sender is empty (the null reverse-path `<>`), as
/// Dovecot, UW IMAP and procmail do.
pub const NULL_SENDER: &str = "MAILER-DAEMON";

/// The envelope of one message: what its `From ` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    sender: String,
    time: Option<i64>,
}

impl Envelope {
    /// An envelope for writing: `sender` is the envelope sender (empty for the null sender,
    /// written as [`NULL_SENDER`]), `time` the receipt time in seconds since the Unix epoch (UTC).
    ///
    /// A sender with a blank or a control character would make the line ambiguous to readers
    /// that split on blanks, so it is refused with [`Error::InvalidEnvelope`].
    pub fn new(sender: &str, time: i64) -> Result<Self, Error> {
        let sender = sender.trim_matches(|c| c == '<' || c == '>');
        if sender.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::InvalidEnvelope);
        }
        // ctime has a four-digit year: keep to years 1..=9999 so the line stays fixed-form.
        if !(-62_135_596_800..=253_402_300_799).contains(&time) {
            return Err(Error::InvalidEnvelope);
        }
        let sender = if sender.is_empty() {
            NULL_SENDER.to_owned()
        } else {
            sender.to_owned()
        };
        Ok(Envelope {
            sender,
            time: Some(time),
        })
    }

    /// The envelope sender as written in the line (possibly [`NULL_SENDER`]).
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The receipt time in seconds since the epoch, or `None` when the line had no date that
    /// could be understood.
    pub fn time(&self) -> Option<i64> {
        self.time
    }

    /// The separator line, ending in LF, in the exact RFC 4155 form. An envelope parsed from a
    /// line without a date is written with the epoch as its date.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.sender.len() + 32);
        out.extend_from_slice(b"From ");
        out.extend_from_slice(self.sender.as_bytes());
        out.push(b' ');
        out.extend_from_slice(asctime(self.time.unwrap_or(0)).as_bytes());
        out.push(b'\n');
        out
    }

    /// Reads a separator line (with or without its line end). Never fails on a line that starts
    /// with `From `: a line whose date cannot be understood gives its first word as the sender
    /// and no time. `None` when the line does not start with `From `.
    pub fn parse(line: &[u8]) -> Option<Envelope> {
        let rest = line.strip_prefix(b"From ")?;
        let rest = trim_eol(rest);
        let text = String::from_utf8_lossy(rest);
        let tokens: Vec<&str> = text.split([' ', '\t']).filter(|t| !t.is_empty()).collect();
        // The sender is everything before the weekday; take the first position that parses,
        // starting at 1 so that a sender literally named "Mon" is still a sender.
        for start in (1..tokens.len()).chain(std::iter::once(0)) {
            if let Some(time) = parse_date(&tokens[start..]) {
                let sender = tokens[..start].join(" ");
                return Some(Envelope {
                    sender,
                    time: Some(time),
                });
            }
        }
        let sender = tokens.first().map(|s| (*s).to_owned()).unwrap_or_default();
        Some(Envelope { sender, time: None })
    }
}

/// Whether `line` (from its start, with or without line end) is a separator line that carries a
/// date a reader can trust: `From `, then something that [`Envelope::parse`] reads with a time.
pub fn looks_like_separator(line: &[u8]) -> bool {
    // Cheap pre-check: every date form has a colon in the time; body lines mostly do not.
    if !line.starts_with(b"From ") || memchr::memchr(b':', line).is_none() {
        return false;
    }
    Envelope::parse(line).is_some_and(|e| e.time.is_some())
}

fn trim_eol(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

/// `Www Mmm dd hh:mm[:ss] [zone] yyyy [zone]`, nothing else after it.
fn parse_date(t: &[&str]) -> Option<i64> {
    let weekday = t.first()?.trim_end_matches(',');
    if !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(weekday)) {
        return None;
    }
    let month_name = t.get(1)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))? as i64
        + 1;
    let day: i64 = small_number(t.get(2)?, 2)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let mut hms = t.get(3)?.split(':');
    let hour: i64 = small_number(hms.next()?, 2)?;
    let minute: i64 = small_number(hms.next()?, 2)?;
    let second: i64 = match hms.next() {
        Some(s) => small_number(s, 2)?,
        None => 0,
    };
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut year = None;
    let mut offset = 0i64;
    let rest = &t[4..];
    if rest.is_empty() || rest.len() > 3 {
        return None;
    }
    for tok in rest {
        if year.is_none() && tok.len() <= 4 && tok.bytes().all(|b| b.is_ascii_digit()) {
            let y: i64 = tok.parse().ok()?;
            year = Some(match tok.len() {
                4 => y,
                2 if y < 70 => 2000 + y,
                2 => 1900 + y,
                _ => return None,
            });
        } else if let Some(o) = zone_offset(tok) {
            offset = o;
        } else {
            return None;
        }
    }
    let days = days_from_civil(year?, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn small_number(s: &str, max_len: usize) -> Option<i64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A numeric offset (`+0100`, `-0500`) in seconds; a zone name (`UTC`, `PST`) counts as 0
/// because names are ambiguous and RFC 4155 says the time is UTC anyway.
fn zone_offset(tok: &str) -> Option<i64> {
    let b = tok.as_bytes();
    if b.len() == 5 && (b[0] == b'+' || b[0] == b'-') && b[1..].iter().all(u8::is_ascii_digit) {
        let v: i64 = tok[1..].parse().ok()?;
        let secs = (v / 100) * 3600 + (v % 100) * 60;
        return Some(if b[0] == b'-' { -secs } else { secs });
    }
    (2..=5).contains(&b.len()).then_some(())?;
    b.iter().all(u8::is_ascii_alphabetic).then_some(0)
}

/// `Thu Nov 20 12:34:56 2026` for a time in seconds since the epoch (UTC), as `ctime(3)` writes
/// it: the day of month padded with a space to two characters.
pub fn asctime(time: i64) -> String {
    let days = time.div_euclid(86_400);
    let secs = time.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {:04}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        y
    )
}

/// `Thu, 20 Nov 2026 12:34:56 +0000`: an RFC 5322 §3.3 date in UTC.
pub fn rfc2822_date(time: i64) -> String {
    let days = time.div_euclid(86_400);
    let secs = time.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {} {} {:04} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_exact_rfc4155_form() {
        let e = Envelope::new("alice@example.org", 1_763_597_696).unwrap();
        assert_eq!(
            e.to_line(),
            b"From alice@example.org Thu Nov 20 00:14:56 2025\n"
        );
        let e = Envelope::new("", 0).unwrap();
        assert_eq!(
            e.to_line(),
            b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
        );
        assert_eq!(Envelope::new("<>", 0).unwrap().sender(), NULL_SENDER);
        assert!(Envelope::new("a b@c", 0).is_err());
        assert!(Envelope::new("a\n@c", 0).is_err());
    }

    #[test]
    fn reads_leniently() {
        let t = 1_763_597_696;
        for line in [
            &b"From alice@example.org Thu Nov 20 00:14:56 2025\n"[..],
            b"From alice@example.org  Thu Nov 20 00:14:56 2025\r\n",
            b"From alice@example.org Thu Nov 20 00:14:56 UTC 2025",
            b"From alice@example.org Thu Nov 20 01:14:56 2025 +0100",
            b"From alice@example.org thu nov 20 00:14:56 25",
        ] {
            let e = Envelope::parse(line).unwrap();
            assert_eq!(e.sender(), "alice@example.org", "{line:?}");
            assert_eq!(e.time(), Some(t), "{}", String::from_utf8_lossy(line));
        }
        let e = Envelope::parse(b"From  Thu Nov 20 00:14 2025").unwrap();
        assert_eq!((e.sender(), e.time()), ("", Some(t - 56)));
        let e = Envelope::parse(b"From \"a b\"@c Mon Jan  5 10:00:00 1998").unwrap();
        assert_eq!(e.sender(), "\"a b\"@c");
        assert!(e.time().is_some());
        let e = Envelope::parse(b"From here on, we go").unwrap();
        assert_eq!((e.sender(), e.time()), ("here", None));
        assert!(Envelope::parse(b">From x").is_none());
    }

    #[test]
    fn separator_needs_a_date() {
        assert!(looks_like_separator(b"From a@b Thu Nov 20 00:14:56 2025\n"));
        assert!(!looks_like_separator(b"From a@b yesterday at 12:00\n"));
        assert!(!looks_like_separator(b"From the start\n"));
    }

    #[test]
    fn calendar_round_trips() {
        for t in [
            -86_400 * 700_000,
            -1,
            0,
            951_782_400,
            4_102_444_800,
            253_402_300_799,
        ] {
            let line = Envelope::new("x", t).unwrap().to_line();
            assert_eq!(Envelope::parse(&line).unwrap().time(), Some(t), "{t}");
        }
    }
}
