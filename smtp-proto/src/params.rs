//! ESMTP parameters of MAIL and RCPT, and the xtext encoding.
//!
//! RFC 5321 §4.1.2 (`esmtp-param = esmtp-keyword ["=" esmtp-value]`), RFC 1870 (SIZE),
//! RFC 6152 and RFC 3030 (BODY=7BIT/8BITMIME/BINARYMIME), RFC 6531 (SMTPUTF8), RFC 3461 §4
//! (RET, ENVID, NOTIFY, ORCPT and xtext), RFC 4954 §5 (AUTH=), RFC 8689 (REQUIRETLS),
//! RFC 2852 (BY) and RFC 6710 (MT-PRIORITY). Keywords are case-insensitive; a parameter that
//! appears twice is an error.

use std::fmt::{self, Write as _};

use crate::error::ParamError;

/// Decodes xtext (RFC 3461 §4): `+HH` for a byte, other characters printable ASCII but `+`
/// and `=`.
pub fn xtext_decode(s: &str) -> Result<Vec<u8>, ParamError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
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
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(ParamError::BadXtext),
                }
                i += 3;
            }
            c @ 33..=126 if c != b'=' => {
                out.push(c);
                i += 1;
            }
            _ => return Err(ParamError::BadXtext),
        }
    }
    Ok(out)
}

/// Encodes bytes as xtext (RFC 3461 §4).
pub fn xtext_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for &c in data {
        if (33..=126).contains(&c) && c != b'+' && c != b'=' {
            s.push(c as char);
        } else {
            let _ = write!(s, "+{c:02X}");
        }
    }
    s
}

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
    /// `BINARYMIME` (only with BDAT).
    BinaryMime,
}

/// `RET=` (RFC 3461 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// Return the full message in a DSN.
    Full,
    /// Return the headers only.
    Hdrs,
}

/// `BY=` mode (RFC 2852 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: notify if not delivered in time.
    Notify,
    /// `R`: return (fail) if not delivered in time.
    Return,
}

/// `BY=<seconds>;<mode>[T]` (RFC 2852 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliverBy {
    /// Seconds from now (may be negative with `N`), at most 9 digits.
    pub seconds: i64,
    /// N or R.
    pub mode: ByMode,
    /// The `T` trace flag.
    pub trace: bool,
}

/// `NOTIFY=` (RFC 3461 §4.1): `NEVER`, or any of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// Whether it is `NEVER`.
    pub fn is_never(&self) -> bool {
        !self.success && !self.failure && !self.delay
    }
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2), held decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt {
    /// The address type, usually `rfc822` or `utf-8`.
    pub addr_type: String,
    /// The original recipient address.
    pub address: String,
}

/// The parameters of MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MailParams {
    /// `SIZE=` declared message size.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=` (decoded).
    pub envid: Option<String>,
    /// `AUTH=`: `Some(None)` is `AUTH=<>`, `Some(Some(mailbox))` an authorised submitter.
    pub auth: Option<Option<String>>,
    /// `REQUIRETLS`.
    pub requiretls: bool,
    /// `BY=`.
    pub by: Option<DeliverBy>,
    /// `MT-PRIORITY=` −9..9.
    pub mt_priority: Option<i8>,
    /// Parameters of extensions this crate does not know, as `(KEYWORD, value)`.
    pub other: Vec<(String, Option<String>)>,
}

/// The parameters of RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RcptParams {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=`.
    pub orcpt: Option<Orcpt>,
    /// Parameters of extensions this crate does not know.
    pub other: Vec<(String, Option<String>)>,
}

/// A short word upper-cased into one number, compared in a single instruction where a
/// byte-string match calls `memcmp`. Longer (or empty) words give `u128::MAX`, which matches
/// no keyword. Built in registers: copying into a stack array and reading it back as a number
/// costs a `memcpy` call and a stalled store-to-load forward on every word.
struct Upper(u128);

impl Upper {
    fn code(&self) -> u128 {
        self.0
    }
}

/// [`Upper`] of a keyword, at compile time.
const fn kw(word: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    let mut i = 0;
    while i < word.len() {
        buf[i] = word[i];
        i += 1;
    }
    u128::from_le_bytes(buf)
}

const K_7BIT: u128 = kw(b"7BIT");
const K_8BITMIME: u128 = kw(b"8BITMIME");
const K_AUTH: u128 = kw(b"AUTH");
const K_BINARYMIME: u128 = kw(b"BINARYMIME");
const K_BODY: u128 = kw(b"BODY");
const K_BY: u128 = kw(b"BY");
const K_DELAY: u128 = kw(b"DELAY");
const K_ENVID: u128 = kw(b"ENVID");
const K_FAILURE: u128 = kw(b"FAILURE");
const K_FULL: u128 = kw(b"FULL");
const K_HDRS: u128 = kw(b"HDRS");
const K_MT_PRIORITY: u128 = kw(b"MT-PRIORITY");
const K_N: u128 = kw(b"N");
const K_NOTIFY: u128 = kw(b"NOTIFY");
const K_NT: u128 = kw(b"NT");
const K_ORCPT: u128 = kw(b"ORCPT");
const K_R: u128 = kw(b"R");
const K_REQUIRETLS: u128 = kw(b"REQUIRETLS");
const K_RET: u128 = kw(b"RET");
const K_RT: u128 = kw(b"RT");
const K_SIZE: u128 = kw(b"SIZE");
const K_SMTPUTF8: u128 = kw(b"SMTPUTF8");
const K_SUCCESS: u128 = kw(b"SUCCESS");

