//! Where signatures and attestations live in a registry, as data: the manifests and blobs to
//! push for an image, and how to recognise them when reading the image back. No I/O here; the
//! caller pushes each [`Upload`]'s blobs, then its manifest, byte for byte.
//!
//! Three layouts, each matching what another tool reads:
//! - BuildKit's (and Docker Official Images'): an attestation manifest per platform manifest
//!   inside the image index, platform `unknown/unknown`, annotated with
//!   `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest`; its
//!   layers are the in-toto statements (`application/vnd.in-toto+json`, annotated with
//!   `in-toto.io/predicate-type`). Beside each statement Hallmark adds the DSSE envelope that
//!   signs it (`application/vnd.dsse.envelope.v1+json`), which BuildKit's readers skip as an
//!   unknown layer type.
//! - OCI 1.1 referrers: one artifact manifest per envelope with `subject` set to the platform
//!   manifest, and cosign's Sigstore bundle v0.3 referrer (cosign's `specs/BUNDLE_SPEC.md`).
//! - cosign's legacy signature tag `sha256-<hex>.sig`: an image manifest whose layers are
//!   simple-signing payloads, each with its signature in an annotation
//!   (cosign's `specs/SIGNATURE_SPEC.md`).

use std::collections::BTreeMap;

use oci::manifest::{Descriptor, ImageIndex, ImageManifest, MediaType, Platform, EMPTY_JSON};
// BuildKit's attestation-manifest annotations live in `oci` (scans and pulls skip such
// entries too); they are named here beside the annotations attach writes.
pub use oci::manifest::{
    ATTESTATION_MANIFEST, REFERENCE_DIGEST_ANNOTATION, REFERENCE_TYPE_ANNOTATION,
};

use crate::cosign::{Bundle, SignedPayload, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::predicate::{CYCLONEDX_BOM, SPDX_DOCUMENT};
use crate::statement::{Statement, StatementError};
use crate::time::Timestamp;

/// The media type of a layer holding a DSSE envelope as JSON.
pub const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation naming a statement's predicate type (BuildKit's).
pub const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// What a bundle referrer holds (`dsse-envelope` or `message-signature`), per cosign.
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The predicate type of the statement in a bundle referrer, per cosign.
pub const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// When an artifact was made (OCI's pre-defined annotation).
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// Content to push: its descriptor and its exact bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    /// Media type, digest and size of `bytes`, plus any annotations for where it is listed.
    pub descriptor: Descriptor,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(media_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            descriptor: Descriptor::of(media_type, &bytes),
            bytes,
        }
    }

    fn annotated(mut self, annotations: &[(&str, &str)]) -> Self {
        for (key, value) in annotations {
            self.descriptor
                .annotations
                .insert((*key).to_owned(), (*value).to_owned());
        }
        self
    }
}

/// A manifest to push, and the blobs that must be in the repository before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The manifest: its descriptor and the exact bytes to `PUT`.
    pub manifest: Blob,
    /// Blobs it references, to push first (a registry may already have some).
    pub blobs: Vec<Blob>,
}

/// Why an envelope cannot be attached where it was asked to go.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The envelope does not carry an in-toto statement.
    #[error("the envelope's payload type is {0:?}, not {IN_TOTO_PAYLOAD_TYPE}")]
    PayloadType(String),
    /// The payload is not a statement.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// The statement is about another manifest than the one it is attached to.
    #[error("the statement is not about {0}; attach it to the manifest its subject names")]
    Subject(oci::Digest),
}

/// The statement an envelope signs, checked to be about `subject`.
fn statement_about(envelope: &Envelope, subject: &oci::Digest) -> Result<Statement, AttachError> {
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(AttachError::PayloadType(envelope.payload_type.clone()));
    }
    let statement = Statement::from_payload(&envelope.payload)?;
    if !statement.is_about(subject) {
        return Err(AttachError::Subject(subject.clone()));
    }
    Ok(statement)
}

/// A manifest's bytes, serialised once here and kept from then on.
fn manifest_blob(manifest: &ImageManifest) -> Blob {
    let media_type = manifest
        .media_type
        .as_deref()
        .unwrap_or(MediaType::OCI_MANIFEST);
    Blob::new(
        media_type,
        serde_json::to_vec(manifest).expect("a manifest always serialises"),
    )
}

/// An OCI image manifest of `config` and `layers`.
fn image_manifest(config: Descriptor, layers: Vec<Descriptor>) -> ImageManifest {
    ImageManifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_owned()),
        artifact_type: None,
        config,
        layers,
        subject: None,
        annotations: BTreeMap::new(),
        extra: BTreeMap::new(),
    }
}

