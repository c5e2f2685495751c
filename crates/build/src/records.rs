//! Build records: which identity was built when, by which engine, into which image, and
//! where its log is. The planner reads them to decide what is up to date; the runner writes
//! one per attempt, failures included.
//!
//! The embedded implementation, [`FileRecords`], keeps one JSON file per attempt under
//! `<data dir>/builds/records/<identity hex>/`, written to a temporary file, synced and
//! renamed, so a crash never leaves half a record and two agents never contend for a lock.
//! Records live with the agent that builds, not in the registry's metadata store: an agent
//! builds for one architecture on its own machine and may not be where the registry runs, and
//! a build needs no database to be recorded. What the registry serves about a build (its
//! image, attestations and log) is pushed there as content.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use oci::{Architecture, Digest};
use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::identity::{deserialize_architecture, BuildIdentity, IdentityInputs};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// The image was built.
    Succeeded {
        /// The image manifest's digest.
        image: Digest,
    },
    /// The build failed; the previous images stay as they were.
    Failed {
        /// Why, in one line.
        error: String,
    },
}

/// One build attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// The build's identity.
    pub identity: BuildIdentity,
    /// What the identity was made of, so a later plan can say what changed.
    pub inputs: IdentityInputs,
    /// The library repository.
    pub repo: String,
    /// The entry's tags at the time.
    pub tags: Vec<String>,
    /// The architecture.
    #[serde(deserialize_with = "deserialize_architecture")]
    pub arch: Architecture,
    /// The source commit.
    pub commit: String,
    /// The engine that ran it.
    pub engine: EngineKind,
    /// When it started and finished, seconds since the Unix epoch.
    pub started: i64,
    /// See `started`.
    pub finished: i64,
    /// The build log's file, if one was kept.
    pub log: Option<PathBuf>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl BuildRecord {
    /// The record of an attempt at `build`.
    pub fn of(
        build: &crate::plan::PlannedBuild,
        engine: EngineKind,
        (started, finished): (i64, i64),
        log: Option<PathBuf>,
        outcome: Outcome,
    ) -> Self {
        BuildRecord {
            identity: build.identity.clone(),
            inputs: build.inputs.clone(),
            repo: build.repo.clone(),
            tags: build.tags.clone(),
            arch: build.arch,
            commit: build.commit.clone(),
            engine,
            started,
            finished,
            log,
            outcome,
        }
    }

    /// The image, if the attempt succeeded.
    pub fn image(&self) -> Option<&Digest> {
        match &self.outcome {
            Outcome::Succeeded { image } => Some(image),
            Outcome::Failed { .. } => None,
        }
    }

    /// The entry's canonical name, `repo:first-tag`.
    pub fn entry(&self) -> String {
        format!(
            "{}:{}",
            self.repo,
            self.tags.first().map_or("latest", String::as_str)
        )
    }
}

/// Why records could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The folder or a file could not be used.
    #[error("build records at {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A record file is damaged.
    #[error("build record {} is damaged: {source} (remove it; the build will be planned again)", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What does not parse.
        source: serde_json::Error,
    },
}

/// Where build attempts are remembered.
pub trait BuildRecords {
    /// Adds one attempt.
    fn put(&self, record: &BuildRecord) -> Result<(), RecordsError>;

    /// Every attempt of `identity`, oldest first.
    fn attempts(&self, identity: &BuildIdentity) -> Result<Vec<BuildRecord>, RecordsError>;

    /// Every attempt recorded, oldest first.
    fn all(&self) -> Result<Vec<BuildRecord>, RecordsError>;

    /// The latest successful attempt of `identity`: the image that identity built.
    fn succeeded(&self, identity: &BuildIdentity) -> Result<Option<BuildRecord>, RecordsError> {
        let attempts = self.attempts(identity)?;
        Ok(attempts.into_iter().rev().find(|r| r.image().is_some()))
    }

    /// The latest successful attempt for the entry tagged `tag` of `repo` on `arch`, whatever
    /// its identity: the build a new plan compares with.
    fn latest_success(
        &self,
        repo: &str,
        tag: &str,
        arch: Architecture,
    ) -> Result<Option<BuildRecord>, RecordsError> {
        let all = self.all()?;
        Ok(all.into_iter().rev().find(|r| {
            r.repo == repo
                && r.arch == arch
                && r.tags.first().map(String::as_str) == Some(tag)
                && r.image().is_some()
        }))
    }
}

/// Records as JSON files under one folder.
#[derive(Debug)]
pub struct FileRecords {
    dir: PathBuf,
    sequence: AtomicU64,
}

impl FileRecords {
    /// Records in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileRecords {
            dir: dir.into(),
            sequence: AtomicU64::new(0),
        }
    }

    /// The records folder of a data folder: `<data>/builds/records`.
    pub fn in_data_dir(data: &Path) -> Self {
        Self::new(data.join("builds").join("records"))
    }

    fn identity_dir(&self, identity: &BuildIdentity) -> PathBuf {
        self.dir.join(identity.0.hex())
    }

    fn read_dir(&self, dir: &Path) -> Result<Vec<BuildRecord>, RecordsError> {
        let io_error = |source| RecordsError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_error(err)),
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
        paths.sort();
        paths.iter().map(|path| read_record(path)).collect()
    }
}

fn read_record(path: &Path) -> Result<BuildRecord, RecordsError> {
    let bytes = fs::read(path).map_err(|source| RecordsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| RecordsError::Damaged {
        path: path.to_path_buf(),
        source,
    })
}

impl BuildRecords for FileRecords {
    fn put(&self, record: &BuildRecord) -> Result<(), RecordsError> {
        let dir = self.identity_dir(&record.identity);
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordsError::Io { path, source }
        };
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        // Names sort by start time, then by process and order within it.
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{:020}-{:010}-{sequence:06}.json",
            record.started.max(0),
            std::process::id()
        );
        let path = dir.join(&name);
        let temp = dir.join(format!(".{name}.tmp"));
        let bytes = serde_json::to_vec_pretty(record).expect("a record serialises");
        let mut file = fs::File::create(&temp).map_err(io_error(&temp))?;
        file.write_all(&bytes).map_err(io_error(&temp))?;
        file.sync_all().map_err(io_error(&temp))?;
        fs::rename(&temp, &path).map_err(io_error(&path))?;
        // The folder entry must reach the disk too, or a crash could lose a synced record.
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(&dir))
    }

    fn attempts(&self, identity: &BuildIdentity) -> Result<Vec<BuildRecord>, RecordsError> {
        self.read_dir(&self.identity_dir(identity))
    }

    fn all(&self) -> Result<Vec<BuildRecord>, RecordsError> {
        let mut records = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(records),
            Err(source) => {
                return Err(RecordsError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                records.extend(self.read_dir(&entry.path())?);
            }
        }
        records.sort_by_key(|r| (r.started, r.finished));
        Ok(records)
    }
}
