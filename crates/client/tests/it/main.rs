//! The client against real registries over real sockets: Hallmark's in process (open, with
//! token auth, and behind layers that make it behave like other registries), and Debian's
//! distribution 2.8 (`docker-registry`, ignored unless installed), behind a proxy that
//! fails requests (retries), and with Debian's `docker-credential-pass` (ignored unless
//! installed).

mod auth;
mod conditional;
mod content;
mod cred_helper;
mod distribution;
mod referrers;
mod retry;
mod server;
mod tls;

use client::{Client, Repository};
use oci::manifest::{Descriptor, ImageConfig, ImageManifest, MediaType, RootFs};
use oci::{Digest, DigestAlgorithm};

/// An image as pushed: its manifest's bytes and digest, and its blobs.
#[derive(Debug)]
pub struct Pushed {
    pub digest: Digest,
    pub manifest: Vec<u8>,
    pub config: Descriptor,
    pub layer: Descriptor,
}

/// A one-file tar, so the layer is a real one.
pub fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, content).unwrap();
    builder.into_inner().unwrap()
}

/// Pushes a one-layer linux/amd64 image (distinct per `seed`) and tags it `tag`.
pub fn push_image(client: &Client, repo: &Repository, tag: &str, seed: &str) -> Pushed {
    let tar = layer_tar("etc/seed", seed.as_bytes());
    let layer = client
        .push_blob_bytes(repo, MediaType::OCI_LAYER, &tar)
        .unwrap();
    let config = ImageConfig {
        platform: oci::Architecture::Amd64.platform().into(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![layer.digest.clone()],
        },
        ..ImageConfig::default()
    };
    let config = client
        .push_blob_bytes(
            repo,
            MediaType::OCI_CONFIG,
            &serde_json::to_vec(&config).unwrap(),
        )
        .unwrap();
    let manifest = image_manifest(config.clone(), vec![layer.clone()], None, None);
    let digest = client
        .put_manifest(repo, tag, MediaType::OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(digest, Digest::of(DigestAlgorithm::Sha256, &manifest));
    Pushed {
        digest,
        manifest,
        config,
        layer,
    }
}

/// An OCI image manifest's bytes.
pub fn image_manifest(
    config: Descriptor,
    layers: Vec<Descriptor>,
    artifact_type: Option<&str>,
    subject: Option<Descriptor>,
) -> Vec<u8> {
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_owned()),
        artifact_type: artifact_type.map(str::to_owned),
        config,
        layers,
        subject,
        annotations: Default::default(),
        extra: Default::default(),
    };
    serde_json::to_vec(&manifest).unwrap()
}

/// Pushes an artifact of `artifact_type` (an empty config and one small layer) that refers to
/// the image manifest `subject`, untagged; returns its digest.
pub fn push_referrer(
    client: &Client,
    repo: &Repository,
    subject: &[u8],
    artifact_type: &str,
) -> Digest {
    let empty = client
        .push_blob_bytes(repo, MediaType::OCI_EMPTY, b"{}")
        .unwrap();
    let payload = client
        .push_blob_bytes(
            repo,
            "application/vnd.example.payload",
            artifact_type.as_bytes(),
        )
        .unwrap();
    let subject = Descriptor::of(MediaType::OCI_MANIFEST, subject);
    let manifest = image_manifest(empty, vec![payload], Some(artifact_type), Some(subject));
    let digest = Digest::of(DigestAlgorithm::Sha256, &manifest);
    client
        .put_manifest(repo, digest.as_str(), MediaType::OCI_MANIFEST, &manifest)
        .unwrap()
}
