//! The seam between the pure library model and the Dockerfiles it points at.

use oci::{Architecture, ImageReference};

use crate::Entry;

/// Finds the images one entry's Dockerfile builds from, for one architecture.
///
/// The `build` crate implements this over a git cache (GitRepo at GitCommit, Directory/File);
/// tests implement it over plain maps. Keeping it a trait keeps this crate free of I/O.
pub trait FromsResolver {
    /// The images named by `FROM` (and `COPY --from=` / `RUN --mount=from=` that are not stage
    /// names), in Dockerfile order, without `scratch` and without build-stage names.
    fn froms(
        &self,
        repo: &str,
        entry: &Entry,
        arch: Architecture,
    ) -> Result<Vec<ImageReference>, FromsError>;
}

/// Why the FROM images of an entry could not be found (a fetch failed, the Dockerfile is
/// missing, or a FROM line does not parse), in words for the maintainer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FromsError(pub String);
