//! Parents in registries: an external parent's tag resolved to the digest of its image for
//! one architecture ([`RegistryParents`], the [`ParentResolver`] `hallmark build` plans
//! with), and a pinned parent's layers exactly as its registry serves them
//! ([`parent_layers`]), which an engine build reuses instead of compressing the same files
//! again.
//!
//! Everything comes through the `client` crate, so manifests and configs are checked against
//! their digests, credentials come from `--creds` or the docker config, and loopback
//! registries are spoken to over plain HTTP.

use client::{Client, ClientError, Repository};
use oci::manifest::{ImageConfig, ImageManifest, Manifest};
use oci::{Architecture, Digest, ImageReference};

use crate::archive::Layer;
use crate::plan::{ParentResolver, ResolveError, StaticParents};

/// Why a parent's image could not be read from its registry.
#[derive(Debug, thiserror::Error)]
pub enum ParentError {
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] ClientError),
    /// The reference names no repository the client can reach.
    #[error("{0} names no registry repository")]
    Reference(String),
    /// A manifest or config is not what an image is made of.
    #[error("{0}")]
    Invalid(String),
    /// The image is not built for the architecture.
    #[error("it has no image for {0}")]
    NoPlatform(Architecture),
}

/// Resolves parents from outside the library: first the pins given on the command line
/// (`--parent IMAGE=DIGEST`), then the image's own registry, by tag.
#[derive(Debug)]
pub struct RegistryParents {
    client: Client,
    pins: StaticParents,
}

impl RegistryParents {
    /// Asks `client`'s registries after `pins`.
    pub fn new(client: Client, pins: StaticParents) -> Self {
        RegistryParents { client, pins }
    }
}

impl ParentResolver for RegistryParents {
    fn digest(&self, image: &ImageReference, arch: Architecture) -> Result<Digest, ResolveError> {
        if let Ok(pinned) = self.pins.digest(image, arch) {
            return Ok(pinned);
        }
        let resolved = repository_of(image).and_then(|repository| {
            platform_image(&self.client, &repository, image.tag_or_latest(), arch)
        });
        resolved.map(|image| image.digest).map_err(|err| {
            ResolveError(format!(
                "cannot resolve FROM {image} to a digest: {err} (check the reference and the registry's credentials, --creds or --authfile, or pin it with --parent {image}=sha256:…)"
            ))
        })
    }
}

/// The repository an image reference lives in, as the client names it.
pub fn repository_of(image: &ImageReference) -> Result<Repository, ParentError> {
    let name = format!("{}/{}", image.domain, image.path);
    Repository::parse(&name).map_err(|_| ParentError::Reference(image.to_string()))
}

/// The layers of the image `digest` (an image manifest, or an index holding one for `arch`)
/// in `repository`, base first: each blob's descriptor as the parent's manifest has it, with
/// the diff ID its config names.
pub fn parent_layers(
    client: &Client,
    repository: &Repository,
    digest: &Digest,
    arch: Architecture,
) -> Result<Vec<Layer>, ParentError> {
    let image = platform_image(client, repository, digest.as_str(), arch)?;
    let diff_ids = image.config.rootfs.diff_ids;
    if diff_ids.len() != image.manifest.layers.len() {
        return Err(ParentError::Invalid(format!(
            "{repository}@{}: the manifest has {} layers, the config {} diff IDs",
            image.digest,
            image.manifest.layers.len(),
            diff_ids.len()
        )));
    }
    Ok(image
        .manifest
        .layers
        .into_iter()
        .zip(diff_ids)
        .map(|(descriptor, diff_id)| Layer {
            descriptor,
            diff_id,
        })
        .collect())
}

/// An image manifest for one platform, with its config.
struct PlatformImage {
    digest: Digest,
    manifest: ImageManifest,
    config: ImageConfig,
}

/// The image `reference` (a tag or digest) names in `repository` for `arch`: the manifest
/// itself, or the entry of an index for the platform; its config must state that platform.
fn platform_image(
    client: &Client,
    repository: &Repository,
    reference: &str,
    arch: Architecture,
) -> Result<PlatformImage, ParentError> {
    let wanted = arch.platform();
    let mut fetched = client.manifest(repository, reference)?;
    if let Manifest::Index(index) = parse(repository, &fetched)? {
        let entry = index
            .entries_for(&wanted)
            .next()
            .ok_or(ParentError::NoPlatform(arch))?;
        fetched = client.manifest(repository, entry.digest.as_str())?;
    }
    let Manifest::Image(manifest) = parse(repository, &fetched)? else {
        return Err(ParentError::Invalid(format!(
            "{repository}@{}: an index lists another index for {arch}",
            fetched.digest
        )));
    };
    let config = client.blob(repository, &manifest.config.digest)?;
    let config: ImageConfig = serde_json::from_slice(&config).map_err(|err| {
        ParentError::Invalid(format!(
            "{repository}@{}: the config is not an image config: {err}",
            fetched.digest
        ))
    })?;
    if !config.platform.satisfies(&wanted) {
        return Err(ParentError::NoPlatform(arch));
    }
    Ok(PlatformImage {
        digest: fetched.digest,
        manifest: *manifest,
        config,
    })
}

fn parse(
    repository: &Repository,
    fetched: &client::FetchedManifest,
) -> Result<Manifest, ParentError> {
    fetched
        .parse()
        .map_err(|err| ParentError::Invalid(format!("{repository}@{}: {err}", fetched.digest)))
}
