//! Registry images for `hallmark scan`: the manifest (and, for an index, each selected
//! platform's manifest), configs and layers are pulled through the `client` crate into a
//! temporary OCI layout, every blob verified against its digest as it arrives, and the
//! layout is then scanned like any `oci:` image. Only the platforms `--platform` selects are
//! downloaded.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use client::{Client, ClientOptions, ImageRef, Repository};
use oci::manifest::{Descriptor, ImageIndex, ImageManifest, Manifest, REF_NAME_ANNOTATION};
use oci::Digest;

/// The tag the temporary layout gives the pulled image.
pub const TAG: &str = "scan";

/// Pulls `name` into a new temporary folder holding an OCI layout tagged [`TAG`].
pub fn pull(
    name: &str,
    platform: Option<&str>,
    options: ClientOptions,
) -> anyhow::Result<tempfile::TempDir> {
    let image = ImageRef::parse(name)?;
    let client = Client::new(options)?;
    let repository = &image.repository;
    let layout = tempfile::tempdir().context("creating a temporary folder for the pull")?;
    let root = layout.path();
    let top = client.manifest(repository, &image.reference())?;
    write_blob(root, &top.digest, &top.bytes)?;
    match top.parse()? {
        Manifest::Index(index) => {
            for entry in &index.manifests {
                if !selected(entry, platform) {
                    continue;
                }
                let child = client.manifest(repository, entry.digest.as_str())?;
                write_blob(root, &child.digest, &child.bytes)?;
                match child.parse()? {
                    Manifest::Image(manifest) => pull_image(&client, repository, &manifest, root)?,
                    Manifest::Index(_) => anyhow::bail!(
                        "{image} lists the index {} inside its index; scan that index by digest",
                        entry.digest
                    ),
                }
            }
        }
        Manifest::Image(manifest) => pull_image(&client, repository, &manifest, root)?,
    }
    let mut entry = Descriptor::of(&top.media_type, &top.bytes);
    entry.digest = top.digest.clone();
    entry.annotations = BTreeMap::from([(REF_NAME_ANNOTATION.to_owned(), TAG.to_owned())]);
    let index = ImageIndex::new(vec![entry]);
    write_file(&root.join("index.json"), &serde_json::to_vec(&index)?)?;
    write_file(
        &root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    Ok(layout)
}

/// Whether an index entry is an image of the wanted platform (attestation manifests and
/// `unknown/unknown` entries are not images).
fn selected(entry: &Descriptor, wanted: Option<&str>) -> bool {
    let attestation = entry.is_attestation_manifest();
    let Some(platform) = &entry.platform else {
        return !attestation && wanted.is_none();
    };
    if attestation || platform.os == "unknown" {
        return false;
    }
    let Some(wanted) = wanted else { return true };
    let name = match &platform.variant {
        Some(variant) => format!("{}/{}/{variant}", platform.os, platform.architecture),
        None => format!("{}/{}", platform.os, platform.architecture),
    };
    name == wanted
        || name
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn pull_image(
    client: &Client,
    repository: &Repository,
    manifest: &ImageManifest,
    root: &Path,
) -> anyhow::Result<()> {
    let config = client.blob(repository, &manifest.config.digest)?;
    write_blob(root, &manifest.config.digest, &config)?;
    // A layer shared by two platforms is fetched once.
    let layers: BTreeMap<&Digest, u64> = manifest
        .layers
        .iter()
        .map(|l| (&l.digest, l.size))
        .collect();
    for (digest, size) in layers {
        let path = blob_path(root, digest)?;
        if path.exists() {
            continue;
        }
        eprintln!("pulling layer {digest} ({size} bytes)");
        let written = client.blob_to_file(repository, digest, &path)?;
        anyhow::ensure!(
            written == size,
            "layer {digest} is {written} bytes, but the manifest says {size}"
        );
    }
    Ok(())
}

fn blob_path(root: &Path, digest: &Digest) -> anyhow::Result<std::path::PathBuf> {
    let dir = root.join("blobs").join(digest.algorithm().name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(digest.hex()))
}

/// Stores bytes the client already verified against `digest`.
fn write_blob(root: &Path, digest: &Digest, bytes: &[u8]) -> anyhow::Result<()> {
    write_file(&blob_path(root, digest)?, bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
