//! The git cache that `parents`, `children`, `build-order` and `lint` read Dockerfiles from.

use std::path::PathBuf;

use anyhow::Context;
use build::source::{default_cache_dir, GitCache};

/// Opens Hallmark's cache folder (`--cache`, else the XDG default), reporting each fetch on
/// stderr since fetches are what make these commands slow the first time.
pub fn open_git_cache(cache: Option<PathBuf>) -> anyhow::Result<GitCache> {
    let dir = cache.or_else(default_cache_dir).context(
        "no cache folder: pass --cache DIR or set HALLMARK_CACHE (neither XDG_CACHE_HOME nor HOME is set)",
    )?;
    Ok(GitCache::open(&dir)?.with_progress(|notice| eprintln!("hallmark: {notice}")))
}
