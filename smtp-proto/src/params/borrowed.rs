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
    is_keyword, parse_by, set, split_params, upper, xtext_decode, xtext_octets,
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
    let mut x = Xtext {
        len: 0,
        printable: true,
        ascii: true,
    };
    for c in xtext_octets(s) {
        let c = c?;
        x.printable &= (32..=126).contains(&c);
        x.ascii &= c < 0x80;
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
/// gives the owned [`MailParams`]. The public fields mean what they mean there. The rare
/// parameters whose values stay text (`ENVID=`, `AUTH=`, unknown ones) are checked while
/// parsing and found again in the line on demand: kept out of the struct, they would make
/// every command bigger to move, which measured as a tenth of the time of a short command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParamsRef<'a> {
    /// The parameter words as sent.
    text: &'a str,
    /// `SIZE=` declared message size.
    pub size: Option<u64>,
    /// `BY=`.
    pub by: Option<DeliverBy>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `MT-PRIORITY=` −9..9.
    pub mt_priority: Option<i8>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `REQUIRETLS`.
    pub requiretls: bool,
    has_envid: bool,
    has_auth: bool,
    has_other: bool,
}

/// The value of the (single, duplicates being refused) parameter coded `code` in checked
/// parameter words.
fn find(text: &str, code: u128) -> Option<Option<&str>> {
    split_params(text)
        .filter_map(Result::ok)
        .find(|p| p.code == code)
        .map(|p| p.value)
}

/// The unknown keywords met so far in one line, to refuse a repeat (as the owned parser
/// always did: each compared with the ones before). The first is held without allocating, so a
/// line with at most one unknown parameter (nearly every line) allocates nothing.
#[derive(Default)]
struct SeenOther<'a> {
    first: Option<&'a str>,
    rest: Vec<&'a str>,
}

impl<'a> SeenOther<'a> {
    fn add(&mut self, key: &'a str) -> Result<(), ParamError> {
        let same = |k: &&str| k.eq_ignore_ascii_case(key);
        if self.first.as_ref().is_some_and(same) || self.rest.iter().any(same) {
            return Err(ParamError::Duplicate(key.to_ascii_uppercase()));
        }
        match self.first {
            None => self.first = Some(key),
            Some(_) => self.rest.push(key),
        }
        Ok(())
    }
}

fn is_mail_keyword(code: u128) -> bool {
    matches!(
        code,
        K_SIZE
            | K_BODY
            | K_SMTPUTF8
            | K_REQUIRETLS
            | K_RET
            | K_ENVID
            | K_AUTH
            | K_BY
            | K_MT_PRIORITY
    )
}

fn is_rcpt_keyword(code: u128) -> bool {
    matches!(code, K_NOTIFY | K_ORCPT)
}

/// The unknown parameters among checked parameter words, as sent.
fn others(text: &str, known: fn(u128) -> bool) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
    split_params(text)
        .filter_map(Result::ok)
        .filter(move |p| !known(p.code))
        .map(|p| (p.key, p.value))
}

fn others_owned(text: &str, known: fn(u128) -> bool) -> Vec<(String, Option<String>)> {
    others(text, known)
        .map(|(k, v)| (k.to_ascii_uppercase(), v.map(str::to_owned)))
        .collect()
}

