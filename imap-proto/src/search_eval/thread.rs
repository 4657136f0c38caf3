//! THREAD=REFERENCES (RFC 5256 §3, the REFERENCES algorithm, steps 1–6): messages linked
//! by their Message-ID, References and In-Reply-To fields, dummy parents pruned, threads with
//! the same base subject (§2.1) gathered, siblings ordered by sent date (§2.2).
//!
//! The input is plain data ([`ThreadMessage`]), read from a message with
//! [`ThreadMessage::from_content`]; the output is the [`Thread`] list of the `THREAD`
//! response. Memory is linear in the messages and their references.

use std::collections::HashMap;
use std::num::NonZeroU32;

use super::Content;
use super::sort::base_subject_and_reply;
use crate::response::Thread;
use crate::types::DateTime;

/// What REFERENCES needs of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMessage {
    /// The number to answer with: the sequence number, or the UID for UID THREAD.
    pub id: NonZeroU32,
    /// The normalized Message-ID, if the message has a valid one.
    pub message_id: Option<String>,
    /// The references (RFC 5256 §3: the References field's IDs, else the first ID of
    /// In-Reply-To), normalized, oldest first.
    pub references: Vec<String>,
    /// The subject, decoded.
    pub subject: String,
    /// The sent date (RFC 5256 §2.2), Unix seconds: the Date field in UTC, else the
    /// internal date.
    pub sent: i64,
}

/// The msg-ids of a field value, normalized (RFC 5256 §3: `<"a"@b>` and `<a@b>` are the
/// same ID): brackets, quotes, backslashes and white space dropped. Only IDs with an `@`
/// count as valid.
fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(len) = rest[open + 1..].find('>') else {
            break;
        };
        let raw = &rest[open + 1..open + 1 + len];
        let id: String = raw
            .chars()
            .filter(|c| !matches!(c, '"' | '\\') && !c.is_whitespace())
            .collect();
        if !id.is_empty() && id.contains('@') {
            out.push(id);
        }
        rest = &rest[open + 1 + len + 1..];
    }
    out
}

impl ThreadMessage {
    /// Reads the fields from a parsed message; `internal_date` stands in for a missing or
    /// broken Date field.
    #[must_use]
    pub fn from_content(id: NonZeroU32, content: &Content<'_>, internal_date: DateTime) -> Self {
        let msg = content.msg.as_ref();
        let raw = |name: &'static str| msg.and_then(|m| m.header_raw(name)).unwrap_or_default();
        let message_id = msg_ids(raw("Message-ID")).into_iter().next();
        let mut references = msg_ids(raw("References"));
        if references.is_empty() {
            references = msg_ids(raw("In-Reply-To")).into_iter().take(1).collect();
        }
        ThreadMessage {
            id,
            message_id,
            references,
            subject: msg
                .and_then(|m| m.subject())
                .unwrap_or_default()
                .to_string(),
            sent: msg
                .and_then(|m| m.date())
                .map_or(internal_date.unix_timestamp(), |d| d.to_timestamp()),
        }
    }
}

/// A node of the thread tree: a message or a dummy.
#[derive(Debug, Default)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Tree<'a> {
    msgs: &'a [ThreadMessage],
    nodes: Vec<Node>,
}

