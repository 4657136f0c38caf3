//! Delivery status notifications: bounces, delay warnings and success reports as RFC 3464
//! `multipart/report; report-type=delivery-status` messages (RFC 6522), built with
//! `mail-builder`.
//!
//! - RFC 3464 §2.2 per-message fields (`Reporting-MTA`, `Original-Envelope-Id` from ENVID,
//!   `Arrival-Date`) and §2.3 per-recipient fields (`Original-Recipient` from ORCPT,
//!   `Final-Recipient`, `Action`, `Status`, `Remote-MTA`, `Diagnostic-Code`,
//!   `Last-Attempt-Date`, `Will-Retry-Until`).
//! - RFC 3461 §4.3 RET: `HDRS` returns the header as `text/rfc822-headers` (RFC 6522 §4),
//!   `FULL` the whole message as `message/rfc822` (cut to headers past
//!   [`DsnOptions::max_returned`]); delay and success reports return headers only.
//! - RFC 3834 §5: `Auto-Submitted: auto-replied`, so auto-responders stay quiet; DSNs go out
//!   with the null reverse path (RFC 5321 §4.5.5, §6.1), never to `<>`
//!   ([`should_notify`]).

use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};

use crate::queue::{QueueId, Ret};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnKind {
    /// Delivery failed (a bounce).
    Failure,
    /// Delivery is delayed and still being retried (a warning).
    Delay,
    /// Delivered (NOTIFY=SUCCESS).
    Success,
}

impl DsnKind {
    fn action(self) -> &'static str {
        match self {
            DsnKind::Failure => "failed",
            DsnKind::Delay => "delayed",
            DsnKind::Success => "delivered",
        }
    }
}

/// One recipient of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The address delivery was attempted to.
    pub final_recipient: String,
    /// ORCPT as given (`rfc822;bob@example.org`).
    pub original_recipient: Option<String>,
    /// The last reply or error (`550 5.1.1 No such user`), for `Status` and
    /// `Diagnostic-Code`.
    pub diagnostic: Option<String>,
    /// The host that gave it.
    pub remote_mta: Option<String>,
    /// When delivery was last tried.
    pub last_attempt: Option<SystemTime>,
    /// For delay reports: until when it will be retried.
    pub will_retry_until: Option<SystemTime>,
}

/// Who the reports come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnOptions {
    /// This host's name (`Reporting-MTA: dns; <host>`, Message-ID domain).
    pub hostname: String,
    /// The From: address (`MAILER-DAEMON@<host>` by default).
    pub from: String,
    /// The most octets of the original message returned with RET=FULL.
    pub max_returned: usize,
}

impl DsnOptions {
    /// Options for `hostname`.
    pub fn new(hostname: &str) -> DsnOptions {
        DsnOptions {
            hostname: hostname.to_owned(),
            from: format!("MAILER-DAEMON@{hostname}"),
            max_returned: 1024 * 1024,
        }
    }
}

/// A report to build.
#[derive(Debug, Clone)]
pub struct DsnRequest<'a> {
    /// Which report.
    pub kind: DsnKind,
    /// The original envelope sender, who receives the report.
    pub to: &'a str,
    /// The original queue id.
    pub queue_id: &'a QueueId,
    /// ENVID of the original message.
    pub envid: Option<&'a str>,
    /// RET of the original message.
    pub ret: Option<Ret>,
    /// When the original message arrived.
    pub arrival: SystemTime,
    /// The original message (its beginning at least: headers, or all of it for RET=FULL).
    pub original: &'a [u8],
    /// Whether `original` is the whole message.
    pub original_complete: bool,
    /// The recipients reported on.
    pub recipients: &'a [DsnRecipient],
    /// Now.
    pub now: SystemTime,
}

/// Whether a report may be sent to `sender` at all: never to the null reverse path
/// (RFC 5321 §6.1, RFC 3464 §2), nor to a mailer-daemon.
pub fn should_notify(sender: &str) -> bool {
    let s = sender.trim().trim_start_matches('<').trim_end_matches('>');
    !s.is_empty() && !s.to_ascii_lowercase().starts_with("mailer-daemon@")
}

/// The status code in a reply (`550 5.1.1 …` → `5.1.1`), or one made from the reply class.
pub fn status_of(diagnostic: Option<&str>, kind: DsnKind) -> String {
    let fallback = match kind {
        DsnKind::Failure => "5.0.0",
        DsnKind::Delay => "4.0.0",
        DsnKind::Success => "2.0.0",
    };
    let Some(d) = diagnostic else {
        return fallback.into();
    };
    let mut words = d.split_whitespace();
    let code = words.next().unwrap_or("");
    if let Some(st) = words.next()
        && is_status(st)
    {
        return st.to_owned();
    }
    match code.chars().next() {
        Some(c @ ('2' | '4' | '5')) if code.len() == 3 => format!("{c}.0.0"),
        _ => fallback.into(),
    }
}

fn is_status(s: &str) -> bool {
    let p: Vec<&str> = s.split('.').collect();
    p.len() == 3
        && matches!(p[0], "2" | "4" | "5")
        && p[1..]
            .iter()
            .all(|x| !x.is_empty() && x.len() <= 3 && x.bytes().all(|b| b.is_ascii_digit()))
}

fn date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    mail_builder::headers::date::Date::new(secs).to_rfc822()
}

