//! Splitting on an ASCII byte, for the command and parameter parsers.
//!
//! `str::split(char)` and `str::split_once(char)` search with a `memchr` call and then confirm
//! each hit with a `memcmp` call, which on words of a few octets cost more than the parse
//! itself (measured on `RCPT TO:<…> NOTIFY=… ORCPT=…`). An ASCII byte can never be part of a
//! multi-byte UTF-8 sequence, so a plain byte scan finds the same places and every cut is on a
//! char boundary.

/// Like `s.split_once(b as char)`, for an ASCII `b`.
#[inline]
pub(crate) fn split_once(s: &str, b: u8) -> Option<(&str, &str)> {
    debug_assert!(b.is_ascii());
    let i = s.bytes().position(|c| c == b)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Like `s.split(b as char)`, for an ASCII `b`.
#[inline]
pub(crate) fn split(s: &str, b: u8) -> Split<'_> {
    debug_assert!(b.is_ascii());
    Split { rest: Some(s), b }
}

/// The iterator of [`split`].
pub(crate) struct Split<'a> {
    rest: Option<&'a str>,
    b: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match split_once(s, self.b) {
            Some((word, rest)) => {
                self.rest = Some(rest);
                Some(word)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_std() {
        for s in [
            "", " ", "a", "a b", " a  b ", "é é", "ééé", "a=b=c", "==", "x é=ü ",
        ] {
            for b in [b' ', b'='] {
                assert_eq!(split_once(s, b), s.split_once(b as char), "{s:?}");
                assert_eq!(
                    split(s, b).collect::<Vec<_>>(),
                    s.split(b as char).collect::<Vec<_>>(),
                    "{s:?}"
                );
            }
        }
    }
}
