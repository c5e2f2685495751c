//! From an engine's docker-archive (`docker save`) to OCI blobs ready to push.
//!
//! The archive holds the config and each layer as an uncompressed tar. The layers the image
//! shares with its parent ([`Convert::parent_layers`]) are not compressed again: the manifest
//! names them with the parent's own descriptors, so the child's base layers are the very blobs
//! the parent was published with (a registry stores them once, a client pulls them once), and
//! the caller puts the parent's blobs into the layout. The layers the build added are
//! gzip-compressed here (flate2's zlib-rs backend at its default level 6, no name and no time
//! in the gzip header, so the same tar always gives the same blob), written under the output
//! folder's `blobs/sha256/` as an OCI image layout, and described by an OCI image manifest.
//!
//! Without clamping, the config keeps the engine's exact bytes, so the image ID the daemon
//! reported is the config digest pushed. With [`Convert::source_date_epoch`], the image is
//! made independent of the clock of the build:
//! - the layers the build added (not those of the parents, which are published content and
//!   stay byte for byte) have every time after the epoch set to it ([`clamp_tar_times`]);
//! - the config's `created` and every `history[].created` later than the epoch become the
//!   epoch;
//! - the classic builder's `container` (the build container's ID), `container_config` (its
//!   hostname is that ID) and `config.Image` (the daemon's ID of the last intermediate image,
//!   which holds that image's creation time) are removed: they name things that exist only
//!   inside the daemon that built it.
//!
//! The config is then serialised anew (its `rootfs.diff_ids` name the clamped layers), so
//! the pushed config digest differs from the daemon's image ID; two builds whose files are
//! equal come out with the same manifest digest.

mod clamp;

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use oci::manifest::{Descriptor, DockerArchiveEntry, ImageConfig, MediaType};
use oci::{Digest, DigestAlgorithm, DigestWriter};
use serde_json::{json, Value};

pub use clamp::clamp_tar_times;

/// The media type of the manifests written.
pub(crate) const MANIFEST_TYPE: &str = MediaType::OCI_MANIFEST;

/// Why an archive could not be turned into an OCI image.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// The archive is not a docker-archive of one image.
    #[error("not a docker-archive of one image: {0}")]
    Invalid(String),
    /// A layer's content is not the diff ID the config (or the parent's config) names.
    #[error("layer {index} of the archive is {found}, but the config names {expected}")]
    LayerMismatch {
        /// The layer's position, base first.
        index: usize,
        /// The config's diff ID.
        expected: String,
        /// What the layer hashes to.
        found: Digest,
    },
}

/// How to convert.
#[derive(Debug, Clone, Default)]
pub struct Convert {
    /// Clamp times to this many seconds after the Unix epoch (see the module doc).
    pub source_date_epoch: Option<u64>,
    /// The base layers that belong to the parent, base first, as the parent's manifest and
    /// config describe them: kept byte for byte and named by the parent's descriptors.
    pub parent_layers: Vec<Layer>,
}

/// A layer of an image: its descriptor in the manifest and its uncompressed digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The blob's descriptor (media type, digest, size, annotations).
    pub descriptor: Descriptor,
    /// The uncompressed tar's digest (the config's diff ID).
    pub diff_id: Digest,
}

/// An image written as an OCI image layout.
#[derive(Debug, Clone)]
pub struct OciImage {
    /// The layout's folder; its `blobs/sha256/` holds every blob below.
    pub layout: PathBuf,
    /// The manifest's exact bytes.
    pub manifest: Vec<u8>,
    /// Their digest.
    pub manifest_digest: Digest,
    /// The config's exact bytes.
    pub config: Vec<u8>,
    /// Their digest.
    pub config_digest: Digest,
    /// The layers, base first; the parent's come first and their blobs are not written here.
    pub layers: Vec<Layer>,
}

impl OciImage {
    /// Where a blob of this image lies.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_path(&self.layout, digest)
    }
}