impl Tree<'_> {
    fn add(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            ..Node::default()
        });
        self.nodes.len() - 1
    }

    /// Whether `a` is `b` or below it.
    fn is_under(&self, mut a: usize, b: usize) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.nodes[a].parent {
                Some(p) => a = p,
                None => return false,
            }
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    /// Makes `parent` the parent of `child` unless that makes a loop.
    fn link(&mut self, parent: usize, child: usize) {
        if self.is_under(parent, child) {
            return;
        }
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    /// The sort key of a node (§2.2; a dummy sorts by its first child, step 4/6): sent
    /// date, then position in the mailbox.
    fn key(&self, n: usize) -> (i64, usize) {
        match self.nodes[n].msg {
            Some(m) => (self.msgs[m].sent, m),
            None => self.nodes[n]
                .children
                .first()
                .map_or((i64::MIN, 0), |&c| self.key(c)),
        }
    }

    fn sort(&mut self, list: &mut [usize]) {
        list.sort_by_key(|&n| self.key(n));
    }

    /// Step 3, below one level: dummies without children go, dummies with children are
    /// replaced by them (at the top only if there is one).
    fn prune(&mut self, list: Vec<usize>, top: bool) -> Vec<usize> {
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            let kids = std::mem::take(&mut self.nodes[n].children);
            let kids = self.prune(kids, false);
            if self.nodes[n].msg.is_none() && (!top || kids.len() <= 1) {
                for &k in &kids {
                    self.nodes[k].parent = self.nodes[n].parent;
                }
                out.extend(kids);
            } else {
                for &k in &kids {
                    self.nodes[k].parent = Some(n);
                }
                self.nodes[n].children = kids;
                out.push(n);
            }
        }
        out
    }

    /// The subject of a thread (step 5.B.i) and whether its message is a reply.
    fn subject(&self, n: usize) -> (String, bool) {
        let m = match self.nodes[n].msg {
            Some(m) => m,
            None => match self.nodes[n]
                .children
                .first()
                .and_then(|&c| self.nodes[c].msg)
            {
                Some(m) => m,
                None => return (String::new(), false),
            },
        };
        base_subject_and_reply(&self.msgs[m].subject)
    }

    /// Step 6: every sibling list sorted, the deepest first.
    fn sort_all(&mut self, n: usize) {
        let mut kids = std::mem::take(&mut self.nodes[n].children);
        for &k in &kids {
            self.sort_all(k);
        }
        self.sort(&mut kids);
        self.nodes[n].children = kids;
    }

    fn to_thread(&self, n: usize) -> Thread {
        let mut members = Vec::new();
        let mut at = n;
        if self.nodes[at].msg.is_none() && self.nodes[at].children.len() == 1 {
            at = self.nodes[at].children[0];
        }
        loop {
            if let Some(m) = self.nodes[at].msg {
                members.push(self.msgs[m].id);
            }
            match self.nodes[at].children.as_slice() {
                [only] if self.nodes[at].msg.is_some() => at = *only,
                kids => {
                    return Thread {
                        members,
                        children: kids.iter().map(|&k| self.to_thread(k)).collect(),
                    };
                }
            }
        }
    }
}

