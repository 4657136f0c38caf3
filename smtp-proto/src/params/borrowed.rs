//! The parameters of MAIL and RCPT borrowed from the command line: the one parameter parser,
//! which the owned [`MailParams`] and [`RcptParams`] are built from.
//!
//! Every rule of the parent module is checked here (RFC 5321 §4.1.2 syntax, RFC 1870, RFC 6152,
//! RFC 3030, RFC 6531, RFC 3461 §4 xtext, RFC 4954 §5, RFC 8689, RFC 2852, RFC 6710), without
//! allocating: xtext values are checked as they stand and kept encoded, to be decoded when an
//! owned value is wanted.

use std::borrow::Cow;

use super::{
    Body, DeliverBy, K_7BIT, K_8BITMIME, K_AUTH, K_BINARYMIME, K_BODY, K_BY, K_DELAY, K_ENVID,
    K_FAILURE, K_FULL, K_HDRS, K_MT_PRIORITY, K_NOTIFY, K_ORCPT, K_REQUIRETLS, K_RET, K_SIZE,
    K_SMTPUTF8, K_SUCCESS, MailParams, Notify, Orcpt, Param, RcptParams, Ret, decimal, flag,
    is_keyword, parse_by, set, split_params, upper, xtext_decode,
};
use crate::error::ParamError;

/// What a check of an xtext value found.
struct Xtext {
    /// Octets once decoded.
    len: usize,
    /// Whether every decoded octet is printable ASCII (32–126).
    printable: bool,
    /// Whether every decoded octet is ASCII (so the text is UTF-8).
    ascii: bool,
}

/// Checks xtext (RFC 3461 §4) the way [`xtext_decode`] reads it, without decoding.
fn xtext_check(s: &str) -> Result<Xtext, ParamError> {
    let b = s.as_bytes();
    let mut x = Xtext {
        len: 0,
        printable: true,
        ascii: true,
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = b.get(i + 1..i + 3).ok_or(ParamError::BadXtext)?;
                let v = |c: u8| match c {
                    b'0'..=b'9' => Some(c - b'0'),
                    b'A'..=b'F' => Some(c - b'A' + 10),
                    _ => None,
                };
                match (v(hex[0]), v(hex[1])) {
                    (Some(h), Some(l)) => {
                        let c = h << 4 | l;
                        x.printable &= (32..=126).contains(&c);
                        x.ascii &= c < 0x80;
                    }
                    _ => return Err(ParamError::BadXtext),
                }
                i += 3;
            }
            33..=126 if b[i] != b'=' => i += 1,
            _ => return Err(ParamError::BadXtext),
        }
        x.len += 1;
    }
    Ok(x)
}

/// Checks that xtext decodes to UTF-8 (the rule of `xtext_string`), allocating only when an
/// escape decodes to an octet above 127.
fn xtext_utf8_check(s: &str, name: &'static str) -> Result<Xtext, ParamError> {
    let x = xtext_check(s)?;
    if !x.ascii && std::str::from_utf8(&xtext_decode(s)?).is_err() {
        return Err(ParamError::BadValue(name));
    }
    Ok(x)
}

/// Decodes xtext that was checked by [`xtext_utf8_check`]: borrowed when there is no escape.
fn xtext_text(s: &str) -> Cow<'_, str> {
    if !s.as_bytes().contains(&b'+') {
        return Cow::Borrowed(s);
    }
    // Cannot fail after the check; an empty string rather than a panic if it ever did.
    let decoded = xtext_decode(s).ok().and_then(|b| String::from_utf8(b).ok());
    debug_assert!(decoded.is_some(), "unchecked xtext {s:?}");
    Cow::Owned(decoded.unwrap_or_default())
}

fn owned(c: Cow<'_, str>) -> String {
    c.into_owned()
}

/// The parameters of MAIL FROM, borrowed from the line; [`MailParamsRef::to_mail_params`]
/// gives the owned [`MailParams`]. Fields mean what they mean there; xtext values are kept
/// as sent (checked, not decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParamsRef<'a> {
    /// `SIZE=` declared message size.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=` as sent (xtext).
    pub envid: Option<&'a str>,
    /// `AUTH=` as sent: `Some(None)` is `AUTH=<>`, `Some(Some(xtext))` a submitter.
    pub auth: Option<Option<&'a str>>,
    /// `REQUIRETLS`.
    pub requiretls: bool,
    /// `BY=`.
    pub by: Option<DeliverBy>,
    /// `MT-PRIORITY=` −9..9.
    pub mt_priority: Option<i8>,
    /// Parameters of extensions this crate does not know, as `(keyword, value)` as sent (the
    /// owned form upper-cases the keyword). Empty, without an allocation, in the usual case.
    pub other: Vec<(&'a str, Option<&'a str>)>,
}

