//! ESMTP parameters of MAIL and RCPT, and the xtext encoding.
//!
//! RFC 5321 §4.1.2 (`esmtp-param = esmtp-keyword ["=" esmtp-value]`), RFC 1870 (SIZE),
//! RFC 6152 and RFC 3030 (BODY=7BIT/8BITMIME/BINARYMIME), RFC 6531 (SMTPUTF8), RFC 3461 §4
//! (RET, ENVID, NOTIFY, ORCPT and xtext), RFC 4954 §5 (AUTH=), RFC 8689 (REQUIRETLS),
//! RFC 2852 (BY) and RFC 6710 (MT-PRIORITY). Keywords are case-insensitive; a parameter that
//! appears twice is an error.

use std::fmt::{self, Write as _};

use crate::error::ParamError;

mod borrowed;

pub use borrowed::{MailParamsRef, OrcptRef, RcptParamsRef};

/// Decodes xtext (RFC 3461 §4): `+HH` for a byte, other characters printable ASCII but `+`
/// and `=`.
pub fn xtext_decode(s: &str) -> Result<Vec<u8>, ParamError> {
    xtext_octets(s).collect()
}

/// The octets xtext (RFC 3461 §4) stands for, one at a time, an error where it is not xtext:
/// what [`xtext_decode`] collects and the borrowed parameters check without allocating.
pub(crate) fn xtext_octets(s: &str) -> impl Iterator<Item = Result<u8, ParamError>> + '_ {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = *b.get(i)?;
        let octet = match c {
            b'+' => {
                let hex = |c: u8| match c {
                    b'0'..=b'9' => Some(c - b'0'),
                    b'A'..=b'F' => Some(c - b'A' + 10),
                    _ => None,
                };
                match b.get(i + 1..i + 3) {
                    Some(&[h, l]) => match (hex(h), hex(l)) {
                        (Some(h), Some(l)) => Ok(h << 4 | l),
                        _ => Err(ParamError::BadXtext),
                    },
                    _ => Err(ParamError::BadXtext),
                }
            }
            33..=126 if c != b'=' => Ok(c),
            _ => Err(ParamError::BadXtext),
        };
        // After an error the walk stops: one error, then the end.
        i = if octet.is_ok() {
            i + if c == b'+' { 3 } else { 1 }
        } else {
            b.len()
        };
        Some(octet)
    })
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
/// byte-string match calls `memcmp`: the octets in order, most significant first. Longer (or
/// empty) words give `u128::MAX`, which matches no keyword. No letter or digit is 0, so no two
/// words share a code.
struct Upper(u128);

impl Upper {
    fn code(&self) -> u128 {
        self.0
    }
}

/// [`Upper`] of a keyword, at compile time.
const fn kw(word: &[u8]) -> u128 {
    let mut code = 0u128;
    let mut i = 0;
    while i < word.len() {
        code = code << 8 | word[i] as u128;
        i += 1;
    }
    code
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
    // Shifting the whole code by a constant each step: a shift by a variable amount costs a
    // branch on a 128-bit number.
    Upper(b.iter().fold(0u128, |code, &c| {
        code << 8 | u128::from(c.to_ascii_uppercase())
    }))
}

/// Each octet of an `esmtp-keyword` (letters, digits, `-`) upper-cased; 0 for any other.
const KEYWORD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'-' {
            t[c] = b.to_ascii_uppercase();
        }
        c += 1;
    }
    t
};

/// The ASCII octets of an `esmtp-value` (%d33-60 / %d62-126).
const VALUE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 33;
    while c <= 126 {
        t[c] = c != b'=' as usize;
        c += 1;
    }
    t
};

fn is_keyword(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty() && b[0].is_ascii_alphanumeric() && b.iter().all(|&c| KEYWORD[c as usize] != 0)
}

fn is_value(v: &str) -> bool {
    // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under RFC 6531.
    if v.is_ascii() {
        return !v.is_empty() && v.bytes().all(|b| VALUE[b as usize]);
    }
    v.chars()
        .all(|c| matches!(c, '!'..='<' | '>'..='~') || !c.is_ascii() && !c.is_control())
}

/// One `esmtp-param` as read by [`Params`].
struct Param<'a> {
    /// The keyword as sent.
    key: &'a str,
    /// [`Upper`] code of the keyword.
    code: u128,
    value: Option<&'a str>,
}

/// The parameter words of a MAIL or RCPT line, split on spaces (runs of them allowed), each
/// checked as `esmtp-keyword ["=" esmtp-value]` and its keyword coded, in one pass over the
/// octets: splitting first and checking after read every octet three or four times, which
/// measured as most of the time spent on `MAIL FROM:<…> SIZE=… BODY=…`.
struct Params<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, ParamError>;

    // Inlined for the reason given at `MailParamsRef::parse`.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.s.as_bytes();
        let mut i = self.pos;
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        // The keyword: its first octet must be a letter or digit, the rest may be `-` too.
        let mut code = 0u128;
        while let Some(&c) = b.get(i) {
            let k = KEYWORD[c as usize];
            if k == 0 {
                break;
            }
            code = code << 8 | u128::from(k);
            i += 1;
        }
        let n = i - start;
        let bad_start = n == 0 || b[start] == b'-';
        let key = &self.s[start..i];
        let code = if n > 16 { u128::MAX } else { code };
        let value = match b.get(i) {
            None | Some(b' ') => None,
            Some(b'=') => {
                i += 1;
                let vstart = i;
                let mut ascii = true;
                while let Some(&c) = b.get(i) {
                    if !VALUE[c as usize] {
                        if c == b' ' {
                            break;
                        }
                        if c < 0x80 {
                            return Some(Err(ParamError::Syntax));
                        }
                        ascii = false;
                    }
                    i += 1;
                }
                let v = &self.s[vstart..i];
                if v.is_empty() || !ascii && !is_value(v) {
                    return Some(Err(ParamError::Syntax));
                }
                Some(v)
            }
            Some(_) => return Some(Err(ParamError::Syntax)),
        };
        if bad_start {
            return Some(Err(ParamError::Syntax));
        }
        self.pos = i;
        Some(Ok(Param { key, code, value }))
    }
}

/// Splits the parameter words into [`Param`]s.
fn split_params(s: &str) -> Params<'_> {
    Params { s, pos: 0 }
}

// Inlined: a call per parameter returning its `Result` through memory measured as a sixth of
// the time of `RCPT TO:<…> NOTIFY=… ORCPT=…`.
#[inline(always)]
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

fn decimal(v: &str, max_digits: usize, name: &'static str) -> Result<u64, ParamError> {
    if v.is_empty() || v.len() > max_digits || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::BadValue(name));
    }
    v.parse().map_err(|_| ParamError::BadValue(name))
}

impl MailParams {
    /// Parses the words after the reverse-path.
    pub fn parse(s: &str) -> Result<MailParams, ParamError> {
        MailParamsRef::parse(s).map(|p| p.to_mail_params())
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
        RcptParamsRef::parse(s).map(|p| p.to_rcpt_params())
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
