//! Kept-alive connections waiting between requests, so that an accept waiting at the
//! connection cap can have the longest idle one closed for it (as nginx reuses kept-alive
//! connections): an idle HTTP/1.1 connection may be closed at any time (RFC 9112 §9.5) and its
//! client retries on a new one, while a request in progress or a head partly received would
//! be lost.
//!
//! A connection is idle from when its answer has been flushed until a byte of its next
//! request is read ([`Activity`] watches its stream). One connection is closed per accept
//! waiting at the cap, whatever its listener, and no more: each costs its client a reconnect.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::head_deadline::Requests;
use crate::locks::lock;

/// The idle connections under one connection cap, longest idle first.
#[derive(Default)]
pub(super) struct IdleConnections {
    state: Mutex<State>,
    /// A connection turned idle, or one closed to make room has closed.
    changed: Notify,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Each idle connection's close token by (when it turned idle, its id): the first is the
    /// longest idle.
    idle: BTreeMap<(Instant, u64), CancellationToken>,
    /// Accepts waiting at the cap.
    waiting: usize,
    /// Connections closed to make room that have not closed yet.
    closing: usize,
}

impl IdleConnections {
    /// A new connection holding `slot`, busy until it has answered a request. Its token is
    /// cancelled when it is to close: to make room, or at `shutdown`.
    pub(super) fn register(
        self: &Arc<Self>,
        slot: OwnedSemaphorePermit,
        shutdown: &CancellationToken,
    ) -> Registration {
        let mut state = lock(&self.state);
        state.next_id += 1;
        Registration {
            connections: Arc::clone(self),
            slot: Some(slot),
            id: state.next_id,
            idle_since: None,
            closed_for_room: false,
            close: shutdown.child_token(),
        }
    }

    /// An accept waits at the cap until the guard is dropped.
    pub(super) fn wait(&self) -> Waiting<'_> {
        lock(&self.state).waiting += 1;
        Waiting(self)
    }

    /// Closes the longest-idle connections until one is closing for each waiting accept.
    pub(super) fn make_room(&self) {
        let mut state = lock(&self.state);
        while state.closing < state.waiting
            && let Some((_, close)) = state.idle.pop_first()
        {
            close.cancel();
            state.closing += 1;
        }
    }

    /// Resolves at the next change that may let [`Self::make_room`] do more; `enable` it
    /// before calling that, so a change in between is not missed.
    pub(super) fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }
}

/// An accept waiting at the cap.
pub(super) struct Waiting<'a>(&'a IdleConnections);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.waiting = state.waiting.saturating_sub(1);
    }
}

/// One connection's place under the cap: its slot and its entry in [`IdleConnections`], both
/// left when dropped.
pub(super) struct Registration {
    connections: Arc<IdleConnections>,
    slot: Option<OwnedSemaphorePermit>,
    id: u64,
    /// When it turned idle; `None` while busy.
    idle_since: Option<Instant>,
    /// Whether it was chosen to make room (and is closing).
    closed_for_room: bool,
    close: CancellationToken,
}

impl Registration {
    /// Cancelled when the connection is to close once its request in flight, if any, is
    /// answered.
    pub(super) fn close_token(&self) -> CancellationToken {
        self.close.clone()
    }

    fn idle(&mut self) {
        if self.idle_since.is_some() || self.close.is_cancelled() {
            return;
        }
        let now = Instant::now();
        self.idle_since = Some(now);
        lock(&self.connections.state)
            .idle
            .insert((now, self.id), self.close.clone());
        self.connections.changed.notify_waiters();
    }

