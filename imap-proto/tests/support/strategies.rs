//! proptest strategies for every value type of the codec, shared by the round-trip tests.
//! Each strategy produces only values the grammar can carry (the constructors' rules).

#![allow(dead_code, unreachable_pub)]

use std::num::NonZeroU32;

use mailhub_imap_proto::bodystructure::{
    BodyExtension, BodyFields, BodyStructure, Disposition, ExtTail, Language, MultiPartExt,
    PartKind, SinglePartExt,
};
use mailhub_imap_proto::envelope::{Address, Envelope};
use mailhub_imap_proto::fetch::{
    FetchAttr, FetchItems, FetchMacro, FetchModifier, Partial, Section, SectionText,
};
use mailhub_imap_proto::search::{EntryType, SearchKey, SearchReturnOpt};
use mailhub_imap_proto::{
    AString, Atom, Date, DateTime, Flag, FlagPerm, IString, ListMailbox, Literal, LiteralMode,
    MailboxAttr, MailboxName, NString, Quoted, SeqNo, SeqRange, SequenceSet, Tag,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

pub fn nz() -> impl Strategy<Value = NonZeroU32> {
    prop_oneof![1u32..100, 1u32..=u32::MAX].prop_map(|n| NonZeroU32::new(n).unwrap())
}

pub fn num64() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..1000, 0u64..=(i64::MAX as u64)]
}

pub fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,6}".prop_map(|s| Tag::new(s).unwrap())
}

pub fn atom() -> impl Strategy<Value = Atom> {
    "[A-Za-z][A-Za-z0-9.=-]{0,8}".prop_map(|s| Atom::new(s).unwrap())
}

/// An atom that is no IMAP keyword of its position.
pub fn x_atom() -> impl Strategy<Value = Atom> {
    "X[A-Z0-9]{1,6}".prop_map(|s| Atom::new(s).unwrap())
}

pub fn quoted() -> impl Strategy<Value = Quoted> {
    vec(
        any::<u8>().prop_filter("no CR LF NUL", |b| !matches!(b, 0 | b'\r' | b'\n')),
        0..12,
    )
    .prop_map(|b| Quoted::new(b).unwrap())
}

pub fn literal() -> impl Strategy<Value = Literal> {
    (
        vec(1u8..=255, 0..16),
        prop_oneof![Just(LiteralMode::Sync), Just(LiteralMode::NonSync)],
    )
        .prop_map(|(b, m)| Literal::new(b, m).unwrap())
}

pub fn istring() -> impl Strategy<Value = IString> {
    prop_oneof![3 => quoted().prop_map(IString::Quoted), 1 => literal().prop_map(IString::Literal)]
}

pub fn nstring() -> impl Strategy<Value = NString> {
    proptest::option::of(istring()).prop_map(NString)
}

pub fn astring() -> impl Strategy<Value = AString> {
    prop_oneof![
        "[A-Za-z0-9!#&'+,./:;<=>?@^_`|}~\\]-]{1,10}".prop_map(|s| AString::atom(s).unwrap()),
        istring().prop_map(AString::String),
    ]
}

pub fn mailbox() -> impl Strategy<Value = MailboxName> {
    prop_oneof![1 => Just(MailboxName::Inbox), 4 => astring().prop_map(MailboxName::from_astring)]
}

pub fn list_mailbox() -> impl Strategy<Value = ListMailbox> {
    prop_oneof![
        "[A-Za-z0-9%*/.]{1,8}".prop_map(|s| ListMailbox::from_bytes(s.into_bytes())),
        istring().prop_map(ListMailbox::String),
    ]
}

pub fn seq_set() -> impl Strategy<Value = SequenceSet> {
    let no = prop_oneof![4 => nz().prop_map(SeqNo::Value), 1 => Just(SeqNo::Largest)];
    let range = prop_oneof![
        no.clone().prop_map(SeqRange::Single),
        (no.clone(), no).prop_map(|(a, b)| SeqRange::Range(a, b)),
    ];
    prop_oneof![
        8 => vec(range, 1..5).prop_map(|v| SequenceSet::new(v).unwrap()),
        1 => Just(SequenceSet::SavedResult),
    ]
}

pub fn uid_set() -> impl Strategy<Value = SequenceSet> {
    vec((nz(), proptest::option::of(nz())), 1..4).prop_map(|v| {
        SequenceSet::new(
            v.into_iter()
                .map(|(a, b)| match b {
                    Some(b) => SeqRange::Range(SeqNo::Value(a), SeqNo::Value(b)),
                    None => SeqRange::Single(SeqNo::Value(a)),
                })
                .collect(),
        )
        .unwrap()
    })
}

pub fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        Just(Flag::Recent),
        "[$A-Za-z][A-Za-z0-9]{0,8}".prop_map(|s| Flag::Keyword(Atom::new(s).unwrap())),
        x_atom().prop_map(Flag::Extension),
    ]
}

