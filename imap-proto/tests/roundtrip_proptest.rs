//! `parse(serialize(x)) == x` for every command and response type, and "arbitrary bytes
//! never panic" for the parsers and the framer.

#[path = "support/strategies.rs"]
mod strategies;

use mailhub_imap_proto::command::{
    AppendMessage, ListReturnOpt, ListSelectOpt, SelectParam, SortCriterion, SortKey, StatusItem,
    StoreMode,
};
use mailhub_imap_proto::framing::{FrameEvent, Framer, Limits, Side};
use mailhub_imap_proto::response::{
    Code, Continue, Data, ESearchItem, ExtValue, ListEntry, ListExtItem, MessageData,
    NamespaceDesc, QuotaResource, Thread,
};
use mailhub_imap_proto::{
    Command, CommandBody, IString, Literal, LiteralMode, Quoted, Response, Secret, Status,
    StatusKind,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::strategy::Union;
use strategies::*;

fn status_item() -> impl Strategy<Value = StatusItem> {
    proptest::sample::select(vec![
        StatusItem::Messages,
        StatusItem::Recent,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::HighestModSeq,
        StatusItem::AppendLimit,
    ])
}

fn select_params() -> impl Strategy<Value = Vec<SelectParam>> {
    let qresync =
        (nz(), num64(), of((uid_set(), of((uid_set(), uid_set()))))).prop_map(|(v, modseq, k)| {
            let (known_uids, seq_match) = match k {
                Some((k, m)) => (Some(k), m),
                None => (None, None),
            };
            SelectParam::Qresync {
                uid_validity: v.get(),
                modseq,
                known_uids,
                seq_match,
            }
        });
    vec(prop_oneof![Just(SelectParam::Condstore), qresync], 0..3)
}

fn base64() -> impl Strategy<Value = Vec<u8>> {
    "([A-Za-z0-9+/]{4}){0,3}([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?".prop_map(String::into_bytes)
}

fn command_body() -> impl Strategy<Value = CommandBody> {
    use CommandBody as C;
    let append_msg = (
        of(vec(flag(), 0..3)),
        of(date_time()),
        vec(any::<u8>(), 0..20),
        0..4,
        any::<bool>(),
    )
        .prop_map(|(flags, date, data, m, utf8)| {
            let mode = [
                LiteralMode::Sync,
                LiteralMode::NonSync,
                LiteralMode::Binary,
                LiteralMode::BinaryNonSync,
            ][m as usize];
            let data = if mode.is_binary() {
                data
            } else {
                data.into_iter().map(|b| b.max(1)).collect()
            };
            AppendMessage {
                flags,
                date,
                data: Literal::new(data, mode).unwrap(),
                utf8,
            }
        });
    let sort_key = proptest::sample::select(vec![
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ]);
    let list_ret = prop_oneof![
        Just(ListReturnOpt::Subscribed),
        Just(ListReturnOpt::Children),
        Just(ListReturnOpt::SpecialUse),
        vec(status_item(), 0..3).prop_map(ListReturnOpt::Status),
    ];
    let list_sel = proptest::sample::select(vec![
        ListSelectOpt::Subscribed,
        ListSelectOpt::Remote,
        ListSelectOpt::RecursiveMatch,
        ListSelectOpt::SpecialUse,
    ]);
    Union::new(vec![
        Just(C::Capability).boxed(),
        Just(C::Noop).boxed(),
        Just(C::Logout).boxed(),
        Just(C::StartTls).boxed(),
        Just(C::Namespace).boxed(),
        Just(C::Idle).boxed(),
        Just(C::Check).boxed(),
        Just(C::Close).boxed(),
        Just(C::Unselect).boxed(),
        Just(C::Expunge).boxed(),
        Just(C::Unauthenticate).boxed(),
        uid_set().prop_map(C::UidExpunge).boxed(),
        (atom(), of(base64()))
            .prop_map(|(mechanism, r)| C::Authenticate {
                mechanism,
                initial_response: r.map(Secret::new),
            })
            .boxed(),
        (astring(), astring())
            .prop_map(|(username, p)| C::Login {
                username,
                password: Secret::new(p),
            })
            .boxed(),
        vec(atom(), 1..3).prop_map(C::Enable).boxed(),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| C::Select { mailbox, params })
            .boxed(),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| C::Examine { mailbox, params })
            .boxed(),
        (mailbox(), vec(mailbox_attr(), 0..3))
            .prop_map(|(mailbox, special_use)| C::Create {
                mailbox,
                special_use,
            })
            .boxed(),
        mailbox().prop_map(C::Delete).boxed(),
        (mailbox(), mailbox())
            .prop_map(|(from, to)| C::Rename { from, to })
            .boxed(),
        mailbox().prop_map(C::Subscribe).boxed(),
        mailbox().prop_map(C::Unsubscribe).boxed(),
        (
            vec(list_sel, 0..3),
            mailbox(),
            vec(list_mailbox(), 1..3),
            vec(list_ret, 0..3),
        )
            .prop_map(|(selection, reference, patterns, return_opts)| C::List {
                selection,
                reference,
                patterns,
                return_opts,
            })
            .boxed(),
        (mailbox(), list_mailbox())
            .prop_map(|(reference, pattern)| C::Lsub { reference, pattern })
            .boxed(),
        (mailbox(), vec(status_item(), 0..4))
            .prop_map(|(mailbox, items)| C::Status { mailbox, items })
            .boxed(),
        (mailbox(), vec(append_msg, 1..3))
            .prop_map(|(mailbox, messages)| C::Append { mailbox, messages })
            .boxed(),
        of(vec((istring(), nstring()), 0..3))
            .prop_map(C::Id)
            .boxed(),
        astring().prop_map(C::GetQuota).boxed(),
        mailbox().prop_map(C::GetQuotaRoot).boxed(),
        (astring(), vec((atom(), num64()), 0..3))
            .prop_map(|(root, limits)| C::SetQuota { root, limits })
            .boxed(),
        (mailbox(), astring(), astring())
            .prop_map(|(mailbox, identifier, rights)| C::SetAcl {
                mailbox,
                identifier,
                rights,
            })
            .boxed(),
        (mailbox(), astring())
            .prop_map(|(mailbox, identifier)| C::DeleteAcl {
                mailbox,
                identifier,
            })
            .boxed(),
        mailbox().prop_map(C::GetAcl).boxed(),
        (mailbox(), astring())
            .prop_map(|(mailbox, identifier)| C::ListRights {
                mailbox,
                identifier,
            })
            .boxed(),
        mailbox().prop_map(C::MyRights).boxed(),
        atom().prop_map(C::Compress).boxed(),
        (
            any::<bool>(),
            of(search_return_opts()),
            of(astring()),
            vec(search_key(), 1..3),
        )
            .prop_map(|(uid, return_opts, charset, criteria)| C::Search {
                uid,
                return_opts,
                charset,
                criteria,
            })
            .boxed(),
        (any::<bool>(), seq_set(), fetch_items(), fetch_modifiers())
            .prop_map(|(uid, set, items, modifiers)| C::Fetch {
                uid,
                set,
                items,
                modifiers,
            })
            .boxed(),
        (
            any::<bool>(),
            seq_set(),
            of(num64()),
            0..3usize,
            any::<bool>(),
            vec(flag(), 0..3),
        )
            .prop_map(|(uid, set, unchanged_since, m, silent, flags)| C::Store {
                uid,
                set,
                unchanged_since,
                mode: [StoreMode::Replace, StoreMode::Add, StoreMode::Remove][m],
                silent,
                flags,
            })
            .boxed(),
        (any::<bool>(), seq_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| C::Copy { uid, set, mailbox })
            .boxed(),
        (any::<bool>(), seq_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| C::Move { uid, set, mailbox })
            .boxed(),
        (
            any::<bool>(),
            of(search_return_opts()),
            vec((any::<bool>(), sort_key), 1..3),
            astring(),
            vec(search_key(), 1..3),
        )
            .prop_map(|(uid, return_opts, c, charset, search)| C::Sort {
                uid,
                return_opts,
                criteria: c
                    .into_iter()
                    .map(|(reverse, key)| SortCriterion { reverse, key })
                    .collect(),
                charset,
                search,
            })
            .boxed(),
        (any::<bool>(), atom(), astring(), vec(search_key(), 1..3))
            .prop_map(|(uid, algorithm, charset, search)| C::Thread {
                uid,
                algorithm,
                charset,
                search,
            })
            .boxed(),
    ])
}