    fn busy(&mut self) {
        if let Some(since) = self.idle_since.take() {
            // Only `make_room` removes an entry but its owner.
            let removed = lock(&self.connections.state).idle.remove(&(since, self.id));
            self.closed_for_room |= removed.is_none();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Freed before the waiting accepts are told, so the one it was closed for finds it.
        drop(self.slot.take());
        self.busy();
        if self.closed_for_room {
            let mut state = lock(&self.connections.state);
            state.closing = state.closing.saturating_sub(1);
            drop(state);
            // Its slot is free; if another accept took it, a waiting one makes room again.
            self.connections.changed.notify_waiters();
        }
    }
}

/// A connection's stream, telling [`IdleConnections`] when the connection turns idle (its
/// answer flushed) and busy (a byte read).
pub(super) struct Activity<T> {
    inner: T,
    requests: Arc<Requests>,
    registration: Registration,
    /// Heads parsed when bytes were last read. Bytes read after the last parsed head (a body,
    /// or the next request sent early) keep the connection busy until a later request is
    /// answered: they may be part of a request not answered yet.
    heads_at_last_read: u64,
}

impl<T> Activity<T> {
    pub(super) fn new(inner: T, requests: Arc<Requests>, registration: Registration) -> Self {
        Self {
            inner,
            requests,
            registration,
            heads_at_last_read: 0,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.heads_at_last_read = this.requests.heads();
            this.registration.busy();
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<T> {
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

    /// hyper flushes after each write; a flush done with no response left to send and nothing
    /// read since the last head means the answer is out and the connection waits.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        if matches!(flushed, Poll::Ready(Ok(())))
            && !this.requests.answering()
            && this.requests.heads() > this.heads_at_last_read
        {
            this.registration.idle();
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    /// A new connection, with a slot of its own.
    fn register(connections: &Arc<IdleConnections>) -> Registration {
        let slot = Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned();
        connections.register(slot.expect("a free slot"), &CancellationToken::new())
    }

    /// Registers a connection that turns idle now (paused time: each a second after the last).
    async fn idle_one(connections: &Arc<IdleConnections>) -> Registration {
        tokio::time::advance(Duration::from_secs(1)).await;
        let mut registration = register(connections);
        registration.idle();
        registration
    }

    #[tokio::test(start_paused = true)]
    async fn each_waiting_accept_has_the_longest_idle_connection_closed_and_no_more() {
        let connections = Arc::new(IdleConnections::default());
        let mut first = idle_one(&connections).await;
        let second = idle_one(&connections).await;
        let third = idle_one(&connections).await;
        connections.make_room();
        assert!(
            !first.close.is_cancelled(),
            "no accept waits: nothing closes"
        );

        // The oldest turns busy and idle again: the second is now the longest idle.
        first.busy();
        tokio::time::advance(Duration::from_secs(1)).await;
        first.idle();
        let waiting = connections.wait();
        connections.make_room();
        connections.make_room();
        assert!(second.close.is_cancelled());
        assert!(!first.close.is_cancelled() && !third.close.is_cancelled());

        // The closed one's slot went to another listener's accept: this one makes room again.
        drop(second);
        connections.make_room();
        assert!(third.close.is_cancelled() && !first.close.is_cancelled());
        drop(waiting);
    }

    #[tokio::test(start_paused = true)]
    async fn busy_connections_are_never_closed_to_make_room() {
        let connections = Arc::new(IdleConnections::default());
        let never_answered = register(&connections);
        let mut busy_again = idle_one(&connections).await;
        busy_again.busy();
        let _waiting = connections.wait();
        connections.make_room();
        assert!(!never_answered.close.is_cancelled() && !busy_again.close.is_cancelled());
    }

    /// A connection's stream after one head was read, its client and its request counts.
    async fn after_a_head(
        connections: &Arc<IdleConnections>,
    ) -> (Activity<DuplexStream>, DuplexStream, Arc<Requests>) {
        let (server, mut client) = tokio::io::duplex(64);
        let requests = Arc::new(Requests::default());
        let registration = register(connections);
        let mut stream = Activity::new(server, Arc::clone(&requests), registration);
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        let mut buffer = [0u8; 64];
        assert!(stream.read(&mut buffer).await.is_ok_and(|n| n > 0));
        (stream, client, requests)
    }

    fn is_idle(stream: &Activity<DuplexStream>) -> bool {
        stream.registration.idle_since.is_some()
    }

    #[tokio::test]
    async fn idle_from_the_flush_of_an_answer_until_a_byte_of_the_next_request() {
        let connections = Arc::new(IdleConnections::default());
        let (mut stream, mut client, requests) = after_a_head(&connections).await;
        stream.flush().await.expect("flush");
        assert!(!is_idle(&stream), "nothing answered yet");
        let in_flight = requests.start();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\n")
            .await
            .expect("write");
        assert!(!is_idle(&stream), "answering");
        drop(in_flight);
        stream.flush().await.expect("flush");
        assert!(is_idle(&stream), "answered and flushed");
        client.write_all(b"G").await.expect("write");
        let mut buffer = [0u8; 64];
        assert!(stream.read(&mut buffer).await.is_ok_and(|n| n == 1));
        assert!(!is_idle(&stream), "a byte of the next head");
    }

    #[tokio::test]
    async fn a_request_sent_before_the_answer_keeps_the_connection_busy() {
        let connections = Arc::new(IdleConnections::default());
        let (mut stream, mut client, requests) = after_a_head(&connections).await;
        let in_flight = requests.start();
        client.write_all(b"GET /next").await.expect("write");
        let mut buffer = [0u8; 64];
        assert!(stream.read(&mut buffer).await.is_ok_and(|n| n > 0));
        drop(in_flight);
        stream.flush().await.expect("flush");
        assert!(!is_idle(&stream), "the next request is under way");
    }
}
