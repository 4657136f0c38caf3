//! QUOTA (RFC 9208 §4) and ACL (RFC 4314 §3) commands: the engine checks the arguments and
//! writes the responses; the caller keeps the quotas and the access lists.

use super::event::ServerEvent;
use super::{Decision, Server, UsageError, Wait};
use crate::response::{Code, Data, QuotaResource, Status};
use crate::types::{AString, Atom, MailboxName, Tag};

/// The rights of RFC 4314 §2.1 (with the obsolete `c` and `d` of RFC 2086, §2.1.1).
const RIGHTS: &str = "lrswipkxteacd";

fn astring_text(a: &AString) -> String {
    String::from_utf8_lossy(a.as_bytes()).into_owned()
}

fn astring(s: &str) -> AString {
    AString::from_bytes(s.as_bytes().to_vec())
}

impl Server {
    fn refuse_unless(&mut self, offered: bool, tag: &Tag) -> bool {
        if !offered {
            self.bad(Status::bad(
                Some(tag.clone()),
                None,
                "Command not supported",
            ));
        }
        !offered
    }

    fn mailbox_arg(&mut self, tag: &Tag, m: &MailboxName) -> Option<String> {
        match m.to_utf8() {
            Ok(n) => Some(super::list::canonical(
                &n,
                self.opts.delimiter.map(char::from),
            )),
            Err(_) => {
                let code = Some(Code::NonExistent);
                self.status(Status::no(Some(tag.clone()), code, "Invalid mailbox name"));
                None
            }
        }
    }

    pub(super) fn on_getquota(
        &mut self,
        tag: Tag,
        root: &AString,
        of_mailbox: Option<MailboxName>,
    ) {
        if self.refuse_unless(self.opts.quota, &tag) {
            return;
        }
        let event = match &of_mailbox {
            Some(m) => {
                let Some(name) = self.mailbox_arg(&tag, m) else {
                    return;
                };
                ServerEvent::GetQuotaRoot {
                    tag: tag.clone(),
                    mailbox: name,
                }
            }
            None => ServerEvent::GetQuota {
                tag: tag.clone(),
                root: astring_text(root),
            },
        };
        self.wait = Wait::Decision(tag, Decision::Quota(of_mailbox));
        self.events.push_back(event);
    }

    pub(super) fn on_setquota(&mut self, tag: Tag, root: &AString, limits: &[(Atom, u64)]) {
        if self.refuse_unless(self.opts.quota, &tag) {
            return;
        }
        let event = ServerEvent::SetQuota {
            tag: tag.clone(),
            root: astring_text(root),
            limits: limits
                .iter()
                .map(|(a, n)| (a.as_str().to_ascii_uppercase(), *n))
                .collect(),
        };
        self.wait = Wait::Decision(tag, Decision::Done("SETQUOTA completed"));
        self.events.push_back(event);
    }

    /// Answers [`ServerEvent::GetQuota`] (one root) or [`ServerEvent::GetQuotaRoot`] (every
    /// root of the mailbox, possibly none) with the roots and their resources.
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when no GETQUOTA/GETQUOTAROOT is pending.
    pub fn quota(&mut self, roots: &[(String, Vec<QuotaResource>)]) -> Result<(), UsageError> {
        let Some((tag, Decision::Quota(mailbox))) =
            self.take_decision(|d| matches!(d, Decision::Quota(..)))
        else {
            return Err(UsageError::NotExpected { method: "quota" });
        };
        let verb = if let Some(mailbox) = mailbox {
            self.data(Data::QuotaRoot {
                mailbox,
                roots: roots.iter().map(|(r, _)| astring(r)).collect(),
            });
            "GETQUOTAROOT completed"
        } else {
            "GETQUOTA completed"
        };
        for (root, resources) in roots {
            self.data(Data::Quota {
                root: astring(root),
                resources: resources.clone(),
            });
        }
        self.tagged(Status::ok(Some(tag), None, verb));
        Ok(())
    }

