//! The encoded snapshot: the store's samples rendered once per refresh in both exposition
//! formats, plain and gzip, and swapped atomically. Scrapes only read it.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use tokio_util::sync::CancellationToken;

use crate::collect::store::Store;
use crate::metrics::Sample;
use crate::metrics::exposition::{Format, encode_samples};

/// Coalesces bursts of changes (many instances finishing together) into one encoding.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// One format of the snapshot, plain and gzip-compressed (one gzip member, so the scrape
/// handler can append the self-metrics as a second member).
#[derive(Debug, Default)]
pub struct Body {
    pub plain: Bytes,
    pub gzip: Bytes,
}

/// Both formats of one refresh.
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

pub fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 8), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// Renders the store's current content.
pub fn encode(store: &Store) -> Encoded {
    let (parts, health) = store.samples();
    let mut all: Vec<&Sample> = parts.iter().flat_map(|part| part.iter()).collect();
    all.extend(health.iter());
    let series = all.len();
    let render = |format| {
        let mut out = String::with_capacity(series * 96);
        encode_samples(&all, format, &mut out);
        let plain = Bytes::from(out);
        let gzip = gzip(&plain);
        Body { plain, gzip }
    };
    Encoded {
        text: render(Format::Text),
        openmetrics: render(Format::OpenMetrics),
        series,
    }
}

/// The latest encoded snapshot, shared with the HTTP server.
pub type SnapshotHandle = Arc<ArcSwap<Encoded>>;

/// Re-encodes whenever the store changes and when its oldest data expires.
pub async fn publish(store: Arc<Store>, handle: SnapshotHandle, shutdown: CancellationToken) {
    loop {
        let next_expiry = store.expire(tokio::time::Instant::now());
        let store_for_encode = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || encode(&store_for_encode)).await {
            Ok(encoded) => handle.store(Arc::new(encoded)),
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
