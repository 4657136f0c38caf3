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

/// Runs one session inside its tracing span and logs how it ended: the common frame of every
/// server driver's `serve`.
pub(crate) async fn in_span<T: std::fmt::Debug>(
    span: tracing::Span,
    session: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    use tracing::Instrument;
    async move {
        let r = session.await;
        match &r {
            Ok(end) => tracing::info!(?end, "session ended"),
            Err(e) => tracing::info!(error = %e, "session ended with an error"),
        }
        r
    }
    .instrument(span)
    .await
}

/// Answers a connection refused by a limit with one line, `prefix` followed by `why`, and
/// closes it. Control characters are dropped from `why`, so a reason can never end the line
/// early and inject a second reply.
pub(crate) async fn refuse_with<S: AsyncWrite + Unpin>(
    rt: &dyn Runtime,
    mut stream: S,
    prefix: &str,
    why: &str,
    limit: Duration,
) -> io::Result<()> {
    let why: String = why.chars().filter(|c| !c.is_control()).collect();
    let line = format!("{prefix} {why}\r\n");
    let r = write_all(rt, &mut stream, line.as_bytes(), limit).await;
    let _ = stream.close().await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_one_line_whatever_the_reason_holds() {
        let rt = crate::runtime::default_runtime();
        let mut out = futures::io::Cursor::new(Vec::new());
        let why = "too many\r\n250 OK injected";
        futures::executor::block_on(refuse_with(
            &*rt,
            &mut out,
            "421 4.7.0 mx",
            why,
            Duration::from_secs(5),
        ))
        .unwrap();
        assert_eq!(
            out.into_inner(),
            b"421 4.7.0 mx too many250 OK injected\r\n"
        );
    }
}
