//! Reading images: layers as tar streams (gzip, zstd or uncompressed, told apart by their
//! magic bytes), walked once each without writing anything to disk, and the sources that
//! hold them ([`source`]: OCI layouts, docker archives, root filesystem folders).
//!
//! A layer is hostile input. Paths are normalised and refused when they climb out with `..`;
//! absolute paths are taken as rooted in the image; symlinks are never followed while
//! walking, and when the merged view resolves one it stays inside the image. Header sizes,
//! entry sizes, the total of uncompressed bytes and the compression ratio are capped
//! ([`Limits`]), and each breach is a [`LayerError`], never a panic.

pub mod layer;
pub mod source;

pub mod tar;

use std::io;

pub use layer::{analyze_layer, LayerAnalysis};

/// Caps on what one layer may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest metadata file read into memory; larger wanted files are reported, not read.
    pub max_file: u64,
    /// The largest long-name or PAX header.
    pub max_header: u64,
    /// The most uncompressed bytes one layer may hold.
    pub max_layer_bytes: u64,
    /// The highest ratio of uncompressed to compressed bytes, checked once a layer has
    /// produced [`Limits::ratio_floor`] bytes (small files compress very well legitimately).
    pub max_ratio: u64,
    /// Below this many uncompressed bytes the ratio is not checked.
    pub ratio_floor: u64,
}

impl Default for Limits {
    /// Generous for real images: their layers compress 2–10×, the largest known metadata
    /// files (a big dpkg status) are a few MiB, and no real layer approaches 64 GiB.
    fn default() -> Limits {
        Limits {
            max_file: 64 << 20,
            max_header: 1 << 20,
            max_layer_bytes: 64 << 30,
            max_ratio: 200,
            ratio_floor: 64 << 20,
        }
    }
}

/// Why a layer or image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Reading failed.
    #[error("reading the layer failed: {0}")]
    Io(#[source] io::Error),
    /// The tar stream is malformed.
    #[error("corrupt layer: {0}")]
    Corrupt(String),
    /// The stream stopped inside an entry.
    #[error("the layer ends in the middle of an entry; the blob is truncated")]
    Truncated,
    /// A compression this scanner does not read (bzip2, xz).
    #[error("the layer is compressed with {0}, which is not supported; use gzip or zstd")]
    UnsupportedCompression(&'static str),
    /// A long-name or PAX header over the limit.
    #[error("a tar header of {size} bytes exceeds the limit of {limit}")]
    HeaderTooLarge {
        /// The header's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An entry path climbs out of the image.
    #[error("the entry {0:?} climbs out of the image with '..'; the layer is refused")]
    Traversal(String),
    /// The layer holds more uncompressed bytes than allowed.
    #[error(
        "the layer holds more than {limit} uncompressed bytes; raise the limit if it is genuine"
    )]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The layer expands more than the allowed ratio: a decompression bomb.
    #[error("the layer expands more than {limit}× its compressed size, like a decompression bomb")]
    Ratio {
        /// The limit.
        limit: u64,
    },
    /// The content does not match its digest.
    #[error("digest mismatch: expected {expected}, found {actual}")]
    Digest {
        /// The digest the manifest names.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
}

impl LayerError {
    /// Takes back a limit breach that travelled through a decompressor as an `io::Error`.
    pub(crate) fn from_io(error: io::Error) -> LayerError {
        match error.downcast::<LayerError>() {
            Ok(inner) => inner,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => LayerError::Truncated,
            Err(error) => LayerError::Io(error),
        }
    }
}

impl From<io::Error> for LayerError {
    fn from(error: io::Error) -> LayerError {
        LayerError::from_io(error)
    }
}