fn code() -> impl Strategy<Value = Code> {
    use Code as K;
    let simple = proptest::sample::select(vec![
        K::Alert,
        K::Parse,
        K::ReadOnly,
        K::ReadWrite,
        K::TryCreate,
        K::UidNotSticky,
        K::NoModSeq,
        K::Closed,
        K::NotSaved,
        K::UseAttr,
        K::CompressionActive,
        K::UnknownCte,
        K::TooBig,
        K::HasChildren,
        K::Unavailable,
        K::AuthenticationFailed,
        K::AuthorizationFailed,
        K::Expired,
        K::PrivacyRequired,
        K::ContactAdmin,
        K::NoPerm,
        K::InUse,
        K::ExpungeIssued,
        K::Corruption,
        K::ServerBug,
        K::ClientBug,
        K::Cannot,
        K::Limit,
        K::OverQuota,
        K::AlreadyExists,
        K::NonExistent,
    ]);
    Union::new(vec![
        simple.boxed(),
        vec(astring(), 0..3).prop_map(K::BadCharset).boxed(),
        vec(atom(), 1..4).prop_map(K::Capability).boxed(),
        vec(flag_perm(), 0..4).prop_map(K::PermanentFlags).boxed(),
        nz().prop_map(K::UidNext).boxed(),
        nz().prop_map(K::UidValidity).boxed(),
        nz().prop_map(K::Unseen).boxed(),
        (nz(), uid_set())
            .prop_map(|(uid_validity, uids)| K::AppendUid { uid_validity, uids })
            .boxed(),
        (nz(), uid_set(), uid_set())
            .prop_map(|(uid_validity, source, dest)| K::CopyUid {
                uid_validity,
                source,
                dest,
            })
            .boxed(),
        num64().prop_map(K::HighestModSeq).boxed(),
        uid_set().prop_map(K::Modified).boxed(),
        (x_atom(), of("[a-z0-9][a-z0-9 ]{0,8}"))
            .prop_map(|(a, t)| K::Other(a, t))
            .boxed(),
    ])
}