pub fn flag_perm() -> impl Strategy<Value = FlagPerm> {
    prop_oneof![4 => flag().prop_map(FlagPerm::Flag), 1 => Just(FlagPerm::Wildcard)]
}

pub fn mailbox_attr() -> impl Strategy<Value = MailboxAttr> {
    prop_oneof![
        Just(MailboxAttr::Noinferiors),
        Just(MailboxAttr::Noselect),
        Just(MailboxAttr::Marked),
        Just(MailboxAttr::HasChildren),
        Just(MailboxAttr::NonExistent),
        Just(MailboxAttr::Subscribed),
        Just(MailboxAttr::Drafts),
        Just(MailboxAttr::Trash),
        Just(MailboxAttr::All),
        x_atom().prop_map(MailboxAttr::Extension),
    ]
}

pub fn date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

pub fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -720i16..=840)
        .prop_map(|(d, h, m, s, z)| DateTime::new(d, h, m, s, z).unwrap())
}

pub fn search_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey as K;
    let leaf = Union::new(vec![
        Just(K::All).boxed(),
        Just(K::Answered).boxed(),
        Just(K::Deleted).boxed(),
        Just(K::Draft).boxed(),
        Just(K::Flagged).boxed(),
        Just(K::New).boxed(),
        Just(K::Old).boxed(),
        Just(K::Recent).boxed(),
        Just(K::Seen).boxed(),
        Just(K::Unanswered).boxed(),
        Just(K::Undeleted).boxed(),
        Just(K::Undraft).boxed(),
        Just(K::Unflagged).boxed(),
        Just(K::Unseen).boxed(),
        astring().prop_map(K::Bcc).boxed(),
        astring().prop_map(K::Body).boxed(),
        astring().prop_map(K::Cc).boxed(),
        astring().prop_map(K::From).boxed(),
        astring().prop_map(K::Subject).boxed(),
        astring().prop_map(K::Text).boxed(),
        astring().prop_map(K::To).boxed(),
        (astring(), astring())
            .prop_map(|(a, b)| K::Header(a, b))
            .boxed(),
        date().prop_map(K::Before).boxed(),
        date().prop_map(K::On).boxed(),
        date().prop_map(K::Since).boxed(),
        date().prop_map(K::SentBefore).boxed(),
        date().prop_map(K::SentOn).boxed(),
        date().prop_map(K::SentSince).boxed(),
        atom().prop_map(K::Keyword).boxed(),
        atom().prop_map(K::Unkeyword).boxed(),
        num64().prop_map(K::Larger).boxed(),
        num64().prop_map(K::Smaller).boxed(),
        any::<u32>().prop_map(K::Older).boxed(),
        any::<u32>().prop_map(K::Younger).boxed(),
        seq_set().prop_map(K::Uid).boxed(),
        seq_set().prop_map(K::SequenceSet).boxed(),
        (
            proptest::option::of((
                quoted(),
                prop_oneof![
                    Just(EntryType::Private),
                    Just(EntryType::Shared),
                    Just(EntryType::All)
                ],
            )),
            num64(),
        )
            .prop_map(|(entry, modseq)| K::ModSeq { entry, modseq })
            .boxed(),
    ]);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..3).prop_map(K::And),
        ]
    })
}

pub fn search_return_opts() -> impl Strategy<Value = Vec<SearchReturnOpt>> {
    vec(
        prop_oneof![
            Just(SearchReturnOpt::Min),
            Just(SearchReturnOpt::Max),
            Just(SearchReturnOpt::All),
            Just(SearchReturnOpt::Count),
            Just(SearchReturnOpt::Save),
        ],
        0..3,
    )
}

pub fn part() -> impl Strategy<Value = Vec<NonZeroU32>> {
    vec(nz(), 0..3)
}

pub fn section() -> impl Strategy<Value = Section> {
    let headers = || vec(astring(), 1..3);
    (
        part(),
        proptest::option::of(prop_oneof![
            Just(SectionText::Header),
            Just(SectionText::Text),
            Just(SectionText::Mime),
            headers().prop_map(SectionText::HeaderFields),
            headers().prop_map(SectionText::HeaderFieldsNot),
        ]),
    )
        .prop_map(|(part, text)| {
            let text = if part.is_empty() && text == Some(SectionText::Mime) {
                None
            } else {
                text
            };
            Section { part, text }
        })
}

pub fn partial() -> impl Strategy<Value = Option<Partial>> {
    proptest::option::of((any::<u32>(), nz()).prop_map(|(offset, count)| Partial { offset, count }))
}

