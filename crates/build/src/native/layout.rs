//! Writing the image as an OCI image layout: blobs under `blobs/sha256/`, each written to a
//! temporary file, synced and renamed into place; the whole layout staged in a folder beside
//! the output and renamed to it only when complete.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use oci::manifest::{Descriptor, ImageIndex, MediaType, REF_NAME_ANNOTATION};
use oci::{DigestAlgorithm, DigestWriter};

use super::layer::{gzip, Tree};
use super::NativeError;

/// A layout being written in a staging folder.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: tempfile::TempDir,
}

/// A layer written as a blob: its descriptor and its uncompressed digest.
#[derive(Debug)]
pub(crate) struct WrittenLayer {
    pub descriptor: Descriptor,
    pub diff_id: oci::Digest,
}

impl Staging {
    /// A staging folder beside `output`.
    pub(crate) fn beside(output: &Path) -> Result<Self, NativeError> {
        let parent = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = tempfile::Builder::new()
            .prefix(".hallmark-native-")
            .tempdir_in(parent)
            .map_err(NativeError::io(parent))?;
        fs::create_dir_all(dir.path().join("blobs/sha256")).map_err(NativeError::io(dir.path()))?;
        Ok(Staging { dir })
    }

    /// A folder for scratch files (decompressed archives) that goes away with the staging.
    pub(crate) fn scratch(&self) -> Result<PathBuf, NativeError> {
        let scratch = self.dir.path().join("scratch");
        fs::create_dir_all(&scratch).map_err(NativeError::io(&scratch))?;
        Ok(scratch)
    }

    fn blobs(&self) -> PathBuf {
        self.dir.path().join("blobs/sha256")
    }

    /// Writes `content` as a blob of `media_type`.
    pub(crate) fn blob(&self, media_type: &str, content: &[u8]) -> Result<Descriptor, NativeError> {
        let descriptor = Descriptor::of(media_type, content);
        let path = self.blobs().join(descriptor.digest.hex());
        write_synced(&path, content).map_err(NativeError::io(&path))?;
        Ok(descriptor)
    }

    /// Writes `tree` as a gzip-compressed tar layer, hashing both forms as they stream.
    pub(crate) fn layer(&self, tree: &Tree) -> Result<WrittenLayer, NativeError> {
        let temp = self.blobs().join(".layer.tmp");
        let file = File::create(&temp).map_err(NativeError::io(&temp))?;
        let compressed = DigestWriter::new(BufWriter::new(file), DigestAlgorithm::Sha256);
        let mut tar = DigestWriter::new(gzip(compressed), DigestAlgorithm::Sha256);
        let written = (|| -> io::Result<_> {
            tree.write_tar(&mut tar)?;
            let (encoder, diff_id) = tar.finish();
            let compressed = encoder.finish()?;
            let size = compressed.hasher().length();
            let (buffered, digest) = compressed.finish();
            let file = buffered.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok((diff_id, digest, size))
        })();
        let (diff_id, digest, size) = written.map_err(NativeError::io(&temp))?;
        let path = self.blobs().join(digest.hex());
        fs::rename(&temp, &path).map_err(NativeError::io(&path))?;
        let mut descriptor = Descriptor::of(MediaType::OCI_LAYER_GZIP, b"");
        descriptor.digest = digest;
        descriptor.size = size;
        Ok(WrittenLayer {
            descriptor,
            diff_id,
        })
    }

    /// Writes `oci-layout` and `index.json` naming `manifest` as `name`, then moves the
    /// layout to `output`.
    pub(crate) fn finish(
        self,
        manifest: &Descriptor,
        name: &str,
        output: &Path,
    ) -> Result<(), NativeError> {
        let scratch = self.dir.path().join("scratch");
        if scratch.exists() {
            fs::remove_dir_all(&scratch).map_err(NativeError::io(&scratch))?;
        }
        let mut entry = manifest.clone();
        entry.annotations = BTreeMap::from([(REF_NAME_ANNOTATION.to_owned(), name.to_owned())]);
        let index = ImageIndex::new(vec![entry]);
        let index = serde_json::to_vec(&index).expect("an index serialises");
        let root = self.dir.path();
        for (file, content) in [
            ("oci-layout", &br#"{"imageLayoutVersion":"1.0.0"}"#[..]),
            ("index.json", &index[..]),
        ] {
            let path = root.join(file);
            write_synced(&path, content).map_err(NativeError::io(&path))?;
        }
        if output.exists() {
            return Err(NativeError::OutputExists(output.to_path_buf()));
        }
        let staged = self.dir.keep();
        fs::rename(&staged, output).map_err(NativeError::io(output))
    }
}

/// Writes `content` to a temporary file beside `path`, syncs it and renames it to `path`.
fn write_synced(path: &Path, content: &[u8]) -> io::Result<()> {
    let temp = path.with_extension("tmp");
    let mut file = File::create(&temp)?;
    file.write_all(content)?;
    file.sync_all()?;
    fs::rename(&temp, path)
}