/// THREAD=REFERENCES over `msgs`, given in mailbox order (which breaks ties of sent dates).
#[must_use]
pub fn references(msgs: &[ThreadMessage]) -> Vec<Thread> {
    let mut tree = Tree {
        msgs,
        nodes: Vec::with_capacity(msgs.len() * 2),
    };
    let mut ids: HashMap<&str, usize> = HashMap::new();
    // Step 1.
    for (i, m) in msgs.iter().enumerate() {
        // A missing or repeated Message-ID gets a unique one: a node of its own, not in the
        // table.
        let me = match m.message_id.as_deref() {
            Some(id) => match ids.get(id) {
                Some(&n) if tree.nodes[n].msg.is_none() => {
                    tree.nodes[n].msg = Some(i);
                    n
                }
                Some(_) => tree.add(Some(i)),
                None => {
                    let n = tree.add(Some(i));
                    ids.insert(id, n);
                    n
                }
            },
            None => tree.add(Some(i)),
        };
        // 1.A: the chain of references, existing parents kept.
        let mut prev: Option<usize> = None;
        for r in &m.references {
            let n = match ids.get(r.as_str()) {
                Some(&n) => n,
                None => {
                    let n = tree.add(None);
                    ids.insert(r, n);
                    n
                }
            };
            if let Some(p) = prev
                && p != n
                && tree.nodes[n].parent.is_none()
            {
                tree.link(p, n);
            }
            prev = Some(n);
        }
        // 1.B: the last reference is the parent, replacing any other.
        match prev {
            // `link` refuses a loop (a reference to itself or to a reply of its own).
            Some(p) => tree.link(p, me),
            None => tree.unlink(me),
        }
    }
    // Step 2.
    let roots: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.nodes[n].parent.is_none())
        .collect();
    // Step 3.
    let mut roots = tree.prune(roots, true);
    for &r in &roots {
        tree.nodes[r].parent = None;
    }
    // Step 4 (dummies' children first, so their first child is the earliest).
    for &r in &roots {
        if tree.nodes[r].msg.is_none() {
            let mut kids = std::mem::take(&mut tree.nodes[r].children);
            tree.sort(&mut kids);
            tree.nodes[r].children = kids;
        }
    }
    tree.sort(&mut roots);
    // Step 5.
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &roots {
        let (subject, reply) = tree.subject(r);
        if subject.is_empty() {
            continue;
        }
        match table.get(&subject) {
            None => {
                table.insert(subject, r);
            }
            Some(&t) => {
                let t_dummy = tree.nodes[t].msg.is_none();
                let t_reply = tree.subject(t).1;
                if !t_dummy && (tree.nodes[r].msg.is_none() || (t_reply && !reply)) {
                    table.insert(subject, r);
                }
            }
        }
    }
    let mut deleted = std::collections::HashSet::new();
    let mut dummies = Vec::new();
    for &r in &roots {
        // A root already merged (put under another, or wrapped in a new dummy) is done.
        if tree.nodes[r].parent.is_some() {
            continue;
        }
        let (subject, reply) = tree.subject(r);
        let Some(&t) = table.get(&subject) else {
            continue;
        };
        if subject.is_empty() || t == r {
            continue;
        }
        let (t_dummy, r_dummy) = (tree.nodes[t].msg.is_none(), tree.nodes[r].msg.is_none());
        if t_dummy && r_dummy {
            for k in std::mem::take(&mut tree.nodes[r].children) {
                tree.nodes[k].parent = None;
                tree.link(t, k);
            }
            deleted.insert(r);
        } else if t_dummy || (reply && !tree.subject(t).1) {
            tree.link(t, r);
        } else {
            let d = tree.add(None);
            tree.link(d, t);
            tree.link(d, r);
            table.insert(subject, d);
            dummies.push(d);
        }
    }
    roots.extend(dummies);
    roots.retain(|n| tree.nodes[*n].parent.is_none() && !deleted.contains(n));
    // Step 6.
    for &r in &roots {
        tree.sort_all(r);
    }
    tree.sort(&mut roots);
    roots.iter().map(|&r| tree.to_thread(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u32, mid: &str, refs: &[&str], subject: &str, sent: i64) -> ThreadMessage {
        ThreadMessage {
            id: NonZeroU32::new(id).unwrap(),
            message_id: (!mid.is_empty()).then(|| mid.to_string()),
            references: refs.iter().map(|s| (*s).to_string()).collect(),
            subject: subject.into(),
            sent,
        }
    }

    fn text(threads: &[Thread]) -> String {
        let r = crate::Response::Data(crate::response::Data::Thread(threads.to_vec()));
        String::from_utf8(r.to_bytes()).unwrap()
    }

    #[test]
    fn ids_are_normalized() {
        assert_eq!(
            msg_ids("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com> <bad> x <a@b>"),
            vec!["01KF8JCEOCBS0045PS@xxx.yyy.com", "a@b"]
        );
    }

    #[test]
    fn replies_nest_and_missing_parents_become_dummies() {
        let msgs = [
            m(1, "a@x", &[], "Lunch", 10),
            m(2, "b@x", &["a@x"], "Re: Lunch", 20),
            m(3, "c@x", &["a@x"], "Re: Lunch", 30),
            m(4, "d@x", &["a@x", "c@x"], "Re: Lunch", 40),
            // Two replies to a message not in the mailbox: a dummy parent kept at the top.
            m(5, "e@x", &["gone@x"], "Other", 50),
            m(6, "f@x", &["gone@x"], "Re: Other", 45),
            // A reply to a missing message alone: promoted.
            m(7, "g@x", &["lost@x"], "Third", 5),
        ];
        assert_eq!(
            text(&references(&msgs)),
            "* THREAD (7)(1 (2)(3 4))((6)(5))\r\n"
        );
    }

    #[test]
    fn same_subject_threads_are_gathered() {
        let msgs = [
            m(1, "a@x", &[], "Plans", 10),
            m(2, "", &[], "Re: Plans", 20),
            m(3, "c@x", &[], "plans", 30),
            m(4, "d@x", &[], "Different", 5),
        ];
        // 2 is a reply: it goes under 1. 3 is not: 1 and 3 go under a new dummy.
        assert_eq!(text(&references(&msgs)), "* THREAD (4)((1 2)(3))\r\n");
    }

    #[test]
    fn loops_and_duplicate_ids_do_not_hang() {
        let msgs = [
            m(1, "a@x", &["b@x"], "x", 1),
            m(2, "b@x", &["a@x"], "y", 2),
            m(3, "a@x", &["a@x", "a@x"], "z", 3),
        ];
        let out = text(&references(&msgs));
        for n in ["1", "2", "3"] {
            assert!(out.contains(n), "{out}");
        }
    }
}
