//! Conversions between the store's values and the IMAP engine's (flags, dates, UIDs).

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailhub_imap_proto::server::MessageInfo;
use mailhub_imap_proto::types::{Atom, Date, DateTime, Flag};

use crate::store::{FlagSet, MessageMeta, SystemFlags, Uid};

/// The store's flags as IMAP flags (`\Recent` is never stored).
pub(super) fn flags_to_imap(set: &FlagSet) -> Vec<Flag> {
    let mut out: Vec<Flag> = set.system.names().filter_map(Flag::from_wire).collect();
    out.extend(
        set.keywords
            .iter()
            .filter_map(|k| Atom::new(k.as_str()).ok())
            .map(Flag::Keyword),
    );
    out
}

/// IMAP flags as the store keeps them; `\Recent` and unknown `\`-flags are dropped (a server
/// never lets a client set `\Recent`, RFC 3501 §2.3.2).
pub(super) fn flags_from_imap(flags: &[Flag]) -> FlagSet {
    let mut set = FlagSet::default();
    for f in flags {
        let sys = match f {
            Flag::Seen => SystemFlags::SEEN,
            Flag::Answered => SystemFlags::ANSWERED,
            Flag::Flagged => SystemFlags::FLAGGED,
            Flag::Deleted => SystemFlags::DELETED,
            Flag::Draft => SystemFlags::DRAFT,
            Flag::Keyword(k) => {
                set.keywords.insert(k.as_str().to_owned());
                continue;
            }
            _ => continue,
        };
        set.system = set.system.union(sys);
    }
    set
}

/// A store time as an IMAP date-time in UTC.
pub(super) fn datetime(t: SystemTime) -> DateTime {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(_) => 0,
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days, Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(1, 9999) as u16;
    let fallback = || DateTime::new(Date::new(1970, 1, 1).expect("valid"), 0, 0, 0, 0);
    Date::new(year, month, day)
        .and_then(|d| {
            DateTime::new(
                d,
                (rem / 3600) as u8,
                (rem % 3600 / 60) as u8,
                (rem % 60) as u8,
                0,
            )
        })
        .or_else(|_| fallback())
        .expect("1970-01-01 is a valid date")
}

/// An IMAP date-time as a store time.
pub(super) fn system_time(d: DateTime) -> SystemTime {
    let s = d.unix_timestamp();
    if s >= 0 {
        UNIX_EPOCH + Duration::from_secs(s as u64)
    } else {
        UNIX_EPOCH
    }
}

/// A UID the engine can hold (the store never gives 0).
pub(super) fn nz(uid: Uid) -> NonZeroU32 {
    NonZeroU32::new(uid).unwrap_or(NonZeroU32::MIN)
}

/// A store message as the engine's [`MessageInfo`].
pub(super) fn message_info(m: &MessageMeta) -> MessageInfo {
    MessageInfo {
        uid: nz(m.uid),
        flags: flags_to_imap(&m.flags),
        size: m.size,
        internal_date: datetime(m.internal_date),
        modseq: m.modseq,
        recent: false,
    }
}

/// The octets with every bare LF made CRLF: sizes are RFC 822 sizes, counted with CRLF, so
/// FETCH must send what RFC822.SIZE announced (Maildir files usually have bare LF).
pub(super) fn crlf(raw: Vec<u8>) -> Vec<u8> {
    let bare = raw
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
        .count();
    if bare == 0 {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + bare);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// [`crlf`] for a message that arrives in chunks: a bare LF becomes CRLF, including an LF
/// that opens a chunk after one that ended in CR (which is no bare LF).
#[derive(Debug, Default)]
pub(super) struct CrlfStream {
    after_cr: bool,
}

impl CrlfStream {
    /// The next chunk, converted.
    pub(super) fn convert(&mut self, chunk: Vec<u8>) -> Vec<u8> {
        let mut prev_cr = self.after_cr;
        let mut bare = 0;
        for &b in &chunk {
            if b == b'\n' && !prev_cr {
                bare += 1;
            }
            prev_cr = b == b'\r';
        }
        let mut prev_cr = std::mem::replace(&mut self.after_cr, prev_cr);
        if bare == 0 {
            return chunk;
        }
        let mut out = Vec::with_capacity(chunk.len() + bare);
        for b in chunk {
            if b == b'\n' && !prev_cr {
                out.push(b'\r');
            }
            prev_cr = b == b'\r';
            out.push(b);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_crlf_equals_whole_crlf_at_every_split() {
        let inputs: [&[u8]; 5] = [
            b"a\nb\r\nc\r\r\nd\n\n",
            b"\n\r\n\r\n\n",
            b"\r",
            b"no line ends",
            b"Subject: x\r\n\r\nbody\nmore\r\n",
        ];
        for input in inputs {
            let whole = crlf(input.to_vec());
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    let mut s = CrlfStream::default();
                    let mut out = s.convert(input[..i].to_vec());
                    out.extend(s.convert(input[i..j].to_vec()));
                    out.extend(s.convert(input[j..].to_vec()));
                    assert_eq!(out, whole, "{input:?} split at {i}, {j}");
                }
            }
        }
    }

    #[test]
    fn dates_round_trip_in_utc() {
        for secs in [0u64, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(system_time(datetime(t)), t, "{secs}");
        }
        assert_eq!(
            datetime(UNIX_EPOCH + Duration::from_secs(951_782_400)).to_wire(),
            "29-Feb-2000 00:00:00 +0000"
        );
    }

    #[test]
    fn flags_round_trip_and_recent_is_dropped() {
        let imap = vec![
            Flag::Seen,
            Flag::Deleted,
            Flag::Keyword(Atom::new("$Junk").unwrap()),
        ];
        let set = flags_from_imap(&[imap.clone(), vec![Flag::Recent]].concat());
        assert_eq!(flags_to_imap(&set), imap);
    }

    #[test]
    fn bare_lf_becomes_crlf() {
        assert_eq!(crlf(b"a\nb\r\nc\n".to_vec()), b"a\r\nb\r\nc\r\n");
        assert_eq!(crlf(b"a\r\n".to_vec()), b"a\r\n");
    }
}
