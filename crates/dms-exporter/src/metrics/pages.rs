//! The exposition kept as pages: per family, the fragments of every scope in key order,
//! grouped into pages of about [`PAGE_TARGET`] bytes. A page is one contiguous buffer (plain)
//! and one gzip member; changing a fragment rebuilds only its page, so the cost of a refresh
//! does not grow with the fleet, and a scrape sends a few hundred pages without copying.
//!
//! Fragments are slices of their page's buffer once it is built, so the bytes are held once.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::metrics::Family;
use crate::metrics::exposition::{Format, openmetrics_timestamps, write_header};

/// One gzip member of `data` (fast compression: pages are rebuilt as data arrives).
pub fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 8), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// Pages grow to twice this before they split, and merge with a neighbour below a quarter.
pub const PAGE_TARGET: usize = 128 * 1024;

/// A family's header in one format, plain and as its own gzip member.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub plain: Bytes,
    pub gzip: Bytes,
}

impl Header {
    fn new(family: &Family, format: Format) -> Self {
        let mut text = String::new();
        write_header(family, format, &mut text);
        let plain = Bytes::from(text);
        let gzip = gzip(&plain);
        Self { plain, gzip }
    }
}

/// What was built from a page's fragments.
#[derive(Debug, Clone, Default)]
pub struct Built {
    pub plain: Bytes,
    pub gzip: Bytes,
    pub series: usize,
    /// The page for OpenMetrics when its lines carry timestamps (seconds there, milliseconds
    /// in `plain`), plain and gzip; `None` when `plain` serves both formats.
    pub openmetrics: Option<(Bytes, Bytes)>,
}

#[derive(Debug)]
struct Page<K> {
    id: u64,
    /// Bumped by every change; the page is stale while its build is of an older version.
    version: u64,
    built_version: Option<u64>,
    built: Built,
    fragments: BTreeMap<K, Bytes>,
    size: usize,
}

impl<K: Ord + Clone> Page<K> {
    fn new(id: u64, fragments: BTreeMap<K, Bytes>) -> Self {
        let size = fragments.values().map(Bytes::len).sum();
        Self {
            id,
            version: 0,
            built_version: None,
            built: Built::default(),
            fragments,
            size,
        }
    }

    fn is_stale(&self) -> bool {
        self.built_version != Some(self.version)
    }
}

/// One family's header (both formats) and pages.
#[derive(Debug)]
struct FamilyPages<K> {
    timestamped: bool,
    text: Header,
    openmetrics: Header,
    pages: Vec<Page<K>>,
}

/// A stale page's content, taken out to be built without holding the caller's lock.
#[derive(Debug)]
pub struct BuildJob<K> {
    family: &'static str,
    /// The family's samples may carry timestamps ([`Family::timestamped`]).
    timestamped: bool,
    page: u64,
    version: u64,
    fragments: Vec<(K, Bytes)>,
}

/// A built job, to be [`Pages::install`]ed.
#[derive(Debug)]
pub struct BuildResult<K> {
    job: BuildJob<K>,
    built: Built,
}

impl<K> BuildJob<K> {
    /// Concatenates the fragments and compresses them: the only per-page work.
    pub fn build(self) -> BuildResult<K> {
        let size = self.fragments.iter().map(|(_, b)| b.len()).sum();
        let mut plain = BytesMut::with_capacity(size);
        for (_, fragment) in &self.fragments {
            plain.extend_from_slice(fragment);
        }
        let plain = plain.freeze();
        let openmetrics = if self.timestamped {
            openmetrics_timestamps(&plain).map(|lines| {
                let gzipped = gzip(&lines);
                (Bytes::from(lines), gzipped)
            })
        } else {
            None
        };
        let built = Built {
            series: plain.iter().filter(|&&b| b == b'\n').count(),
            gzip: gzip(&plain),
            plain,
            openmetrics,
        };
        BuildResult { job: self, built }
    }

    /// The page this job builds.
    pub fn page(&self) -> u64 {
        self.page
    }
}

/// Every family's pages; see the module documentation.
#[derive(Debug)]
pub struct Pages<K> {
    families: BTreeMap<&'static str, FamilyPages<K>>,
    next_id: u64,
}

impl<K> Default for Pages<K> {
    fn default() -> Self {
        Self {
            families: BTreeMap::new(),
            next_id: 0,
        }
    }
}

/// One format's body as chunks in serving order: per family its header, then its pages.
#[derive(Debug, Clone, Default)]
pub struct Chunks {
    pub plain: Vec<Bytes>,
    pub gzip: Vec<Bytes>,
}

