//! The four mbox variants and their `>From ` quoting.
//!
//! RFC 4155 §2 describes the family without fixing an escape syntax; the variants are the ones
//! named in qmail's mbox(5), which RFC 4155 §2 calls "mostly authoritative":
//!
//! | variant   | writing a body line…                  | reading                       | length from      |
//! |-----------|---------------------------------------|-------------------------------|------------------|
//! | `mboxo`   | `From ` → `>From `                    | `>From ` → `From `            | next separator   |
//! | `mboxrd`  | `>*From ` gains one `>`               | `>+From ` loses one `>`       | next separator   |
//! | `mboxcl`  | as mboxo, plus `Content-Length:`      | as mboxo                      | `Content-Length` |
//! | `mboxcl2` | unchanged, plus `Content-Length:`     | unchanged                     | `Content-Length` |
//!
//! mboxo is lossy (a body line `>From ` reads back as `From `); mboxrd is the lossless one and
//! the default for new files. Interoperability notes, checked by this crate's tests: Python's
//! `mailbox.mbox` writes mboxo and never unquotes; Dovecot (2.3) reads the separators of every
//! variant and trusts a `Content-Length:` that checks out, but serves the stored bytes as they
//! are, so only mboxcl2 gives IMAP clients of a shared Dovecot byte-exact messages. The [`Quoter`] and [`Unquoter`] work on a stream of chunks split
//! anywhere and keep only a count of pending `>`, so a message never has to sit in memory whole.

use std::fmt;
use std::str::FromStr;

/// One member of the mbox family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Variant {
    /// Classic mbox: `From ` lines in bodies quoted as `>From `, lossy on reading.
    Mboxo,
    /// Reversible quoting: any `>*From ` line gains a `>` when written and loses one when read.
    #[default]
    Mboxrd,
    /// mboxo quoting plus a `Content-Length:` header giving the body length.
    Mboxcl,
    /// No quoting at all; the `Content-Length:` header alone delimits the body.
    Mboxcl2,
}

impl Variant {
    /// All four, in the order of the table above.
    pub const ALL: [Variant; 4] = [
        Variant::Mboxo,
        Variant::Mboxrd,
        Variant::Mboxcl,
        Variant::Mboxcl2,
    ];

    /// Whether messages carry a `Content-Length:` header that readers use to find the end.
    pub fn uses_content_length(self) -> bool {
        matches!(self, Variant::Mboxcl | Variant::Mboxcl2)
    }

    /// The lowercase name used by qmail's mbox(5) and mutt (`mboxrd`, …).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Mboxo => "mboxo",
            Variant::Mboxrd => "mboxrd",
            Variant::Mboxcl => "mboxcl",
            Variant::Mboxcl2 => "mboxcl2",
        }
    }

    /// How many `>` to write before `From ` for a line that had `gt` of them, or `None` when the
    /// line is left alone.
    fn quoted(self, gt: usize) -> Option<usize> {
        match self {
            Variant::Mboxo | Variant::Mboxcl => (gt == 0).then_some(1),
            Variant::Mboxrd => Some(gt + 1),
            Variant::Mboxcl2 => None,
        }
    }

    /// How many `>` a stored line with `gt` of them stands for, or `None` when it is literal.
    fn unquoted(self, gt: usize) -> Option<usize> {
        match self {
            Variant::Mboxo | Variant::Mboxcl => (gt == 1).then_some(0),
            Variant::Mboxrd => (gt >= 1).then(|| gt - 1),
            Variant::Mboxcl2 => None,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or(crate::Error::UnknownVariant)
    }
}

const FROM: &[u8] = b"From ";

/// Where the transformer is inside the current line.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Inside the `>*From ` prefix of a line: `gt` `>` seen, then `matched` bytes of `From `.
    Prefix { gt: usize, matched: usize },
    /// Past the prefix: copy up to the next LF.
    Rest,
}

#[derive(Debug, Clone)]
struct LineTransform {
    state: State,
}

