//! Running one planned build: pin its parents, check out its context, hand it to an engine,
//! keep its log, and record the attempt whatever its outcome.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::clock::{unix_seconds, Clock};
use crate::engine::{BuildRequest, BuiltImage, Engine, EngineError};
use crate::logs::NewLog;
use crate::plan::{pin_parents, PlanError, PlannedBuild};
use crate::records::{BuildRecord, BuildRecords, Outcome, RecordsError};
use crate::source::{GitCache, SourceError};

/// Where one build writes.
#[derive(Debug, Clone)]
pub struct RunPaths {
    /// The OCI image layout folder to create.
    pub output: PathBuf,
    /// The build log to create, which every tag of the entry names.
    pub log: NewLog,
}

/// Why a build could not be run or failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The build's parents could not be pinned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The build context could not be checked out.
    #[error("{entry}: cannot check out the build context: {source}")]
    Source {
        /// The entry.
        entry: String,
        /// Why.
        source: SourceError,
    },
    /// A scratch folder or the log could not be created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The engine failed; the attempt is recorded and its log kept.
    #[error("{entry} for {arch} failed (log: {}): {source}", log.display())]
    Engine {
        /// The entry.
        entry: String,
        /// The architecture.
        arch: oci::Architecture,
        /// The log.
        log: PathBuf,
        /// Why.
        source: Box<EngineError>,
    },
    /// The attempt could not be recorded.
    #[error(transparent)]
    Records(#[from] RecordsError),
}

/// Builds `build` with `engine` into `paths.output`, records the attempt in `records` and
/// returns the record with the built image.
pub fn run_build(
    build: &PlannedBuild,
    cache: &GitCache,
    engine: &dyn Engine,
    records: &dyn BuildRecords,
    clock: &dyn Clock,
    paths: &RunPaths,
) -> Result<(BuildRecord, BuiltImage), RunError> {
    let parents = pin_parents(build, records)?;
    let scratch_parent = paths
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io { path, source }
    };
    fs::create_dir_all(scratch_parent).map_err(io_error(scratch_parent))?;
    let scratch = tempfile::Builder::new()
        .prefix(".hallmark-context-")
        .tempdir_in(scratch_parent)
        .map_err(io_error(scratch_parent))?;
    let context = scratch.path().join("context");
    cache
        .export_context(&build.inputs.tree, &context)
        .map_err(|source| RunError::Source {
            entry: build.entry.clone(),
            source,
        })?;
    let log_path = paths.log.path();
    let mut log = paths.log.create().map_err(io_error(&log_path))?;
    let request = BuildRequest {
        repo: build.repo.clone(),
        tags: build.tags.clone(),
        shared_tags: build.shared_tags.clone(),
        arch: build.arch,
        identity: build.identity.clone(),
        context,
        dockerfile: PathBuf::from(&build.inputs.file),
        builder: build.inputs.builder.clone(),
        source_date_epoch: build.commit_time,
        parents,
        output: paths.output.clone(),
    };
    let started = unix_seconds(clock.now());
    let result = engine.build(&request, &mut log);
    let finished = unix_seconds(clock.now());
    let outcome = match &result {
        Ok(image) => Outcome::Succeeded {
            image: image.manifest_digest.clone(),
        },
        Err(err) => {
            // The reason belongs in the log too, where a reader of the build looks first.
            let _ = writeln!(log, "build failed: {err}");
            Outcome::Failed {
                error: err.to_string(),
            }
        }
    };
    let _ = log.sync_all();
    let record = BuildRecord::of(
        build,
        engine.kind(),
        (started, finished),
        Some(log_path.clone()),
        outcome,
    );
    records.put(&record)?;
    match result {
        Ok(image) => Ok((record, image)),
        Err(source) => Err(RunError::Engine {
            entry: build.entry.clone(),
            arch: build.arch,
            log: log_path,
            source: Box::new(source),
        }),
    }
}