    /// SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314 §3.1–§3.5).
    pub(super) fn on_acl(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        identifier: Option<&AString>,
        rights: Option<&AString>,
        kind: AclKind,
    ) {
        if self.refuse_unless(self.opts.acl, &tag) {
            return;
        }
        let Some(name) = self.mailbox_arg(&tag, mailbox) else {
            return;
        };
        let identifier = identifier.map(astring_text).unwrap_or_default();
        let (event, decision) = match kind {
            AclKind::Set => {
                let r = rights.map(astring_text).unwrap_or_default();
                let body = r.strip_prefix(['+', '-']).unwrap_or(&r);
                if !body
                    .chars()
                    .all(|c| RIGHTS.contains(c) || c.is_ascii_digit())
                {
                    // RFC 4314 §3.1: unknown rights are an error.
                    self.bad(Status::bad(Some(tag), None, "Unknown rights"));
                    return;
                }
                let e = ServerEvent::SetAcl {
                    tag: tag.clone(),
                    mailbox: name,
                    identifier,
                    rights: r,
                };
                (e, Decision::Done("SETACL completed"))
            }
            AclKind::Delete => {
                let e = ServerEvent::DeleteAcl {
                    tag: tag.clone(),
                    mailbox: name,
                    identifier,
                };
                (e, Decision::Done("DELETEACL completed"))
            }
            AclKind::Get => {
                let e = ServerEvent::GetAcl {
                    tag: tag.clone(),
                    mailbox: name,
                };
                (e, Decision::Acl(mailbox.clone(), AclKind::Get, None))
            }
            AclKind::ListRights => {
                let e = ServerEvent::ListRights {
                    tag: tag.clone(),
                    mailbox: name,
                    identifier: identifier.clone(),
                };
                let d = Decision::Acl(mailbox.clone(), AclKind::ListRights, Some(identifier));
                (e, d)
            }
            AclKind::MyRights => {
                let e = ServerEvent::MyRights {
                    tag: tag.clone(),
                    mailbox: name,
                };
                (e, Decision::Acl(mailbox.clone(), AclKind::MyRights, None))
            }
        };
        self.wait = Wait::Decision(tag, decision);
        self.events.push_back(event);
    }

    /// Answers [`ServerEvent::GetAcl`] (`entries` of identifier and rights),
    /// [`ServerEvent::ListRights`] (`entries[0].1` the rights always granted, the rest the
    /// groups that may be granted) or [`ServerEvent::MyRights`] (`entries[0].1` the rights).
    ///
    /// # Errors
    /// [`UsageError::NotExpected`] when none of them is pending.
    pub fn acl(&mut self, entries: &[(String, String)]) -> Result<(), UsageError> {
        let Some((tag, Decision::Acl(mailbox, kind, identifier))) =
            self.take_decision(|d| matches!(d, Decision::Acl(..)))
        else {
            return Err(UsageError::NotExpected { method: "acl" });
        };
        let first = entries.first().map(|e| e.1.as_str()).unwrap_or("");
        let (data, verb) = match kind {
            AclKind::ListRights => (
                Data::ListRights {
                    mailbox,
                    identifier: astring(&identifier.unwrap_or_default()),
                    required: astring(first),
                    optional: entries.iter().skip(1).map(|e| astring(&e.1)).collect(),
                },
                "LISTRIGHTS completed",
            ),
            AclKind::MyRights => (
                Data::MyRights {
                    mailbox,
                    rights: astring(first),
                },
                "MYRIGHTS completed",
            ),
            _ => (
                Data::Acl {
                    mailbox,
                    entries: entries
                        .iter()
                        .map(|(i, r)| (astring(i), astring(r)))
                        .collect(),
                },
                "GETACL completed",
            ),
        };
        self.data(data);
        self.tagged(Status::ok(Some(tag), None, verb));
        Ok(())
    }
}

/// Which ACL command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AclKind {
    Set,
    Delete,
    Get,
    ListRights,
    MyRights,
}
