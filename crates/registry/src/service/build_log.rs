//! `GET /v2/<arch>/<repo>/builds/<tag>/log`: the newest build log of a per-architecture tag,
//! any Tag or SharedTag of the entry built, as plain text, to anyone who may pull the
//! repository (the open build process).
//!
//! The logs are files under the folder [`crate::RegistryConfig::build_logs`] names, laid out
//! by the `build` crate's `logs` module: `<arch>/<repo>/tags/<tag>` holds the name of the
//! newest log of a build carrying the tag, one line, and the log is that file in
//! `<arch>/<repo>/logs/`. The registry only reads them.

use std::io;
use std::path::Path;

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
        let folder = root.join(name.as_str());
        let tag_index = folder.join("tags").join(tag);
        let read = tokio::task::spawn_blocking(move || read_log(&folder, &tag_index))
            .await
            .map_err(|err| RegistryError::new(ErrorCode::Unknown, err.to_string()))?;
        let text = read
            .map_err(|err| {
                RegistryError::new(ErrorCode::Unknown, format!("reading the build log: {err}"))
            })?
            .ok_or_else(unknown)?;
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

/// The log `tag_index` names in `folder`'s `logs`, if the tag has one. The index must hold
/// one plain `*.log` name, so that it never leads out of the logs folder.
fn read_log(folder: &Path, tag_index: &Path) -> io::Result<Option<Vec<u8>>> {
    let pointer = match std::fs::read_to_string(tag_index) {
        Ok(pointer) => pointer,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let name = pointer.trim_end_matches('\n');
    let plain = !name.starts_with('.')
        && name.ends_with(".log")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the tag's index does not name a log",
        ));
    }
    match std::fs::read(folder.join("logs").join(name)) {
        Ok(log) => Ok(Some(log)),
        // Someone removed the log by hand: the tag has none now.
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}
