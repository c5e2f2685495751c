//! Publishing a tag on a registry: each entry's per-architecture image is read where its
//! agent pushed it, its config read for the platform, its blobs mounted across repositories
//! rather than uploaded again, and the index [`super::assemble_index`] makes is written.
//!
//! The same step writes `library/<repo>:<tag>` for `hallmark publish` and, for an agent, a
//! SharedTag in its own `<arch>/<repo>` over the entries sharing it on that architecture,
//! so that no entry's push replaces another's there either.
//!
//! Writers of one tag (two agents of an architecture, two `publish` runs) each read the
//! index, merge their images in and write it back, so the write is conditional on the read:
//! `If-Match` on the digest read (`If-None-Match: *` when there was none). When another writer
//! got in between, the registry answers 412 and the tag is read and merged again, a bounded
//! number of times. A registry that ignores the conditions (distribution 2.8 does) takes every
//! write as before: there, the later of two racing writers may still drop the other's image
//! until its next push.

use client::{Client, ClientError, Repository, TagExpected};
use library::LibraryFile;
use oci::manifest::{Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest, MediaType};
use oci::Architecture;

use super::{assemble_index, image_platform, ArchImage, Assembled, PlatformMismatch, TagEntry};
use crate::plan::PlannedBuild;

/// Why a tag could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] ClientError),
    /// A manifest or config is not what its media type says.
    #[error("the manifest of {0} cannot be read: {1}")]
    Manifest(String, String),
    /// Other writers moved the tag between every read and write.
    #[error("{image} was moved by other publishers on each of {attempts} attempts: publish again")]
    Contended {
        /// The tag, `<repo>:<tag>`.
        image: String,
        /// How many times it was read, merged and written.
        attempts: usize,
    },
    /// An image is not for the architecture it was pushed as.
    #[error("{image}: {source}")]
    Platform {
        /// The image, `<arch>/<repo>:<tag>`.
        image: String,
        /// What its config says.
        source: PlatformMismatch,
    },
}

/// One entry's image for one architecture: where its agent pushed it.
#[derive(Debug, Clone)]
pub struct ArchSource {
    /// The entry's name ([`TagEntry::name`]).
    pub entry: String,
    /// The architecture.
    pub arch: Architecture,
    /// `<arch>/<repo>` on the registry.
    pub repository: Repository,
    /// The tag its agent pushed (the entry's first tag, unique to the entry).
    pub tag: String,
}

/// Where the agents of `entries` pushed each architecture: `<arch>/<repo>:<first tag>` on
/// the registry of `target`.
pub fn arch_sources(
    target: &Repository,
    entries: &[TagEntry],
) -> Result<Vec<ArchSource>, PublishError> {
    let mut sources = Vec::new();
    for entry in entries {
        for &arch in &entry.architectures {
            sources.push(ArchSource {
                entry: entry.name(),
                arch,
                repository: target.sibling(&format!("{arch}/{}", entry.repo))?,
                tag: entry.first_tag.clone(),
            });
        }
    }
    Ok(sources)
}

/// How often a tag is read, merged and written before publishing gives up: each failed
/// write means another writer's got in, so this many writers racing still all get theirs in.
const PUBLISH_ATTEMPTS: usize = 10;

/// A tag published.
#[derive(Debug, Clone)]
pub struct PublishedTag {
    /// The index's digest.
    pub digest: oci::Digest,
    /// The index and what happened to each entry's architectures.
    pub assembled: Assembled,
}