/// Converts the docker-archive at `archive` into an OCI image layout in `layout` (created;
/// it must not hold another image).
pub fn docker_archive_to_oci(
    archive: &Path,
    layout: &Path,
    convert: Convert,
) -> Result<OciImage, ArchiveError> {
    let unpacked = tempfile::tempdir_in(parent_of(layout)).map_err(io_at(layout))?;
    let file = File::open(archive).map_err(io_at(archive))?;
    // tar refuses entries that climb out of the folder it unpacks into.
    tar::Archive::new(BufReader::new(file))
        .unpack(unpacked.path())
        .map_err(io_at(archive))?;
    let manifest_path = unpacked.path().join("manifest.json");
    let manifest_json = fs::read(&manifest_path).map_err(io_at(&manifest_path))?;
    let manifests: Vec<DockerArchiveEntry> = serde_json::from_slice(&manifest_json)
        .map_err(|err| ArchiveError::Invalid(format!("manifest.json: {err}")))?;
    let [entry] = manifests.as_slice() else {
        return Err(ArchiveError::Invalid(format!(
            "{} images in manifest.json, expected 1",
            manifests.len()
        )));
    };
    let config_path = inside(unpacked.path(), &entry.config)?;
    let config = fs::read(&config_path).map_err(io_at(&config_path))?;
    fs::create_dir_all(layout.join("blobs/sha256")).map_err(io_at(layout))?;
    let diff_ids = config_diff_ids(&config)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(ArchiveError::Invalid(format!(
            "the config names {} layers, the archive holds {}",
            diff_ids.len(),
            entry.layers.len()
        )));
    }
    if convert.parent_layers.len() > entry.layers.len() {
        return Err(ArchiveError::Invalid(format!(
            "the image has {} layers, fewer than the {} of its parent",
            entry.layers.len(),
            convert.parent_layers.len()
        )));
    }
    let mut layers = Vec::with_capacity(entry.layers.len());
    for (index, name) in entry.layers.iter().enumerate() {
        let tar = inside(unpacked.path(), name)?;
        let mismatch = |expected: &str, found: Digest| ArchiveError::LayerMismatch {
            index,
            expected: expected.to_owned(),
            found,
        };
        if let Some(parent) = convert.parent_layers.get(index) {
            let found = hash_file(&tar)?;
            if found != diff_ids[index] || found != parent.diff_id {
                return Err(mismatch(parent.diff_id.as_str(), found));
            }
            layers.push(parent.clone());
            continue;
        }
        let clamp = convert.source_date_epoch;
        let layer = write_layer(&tar, layout, clamp)?;
        if clamp.is_none() && layer.diff_id != diff_ids[index] {
            return Err(mismatch(diff_ids[index].as_str(), layer.diff_id));
        }
        layers.push(layer);
    }
    let config = match convert.source_date_epoch {
        Some(epoch) => clamped_config(&config, epoch, &layers)?,
        None => config,
    };
    finish_layout(layout, config, layers)
}

/// Writes the config, the manifest and `index.json`, `oci-layout`.
fn finish_layout(
    layout: &Path,
    config: Vec<u8>,
    layers: Vec<Layer>,
) -> Result<OciImage, ArchiveError> {
    let config_digest = write_blob(layout, &config)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": { "mediaType": MediaType::OCI_CONFIG, "digest": config_digest, "size": config.len() },
        "layers": layers.iter().map(|layer| json!(layer.descriptor)).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let manifest_digest = write_blob(layout, &manifest)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MediaType::OCI_INDEX,
        "manifests": [{ "mediaType": MANIFEST_TYPE, "digest": manifest_digest, "size": manifest.len() }],
    });
    write_atomically(
        &layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    write_atomically(&layout.join("index.json"), index.to_string().as_bytes())?;
    Ok(OciImage {
        layout: layout.to_owned(),
        manifest,
        manifest_digest,
        config,
        config_digest,
        layers,
    })
}

fn config_diff_ids(config: &[u8]) -> Result<Vec<Digest>, ArchiveError> {
    serde_json::from_slice::<ImageConfig>(config)
        .map(|c| c.rootfs.diff_ids)
        .map_err(|err| ArchiveError::Invalid(format!("the image config: {err}")))
}

/// The config with the build's clock and container removed (see the module doc).
fn clamped_config(config: &[u8], epoch: u64, layers: &[Layer]) -> Result<Vec<u8>, ArchiveError> {
    let mut value: Value = serde_json::from_slice(config)
        .map_err(|err| ArchiveError::Invalid(format!("the image config: {err}")))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| ArchiveError::Invalid("the image config is not an object".to_owned()))?;
    clamp_created(object, epoch);
    object.remove("container");
    object.remove("container_config");
    if let Some(run_config) = object.get_mut("config").and_then(Value::as_object_mut) {
        run_config.remove("Image");
    }
    if let Some(history) = object.get_mut("history").and_then(Value::as_array_mut) {
        for step in history.iter_mut().filter_map(Value::as_object_mut) {
            clamp_created(step, epoch);
        }
    }
    let diff_ids: Vec<Value> = layers.iter().map(|l| json!(l.diff_id)).collect();
    object.insert(
        "rootfs".to_owned(),
        json!({ "type": "layers", "diff_ids": diff_ids }),
    );
    Ok(serde_json::to_vec(&value).expect("a config serialises"))
}