/// One line, printable: CR, LF and other controls become spaces; cut at `max` chars.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The header block of a message (up to and without the empty line).
pub fn header_block(msg: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < msg.len() {
        let line_end = msg[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(msg.len());
        let line = &msg[i..line_end];
        if line == b"\n" || line == b"\r\n" {
            return &msg[..i];
        }
        i = line_end;
    }
    msg
}

/// Bare LF → CRLF, as message/rfc822 parts must have.
fn crlf(b: &[u8]) -> Vec<u8> {
    let mut o = Vec::with_capacity(b.len() + b.len() / 32);
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' && (i == 0 || b[i - 1] != b'\r') {
            o.push(b'\r');
        }
        o.push(c);
    }
    o
}

/// Builds a report; the result is a complete message to queue from `<>` to `req.to`.
pub fn build_dsn(opts: &DsnOptions, req: &DsnRequest<'_>) -> Vec<u8> {
    let (subject, intro) = match req.kind {
        DsnKind::Failure => (
            "Undelivered Mail Returned to Sender",
            "Your message could not be delivered to one or more recipients.\r\nIt is attached below.",
        ),
        DsnKind::Delay => (
            "Delayed Mail (still being retried)",
            "Your message has not been delivered yet to one or more recipients.\r\nThis is only a warning: no action is needed, delivery is still being attempted.",
        ),
        DsnKind::Success => (
            "Successful Mail Delivery Report",
            "Your message was delivered to the recipients below.",
        ),
    };
    let mut human = format!(
        "This is the mail system at host {}.\r\n\r\n{intro}\r\n\r\n",
        opts.hostname
    );
    for r in req.recipients {
        human += &format!(
            "<{}>: {}\r\n",
            clean(&r.final_recipient, 300),
            clean(r.diagnostic.as_deref().unwrap_or(req.kind.action()), 900)
        );
    }

    let mut status = format!(
        "Reporting-MTA: dns; {}\r\nX-Queue-ID: {}\r\n",
        clean(&opts.hostname, 255),
        req.queue_id
    );
    if let Some(e) = req.envid {
        status += &format!("Original-Envelope-Id: {}\r\n", clean(e, 100));
    }
    status += &format!("Arrival-Date: {}\r\n", date(req.arrival));
    for r in req.recipients {
        status += "\r\n";
        if let Some(o) = &r.original_recipient {
            let o = clean(o, 500);
            let o = if o.contains(';') {
                o
            } else {
                format!("rfc822;{o}")
            };
            status += &format!("Original-Recipient: {o}\r\n");
        }
        status += &format!(
            "Final-Recipient: rfc822; {}\r\n",
            clean(&r.final_recipient, 500)
        );
        status += &format!("Action: {}\r\n", req.kind.action());
        status += &format!(
            "Status: {}\r\n",
            status_of(r.diagnostic.as_deref(), req.kind)
        );
        if let Some(m) = &r.remote_mta {
            status += &format!("Remote-MTA: dns; {}\r\n", clean(m, 255));
        }
        if let Some(d) = &r.diagnostic {
            status += &format!("Diagnostic-Code: smtp; {}\r\n", clean(d, 900));
        }
        if let Some(t) = r.last_attempt {
            status += &format!("Last-Attempt-Date: {}\r\n", date(t));
        }
        if let Some(t) = r.will_retry_until {
            status += &format!("Will-Retry-Until: {}\r\n", date(t));
        }
    }

    let full = req.kind == DsnKind::Failure
        && req.ret != Some(Ret::Headers)
        && req.original_complete
        && req.original.len() <= opts.max_returned;
    let returned = if full {
        let body = crlf(req.original);
        let enc = if body.is_ascii() { "7bit" } else { "8bit" };
        MimePart::new(
            ContentType::new("message/rfc822"),
            BodyPart::Binary(body.into()),
        )
        .transfer_encoding(enc)
    } else {
        let mut h = crlf(header_block(req.original));
        if !h.ends_with(b"\r\n") && !h.is_empty() {
            h.extend_from_slice(b"\r\n");
        }
        let enc = if h.is_ascii() { "7bit" } else { "8bit" };
        MimePart::new(
            ContentType::new("text/rfc822-headers"),
            BodyPart::Binary(h.into()),
        )
        .transfer_encoding(enc)
    };

    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new(
                ContentType::new("text/plain").attribute("charset", "us-ascii"),
                BodyPart::Binary(human.into_bytes().into()),
            )
            .transfer_encoding("7bit")
            .inline(),
            MimePart::new(
                ContentType::new("message/delivery-status"),
                BodyPart::Binary(status.into_bytes().into()),
            )
            .transfer_encoding("7bit"),
            returned,
        ],
    );
    let secs = req
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let kind = match req.kind {
        DsnKind::Failure => "bounce",
        DsnKind::Delay => "delay",
        DsnKind::Success => "success",
    };
    MessageBuilder::new()
        .from(("Mail Delivery System", opts.from.as_str()))
        .to(req.to)
        .subject(subject)
        .date(secs)
        .message_id(format!("{}.{kind}.{secs}@{}", req.queue_id, opts.hostname))
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(report)
        .write_to_vec()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_from_replies() {
        assert_eq!(
            status_of(Some("550 5.1.1 No such user"), DsnKind::Failure),
            "5.1.1"
        );
        assert_eq!(status_of(Some("452 over quota"), DsnKind::Delay), "4.0.0");
        assert_eq!(
            status_of(Some("connection refused"), DsnKind::Delay),
            "4.0.0"
        );
        assert_eq!(status_of(None, DsnKind::Failure), "5.0.0");
        assert!(!should_notify("<>"));
        assert!(!should_notify("MAILER-DAEMON@x.org"));
        assert!(should_notify("a@x.org"));
        assert_eq!(header_block(b"A: b\nC: d\n\nbody"), b"A: b\nC: d\n");
    }
}
