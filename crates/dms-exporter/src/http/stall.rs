//! A connection whose writes make no progress for too long fails: a client that asks for
//! `/metrics` and never reads the answer would otherwise hold its slot under the connection
//! cap for ever. Progress, not the whole answer, is timed, so a large page to a slow but
//! live reader is never cut.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

pub(super) struct WriteStallGuard<T> {
    inner: T,
    limit: Duration,
    /// Running while a write waits: since the first attempt that could not proceed.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteStallGuard<T> {
    pub(super) fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes `attempt`'s answer through, or fails once writes have waited `limit` in a row.
    fn guard<R>(
        &mut self,
        cx: &mut Context<'_>,
        attempt: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>>
    where
        T: Unpin,
    {
        if let Poll::Ready(result) = attempt(Pin::new(&mut self.inner), cx) {
            self.stalled = None;
            return Poll::Ready(result);
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(stalled.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {limit:?}"),
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteStallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteStallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, |inner, cx| inner.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .guard(cx, |inner, cx| inner.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_fails_the_write_after_the_limit() {
        let (server, mut client) = tokio::io::duplex(16);
        let mut guarded = WriteStallGuard::new(server, Duration::from_secs(60));
        let start = tokio::time::Instant::now();
        let error = guarded
            .write_all(&[b'x'; 64])
            .await
            .expect_err("nobody reads");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        let mut received = [0u8; 16];
        assert_eq!(client.read(&mut received).await.ok(), Some(16));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_served_in_full() {
        let (server, mut client) = tokio::io::duplex(16);
        let mut guarded = WriteStallGuard::new(server, Duration::from_secs(60));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut chunk = [0u8; 16];
            loop {
                // Each pause is shorter than the limit; together they are far longer.
                tokio::time::sleep(Duration::from_secs(50)).await;
                match client.read(&mut chunk).await {
                    Ok(0) | Err(_) => return total,
                    Ok(read) => total += read,
                }
            }
        });
        guarded
            .write_all(&[b'x'; 64])
            .await
            .expect("the reader keeps up");
        guarded.shutdown().await.expect("shutdown");
        drop(guarded);
        assert_eq!(reader.await.ok(), Some(64));
    }
}