impl<'a> MailParamsRef<'a> {
    /// Parses the words after the reverse-path, with every check of [`MailParams::parse`].
    // Inlined into the command parser: a result returned through memory is stored in pieces
    // and loaded back whole, a store-forwarding stall that cost more than the parse.
    #[inline(always)]
    pub fn parse(s: &'a str) -> Result<MailParamsRef<'a>, ParamError> {
        let mut p = MailParamsRef {
            text: s,
            ..MailParamsRef::default()
        };
        let mut seen = SeenOther::default();
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
                    let x = xtext_check(need("ENVID")?)?;
                    // RFC 3461 §4.4: at most 100 characters, printable ASCII once decoded.
                    if x.len > 100 || !x.printable {
                        return Err(ParamError::BadValue("ENVID"));
                    }
                    flag_set(&mut p.has_envid, "ENVID")?;
                }
                K_AUTH => {
                    let v = need("AUTH")?;
                    if v != "<>" {
                        xtext_utf8_check(v, "AUTH")?;
                    }
                    flag_set(&mut p.has_auth, "AUTH")?;
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
                _ => {
                    seen.add(k)?;
                    p.has_other = true;
                }
            }
        }
        Ok(p)
    }

    /// The parameter words as sent.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// `ENVID=` as sent (xtext).
    pub fn envid(&self) -> Option<&'a str> {
        self.has_envid
            .then(|| find(self.text, K_ENVID).flatten())
            .flatten()
    }

    /// `ENVID=` decoded.
    pub fn envid_decoded(&self) -> Option<Cow<'a, str>> {
        self.envid().map(xtext_text)
    }

    /// `AUTH=` as sent: `Some(None)` is `AUTH=<>`, `Some(Some(xtext))` a submitter.
    pub fn auth(&self) -> Option<Option<&'a str>> {
        let v = self.has_auth.then(|| find(self.text, K_AUTH).flatten())??;
        Some((v != "<>").then_some(v))
    }

    /// Parameters of extensions this crate does not know, as `(keyword, value)` as sent (the
    /// owned form upper-cases the keyword).
    pub fn other(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let text = if self.has_other { self.text } else { "" };
        others(text, is_mail_keyword)
    }

    /// The owned parameters: the value [`MailParams::parse`] gives for the same text.
    pub fn to_mail_params(&self) -> MailParams {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid().map(|v| owned(xtext_text(v))),
            auth: self.auth().map(|a| a.map(|v| owned(xtext_text(v)))),
            requiretls: self.requiretls,
            by: self.by,
            mt_priority: self.mt_priority,
            other: if self.has_other {
                others_owned(self.text, is_mail_keyword)
            } else {
                Vec::new()
            },
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.text.bytes().all(|b| b == b' ')
    }
}

/// Marks a parameter whose value stays in the line as seen, refusing a second one.
fn flag_set(seen: &mut bool, name: &str) -> Result<(), ParamError> {
    if *seen {
        return Err(ParamError::Duplicate(name.to_owned()));
    }
    *seen = true;
    Ok(())
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
/// the owned [`RcptParams`]. Unknown parameters are checked while parsing and found again in
/// the line on demand (see [`MailParamsRef`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParamsRef<'a> {
    /// The parameter words as sent.
    text: &'a str,
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// The value of `ORCPT=`, kept: unlike MAIL's text values it is common (every DSN
    /// recipient has one), and a RCPT command has room to spare below the size of a MAIL one.
    orcpt: Option<&'a str>,
    has_other: bool,
}

impl<'a> RcptParamsRef<'a> {
    /// Parses the words after the forward-path, with every check of [`RcptParams::parse`].
    // Inlined for the reason given at `MailParamsRef::parse`.
    #[inline(always)]
    pub fn parse(s: &'a str) -> Result<RcptParamsRef<'a>, ParamError> {
        let mut p = RcptParamsRef {
            text: s,
            ..RcptParamsRef::default()
        };
        let mut seen = SeenOther::default();
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
                    set(&mut p.orcpt, v, "ORCPT")?;
                }
                _ => {
                    seen.add(k)?;
                    p.has_other = true;
                }
            }
        }
        Ok(p)
    }

    /// The parameter words as sent.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// `ORCPT=`.
    pub fn orcpt(&self) -> Option<OrcptRef<'a>> {
        let (addr_type, address) = crate::split::split_once(self.orcpt?, b';')?;
        Some(OrcptRef { addr_type, address })
    }

    /// Parameters of extensions this crate does not know, as sent (see
    /// [`MailParamsRef::other`]).
    pub fn other(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let text = if self.has_other { self.text } else { "" };
        others(text, is_rcpt_keyword)
    }

    /// The owned parameters: the value [`RcptParams::parse`] gives for the same text.
    pub fn to_rcpt_params(&self) -> RcptParams {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt().map(|o| Orcpt {
                addr_type: o.addr_type.to_owned(),
                address: owned(o.address_decoded()),
            }),
            other: if self.has_other {
                others_owned(self.text, is_rcpt_keyword)
            } else {
                Vec::new()
            },
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.text.bytes().all(|b| b == b' ')
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
        assert_eq!(p.envid(), Some("a+2Bb"));
        assert_eq!(p.envid_decoded().as_deref(), Some("a+b"));
        assert_eq!(p.auth(), Some(Some("x+40y")));
        assert_eq!(
            p.other().collect::<Vec<_>>(),
            [("X-Y", Some("1")), ("x-z", None)]
        );
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
        assert_eq!(r.orcpt().unwrap().address_decoded(), "b@c");
        assert_eq!(r.other().count(), 0);
        assert_eq!(MailParamsRef::parse("AUTH=<>").unwrap().auth(), Some(None));
        assert_eq!(MailParamsRef::parse("SIZE=1").unwrap().auth(), None);
        assert!(r.notify.unwrap().is_never());
    }
}
