//! The GS2 header (RFC 5801 §4, as profiled by RFC 5802 §7) that SCRAM and OAUTHBEARER put in
//! front of the client's first message, and the `saslname` escaping of RFC 5802 §5.1.
//!
//! ```text
//! gs2-header     = gs2-cbind-flag "," [ authzid ] ","
//! gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
//! authzid        = "a=" saslname
//! saslname       = 1*(value-safe-char / "=2C" / "=3D")
//! ```
//!
//! The non-standard-mechanism flag `F,` of the general GS2 syntax is not accepted: neither
//! SCRAM nor OAUTHBEARER uses it.

use crate::Error;

/// The channel-binding flag of a GS2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CbFlag {
    /// `n`: the client does not support channel binding.
    No,
    /// `y`: the client supports channel binding but thinks the server does not.
    ClientOnly,
    /// `p=<cb-name>`: the client requires channel binding of this type.
    Required(String),
}

/// A parsed GS2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gs2Header {
    pub(crate) flag: CbFlag,
    /// The decoded authorization identity, `None` when absent.
    pub(crate) authzid: Option<String>,
    /// Length of the header on the wire, trailing comma included: SCRAM's `c=` carries these
    /// exact bytes back.
    pub(crate) len: usize,
}

/// Splits `message` into its GS2 header and the rest.
pub(crate) fn parse_header(message: &[u8]) -> Result<(Gs2Header, &[u8]), Error> {
    let first = memchr(b',', message).ok_or(Error::Malformed("GS2 header without ','"))?;
    let flag = match &message[..first] {
        b"n" => CbFlag::No,
        b"y" => CbFlag::ClientOnly,
        [b'p', b'=', name @ ..] => {
            if name.is_empty()
                || !name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
            {
                return Err(Error::Malformed("bad channel-binding name in GS2 header"));
            }
            CbFlag::Required(String::from_utf8_lossy(name).into_owned())
        }
        _ => return Err(Error::Malformed("bad channel-binding flag in GS2 header")),
    };
    let rest = &message[first + 1..];
    let second = memchr(b',', rest).ok_or(Error::Malformed("GS2 header without second ','"))?;
    let authzid = match &rest[..second] {
        [] => None,
        [b'a', b'=', name @ ..] => Some(decode_saslname(name)?),
        _ => return Err(Error::Malformed("bad authzid in GS2 header")),
    };
    let len = first + 1 + second + 1;
    Ok((Gs2Header { flag, authzid, len }, &message[len..]))
}

/// Writes a GS2 header.
pub(crate) fn write_header(flag: &CbFlag, authzid: Option<&str>) -> String {
    let mut h = match flag {
        CbFlag::No => "n,".to_owned(),
        CbFlag::ClientOnly => "y,".to_owned(),
        CbFlag::Required(name) => format!("p={name},"),
    };
    if let Some(z) = authzid.filter(|z| !z.is_empty()) {
        h.push_str("a=");
        h.push_str(&encode_saslname(z));
    }
    h.push(',');
    h
}

/// Escapes `,` as `=2C` and `=` as `=3D` (RFC 5802 §5.1).
pub(crate) fn encode_saslname(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            ',' => out.push_str("=2C"),
            '=' => out.push_str("=3D"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`encode_saslname`]; any other `=` sequence, a NUL, a bare `,`, an empty name or
/// invalid UTF-8 is an error (RFC 5802 §5.1: "the server MUST fail the authentication").
pub(crate) fn decode_saslname(raw: &[u8]) -> Result<String, Error> {
    if raw.is_empty() {
        return Err(Error::Malformed("empty saslname"));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'=' => match raw.get(i + 1..i + 3) {
                Some(b"2C") => out.push(b','),
                Some(b"3D") => out.push(b'='),
                _ => return Err(Error::Malformed("bad '=' escape in saslname")),
            },
            0 | b',' => return Err(Error::Malformed("NUL or ',' in saslname")),
            b => {
                out.push(b);
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| Error::Malformed("saslname is not UTF-8"))
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let (h, rest) = parse_header(b"n,,n=user,r=abc").unwrap();
        assert_eq!(h.flag, CbFlag::No);
        assert_eq!(h.authzid, None);
        assert_eq!(h.len, 3);
        assert_eq!(rest, b"n=user,r=abc");
        let (h, rest) = parse_header(b"p=tls-exporter,a=ad=2Cmin=3D,x").unwrap();
        assert_eq!(h.flag, CbFlag::Required("tls-exporter".into()));
        assert_eq!(h.authzid.as_deref(), Some("ad,min="));
        assert_eq!(rest, b"x");
        assert_eq!(
            write_header(&CbFlag::Required("tls-exporter".into()), Some("ad,min=")),
            "p=tls-exporter,a=ad=2Cmin=3D,"
        );
        assert_eq!(write_header(&CbFlag::ClientOnly, Some("")), "y,,");
        for bad in [
            &b""[..],
            b"n",
            b"n,",
            b"x,,",
            b"p=,,",
            b"p=a b,,",
            b"n,b=x,",
            b"n,a=,",
            b"F,n,,",
        ] {
            assert!(parse_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn saslname_escaping() {
        for name in ["user", "a,b", "=", "==2C", "ünï,=cødé"] {
            assert_eq!(
                decode_saslname(encode_saslname(name).as_bytes()).unwrap(),
                name
            );
        }
        for bad in [&b"=2c"[..], b"=", b"a=3", b"a=41", b"\xff", b"a\0b", b""] {
            assert!(decode_saslname(bad).is_err(), "{bad:?}");
        }
    }
}
