//! The spool on disk and its crash rules.
//!
//! ```text
//! <root>/tmp/<id>.data   message being received
//! <root>/tmp/<id>.env.N  envelope being written
//! <root>/data/<id>       message, complete and fsynced
//! <root>/env/<id>        envelope: its presence is the commit
//! <root>/corrupt/        envelopes recovery could not read, kept for a human
//! ```
//!
//! Commit order: the message file is fsynced, renamed into `data/` and `data/` is fsynced;
//! then the envelope is written to `tmp/`, fsynced, renamed into `env/` and `env/` is fsynced.
//! Only then may the SMTP driver answer 250. A crash before the last rename leaves an orphan
//! (removed at recovery: the client got no 250 and will retry); a crash after it leaves a
//! queued message the client may send again (at most a duplicate, never a loss). Updates
//! replace the envelope the same way; a finished message loses its envelope first, then its
//! data. All functions here block; the queue calls them through the runtime's blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::envelope::{Envelope, QueueId, decode, encode};

/// The spool's directories.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    root: PathBuf,
    pub(crate) fsync: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Eight hex digits naming this run of the process: random, so that a restarted hub (even
/// one that got the same pid, as pid 1 in a container) never takes a previous run's ids for
/// its own.
pub(crate) fn run_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is seeded from the OS's random source once per process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        format!("{:08x}", h.finish() as u32)
    })
}

impl Spool {
    pub(crate) fn open(root: &Path, fsync: bool) -> io::Result<Spool> {
        for d in ["tmp", "data", "env", "corrupt"] {
            fs::create_dir_all(root.join(d))?;
        }
        Ok(Spool {
            root: root.to_owned(),
            fsync,
        })
    }

    /// A fresh id: time, this process run's tag ([`QueueId::is_from_this_run`]) and a
    /// counter, so two processes on one spool (a restart racing an old instance) never
    /// collide.
    pub(crate) fn new_id(&self, now_nanos: u128) -> QueueId {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        QueueId(format!(
            "{:016x}{}{:04x}",
            now_nanos as u64,
            run_tag(),
            n & 0xffff
        ))
    }

    pub(crate) fn tmp_data(&self, id: &QueueId) -> PathBuf {
        self.root.join("tmp").join(format!("{id}.data"))
    }

    pub(crate) fn data(&self, id: &QueueId) -> PathBuf {
        self.root.join("data").join(id.as_str())
    }

    fn env(&self, id: &QueueId) -> PathBuf {
        self.root.join("env").join(id.as_str())
    }

    fn sync_dir(&self, dir: &str) -> io::Result<()> {
        if self.fsync {
            File::open(self.root.join(dir))?.sync_all()?;
        }
        Ok(())
    }

    /// Creates the file a message is received into.
    pub(crate) fn create_tmp(&self, id: &QueueId) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.tmp_data(id))
    }

    /// Commits a received message: see the module docs for the order.
    pub(crate) fn commit(&self, file: File, env: &Envelope) -> io::Result<()> {
        if self.fsync {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(self.tmp_data(&env.id), self.data(&env.id))?;
        self.sync_dir("data")?;
        self.write_env(env)
    }

    /// Writes (or replaces) an envelope atomically.
    pub(crate) fn write_env(&self, env: &Envelope) -> io::Result<()> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self.root.join("tmp").join(format!("{}.env.{n}", env.id));
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(encode(env).as_bytes())?;
        if self.fsync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, self.env(&env.id))?;
        self.sync_dir("env")
    }

    /// Removes a message: envelope first (the commit point), then the data.
    pub(crate) fn remove(&self, id: &QueueId) -> io::Result<()> {
        match fs::remove_file(self.env(id)) {
            Ok(()) => self.sync_dir("env")?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::remove_file(self.data(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Recovery: reads every committed envelope, removes what no 250 covered (temporary
    /// files, data without an envelope), sets damaged envelopes aside.
    pub(crate) fn recover(&self) -> io::Result<(Vec<Envelope>, RecoveryReport)> {
        let mut report = RecoveryReport::default();
        for e in fs::read_dir(self.root.join("tmp"))? {
            fs::remove_file(e?.path())?;
            report.removed_tmp += 1;
        }
        let mut envs = Vec::new();
        for e in fs::read_dir(self.root.join("env"))? {
            let path = e?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let parsed = fs::read_to_string(&path).ok().and_then(|t| decode(&t));
            match parsed {
                Some(env) if env.id.as_str() == name && self.data(&env.id).is_file() => {
                    envs.push(env)
                }
                _ => {
                    fs::rename(&path, self.root.join("corrupt").join(&name))?;
                    report.corrupt += 1;
                }
            }
        }
        for e in fs::read_dir(self.root.join("data"))? {
            let path = e?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !envs.iter().any(|v| v.id.as_str() == name) {
                fs::remove_file(&path)?;
                report.removed_orphans += 1;
            }
        }
        self.sync_dir("env")?;
        self.sync_dir("data")?;
        envs.sort_by(|a, b| a.id.cmp(&b.id));
        report.recovered = envs.len();
        Ok((envs, report))
    }
}

/// What recovery found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Messages back in the queue.
    pub recovered: usize,
    /// Temporary files removed (messages never acknowledged).
    pub removed_tmp: usize,
    /// Message files without an envelope removed (never acknowledged).
    pub removed_orphans: usize,
    /// Envelopes that could not be read, moved to `corrupt/`.
    pub corrupt: usize,
}
