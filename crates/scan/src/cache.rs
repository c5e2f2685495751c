//! The per-layer analysis cache: a base layer shared by many images is read once. Keys are
//! the layer's digest and [`crate::analyzer::ANALYZER_VERSION`], so a new analyzer never
//! trusts what an older one concluded. [`DiskCache`] keeps analyses in a folder across runs;
//! [`MemoryCache`] serves one process and the tests.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oci::Digest;

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

/// A cache in a folder, shared by every run that names it: one JSON file per layer at
/// `v<analyzer version>/<algorithm>/<hex>.json`.
///
/// Entries are written to a temporary file in the same folder, synced and renamed, so a reader
/// sees a whole entry or none. An entry that does not parse (a damaged disk, an old format) is
/// ignored and removed, so the next scan of that layer writes it afresh. Keys that are not
/// digests are never cached: they could name paths outside the folder.
#[derive(Debug)]
pub struct DiskCache {
    root: PathBuf,
    temp_counter: AtomicU64,
}

impl DiskCache {
    /// A cache under `root`, created on first write.
    pub fn new(root: impl Into<PathBuf>) -> DiskCache {
        DiskCache {
            root: root.into(),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// The folder it keeps entries in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the entry for `digest` lives; `None` when `digest` is not one.
    fn entry_path(&self, digest: &str, analyzer_version: u32) -> Option<PathBuf> {
        let digest = Digest::from_str(digest).ok()?;
        Some(
            self.root
                .join(format!("v{analyzer_version}"))
                .join(digest.algorithm().name())
                .join(format!("{}.json", digest.hex())),
        )
    }

    fn write(&self, path: &Path, analysis: &LayerAnalysis) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let temp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.temp_counter.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(&serde_json::to_vec(analysis).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

impl LayerCache for DiskCache {
    fn get(&self, digest: &str, analyzer_version: u32) -> Option<Arc<LayerAnalysis>> {
        let path = self.entry_path(digest, analyzer_version)?;
        let bytes = fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(analysis) => Some(Arc::new(analysis)),
            Err(_) => {
                // Unreadable: remove it so the layer is analysed and written again.
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    fn put(&self, digest: &str, analyzer_version: u32, analysis: Arc<LayerAnalysis>) {
        // A cache that cannot be written (a full or read-only disk) costs a re-read next
        // time, never the scan.
        if let Some(path) = self.entry_path(digest, analyzer_version) {
            let _ = self.write(&path, &analysis);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::FileRecord;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn analysis() -> Arc<LayerAnalysis> {
        let mut analysis = LayerAnalysis::default();
        analysis.files.insert(
            "etc/os-release".into(),
            FileRecord::Link("usr/lib/os-release".into()),
        );
        analysis.whiteouts.push("tmp/gone".into());
        analysis.uncompressed_bytes = 1024;
        Arc::new(analysis)
    }

    #[test]
    fn entries_survive_a_new_cache_over_the_same_folder() {
        let dir = tempfile::tempdir().unwrap();
        DiskCache::new(dir.path()).put(DIGEST, 7, analysis());
        let again = DiskCache::new(dir.path());
        assert_eq!(again.get(DIGEST, 7).as_deref(), Some(&*analysis()));
        // Another analyzer version never sees it.
        assert!(again.get(DIGEST, 8).is_none());
        // Nothing but the entry is left in its folder: no temporary files.
        let files: Vec<_> = fs::read_dir(dir.path().join("v7/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, [format!("{}.json", &DIGEST[7..])]);
    }

    #[test]
    fn corrupt_entries_are_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path());
        cache.put(DIGEST, 1, analysis());
        let path = cache.entry_path(DIGEST, 1).unwrap();
        for damage in [&b"{\"files\": {"[..], b"", b"\x00\xff not json"] {
            fs::write(&path, damage).unwrap();
            assert!(cache.get(DIGEST, 1).is_none());
            assert!(!path.exists(), "the damaged entry is removed");
            cache.put(DIGEST, 1, analysis());
            assert_eq!(cache.get(DIGEST, 1).as_deref(), Some(&*analysis()));
        }
    }

    #[test]
    fn keys_that_are_not_digests_are_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().join("cache"));
        for key in ["../../etc/passwd", "sha256:../x", "layer.tar", "sha256:abc"] {
            cache.put(key, 1, analysis());
            assert!(cache.get(key, 1).is_none(), "{key}");
        }
        assert!(!dir.path().join("cache").exists());
    }
}
