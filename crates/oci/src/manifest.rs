//! The JSON documents of an image, as the OCI image spec v1.1 and Docker's schema 2 name their
//! fields: descriptors, image manifests, indexes (manifest lists) and image configs.
//!
//! Parsing never fails on a field this module does not know: the documents keep such fields in
//! `extra`, so a config read and written back loses nothing. Serialising still yields new
//! bytes, though (key order and whitespace change), so whatever is stored, signed or pushed by
//! digest is always the original bytes, kept beside the parsed value.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Digest, DigestAlgorithm};

/// Unknown fields of a document, kept so that nothing is lost when it is written back.
pub type ExtraFields = BTreeMap<String, serde_json::Value>;

/// A namespace for the media types Hallmark reads and writes.
///
/// Media types stay plain strings in the documents because registries carry any type; these
/// are the ones code compares against.
#[derive(Debug)]
pub enum MediaType {}

impl MediaType {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &'static str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &'static str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &'static str = "application/vnd.oci.image.config.v1+json";
    /// OCI layer, uncompressed tar.
    pub const OCI_LAYER: &'static str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI layer, gzip-compressed tar.
    pub const OCI_LAYER_GZIP: &'static str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI layer, zstd-compressed tar.
    pub const OCI_LAYER_ZSTD: &'static str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// The empty JSON object `{}`, the config (or layer) of artifacts that need none.
    pub const OCI_EMPTY: &'static str = "application/vnd.oci.empty.v1+json";
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &'static str =
        "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &'static str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &'static str = "application/vnd.docker.container.image.v1+json";
    /// Docker layer, gzip-compressed tar.
    pub const DOCKER_LAYER_GZIP: &'static str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker foreign layer (Windows base layers), fetched from its `urls`.
    pub const DOCKER_FOREIGN_LAYER_GZIP: &'static str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// Every manifest and index type, in the order a client lists them in `Accept`.
    pub const MANIFEST_TYPES: [&'static str; 4] = [
        Self::OCI_MANIFEST,
        Self::OCI_INDEX,
        Self::DOCKER_MANIFEST,
        Self::DOCKER_MANIFEST_LIST,
    ];

    /// Whether `media_type` is an image manifest (OCI or Docker schema 2).
    pub fn is_image_manifest(media_type: &str) -> bool {
        matches!(media_type, Self::OCI_MANIFEST | Self::DOCKER_MANIFEST)
    }

    /// Whether `media_type` is an index (OCI index or Docker manifest list).
    pub fn is_index(media_type: &str) -> bool {
        matches!(media_type, Self::OCI_INDEX | Self::DOCKER_MANIFEST_LIST)
    }
}

/// The reference to one piece of content: its type, digest and size, and what else the
/// referrer wants a reader to know without fetching it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type. Required by the spec; read leniently as empty when missing.
    #[serde(default)]
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    pub size: u64,
    /// Where else the content may be fetched from (Docker's foreign layers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The platform an index entry is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type of the referenced manifest (in referrers lists and indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The content itself, base64-encoded, for small blobs embedded in the descriptor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl Descriptor {
    /// The descriptor of `content` with the given media type, digested with SHA-256.
    pub fn of(media_type: &str, content: &[u8]) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest: Digest::of(DigestAlgorithm::Sha256, content),
            size: content.len() as u64,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
            data: None,
        }
    }

    /// The descriptor of the empty JSON object `{}` (`application/vnd.oci.empty.v1+json`),
    /// which artifacts use as their config.
    pub fn empty() -> Self {
        Self::of(MediaType::OCI_EMPTY, EMPTY_JSON)
    }

    /// Whether this index entry is BuildKit's attestation manifest rather than an image.
    pub fn is_attestation_manifest(&self) -> bool {
        self.annotations
            .get(REFERENCE_TYPE_ANNOTATION)
            .is_some_and(|kind| kind == ATTESTATION_MANIFEST)
    }
}

/// The bytes of the empty descriptor's blob.
pub const EMPTY_JSON: &[u8] = b"{}";

/// The annotation that gives an OCI layout's index entry its tag (`skopeo inspect oci:DIR:TAG`).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The index-entry annotation saying what kind of reference an entry is (BuildKit's).
pub const REFERENCE_TYPE_ANNOTATION: &str = "vnd.docker.reference.type";
/// The index-entry annotation naming the manifest an attestation manifest is about.
pub const REFERENCE_DIGEST_ANNOTATION: &str = "vnd.docker.reference.digest";
/// The value of [`REFERENCE_TYPE_ANNOTATION`] on attestation manifests.
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

