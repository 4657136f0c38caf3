//! Responses (RFC 3501 §7, RFC 9051 §7): status responses, untagged data, continuation
//! requests, with the extension data of ENABLE (RFC 5161), ID (RFC 2971), NAMESPACE
//! (RFC 2342), ACL (RFC 4314), QUOTA (RFC 9208), ESEARCH (RFC 4731), SORT/THREAD (RFC 5256),
//! QRESYNC `VANISHED` (RFC 7162 §3.2.10), LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819).
//!
//! [`Response::parse`] reads one unit from the framer; [`Response::to_bytes`] writes one.

mod build;
mod code;
mod encode;
mod ext;
mod fetch;
mod parse;

use std::num::NonZeroU32;

pub use build::{StreamedItem, fetch_literal_head};
pub use code::Code;
pub use ext::ExtValue;
pub use fetch::MessageData;

use crate::command::StatusItem;
use crate::types::{
    AString, Atom, Flag, IString, MailboxAttr, MailboxName, NString, SequenceSet, Tag,
};

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `tag OK …`, `* NO …`, `* PREAUTH …`, `* BYE …`.
    Status(Status),
    /// Untagged data: `* …`.
    Data(Data),
    /// `+ …`.
    Continue(Continue),
}

/// The kind of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
    /// `PREAUTH` (greeting only, untagged).
    PreAuth,
    /// `BYE` (untagged).
    Bye,
}

impl StatusKind {
    /// The wire name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::No => "NO",
            Self::Bad => "BAD",
            Self::PreAuth => "PREAUTH",
            Self::Bye => "BYE",
        }
    }
}

/// A status response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The tag, or `None` for `*`.
    pub tag: Option<Tag>,
    /// OK, NO, BAD, PREAUTH or BYE.
    pub kind: StatusKind,
    /// The response code.
    pub code: Option<Code>,
    /// Human-readable text (may be empty).
    pub text: String,
}

impl Status {
    /// A status response. CR, LF and NUL in `text` are replaced by spaces so that the value
    /// stays one line.
    #[must_use]
    pub fn new(tag: Option<Tag>, kind: StatusKind, code: Option<Code>, text: &str) -> Self {
        let text = text.replace(['\r', '\n', '\0'], " ");
        Self {
            tag,
            kind,
            code,
            text,
        }
    }
}

/// A continuation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continue {
    /// `+ [code] text`.
    Text {
        /// The response code.
        code: Option<Code>,
        /// The text.
        text: String,
    },
    /// `+ base64` (an AUTHENTICATE challenge, not decoded). A text that is valid base64 is
    /// read as this variant.
    Base64(Vec<u8>),
}

/// A LIST-EXTENDED item of a LIST response (RFC 5258 §3.5, RFC 9051 `OLDNAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListExtItem {
    /// `("CHILDINFO" ("SUBSCRIBED"))`.
    ChildInfo(Vec<IString>),
    /// `("OLDNAME" (mailbox))`.
    OldName(MailboxName),
    /// Any other item: its tag (written quoted) and value.
    Other(IString, ExtValue),
}

/// A LIST or LSUB entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Attributes.
    pub attrs: Vec<MailboxAttr>,
    /// The hierarchy delimiter, `None` for NIL (flat).
    pub delimiter: Option<u8>,
    /// The mailbox.
    pub mailbox: MailboxName,
    /// Extended data.
    pub extended: Vec<ListExtItem>,
}

/// One ESEARCH result item (RFC 4731 §3.1, RFC 7162 `MODSEQ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ESearchItem {
    /// `MIN n`.
    Min(NonZeroU32),
    /// `MAX n`.
    Max(NonZeroU32),
    /// `ALL set`.
    All(SequenceSet),
    /// `COUNT n`.
    Count(u32),
    /// `MODSEQ n`.
    ModSeq(u64),
}

/// A thread (RFC 5256 §4 `thread-list`): messages in a chain, then the branches below the
/// last of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Messages one below the other.
    pub members: Vec<NonZeroU32>,
    /// Branches (none, or two and more).
    pub children: Vec<Thread>,
}

