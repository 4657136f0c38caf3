//! [`Capabilities`]: what the server's EHLO (or LHLO) reply offers (RFC 5321 §4.1.1.1,
//! `ehlo-line = ehlo-keyword *( SP ehlo-param )`).

use crate::reply::Reply;

/// The extensions a server advertised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether the server answered EHLO/LHLO (false after a HELO fallback).
    pub esmtp: bool,
    /// SIZE, with the fixed maximum (0: no limit given).
    pub size: Option<u64>,
    /// PIPELINING.
    pub pipelining: bool,
    /// 8BITMIME.
    pub eightbitmime: bool,
    /// BINARYMIME.
    pub binarymime: bool,
    /// CHUNKING.
    pub chunking: bool,
    /// SMTPUTF8.
    pub smtputf8: bool,
    /// DSN.
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES.
    pub enhanced_status_codes: bool,
    /// REQUIRETLS.
    pub requiretls: bool,
    /// STARTTLS.
    pub starttls: bool,
    /// DELIVERBY with its minimum (0: none given).
    pub deliverby: Option<u64>,
    /// MT-PRIORITY.
    pub mt_priority: bool,
    /// AUTH mechanisms, upper case.
    pub auth: Vec<String>,
    /// Every keyword line, upper-cased keyword first, as advertised.
    pub lines: Vec<String>,
}

impl Capabilities {
    /// Reads an EHLO reply; the first line is the greeting and is skipped.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut c = Capabilities {
            esmtp: true,
            ..Capabilities::default()
        };
        for line in reply.line_iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            let number = |w: Option<&str>| w.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            match keyword.as_str() {
                "SIZE" => c.size = Some(number(words.next())),
                "PIPELINING" => c.pipelining = true,
                "8BITMIME" => c.eightbitmime = true,
                "BINARYMIME" => c.binarymime = true,
                "CHUNKING" => c.chunking = true,
                "SMTPUTF8" => c.smtputf8 = true,
                "DSN" => c.dsn = true,
                "ENHANCEDSTATUSCODES" => c.enhanced_status_codes = true,
                "REQUIRETLS" => c.requiretls = true,
                "STARTTLS" => c.starttls = true,
                "DELIVERBY" => c.deliverby = Some(number(words.next())),
                "MT-PRIORITY" => c.mt_priority = true,
                "AUTH" => {
                    for m in words {
                        let m = m.to_ascii_uppercase();
                        if !c.auth.contains(&m) {
                            c.auth.push(m);
                        }
                    }
                }
                _ => {}
            }
            c.lines.push(line.to_owned());
        }
        c
    }

    /// Whether AUTH offers this mechanism.
    pub fn has_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ehlo() {
        let raw = b"250-mx Hello\r\n250-SIZE 1000\r\n250-pipelining\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250 DELIVERBY\r\n";
        let (r, _) = Reply::parse(raw, 512, 10).unwrap().unwrap();
        let c = Capabilities::from_ehlo(&r);
        assert_eq!(c.size, Some(1000));
        assert!(c.pipelining && !c.chunking);
        assert_eq!(c.auth, ["PLAIN", "LOGIN"]);
        assert_eq!(c.deliverby, Some(0));
        assert!(c.has_auth("login"));
    }
}
