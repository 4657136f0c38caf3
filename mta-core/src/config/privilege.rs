//! `[server] run_as`: started as root, the hub binds its listeners, hands what it made in the
//! data directory to an unprivileged user, and becomes that user before it touches any mail —
//! the least-privilege split of qmail and Postfix, where only the code that must bind port 25
//! ever runs as root.
//!
//! The order, in `Hub::start`:
//!
//! 1. [`RunAs::lookup`] finds the user (getpwnam) and decides: root → drop; already that
//!    user → nothing to do; anyone else → [`PrivilegeError::NotRoot`].
//! 2. [`claim_data_dir`]: a missing data directory is created for the user; an existing one
//!    must already belong to it ([`PrivilegeError::NotUsable`] otherwise, with the `chown`
//!    to run). Which of the files `prepare` makes exist is noted.
//! 3. `prepare` (certificate, users file, folders) and every `bind`, still as root. A
//!    certificate and key outside the data directory are read into memory here, so they
//!    can stay readable by root only.
//! 4. [`hand_over`] chowns what step 3 created, and only that (never a file the
//!    administrator made), then [`drop_to`] calls setgroups, setgid and setuid and checks
//!    the result: real, effective and saved ids of every thread are the user's, and
//!    `setuid(0)` fails.
//! 5. [`check_usable`] proves the user can write the data, store and queue folders and read
//!    the users file before anything else starts: a clear error, not a failed delivery
//!    later.
//!
//! Why `nix` (libc) and not a raw syscall: Linux credentials are per thread, and the hub runs
//! on a multi-threaded tokio runtime whose workers (and blocking pool) already exist when the
//! listeners are bound. A raw `setuid` syscall (rustix's `thread::set_thread_res_uid`) would
//! change the calling thread only and leave the others root. glibc's and musl's `setuid`,
//! `setgid` and `setgroups` apply the change to every thread of the process (glibc signals
//! each thread to make the same syscall, "setxid"), which is what POSIX requires; nix calls
//! them. Dropping before the runtime starts would also work but would move binding out of
//! `Hub::start` into every embedder's `main`. [`drop_to`] then reads
//! `/proc/self/task/*/status` to verify that no thread kept root.

use std::io;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User};

use super::Config;

/// Why the hub could not switch to `run_as`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivilegeError {
    /// The user does not exist.
    #[error("run_as: no user named {user:?}")]
    NoSuchUser {
        /// The name in `run_as`.
        user: String,
    },
    /// The user database could not be read.
    #[error("run_as: looking up {user:?}: {source}")]
    Lookup {
        /// The name in `run_as`.
        user: String,
        /// Why.
        source: io::Error,
    },
    /// `run_as` names root, which would drop nothing.
    #[error("run_as: {user:?} is root (uid 0); name an unprivileged user")]
    IsRoot {
        /// The name in `run_as`.
        user: String,
    },
    /// Started as neither root nor the `run_as` user: there is no way to become it.
    #[error(
        "run_as = {user:?} (uid {want}) needs the hub to start as root or as that user; it runs as uid {uid}"
    )]
    NotRoot {
        /// The name in `run_as`.
        user: String,
        /// Its uid.
        want: u32,
        /// The uid the hub runs as.
        uid: u32,
    },
    /// A folder or file the user needs is not usable by it.
    #[error("{path}: not usable by {user}: {message}")]
    NotUsable {
        /// The folder or file.
        path: PathBuf,
        /// The user.
        user: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A system call of the switch failed.
    #[error("run_as: {step} failed: {source}")]
    Switch {
        /// `setgroups`, `setgid`, `setuid` or `chown`.
        step: &'static str,
        /// Why.
        source: io::Error,
    },
    /// After the switch the process (or one of its threads) still holds root.
    #[error("run_as: privileges were not dropped: {0}")]
    StillPrivileged(String),
}

/// The user `run_as` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
}

