//! Timed reads and writes shared by the drivers.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::{Either, select};
use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::runtime::Runtime;

/// A session's id, unique within the process, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u64);

impl SessionId {
    /// The next id.
    pub fn next() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// The outcome of a read bounded by a deadline.
#[derive(Debug)]
pub enum Deadline<T> {
    /// The operation completed.
    Done(T),
    /// The deadline passed first.
    Expired,
}

/// Runs `fut` until it completes or `duration` passes.
pub(crate) async fn timeout<F: Future>(
    runtime: &dyn Runtime,
    duration: Duration,
    fut: F,
) -> Deadline<F::Output> {
    let fut = std::pin::pin!(fut);
    match select(fut, runtime.sleep(duration)).await {
        Either::Left((v, _)) => Deadline::Done(v),
        Either::Right(((), _)) => Deadline::Expired,
    }
}

/// Reads into `buf` until data arrives or `deadline` (if any) passes.
pub(crate) async fn read_until<S: AsyncRead + Unpin>(
    runtime: &dyn Runtime,
    stream: &mut S,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> Deadline<io::Result<usize>> {
    match deadline {
        None => Deadline::Done(stream.read(buf).await),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            timeout(runtime, left, stream.read(buf)).await
        }
    }
}

/// Writes and flushes `data`, failing with `TimedOut` when the client does not take it within
/// `limit` (a client that never reads must not hold a session forever).
pub(crate) async fn write_all<S: AsyncWrite + Unpin>(
    runtime: &dyn Runtime,
    stream: &mut S,
    data: &[u8],
    limit: Duration,
) -> io::Result<()> {
    let fut = async {
        stream.write_all(data).await?;
        stream.flush().await
    };
    match timeout(runtime, limit, fut).await {
        Deadline::Done(r) => r,
        Deadline::Expired => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "client did not read its responses",
        )),
    }
}

/// The server side of a TLS handshake (implicit TLS, or STARTTLS/STLS on a plain stream), given
/// up after `limit`.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin + Send>(
    rt: &dyn Runtime,
    limit: Duration,
    stream: crate::tls::Stream<S>,
    tls: &crate::tls::ServerTls,
) -> io::Result<crate::tls::Stream<S>> {
    match timeout(rt, limit, stream.accept(&tls.acceptor())).await {
        Deadline::Done(s) => s,
        Deadline::Expired => Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake")),
    }
}
