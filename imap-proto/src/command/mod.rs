//! Commands (RFC 3501 §6, RFC 9051 §6) and the extension commands: IDLE (RFC 2177), UIDPLUS
//! `UID EXPUNGE` (RFC 4315), MOVE (RFC 6851), NAMESPACE (RFC 2342), ENABLE (RFC 5161), ID
//! (RFC 2971), UNSELECT (RFC 3691), SASL-IR (RFC 4959), LIST-EXTENDED/LIST-STATUS (RFC 5258,
//! RFC 5819), CREATE-SPECIAL-USE (RFC 6154), ACL (RFC 4314), QUOTA (RFC 9208), CONDSTORE and
//! QRESYNC (RFC 7162), ESEARCH (RFC 4731), SEARCHRES (RFC 5182), SORT and THREAD (RFC 5256),
//! BINARY (RFC 3516), COMPRESS (RFC 4978), MULTIAPPEND (RFC 3502), UNAUTHENTICATE (RFC 8437).
//!
//! [`Command::parse`] reads one unit from the framer; [`Command::encode`] writes one.

mod append;
mod encode;
mod parse;

use crate::fetch::{FetchItems, FetchModifier};
use crate::search::{SearchKey, SearchReturnOpt};
use crate::types::{
    AString, Atom, DateTime, Flag, IString, ListMailbox, Literal, MailboxAttr, MailboxName,
    NString, Secret, SequenceSet, Tag,
};

pub use append::{AppendHeader, StreamedAppend, parse_streamed_append};
pub use encode::IDLE_DONE;
pub use parse::{AuthenticateData, parse_authenticate_data, parse_idle_done};

/// A tagged command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag.
    pub tag: Tag,
    /// What it asks for.
    pub body: CommandBody,
}

/// `STATUS` data items (RFC 3501 §6.3.10, RFC 9051 §6.3.11, RFC 7162, RFC 8438).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`.
    Messages,
    /// `RECENT` (IMAP4rev1).
    Recent,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `DELETED` (IMAP4rev2).
    Deleted,
    /// `SIZE` (STATUS=SIZE, RFC 8438).
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889).
    AppendLimit,
}

impl StatusItem {
    pub(crate) const ALL: [(&'static str, StatusItem); 9] = [
        ("MESSAGES", Self::Messages),
        ("RECENT", Self::Recent),
        ("UIDNEXT", Self::UidNext),
        ("UIDVALIDITY", Self::UidValidity),
        ("UNSEEN", Self::Unseen),
        ("DELETED", Self::Deleted),
        ("SIZE", Self::Size),
        ("HIGHESTMODSEQ", Self::HighestModSeq),
        ("APPENDLIMIT", Self::AppendLimit),
    ];

    /// The wire name.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(n, _)| n)
    }
}

/// A SELECT/EXAMINE parameter (RFC 4466 §2.1, RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SelectParam {
    /// `CONDSTORE`.
    Condstore,
    /// `QRESYNC (uidvalidity modseq [known-uids [(seq-match)]])`.
    Qresync {
        /// The last known UIDVALIDITY.
        uid_validity: u32,
        /// The last known mod-sequence.
        modseq: u64,
        /// The UIDs the client knows.
        known_uids: Option<SequenceSet>,
        /// `(known-sequence-set known-uid-set)`.
        seq_match: Option<(SequenceSet, SequenceSet)>,
    },
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListSelectOpt {
    /// `SUBSCRIBED`.
    Subscribed,
    /// `REMOTE`.
    Remote,
    /// `RECURSIVEMATCH`.
    RecursiveMatch,
    /// `SPECIAL-USE`.
    SpecialUse,
}

/// LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturnOpt {
    /// `SUBSCRIBED`.
    Subscribed,
    /// `CHILDREN`.
    Children,
    /// `SPECIAL-USE`.
    SpecialUse,
    /// `STATUS (items)` (LIST-STATUS).
    Status(Vec<StatusItem>),
}

/// One message of an APPEND (several with MULTIAPPEND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Option<Vec<Flag>>,
    /// Internal date to set.
    pub date: Option<DateTime>,
    /// The message (`~{n}` when binary, RFC 3516).
    pub data: Literal,
    /// Sent as `UTF8 (literal8)` (RFC 6855 §4).
    pub utf8: bool,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// `FLAGS`.
    Replace,
    /// `+FLAGS`.
    Add,
    /// `-FLAGS`.
    Remove,
}

