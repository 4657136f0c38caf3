//! Command dispatch by connection state (RFC 9051 §6.1–§6.4, RFC 3501 §6.1–§6.4) and the
//! commands that need no mailbox: CAPABILITY, NOOP, LOGOUT (§6.1), STARTTLS, AUTHENTICATE,
//! LOGIN (§6.2), ENABLE (RFC 5161 §3.1), ID (RFC 2971 §3.1), IDLE (RFC 2177 §3).

use base64::Engine as _;

use super::admin::AclKind;
use super::event::{CloseReason, ServerEvent};
use super::options::is_plaintext_mechanism;
use super::search::ThreadAlg;
use super::view::Flush;
use super::{Decision, Server, State, Wait};
use crate::command::{AuthenticateData, parse_authenticate_data};
use crate::response::{Code, Continue, Data, Response, Status};
use crate::types::{Atom, IString, NString, Secret, Tag};
use crate::{Command, CommandBody};

/// Where a command may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Any,
    NotAuthenticated,
    /// Authenticated or selected.
    LoggedIn,
    /// Authenticated only (ENABLE, RFC 5161 §3.1).
    AuthenticatedOnly,
    Selected,
    /// A command this server does not offer (not announced in CAPABILITY).
    Never,
}

fn allowed(body: &CommandBody) -> Allowed {
    use CommandBody as C;
    match body {
        C::Capability | C::Noop | C::Logout | C::Id(_) => Allowed::Any,
        C::StartTls | C::Authenticate { .. } | C::Login { .. } => Allowed::NotAuthenticated,
        C::Enable(_) => Allowed::AuthenticatedOnly,
        C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::UidExpunge(_)
        | C::Search { .. }
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. }
        | C::Sort { .. }
        | C::Thread { .. } => Allowed::Selected,
        C::Compress(_) => Allowed::Never,
        // Checked against ServerOptions::unauthenticate in on_command.
        C::Unauthenticate => Allowed::LoggedIn,
        _ => Allowed::LoggedIn,
    }
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Server {
    pub(super) fn on_command(&mut self, cmd: Command) {
        let Command { tag, body } = cmd;
        let state = self.state;
        let mut allowed = allowed(&body);
        if matches!(body, CommandBody::Unauthenticate) && !self.opts.unauthenticate {
            allowed = Allowed::Never;
        }
        let refusal = match (allowed, state) {
            (Allowed::Never, _) => Some("Command not supported"),
            (Allowed::NotAuthenticated, State::Authenticated | State::Selected) => {
                Some("Already authenticated")
            }
            (Allowed::LoggedIn | Allowed::AuthenticatedOnly, State::NotAuthenticated)
            | (Allowed::Selected, State::NotAuthenticated) => Some("Not authenticated"),
            (Allowed::AuthenticatedOnly, State::Selected) => {
                Some("Not valid while a mailbox is selected")
            }
            (Allowed::Selected, State::Authenticated) => Some("No mailbox selected"),
            _ => None,
        };
        if let Some(text) = refusal {
            self.bad(Status::bad(Some(tag), None, text));
            return;
        }
        use CommandBody as C;
        self.flush = match (&body, state) {
            (_, State::NotAuthenticated | State::Authenticated | State::Logout)
            | (C::Logout, _) => None,
            (
                C::Fetch { uid: false, .. }
                | C::Store { uid: false, .. }
                | C::Search { uid: false, .. }
                | C::Sort { uid: false, .. }
                | C::Thread { uid: false, .. },
                _,
            ) => Some(Flush::NoExpunge),
            _ => Some(Flush::All),
        };
        match body {
            C::Capability => {
                let caps = self.capabilities();
                self.data(Data::Capability(caps));
                self.tagged(Status::ok(Some(tag), None, "CAPABILITY completed"));
            }
            C::Noop => self.tagged(Status::ok(Some(tag), None, "NOOP completed")),
            C::Unauthenticate => self.on_unauthenticate(tag),
            C::Check => self.tagged(Status::ok(Some(tag), None, "CHECK completed")),
            C::Select { mailbox, params } => self.on_select(tag, mailbox, &params, false),
            C::Examine { mailbox, params } => self.on_select(tag, mailbox, &params, true),
            C::Unselect => {
                self.unselect();
                self.status(Status::ok(Some(tag), None, "UNSELECT completed"));
            }
            C::Create {
                mailbox,
                special_use,
            } => self.on_create(tag, &mailbox, special_use),
            C::Delete(mailbox) => self.on_delete(tag, &mailbox),
            C::Rename { from, to } => self.on_rename(tag, &from, &to),
            C::Subscribe(mailbox) => self.on_subscribe(tag, &mailbox, true),
            C::Unsubscribe(mailbox) => self.on_subscribe(tag, &mailbox, false),
            C::List {
                selection,
                reference,
                patterns,
                return_opts,
            } => self.on_list(tag, false, &reference, &patterns, selection, return_opts),
            C::Lsub { reference, pattern } => {
                self.on_list(tag, true, &reference, &[pattern], Vec::new(), Vec::new());
            }
            C::Namespace => self.on_namespace(tag),
            C::Status { mailbox, items } => self.on_status(tag, mailbox, items),
            C::GetQuota(root) => self.on_getquota(tag, &root, None),
            C::GetQuotaRoot(mailbox) => {
                let root = crate::types::AString::from_bytes(Vec::new());
                self.on_getquota(tag, &root, Some(mailbox));
            }
            C::SetQuota { root, limits } => self.on_setquota(tag, &root, &limits),
            C::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.on_acl(
                tag,
                &mailbox,
                Some(&identifier),
                Some(&rights),
                AclKind::Set,
            ),
            C::DeleteAcl {
                mailbox,
                identifier,
            } => self.on_acl(tag, &mailbox, Some(&identifier), None, AclKind::Delete),
            C::GetAcl(mailbox) => self.on_acl(tag, &mailbox, None, None, AclKind::Get),
            C::ListRights {
                mailbox,
                identifier,
            } => self.on_acl(tag, &mailbox, Some(&identifier), None, AclKind::ListRights),
            C::MyRights(mailbox) => self.on_acl(tag, &mailbox, None, None, AclKind::MyRights),
            C::Search {
                uid,
                return_opts,
                charset,
                criteria,
            } => self.on_search(
                tag,
                uid,
                return_opts,
                charset.as_ref(),
                criteria,
                None,
                None,
            ),
            C::Sort {
                uid,
                return_opts,
                criteria,
                charset,
                search,
            } => self.on_search(
                tag,
                uid,
                return_opts,
                Some(&charset),
                search,
                Some(criteria),
                None,
            ),
            C::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => {
                let alg = if algorithm.eq_ignore_case("ORDEREDSUBJECT") {
                    ThreadAlg::OrderedSubject
                } else if algorithm.eq_ignore_case("REFERENCES") {
                    ThreadAlg::References
                } else {
                    self.bad(Status::bad(
                        Some(tag),
                        None,
                        "Unsupported threading algorithm",
                    ));
                    return;
                };
                use crate::command::{SortCriterion, SortKey};
                let by = |key| SortCriterion {
                    reverse: false,
                    key,
                };
                let criteria = vec![by(SortKey::Subject), by(SortKey::Date)];
                self.on_search(
                    tag,
                    uid,
                    None,
                    Some(&charset),
                    search,
                    Some(criteria),
                    Some(alg),
                );
            }
            C::Expunge => self.on_expunge(tag, None, false),
            C::UidExpunge(set) => self.on_expunge(tag, Some(&set), false),
            C::Close => self.on_expunge(tag, None, true),
            C::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => self.on_store(tag, uid, &set, unchanged_since, mode, silent, flags),
            C::Copy { uid, set, mailbox } => self.on_copy(tag, uid, &set, &mailbox, false),
            C::Move { uid, set, mailbox } => self.on_copy(tag, uid, &set, &mailbox, true),
            C::Fetch {
                uid,
                set,
                items,
                modifiers,
            } => self.on_fetch(tag, uid, &set, &items, &modifiers),
            C::Logout => {
                self.status(Status::bye(None, "Logging out"));
                self.status(Status::ok(Some(tag), None, "LOGOUT completed"));
                self.close(CloseReason::Logout);
            }
            C::Id(fields) => self.on_id(tag, fields),
            C::StartTls => self.on_starttls(tag),
            C::Login { username, password } => {
                if !self.plaintext_ok() {
                    let code = Some(Code::PrivacyRequired);
                    self.status(Status::no(Some(tag), code, "LOGIN needs TLS"));
                    self.count_error();
                    return;
                }
                let Ok(username) = String::from_utf8(username.as_bytes().to_vec()) else {
                    let code = Some(Code::AuthenticationFailed);
                    self.status(Status::no(Some(tag), code, "Invalid credentials"));
                    self.count_error();
                    return;
                };
                let password = Secret::new(password.expose().as_bytes().to_vec());
                self.wait = Wait::Decision(tag.clone(), Decision::Login);
                self.events.push_back(ServerEvent::Login {
                    tag,
                    username,
                    password,
                });
            }
            C::Authenticate {
                mechanism,
                initial_response,
            } => self.on_authenticate(tag, &mechanism, initial_response),
            C::Enable(caps) => self.on_enable(tag, &caps),
            C::Idle => {
                let go = Continue::Text {
                    code: None,
                    text: "idling".into(),
                };
                self.respond(&Response::Continue(go));
                self.wait = Wait::Idle(tag);
                self.events.push_back(ServerEvent::IdleStarted);
                // While idling every change is reported as it comes (RFC 2177 §3).
                if self.state == State::Selected {
                    self.flush = Some(Flush::All);
                    self.flush_view();
                }
            }
            // The mailbox commands are not served by this engine yet.
            _ => {
                let code = Some(Code::Cannot);
                self.status(Status::no(Some(tag), code, "Not implemented yet"));
            }
        }
    }

    /// UNAUTHENTICATE (RFC 8437 §3): the selected mailbox is closed without expunging, the
    /// ENABLEd extensions and the saved search are dropped, the user is forgotten; TLS stays.
    fn on_unauthenticate(&mut self, tag: Tag) {
        self.unselect();
        self.enabled.clear();
        self.user = None;
        self.state = State::NotAuthenticated;
        self.flush = None;
        // The login timer applies again from the next handle_timeout.
        self.activity = true;
        self.events.push_back(ServerEvent::Unauthenticated);
        self.status(Status::ok(Some(tag), None, "UNAUTHENTICATE completed"));
    }

    fn on_id(&mut self, tag: Tag, fields: Option<Vec<(IString, NString)>>) {
        let fields = fields.map(|f| {
            f.iter()
                .map(|(k, v)| (text_of(k.as_bytes()), v.as_bytes().map(text_of)))
                .collect()
        });
        self.events.push_back(ServerEvent::ClientId { fields });
        let ours = self.opts.id.as_ref().map(|v| {
            v.iter()
                .map(|(k, val)| {
                    let k = IString::from_bytes(k.as_bytes());
                    (k, NString::from_bytes(val.as_bytes()))
                })
                .collect()
        });
        self.data(Data::Id(ours));
        self.tagged(Status::ok(Some(tag), None, "ID completed"));
    }

    fn on_starttls(&mut self, tag: Tag) {
        if self.tls || !self.opts.starttls {
            self.bad(Status::bad(Some(tag), None, "STARTTLS not available"));
            return;
        }
        self.status(Status::ok(Some(tag), None, "Begin TLS negotiation now"));
        // Octets pipelined after STARTTLS arrived in clear text: they must not be read as
        // commands once TLS is up (command injection, RFC 9051 §11.1).
        drop(self.framer.take_buffered());
        self.wait = Wait::StartTls;
        self.events.push_back(ServerEvent::StartTls);
    }

    fn on_authenticate(&mut self, tag: Tag, mechanism: &Atom, ir: Option<Secret<Vec<u8>>>) {
        let offered = self
            .opts
            .sasl_mechanisms
            .iter()
            .any(|m| mechanism.eq_ignore_case(m));
        if !offered {
            self.status(Status::no(Some(tag), None, "Unsupported mechanism"));
            self.count_error();
            return;
        }
        if is_plaintext_mechanism(mechanism.as_str()) && !self.plaintext_ok() {
            let code = Some(Code::PrivacyRequired);
            self.status(Status::no(Some(tag), code, "Mechanism needs TLS"));
            self.count_error();
            return;
        }
        let initial_response = match ir {
            None => None,
            Some(b64) => match decode_b64(b64.expose()) {
                Some(r) => Some(r),
                None => {
                    self.bad(Status::bad(Some(tag), None, "Invalid base64"));
                    return;
                }
            },
        };
        self.wait = Wait::Decision(tag.clone(), Decision::Login);
        self.events.push_back(ServerEvent::AuthStart {
            tag,
            mechanism: mechanism.as_str().to_ascii_uppercase(),
            initial_response,
        });
    }

    /// A line during AUTHENTICATE (RFC 9051 §6.2.2): base64 or `*`.
    pub(super) fn on_auth_line(&mut self, tag: Tag, line: &[u8]) {
        let response = match parse_authenticate_data(line) {
            Ok(AuthenticateData::Continue(b64)) => decode_b64(b64.expose()),
            Ok(AuthenticateData::Cancel) => {
                self.bad(Status::bad(Some(tag), None, "Authentication cancelled"));
                self.events.push_back(ServerEvent::AuthAborted);
                return;
            }
            Err(_) => None,
        };
        match response {
            Some(response) => {
                self.wait = Wait::Decision(tag, Decision::Login);
                self.events
                    .push_back(ServerEvent::AuthResponse { response });
            }
            None => {
                self.bad(Status::bad(Some(tag), None, "Invalid base64"));
                self.events.push_back(ServerEvent::AuthAborted);
            }
        }
    }

    /// ENABLE (RFC 5161 §3.1): only what this server announces; unknown names are ignored.
    fn on_enable(&mut self, tag: Tag, caps: &[Atom]) {
        let mut known: Vec<&str> = Vec::new();
        if self.opts.imap4rev2 {
            known.push("IMAP4REV2");
        }
        if self.opts.utf8_accept {
            known.push("UTF8=ACCEPT");
        }
        if self.opts.condstore {
            known.push("CONDSTORE");
            if self.opts.qresync {
                known.push("QRESYNC");
            }
        }
        let mut newly = Vec::new();
        for c in caps {
            let Some(k) = known.iter().find(|k| c.eq_ignore_case(k)) else {
                continue;
            };
            if !self.is_enabled(k) && !newly.iter().any(|n: &String| n == k) {
                newly.push((*k).to_string());
            }
        }
        let atoms = newly
            .iter()
            .filter_map(|c| Atom::new(if c == "IMAP4REV2" { "IMAP4rev2" } else { c }).ok())
            .collect();
        self.data(Data::Enabled(atoms));
        self.tagged(Status::ok(Some(tag), None, "ENABLE completed"));
        if !newly.is_empty() {
            self.enabled.extend(newly.iter().cloned());
            // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
            if self.is_enabled("QRESYNC") {
                self.enable_condstore();
            }
            self.events.push_back(ServerEvent::Enabled {
                capabilities: newly,
            });
        }
    }
}

/// Decodes SASL base64; `=`/empty is an empty response (RFC 4959 §3).
fn decode_b64(b: &[u8]) -> Option<Secret<Vec<u8>>> {
    if b == b"=" || b.is_empty() {
        return Some(Secret::new(Vec::new()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .ok()
        .map(Secret::new)
}
