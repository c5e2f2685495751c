//! The per-layer analysis cache: a base layer shared by many images is read once. Keys are
//! the layer's digest and [`crate::analyzer::ANALYZER_VERSION`], so a new analyzer never
//! trusts what an older one concluded. The store-backed implementation belongs to the store
//! integration; [`MemoryCache`] serves one process and the tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::image::LayerAnalysis;

/// Where layer analyses are kept between scans.
pub trait LayerCache: Send + Sync {
    /// The analysis of the layer with `digest` by analyzers of `analyzer_version`, if known.
    fn get(&self, digest: &str, analyzer_version: u32) -> Option<Arc<LayerAnalysis>>;
    /// Remembers an analysis.
    fn put(&self, digest: &str, analyzer_version: u32, analysis: Arc<LayerAnalysis>);
}

/// A cache in memory, for one process.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<(String, u32), Arc<LayerAnalysis>>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> MemoryCache {
        MemoryCache::default()
    }

    /// How many analyses it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), Arc<LayerAnalysis>>> {
        // A panic elsewhere while holding the lock leaves a map that is still consistent
        // (inserts are single calls), so a poisoned lock is used as it is.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LayerCache for MemoryCache {
    fn get(&self, digest: &str, analyzer_version: u32) -> Option<Arc<LayerAnalysis>> {
        self.lock()
            .get(&(digest.to_owned(), analyzer_version))
            .cloned()
    }

    fn put(&self, digest: &str, analyzer_version: u32, analysis: Arc<LayerAnalysis>) {
        self.lock()
            .insert((digest.to_owned(), analyzer_version), analysis);
    }
}

/// A cache that keeps nothing, for sources without digests (`dir:`) and one-off scans.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

impl LayerCache for NoCache {
    fn get(&self, _: &str, _: u32) -> Option<Arc<LayerAnalysis>> {
        None
    }

    fn put(&self, _: &str, _: u32, _: Arc<LayerAnalysis>) {}
}