/// Publishes `target:tag` as an index over `entries` (in library file order), from the
/// images under `sources` and the index published now, merging again when another writer
/// moves the tag meanwhile (see the module's documentation).
pub fn publish_tag(
    client: &Client,
    target: &Repository,
    tag: &str,
    entries: &[TagEntry],
    sources: &[ArchSource],
    progress: &mut dyn FnMut(&str),
) -> Result<PublishedTag, PublishError> {
    let image = format!("{}:{tag}", target.name());
    for _ in 0..PUBLISH_ATTEMPTS {
        // The tag is read before the sources: a write conditional on this read that succeeds
        // follows every source push whose writer's index it replaces, so it has those images.
        let current = current_index(client, target, tag)?;
        let built = built_images(client, target, sources, progress)?;
        let assembled = assemble_index(entries, &built, current.index.as_ref());
        let bytes = serde_json::to_vec(&assembled.index).expect("an index serialises");
        let media_type = MediaType::OCI_INDEX;
        match client.put_manifest_if(target, tag, media_type, &bytes, &current.expected) {
            Ok(digest) => {
                progress(&format!("{image} -> {digest}"));
                return Ok(PublishedTag { digest, assembled });
            }
            Err(ClientError::TagMoved { .. }) => {
                progress(&format!("{image} moved meanwhile: merging again"));
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(PublishError::Contended {
        image,
        attempts: PUBLISH_ATTEMPTS,
    })
}

/// The images the agents pushed under `sources`, copied into `target` where they are
/// elsewhere.
fn built_images(
    client: &Client,
    target: &Repository,
    sources: &[ArchSource],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ArchImage>, PublishError> {
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
        let image = format!("{}:{}", source.repository.name(), source.tag);
        let manifest: ImageManifest = serde_json::from_slice(&fetched.bytes)
            .map_err(|err| PublishError::Manifest(image.clone(), err.to_string()))?;
        let config = client.blob(&source.repository, &manifest.config.digest)?;
        let config: ImageConfig = serde_json::from_slice(&config)
            .map_err(|err| PublishError::Manifest(image.clone(), format!("its config: {err}")))?;
        let platform = image_platform(source.arch, &config)
            .map_err(|source| PublishError::Platform { image, source })?;
        if source.repository != *target {
            copy_image(client, target, source, &manifest)?;
            let digest = fetched.digest.to_string();
            client.put_manifest(target, &digest, &fetched.media_type, &fetched.bytes)?;
        }
        built.push(ArchImage {
            entry: source.entry.clone(),
            arch: source.arch,
            manifest: Descriptor::of(&fetched.media_type, &fetched.bytes),
            platform,
        });
    }
    Ok(built)
}

/// Writes each SharedTag of `build` in the agent's own `<arch>/<repo>` (`target`) as an
/// index over every entry of `file` sharing it on `build`'s architecture, once `build`'s
/// image is pushed under its own tags: an agent building two entries that share a tag (two
/// Windows variants) keeps both there, rather than the later push replacing the other.
pub fn publish_arch_shared_tags(
    client: &Client,
    target: &Repository,
    file: &LibraryFile,
    build: &PlannedBuild,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<PublishedTag>, PublishError> {
    let mut published = Vec::new();
    for tag in &build.shared_tags {
        let entries: Vec<TagEntry> = file
            .entries_for_tag(tag)
            .into_iter()
            .filter_map(|entry| TagEntry::of(&build.repo, entry, Some(build.arch)))
            .collect();
        let sources = arch_sources(target, &entries)?;
        published.push(publish_tag(
            client, target, tag, &entries, &sources, progress,
        )?);
    }
    Ok(published)
}

/// Makes the blobs of `manifest` exist in `target`: mounted from `source`, uploaded where
/// the registry refuses the mount.
fn copy_image(
    client: &Client,
    target: &Repository,
    source: &ArchSource,
    manifest: &ImageManifest,
) -> Result<(), PublishError> {
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        if !client.mount_blob(target, &blob.digest, &source.repository)? {
            let bytes = client.blob(&source.repository, &blob.digest)?;
            client.push_blob_bytes(target, &blob.media_type, &bytes)?;
        }
    }
    Ok(())
}

/// A tag as read: what a write must find it still to be, and its index, if it is one.
struct CurrentIndex {
    expected: TagExpected,
    index: Option<ImageIndex>,
}

/// The tag as published now.
fn current_index(
    client: &Client,
    target: &Repository,
    tag: &str,
) -> Result<CurrentIndex, PublishError> {
    let fetched = match client.manifest(target, tag) {
        Ok(fetched) => fetched,
        Err(err) if err.is_not_found() => {
            return Ok(CurrentIndex {
                expected: TagExpected::Absent,
                index: None,
            })
        }
        Err(err) => return Err(err.into()),
    };
    let index = match fetched.parse() {
        Ok(Manifest::Index(index)) => Some(*index),
        Ok(_) => None,
        Err(err) => {
            let image = format!("{}:{tag}", target.name());
            return Err(PublishError::Manifest(image, err.to_string()));
        }
    };
    Ok(CurrentIndex {
        expected: TagExpected::At(fetched.digest),
        index,
    })
}
