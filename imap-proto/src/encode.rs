//! The serializer's writer: a byte buffer that remembers where synchronising literals end,
//! so a client can send a command in pieces and wait for `+` between them (RFC 3501 §7.5).

use crate::types::{
    AString, Atom, Date, DateTime, Flag, FlagPerm, IString, ListMailbox, Literal, MailboxAttr,
    MailboxName, NString, Quoted, SeqNo, SeqRange, SequenceSet, Tag,
};

/// A serialized command or response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    bytes: Vec<u8>,
    sync_points: Vec<usize>,
}

impl Encoded {
    /// All the octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// All the octets, taken out.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The octets split after each synchronising literal header (`{n}\r\n`): a client sends
    /// the first piece, waits for a `+` continuation, sends the next, and so on.
    #[must_use]
    pub fn pieces(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(self.sync_points.len() + 1);
        let mut start = 0;
        for &p in &self.sync_points {
            out.push(&self.bytes[start..p]);
            start = p;
        }
        out.push(&self.bytes[start..]);
        out
    }
}

/// Accumulates output octets.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
    sync_points: Vec<usize>,
}

impl Writer {
    pub(crate) fn finish(self) -> Encoded {
        Encoded {
            bytes: self.buf,
            sync_points: self.sync_points,
        }
    }
    pub(crate) fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub(crate) fn s(&mut self, s: &str) -> &mut Self {
        self.raw(s.as_bytes())
    }
    pub(crate) fn sp(&mut self) -> &mut Self {
        self.buf.push(b' ');
        self
    }
    pub(crate) fn byte(&mut self, b: u8) -> &mut Self {
        self.buf.push(b);
        self
    }
    pub(crate) fn crlf(&mut self) -> &mut Self {
        self.raw(b"\r\n")
    }
    pub(crate) fn num(&mut self, n: impl Into<u64>) -> &mut Self {
        let mut b = [0u8; 20];
        let mut n: u64 = n.into();
        let mut i = b.len();
        loop {
            i -= 1;
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.raw(&b[i..])
    }
    pub(crate) fn tag(&mut self, t: &Tag) -> &mut Self {
        self.s(t.as_str())
    }
    pub(crate) fn atom(&mut self, a: &Atom) -> &mut Self {
        self.s(a.as_str())
    }
    pub(crate) fn quoted(&mut self, q: &Quoted) -> &mut Self {
        self.buf.push(b'"');
        for &b in q.as_bytes() {
            if b == b'"' || b == b'\\' {
                self.buf.push(b'\\');
            }
            self.buf.push(b);
        }
        self.buf.push(b'"');
        self
    }
    pub(crate) fn literal(&mut self, l: &Literal) -> &mut Self {
        use crate::types::LiteralMode as M;
        if l.mode().is_binary() {
            self.buf.push(b'~');
        }
        self.byte(b'{').num(l.as_bytes().len() as u64);
        if matches!(l.mode(), M::NonSync | M::BinaryNonSync) {
            self.buf.push(b'+');
        }
        self.raw(b"}\r\n");
        if l.mode().is_sync() {
            self.sync_points.push(self.buf.len());
        }
        self.raw(l.as_bytes())
    }
    pub(crate) fn string(&mut self, s: &IString) -> &mut Self {
        match s {
            IString::Quoted(q) => self.quoted(q),
            IString::Literal(l) => self.literal(l),
        }
    }
    pub(crate) fn astring(&mut self, a: &AString) -> &mut Self {
        match a {
            AString::Atom(s) => self.s(s),
            AString::String(s) => self.string(s),
        }
    }
    pub(crate) fn nstring(&mut self, n: &NString) -> &mut Self {
        match &n.0 {
            None => self.s("NIL"),
            Some(s) => self.string(s),
        }
    }
    pub(crate) fn mailbox(&mut self, m: &MailboxName) -> &mut Self {
        match m {
            MailboxName::Inbox => self.s("INBOX"),
            MailboxName::Other(a) => self.astring(a),
        }
    }
    pub(crate) fn list_mailbox(&mut self, m: &ListMailbox) -> &mut Self {
        match m {
            ListMailbox::Token(t) => self.s(t),
            ListMailbox::String(s) => self.string(s),
        }
    }
    pub(crate) fn flag(&mut self, f: &Flag) -> &mut Self {
        self.s(&f.to_string())
    }
    pub(crate) fn flag_perm(&mut self, f: &FlagPerm) -> &mut Self {
        match f {
            FlagPerm::Flag(f) => self.flag(f),
            FlagPerm::Wildcard => self.s("\\*"),
        }
    }
    pub(crate) fn attr(&mut self, a: &MailboxAttr) -> &mut Self {
        self.s(&a.to_string())
    }
    /// `(a b c)` with `item` writing each element.
    pub(crate) fn list<T>(&mut self, xs: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.buf.push(b'(');
        self.sep(xs, b' ', &mut item);
        self.buf.push(b')');
        self
    }
    /// Elements separated by `sep`.
    pub(crate) fn sep<T>(
        &mut self,
        xs: &[T],
        sep: u8,
        mut item: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        for (n, x) in xs.iter().enumerate() {
            if n > 0 {
                self.buf.push(sep);
            }
            item(self, x);
        }
        self
    }
    fn seq_no(&mut self, s: SeqNo) -> &mut Self {
        match s {
            SeqNo::Value(v) => self.num(v.get()),
            SeqNo::Largest => self.byte(b'*'),
        }
    }
    pub(crate) fn seq_set(&mut self, s: &SequenceSet) -> &mut Self {
        match s {
            SequenceSet::SavedResult => self.byte(b'$'),
            SequenceSet::Set(r) => self.sep(r, b',', |w, r| match *r {
                SeqRange::Single(a) => {
                    w.seq_no(a);
                }
                SeqRange::Range(a, b) => {
                    w.seq_no(a).byte(b':').seq_no(b);
                }
            }),
        }
    }
    pub(crate) fn date(&mut self, d: Date) -> &mut Self {
        self.s(&d.to_wire())
    }
    pub(crate) fn date_time(&mut self, d: DateTime) -> &mut Self {
        self.byte(b'"').s(&d.to_wire()).byte(b'"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::LiteralMode;

    #[test]
    fn pieces_split_after_sync_literals() {
        let mut w = Writer::default();
        w.s("A1 LOGIN ")
            .literal(&Literal::new(&b"fred"[..], LiteralMode::Sync).unwrap())
            .sp()
            .literal(&Literal::new(&b"pw"[..], LiteralMode::NonSync).unwrap())
            .crlf();
        let e = w.finish();
        assert_eq!(e.as_bytes(), b"A1 LOGIN {4}\r\nfred {2+}\r\npw\r\n");
        assert_eq!(
            e.pieces(),
            vec![&b"A1 LOGIN {4}\r\n"[..], &b"fred {2+}\r\npw\r\n"[..]]
        );
        let mut w = Writer::default();
        w.quoted(&Quoted::new("a\"\\").unwrap())
            .num(0u32)
            .num(u64::MAX);
        assert_eq!(w.buf, b"\"a\\\"\\\\\"018446744073709551615");
    }
}