impl RunAs {
    /// Finds `name` in the user database. Root is refused: dropping to it drops nothing.
    pub fn lookup(name: &str) -> Result<RunAs, PrivilegeError> {
        let user = User::from_name(name)
            .map_err(|e| PrivilegeError::Lookup {
                user: name.to_owned(),
                source: e.into(),
            })?
            .ok_or_else(|| PrivilegeError::NoSuchUser {
                user: name.to_owned(),
            })?;
        if user.uid.is_root() {
            return Err(PrivilegeError::IsRoot {
                user: name.to_owned(),
            });
        }
        Ok(RunAs {
            name: name.to_owned(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    /// Whether the process must switch: `true` as root, `false` when it already is this
    /// user, an error as anyone else.
    pub fn needs_switch(&self) -> Result<bool, PrivilegeError> {
        let euid = nix::unistd::geteuid();
        if euid.is_root() {
            return Ok(true);
        }
        if euid.as_raw() == self.uid && nix::unistd::getuid().as_raw() == self.uid {
            return Ok(false);
        }
        Err(PrivilegeError::NotRoot {
            user: self.name.clone(),
            want: self.uid,
            uid: euid.as_raw(),
        })
    }
}

/// What `prepare` may create, to hand over to the user afterwards.
#[derive(Debug, Default)]
pub(crate) struct Created(Vec<PathBuf>);

fn candidates(config: &Config) -> Vec<PathBuf> {
    let data = &config.server.data_dir;
    let mut v = vec![
        config.path(&config.store.path),
        config.path(&config.queue.path),
        config.path(&config.auth.users_file),
        data.join("demo-password"),
    ];
    if config.tls.cert.is_none() {
        let tls = data.join("tls");
        v.extend([tls.join("cert.pem"), tls.join("key.pem"), tls]);
    }
    v
}

fn unusable(path: &Path, user: &RunAs, message: String) -> PrivilegeError {
    PrivilegeError::NotUsable {
        path: path.to_owned(),
        user: user.name.clone(),
        message,
    }
}

/// Before `prepare`, as root: creates a missing data directory for `user`, or checks that
/// an existing one is the user's; notes which files `prepare` will have to create.
pub(crate) fn claim_data_dir(config: &Config, user: &RunAs) -> Result<Created, PrivilegeError> {
    use std::os::unix::fs::MetadataExt;
    let data = &config.server.data_dir;
    match std::fs::metadata(data) {
        Ok(m) if !m.is_dir() => {
            return Err(unusable(data, user, "not a directory".into()));
        }
        Ok(m) if m.uid() != user.uid => {
            return Err(unusable(
                data,
                user,
                format!(
                    "the data directory belongs to uid {}, not to {} (uid {}); run `chown -R {} {}` or choose another data_dir",
                    m.uid(),
                    user.name,
                    user.uid,
                    user.name,
                    data.display()
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data).map_err(|e| unusable(data, user, e.to_string()))?;
            chown(data, user)?;
        }
        Err(e) => return Err(unusable(data, user, e.to_string())),
    }
    Ok(Created(
        candidates(config)
            .into_iter()
            .filter(|p| std::fs::symlink_metadata(p).is_err())
            .collect(),
    ))
}

fn chown(path: &Path, user: &RunAs) -> Result<(), PrivilegeError> {
    // lchown: a symlink planted in the data directory must not give away its target.
    std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid)).map_err(|source| {
        PrivilegeError::Switch {
            step: "chown",
            source: io::Error::new(source.kind(), format!("{}: {source}", path.display())),
        }
    })
}

/// After `prepare`, as root: gives `user` what `prepare` created (and nothing else).
pub(crate) fn hand_over(created: &Created, user: &RunAs) -> Result<(), PrivilegeError> {
    for p in &created.0 {
        if std::fs::symlink_metadata(p).is_ok() {
            chown(p, user)?;
        }
    }
    Ok(())
}

/// Becomes `user` for good: supplementary groups reduced to its primary group, then gid,
/// then uid (in that order: after setuid there is no right left to change groups). Every
/// call goes through libc so that every thread changes (see the module doc); the result is
/// verified.
pub(crate) fn drop_to(user: &RunAs) -> Result<(), PrivilegeError> {
    let (uid, gid) = (Uid::from_raw(user.uid), Gid::from_raw(user.gid));
    let step = |step: &'static str| {
        move |e: nix::Error| PrivilegeError::Switch {
            step,
            source: e.into(),
        }
    };
    nix::unistd::setgroups(&[gid]).map_err(step("setgroups"))?;
    nix::unistd::setgid(gid).map_err(step("setgid"))?;
    nix::unistd::setuid(uid).map_err(step("setuid"))?;
    verify(user)?;
    tracing::info!(user = %user.name, uid = user.uid, gid = user.gid, "privileges dropped");
    Ok(())
}

/// Checks that no way back to root is left.
fn verify(user: &RunAs) -> Result<(), PrivilegeError> {
    let fail = |m: String| Err(PrivilegeError::StillPrivileged(m));
    let (r, e) = (nix::unistd::getuid(), nix::unistd::geteuid());
    if r.as_raw() != user.uid || e.as_raw() != user.uid {
        return fail(format!("uid {r}, euid {e}"));
    }
    if nix::unistd::getegid().as_raw() != user.gid || nix::unistd::getgid().as_raw() != user.gid {
        return fail("the group was not changed".into());
    }
    // Supplementary groups (root's, or the disk group...) would be a way into files too.
    match nix::unistd::getgroups() {
        Ok(g) if g.iter().all(|g| g.as_raw() == user.gid) => {}
        Ok(g) => return fail(format!("supplementary groups {g:?}")),
        Err(e) => return fail(format!("getgroups: {e}")),
    }
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return fail("setuid(0) succeeded".into());
    }
    #[cfg(target_os = "linux")]
    {
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| PrivilegeError::StillPrivileged(format!("/proc/self/task: {e}")))?;
        for t in tasks.flatten() {
            let status = match std::fs::read_to_string(t.path().join("status")) {
                Ok(s) => s,
                // A thread that ended between the listing and the read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return fail(format!("{}: {e}", t.path().display())),
            };
            for key in ["Uid:", "Gid:"] {
                let want = if key == "Uid:" { user.uid } else { user.gid };
                let ids = status_ids(&status, key);
                // Real, effective, saved and file-system ids.
                if ids.len() != 4 || ids.iter().any(|&i| i != want) {
                    return fail(format!(
                        "thread {}: {key} {ids:?}",
                        t.file_name().to_string_lossy()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The ids on a `/proc/<pid>/status` line (`Uid:\t1\t1\t1\t1`).
pub(crate) fn status_ids(status: &str, key: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// As the user: the data, store and queue folders take a new file and the users file reads,
/// or the start stops here with what to fix.
pub(crate) fn check_usable(config: &Config, user: &RunAs) -> Result<(), PrivilegeError> {
    let fix = |p: &Path, e: io::Error| {
        unusable(
            p,
            user,
            format!(
                "{e}; give it to the user (`chown -R {} {}`) and check every parent folder lets it through",
                user.name,
                p.display()
            ),
        )
    };
    for dir in [
        config.server.data_dir.clone(),
        config.path(&config.store.path),
        config.path(&config.queue.path),
    ] {
        let probe = dir.join(format!(".run_as-probe.{}", std::process::id()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(|e| fix(&dir, e))?;
        std::fs::remove_file(&probe).map_err(|e| fix(&dir, e))?;
    }
    let users = config.path(&config.auth.users_file);
    std::fs::File::open(&users).map_err(|e| fix(&users, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s = "Name:\tx\nUid:\t65534\t65534\t65534\t65534\nGid:\t1\t2\t3\t4\n";
        assert_eq!(status_ids(s, "Uid:"), vec![65534; 4]);
        assert_eq!(status_ids(s, "Gid:"), vec![1, 2, 3, 4]);
        assert!(status_ids(s, "Groups:").is_empty());
    }

    #[test]
    fn root_and_unknown_users_are_refused() {
        assert!(matches!(
            RunAs::lookup("root"),
            Err(PrivilegeError::IsRoot { .. })
        ));
        assert!(matches!(
            RunAs::lookup("no-such-user-mailhub"),
            Err(PrivilegeError::NoSuchUser { .. })
        ));
    }
}