fn text() -> impl Strategy<Value = String> {
    "([A-Za-z0-9][A-Za-z0-9 .!]{0,16})?"
}

fn thread() -> impl Strategy<Value = Thread> {
    vec(nz(), 1..3)
        .prop_map(|members| Thread {
            members,
            children: vec![],
        })
        .prop_recursive(3, 10, 3, |inner| {
            (vec(nz(), 0..3), vec(inner, 2..4))
                .prop_map(|(members, children)| Thread { members, children })
        })
}

fn namespaces() -> impl Strategy<Value = Option<Vec<NamespaceDesc>>> {
    of(vec(
        (
            istring(),
            of(b' '..=b'~'),
            vec((istring(), vec(istring(), 1..3)), 0..2),
        )
            .prop_map(|(prefix, delimiter, extensions)| NamespaceDesc {
                prefix,
                delimiter,
                extensions,
            }),
        1..3,
    ))
}

fn ext_value() -> impl Strategy<Value = ExtValue> {
    prop_oneof![
        num64().prop_map(ExtValue::Number),
        nstring().prop_map(ExtValue::NString),
        "\\\\?X[A-Za-z0-9]{0,5}".prop_map(ExtValue::Token),
    ]
    .prop_recursive(2, 8, 3, |inner| vec(inner, 0..3).prop_map(ExtValue::List))
}

fn message_data() -> impl Strategy<Value = MessageData> {
    use MessageData as M;
    Union::new(vec![
        vec(flag(), 0..3).prop_map(M::Flags).boxed(),
        nz().prop_map(M::Uid).boxed(),
        date_time().prop_map(M::InternalDate).boxed(),
        num64().prop_map(M::Rfc822Size).boxed(),
        envelope().prop_map(|e| M::Envelope(Box::new(e))).boxed(),
        body_structure().prop_map(|b| M::Body(Box::new(b))).boxed(),
        body_structure()
            .prop_map(|b| M::BodyStructure(Box::new(b)))
            .boxed(),
        (section(), of(any::<u32>()), nstring())
            .prop_map(|(section, origin, data)| M::BodySection {
                section,
                origin,
                data,
            })
            .boxed(),
        nstring().prop_map(M::Rfc822).boxed(),
        nstring().prop_map(M::Rfc822Header).boxed(),
        nstring().prop_map(M::Rfc822Text).boxed(),
        (part(), of(any::<u32>()), nstring())
            .prop_map(|(part, origin, data)| M::Binary { part, origin, data })
            .boxed(),
        (part(), any::<u32>())
            .prop_map(|(part, size)| M::BinarySize { part, size })
            .boxed(),
        num64().prop_map(M::ModSeq).boxed(),
        (x_atom(), ext_value())
            .prop_map(|(n, v)| M::Other(n, v))
            .boxed(),
    ])
}

