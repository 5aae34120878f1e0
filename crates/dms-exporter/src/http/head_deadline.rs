//! The request head deadline, told apart from the keep-alive idle time (as Go's
//! `ReadHeaderTimeout` and `IdleTimeout`): a head must be complete within the deadline of
//! its first byte (of the accept, on a new connection), while a kept-alive connection may
//! wait longer, up to hyper's timer, for that first byte.
//!
//! The connection's reads arm the deadline; its service disarms it when a head has been
//! parsed, and a request counts as in flight until its response body is dropped (sent), so
//! bytes read meanwhile (a request body) never arm it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What a connection's service tells its reads.
#[derive(Default)]
pub(super) struct Requests {
    /// Heads parsed so far on this connection.
    started: AtomicU64,
    /// Requests whose response body has not been sent yet.
    in_flight: AtomicUsize,
}

impl Requests {
    /// A head was parsed: returns the guard to keep until its response body is sent.
    pub(super) fn start(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// Heads parsed so far.
    pub(super) fn heads(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }

    /// Whether a response has not been sent yet.
    pub(super) fn answering(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }
}

/// One request in flight; dropping it ends it.
pub(super) struct InFlight(Arc<Requests>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that ends its request's [`InFlight`] when dropped.
pub(super) struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub(super) fn new(body: B, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's stream with the head deadline on its reads.
pub(super) struct HeadDeadline<T> {
    inner: T,
    limit: Duration,
    requests: Arc<Requests>,
    /// The running deadline and the number of heads parsed when it started.
    armed: Option<(u64, Pin<Box<Sleep>>)>,
}

impl<T> HeadDeadline<T> {
    /// A new connection: its first head is due within `limit` from now.
    pub(super) fn new(inner: T, limit: Duration, requests: Arc<Requests>) -> Self {
        let started = requests.started.load(Ordering::Acquire);
        Self {
            inner,
            limit,
            requests,
            armed: Some((started, Box::pin(tokio::time::sleep(limit)))),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let started = this.requests.started.load(Ordering::Acquire);
        let idle = this.requests.in_flight.load(Ordering::Acquire) == 0;
        // A head parsed since the deadline started, or a request in flight: nothing is due.
        if !idle || this.armed.as_ref().is_some_and(|(at, _)| *at != started) {
            this.armed = None;
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        match &read {
            Poll::Ready(Ok(())) if idle && buf.filled().len() > before && this.armed.is_none() => {
                // The first bytes of the next head.
                this.armed = Some((started, Box::pin(tokio::time::sleep(this.limit))));
            }
            Poll::Pending => {
                if let Some((_, deadline)) = &mut this.armed
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no complete request head within {:?}", this.limit),
                    )));
                }
            }
            Poll::Ready(_) => {}
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    async fn read_some(stream: &mut Stream) -> io::Result<usize> {
        let mut buffer = [0u8; 64];
        stream.read(&mut buffer).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_owes_its_first_head_from_the_accept() {
        let (server, _client) = tokio::io::duplex(64);
        let mut stream = HeadDeadline::new(server, LIMIT, Arc::default());
        let start = tokio::time::Instant::now();
        let error = read_some(&mut stream).await.expect_err("nothing sent");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), LIMIT);
    }

    type Stream = HeadDeadline<tokio::io::DuplexStream>;

    /// A connection whose first head has been read, with its client and request counts.
    async fn after_a_head() -> (Stream, tokio::io::DuplexStream, Arc<Requests>) {
        let (server, mut client) = tokio::io::duplex(64);
        let requests = Arc::new(Requests::default());
        let mut stream = HeadDeadline::new(server, LIMIT, Arc::clone(&requests));
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        assert!(read_some(&mut stream).await.is_ok_and(|n| n > 0));
        (stream, client, requests)
    }

    /// Whether a read still waits after five times the limit (no deadline ran).
    async fn untimed(stream: &mut Stream) -> bool {
        tokio::time::timeout(LIMIT * 5, read_some(stream))
            .await
            .is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_response_the_wait_is_free_and_the_next_head_is_timed_from_its_first_byte() {
        let (mut stream, mut client, requests) = after_a_head().await;
        // The head is parsed and answered; a body read meanwhile arms nothing.
        let in_flight = requests.start();
        client.write_all(b"body").await.expect("write");
        assert!(read_some(&mut stream).await.is_ok_and(|n| n == 4));
        drop(in_flight);
        // hyper's idle timer, not this deadline, bounds a kept-alive connection's wait.
        assert!(
            untimed(&mut stream).await,
            "an idle connection is not timed here"
        );
        client.write_all(b"GET /").await.expect("write");
        assert!(read_some(&mut stream).await.is_ok_and(|n| n == 5));
        let start = tokio::time::Instant::now();
        let error = read_some(&mut stream).await.expect_err("the head stalls");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_completed_in_time_disarms_the_deadline() {
        let (mut stream, _client, requests) = after_a_head().await;
        drop(requests.start());
        assert!(
            untimed(&mut stream).await,
            "the parsed head's deadline no longer runs"
        );
    }
}
