//! The seam between planning a build and running it: what an [`Engine`] is asked to build
//! ([`BuildRequest`]) and what it hands back ([`BuiltImage`]).
//!
//! Every engine writes its result as an OCI image layout folder holding exactly one image
//! manifest, so that pushing, scanning and recording never care which engine made it: the
//! native builder writes the layout directly, the Docker Engine exports it.

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

use oci::{Architecture, Digest, ImageReference};
use serde::{Deserialize, Serialize};

use crate::identity::BuildIdentity;
use crate::native::NativeError;

/// Which engine builds an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Hallmark's own reproducible builder for `FROM scratch` + `ADD`/`COPY` Dockerfiles.
    Native,
    /// The Docker Engine API.
    Docker,
}

impl EngineKind {
    /// The name used on the command line, in plans and in build identities.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Native => "native",
            EngineKind::Docker => "docker",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a pinned parent is pulled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentOrigin {
    /// A library entry built earlier: its architecture's repository in the program's
    /// registry (`<registry>/<arch>/<repo>`).
    Library,
    /// An image from outside the library: its own registry (`host[:port]/path`).
    External,
}

/// One FROM of the Dockerfile, pinned to the exact image it must build on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedParent {
    /// The image as the Dockerfile names it (normalised).
    pub image: ImageReference,
    /// The manifest digest of that image for the build's architecture: the per-arch image
    /// built earlier (library parents) or resolved in its registry (external parents).
    pub digest: Digest,
    /// Where it is pulled from.
    pub origin: ParentOrigin,
}

/// The layers a built image shares with the parent it was built on: the very blobs that
/// parent was published with, which a push mounts from the parent's repository rather than
/// uploading them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedLayers {
    /// The parent's repository, `host[:port]/name`.
    pub repository: String,
    /// The shared blobs, base first.
    pub digests: Vec<Digest>,
}

/// What an engine is asked to build: one library entry for one architecture.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The library repository (`debian`).
    pub repo: String,
    /// The entry's own tags, first one canonical (`12.5`, `12`, `bookworm`).
    pub tags: Vec<String>,
    /// The entry's SharedTags.
    pub shared_tags: Vec<String>,
    /// The architecture to build for; the image config's platform comes from it.
    pub arch: Architecture,
    /// The build's identity, recorded with its result.
    pub identity: BuildIdentity,
    /// The build context: `Directory` of the source tree at `GitCommit`, checked out.
    pub context: PathBuf,
    /// The Dockerfile's path relative to `context` (the entry's `File`).
    pub dockerfile: PathBuf,
    /// The entry's `Builder` (`""`, `buildkit`, `classic`).
    pub builder: String,
    /// The commit time of GitCommit, in seconds since the Unix epoch: every timestamp the
    /// engine writes is clamped to it.
    pub source_date_epoch: i64,
    /// Each FROM (and `COPY --from` image) with the digest it must resolve to, in Dockerfile
    /// order. Engines must build on exactly these digests and nothing fetched by tag.
    pub parents: Vec<PinnedParent>,
    /// The OCI image layout folder to write the result into; it must not exist yet.
    pub output: PathBuf,
}

/// What an engine built: an OCI image layout folder with one image manifest in its
/// `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltImage {
    /// The layout folder ([`BuildRequest::output`]).
    pub layout: PathBuf,
    /// The image manifest's digest: the image's identity in every registry.
    pub manifest_digest: Digest,
    /// The image manifest's media type (OCI or Docker schema 2).
    pub manifest_media_type: String,
    /// The image manifest's size in bytes.
    pub manifest_size: u64,
    /// The image config's digest (the "image ID").
    pub config_digest: Digest,
    /// The layers it shares with its parent, if any (the layout holds their blobs too).
    pub shared: Option<SharedLayers>,
}

/// Why a build failed.
///
/// Engines other than the native builder add their own variant here, wrapping their own
/// error enum, so that callers match on one type whatever the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The native builder refused or failed.
    #[error(transparent)]
    Native(#[from] NativeError),
    /// The Docker Engine refused or failed.
    #[error(transparent)]
    Docker(#[from] crate::docker::DockerError),
    /// Writing the build log failed.
    #[error("cannot write the build log: {0}")]
    Log(io::Error),
}

/// Something that turns a [`BuildRequest`] into a [`BuiltImage`].
///
/// An engine writes what a person needs to follow the build (each step, its output) to `log`
/// as plain text lines; the caller keeps the log beside the build record.
pub trait Engine {
    /// Which engine this is, for plans, identities and records.
    fn kind(&self) -> EngineKind;

    /// Builds `request` into `request.output`. On failure nothing is left at `output` that
    /// could be mistaken for a finished image.
    fn build(&self, request: &BuildRequest, log: &mut dyn Write)
        -> Result<BuiltImage, EngineError>;
}

/// Writes one line to a build log.
pub(crate) fn log_line(log: &mut dyn Write, line: fmt::Arguments<'_>) -> Result<(), EngineError> {
    writeln!(log, "{line}").map_err(EngineError::Log)
}

impl BuildRequest {
    /// The Dockerfile on disk: `context/dockerfile`.
    pub fn dockerfile_path(&self) -> PathBuf {
        self.context.join(&self.dockerfile)
    }
}
