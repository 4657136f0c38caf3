//! What the server engine tells its caller ([`ServerEvent`]) and why a session ended
//! ([`CloseReason`]).

use crate::types::{Secret, Tag};

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent LOGOUT.
    Logout,
    /// The greeting was `* BYE` ([`super::Greeting::Bye`]).
    Refused,
    /// The client was idle for longer than the login timeout or the autologout timer.
    Timeout,
    /// The client made more mistakes than [`super::ServerLimits::max_errors`].
    TooManyErrors,
}

/// An event from [`super::Server::poll_event`]. A variant that names a decision must be
/// answered before the engine reads the next command; until then `poll_event` returns `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// LOGIN (RFC 3501 §6.2.3). Check the credentials and answer with
    /// [`super::Server::accept_login`] or [`super::Server::reject`] (with
    /// [`crate::response::Code::AuthenticationFailed`] for wrong credentials,
    /// [`crate::response::Code::Unavailable`] when the user database is down).
    Login {
        /// The command's tag.
        tag: Tag,
        /// The user name.
        username: String,
        /// The password.
        password: Secret<Vec<u8>>,
    },
    /// AUTHENTICATE with an offered mechanism (RFC 3501 §6.2.2, SASL-IR RFC 4959). Start the
    /// mechanism, then answer with [`super::Server::auth_challenge`],
    /// [`super::Server::accept_login`] or [`super::Server::reject`].
    AuthStart {
        /// The command's tag.
        tag: Tag,
        /// The mechanism, upper case.
        mechanism: String,
        /// The decoded initial response (`Some(empty)` for `=`), if the client sent one.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// The client answered a challenge (decoded). Answer as for [`ServerEvent::AuthStart`].
    /// A mechanism with a final server message (SCRAM) sends it as one more challenge and
    /// accepts on the client's empty answer.
    AuthResponse {
        /// The decoded response.
        response: Secret<Vec<u8>>,
    },
    /// The client cancelled the exchange with `*` or sent bad base64; the engine answered
    /// `BAD`. Drop the SASL session.
    AuthAborted,
    /// The `OK` to STARTTLS is queued and the input after it dropped (RFC 9051 §11.1): send
    /// the output ([`super::Server::poll_transmit`]), run the TLS handshake, then call
    /// [`super::Server::tls_established`].
    StartTls,
    /// The client identified itself with ID (RFC 2971); the engine answered. For logs only.
    ClientId {
        /// Field names and values as sent (`None` for NIL), or `None` for `ID NIL`.
        fields: Option<Vec<(String, Option<String>)>>,
    },
    /// ENABLE turned these capabilities on for the rest of the session (RFC 5161); the engine
    /// answered. For information.
    Enabled {
        /// The capabilities newly enabled, upper case.
        capabilities: Vec<String>,
    },
    /// UNAUTHENTICATE (RFC 8437) succeeded: the session is not authenticated any more, its
    /// mailbox closed and its ENABLEd extensions off. Drop the user's store and rights; the
    /// next LOGIN or AUTHENTICATE may be another user.
    Unauthenticated,
    /// IDLE began (RFC 2177): the caller may now watch the store for changes until
    /// [`ServerEvent::IdleEnded`].
    IdleStarted,
    /// The client ended IDLE with DONE (or broke it with something else).
    IdleEnded,
    /// SELECT or EXAMINE (RFC 9051 §6.3.2): open the mailbox and answer with
    /// [`super::Server::select_mailbox`] (start watching it for changes from other sessions,
    /// [`super::Server::mailbox_changed`]), or [`super::Server::reject`] with
    /// [`crate::response::Code::NonExistent`] and the like; either way the previously selected
    /// mailbox is closed.
    Select {
        /// The command's tag.
        tag: Tag,
        /// The mailbox name, decoded to UTF-8 (RFC 3501 §5.1.3, RFC 6855).
        mailbox: String,
        /// EXAMINE: no change may be made, not even `\Seen` or `\Recent`.
        read_only: bool,
    },
    /// CREATE (RFC 9051 §6.3.4): create the mailbox (a trailing delimiter is already
    /// stripped; INBOX is refused by the engine), then [`super::Server::done`] or
    /// [`super::Server::reject`] (`[ALREADYEXISTS]`, `[CANNOT]`, `[USEATTR]`).
    Create {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// `USE (…)` special-use attributes (RFC 6154 §3).
        special_use: Vec<crate::types::MailboxAttr>,
    },
    /// DELETE (RFC 9051 §6.3.5): delete the mailbox and its messages; a mailbox with
    /// children stays as `\Noselect` (or is refused with `[HASCHILDREN]`). Answer
    /// [`super::Server::done`] or [`super::Server::reject`].
    Delete {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8 (never INBOX).
        mailbox: String,
    },
    /// RENAME (RFC 9051 §6.3.6): rename the mailbox and its children. Renaming INBOX moves
    /// its messages to the new mailbox and leaves INBOX empty, children not moved. Answer
    /// [`super::Server::done`] or [`super::Server::reject`].
    Rename {
        /// The command's tag.
        tag: Tag,
        /// The existing name, UTF-8.
        from: String,
        /// The new name, UTF-8 (never INBOX).
        to: String,
    },
    /// SUBSCRIBE or UNSUBSCRIBE (RFC 9051 §6.3.7–§6.3.8): the name need not exist. Answer
    /// [`super::Server::done`] or [`super::Server::reject`].
    Subscribe {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// `true` for SUBSCRIBE.
        subscribe: bool,
    },
    /// LIST or LSUB: answer [`super::Server::mailbox_list`] with every mailbox; the engine
    /// matches the patterns.
    ListMailboxes {
        /// The command's tag.
        tag: Tag,
    },
    /// STATUS (RFC 9051 §6.3.11): answer [`super::Server::mailbox_status`] or
    /// [`super::Server::reject`] (`[NONEXISTENT]`).
    Status {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// The items asked for (the caller may compute only these).
        items: Vec<crate::command::StatusItem>,
    },
    /// EXPUNGE, UID EXPUNGE or CLOSE: remove these messages (the engine picked the
    /// `\Deleted` ones it knows) and answer [`super::Server::expunged`] with the UIDs removed,
    /// or [`super::Server::reject`]. Tell the other sessions on the mailbox.
    Expunge {
        /// The command's tag.
        tag: Tag,
        /// The selected mailbox, UTF-8.
        mailbox: String,
        /// The messages to remove.
        uids: Vec<std::num::NonZeroU32>,
    },
    /// STORE or UID STORE: change the flags (`\Recent` is never among them) and answer
    /// [`super::Server::stored`] with the messages' new flags, or [`super::Server::reject`].
    /// Tell the other sessions on the mailbox.
    Store {
        /// The command's tag.
        tag: Tag,
        /// The selected mailbox, UTF-8.
        mailbox: String,
        /// The messages (UNCHANGEDSINCE failures already left out).
        uids: Vec<std::num::NonZeroU32>,
        /// Replace, add or remove.
        mode: crate::command::StoreMode,
        /// The flags.
        flags: Vec<crate::types::Flag>,
    },
    /// COPY, MOVE and their UID forms: copy (or move) the messages and answer
    /// [`super::Server::copied`], or [`super::Server::reject`] with
    /// [`crate::response::Code::TryCreate`] when the destination does not exist. For a move,
    /// tell the other sessions on the source mailbox about the expunge.
    Copy {
        /// The command's tag.
        tag: Tag,
        /// The selected (source) mailbox, UTF-8.
        mailbox: String,
        /// The messages, in UID order.
        uids: Vec<std::num::NonZeroU32>,
        /// The destination mailbox, UTF-8.
        destination: String,
        /// MOVE rather than COPY.
        is_move: bool,
    },
    /// A message of an APPEND is announced (RFC 9051 §6.3.12; `index` counts the messages of
    /// a MULTIAPPEND, RFC 3502); none of its octets are read yet. Check the mailbox, the size
    /// and the quota, then [`super::Server::accept_append`] (the octets come as
    /// [`ServerEvent::AppendData`]) or [`super::Server::reject`] with
    /// [`crate::response::Code::TryCreate`], [`crate::response::Code::TooBig`],
    /// [`crate::response::Code::OverQuota`] (drop the earlier messages of the command).
    Append {
        /// The command's tag.
        tag: Tag,
        /// The destination mailbox, UTF-8.
        mailbox: String,
        /// Which message of the command, from 0.
        index: usize,
        /// Flags to set.
        flags: Vec<crate::types::Flag>,
        /// Internal date to set (`None`: now).
        date: Option<crate::types::DateTime>,
        /// The message's length in octets.
        length: u64,
        /// Sent as `~{n}` (RFC 3516): it may hold NUL octets.
        binary: bool,
    },
    /// Octets of the message being appended, in order.
    AppendData {
        /// The octets.
        data: Vec<u8>,
        /// Whether this is the message's last chunk.
        last: bool,
    },
    /// Every message of the APPEND arrived: store them all (or none) and answer
    /// [`super::Server::appended`] or [`super::Server::reject`].
    AppendCommit {
        /// The command's tag.
        tag: Tag,
        /// How many messages.
        messages: usize,
    },
    /// The APPEND in progress ended without a commit (refused, too large, broken syntax):
    /// drop what was received.
    AppendAborted,
    /// GETQUOTA (RFC 9208 §4.2): answer [`super::Server::quota`] with this root, or
    /// [`super::Server::reject`] with [`crate::response::Code::NonExistent`].
    GetQuota {
        /// The command's tag.
        tag: Tag,
        /// The quota root.
        root: String,
    },
    /// GETQUOTAROOT (RFC 9208 §4.3): answer [`super::Server::quota`] with the mailbox's roots.
    GetQuotaRoot {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
    },
    /// SETQUOTA (RFC 9208 §4.1): answer [`super::Server::done`] or [`super::Server::reject`]
    /// (`[NOPERM]` for a user who may not).
    SetQuota {
        /// The command's tag.
        tag: Tag,
        /// The quota root.
        root: String,
        /// Resource names (upper case) and limits.
        limits: Vec<(String, u64)>,
    },
    /// SETACL (RFC 4314 §3.1), rights checked, `+`/`-` kept: answer
    /// [`super::Server::done`] or [`super::Server::reject`].
    SetAcl {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// Who.
        identifier: String,
        /// `[+-]rights`.
        rights: String,
    },
    /// DELETEACL (RFC 4314 §3.2): answer [`super::Server::done`] or
    /// [`super::Server::reject`].
    DeleteAcl {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// Who.
        identifier: String,
    },
    /// GETACL (RFC 4314 §3.3): answer [`super::Server::acl`].
    GetAcl {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
    },
    /// LISTRIGHTS (RFC 4314 §3.4): answer [`super::Server::acl`].
    ListRights {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
        /// Who.
        identifier: String,
    },
    /// MYRIGHTS (RFC 4314 §3.5): answer [`super::Server::acl`].
    MyRights {
        /// The command's tag.
        tag: Tag,
        /// The mailbox, UTF-8.
        mailbox: String,
    },
    /// A FETCH needs this message's octets (for ENVELOPE, BODYSTRUCTURE, BODY[…] …): answer
    /// [`super::Server::fetch_message`], or [`super::Server::fetch_missing`] when the store
    /// no longer has it.
    FetchMessage {
        /// The command's tag.
        tag: Tag,
        /// The selected mailbox, UTF-8.
        mailbox: String,
        /// The message.
        uid: std::num::NonZeroU32,
    },
    /// QRESYNC (RFC 7162 §3.2.5.1, §3.2.6): which of these UIDs of the selected mailbox were
    /// expunged with a mod-sequence above `modseq`? Answer [`super::Server::expunged_since`]
    /// with them, or with `None` when the store does not remember expunges that far back
    /// (the engine then reports every UID of the set that is not in the mailbox). Only asked
    /// when [`super::ServerOptions::qresync`] is on.
    ExpungedSince {
        /// The command's tag.
        tag: Tag,
        /// The selected mailbox, UTF-8.
        mailbox: String,
        /// The client's last known mod-sequence.
        modseq: u64,
        /// The UIDs the client asks about (no `*`).
        uids: crate::types::SequenceSet,
    },
    /// The session left the selected mailbox (UNSELECT, CLOSE, another SELECT, LOGOUT): stop
    /// watching it.
    Unselected,
    /// The session is over; once [`super::Server::poll_transmit`] is drained, close the
    /// connection.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}
