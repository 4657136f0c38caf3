//! Helpers shared by the client engine tests (`#[path]`-included; as its own test crate it
//! holds no tests).
#![allow(dead_code)]

use std::time::Instant;

use mailhub_imap_proto::client::{Client, ClientEvent, ClientOptions};
use mailhub_imap_proto::response::{Data, Status};

/// A client that already read `greeting`; its events so far are returned.
pub(crate) fn greeted(opts: ClientOptions, greeting: &[u8]) -> (Client, Vec<ClientEvent>) {
    let mut c = Client::new(opts, Instant::now());
    let ev = feed(&mut c, greeting);
    (c, ev)
}

/// Feeds `bytes` and drains the events.
pub(crate) fn feed(c: &mut Client, bytes: &[u8]) -> Vec<ClientEvent> {
    c.handle_input(bytes);
    drain(c)
}

/// Drains the events.
pub(crate) fn drain(c: &mut Client) -> Vec<ClientEvent> {
    let mut v = Vec::new();
    while let Some(e) = c.poll_event() {
        v.push(e);
    }
    v
}

/// What the client has to send, as text.
pub(crate) fn sent(c: &mut Client) -> String {
    String::from_utf8(c.poll_transmit().unwrap_or_default()).unwrap()
}

fn status(s: &Status) -> String {
    let code = s
        .code
        .as_ref()
        .map(|c| {
            let d = format!("{c:?}");
            format!(" [{}]", d.split(['(', ' ', '{']).next().unwrap())
        })
        .unwrap_or_default();
    format!("{}{code}", s.kind.name())
}

fn data(d: &Data) -> String {
    match d {
        Data::Exists(n) => format!("{n} EXISTS"),
        Data::Recent(n) => format!("{n} RECENT"),
        Data::Expunge(n) => format!("{n} EXPUNGE"),
        Data::Fetch { seq, items } => {
            let names: Vec<String> = items
                .iter()
                .map(|i| {
                    format!("{i:?}")
                        .split(['(', ' ', '{'])
                        .next()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            format!("{seq} FETCH {}", names.join(","))
        }
        other => format!("{other:?}")
            .split(['(', ' ', '{'])
            .next()
            .unwrap()
            .to_uppercase(),
    }
}

/// A one-line summary of an event, for comparing sequences.
pub(crate) fn brief(e: &ClientEvent) -> String {
    match e {
        ClientEvent::Greeting(s) => format!("greeting {}", status(s)),
        ClientEvent::Status(s) => format!("* {}", status(s)),
        ClientEvent::Data(d) => format!("* {}", data(d)),
        ClientEvent::Completed {
            tag, kind, code, ..
        } => {
            let s = Status::new(Some(tag.clone()), *kind, code.clone(), "");
            format!("{tag} {}", status(&s))
        }
        ClientEvent::FetchBodyStart { seq, length, .. } => format!("body {seq} {length}"),
        ClientEvent::FetchBodyChunk { .. } => "chunk".into(),
        ClientEvent::AppendReady { tag } => format!("{tag} append-ready"),
        ClientEvent::IdleStarted { tag } => format!("{tag} idling"),
        ClientEvent::AuthCancelled { tag } => format!("{tag} auth-cancelled"),
        ClientEvent::StartTls => "starttls".into(),
        ClientEvent::Refused { tag, .. } => format!("{tag} refused"),
        ClientEvent::Timeout(k) => format!("timeout {k:?}"),
        ClientEvent::Abandoned { tag } => format!("{tag} abandoned"),
        ClientEvent::Closed(r) => {
            let d = format!("{r:?}");
            format!("closed {}", d.split(['(', ' ']).next().unwrap())
        }
        other => format!("{other:?}"),
    }
}

/// Summaries of `events`.
pub(crate) fn briefs(events: &[ClientEvent]) -> Vec<String> {
    events.iter().map(brief).collect()
}
