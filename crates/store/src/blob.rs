//! The `BlobStore` contract: immutable, content-addressed bytes, written only after their digest
//! has been checked, and resumable uploads whose progress the caller keeps in the database.

use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::SystemTime;

use oci::{Digest, DigestError};
use tokio::io::AsyncRead;

/// A stream of bytes going into or coming out of a store.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send>>;

/// What a store knows about a blob without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The blob's digest, which is also its name.
    pub digest: Digest,
    /// The blob's length in bytes.
    pub size: u64,
}

/// A blob opened for reading, possibly only part of it.
pub struct BlobContent {
    /// The whole blob's length, for `Content-Range`.
    pub size: u64,
    /// The byte positions `reader` yields, end exclusive.
    pub range: Range<u64>,
    /// The bytes of `range`.
    pub reader: ByteStream,
}

impl fmt::Debug for BlobContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobContent")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// A byte range as an HTTP `Range: bytes=…` header asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last`, both inclusive.
    Inclusive(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The positions this range selects in a blob of `size` bytes (end exclusive), or `None`
    /// when it selects nothing, which HTTP answers with 416.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        let range = match self {
            Self::Inclusive(first, last) if first <= last => {
                first..last.saturating_add(1).min(size)
            }
            Self::Inclusive(..) => return None,
            Self::From(first) => first..size,
            Self::Suffix(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }
}

/// The name of an upload in progress: letters, digits, `-` and `_`, at most 64 of them.
///
/// The restriction matters because the name becomes a file or object name: nothing a client
/// sends may reach outside the uploads folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    /// Validates an upload name.
    pub fn parse(input: &str) -> Result<Self, BlobError> {
        let valid = !input.is_empty()
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(BlobError::InvalidUploadId(input.to_owned()))
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far an upload has come: the bytes committed so far and the SHA-256 state over them.
///
/// The caller stores this (the `upload_sessions` row) after every append, so that any process,
/// including one started after a crash, can take the next chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    /// Bytes received and made durable.
    pub offset: u64,
    /// [`oci::Hasher::save_state`] of a SHA-256 hasher over those bytes.
    pub hash_state: Vec<u8>,
}