fn push_other<'a>(
    other: &mut Vec<(&'a str, Option<&'a str>)>,
    k: &'a str,
    v: Option<&'a str>,
) -> Result<(), ParamError> {
    if other.iter().any(|(o, _)| o.eq_ignore_ascii_case(k)) {
        return Err(ParamError::Duplicate(k.to_ascii_uppercase()));
    }
    other.push((k, v));
    Ok(())
}

fn other_owned(other: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    other
        .iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v.map(str::to_owned)))
        .collect()
}

impl<'a> MailParamsRef<'a> {
    /// Parses the words after the reverse-path, with every check of [`MailParams::parse`].
    // Inlined into the command parser: a result returned through memory is stored in pieces
    // and loaded back whole, a store-forwarding stall that cost more than the parse.
    #[inline(always)]
    pub fn parse(s: &'a str) -> Result<MailParamsRef<'a>, ParamError> {
        let mut p = MailParamsRef::default();
        for kv in split_params(s) {
            let Param {
                key: k,
                code,
                value: v,
            } = kv?;
            let need = |name| v.ok_or(ParamError::BadValue(name));
            match code {
                K_SIZE => set(&mut p.size, decimal(need("SIZE")?, 20, "SIZE")?, "SIZE")?,
                K_BODY => {
                    let b = match upper(need("BODY")?).code() {
                        K_7BIT => Body::SevenBit,
                        K_8BITMIME => Body::EightBitMime,
                        K_BINARYMIME => Body::BinaryMime,
                        _ => return Err(ParamError::BadValue("BODY")),
                    };
                    set(&mut p.body, b, "BODY")?;
                }
                K_SMTPUTF8 => flag(&mut p.smtputf8, v, "SMTPUTF8")?,
                K_REQUIRETLS => flag(&mut p.requiretls, v, "REQUIRETLS")?,
                K_RET => {
                    let r = match upper(need("RET")?).code() {
                        K_FULL => Ret::Full,
                        K_HDRS => Ret::Hdrs,
                        _ => return Err(ParamError::BadValue("RET")),
                    };
                    set(&mut p.ret, r, "RET")?;
                }
                K_ENVID => {
                    let v = need("ENVID")?;
                    let x = xtext_check(v)?;
                    // RFC 3461 §4.4: at most 100 characters, printable ASCII once decoded.
                    if x.len > 100 || !x.printable {
                        return Err(ParamError::BadValue("ENVID"));
                    }
                    set(&mut p.envid, v, "ENVID")?;
                }
                K_AUTH => {
                    let v = need("AUTH")?;
                    let a = if v == "<>" {
                        None
                    } else {
                        xtext_utf8_check(v, "AUTH")?;
                        Some(v)
                    };
                    set(&mut p.auth, a, "AUTH")?;
                }
                K_BY => set(&mut p.by, parse_by(need("BY")?)?, "BY")?,
                K_MT_PRIORITY => {
                    let v = need("MT-PRIORITY")?;
                    let n: i8 = match v.as_bytes() {
                        [b'+' | b'-', d] | [d] if d.is_ascii_digit() => {
                            v.parse().map_err(|_| ParamError::BadValue("MT-PRIORITY"))?
                        }
                        _ => return Err(ParamError::BadValue("MT-PRIORITY")),
                    };
                    set(&mut p.mt_priority, n, "MT-PRIORITY")?;
                }
                _ => push_other(&mut p.other, k, v)?,
            }
        }
        Ok(p)
    }

    /// `ENVID=` decoded.
    pub fn envid_decoded(&self) -> Option<Cow<'a, str>> {
        self.envid.map(xtext_text)
    }

    /// The owned parameters: the value [`MailParams::parse`] gives for the same text.
    pub fn to_mail_params(&self) -> MailParams {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(|v| owned(xtext_text(v))),
            auth: self.auth.map(|a| a.map(|v| owned(xtext_text(v)))),
            requiretls: self.requiretls,
            by: self.by,
            mt_priority: self.mt_priority,
            other: other_owned(&self.other),
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == MailParamsRef::default()
    }
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrcptRef<'a> {
    /// The address type, usually `rfc822` or `utf-8`.
    pub addr_type: &'a str,
    /// The original recipient address as sent (xtext).
    pub address: &'a str,
}

impl<'a> OrcptRef<'a> {
    /// The original recipient address decoded.
    pub fn address_decoded(&self) -> Cow<'a, str> {
        xtext_text(self.address)
    }
}