/// A config that lists `layers` as its root filesystem, for image-shaped manifests that only
/// carry data (attestation and signature manifests), so that tools reading them as images
/// find a consistent config.
fn data_config(platform: &str, layers: &[Descriptor], zero_time: bool) -> Blob {
    let diff_ids: Vec<&oci::Digest> = layers.iter().map(|layer| &layer.digest).collect();
    let mut config = serde_json::json!({
        "architecture": platform,
        "os": platform,
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    if zero_time {
        // cosign's signature images carry Go's zero time, as go-containerregistry's empty
        // image does; nothing reads it, but it keeps our config cosign's shape.
        config["created"] = "0001-01-01T00:00:00Z".into();
        config["history"] = serde_json::json!([{ "created": "0001-01-01T00:00:00Z" }]);
    }
    Blob::new(
        MediaType::OCI_CONFIG,
        serde_json::to_vec(&config).expect("a config always serialises"),
    )
}

/// The subject field of a referrer: media type, digest and size only.
fn subject_of(descriptor: &Descriptor) -> Descriptor {
    let mut subject = Descriptor::of(&descriptor.media_type, b"");
    subject.digest = descriptor.digest.clone();
    subject.size = descriptor.size;
    subject
}

/// The attestation manifest for the platform manifest `subject`, BuildKit's way: the layers
/// of `existing` (an earlier attestation manifest for the same subject) are kept, and each
/// envelope adds its statement (the envelope's payload bytes, unchanged) and the envelope
/// itself. Returns the upload and the entry to put in the index.
pub fn attestation_manifest(
    subject: &Descriptor,
    existing: Option<&ImageManifest>,
    envelopes: &[Envelope],
) -> Result<(Upload, Descriptor), AttachError> {
    let mut layers: Vec<Descriptor> = existing.map(|m| m.layers.clone()).unwrap_or_default();
    let mut blobs = Vec::new();
    for envelope in envelopes {
        let statement = statement_about(envelope, &subject.digest)?;
        let annotation = [(PREDICATE_TYPE_ANNOTATION, statement.predicate_type.as_str())];
        for blob in [
            Blob::new(IN_TOTO_PAYLOAD_TYPE, envelope.payload.clone()),
            Blob::new(DSSE_ENVELOPE_MEDIA_TYPE, envelope.to_json()),
        ] {
            let blob = blob.annotated(&annotation);
            if !layers.iter().any(|l| l.digest == blob.descriptor.digest) {
                layers.push(blob.descriptor.clone());
                blobs.push(blob);
            }
        }
    }
    let config = data_config("unknown", &layers, false);
    let manifest = manifest_blob(&image_manifest(config.descriptor.clone(), layers));
    blobs.insert(0, config);
    let mut entry = manifest.descriptor.clone();
    entry.platform = Some(Platform {
        architecture: "unknown".to_owned(),
        os: "unknown".to_owned(),
        ..Platform::default()
    });
    entry.annotations = BTreeMap::from([
        (
            REFERENCE_TYPE_ANNOTATION.to_owned(),
            ATTESTATION_MANIFEST.to_owned(),
        ),
        (
            REFERENCE_DIGEST_ANNOTATION.to_owned(),
            subject.digest.to_string(),
        ),
    ]);
    Ok((Upload { manifest, blobs }, entry))
}

/// `index` with `entries` (from [`attestation_manifest`]) in place of any attestation
/// manifests for the same subjects. The index is new bytes, so a new digest: sign it after.
pub fn index_with_attestations(index: &ImageIndex, entries: &[Descriptor]) -> Blob {
    let replaced: Vec<Option<oci::Digest>> = entries.iter().map(attestation_subject).collect();
    let mut index = index.clone();
    index
        .manifests
        .retain(|entry| attestation_subject(entry).is_none_or(|s| !replaced.contains(&Some(s))));
    index.manifests.extend(entries.iter().cloned());
    let media_type = index
        .media_type
        .clone()
        .unwrap_or_else(|| MediaType::OCI_INDEX.to_owned());
    Blob::new(
        &media_type,
        serde_json::to_vec(&index).expect("an index always serialises"),
    )
}

/// The manifest an index entry attests to, when the entry is an attestation manifest.
pub fn attestation_subject(entry: &Descriptor) -> Option<oci::Digest> {
    if !entry.is_attestation_manifest() {
        return None;
    }
    entry
        .annotations
        .get(REFERENCE_DIGEST_ANNOTATION)?
        .parse()
        .ok()
}

/// The index's image manifests: every entry that is not an attestation manifest.
pub fn platform_manifests(index: &ImageIndex) -> impl Iterator<Item = &Descriptor> {
    index
        .manifests
        .iter()
        .filter(|entry| attestation_subject(entry).is_none())
}

/// The artifact type of an attestation referrer: the predicate's own document type where it
/// has one (SPDX, CycloneDX), otherwise in-toto's.
pub fn attestation_artifact_type(predicate_type: &str) -> &'static str {
    match predicate_type {
        SPDX_DOCUMENT => "application/spdx+json",
        CYCLONEDX_BOM => "application/vnd.cyclonedx+json",
        _ => IN_TOTO_PAYLOAD_TYPE,
    }
}

/// An artifact manifest over an empty config, with `subject` set.
fn referrer(
    subject: &Descriptor,
    artifact_type: &str,
    layer: Blob,
    annotations: &[(&str, &str)],
) -> Upload {
    let mut manifest = image_manifest(Descriptor::empty(), vec![layer.descriptor.clone()]);
    manifest.artifact_type = Some(artifact_type.to_owned());
    manifest.subject = Some(subject_of(subject));
    manifest.annotations = annotations
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Upload {
        manifest: manifest_blob(&manifest),
        blobs: vec![Blob::new(MediaType::OCI_EMPTY, EMPTY_JSON.to_vec()), layer],
    }
}

/// The OCI 1.1 referrer carrying `envelope` for `subject`.
pub fn attestation_referrer(
    subject: &Descriptor,
    envelope: &Envelope,
    created: Timestamp,
) -> Result<Upload, AttachError> {
    let statement = statement_about(envelope, &subject.digest)?;
    let predicate_type = statement.predicate_type.as_str();
    let created = created.to_string();
    let layer = Blob::new(DSSE_ENVELOPE_MEDIA_TYPE, envelope.to_json())
        .annotated(&[(PREDICATE_TYPE_ANNOTATION, predicate_type)]);
    Ok(referrer(
        subject,
        attestation_artifact_type(predicate_type),
        layer,
        &[
            (PREDICATE_TYPE_ANNOTATION, predicate_type),
            (CREATED_ANNOTATION, &created),
        ],
    ))
}

/// The Sigstore bundle v0.3 referrer for `subject`, laid out as cosign's bundle
/// specification says (artifact type and single layer both the bundle's media type).
pub fn bundle_referrer(
    subject: &Descriptor,
    bundle: &Bundle,
    created: Timestamp,
) -> Result<Upload, AttachError> {
    let statement = statement_about(&bundle.dsse_envelope, &subject.digest)?;
    let created = created.to_string();
    let layer = Blob::new(crate::cosign::BUNDLE_MEDIA_TYPE, bundle.to_json());
    Ok(referrer(
        subject,
        crate::cosign::BUNDLE_MEDIA_TYPE,
        layer,
        &[
            (BUNDLE_CONTENT_ANNOTATION, "dsse-envelope"),
            (BUNDLE_PREDICATE_TYPE_ANNOTATION, &statement.predicate_type),
            (CREATED_ANNOTATION, &created),
        ],
    ))
}

/// cosign's signature manifest (the `sha256-<hex>.sig` tag) with `signed` added to the
/// signatures `existing` already holds; signing the same payload with the same result twice
/// adds nothing.
pub fn signature_manifest(existing: Option<&ImageManifest>, signed: &SignedPayload) -> Upload {
    let annotation = signed.signature_annotation();
    let layer = Blob::new(SIMPLE_SIGNING_MEDIA_TYPE, signed.payload.clone())
        .annotated(&[(SIGNATURE_ANNOTATION, &annotation)]);
    let mut layers: Vec<Descriptor> = existing.map(|m| m.layers.clone()).unwrap_or_default();
    let mut blobs = Vec::new();
    if !layers.contains(&layer.descriptor) {
        layers.push(layer.descriptor.clone());
        blobs.push(layer);
    }
    let config = data_config("", &layers, true);
    let manifest = manifest_blob(&image_manifest(config.descriptor.clone(), layers));
    blobs.insert(0, config);
    Upload { manifest, blobs }
}

/// The simple-signing layers of a signature manifest with their signature annotations.
pub fn signature_layers(manifest: &ImageManifest) -> impl Iterator<Item = (&Descriptor, &str)> {
    manifest.layers.iter().filter_map(|layer| {
        (layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
            .then(|| layer.annotations.get(SIGNATURE_ANNOTATION))
            .flatten()
            .map(|signature| (layer, signature.as_str()))
    })
}

/// The layers of a manifest that hold DSSE envelopes.
pub fn envelope_layers(manifest: &ImageManifest) -> impl Iterator<Item = &Descriptor> {
    manifest
        .layers
        .iter()
        .filter(|layer| layer.media_type == DSSE_ENVELOPE_MEDIA_TYPE)
}

#[cfg(test)]
mod tests;
