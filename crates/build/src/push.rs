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

use crate::engine::{BuiltImage, SharedLayers};

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
/// the manifest, so no tag ever names content the registry lacks. The layers the image shares
/// with its parent are mounted from the parent's repository when it is on the same registry
/// (the registry links the blob it has rather than storing another copy), and uploaded from
/// the layout only where the registry refuses the mount.
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
    let mount_from = mount_source(repository, built.shared.as_ref());
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        if let Some((from, _)) = mount_from
            .as_ref()
            .filter(|(_, digests)| digests.contains(&blob.digest))
        {
            if client.mount_blob(repository, &blob.digest, from)? {
                progress(&format!(
                    "{}: mounted {} from {}",
                    repository.name(),
                    blob.digest,
                    from.name()
                ));
                continue;
            }
        }
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

/// The parent's repository to mount shared layers from, when it is on `target`'s registry
/// (a registry mounts only what it holds itself).
fn mount_source<'a>(
    target: &Repository,
    shared: Option<&'a SharedLayers>,
) -> Option<(Repository, &'a [oci::Digest])> {
    let shared = shared?;
    let from = Repository::parse(&shared.repository).ok()?;
    (from.registry() == target.registry() && &from != target)
        .then_some((from, shared.digests.as_slice()))
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, PushError> {
    std::fs::read(path).map_err(|source| PushError::Blob {
        path: path.display().to_string(),
        source,
    })
}
