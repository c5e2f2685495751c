//! `--verify-reproducible`: an [`Engine`] that builds every request twice and says whether the
//! two images came out identical (the same manifest digest, so the same config and layers).
//!
//! The second build goes to a sibling folder that is removed afterwards; the first is the
//! result. A difference is reported, not treated as a failure: an engine build whose RUN steps
//! write times or random data into files is not reproducible, and knowing which images are is
//! the point.

use std::io::Write;
use std::sync::{Arc, Mutex};

use oci::Digest;
use serde::Serialize;

use crate::engine::{BuildRequest, BuiltImage, Engine, EngineError, EngineKind};

/// What two builds of one request gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reproduction {
    /// The library repository.
    pub repo: String,
    /// The entry's first tag.
    pub tag: String,
    /// The architecture.
    pub arch: oci::Architecture,
    /// The first build's manifest digest.
    pub first: Digest,
    /// The second build's manifest digest.
    pub second: Digest,
}

impl Reproduction {
    /// Whether both builds gave the same image.
    pub fn identical(&self) -> bool {
        self.first == self.second
    }
}

/// Builds each request twice with `inner` and keeps what each pair gave.
pub struct TwiceEngine {
    inner: Box<dyn Engine>,
    results: Arc<Mutex<Vec<Reproduction>>>,
}

impl std::fmt::Debug for TwiceEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwiceEngine")
            .field("kind", &self.inner.kind())
            .finish()
    }
}

impl TwiceEngine {
    /// Wraps `inner`, which must build afresh each time (no build cache); each pair's
    /// outcome is added to `results`.
    pub fn new(inner: Box<dyn Engine>, results: Arc<Mutex<Vec<Reproduction>>>) -> Self {
        TwiceEngine { inner, results }
    }
}

impl Engine for TwiceEngine {
    fn kind(&self) -> EngineKind {
        self.inner.kind()
    }

    fn build(
        &self,
        request: &BuildRequest,
        log: &mut dyn Write,
    ) -> Result<BuiltImage, EngineError> {
        let first = self.inner.build(request, log)?;
        let mut again = request.clone();
        let mut name = request.output.file_name().unwrap_or_default().to_owned();
        name.push(".reproduced");
        again.output = request.output.with_file_name(name);
        // A leftover from an interrupted check would make the engine refuse the folder.
        let _ = std::fs::remove_dir_all(&again.output);
        let _ = writeln!(log, "reproducibility check: building a second time");
        let second = self.inner.build(&again, log);
        let _ = std::fs::remove_dir_all(&again.output);
        let second = second?;
        let result = Reproduction {
            repo: request.repo.clone(),
            tag: request.tags.first().cloned().unwrap_or_default(),
            arch: request.arch,
            first: first.manifest_digest.clone(),
            second: second.manifest_digest,
        };
        let verdict = match result.identical() {
            true => "identical".to_owned(),
            false => format!("different ({} then {})", result.first, result.second),
        };
        let _ = writeln!(log, "reproducibility check: {verdict}");
        self.results.lock().expect("results lock").push(result);
        Ok(first)
    }
}
