//! ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2): the parsed header fields of a message, as a
//! value that serializes byte-exact (each string keeps its quoted or literal form).

use crate::encode::Writer;
use crate::parse::{R, byte, nil, nstring, sp};
use crate::types::NString;

/// One address: `(name adl mailbox host)`. A group start has a NIL host and the group name in
/// `mailbox`; a group end has NIL mailbox and host (RFC 3501 §7.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Address {
    /// Display name.
    pub name: NString,
    /// Source route (obsolete; NIL in practice).
    pub adl: NString,
    /// Local part, or group name.
    pub mailbox: NString,
    /// Domain.
    pub host: NString,
}

/// The envelope of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Envelope {
    /// `Date:`.
    pub date: NString,
    /// `Subject:`.
    pub subject: NString,
    /// `From:` (`None` is NIL).
    pub from: Option<Vec<Address>>,
    /// `Sender:`.
    pub sender: Option<Vec<Address>>,
    /// `Reply-To:`.
    pub reply_to: Option<Vec<Address>>,
    /// `To:`.
    pub to: Option<Vec<Address>>,
    /// `Cc:`.
    pub cc: Option<Vec<Address>>,
    /// `Bcc:`.
    pub bcc: Option<Vec<Address>>,
    /// `In-Reply-To:`.
    pub in_reply_to: NString,
    /// `Message-ID:`.
    pub message_id: NString,
}

fn address(i: &[u8]) -> R<'_, Address> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, name) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, adl) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, mailbox) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, host) = nstring(i)?;
    let (i, ()) = byte(b')')(i)?;
    Ok((
        i,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}

fn address_list(i: &[u8]) -> R<'_, Option<Vec<Address>>> {
    if let Ok((i, ())) = nil(i) {
        return Ok((i, None));
    }
    // `"(" 1*address ")"`: addresses are not separated by spaces; tolerate spaces anyway,
    // some servers send them.
    let (mut i, ()) = byte(b'(')(i)?;
    let mut v = Vec::new();
    loop {
        if let Some(b' ') = i.first() {
            i = &i[1..];
        }
        if let Ok((rest, ())) = byte(b')')(i) {
            return Ok((rest, Some(v)));
        }
        let (rest, a) = address(i)?;
        v.push(a);
        i = rest;
    }
}

pub(crate) fn envelope(i: &[u8]) -> R<'_, Envelope> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, date) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, subject) = nstring(i)?;
    let mut lists: [Option<Vec<Address>>; 6] = Default::default();
    let mut i = i;
    for l in &mut lists {
        let (rest, ()) = sp(i)?;
        let (rest, a) = address_list(rest)?;
        *l = a;
        i = rest;
    }
    let (i, ()) = sp(i)?;
    let (i, in_reply_to) = nstring(i)?;
    let (i, ()) = sp(i)?;
    let (i, message_id) = nstring(i)?;
    let (i, ()) = byte(b')')(i)?;
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok((
        i,
        Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    ))
}

fn write_addresses(w: &mut Writer, a: &Option<Vec<Address>>) {
    match a {
        None => {
            w.s("NIL");
        }
        Some(v) => {
            w.byte(b'(');
            for a in v {
                w.byte(b'(')
                    .nstring(&a.name)
                    .sp()
                    .nstring(&a.adl)
                    .sp()
                    .nstring(&a.mailbox)
                    .sp()
                    .nstring(&a.host)
                    .byte(b')');
            }
            w.byte(b')');
        }
    }
}

pub(crate) fn write_envelope(w: &mut Writer, e: &Envelope) {
    w.byte(b'(').nstring(&e.date).sp().nstring(&e.subject);
    for l in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        w.sp();
        write_addresses(w, l);
    }
    w.sp()
        .nstring(&e.in_reply_to)
        .sp()
        .nstring(&e.message_id)
        .byte(b')');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::all;

    #[test]
    fn rfc3501_example_is_byte_exact() {
        // RFC 3501 §8, the FETCH FULL of message 12.
        let s: &[u8] = b"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")";
        let e = all(s, envelope).unwrap();
        assert_eq!(e.cc.as_ref().unwrap().len(), 2);
        assert_eq!(e.bcc, None);
        let mut w = Writer::default();
        write_envelope(&mut w, &e);
        assert_eq!(w.buf, s);
    }
}