/// Errors at the blob storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob has this digest.
    #[error("blob {0} is not stored")]
    NotFound(Digest),
    /// The content does not hash to the digest the client announced; nothing was stored.
    #[error("content hashes to {actual}, not {expected}: nothing was stored; send the content again with its real digest")]
    DigestMismatch {
        /// The digest the client announced.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
    /// The requested range lies outside the blob.
    #[error("range not satisfiable: the blob has {size} bytes")]
    RangeNotSatisfiable {
        /// The blob's length.
        size: u64,
    },
    /// An upload name holds characters that cannot name a file.
    #[error("invalid upload id {0:?}: use up to 64 letters, digits, - or _")]
    InvalidUploadId(String),
    /// No upload of this name is in progress.
    #[error("upload {0} is unknown: start a new upload")]
    UploadUnknown(UploadId),
    /// An upload of this name already exists.
    #[error("upload {0} already exists: choose a fresh id")]
    UploadExists(UploadId),
    /// Another request is appending to this upload right now.
    #[error("upload {0} is busy with another request: send chunks one at a time")]
    UploadBusy(UploadId),
    /// A chunk does not start where the upload stands.
    #[error("chunk starts at byte {requested} but the upload has {committed} bytes: resume from {committed}")]
    UploadOffsetMismatch {
        /// Bytes committed so far, where the next chunk must start.
        committed: u64,
        /// Where the chunk claimed to start.
        requested: u64,
    },
    /// The upload holds fewer bytes than its recorded state says: the data was lost.
    #[error("upload {id} holds {found} bytes but {committed} were committed: restart the upload")]
    UploadTruncated {
        /// The upload.
        id: UploadId,
        /// Bytes the recorded state says were committed.
        committed: u64,
        /// Bytes actually there.
        found: u64,
    },
    /// The recorded hasher state cannot be resumed.
    #[error(transparent)]
    HashState(#[from] DigestError),
    /// Reading the content from the client failed; nothing was stored.
    #[error("reading the content failed: {0}; send it again")]
    BodyRead(io::Error),
    /// The file system or object store failed.
    #[error(
        "storage I/O failed on {path}: {source}; check the data folder's space and permissions"
    )]
    Io {
        /// What was being read or written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Storage for blobs: immutable content, named by digest.
///
/// Architecture Invariant: a blob becomes visible only after its full content was hashed and
/// matched its digest; a crash at any point leaves either the whole blob or nothing.
///
/// Methods return `Send` futures so a multi-threaded HTTP server can hold a store across awaits.
pub trait BlobStore: Send + Sync {
    /// Stores `body` as the blob `expected`, failing with [`BlobError::DigestMismatch`] (and
    /// storing nothing) when the content hashes otherwise. Storing an existing blob again is
    /// harmless.
    fn put(
        &self,
        expected: &Digest,
        body: ByteStream,
    ) -> impl Future<Output = Result<BlobMeta, BlobError>> + Send;

    /// Opens a blob, or the part of it `range` selects.
    fn get(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> impl Future<Output = Result<BlobContent, BlobError>> + Send;

    /// The blob as a file on this machine's file system, opened for reading, for a server that
    /// sends it with `sendfile(2)` instead of copying it through [`BlobStore::get`]'s stream.
    ///
    /// `None` when the store keeps no local file (object storage) or the blob is gone; callers
    /// always keep `get`'s stream as the way that works everywhere.
    fn local_file(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<std::fs::File>, BlobError>> + Send {
        let _ = digest;
        async { Ok(None) }
    }

    /// The blob's size, or `None` when it is not stored.
    fn stat(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<BlobMeta>, BlobError>> + Send;

    /// Removes a blob; `false` when it was not there.
    fn delete(&self, digest: &Digest) -> impl Future<Output = Result<bool, BlobError>> + Send;

    /// Every stored blob, for verification. Serving never lists storage: the database knows
    /// what exists.
    fn list(&self) -> impl Future<Output = Result<Vec<Digest>, BlobError>> + Send;

    /// Stored blobs last written before `cutoff`, with their sizes: what garbage collection may
    /// consider. Writing a blob again, even with the same bytes, and publishing an upload both
    /// count as writing it now.
    fn list_written_before(
        &self,
        cutoff: SystemTime,
    ) -> impl Future<Output = Result<Vec<BlobMeta>, BlobError>> + Send;

    /// Removes a blob unless it was written at or after `cutoff`; returns its size when it did.
    ///
    /// Garbage collection's delete. The collector removes a blob's metadata first and the file
    /// second; a push that writes the same content in between (and then records it) must keep
    /// its file, which its fresh write time shows. Implementations make the check and the
    /// removal one step wherever storage allows.
    fn delete_written_before(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> impl Future<Output = Result<Option<u64>, BlobError>> + Send;

    /// Begins an empty upload.
    fn start_upload(
        &self,
        id: &UploadId,
    ) -> impl Future<Output = Result<UploadState, BlobError>> + Send;

    /// Appends `body` to an upload whose recorded progress is `state`, provided the chunk
    /// starts at `start` == `state.offset`; returns the new progress for the caller to record.
    ///
    /// Bytes past `state.offset` (left by an append whose progress was never recorded) are
    /// discarded first: the recorded state is the truth.
    fn append_upload(
        &self,
        id: &UploadId,
        state: &UploadState,
        start: u64,
        body: ByteStream,
    ) -> impl Future<Output = Result<UploadState, BlobError>> + Send;

    /// Publishes the upload as the blob `expected` if its content hashes to it. On a mismatch
    /// nothing becomes visible and the upload stays as it was.
    fn finish_upload(
        &self,
        id: &UploadId,
        state: &UploadState,
        expected: &Digest,
    ) -> impl Future<Output = Result<BlobMeta, BlobError>> + Send;

    /// Drops an upload's data; `false` when there was none.
    fn cancel_upload(&self, id: &UploadId) -> impl Future<Output = Result<bool, BlobError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_http() {
        let cases = [
            (ByteRange::Inclusive(0, 9), 10, Some(0..10)),
            (ByteRange::Inclusive(2, 100), 10, Some(2..10)),
            (ByteRange::Inclusive(10, 12), 10, None),
            (ByteRange::Inclusive(5, 4), 10, None),
            (ByteRange::From(3), 10, Some(3..10)),
            (ByteRange::From(10), 10, None),
            (ByteRange::Suffix(4), 10, Some(6..10)),
            (ByteRange::Suffix(40), 10, Some(0..10)),
            (ByteRange::Suffix(0), 10, None),
            (ByteRange::From(0), 0, None),
        ];
        for (range, size, expected) in cases {
            assert_eq!(range.resolve(size), expected, "{range:?} of {size}");
        }
    }

    #[test]
    fn upload_ids_cannot_name_paths() {
        assert!(UploadId::parse("0b3e-41_aa").is_ok());
        for bad in ["", "../x", "a/b", "a.b", &"x".repeat(65)] {
            assert!(UploadId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