impl LineTransform {
    fn new() -> Self {
        LineTransform {
            state: State::Prefix { gt: 0, matched: 0 },
        }
    }

    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>, rule: impl Fn(usize) -> Option<usize>) {
        while !input.is_empty() {
            match &mut self.state {
                State::Rest => match memchr::memchr(b'\n', input) {
                    Some(i) => {
                        out.extend_from_slice(&input[..=i]);
                        input = &input[i + 1..];
                        self.state = State::Prefix { gt: 0, matched: 0 };
                    }
                    None => {
                        out.extend_from_slice(input);
                        return;
                    }
                },
                State::Prefix { gt, matched } => {
                    let b = input[0];
                    if *matched == 0 && b == b'>' {
                        *gt += 1;
                        input = &input[1..];
                    } else if b == FROM[*matched] {
                        *matched += 1;
                        input = &input[1..];
                        if *matched == FROM.len() {
                            let n = rule(*gt).unwrap_or(*gt);
                            push_gt(out, n);
                            out.extend_from_slice(FROM);
                            self.state = State::Rest;
                        }
                    } else {
                        // Not a From line: give back what was held and copy the rest as is
                        // (the byte in hand may be the LF that ends an empty line).
                        push_gt(out, *gt);
                        out.extend_from_slice(&FROM[..*matched]);
                        self.state = State::Rest;
                    }
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if let State::Prefix { gt, matched } = self.state {
            push_gt(out, gt);
            out.extend_from_slice(&FROM[..matched]);
        }
        self.state = State::Prefix { gt: 0, matched: 0 };
    }
}

fn push_gt(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, b'>');
}

/// Adds `>From ` quoting to a message being written, chunk by chunk.
#[derive(Debug, Clone)]
pub struct Quoter {
    variant: Variant,
    t: LineTransform,
}

impl Quoter {
    /// A quoter for a message that starts here (at the start of a line).
    pub fn new(variant: Variant) -> Self {
        Quoter {
            variant,
            t: LineTransform::new(),
        }
    }

    /// Quotes the next chunk of the message into `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let v = self.variant;
        self.t.feed(input, out, |gt| v.quoted(gt));
    }

    /// Flushes what a chunk boundary held back (a line that ended as `>Fro`); call once at the
    /// end of the message. The quoter is then ready for the next message.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.t.finish(out);
    }
}

/// Removes `>From ` quoting from a stored message being read, chunk by chunk.
#[derive(Debug, Clone)]
pub struct Unquoter {
    variant: Variant,
    t: LineTransform,
}

impl Unquoter {
    /// An unquoter for a message that starts here (at the start of a line).
    pub fn new(variant: Variant) -> Self {
        Unquoter {
            variant,
            t: LineTransform::new(),
        }
    }

    /// Unquotes the next chunk of the stored message into `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let v = self.variant;
        self.t.feed(input, out, |gt| v.unquoted(gt));
    }

    /// Flushes what a chunk boundary held back; call once at the end of the message.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.t.finish(out);
    }
}

/// Quotes a whole message at once.
pub fn quote(variant: Variant, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut q = Quoter::new(variant);
    q.feed(message, &mut out);
    q.finish(&mut out);
    out
}

/// Unquotes a whole stored message at once.
pub fn unquote(variant: Variant, stored: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored.len());
    let mut q = Unquoter::new(variant);
    q.feed(stored, &mut out);
    q.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"From a\n>From b\n>>From c\nFrom\n Fro\n>Fromage\nx From y\n>>>\n";

    #[test]
    fn per_variant_quoting() {
        assert_eq!(
            quote(Variant::Mboxo, BODY),
            b">From a\n>From b\n>>From c\nFrom\n Fro\n>Fromage\nx From y\n>>>\n"
        );
        assert_eq!(
            quote(Variant::Mboxrd, BODY),
            b">From a\n>>From b\n>>>From c\nFrom\n Fro\n>Fromage\nx From y\n>>>\n"
        );
        assert_eq!(quote(Variant::Mboxcl, BODY), quote(Variant::Mboxo, BODY));
        assert_eq!(quote(Variant::Mboxcl2, BODY), BODY);
    }

    #[test]
    fn per_variant_unquoting() {
        for v in Variant::ALL {
            let back = unquote(v, &quote(v, BODY));
            match v {
                // mboxo cannot tell an original ">From b" from a quoted "From b".
                Variant::Mboxo | Variant::Mboxcl => {
                    assert_eq!(
                        back,
                        b"From a\nFrom b\n>>From c\nFrom\n Fro\n>Fromage\nx From y\n>>>\n"
                    )
                }
                _ => assert_eq!(back, BODY, "{v}"),
            }
        }
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let whole = quote(Variant::Mboxrd, BODY);
        for split in 0..BODY.len() {
            let mut q = Quoter::new(Variant::Mboxrd);
            let mut out = Vec::new();
            for chunk in [&BODY[..split], &BODY[split..]] {
                q.feed(chunk, &mut out);
            }
            q.finish(&mut out);
            assert_eq!(out, whole, "split at {split}");
        }
        let mut q = Quoter::new(Variant::Mboxrd);
        let mut out = Vec::new();
        for b in BODY {
            q.feed(std::slice::from_ref(b), &mut out);
        }
        q.finish(&mut out);
        assert_eq!(out, whole);
        // A message that ends in the middle of a prefix keeps it.
        assert_eq!(quote(Variant::Mboxrd, b"x\n>>Fro"), b"x\n>>Fro");
    }

    #[test]
    fn names() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
        }
        assert!("mboxzz".parse::<Variant>().is_err());
    }
}