/// A NAMESPACE description (RFC 2342 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc {
    /// The prefix.
    pub prefix: IString,
    /// The delimiter, `None` for NIL.
    pub delimiter: Option<u8>,
    /// Extension data: name and values.
    pub extensions: Vec<(IString, Vec<IString>)>,
}

/// A QUOTA resource (RFC 9208 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE` …
    pub name: Atom,
    /// Current usage.
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// Untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Data {
    /// `CAPABILITY …`.
    Capability(Vec<Atom>),
    /// `LIST …`.
    List(ListEntry),
    /// `LSUB …`.
    Lsub(ListEntry),
    /// `STATUS mailbox (item value …)`.
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// Items and their values; `None` is NIL, which only `APPENDLIMIT` may carry
        /// (no limit, RFC 7889 §3).
        items: Vec<(StatusItem, Option<u64>)>,
    },
    /// `SEARCH n… [(MODSEQ m)]`.
    Search {
        /// Matching numbers.
        ids: Vec<NonZeroU32>,
        /// The highest mod-sequence of the matches (CONDSTORE).
        modseq: Option<u64>,
    },
    /// `ESEARCH [(TAG "t")] [UID] items`.
    ESearch {
        /// The tag of the SEARCH it answers.
        tag: Option<Tag>,
        /// Whether the numbers are UIDs.
        uid: bool,
        /// The results.
        items: Vec<ESearchItem>,
    },
    /// `SORT n… [(MODSEQ m)]`.
    Sort {
        /// The sorted numbers.
        ids: Vec<NonZeroU32>,
        /// The highest mod-sequence (CONDSTORE).
        modseq: Option<u64>,
    },
    /// `THREAD (…)(…)`.
    Thread(Vec<Thread>),
    /// `FLAGS (…)`.
    Flags(Vec<Flag>),
    /// `n EXISTS`.
    Exists(u32),
    /// `n RECENT`.
    Recent(u32),
    /// `n EXPUNGE`.
    Expunge(NonZeroU32),
    /// `VANISHED [(EARLIER)] uids`.
    Vanished {
        /// `(EARLIER)`: an answer to a FETCH/SELECT, not a new expunge.
        earlier: bool,
        /// The UIDs.
        uids: SequenceSet,
    },
    /// `n FETCH (…)`.
    Fetch {
        /// The message sequence number.
        seq: NonZeroU32,
        /// The data items.
        items: Vec<MessageData>,
    },
    /// `NAMESPACE personal other shared` (`None` for NIL).
    Namespace {
        /// Personal namespaces.
        personal: Option<Vec<NamespaceDesc>>,
        /// Other users' namespaces.
        other: Option<Vec<NamespaceDesc>>,
        /// Shared namespaces.
        shared: Option<Vec<NamespaceDesc>>,
    },
    /// `ID (…)` or `ID NIL`.
    Id(Option<Vec<(IString, NString)>>),
    /// `ENABLED …`.
    Enabled(Vec<Atom>),
    /// `QUOTA root (resource usage limit …)`.
    Quota {
        /// The quota root.
        root: AString,
        /// Resources.
        resources: Vec<QuotaResource>,
    },
    /// `QUOTAROOT mailbox root…`.
    QuotaRoot {
        /// The mailbox.
        mailbox: MailboxName,
        /// Its quota roots.
        roots: Vec<AString>,
    },
    /// `ACL mailbox (identifier rights)…`.
    Acl {
        /// The mailbox.
        mailbox: MailboxName,
        /// Identifier and rights pairs.
        entries: Vec<(AString, AString)>,
    },
    /// `LISTRIGHTS mailbox identifier required optional…`.
    ListRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// Who.
        identifier: AString,
        /// Rights always granted.
        required: AString,
        /// Groups of rights that may be granted.
        optional: Vec<AString>,
    },
    /// `MYRIGHTS mailbox rights`.
    MyRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// The rights.
        rights: AString,
    },
}