/// The parameters of RCPT TO, borrowed from the line; [`RcptParamsRef::to_rcpt_params`] gives
/// the owned [`RcptParams`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParamsRef<'a> {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=`.
    pub orcpt: Option<OrcptRef<'a>>,
    /// Parameters of extensions this crate does not know, as sent (see
    /// [`MailParamsRef::other`]).
    pub other: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> RcptParamsRef<'a> {
    /// Parses the words after the forward-path, with every check of [`RcptParams::parse`].
    // Inlined for the reason given at `MailParamsRef::parse`.
    #[inline(always)]
    pub fn parse(s: &'a str) -> Result<RcptParamsRef<'a>, ParamError> {
        let mut p = RcptParamsRef::default();
        for kv in split_params(s) {
            let Param {
                key: k,
                code,
                value: v,
            } = kv?;
            match code {
                K_NOTIFY => {
                    let v = v.ok_or(ParamError::BadValue("NOTIFY"))?;
                    let mut n = Notify::default();
                    if v.eq_ignore_ascii_case("NEVER") {
                        set(&mut p.notify, n, "NOTIFY")?;
                        continue;
                    }
                    for word in crate::split::split(v, b',') {
                        let slot = match upper(word).code() {
                            K_SUCCESS => &mut n.success,
                            K_FAILURE => &mut n.failure,
                            K_DELAY => &mut n.delay,
                            _ => return Err(ParamError::BadValue("NOTIFY")),
                        };
                        if *slot {
                            return Err(ParamError::BadValue("NOTIFY"));
                        }
                        *slot = true;
                    }
                    set(&mut p.notify, n, "NOTIFY")?;
                }
                K_ORCPT => {
                    let v = v.ok_or(ParamError::BadValue("ORCPT"))?;
                    let (t, a) =
                        crate::split::split_once(v, b';').ok_or(ParamError::BadValue("ORCPT"))?;
                    if !is_keyword(t) {
                        return Err(ParamError::BadValue("ORCPT"));
                    }
                    if xtext_utf8_check(a, "ORCPT")?.len == 0 {
                        return Err(ParamError::BadValue("ORCPT"));
                    }
                    let o = OrcptRef {
                        addr_type: t,
                        address: a,
                    };
                    set(&mut p.orcpt, o, "ORCPT")?;
                }
                _ => push_other(&mut p.other, k, v)?,
            }
        }
        Ok(p)
    }

    /// The owned parameters: the value [`RcptParams::parse`] gives for the same text.
    pub fn to_rcpt_params(&self) -> RcptParams {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(|o| Orcpt {
                addr_type: o.addr_type.to_owned(),
                address: owned(o.address_decoded()),
            }),
            other: other_owned(&self.other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_check_agrees_with_decode() {
        for s in [
            "", "a+2Bb", "+2", "+2b", "a=b", "+C3+A9", "+FF", "+7F", "x y",
        ] {
            let d = xtext_decode(s);
            match xtext_check(s) {
                Ok(x) => {
                    let d = d.unwrap();
                    assert_eq!(x.len, d.len(), "{s:?}");
                    assert_eq!(x.ascii, d.is_ascii(), "{s:?}");
                    assert_eq!(
                        x.printable,
                        d.iter().all(|b| (32..=126).contains(b)),
                        "{s:?}"
                    );
                }
                Err(e) => assert_eq!(d, Err(e), "{s:?}"),
            }
        }
    }

    #[test]
    fn borrowed_keeps_xtext_encoded() {
        let p = MailParamsRef::parse("ENVID=a+2Bb AUTH=x+40y X-Y=1 x-z").unwrap();
        assert_eq!(p.envid, Some("a+2Bb"));
        assert_eq!(p.envid_decoded().as_deref(), Some("a+b"));
        assert_eq!(p.other, [("X-Y", Some("1")), ("x-z", None)]);
        let o = p.to_mail_params();
        assert_eq!(o.auth, Some(Some("x@y".to_owned())));
        assert_eq!(o.other[1], ("X-Z".to_owned(), None));
        assert_eq!(
            MailParamsRef::parse("x-a X-A"),
            Err(ParamError::Duplicate("X-A".into()))
        );
        assert_eq!(
            MailParamsRef::parse("AUTH=+FF"),
            Err(ParamError::BadValue("AUTH"))
        );
        let r = RcptParamsRef::parse("ORCPT=rfc822;b+40c NOTIFY=NEVER").unwrap();
        assert_eq!(r.orcpt.unwrap().address_decoded(), "b@c");
        assert!(r.notify.unwrap().is_never());
    }
}
