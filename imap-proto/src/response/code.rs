//! Response codes (RFC 3501 §7.1, RFC 9051 §7.1) with UIDPLUS (RFC 4315 §3), CONDSTORE and
//! QRESYNC (RFC 7162 §3.1.2, §3.2.7), RFC 5530's codes, SEARCHRES `NOTSAVED` (RFC 5182),
//! SPECIAL-USE `USEATTR` (RFC 6154), COMPRESS `COMPRESSIONACTIVE` (RFC 4978), BINARY
//! `UNKNOWN-CTE` (RFC 3516), APPENDLIMIT/LITERAL `TOOBIG` (RFC 7889, RFC 4469).

use std::num::NonZeroU32;

use crate::encode::Writer;
use crate::parse::{
    R, astring, atom, fail, flag_perm, number64, nz_number, paren_list, sp, sp_list1,
};
use crate::types::{AString, Atom, FlagPerm, SequenceSet};

/// A response code: the bracketed part of a status response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `ALERT`.
    Alert,
    /// `BADCHARSET [(charsets)]`.
    BadCharset(Vec<AString>),
    /// `CAPABILITY …`.
    Capability(Vec<Atom>),
    /// `PARSE`.
    Parse,
    /// `PERMANENTFLAGS (…)`.
    PermanentFlags(Vec<FlagPerm>),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`.
    TryCreate,
    /// `UIDNEXT n`.
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`.
    UidValidity(NonZeroU32),
    /// `UNSEEN n` (IMAP4rev1).
    Unseen(NonZeroU32),
    /// `APPENDUID uidvalidity uid-set`.
    AppendUid {
        /// UIDVALIDITY of the destination.
        uid_validity: NonZeroU32,
        /// The new UIDs.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-set dest-set`.
    CopyUid {
        /// UIDVALIDITY of the destination.
        uid_validity: NonZeroU32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs, in the same order.
        dest: SequenceSet,
    },
    /// `UIDNOTSTICKY`.
    UidNotSticky,
    /// `HIGHESTMODSEQ n`.
    HighestModSeq(u64),
    /// `NOMODSEQ`.
    NoModSeq,
    /// `MODIFIED set`.
    Modified(SequenceSet),
    /// `CLOSED` (QRESYNC).
    Closed,
    /// `NOTSAVED`.
    NotSaved,
    /// `USEATTR`.
    UseAttr,
    /// `COMPRESSIONACTIVE`.
    CompressionActive,
    /// `UNKNOWN-CTE`.
    UnknownCte,
    /// `TOOBIG`.
    TooBig,
    /// `HASCHILDREN` (RFC 9051).
    HasChildren,
    /// `UNAVAILABLE` (RFC 5530).
    Unavailable,
    /// `AUTHENTICATIONFAILED`.
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`.
    AuthorizationFailed,
    /// `EXPIRED`.
    Expired,
    /// `PRIVACYREQUIRED`.
    PrivacyRequired,
    /// `CONTACTADMIN`.
    ContactAdmin,
    /// `NOPERM`.
    NoPerm,
    /// `INUSE`.
    InUse,
    /// `EXPUNGEISSUED`.
    ExpungeIssued,
    /// `CORRUPTION`.
    Corruption,
    /// `SERVERBUG`.
    ServerBug,
    /// `CLIENTBUG`.
    ClientBug,
    /// `CANNOT`.
    Cannot,
    /// `LIMIT`.
    Limit,
    /// `OVERQUOTA`.
    OverQuota,
    /// `ALREADYEXISTS`.
    AlreadyExists,
    /// `NONEXISTENT`.
    NonExistent,
    /// Any other code: `atom [SP text]` (text without `]`).
    Other(Atom, Option<String>),
}

const SIMPLE: [(&str, Code); 30] = [
    ("ALERT", Code::Alert),
    ("PARSE", Code::Parse),
    ("READ-ONLY", Code::ReadOnly),
    ("READ-WRITE", Code::ReadWrite),
    ("TRYCREATE", Code::TryCreate),
    ("UIDNOTSTICKY", Code::UidNotSticky),
    ("NOMODSEQ", Code::NoModSeq),
    ("CLOSED", Code::Closed),
    ("NOTSAVED", Code::NotSaved),
    ("USEATTR", Code::UseAttr),
    ("COMPRESSIONACTIVE", Code::CompressionActive),
    ("UNKNOWN-CTE", Code::UnknownCte),
    ("TOOBIG", Code::TooBig),
    ("HASCHILDREN", Code::HasChildren),
    ("UNAVAILABLE", Code::Unavailable),
    ("AUTHENTICATIONFAILED", Code::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", Code::AuthorizationFailed),
    ("EXPIRED", Code::Expired),
    ("PRIVACYREQUIRED", Code::PrivacyRequired),
    ("CONTACTADMIN", Code::ContactAdmin),
    ("NOPERM", Code::NoPerm),
    ("INUSE", Code::InUse),
    ("EXPUNGEISSUED", Code::ExpungeIssued),
    ("CORRUPTION", Code::Corruption),
    ("SERVERBUG", Code::ServerBug),
    ("CLIENTBUG", Code::ClientBug),
    ("CANNOT", Code::Cannot),
    ("LIMIT", Code::Limit),
    ("OVERQUOTA", Code::OverQuota),
    ("ALREADYEXISTS", Code::AlreadyExists),
];

/// The code between `[` and `]`.
pub(crate) fn code(i: &[u8]) -> R<'_, Code> {
    let (rest, raw) = crate::parse::atom_bytes(i)?;
    let upper = crate::parse::Upper::new(raw);
    let name = std::str::from_utf8(upper.as_bytes()).unwrap_or_default();
    if let Some((_, c)) = SIMPLE.iter().find(|(n, _)| *n == name) {
        return Ok((rest, c.clone()));
    }
    let a = Atom::from_checked(raw);
    let i = rest;
    let r = match name {
        "NONEXISTENT" => (i, Code::NonExistent),
        "BADCHARSET" => {
            if i.starts_with(b" (") {
                let (i, v) = paren_list(&i[1..], astring)?;
                (i, Code::BadCharset(v))
            } else {
                (i, Code::BadCharset(Vec::new()))
            }
        }
        "CAPABILITY" => {
            let (i, ()) = sp(i)?;
            let (i, v) = sp_list1(i, atom)?;
            (i, Code::Capability(v))
        }
        "PERMANENTFLAGS" => {
            let (i, ()) = sp(i)?;
            let (i, v) = paren_list(i, flag_perm)?;
            (i, Code::PermanentFlags(v))
        }
        "UIDNEXT" | "UIDVALIDITY" | "UNSEEN" => {
            let (i, ()) = sp(i)?;
            let (i, n) = nz_number(i)?;
            let c = match name {
                "UIDNEXT" => Code::UidNext(n),
                "UIDVALIDITY" => Code::UidValidity(n),
                _ => Code::Unseen(n),
            };
            (i, c)
        }
        "APPENDUID" => {
            let (i, ()) = sp(i)?;
            let (i, uid_validity) = nz_number(i)?;
            let (i, ()) = sp(i)?;
            let (i, uids) = crate::parse::sequence_set(i)?;
            (i, Code::AppendUid { uid_validity, uids })
        }
        "COPYUID" => {
            let (i, ()) = sp(i)?;
            let (i, uid_validity) = nz_number(i)?;
            let (i, ()) = sp(i)?;
            let (i, source) = crate::parse::sequence_set(i)?;
            let (i, ()) = sp(i)?;
            let (i, dest) = crate::parse::sequence_set(i)?;
            (
                i,
                Code::CopyUid {
                    uid_validity,
                    source,
                    dest,
                },
            )
        }
        "HIGHESTMODSEQ" => {
            let (i, ()) = sp(i)?;
            let (i, n) = number64(i)?;
            (i, Code::HighestModSeq(n))
        }
        "MODIFIED" => {
            let (i, ()) = sp(i)?;
            let (i, s) = crate::parse::sequence_set(i)?;
            (i, Code::Modified(s))
        }
        _ => {
            if i.first() == Some(&b' ') {
                let n = i[1..]
                    .iter()
                    .take_while(|b| !matches!(b, b']' | b'\r' | b'\n' | 0))
                    .count();
                if n == 0 {
                    return fail(i);
                }
                let text = String::from_utf8_lossy(&i[1..=n]).into_owned();
                (&i[n + 1..], Code::Other(a, Some(text)))
            } else {
                (i, Code::Other(a, None))
            }
        }
    };
    Ok(r)
}

pub(crate) fn write_code(w: &mut Writer, c: &Code) {
    if let Some((n, _)) = SIMPLE.iter().find(|(_, s)| s == c) {
        w.s(n);
        return;
    }
    match c {
        Code::NonExistent => {
            w.s("NONEXISTENT");
        }
        Code::BadCharset(v) => {
            w.s("BADCHARSET");
            if !v.is_empty() {
                w.sp().list(v, |w, a| {
                    w.astring(a);
                });
            }
        }
        Code::Capability(v) => {
            w.s("CAPABILITY");
            for a in v {
                w.sp().atom(a);
            }
        }
        Code::PermanentFlags(v) => {
            w.s("PERMANENTFLAGS ").list(v, |w, f| {
                w.flag_perm(f);
            });
        }
        Code::UidNext(n) => {
            w.s("UIDNEXT ").num(n.get());
        }
        Code::UidValidity(n) => {
            w.s("UIDVALIDITY ").num(n.get());
        }
        Code::Unseen(n) => {
            w.s("UNSEEN ").num(n.get());
        }
        Code::AppendUid { uid_validity, uids } => {
            w.s("APPENDUID ").num(uid_validity.get()).sp().seq_set(uids);
        }
        Code::CopyUid {
            uid_validity,
            source,
            dest,
        } => {
            w.s("COPYUID ")
                .num(uid_validity.get())
                .sp()
                .seq_set(source)
                .sp()
                .seq_set(dest);
        }
        Code::HighestModSeq(n) => {
            w.s("HIGHESTMODSEQ ").num(*n);
        }
        Code::Modified(s) => {
            w.s("MODIFIED ").seq_set(s);
        }
        Code::Other(a, t) => {
            w.atom(a);
            if let Some(t) = t {
                w.sp().s(t);
            }
        }
        _ => {}
    }
}