fn upper(word: &str) -> Upper {
    let b = word.as_bytes();
    if b.is_empty() || b.len() > 16 {
        return Upper(u128::MAX);
    }
    let (mut lo, mut hi) = (0u64, 0u64);
    for (i, &c) in b.iter().enumerate() {
        let c = u64::from(c.to_ascii_uppercase());
        if i < 8 {
            lo |= c << (8 * i);
        } else {
            hi |= c << (8 * (i - 8));
        }
    }
    Upper(u128::from(hi) << 64 | u128::from(lo))
}

fn is_keyword(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn is_value(v: &str) -> bool {
    // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under RFC 6531.
    if v.is_ascii() {
        return !v.is_empty() && v.bytes().all(|b| matches!(b, b'!'..=b'<' | b'>'..=b'~'));
    }
    v.chars()
        .all(|c| matches!(c, '!'..='<' | '>'..='~') || !c.is_ascii() && !c.is_control())
}

/// Splits the parameter words into `(keyword, value)`.
fn split_params(s: &str) -> impl Iterator<Item = Result<(&str, Option<&str>), ParamError>> {
    crate::split::split(s, b' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (k, v) = match crate::split::split_once(w, b'=') {
                Some((k, v)) => (k, Some(v)),
                None => (w, None),
            };
            if !is_keyword(k) || v.is_some_and(|v| !is_value(v)) {
                return Err(ParamError::Syntax);
            }
            Ok((k, v))
        })
}

fn set<T>(slot: &mut Option<T>, v: T, name: &str) -> Result<(), ParamError> {
    if slot.is_some() {
        return Err(ParamError::Duplicate(name.to_owned()));
    }
    *slot = Some(v);
    Ok(())
}

fn flag(slot: &mut bool, v: Option<&str>, name: &'static str) -> Result<(), ParamError> {
    if v.is_some() {
        return Err(ParamError::BadValue(name));
    }
    if *slot {
        return Err(ParamError::Duplicate(name.to_owned()));
    }
    *slot = true;
    Ok(())
}

fn push_other(
    other: &mut Vec<(String, Option<String>)>,
    k: &str,
    v: Option<&str>,
) -> Result<(), ParamError> {
    let k = k.to_ascii_uppercase();
    if other.iter().any(|(o, _)| *o == k) {
        return Err(ParamError::Duplicate(k));
    }
    other.push((k, v.map(str::to_owned)));
    Ok(())
}

fn xtext_string(v: &str, name: &'static str) -> Result<String, ParamError> {
    String::from_utf8(xtext_decode(v)?).map_err(|_| ParamError::BadValue(name))
}

fn decimal(v: &str, max_digits: usize, name: &'static str) -> Result<u64, ParamError> {
    if v.is_empty() || v.len() > max_digits || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::BadValue(name));
    }
    v.parse().map_err(|_| ParamError::BadValue(name))
}

