//! Publishing a tag under `library/<repo>` on a registry: each entry's per-architecture
//! image is read where its agent pushed it, its blobs mounted across repositories rather than
//! uploaded again, and the index [`super::assemble_index`] makes is written.

use client::{Client, ClientError, Repository};
use oci::manifest::{Descriptor, ImageIndex, ImageManifest, Manifest, MediaType};
use oci::Architecture;

use super::{assemble_index, ArchImage, Assembled};

/// Why a tag could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] ClientError),
    /// A manifest is not what its media type says.
    #[error("the manifest of {0} cannot be read: {1}")]
    Manifest(String, String),
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
) -> Result<PublishedTag, PublishError> {
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
            PublishError::Manifest(source.repository.name().to_owned(), err.to_string())
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
) -> Result<Option<ImageIndex>, PublishError> {
    match client.manifest(target, tag) {
        Ok(fetched) => match fetched.parse() {
            Ok(Manifest::Index(index)) => Ok(Some(*index)),
            Ok(_) => Ok(None),
            Err(err) => Err(PublishError::Manifest(
                format!("{}:{tag}", target.name()),
                err.to_string(),
            )),
        },
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err.into()),
    }
}