/// The platform an image runs on, as an index entry states it (and an image config, at its top
/// level: see [`ImageConfig::platform`]).
///
/// `architecture` and `os` are required by the spec but read as empty when missing, as
/// Docker's and distribution's decoders read them, so a registry accepts what they accept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// The CPU architecture (GOARCH values: `amd64`, `arm64`, `arm`, …).
    #[serde(default)]
    pub architecture: String,
    /// The operating system (GOOS values: `linux`, `windows`).
    #[serde(default)]
    pub os: String,
    /// The CPU variant (`v7`, `v8`), where the architecture has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The operating system version (Windows builds such as `10.0.20348.2227`).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required operating system features (`win32k`); `null` reads as none.
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
}

impl From<crate::Platform> for Platform {
    fn from(platform: crate::Platform) -> Self {
        Self {
            architecture: platform.architecture.to_owned(),
            os: platform.os.to_owned(),
            variant: platform.variant.map(str::to_owned),
            os_version: None,
            os_features: Vec::new(),
        }
    }
}

impl Platform {
    /// Whether this platform is `wanted` (`os`, `architecture` and, when `wanted` names one,
    /// `variant`); the OS version is not compared.
    pub fn satisfies(&self, wanted: &crate::Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && wanted
                .variant
                .is_none_or(|variant| self.variant.as_deref() == Some(variant))
    }
}

/// An image manifest: a config and the layers, OCI or Docker schema 2 (the fields agree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type; optional in OCI, always present in Docker's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The type of artifact this manifest carries, when it is not an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The image config (or an artifact's config, often [`Descriptor::empty`]).
    pub config: Descriptor,
    /// The layers, base first. Artifacts may have none.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, attestations, SBOMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields this type does not name.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// An index (Docker: manifest list): manifests for several platforms, or a list of artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type; optional in OCI, always present in Docker's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The type of artifact this index carries, when it is not a multi-platform image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests it lists.
    pub manifests: Vec<Descriptor>,
    /// The manifest this index refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields this type does not name.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ImageIndex {
    /// An OCI index of `manifests`, with nothing else set.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(MediaType::OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
            extra: ExtraFields::new(),
        }
    }

    /// The entries for `wanted`, in the index's order (an index may list several, such as an
    /// image and its attestation manifest; the first is the image by convention).
    pub fn entries_for(&self, wanted: &crate::Platform) -> impl Iterator<Item = &Descriptor> {
        let wanted = *wanted;
        self.manifests.iter().filter(move |entry| {
            entry
                .platform
                .as_ref()
                .is_some_and(|p| p.satisfies(&wanted))
        })
    }
}

/// A manifest of either kind, told apart by its media type.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// An image manifest (OCI or Docker schema 2).
    Image(Box<ImageManifest>),
    /// An index or manifest list.
    Index(Box<ImageIndex>),
}

/// Why bytes are not a manifest of a known kind.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not JSON of the expected shape.
    #[error("the manifest is not valid {kind} JSON: {source}")]
    Json {
        /// Which document was expected.
        kind: &'static str,
        /// What serde found wrong.
        source: serde_json::Error,
    },
    /// Neither the declared type nor the document's own says which kind it is.
    #[error("manifest media type {0:?} is not an OCI or Docker image manifest or index")]
    UnknownType(String),
}

impl Manifest {
    /// Parses `bytes` as the kind `media_type` names; when that is missing or generic (some
    /// registries serve `application/json`), the document's own `mediaType` decides, and a
    /// document with neither is told apart by having `manifests`.
    pub fn parse(media_type: Option<&str>, bytes: &[u8]) -> Result<Self, ManifestError> {
        let declared = media_type.filter(|t| MediaType::MANIFEST_TYPES.contains(t));
        let kind = match declared {
            Some(kind) => kind.to_owned(),
            None => sniff(bytes)?,
        };
        let json = |kind| move |source| ManifestError::Json { kind, source };
        if MediaType::is_index(&kind) {
            serde_json::from_slice(bytes)
                .map(|index| Self::Index(Box::new(index)))
                .map_err(json("index"))
        } else if MediaType::is_image_manifest(&kind) {
            serde_json::from_slice(bytes)
                .map(|image| Self::Image(Box::new(image)))
                .map_err(json("image manifest"))
        } else {
            Err(ManifestError::UnknownType(kind))
        }
    }

