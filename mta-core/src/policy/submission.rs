//! Message fix-ups of a submission server (RFC 6409 §8.2, §8.3): a message submitted without
//! `Date:` or `Message-ID:` gets them, so what leaves the host is a valid RFC 5322 message
//! (§3.6 requires `Date`, and `Message-ID` SHOULD be present).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::bounce::header_block;

/// The header fields to prepend to a submitted message that lacks them (empty when it has
/// both). `unique` makes the Message-ID unique (the queue id is a good choice); `now` is the
/// submission time.
pub fn submission_fixups(message: &[u8], hostname: &str, unique: &str, now: SystemTime) -> Vec<u8> {
    let header = header_block(message);
    let has = |name: &str| {
        header.split(|&b| b == b'\n').any(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && line[name.len()] == b':'
        })
    };
    let eol: &[u8] = if header.windows(2).any(|w| w == b"\r\n") || header.is_empty() {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut out = Vec::new();
    if !has("Date") {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(
            mail_builder::headers::date::Date::new(secs)
                .to_rfc822()
                .as_bytes(),
        );
        out.extend_from_slice(eol);
    }
    if !has("Message-ID") {
        let safe = |s: &str| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
                .collect::<String>()
        };
        out.extend_from_slice(
            format!("Message-ID: <{}@{}>", safe(unique), safe(hostname)).as_bytes(),
        );
        out.extend_from_slice(eol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn adds_only_what_is_missing() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let add = submission_fixups(
            b"Subject: x\r\nFrom: a@b\r\n\r\nbody Date: no\r\n",
            "mx.example.org",
            "q1",
            now,
        );
        let add = String::from_utf8(add).unwrap();
        assert_eq!(
            add,
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <q1@mx.example.org>\r\n"
        );
        let both = b"date: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-Id: <x@y>\n\nbody\n";
        assert!(submission_fixups(both, "h", "q", now).is_empty());
        let only_id = submission_fixups(b"Message-ID: <x@y>\n\n", "h", "q", now);
        assert!(
            only_id.starts_with(b"Date: ")
                && only_id.ends_with(b"\n")
                && !only_id.ends_with(b"\r\n")
        );
    }
}