impl MailParams {
    /// Parses the words after the reverse-path.
    pub fn parse(s: &str) -> Result<MailParams, ParamError> {
        let mut p = MailParams::default();
        for kv in split_params(s) {
            let (k, v) = kv?;
            let need = |name| v.ok_or(ParamError::BadValue(name));
            match upper(k).code() {
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
                    let id = xtext_string(need("ENVID")?, "ENVID")?;
                    // RFC 3461 §4.4: at most 100 characters, printable ASCII once decoded.
                    if id.len() > 100 || !id.bytes().all(|b| (32..=126).contains(&b)) {
                        return Err(ParamError::BadValue("ENVID"));
                    }
                    set(&mut p.envid, id, "ENVID")?;
                }
                K_AUTH => {
                    let v = need("AUTH")?;
                    let a = if v == "<>" {
                        None
                    } else {
                        Some(xtext_string(v, "AUTH")?)
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

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == MailParams::default()
    }
}

fn parse_by(v: &str) -> Result<DeliverBy, ParamError> {
    const E: ParamError = ParamError::BadValue("BY");
    let (time, mode) = crate::split::split_once(v, b';').ok_or(E)?;
    let digits = time
        .strip_prefix('-')
        .or_else(|| time.strip_prefix('+'))
        .unwrap_or(time);
    let seconds = decimal(digits, 9, "BY")? as i64;
    let seconds = if time.starts_with('-') {
        -seconds
    } else {
        seconds
    };
    let (mode, trace) = match upper(mode).code() {
        K_N => (ByMode::Notify, false),
        K_NT => (ByMode::Notify, true),
        K_R => (ByMode::Return, false),
        K_RT => (ByMode::Return, true),
        _ => return Err(E),
    };
    // RFC 2852 §4: with R the time must be positive.
    if mode == ByMode::Return && seconds <= 0 {
        return Err(E);
    }
    Ok(DeliverBy {
        seconds,
        mode,
        trace,
    })
}

impl fmt::Display for MailParams {
    /// Writes ` KEY=value` for each parameter, each with its leading space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.size {
            write!(f, " SIZE={s}")?;
        }
        if let Some(b) = self.body {
            let b = match b {
                Body::SevenBit => "7BIT",
                Body::EightBitMime => "8BITMIME",
                Body::BinaryMime => "BINARYMIME",
            };
            write!(f, " BODY={b}")?;
        }
        if self.smtputf8 {
            f.write_str(" SMTPUTF8")?;
        }
        if let Some(r) = self.ret {
            f.write_str(if r == Ret::Full {
                " RET=FULL"
            } else {
                " RET=HDRS"
            })?;
        }
        if let Some(e) = &self.envid {
            write!(f, " ENVID={}", xtext_encode(e.as_bytes()))?;
        }
        match &self.auth {
            Some(None) => f.write_str(" AUTH=<>")?,
            Some(Some(m)) => write!(f, " AUTH={}", xtext_encode(m.as_bytes()))?,
            None => {}
        }
        if self.requiretls {
            f.write_str(" REQUIRETLS")?;
        }
        if let Some(b) = self.by {
            let m = if b.mode == ByMode::Notify { "N" } else { "R" };
            let t = if b.trace { "T" } else { "" };
            write!(f, " BY={};{m}{t}", b.seconds)?;
        }
        if let Some(p) = self.mt_priority {
            write!(f, " MT-PRIORITY={p}")?;
        }
        write_other(f, &self.other)
    }
}

fn write_other(f: &mut fmt::Formatter<'_>, other: &[(String, Option<String>)]) -> fmt::Result {
    for (k, v) in other {
        match v {
            Some(v) => write!(f, " {k}={v}")?,
            None => write!(f, " {k}")?,
        }
    }
    Ok(())
}

impl RcptParams {
    /// Parses the words after the forward-path.
    pub fn parse(s: &str) -> Result<RcptParams, ParamError> {
        let mut p = RcptParams::default();
        for kv in split_params(s) {
            let (k, v) = kv?;
            match upper(k).code() {
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
                    let address = xtext_string(a, "ORCPT")?;
                    if address.is_empty() {
                        return Err(ParamError::BadValue("ORCPT"));
                    }
                    let o = Orcpt {
                        addr_type: t.to_owned(),
                        address,
                    };
                    set(&mut p.orcpt, o, "ORCPT")?;
                }
                _ => push_other(&mut p.other, k, v)?,
            }
        }
        Ok(p)
    }
}

impl fmt::Display for RcptParams {
    /// Writes ` KEY=value` for each parameter, each with its leading space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.notify {
            if n.is_never() {
                f.write_str(" NOTIFY=NEVER")?;
            } else {
                let words: Vec<&str> = [
                    (n.success, "SUCCESS"),
                    (n.failure, "FAILURE"),
                    (n.delay, "DELAY"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, w)| *w)
                .collect();
                write!(f, " NOTIFY={}", words.join(","))?;
            }
        }
        if let Some(o) = &self.orcpt {
            write!(
                f,
                " ORCPT={};{}",
                o.addr_type,
                xtext_encode(o.address.as_bytes())
            )?;
        }
        write_other(f, &self.other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext() {
        assert_eq!(xtext_encode(b"a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext_decode("a+2Bb+3Dc+20d").unwrap(), b"a+b=c d");
        assert!(xtext_decode("+2").is_err());
        assert!(xtext_decode("+2b").is_err());
        assert!(xtext_decode("a=b").is_err());
    }

    #[test]
    fn mail_params() {
        let p = MailParams::parse(
            "SIZE=1000 body=8bitmime SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<> REQUIRETLS \
             BY=120;RT MT-PRIORITY=-3 X-FOO=bar",
        )
        .unwrap();
        assert_eq!(p.size, Some(1000));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert_eq!(p.auth, Some(None));
        assert_eq!(p.by.unwrap().seconds, 120);
        assert_eq!(p.mt_priority, Some(-3));
        assert_eq!(MailParams::parse(&p.to_string()).unwrap(), p);
        assert!(MailParams::parse("SIZE=1 SIZE=2").is_err());
        assert!(MailParams::parse("SIZE=x").is_err());
        assert!(MailParams::parse("BY=-5;R").is_err());
        assert!(MailParams::parse("MT-PRIORITY=10").is_err());
        assert!(MailParams::parse("SMTPUTF8=yes").is_err());
    }

    #[test]
    fn rcpt_params() {
        let p = RcptParams::parse("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40example.org").unwrap();
        assert_eq!(p.orcpt.as_ref().unwrap().address, "Bob@example.org");
        assert_eq!(RcptParams::parse(&p.to_string()).unwrap(), p);
        assert!(RcptParams::parse("NOTIFY=NEVER,SUCCESS").is_err());
        assert!(RcptParams::parse("NOTIFY=SUCCESS,SUCCESS").is_err());
    }
}