/// A SORT criterion (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE`.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A SORT key (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`.
    Arrival,
    /// `CC`.
    Cc,
    /// `DATE`.
    Date,
    /// `FROM`.
    From,
    /// `SIZE`.
    Size,
    /// `SUBJECT`.
    Subject,
    /// `TO`.
    To,
    /// `DISPLAYFROM`.
    DisplayFrom,
    /// `DISPLAYTO`.
    DisplayTo,
}

impl SortKey {
    pub(crate) const ALL: [(&'static str, SortKey); 9] = [
        ("ARRIVAL", Self::Arrival),
        ("CC", Self::Cc),
        ("DATE", Self::Date),
        ("FROM", Self::From),
        ("SIZE", Self::Size),
        ("SUBJECT", Self::Subject),
        ("TO", Self::To),
        ("DISPLAYFROM", Self::DisplayFrom),
        ("DISPLAYTO", Self::DisplayTo),
    ];
}

/// What a command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (SASL-IR: `=` is an empty response).
    Authenticate {
        /// The SASL mechanism name.
        mechanism: Atom,
        /// The initial response as sent (base64 text, not decoded); `Some(empty)` for `=`.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN user password`.
    Login {
        /// The user name.
        username: AString,
        /// The password.
        password: Secret<AString>,
    },
    /// `ENABLE cap…`.
    Enable(Vec<Atom>),
    /// `SELECT mailbox [(params)]`.
    Select {
        /// The mailbox.
        mailbox: MailboxName,
        /// CONDSTORE/QRESYNC parameters.
        params: Vec<SelectParam>,
    },
    /// `EXAMINE mailbox [(params)]`.
    Examine {
        /// The mailbox.
        mailbox: MailboxName,
        /// CONDSTORE/QRESYNC parameters.
        params: Vec<SelectParam>,
    },
    /// `CREATE mailbox [(USE (attrs))]`.
    Create {
        /// The mailbox.
        mailbox: MailboxName,
        /// Special-use attributes (RFC 6154 §3).
        special_use: Vec<MailboxAttr>,
    },
    /// `DELETE mailbox`.
    Delete(MailboxName),
    /// `RENAME from to`.
    Rename {
        /// Existing name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(MailboxName),
    /// `LIST [(select)] reference pattern(s) [RETURN (opts)]`.
    List {
        /// Selection options (LIST-EXTENDED).
        selection: Vec<ListSelectOpt>,
        /// The reference name.
        reference: MailboxName,
        /// One pattern, or several (written in parentheses).
        patterns: Vec<ListMailbox>,
        /// Return options.
        return_opts: Vec<ListReturnOpt>,
    },
    /// `LSUB reference pattern`.
    Lsub {
        /// The reference name.
        reference: MailboxName,
        /// The pattern.
        pattern: ListMailbox,
    },
    /// `NAMESPACE`.
    Namespace,
    /// `STATUS mailbox (items)`.
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// The items asked for.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [flags] [date] literal …` (several messages with MULTIAPPEND).
    Append {
        /// The mailbox.
        mailbox: MailboxName,
        /// The messages, at least one.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE`; the client ends it with `DONE` ([`parse_idle_done`]).
    Idle,
    /// `ID (field value …)` or `ID NIL`.
    Id(Option<Vec<(IString, NString)>>),
    /// `GETQUOTA root`.
    GetQuota(AString),
    /// `GETQUOTAROOT mailbox`.
    GetQuotaRoot(MailboxName),
    /// `SETQUOTA root (resource limit …)`.
    SetQuota {
        /// The quota root.
        root: AString,
        /// Resource names and limits.
        limits: Vec<(Atom, u64)>,
    },
    /// `SETACL mailbox identifier rights`.
    SetAcl {
        /// The mailbox.
        mailbox: MailboxName,
        /// Who.
        identifier: AString,
        /// `[+-]rights`.
        rights: AString,
    },
    /// `DELETEACL mailbox identifier`.
    DeleteAcl {
        /// The mailbox.
        mailbox: MailboxName,
        /// Who.
        identifier: AString,
    },
    /// `GETACL mailbox`.
    GetAcl(MailboxName),
    /// `LISTRIGHTS mailbox identifier`.
    ListRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// Who.
        identifier: AString,
    },
    /// `MYRIGHTS mailbox`.
    MyRights(MailboxName),
    /// `COMPRESS algorithm` (RFC 4978; after the tagged OK both sides switch to DEFLATE).
    Compress(Atom),
    /// `UNAUTHENTICATE` (RFC 8437).
    Unauthenticate,
    /// `CHECK` (IMAP4rev1).
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT`.
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set`.
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (…)] [CHARSET x] keys`.
    Search {
        /// `UID SEARCH`.
        uid: bool,
        /// ESEARCH return options; `Some(empty)` is `RETURN ()`.
        return_opts: Option<Vec<SearchReturnOpt>>,
        /// The charset.
        charset: Option<AString>,
        /// The keys (all must match).
        criteria: Vec<SearchKey>,
    },
    /// `[UID] FETCH set items [(modifiers)]`.
    Fetch {
        /// `UID FETCH`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// What to fetch.
        items: FetchItems,
        /// CHANGEDSINCE/VANISHED.
        modifiers: Vec<FetchModifier>,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags`.
    Store {
        /// `UID STORE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// `UNCHANGEDSINCE` (CONDSTORE).
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT`.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// `UID COPY`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox`.
    Move {
        /// `UID MOVE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: MailboxName,
    },
    /// `[UID] SORT [RETURN (…)] (criteria) charset keys`.
    Sort {
        /// `UID SORT`.
        uid: bool,
        /// ESORT return options (RFC 5267).
        return_opts: Option<Vec<SearchReturnOpt>>,
        /// Sort criteria, at least one.
        criteria: Vec<SortCriterion>,
        /// The charset.
        charset: AString,
        /// The search keys.
        search: Vec<SearchKey>,
    },
    /// `[UID] THREAD algorithm charset keys`.
    Thread {
        /// `UID THREAD`.
        uid: bool,
        /// `ORDEREDSUBJECT`, `REFERENCES` …
        algorithm: Atom,
        /// The charset.
        charset: AString,
        /// The search keys.
        search: Vec<SearchKey>,
    },
}

impl CommandBody {
    /// The command name as written on the wire (`UID FETCH` for UID variants).
    #[must_use]
    pub fn name(&self) -> &'static str {
        use CommandBody as C;
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::StartTls => "STARTTLS",
            C::Authenticate { .. } => "AUTHENTICATE",
            C::Login { .. } => "LOGIN",
            C::Enable(_) => "ENABLE",
            C::Select { .. } => "SELECT",
            C::Examine { .. } => "EXAMINE",
            C::Create { .. } => "CREATE",
            C::Delete(_) => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe(_) => "SUBSCRIBE",
            C::Unsubscribe(_) => "UNSUBSCRIBE",
            C::List { .. } => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Namespace => "NAMESPACE",
            C::Status { .. } => "STATUS",
            C::Append { .. } => "APPEND",
            C::Idle => "IDLE",
            C::Id(_) => "ID",
            C::GetQuota(_) => "GETQUOTA",
            C::GetQuotaRoot(_) => "GETQUOTAROOT",
            C::SetQuota { .. } => "SETQUOTA",
            C::SetAcl { .. } => "SETACL",
            C::DeleteAcl { .. } => "DELETEACL",
            C::GetAcl(_) => "GETACL",
            C::ListRights { .. } => "LISTRIGHTS",
            C::MyRights(_) => "MYRIGHTS",
            C::Compress(_) => "COMPRESS",
            C::Unauthenticate => "UNAUTHENTICATE",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge => "EXPUNGE",
            C::UidExpunge(_) => "UID EXPUNGE",
            C::Search { uid: false, .. } => "SEARCH",
            C::Search { uid: true, .. } => "UID SEARCH",
            C::Fetch { uid: false, .. } => "FETCH",
            C::Fetch { uid: true, .. } => "UID FETCH",
            C::Store { uid: false, .. } => "STORE",
            C::Store { uid: true, .. } => "UID STORE",
            C::Copy { uid: false, .. } => "COPY",
            C::Copy { uid: true, .. } => "UID COPY",
            C::Move { uid: false, .. } => "MOVE",
            C::Move { uid: true, .. } => "UID MOVE",
            C::Sort { uid: false, .. } => "SORT",
            C::Sort { uid: true, .. } => "UID SORT",
            C::Thread { uid: false, .. } => "THREAD",
            C::Thread { uid: true, .. } => "UID THREAD",
        }
    }
}
