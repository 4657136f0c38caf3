//! What the drivers need from an async runtime, as a trait the embedder provides.
//!
//! This crate runs on any executor (tokio, smol, async-std, a hand-made one): it never spawns
//! tasks and never names a runtime. It needs only two services, which [`Runtime`] names:
//!
//! - **blocking work**: Maildir and mbox stores read and write files, and password hashes
//!   (Argon2, SHA-512-crypt, PBKDF2 for SCRAM) take milliseconds of CPU. Doing either on an
//!   executor thread stalls every other session on it, so stores and the authenticator hand such
//!   work to [`Runtime::spawn_blocking`] and await the result ([`unblock`]);
//! - **timers**: idle timeouts and the delay after a failed login ([`Runtime::sleep`]).
//!
//! [`DefaultRuntime`] needs no set-up: blocking work goes to the `blocking` crate's thread
//! pool (threads made on demand, up to 500, idle ones retire after a second) and timers to
//! `futures-timer` (one helper thread for all timers). A tokio server can use it as it is, or
//! implement the trait with `tokio::task::spawn_blocking` and `tokio::time::sleep`:
//!
//! ```
//! use std::time::Duration;
//! use mailhub_mta_core::runtime::{BlockingJob, BoxFuture, Runtime};
//!
//! struct Tokio(tokio::runtime::Handle);
//!
//! impl Runtime for Tokio {
//!     fn spawn_blocking(&self, job: BlockingJob) {
//!         drop(self.0.spawn_blocking(job));
//!     }
//!     fn sleep(&self, duration: Duration) -> BoxFuture<()> {
//!         Box::pin(tokio::time::sleep(duration))
//!     }
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, as [`Runtime::sleep`] returns it.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A unit of blocking work for [`Runtime::spawn_blocking`].
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

/// The runtime services the drivers and stores use.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `job` where it may block (a thread pool), not on an executor thread. The job must
    /// run eventually, even if nobody polls anything else; it reports its result itself.
    fn spawn_blocking(&self, job: BlockingJob);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;
}

/// The runtime-agnostic default: the `blocking` crate's pool and `futures-timer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRuntime;

impl Runtime for DefaultRuntime {
    fn spawn_blocking(&self, job: BlockingJob) {
        // The task runs on the pool whether or not the handle is awaited.
        blocking::unblock(job).detach();
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(futures_timer::Delay::new(duration))
    }
}

/// A shared runtime handle.
pub type SharedRuntime = Arc<dyn Runtime>;

/// The default runtime, shared.
pub fn default_runtime() -> SharedRuntime {
    Arc::new(DefaultRuntime)
}

/// Runs `f` through [`Runtime::spawn_blocking`] and awaits its result.
///
/// If the job panics, the panic is re-raised here, in the awaiting task, so a bug in a store
/// behaves as it would have without the pool.
pub async fn unblock<T, F>(runtime: &dyn Runtime, f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = futures::channel::oneshot::channel();
    runtime.spawn_blocking(Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(result);
    }));
    match rx.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // The runtime dropped the job without running it: a broken Runtime implementation.
        Err(_) => panic!("Runtime::spawn_blocking dropped a job without running it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unblock_returns_the_value_and_sleep_completes() {
        let rt = DefaultRuntime;
        let v = futures::executor::block_on(unblock(&rt, || 6 * 7));
        assert_eq!(v, 42);
        futures::executor::block_on(rt.sleep(Duration::from_millis(1)));
    }

    #[test]
    fn a_panicking_job_panics_in_the_caller() {
        let rt = DefaultRuntime;
        let r = std::panic::catch_unwind(|| {
            futures::executor::block_on(unblock(&rt, || -> u8 { panic!("boom") }))
        });
        assert!(r.is_err());
    }
}