impl<K: Ord + Clone> Pages<K> {
    fn page_index(pages: &[Page<K>], key: &K) -> usize {
        pages
            .partition_point(|page| {
                page.fragments
                    .first_key_value()
                    .is_some_and(|(k, _)| k <= key)
            })
            .saturating_sub(1)
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The fragment of `key` in `family`, if any.
    pub fn get(&self, family: &Family, key: &K) -> Option<&Bytes> {
        let pages = &self.families.get(family.name)?.pages;
        pages.get(Self::page_index(pages, key))?.fragments.get(key)
    }

    /// Sets (or with an empty fragment removes) the fragment of `key` in `family`.
    pub fn set(&mut self, family: &'static Family, key: &K, fragment: Bytes) {
        if fragment.is_empty() && self.get(family, key).is_none() {
            return;
        }
        let id = self.fresh_id();
        let entry = self
            .families
            .entry(family.name)
            .or_insert_with(|| FamilyPages {
                timestamped: family.timestamped,
                text: Header::new(family, Format::Text),
                openmetrics: Header::new(family, Format::OpenMetrics),
                pages: Vec::new(),
            });
        let pages = &mut entry.pages;
        if pages.is_empty() {
            pages.push(Page::new(id, BTreeMap::new()));
        }
        let index = Self::page_index(pages, key);
        let page = &mut pages[index];
        page.version += 1;
        let old = if fragment.is_empty() {
            page.fragments.remove(key)
        } else {
            page.size += fragment.len();
            page.fragments.insert(key.clone(), fragment)
        };
        page.size -= old.map_or(0, |old| old.len());
        self.rebalance(family.name, index);
    }

    /// Splits a page grown past twice the target, merges a small one into a neighbour and
    /// drops an empty one.
    fn rebalance(&mut self, family: &'static str, index: usize) {
        let Some(entry) = self.families.get_mut(family) else {
            return;
        };
        let pages = &mut entry.pages;
        let page = &pages[index];
        if page.fragments.is_empty() {
            pages.remove(index);
            if pages.is_empty() {
                self.families.remove(family);
            }
            return;
        }
        if page.size > 2 * PAGE_TARGET && page.fragments.len() > 1 {
            let page = pages.remove(index);
            let mut current = BTreeMap::new();
            let mut size = 0;
            let mut split = Vec::new();
            for (key, fragment) in page.fragments {
                if size > 0 && size + fragment.len() > PAGE_TARGET {
                    split.push(std::mem::take(&mut current));
                    size = 0;
                }
                size += fragment.len();
                current.insert(key, fragment);
            }
            split.push(current);
            for (offset, fragments) in split.into_iter().enumerate() {
                self.next_id += 1;
                pages.insert(index + offset, Page::new(self.next_id, fragments));
            }
            return;
        }
        if page.size < PAGE_TARGET / 4 && pages.len() > 1 {
            let neighbour = if index + 1 < pages.len() {
                index + 1
            } else {
                index - 1
            };
            let (first, second) = (index.min(neighbour), index.max(neighbour));
            if pages[first].size + pages[second].size <= PAGE_TARGET {
                let mut fragments = pages.remove(second).fragments;
                fragments.append(&mut pages[first].fragments);
                self.next_id += 1;
                pages[first] = Page::new(self.next_id, fragments);
            }
        }
    }

    /// Takes stale pages' content, up to about `budget` bytes (at least one page), skipping
    /// the pages in `skip`.
    pub fn take_jobs(&self, budget: usize, skip: &HashSet<u64>) -> Vec<BuildJob<K>> {
        let mut jobs = Vec::new();
        let mut taken = 0;
        for (family, entry) in &self.families {
            let stale = entry.pages.iter().filter(|page| page.is_stale());
            for page in stale.filter(|page| !skip.contains(&page.id)) {
                if taken > 0 && taken + page.size > budget {
                    return jobs;
                }
                taken += page.size;
                jobs.push(BuildJob {
                    family,
                    timestamped: entry.timestamped,
                    page: page.id,
                    version: page.version,
                    fragments: page
                        .fragments
                        .iter()
                        .map(|(k, b)| (k.clone(), b.clone()))
                        .collect(),
                });
            }
        }
        jobs
    }

    /// Installs a build. Fragments unchanged since the job was taken become slices of the new
    /// buffer (releasing their own); a page changed meanwhile keeps the build but stays stale.
    pub fn install(&mut self, result: BuildResult<K>) {
        let BuildResult { job, built } = result;
        let Some(page) = self
            .families
            .get_mut(job.family)
            .and_then(|entry| entry.pages.iter_mut().find(|page| page.id == job.page))
        else {
            return;
        };
        let mut offset = 0;
        for (key, fragment) in job.fragments {
            let len = fragment.len();
            if let Some(current) = page.fragments.get_mut(&key)
                && current.as_ptr() == fragment.as_ptr()
                && current.len() == len
            {
                *current = built.plain.slice(offset..offset + len);
            }
            offset += len;
        }
        page.built = built;
        page.built_version = Some(job.version);
    }

    /// Whether a page waits to be built.
    pub fn has_stale(&self) -> bool {
        self.families
            .values()
            .flat_map(|entry| &entry.pages)
            .any(Page::is_stale)
    }

    /// The body of `format` as it was last built, and the number of series in it.
    pub fn chunks(&self, format: Format) -> (Chunks, usize) {
        let mut chunks = Chunks::default();
        let mut series = 0;
        for entry in self.families.values() {
            let header = match format {
                Format::Text => &entry.text,
                Format::OpenMetrics => &entry.openmetrics,
            };
            chunks.plain.push(header.plain.clone());
            chunks.gzip.push(header.gzip.clone());
            for page in entry
                .pages
                .iter()
                .filter(|page| !page.built.plain.is_empty())
            {
                let (plain, gzipped) = match (&page.built.openmetrics, format) {
                    (Some((plain, gzipped)), Format::OpenMetrics) => (plain, gzipped),
                    _ => (&page.built.plain, &page.built.gzip),
                };
                chunks.plain.push(plain.clone());
                chunks.gzip.push(gzipped.clone());
                series += page.built.series;
            }
        }
        (chunks, series)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::metrics::catalog;

    fn body(pages: &Pages<u32>) -> String {
        let (chunks, _) = pages.chunks(Format::Text);
        chunks
            .plain
            .iter()
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect()
    }

    fn build_all(pages: &mut Pages<u32>) {
        for job in pages.take_jobs(usize::MAX, &HashSet::new()) {
            pages.install(job.build());
        }
    }

    #[test]
    fn a_page_changed_while_building_keeps_the_new_fragment_and_stays_stale() {
        let family = &catalog::TARGET_UP;
        let mut pages = Pages::default();
        pages.set(family, &1, Bytes::from("a 1\n"));
        pages.set(family, &2, Bytes::from("b 1\n"));
        build_all(&mut pages);
        assert!(!pages.has_stale());
        let jobs = pages.take_jobs(usize::MAX, &HashSet::new());
        assert!(jobs.is_empty(), "nothing to build");

        pages.set(family, &2, Bytes::from("b 2\n"));
        let jobs = pages.take_jobs(usize::MAX, &HashSet::new());
        // Changed again before the build is installed.
        pages.set(family, &1, Bytes::from("a 3\n"));
        for job in jobs {
            pages.install(job.build());
        }
        assert!(pages.has_stale(), "the later change still needs a build");
        assert!(
            body(&pages).ends_with("a 1\nb 2\n"),
            "serves the build it has"
        );
        assert_eq!(pages.get(family, &1), Some(&Bytes::from("a 3\n")));
        build_all(&mut pages);
        assert!(body(&pages).ends_with("a 3\nb 2\n"));
        assert!(body(&pages).starts_with("# HELP dms_target_up "));
    }

    #[test]
    fn timestamped_lines_are_seconds_in_openmetrics_and_milliseconds_in_text() {
        use std::io::Read as _;
        let family = &crate::collect::ces::catalog::KAFKA_BROKER_CPU;
        let mut pages = Pages::default();
        pages.set(family, &1, Bytes::from("c{a=\"x\"} 0.5 1796517300000\n"));
        pages.set(family, &2, Bytes::from("c{a=\"y\"} 0.25\n"));
        build_all(&mut pages);
        let lines = |format: Format| {
            let (chunks, series) = pages.chunks(format);
            let plain: String = chunks
                .plain
                .iter()
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect();
            let mut gunzipped = String::new();
            for member in &chunks.gzip {
                let _ = flate2::read::GzDecoder::new(&member[..]).read_to_string(&mut gunzipped);
            }
            assert_eq!(plain, gunzipped, "{format:?}: gzip and plain differ");
            assert_eq!(series, 2);
            plain
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lines(Format::Text),
            ["c{a=\"x\"} 0.5 1796517300000", "c{a=\"y\"} 0.25"]
        );
        assert_eq!(
            lines(Format::OpenMetrics),
            ["c{a=\"x\"} 0.5 1796517300", "c{a=\"y\"} 0.25"]
        );
        // A family that cannot carry timestamps is never rewritten.
        assert!(!catalog::TARGET_UP.timestamped);
    }

    #[test]
    fn removing_every_fragment_removes_the_family() {
        let family = &catalog::TARGET_UP;
        let mut pages = Pages::default();
        pages.set(family, &1, Bytes::from("a 1\n"));
        build_all(&mut pages);
        pages.set(family, &1, Bytes::new());
        assert_eq!(body(&pages), "");
    }
}
