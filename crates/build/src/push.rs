//! Pushing built images, through the `client` crate.
//!
//! An architecture's agent pushes its image to `<arch>/<repo>` under every tag and SharedTag
//! of the entry, with its own robot's credentials; the registry lets that robot write only
//! its architecture's namespace. Publishing then reads those per-architecture images
//! ([`crate::publish::remote`]).

use std::fs::File;
use std::io::BufReader;

use client::{Client, ClientError, Repository};
use oci::manifest::{Descriptor, ImageManifest};

use crate::engine::BuiltImage;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] ClientError),
    /// A blob of the built image could not be read.
    #[error("cannot read {path}: {source}")]
    Blob {
        /// The blob's file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A manifest is not what its media type says.
    #[error("the manifest of {0} cannot be read: {1}")]
    Manifest(String, String),
}

/// Pushes `built` (an OCI layout) to `repository` under each of `tags`: blobs first, then
/// the manifest, so no tag ever names content the registry lacks.
pub fn push_image(
    client: &Client,
    repository: &Repository,
    tags: &[String],
    built: &BuiltImage,
    progress: &mut dyn FnMut(&str),
) -> Result<Descriptor, PushError> {
    let blob_path = |digest: &oci::Digest| {
        built
            .layout
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    };
    let manifest_bytes = read(&blob_path(&built.manifest_digest))?;
    let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|err| PushError::Manifest(built.manifest_digest.to_string(), err.to_string()))?;
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        let path = blob_path(&blob.digest);
        let file = File::open(&path).map_err(|source| PushError::Blob {
            path: path.display().to_string(),
            source,
        })?;
        let uploaded =
            client.push_blob(repository, &blob.digest, blob.size, BufReader::new(file))?;
        let verb = if uploaded { "pushed" } else { "exists" };
        progress(&format!(
            "{}: {verb} {} ({} bytes)",
            repository.name(),
            blob.digest,
            blob.size
        ));
    }
    for tag in tags {
        client.put_manifest(repository, tag, &built.manifest_media_type, &manifest_bytes)?;
        progress(&format!(
            "{}:{tag} -> {}",
            repository.name(),
            built.manifest_digest
        ));
    }
    Ok(Descriptor::of(&built.manifest_media_type, &manifest_bytes))
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, PushError> {
    std::fs::read(path).map_err(|source| PushError::Blob {
        path: path.display().to_string(),
        source,
    })
}
