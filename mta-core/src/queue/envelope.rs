//! The queued message's envelope: sender, DSN parameters (RFC 3461 §4: NOTIFY, ORCPT, RET,
//! ENVID) and per-recipient delivery state, with the one-line-per-field text form the spool
//! stores.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::route::Destination;

/// A queue id: unique on this host, safe as a file name (hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub(crate) String);

impl QueueId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this run of the process made the id. An id from another run (a message
    /// recovered from the spool after a restart) may belong to a message that run delivered
    /// just before it died, before the queue could record it; local delivery checks for such
    /// a copy before delivering again ([`crate::deliver::LocalDelivery`]).
    pub fn is_from_this_run(&self) -> bool {
        self.0.len() == 28 && self.0.get(16..24) == Some(super::spool::run_tag())
    }

    /// Reads an id (hex digits only, 8–64 of them).
    pub fn parse(s: &str) -> Option<QueueId> {
        (s.len() >= 8 && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| QueueId(s.to_ascii_lowercase()))
    }
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RET (RFC 3461 §4.3): how much of the message a failure DSN returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// The whole message.
    Full,
    /// Only the header.
    Headers,
}

/// NOTIFY (RFC 3461 §4.1): when a recipient's sender wants a DSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    /// On successful delivery.
    pub success: bool,
    /// On failure.
    pub failure: bool,
    /// On delay.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// Reads the NOTIFY parameter value (`SUCCESS,FAILURE`, `NEVER`).
    pub fn parse(s: &str) -> Option<Notify> {
        let mut n = Notify::NEVER;
        for w in s.split(',') {
            match w.trim().to_ascii_uppercase().as_str() {
                "NEVER" => {}
                "SUCCESS" => n.success = true,
                "FAILURE" => n.failure = true,
                "DELAY" => n.delay = true,
                _ => return None,
            }
        }
        Some(n)
    }

    /// The parameter value.
    pub fn to_param(self) -> String {
        let mut v = Vec::new();
        if self.success {
            v.push("SUCCESS");
        }
        if self.failure {
            v.push("FAILURE");
        }
        if self.delay {
            v.push("DELAY");
        }
        if v.is_empty() {
            "NEVER".into()
        } else {
            v.join(",")
        }
    }
}

/// A recipient as the SMTP driver queues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    /// The address given in RCPT TO.
    pub address: String,
    /// Where routing sent it.
    pub destination: Destination,
    /// ORCPT (RFC 3461 §4.2), `addr-type;xtext-decoded address`, e.g. `rfc822;bob@x.org`.
    pub orcpt: Option<String>,
    /// NOTIFY; `None` when the client gave none (failures and delays are then reported).
    pub notify: Option<Notify>,
}

/// What kind of message this is, for bounce-loop prevention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Ordinary mail.
    #[default]
    Normal,
    /// A DSN this host made: its failure goes to the postmaster (a double bounce).
    Bounce,
    /// A double bounce: its failure is dropped.
    DoubleBounce,
}

/// A message as the SMTP driver queues it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewMessage {
    /// The reverse path, empty for `<>`.
    pub sender: String,
    /// The recipients.
    pub recipients: Vec<NewRecipient>,
    /// ENVID (RFC 3461 §4.4), decoded.
    pub envid: Option<String>,
    /// RET (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// Bounce or ordinary mail.
    pub kind: Kind,
}

/// Where a recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a (first or next) attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Failed for good (a permanent error, or the queue lifetime passed).
    Failed,
}

/// A recipient in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// What the SMTP driver queued.
    pub new: NewRecipient,
    /// Its state.
    pub state: State,
    /// Attempts made.
    pub attempts: u32,
    /// When to try next.
    pub next_attempt: SystemTime,
    /// The last reply or error (the DSN's Diagnostic-Code).
    pub last_reply: Option<String>,
}

/// A queued message's envelope and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The id.
    pub id: QueueId,
    /// The reverse path, empty for `<>`.
    pub sender: String,
    /// ENVID.
    pub envid: Option<String>,
    /// RET.
    pub ret: Option<Ret>,
    /// Ordinary mail or a bounce.
    pub kind: Kind,
    /// When it was queued.
    pub arrival: SystemTime,
    /// The message size in octets.
    pub size: u64,
    /// Held (not delivered until released).
    pub held: bool,
    /// Whether a delay warning was sent.
    pub warned: bool,
    /// The recipients.
    pub recipients: Vec<Recipient>,
}

impl Envelope {
    /// Whether every recipient is done (delivered or failed).
    pub fn is_done(&self) -> bool {
        self.recipients.iter().all(|r| r.state != State::Pending)
    }
}