    /// The `schemaVersion` the document states (2 for every kind this module reads).
    pub fn schema_version(&self) -> u32 {
        match self {
            Self::Image(image) => image.schema_version,
            Self::Index(index) => index.schema_version,
        }
    }

    /// The `mediaType` the document itself states, if any.
    pub fn media_type(&self) -> Option<&str> {
        match self {
            Self::Image(image) => image.media_type.as_deref(),
            Self::Index(index) => index.media_type.as_deref(),
        }
    }

    /// The manifest's subject, if it refers to another manifest.
    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Self::Image(image) => image.subject.as_ref(),
            Self::Index(index) => index.subject.as_ref(),
        }
    }

    /// The manifest's annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Image(image) => &image.annotations,
            Self::Index(index) => &index.annotations,
        }
    }
}

/// The kind a document says it is, or an index when it lists `manifests`.
fn sniff(bytes: &[u8]) -> Result<String, ManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    let kind: Kind = serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
        kind: "manifest",
        source,
    })?;
    Ok(match (kind.media_type, kind.manifests) {
        (Some(media_type), _) => media_type,
        (None, Some(_)) => MediaType::OCI_INDEX.to_owned(),
        (None, None) => MediaType::OCI_MANIFEST.to_owned(),
    })
}

/// One image of a docker-archive (`docker save`, `docker image save`): its entry in the
/// archive's `manifest.json`, which is a JSON array of these. Names are paths inside the
/// archive (`<id>.json` and `<id>/layer.tar` in older archives, `blobs/sha256/<hex>` in newer
/// ones, which are also OCI layouts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerArchiveEntry {
    /// The image config.
    pub config: String,
    /// The tags the image was saved under (Docker writes `null` for an untagged image).
    #[serde(default, deserialize_with = "null_as_default")]
    pub repo_tags: Vec<String>,
    /// The layers' uncompressed tars, base first.
    pub layers: Vec<String>,
    /// Fields this type does not name (`Parent`, `LayerSources`).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// An image config: the platform, how to run the image, and the layers' uncompressed digests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// The platform, as the config's top-level `architecture`, `os`, `variant`, `os.version`
    /// and `os.features` state it. It comes first, so a config is written in the order it
    /// always was, and before [`ImageConfig::extra`], so its fields are not taken for extra.
    #[serde(flatten)]
    pub platform: Platform,
    /// When the image was created (RFC 3339), as the builder recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Who created the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// How a container of this image runs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: ContainerConfig,
    /// The layers' uncompressed digests.
    #[serde(default)]
    pub rootfs: RootFs,
    /// One entry per build step, including those that made no layer.
    #[serde(default, deserialize_with = "null_as_default")]
    pub history: Vec<History>,
    /// Fields this type does not name (Docker's `container_config`, `docker_version`, …).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// How a container runs: the `config` object of an image config, with Docker's capitalised
/// names. Docker writes `null` for empty lists and maps; they read as empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// The user (name or uid, optionally `:group`) the process runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Ports to expose, as `80/tcp` keys with empty-object values.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// Environment variables as `NAME=value`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    /// The entrypoint; `None` (unset) differs from an empty list (reset) for builders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// The default arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Paths that are volumes, as keys with empty-object values.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// The signal that stops the container (`SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Fields this type does not name (`Healthcheck`, `OnBuild`, `Shell`, …).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The layers' uncompressed digests (DiffIDs), base first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The digest of each layer's uncompressed tar.
    #[serde(default, deserialize_with = "null_as_default")]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        Self {
            kind: "layers".to_owned(),
            diff_ids: Vec::new(),
        }
    }
}

/// One build step of an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When the step ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command that ran (`/bin/sh -c #(nop) ADD file:… in /`, `RUN /bin/sh -c …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// A comment (`buildkit.dockerfile.v0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether the step made no layer (so it has no entry in `rootfs.diff_ids`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    /// The history entries that made layers, paired with the layer index they made, so a layer
    /// can be attributed to the step that made it.
    pub fn layer_history(&self) -> impl Iterator<Item = (usize, &History)> {
        self.history
            .iter()
            .filter(|step| !step.empty_layer)
            .enumerate()
    }
}

/// Reads `null` as the type's default, as Docker writes `null` for empty lists and maps.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
