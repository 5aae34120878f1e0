//! The encoded snapshot: the store's pages in both exposition formats, plain and gzip, as
//! chunks in serving order, swapped atomically. Scrapes only read it; a refresh rebuilds only
//! the pages it changed (see [`pages`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::{Bytes, BytesMut};
use tokio_util::sync::CancellationToken;

use crate::collect::store::Store;
use crate::metrics::exposition::Format;
use crate::metrics::pages::BuildJob;
pub use crate::metrics::pages::gzip;

/// Coalesces bursts of changes (many instances finishing together) into one publication.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Pages built per hold of the store's lock, bounding both the lock's hold and the memory
/// of fragments waiting to be folded into their page.
const BUILD_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// A body as shared chunks; serving sends them without copying.
#[derive(Debug, Clone, Default)]
pub struct Chunked {
    chunks: Arc<[Bytes]>,
    len: usize,
}

impl Chunked {
    fn new(chunks: Vec<Bytes>) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Self {
            chunks: chunks.into(),
            len,
        }
    }

    pub fn chunks(&self) -> &Arc<[Bytes]> {
        &self.chunks
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One contiguous copy (tests and tools; serving never needs it).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len);
        for chunk in self.chunks.iter() {
            out.extend_from_slice(chunk);
        }
        out.freeze()
    }
}

/// One format of the snapshot, plain and gzip-compressed (a gzip member per chunk, so the
/// scrape handler can append the self-metrics as one more member).
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub plain: Chunked,
    pub gzip: Chunked,
}

/// Both formats of one publication.
#[derive(Debug, Default)]
pub struct Encoded {
    pub text: Body,
    pub openmetrics: Body,
    pub series: usize,
}

impl Encoded {
    pub fn body(&self, format: Format) -> &Body {
        match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        }
    }
}

/// Builds the pages the store changed (outside its lock, in batches) and returns both
/// formats. Each page is built at most once per call; one changed meanwhile is left stale
/// for the next call (its change notified the publisher).
pub fn render(store: &Store) -> Encoded {
    let mut built: HashSet<u64> = HashSet::new();
    loop {
        let jobs: Vec<BuildJob<_>> =
            store.with_pages(|pages| pages.take_jobs(BUILD_BATCH_BYTES, &built));
        if jobs.is_empty() {
            break;
        }
        built.extend(jobs.iter().map(BuildJob::page));
        let results: Vec<_> = jobs.into_iter().map(BuildJob::build).collect();
        store.with_pages(|pages| results.into_iter().for_each(|r| pages.install(r)));
    }
    store.with_pages(|pages| {
        let (text, series) = pages.chunks(Format::Text);
        let (openmetrics, _) = pages.chunks(Format::OpenMetrics);
        Encoded {
            text: Body {
                plain: Chunked::new(text.plain),
                gzip: Chunked::new(text.gzip),
            },
            openmetrics: Body {
                plain: Chunked::new(openmetrics.plain),
                gzip: Chunked::new(openmetrics.gzip),
            },
            series,
        }
    })
}

/// The latest encoded snapshot, shared with the HTTP server.
pub type SnapshotHandle = Arc<ArcSwap<Encoded>>;

/// Republishes whenever the store changes and when its oldest data expires; between those
/// it sleeps (no timer scans the store).
pub async fn publish(store: Arc<Store>, handle: SnapshotHandle, shutdown: CancellationToken) {
    loop {
        let next_expiry = store.expire(tokio::time::Instant::now());
        let version = store.version();
        let store_for_render = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || render(&store_for_render)).await {
            Ok(encoded) => {
                handle.store(Arc::new(encoded));
                store.mark_published(version);
            }
            Err(error) => tracing::error!(%error, "encoding the snapshot failed"),
        }
        let expiry = async {
            match next_expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = store.changed().notified() => tokio::time::sleep(DEBOUNCE).await,
            () = expiry => {}
        }
    }
}
