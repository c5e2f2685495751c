//! Pushing built images and publishing multi-architecture tags, through the `client` crate.
//!
//! An architecture's agent pushes its image to `<arch>/<repo>` under every tag and SharedTag
//! of the entry, with its own robot's credentials; the registry lets that robot write only
//! its architecture's namespace. Publishing then reads those per-architecture images and
//! writes `library/<repo>:<tag>` as an index ([`crate::publish::assemble_index`]), mounting
//! each image's blobs across repositories rather than uploading them again.

use std::fs::File;
use std::io::BufReader;

use client::{Client, ClientError, Repository};
use oci::manifest::{Descriptor, ImageIndex, ImageManifest, Manifest, MediaType};
use oci::Architecture;

use crate::engine::BuiltImage;
use crate::publish::{assemble_index, ArchImage, Assembled};

/// Why a push or publish failed.
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

/// One architecture's image for a tag: where its agent pushed it.
#[derive(Debug, Clone)]
pub struct ArchSource {
    /// The architecture.
    pub arch: Architecture,
    /// `<arch>/<repo>` on the registry.
    pub repository: Repository,
    /// The tag its agent pushed (the entry's first tag, unique to the entry).
    pub tag: String,
}

/// A tag published under `library/`.
#[derive(Debug, Clone)]
pub struct PublishedTag {
    /// The index's digest.
    pub digest: oci::Digest,
    /// The index and what happened to each architecture.
    pub assembled: Assembled,
}

/// Publishes `library/<repo>:<tag>` as an index over the architectures `declared`, from the
/// images under `sources` and the index published now.
pub fn publish_tag(
    client: &Client,
    target: &Repository,
    tag: &str,
    declared: &[Architecture],
    sources: &[ArchSource],
    progress: &mut dyn FnMut(&str),
) -> Result<PublishedTag, PushError> {
    let mut built = Vec::new();
    for source in sources {
        let Some(info) = client.manifest_exists(&source.repository, &source.tag)? else {
            progress(&format!(
                "{}:{}: not built yet",
                source.repository.name(),
                source.tag
            ));
            continue;
        };
        let fetched = client.manifest(&source.repository, &info.digest.to_string())?;
        let manifest: ImageManifest = serde_json::from_slice(&fetched.bytes).map_err(|err| {
            PushError::Manifest(source.repository.name().to_owned(), err.to_string())
        })?;
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !client.mount_blob(target, &blob.digest, &source.repository)? {
                let bytes = client.blob(&source.repository, &blob.digest)?;
                client.push_blob_bytes(target, &blob.media_type, &bytes)?;
            }
        }
        let digest = fetched.digest.to_string();
        client.put_manifest(target, &digest, &fetched.media_type, &fetched.bytes)?;
        built.push(ArchImage {
            arch: source.arch,
            manifest: Descriptor::of(&fetched.media_type, &fetched.bytes),
        });
    }
    let current = current_index(client, target, tag)?;
    let assembled = assemble_index(declared, &built, current.as_ref());
    let bytes = serde_json::to_vec(&assembled.index).expect("an index serialises");
    let digest = client.put_manifest(target, tag, MediaType::OCI_INDEX, &bytes)?;
    progress(&format!("{}:{tag} -> {digest}", target.name()));
    Ok(PublishedTag { digest, assembled })
}

/// The index published at `tag` now, if there is one.
fn current_index(
    client: &Client,
    target: &Repository,
    tag: &str,
) -> Result<Option<ImageIndex>, PushError> {
    match client.manifest(target, tag) {
        Ok(fetched) => match fetched.parse() {
            Ok(Manifest::Index(index)) => Ok(Some(*index)),
            Ok(_) => Ok(None),
            Err(err) => Err(PushError::Manifest(
                format!("{}:{tag}", target.name()),
                err.to_string(),
            )),
        },
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err.into()),
    }
}
