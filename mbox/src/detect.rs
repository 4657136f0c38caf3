//! Guessing the variant of an existing mbox from its first messages.
//!
//! The variants are not marked in the file (RFC 4155 §4 puts the `format` parameter on the
//! media type, not in the data), so the guess rests on evidence:
//!
//! - every message seen has a `Content-Length:` that checks out → mboxcl or mboxcl2: mboxcl2 if
//!   a body has an unquoted `From ` line (only cl2 leaves those), else mboxcl if a body has a
//!   `>From ` line, else mboxcl2;
//! - otherwise a `>>From ` line means mboxrd (an mboxo writer never adds a second `>`); a
//!   `>From ` line alone means mboxo; no quoted line at all is no evidence, and the answer is
//!   mboxrd, which reads everything mboxo wrote the same way and writes losslessly.

use std::io::{Read, Seek};

use memchr::memmem;

use crate::reader::{ReadOptions, Reader, copy_message};
use crate::{Error, Variant};

/// The guess and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Detection {
    /// The likely variant.
    pub variant: Variant,
    /// Messages looked at.
    pub messages: usize,
    /// Messages whose `Content-Length:` pointed exactly at the end of the message.
    pub content_length_ok: usize,
    /// Body lines `>From `.
    pub quoted: usize,
    /// Body lines `>>From ` (or more `>`).
    pub double_quoted: usize,
    /// Body lines `From ` that did not split the message (seen only through `Content-Length`).
    pub unquoted: usize,
    /// Whether anything at all pointed at the answer (otherwise it is the default, mboxrd).
    pub evidence: bool,
}

/// Looks at up to `max_messages` messages (and at most `max_bytes` of message data) of `r`.
pub fn detect<R: Read + Seek>(
    r: R,
    max_messages: usize,
    max_bytes: u64,
) -> Result<Detection, Error> {
    // Reading as mboxcl2 trusts Content-Length where it checks out, and never unquotes.
    let mut reader = Reader::new(r, ReadOptions::new(Variant::Mboxcl2).with_headers())?;
    let mut d = Detection {
        variant: Variant::Mboxrd,
        messages: 0,
        content_length_ok: 0,
        quoted: 0,
        double_quoted: 0,
        unquoted: 0,
        evidence: false,
    };
    let mut budget = max_bytes;
    let mut data = Vec::new();
    while d.messages < max_messages {
        let Some(info) = reader.next_message()? else {
            break;
        };
        d.messages += 1;
        let has_cl = info
            .headers
            .as_deref()
            .and_then(crate::metadata::content_length)
            .is_some();
        if has_cl && !info.anomalies.bad_content_length {
            d.content_length_ok += 1;
        }
        if info.data_len > budget {
            break;
        }
        budget -= info.data_len;
        data.clear();
        copy_message(reader.get_mut(), &info, Variant::Mboxcl2, &mut data)?;
        for i in memmem::find_iter(&data, b"From ") {
            if i != 0 && data[i - 1] != b'\n' && data[i - 1] != b'>' {
                continue;
            }
            let gt = data[..i].iter().rev().take_while(|&&b| b == b'>').count();
            let line_start = i - gt;
            if line_start != 0 && data[line_start - 1] != b'\n' {
                continue;
            }
            match gt {
                0 => d.unquoted += 1,
                1 => d.quoted += 1,
                _ => d.double_quoted += 1,
            }
        }
    }
    let all_cl = d.messages > 0 && d.content_length_ok == d.messages;
    d.evidence = all_cl || d.quoted + d.double_quoted > 0;
    d.variant = if all_cl {
        if d.unquoted > 0 || d.quoted == 0 {
            Variant::Mboxcl2
        } else {
            Variant::Mboxcl
        }
    } else if d.double_quoted > 0 {
        Variant::Mboxrd
    } else if d.quoted > 0 {
        Variant::Mboxo
    } else {
        Variant::Mboxrd
    };
    Ok(d)
}
