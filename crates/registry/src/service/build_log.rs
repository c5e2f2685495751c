//! `GET /v2/<arch>/<repo>/builds/<tag>/log`: the newest build log of a per-architecture tag,
//! as plain text, to anyone who may pull the repository (the open build process).
//!
//! The logs are files under the folder [`crate::RegistryConfig::build_logs`] names, laid out
//! by the `build` crate's `logs` module as `<arch>/<repo>/<tag>/<start>-<identity>.log`; the
//! newest is the last name in order. The registry only reads them.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use oci::ErrorCode;
use store::{BlobStore, MetaStore};

use super::respond;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// The newest build log of `name:tag`.
    pub(crate) async fn build_log(&self, name: &RepositoryName, tag: &str) -> Result<Response> {
        let unknown = || {
            RegistryError::new(
                ErrorCode::ManifestUnknown,
                format!("no build log for {name}:{tag}"),
            )
        };
        // The tag grammar keeps the path inside the logs folder (no `/`, no leading `.`).
        if !oci::is_valid_tag(tag) {
            return Err(RegistryError::new(
                ErrorCode::TagInvalid,
                format!("{tag:?} is not a tag"),
            ));
        }
        let root = self.config.build_logs.as_ref().ok_or_else(unknown)?;
        let folder = root.join(name.as_str()).join(tag);
        let read = tokio::task::spawn_blocking(move || newest_log(&folder).map(std::fs::read))
            .await
            .map_err(|err| RegistryError::new(ErrorCode::Unknown, err.to_string()))?;
        let text = read.ok_or_else(unknown)?.map_err(|err| {
            RegistryError::new(ErrorCode::Unknown, format!("reading the build log: {err}"))
        })?;
        let length = text.len().to_string();
        respond(
            StatusCode::OK,
            &[
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CONTENT_LENGTH, length.as_str()),
            ],
            Body::from(text),
        )
    }
}

/// The last `*.log` in `folder` by name, if any.
fn newest_log(folder: &Path) -> Option<PathBuf> {
    std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .max_by(|a, b| a.file_name().cmp(&b.file_name()))
}