/// Sets `created` to the epoch unless it is a time no later than it (a parent's history
/// keeps its own times).
fn clamp_created(object: &mut serde_json::Map<String, Value>, epoch: u64) {
    let epoch = attest::Timestamp::from_unix_seconds(i64::try_from(epoch).unwrap_or(i64::MAX));
    let earlier = object
        .get("created")
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<attest::Timestamp>().ok())
        .filter(|created| *created <= epoch);
    if earlier.is_none() {
        object.insert("created".to_owned(), Value::String(epoch.to_string()));
    }
}

/// The digest of a layer tar as it is (the parent's layers are checked, not rewritten).
fn hash_file(path: &Path) -> Result<Digest, ArchiveError> {
    let mut input = BufReader::new(File::open(path).map_err(io_at(path))?);
    let mut hashed = DigestWriter::new(io::sink(), DigestAlgorithm::Sha256);
    io::copy(&mut input, &mut hashed).map_err(io_at(path))?;
    Ok(hashed.finish().1)
}

/// Streams a layer tar (clamped if asked) through gzip into a blob, hashing both forms.
fn write_layer(tar: &Path, layout: &Path, clamp: Option<u64>) -> Result<Layer, ArchiveError> {
    let input = File::open(tar).map_err(io_at(tar))?;
    let temp =
        tempfile::NamedTempFile::new_in(layout.join("blobs/sha256")).map_err(io_at(layout))?;
    let compressed = DigestWriter::new(BufWriter::new(temp), DigestAlgorithm::Sha256);
    let gzip = flate2::GzBuilder::new()
        .mtime(0)
        .write(compressed, flate2::Compression::new(6));
    let mut uncompressed = DigestWriter::new(gzip, DigestAlgorithm::Sha256);
    let written = match clamp {
        Some(epoch) => clamp_tar_times(BufReader::new(input), &mut uncompressed, epoch),
        None => io::copy(&mut BufReader::new(input), &mut uncompressed).map(drop),
    };
    written.map_err(io_at(tar))?;
    let (gzip, diff_id) = uncompressed.finish();
    let compressed = gzip.finish().map_err(io_at(tar))?;
    let size = compressed.hasher().length();
    let (buffered, digest) = compressed.finish();
    let temp = buffered
        .into_inner()
        .map_err(|err| io_at(tar)(err.into_error()))?;
    persist(temp, &blob_path(layout, &digest))?;
    let mut descriptor = Descriptor::of(MediaType::OCI_LAYER_GZIP, &[]);
    descriptor.digest = digest;
    descriptor.size = size;
    Ok(Layer {
        descriptor,
        diff_id,
    })
}

/// Writes `bytes` as a blob and returns its digest.
fn write_blob(layout: &Path, bytes: &[u8]) -> Result<Digest, ArchiveError> {
    let digest = Digest::of(DigestAlgorithm::Sha256, bytes);
    write_atomically(&blob_path(layout, &digest), bytes)?;
    Ok(digest)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    let mut temp = tempfile::NamedTempFile::new_in(parent_of(path)).map_err(io_at(path))?;
    temp.write_all(bytes).map_err(io_at(path))?;
    persist(temp, path)
}

fn persist(temp: tempfile::NamedTempFile, path: &Path) -> Result<(), ArchiveError> {
    temp.as_file().sync_all().map_err(io_at(path))?;
    temp.persist(path).map_err(|err| io_at(path)(err.error))?;
    Ok(())
}

fn blob_path(layout: &Path, digest: &Digest) -> PathBuf {
    layout
        .join("blobs")
        .join(digest.algorithm().name())
        .join(digest.hex())
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A path named by the archive's manifest, refused if it leaves the archive.
fn inside(root: &Path, name: &str) -> Result<PathBuf, ArchiveError> {
    let relative = Path::new(name);
    let climbs = relative
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)));
    if climbs {
        return Err(ArchiveError::Invalid(format!(
            "{name:?} leaves the archive"
        )));
    }
    Ok(root.join(relative))
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        what: path.display().to_string(),
        source,
    }
}
