//! Paged listings: one loop for every `offset`/`limit` (or V1 `start`/`limit`) endpoint.

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use serde::de::DeserializeOwned;

use super::{DmsClient, query};
use crate::error::ApiError;

/// Page size of the paged list APIs (their documented maximum).
pub(super) const PAGE_LIMIT: u64 = 50;
/// Upper bound on pages of one listing, whatever the server says.
const MAX_PAGES: usize = 10_000;

/// One page of an `offset`/`limit` listing.
pub(super) struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub next_offset: Option<i64>,
    /// `max` and `remaining`, where the listing reports a quota.
    pub quota: (Option<i64>, Option<i64>),
}

impl<T> Page<T> {
    /// A page that says only its items and, perhaps, the listing's `total`.
    pub(super) fn counted(items: Vec<T>, total: Option<i64>) -> Self {
        Page {
            items,
            total,
            next_offset: None,
            quota: (None, None),
        }
    }
}

/// An unsigned `total` as a page's (a total beyond `i64::MAX` stays one no listing reaches).
pub(super) fn unsigned_total(total: Option<u64>) -> Option<i64> {
    total.map(|t| i64::try_from(t).unwrap_or(i64::MAX))
}

/// Everything a listing returned, with the totals of its first page.
pub(super) struct Listing<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub quota: (Option<i64>, Option<i64>),
}

/// Whether a page shorter than `PAGE_LIMIT` ends a listing that states its `total`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ShortPage {
    /// Always (the SDK listings).
    Ends,
    /// Only without a `total`; with one, the listing goes on until it is reached (the
    /// instance list R1 and Kafka's group list R7).
    EndsWithoutTotal,
}

/// Reads every page. Stops on `next_offset == -1`, on reaching `total`, on a short page as
/// `short_page` says, and on a page with nothing new (an empty one, or a server that ignores
/// `offset`: it would loop forever).
pub(super) async fn all_pages<T, K, F, Fut>(
    short_page: ShortPage,
    key: impl Fn(&T) -> K,
    mut fetch: F,
) -> Result<Listing<T>, ApiError>
where
    K: Eq + Hash,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut offset = 0u64;
    let mut total = None;
    let mut quota = None;
    for _ in 0..MAX_PAGES {
        let page = fetch(offset).await?;
        total = total.or(page.total);
        quota = quota.or(Some(page.quota));
        let received = page.items.len() as u64;
        let mut added = 0usize;
        for item in page.items {
            if seen.insert(key(&item)) {
                items.push(item);
                added += 1;
            }
        }
        let reached_total = page
            .total
            .is_some_and(|t| items.len() as u64 >= u64::try_from(t).unwrap_or(0));
        let no_next = page.next_offset == Some(-1);
        let short =
            received < PAGE_LIMIT && (short_page == ShortPage::Ends || page.total.is_none());
        if reached_total || no_next || short || added == 0 {
            break;
        }
        offset = match page.next_offset.and_then(|n| u64::try_from(n).ok()) {
            Some(next) if next > offset => next,
            _ => offset + received,
        };
    }
    Ok(Listing {
        items,
        total,
        quota: quota.unwrap_or_default(),
    })
}

/// The query of the page at `offset`.
pub(super) fn paging(offset: u64) -> Vec<(String, String)> {
    query(&[
        ("offset", offset.to_string()),
        ("limit", PAGE_LIMIT.to_string()),
    ])
}

impl DmsClient {
    /// Every item of the `offset`/`limit` listing at `segments`: `page` reads a page's body
    /// `L`, `key` tells items apart.
    pub(super) async fn get_all_pages<L, T, K>(
        &self,
        api: &'static str,
        segments: Vec<String>,
        short_page: ShortPage,
        key: impl Fn(&T) -> K,
        page: impl Fn(L) -> Page<T>,
    ) -> Result<Listing<T>, ApiError>
    where
        L: DeserializeOwned,
        K: Eq + Hash,
    {
        all_pages(short_page, key, |offset| {
            let (segments, page) = (segments.clone(), &page);
            async move {
                let body: L = self.dms_get(api, segments, paging(offset)).await?;
                Ok(page(body))
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(items: &[u32], total: Option<i64>, next_offset: Option<i64>) -> Page<u32> {
        Page {
            items: items.to_vec(),
            total,
            next_offset,
            quota: (Some(10), Some(7)),
        }
    }

    fn full(from: u32) -> Vec<u32> {
        (from..from + PAGE_LIMIT as u32).collect()
    }

    #[tokio::test]
    async fn pages_follow_offsets_until_total() {
        let mut asked = Vec::new();
        let listing = all_pages(
            ShortPage::Ends,
            |n: &u32| *n,
            |offset| {
                asked.push(offset);
                let items = if offset == 0 { full(0) } else { vec![50, 51] };
                std::future::ready(Ok(page(&items, Some(52), None)))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asked, [0, 50]);
        assert_eq!(listing.items.len(), 52);
        assert_eq!(listing.total, Some(52));
        assert_eq!(listing.quota, (Some(10), Some(7)));
    }

    #[tokio::test]
    async fn a_server_ignoring_offset_does_not_loop() {
        let mut calls = 0;
        let listing = all_pages(
            ShortPage::Ends,
            |n: &u32| *n,
            |_| {
                calls += 1;
                // Always the first page, and a total that is never reached.
                std::future::ready(Ok(page(&full(0), Some(500), None)))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calls, 2, "the second page brought nothing new");
        assert_eq!(listing.items.len(), 50);
    }

    #[tokio::test]
    async fn next_offset_minus_one_ends_the_listing() {
        let mut calls = 0;
        let listing = all_pages(
            ShortPage::Ends,
            |n: &u32| *n,
            |_| {
                calls += 1;
                std::future::ready(Ok(page(&full(0), None, Some(-1))))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calls, 1);
        assert_eq!(listing.items.len(), 50);
    }
}
