//! Turning a message into its stored form: `From ` line, quoted message, blank line.
//!
//! RFC 4155 Appendix A: each message is preceded by its separator line and followed by an
//! empty line. A message that does not end with a newline gets one (as Python's `mailbox` and
//! mutt do), since otherwise the blank line would not be a line. The `>From ` quoting is the
//! variant's ([`crate::variant`]); mboxcl and mboxcl2 get a `Content-Length:` header with the
//! length of the stored body. IMAP state goes in headers per [`crate::metadata`].

use crate::envelope::Envelope;
use crate::metadata::{self, FolderMeta, MessageMeta};
use crate::variant::{Variant, quote};

/// Splits a message at the end of its header block: `(headers including the blank line, body)`.
/// A message without a blank line is all header block (and has an empty body).
pub fn split_header(message: &[u8]) -> (&[u8], &[u8]) {
    if message.starts_with(b"\n") {
        return message.split_at(1);
    }
    if message.starts_with(b"\r\n") {
        return message.split_at(2);
    }
    let lf = memchr::memmem::find(message, b"\n\n").map(|i| i + 2);
    let crlf = memchr::memmem::find(message, b"\n\r\n").map(|i| i + 3);
    let end = match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(message.len()),
    };
    message.split_at(end)
}

/// What to write into the headers of a message being stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreHeaders<'a> {
    /// Per-message IMAP state; `None` leaves the message's own fields alone.
    pub meta: Option<&'a MessageMeta>,
    /// Folder state (`X-IMAPbase:`), for the first message of a file.
    pub folder: Option<&'a FolderMeta>,
    /// Whether the message is the folder-data pseudo-message (writes `X-IMAP:`).
    pub pseudo: bool,
}

/// The stored form of `message`: `From ` line, quoted message (with rewritten headers when
/// needed), and the blank line that ends it.
pub fn encode_message(
    envelope: &Envelope,
    message: &[u8],
    variant: Variant,
    headers: StoreHeaders<'_>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 256);
    out.extend_from_slice(&envelope.to_line());
    let rewrite =
        headers.meta.is_some() || headers.folder.is_some() || variant.uses_content_length();
    if !rewrite {
        out.extend_from_slice(&quote(variant, message));
        if !message.is_empty() && !message.ends_with(b"\n") {
            out.push(b'\n');
        }
    } else {
        let (head, body) = split_header(message);
        let mut body = quote(variant, body);
        if !body.is_empty() && !body.ends_with(b"\n") {
            body.push(b'\n');
        }
        let cl = variant.uses_content_length().then_some(body.len() as u64);
        let head = metadata::render(head, headers.meta, headers.folder, headers.pseudo, cl);
        out.extend_from_slice(&quote(variant, &head));
        out.extend_from_slice(&body);
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(
            split_header(b"A: b\n\nbody"),
            (&b"A: b\n\n"[..], &b"body"[..])
        );
        assert_eq!(
            split_header(b"A: b\r\n\r\nbody"),
            (&b"A: b\r\n\r\n"[..], &b"body"[..])
        );
        assert_eq!(split_header(b"\nbody"), (&b"\n"[..], &b"body"[..]));
        assert_eq!(split_header(b"A: b\n"), (&b"A: b\n"[..], &b""[..]));
    }

    #[test]
    fn encodes_per_variant() {
        let env = Envelope::new("a@b", 0).unwrap();
        let msg = b"Subject: x\n\nFrom me\n>From you";
        let o = encode_message(&env, msg, Variant::Mboxo, StoreHeaders::default());
        assert_eq!(
            o,
            b"From a@b Thu Jan  1 00:00:00 1970\nSubject: x\n\n>From me\n>From you\n\n"
        );
        let cl2 = encode_message(&env, msg, Variant::Mboxcl2, StoreHeaders::default());
        assert_eq!(
            cl2,
            b"From a@b Thu Jan  1 00:00:00 1970\nSubject: x\nContent-Length: 18\n\nFrom me\n>From you\n\n"
        );
        let cl = encode_message(&env, msg, Variant::Mboxcl, StoreHeaders::default());
        assert!(cl.ends_with(b"Content-Length: 19\n\n>From me\n>From you\n\n"));
    }
}