fn list_entry() -> impl Strategy<Value = ListEntry> {
    let ext = prop_oneof![
        vec(istring(), 1..3).prop_map(ListExtItem::ChildInfo),
        mailbox().prop_map(ListExtItem::OldName),
        ("X[A-Z]{1,5}", ext_value())
            .prop_map(|(t, v)| ListExtItem::Other(IString::Quoted(Quoted::new(t).unwrap()), v)),
    ];
    (
        vec(mailbox_attr(), 0..3),
        of(b' '..=b'~'),
        mailbox(),
        vec(ext, 0..2),
    )
        .prop_map(|(attrs, delimiter, mailbox, extended)| ListEntry {
            attrs,
            delimiter,
            mailbox,
            extended,
        })
}

fn data() -> impl Strategy<Value = Data> {
    use Data as D;
    let es_item = prop_oneof![
        nz().prop_map(ESearchItem::Min),
        nz().prop_map(ESearchItem::Max),
        uid_set().prop_map(ESearchItem::All),
        any::<u32>().prop_map(ESearchItem::Count),
        num64().prop_map(ESearchItem::ModSeq),
    ];
    Union::new(vec![
        vec(atom(), 0..4).prop_map(D::Capability).boxed(),
        vec(atom(), 0..4).prop_map(D::Enabled).boxed(),
        list_entry().prop_map(D::List).boxed(),
        list_entry().prop_map(D::Lsub).boxed(),
        (
            mailbox(),
            vec(
                status_item().prop_flat_map(|s| {
                    let nil = s == StatusItem::AppendLimit;
                    (
                        Just(s),
                        of(num64()).prop_map(move |n| if nil { n } else { n.or(Some(0)) }),
                    )
                }),
                0..4,
            ),
        )
            .prop_map(|(mailbox, items)| D::Status { mailbox, items })
            .boxed(),
        (vec(nz(), 0..6), of(num64()))
            .prop_map(|(ids, modseq)| D::Search { ids, modseq })
            .boxed(),
        (vec(nz(), 0..6), of(num64()))
            .prop_map(|(ids, modseq)| D::Sort { ids, modseq })
            .boxed(),
        (of(tag()), any::<bool>(), vec(es_item, 0..4))
            .prop_map(|(tag, uid, items)| D::ESearch { tag, uid, items })
            .boxed(),
        vec(thread(), 0..3).prop_map(D::Thread).boxed(),
        vec(flag(), 0..4).prop_map(D::Flags).boxed(),
        any::<u32>().prop_map(D::Exists).boxed(),
        any::<u32>().prop_map(D::Recent).boxed(),
        nz().prop_map(D::Expunge).boxed(),
        (any::<bool>(), uid_set())
            .prop_map(|(earlier, uids)| D::Vanished { earlier, uids })
            .boxed(),
        (nz(), vec(message_data(), 1..4))
            .prop_map(|(seq, items)| D::Fetch { seq, items })
            .boxed(),
        (namespaces(), namespaces(), namespaces())
            .prop_map(|(personal, other, shared)| D::Namespace {
                personal,
                other,
                shared,
            })
            .boxed(),
        of(vec((istring(), nstring()), 0..3))
            .prop_map(D::Id)
            .boxed(),
        (astring(), vec((atom(), num64(), num64()), 0..3))
            .prop_map(|(root, r)| D::Quota {
                root,
                resources: r
                    .into_iter()
                    .map(|(name, usage, limit)| QuotaResource { name, usage, limit })
                    .collect(),
            })
            .boxed(),
        (mailbox(), vec(astring(), 0..3))
            .prop_map(|(mailbox, roots)| D::QuotaRoot { mailbox, roots })
            .boxed(),
        (mailbox(), vec((astring(), astring()), 0..3))
            .prop_map(|(mailbox, entries)| D::Acl { mailbox, entries })
            .boxed(),
        (mailbox(), astring(), astring(), vec(astring(), 0..3))
            .prop_map(|(mailbox, identifier, required, optional)| D::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            })
            .boxed(),
        (mailbox(), astring())
            .prop_map(|(mailbox, rights)| D::MyRights { mailbox, rights })
            .boxed(),
    ])
}

