//! A response body made of the snapshot's shared chunks and the per-scrape tail, sent
//! without copying and with an exact length (so `Content-Length`, not chunked encoding).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

pub(super) struct ChunksBody {
    chunks: Arc<[Bytes]>,
    next: usize,
    tail: Option<Bytes>,
    remaining: u64,
}

impl ChunksBody {
    pub(super) fn new(chunks: Arc<[Bytes]>, tail: Bytes) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum::<u64>() + tail.len() as u64;
        Self {
            chunks,
            next: 0,
            tail: Some(tail),
            remaining,
        }
    }
}

impl http_body::Body for ChunksBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let chunk = match this.chunks.get(this.next) {
            Some(chunk) => {
                this.next += 1;
                Some(chunk.clone())
            }
            None => this.tail.take(),
        };
        if let Some(chunk) = &chunk {
            this.remaining -= chunk.len() as u64;
        }
        Poll::Ready(chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn yields_every_chunk_then_the_tail_with_an_exact_length() {
        let chunks: Arc<[Bytes]> = vec![Bytes::from("a\n"), Bytes::from("bc\n")].into();
        let body = ChunksBody::new(chunks, Bytes::from("# EOF\n"));
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(11));
        let collected = body.collect().await.map(|c| c.to_bytes());
        assert_eq!(collected.ok(), Some(Bytes::from("a\nbc\n# EOF\n")));
    }
}