/// Percent-encodes bytes outside printable ASCII, `%` and space; `-` stands for empty.
fn enc(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'%' && !(b == b'-' && s.len() == 1) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn dec(s: &str) -> Option<String> {
    if s == "-" {
        return Some(String::new());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn opt(s: &Option<String>) -> String {
    match s {
        Some(v) if !v.is_empty() => format!("+{}", enc(v)),
        _ => "-".into(),
    }
}

fn unopt(s: &str) -> Option<Option<String>> {
    match s.strip_prefix('+') {
        Some(v) => Some(Some(dec(v)?)),
        None if s == "-" => Some(None),
        None => None,
    }
}

const MAGIC: &str = "mailhub-queue 1";

/// The text form of an envelope.
pub(crate) fn encode(e: &Envelope) -> String {
    let mut o = format!("{MAGIC}\nid {}\nfrom {}\n", e.id, enc(&e.sender));
    o += &format!("envid {}\n", opt(&e.envid));
    o += &format!(
        "ret {}\n",
        match e.ret {
            Some(Ret::Full) => "full",
            Some(Ret::Headers) => "hdrs",
            None => "-",
        }
    );
    o += &format!(
        "kind {}\n",
        match e.kind {
            Kind::Normal => "normal",
            Kind::Bounce => "bounce",
            Kind::DoubleBounce => "double",
        }
    );
    o += &format!(
        "arrival {}\nsize {}\nheld {}\nwarned {}\n",
        secs(e.arrival),
        e.size,
        u8::from(e.held),
        u8::from(e.warned)
    );
    for r in &e.recipients {
        o += &format!(
            "rcpt {} {} {} {} {} {} {} {}\n",
            enc(&r.new.address),
            enc(&r.new.destination.to_token()),
            opt(&r.new.orcpt),
            r.new
                .notify
                .map(|n| n.to_param())
                .unwrap_or_else(|| "-".into()),
            match r.state {
                State::Pending => "pending",
                State::Delivered => "delivered",
                State::Failed => "failed",
            },
            r.attempts,
            secs(r.next_attempt),
            opt(&r.last_reply),
        );
    }
    o + "end\n"
}

/// Reads [`encode`]'s form; `None` when it is damaged or incomplete (no `end`).
pub(crate) fn decode(text: &str) -> Option<Envelope> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut e = Envelope {
        id: QueueId(String::new()),
        sender: String::new(),
        envid: None,
        ret: None,
        kind: Kind::Normal,
        arrival: UNIX_EPOCH,
        size: 0,
        held: false,
        warned: false,
        recipients: Vec::new(),
    };
    let at = |s: &str| {
        s.parse::<u64>()
            .ok()
            .map(|v| UNIX_EPOCH + Duration::from_secs(v))
    };
    for line in lines {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "id" => e.id = QueueId::parse(v)?,
            "from" => e.sender = dec(v)?,
            "envid" => e.envid = unopt(v)?,
            "ret" => {
                e.ret = match v {
                    "full" => Some(Ret::Full),
                    "hdrs" => Some(Ret::Headers),
                    "-" => None,
                    _ => return None,
                }
            }
            "kind" => {
                e.kind = match v {
                    "normal" => Kind::Normal,
                    "bounce" => Kind::Bounce,
                    "double" => Kind::DoubleBounce,
                    _ => return None,
                }
            }
            "arrival" => e.arrival = at(v)?,
            "size" => e.size = v.parse().ok()?,
            "held" => e.held = v == "1",
            "warned" => e.warned = v == "1",
            "rcpt" => {
                let f: Vec<&str> = v.split(' ').collect();
                if f.len() != 8 {
                    return None;
                }
                e.recipients.push(Recipient {
                    new: NewRecipient {
                        address: dec(f[0])?,
                        destination: Destination::from_token(&dec(f[1])?)?,
                        orcpt: unopt(f[2])?,
                        notify: if f[3] == "-" {
                            None
                        } else {
                            Some(Notify::parse(f[3])?)
                        },
                    },
                    state: match f[4] {
                        "pending" => State::Pending,
                        "delivered" => State::Delivered,
                        "failed" => State::Failed,
                        _ => return None,
                    },
                    attempts: f[5].parse().ok()?,
                    next_attempt: at(f[6])?,
                    last_reply: unopt(f[7])?,
                });
            }
            "end" => return (!e.id.0.is_empty()).then_some(e),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_text_round_trip() {
        let e = Envelope {
            id: QueueId("0123abcd".into()),
            sender: "a b%c@x.org".into(),
            envid: Some("QQ 314159".into()),
            ret: Some(Ret::Headers),
            kind: Kind::Bounce,
            arrival: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            size: 5000,
            held: true,
            warned: false,
            recipients: vec![Recipient {
                new: NewRecipient {
                    address: "-".into(),
                    destination: Destination::Local {
                        user: "bob".into(),
                        folder: Some("x y".into()),
                    },
                    orcpt: Some("rfc822;bob@x.org".into()),
                    notify: Some(Notify {
                        success: true,
                        failure: false,
                        delay: true,
                    }),
                },
                state: State::Pending,
                attempts: 3,
                next_attempt: UNIX_EPOCH + Duration::from_secs(1_700_000_600),
                last_reply: Some("452 4.2.2 over quota\r\n".into()),
            }],
        };
        assert_eq!(decode(&encode(&e)), Some(e.clone()));
        let text = encode(&e);
        assert_eq!(
            decode(text.trim_end_matches("end\n")),
            None,
            "a torn file is refused"
        );
        assert_eq!(Notify::parse("never"), Some(Notify::NEVER));
        // Recovery reads whatever is on disk: every truncation and byte flip of a valid file
        // decodes to an envelope or to None, never a panic; a cut inside it is refused.
        for cut in 0..text.len() - 1 {
            if text.is_char_boundary(cut) {
                assert_eq!(decode(&text[..cut]), None, "cut at {cut}");
            }
        }
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            for b in [b' ', b'%', b'-', b'+', b'\n', b'z', 0xff] {
                let mut m = bytes.to_vec();
                m[i] = b;
                let _ = decode(&String::from_utf8_lossy(&m));
            }
        }
        assert_eq!(Notify::parse("SUCCESS,bogus"), None);
    }
}