fn response() -> impl Strategy<Value = Response> {
    let kind = proptest::sample::select(vec![
        StatusKind::Ok,
        StatusKind::No,
        StatusKind::Bad,
        StatusKind::PreAuth,
        StatusKind::Bye,
    ]);
    prop_oneof![
        1 => (of(tag()), kind, of(code()), text())
            .prop_map(|(tag, kind, code, text)| Response::Status(Status { tag, kind, code, text })),
        3 => data().prop_map(Response::Data),
        1 => (of(code()), "[A-Za-z ]{0,10}[.!]").prop_map(|(code, text)| Response::Continue(Continue::Text { code, text })),
        1 => base64().prop_map(|b| Response::Continue(Continue::Base64(b))),
    ]
}

/// Feeds `bytes` through a framer in pieces of `split`, accepting every literal.
fn frame(side: Side, bytes: &[u8], split: usize) -> Vec<FrameEvent> {
    let mut f = Framer::new(side, Limits::client());
    let mut out = Vec::new();
    for chunk in bytes.chunks(split.max(1)) {
        f.handle_input(chunk);
        while let Some(e) = f.poll_event() {
            if matches!(e, FrameEvent::LiteralAnnounced { .. }) {
                f.accept_literal().unwrap();
            }
            out.push(e);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn command_roundtrip(tag in tag(), body in command_body(), split in 1usize..40) {
        let c = Command { tag, body };
        let bytes = c.to_bytes();
        prop_assert_eq!(Command::parse(&bytes).map_err(|e| (e, String::from_utf8_lossy(&bytes).into_owned())), Ok(c.clone()));
        // The framer finds the same unit however the bytes are split.
        let units: Vec<_> = frame(Side::Server, &bytes, split).into_iter()
            .filter_map(|e| if let FrameEvent::Unit(u) = e { Some(u) } else { None }).collect();
        prop_assert_eq!(units, vec![bytes]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200), split in 1usize..20) {
        let _ = Command::parse(&bytes);
        let _ = Response::parse(&bytes);
        for side in [Side::Server, Side::Client] {
            for e in frame(side, &bytes, split) {
                if let FrameEvent::Unit(u) = e {
                    let _ = Command::parse(&u);
                    let _ = Response::parse(&u);
                }
            }
        }
    }

    #[test]
    fn imap_looking_bytes_never_panic(
        parts in vec(prop_oneof![
            Just("A1 ".to_string()), Just("* ".to_string()), Just("FETCH ".to_string()),
            Just("SEARCH ".to_string()), Just("(".to_string()), Just(")".to_string()),
            Just("{3}\r\n".to_string()), Just("\"x\" ".to_string()), Just("NIL ".to_string()),
            Just("1:* ".to_string()), Just("BODY[".to_string()), Just("]".to_string()),
            Just("\r\n".to_string()), Just("OR NOT ".to_string()), Just("~{2+}\r\n".to_string()),
            "[ -~]{0,4}",
        ], 0..30)
    ) {
        let bytes = parts.concat().into_bytes();
        let _ = Command::parse(&bytes);
        let _ = Response::parse(&bytes);
        let _ = frame(Side::Server, &bytes, 7);
    }
}

/// Runs on a thread with a larger stack: proptest's value trees for nested BODYSTRUCTUREs are
/// deep in a debug build (the parser itself fits the default stack, see `responses.rs`).
#[test]
fn response_roundtrip() {
    let h = std::thread::Builder::new()
        .stack_size(32 * 1024 * 1024)
        .spawn(|| {
            let config = ProptestConfig {
                cases: 300,
                ..ProptestConfig::default()
            };
            let mut runner = proptest::test_runner::TestRunner::new(config);
            runner
                .run(&(response(), 1usize..40), |(r, split)| {
                    let bytes = r.to_bytes();
                    let parsed = Response::parse(&bytes)
                        .map_err(|e| (e, String::from_utf8_lossy(&bytes).into_owned()));
                    prop_assert_eq!(parsed, Ok(r.clone()));
                    let units: Vec<_> = frame(Side::Client, &bytes, split)
                        .into_iter()
                        .filter_map(|e| {
                            if let FrameEvent::Unit(u) = e {
                                Some(u)
                            } else {
                                None
                            }
                        })
                        .collect();
                    prop_assert_eq!(units, vec![bytes]);
                    Ok(())
                })
                .unwrap();
        })
        .unwrap();
    h.join().unwrap();
}