pub fn fetch_items() -> impl Strategy<Value = FetchItems> {
    let attr = prop_oneof![
        Just(FetchAttr::Envelope),
        Just(FetchAttr::Flags),
        Just(FetchAttr::InternalDate),
        Just(FetchAttr::Rfc822),
        Just(FetchAttr::Rfc822Header),
        Just(FetchAttr::Rfc822Size),
        Just(FetchAttr::Rfc822Text),
        Just(FetchAttr::Body),
        Just(FetchAttr::BodyStructure),
        Just(FetchAttr::Uid),
        Just(FetchAttr::ModSeq),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| FetchAttr::Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(FetchAttr::BinarySize),
    ];
    prop_oneof![
        1 => prop_oneof![Just(FetchMacro::All), Just(FetchMacro::Fast), Just(FetchMacro::Full)]
            .prop_map(FetchItems::Macro),
        4 => vec(attr, 1..4).prop_map(FetchItems::Attrs),
    ]
}

pub fn fetch_modifiers() -> impl Strategy<Value = Vec<FetchModifier>> {
    vec(
        prop_oneof![
            num64().prop_map(FetchModifier::ChangedSince),
            Just(FetchModifier::Vanished)
        ],
        0..3,
    )
}

pub fn address() -> impl Strategy<Value = Address> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(name, adl, mailbox, host)| Address {
        name,
        adl,
        mailbox,
        host,
    })
}

pub fn envelope() -> impl Strategy<Value = Envelope> {
    let al = || proptest::option::of(vec(address(), 1..3));
    (
        nstring(),
        nstring(),
        (al(), al(), al(), al(), al(), al()),
        nstring(),
        nstring(),
    )
        .prop_map(
            |(date, subject, (from, sender, reply_to, to, cc, bcc), in_reply_to, message_id)| {
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
                }
            },
        )
}

fn params() -> impl Strategy<Value = Vec<(IString, IString)>> {
    vec((istring(), istring()), 0..3)
}

fn ext_tail() -> impl Strategy<Value = ExtTail> {
    let ext = prop_oneof![
        nstring().prop_map(BodyExtension::NString),
        any::<u32>().prop_map(BodyExtension::Number),
    ]
    .prop_recursive(2, 6, 3, |inner| {
        vec(inner, 1..3).prop_map(BodyExtension::List)
    });
    let lang = prop_oneof![
        nstring().prop_map(Language::Single),
        vec(istring(), 1..3).prop_map(Language::List)
    ];
    (
        0usize..5,
        proptest::option::of(
            (istring(), params()).prop_map(|(kind, params)| Disposition { kind, params }),
        ),
        lang,
        nstring(),
        vec(ext, 1..3),
    )
        .prop_map(|(n, d, l, loc, e)| ExtTail {
            disposition: (n > 0).then_some(d),
            language: (n > 1).then_some(l),
            location: (n > 2).then_some(loc),
            extensions: if n > 3 { e } else { Vec::new() },
        })
}

fn fields() -> impl Strategy<Value = BodyFields> {
    (params(), nstring(), nstring(), istring(), any::<u32>()).prop_map(
        |(params, id, description, encoding, octets)| BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    )
}

fn q(s: &str) -> IString {
    IString::Quoted(Quoted::new(s).unwrap())
}

pub fn body_structure() -> impl Strategy<Value = BodyStructure> {
    let single_ext = || {
        proptest::option::of(
            (nstring(), ext_tail()).prop_map(|(md5, tail)| SinglePartExt { md5, tail }),
        )
    };
    let leaf = (
        prop_oneof![
            ("(APPLICATION|image|Audio)", "[a-z]{1,5}").prop_map(|(t, s)| PartKind::Basic {
                media_type: q(&t),
                subtype: q(&s)
            }),
            ("(TEXT|text)", "[a-z]{1,5}", num64()).prop_map(|(t, s, lines)| PartKind::Text {
                media_type: q(&t),
                subtype: q(&s),
                lines
            }),
        ],
        fields(),
        single_ext(),
    )
        .prop_map(|(kind, fields, ext)| BodyStructure::Single { kind, fields, ext });
    leaf.prop_recursive(3, 10, 3, move |inner| {
        let multi_ext = proptest::option::of(
            (params(), ext_tail()).prop_map(|(params, tail)| MultiPartExt { params, tail }),
        );
        prop_oneof![
            (vec(inner.clone(), 1..3), istring(), multi_ext).prop_map(|(parts, subtype, ext)| {
                BodyStructure::Multi {
                    parts,
                    subtype,
                    ext,
                }
            }),
            (envelope(), inner, num64(), fields(), single_ext()).prop_map(
                |(env, body, lines, fields, ext)| BodyStructure::Single {
                    kind: PartKind::Message {
                        media_type: q("MESSAGE"),
                        subtype: q("RFC822"),
                        envelope: Box::new(env),
                        body: Box::new(body),
                        lines,
                    },
                    fields,
                    ext,
                }
            ),
        ]
    })
}
