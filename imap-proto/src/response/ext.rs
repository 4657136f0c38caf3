//! Extension data this crate has no type for, kept as a generic value so that a response from
//! a server with private extensions still parses (and serializes back byte-exact): Gmail's
//! `X-GM-LABELS (\Inbox "Work")` in a FETCH, an unknown LIST-EXTENDED item. The grammar is
//! RFC 4466 §2.1 `tagged-ext-val`, widened to nstring and flags.

use crate::encode::Writer;
use crate::parse::{R, enter, fail, nstring, number64, paren_list, peek};
use crate::types::{NString, is_astring_char};

/// A generic extension value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExtValue {
    /// A number.
    Number(u64),
    /// A string or NIL.
    NString(NString),
    /// A bare token: an atom, or a flag such as `\Inbox` (kept as sent, ASCII).
    Token(String),
    /// A parenthesized list.
    List(Vec<ExtValue>),
}

fn token(i: &[u8]) -> R<'_, String> {
    let start = usize::from(peek(i, b'\\'));
    let n = i[start..]
        .iter()
        .take_while(|b| is_astring_char(**b) && **b != b']')
        .count();
    if n == 0 {
        return fail(i);
    }
    Ok((
        &i[start + n..],
        String::from_utf8_lossy(&i[..start + n]).into_owned(),
    ))
}

/// One value, `depth` levels of nesting left.
pub(crate) fn ext_value(i: &[u8], depth: usize) -> R<'_, ExtValue> {
    if peek(i, b'(') {
        let (i2, d) = enter(i, depth)?;
        let (rest, v) = paren_list(i2, |i| ext_value(i, d))?;
        return Ok((rest, ExtValue::List(v)));
    }
    if i.first().is_some_and(u8::is_ascii_digit) {
        let n = i.iter().take_while(|b| b.is_ascii_digit()).count();
        // A number followed by token characters (`1a`) is a token.
        if !i.get(n).is_some_and(|b| is_astring_char(*b) && *b != b']')
            && let Ok((rest, v)) = number64(i)
        {
            return Ok((rest, ExtValue::Number(v)));
        }
    }
    if let Ok((rest, s)) = nstring(i) {
        // `NIL` followed by token characters (`NILS`) is a token.
        if !(s.0.is_none()
            && rest
                .first()
                .is_some_and(|b| is_astring_char(*b) && *b != b']'))
        {
            return Ok((rest, ExtValue::NString(s)));
        }
    }
    let (rest, t) = token(i)?;
    Ok((rest, ExtValue::Token(t)))
}

pub(crate) fn write_ext_value(w: &mut Writer, v: &ExtValue) {
    match v {
        ExtValue::Number(n) => {
            w.num(*n);
        }
        ExtValue::NString(s) => {
            w.nstring(s);
        }
        ExtValue::Token(t) => {
            w.s(t);
        }
        ExtValue::List(l) => {
            w.list(l, write_ext_value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::all;

    #[test]
    fn gmail_labels_round_trip() {
        for s in [
            &b"(\\Inbox \\Sent \"Work stuff\" Important)"[..],
            b"1278455344230334865",
            b"NIL",
            b"()",
            b"NILS",
            b"12ab",
        ] {
            let v = all(s, |i| ext_value(i, 8)).unwrap();
            let mut w = Writer::default();
            write_ext_value(&mut w, &v);
            assert_eq!(w.buf, s);
        }
        assert!(matches!(
            all(b"NILS", |i| ext_value(i, 8)).unwrap(),
            ExtValue::Token(_)
        ));
        assert!(matches!(
            all(&b"(((1)))"[..], |i| ext_value(i, 2)),
            Err((_, true))
        ));
    }
}
