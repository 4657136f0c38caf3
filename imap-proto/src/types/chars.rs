//! Character classes of RFC 3501 §9 (and RFC 9051 §9, which keeps them).

/// `ATOM-CHAR`: any CHAR except `atom-specials` (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
#[must_use]
pub const fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR`: `ATOM-CHAR` or `]` (`resp-specials`).
#[must_use]
pub const fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// A character of `tag`: any `ASTRING-CHAR` except `+`.
#[must_use]
pub const fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char`: `ATOM-CHAR`, `list-wildcards` (`%` `*`) or `resp-specials` (`]`).
#[must_use]
pub const fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// `TEXT-CHAR`: any octet except NUL, CR and LF. Octets above 0x7f are accepted because
/// RFC 9051 and RFC 6855 allow UTF-8 in `text`.
#[must_use]
pub const fn is_text_char(b: u8) -> bool {
    !matches!(b, 0 | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_specials_are_not_atom_chars() {
        for b in b"(){ %*\"\\]\x00\x1f\x7f" {
            assert!(!is_atom_char(*b), "{b}");
        }
        assert!(is_atom_char(b'A') && is_atom_char(b'+') && is_atom_char(b'['));
        assert!(is_astring_char(b']') && !is_tag_char(b'+') && is_list_char(b'%'));
    }
}
