//! Request and response bodies: blobs stream through in large chunks, manifests are read whole
//! but only up to a limit.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use futures_util::{StreamExt, TryStreamExt};
use oci::ErrorCode;
use store::ByteStream;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::error::RegistryError;

/// Chunk size for blob responses: large enough that per-chunk costs vanish next to copying,
/// small enough that many concurrent pulls stay modest in memory.
pub(crate) const STREAM_CHUNK: usize = 1 << 20;

/// A request body as the byte stream the stores read, counting what passes into `received`.
pub(crate) fn request_stream(body: Body, received: Arc<AtomicU64>) -> ByteStream {
    let chunks = body
        .into_data_stream()
        .inspect_ok(move |chunk| {
            received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        })
        .map_err(io::Error::other);
    Box::pin(StreamReader::new(chunks))
}

/// A blob reader as a response body, sent in [`STREAM_CHUNK`] pieces and counted into `sent`.
pub(crate) fn response_stream(reader: ByteStream, sent: Arc<AtomicU64>) -> Body {
    let chunks = ReaderStream::with_capacity(reader, STREAM_CHUNK).inspect_ok(move |chunk| {
        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    Body::from_stream(chunks)
}

/// A blob response's bytes as a stretch of a local file, carried as a response extension beside
/// the streaming body.
///
/// [`crate::serve`] sends such a response with `sendfile(2)`, straight from the page cache into
/// the socket, and drops the body unread; any other server (hyper, tests through `oneshot`)
/// ignores the extension and streams the body. The two must therefore carry the same bytes.
#[derive(Debug, Clone)]
pub(crate) struct FileRegion {
    /// The blob's file, opened for reading; only read at explicit offsets, never moved.
    pub(crate) file: Arc<std::fs::File>,
    /// Where the response's bytes start in the file.
    pub(crate) offset: u64,
    /// How many bytes the response carries.
    pub(crate) len: u64,
    /// The counter [`response_stream`] would have added to, so metrics see both paths alike.
    pub(crate) sent: Arc<AtomicU64>,
}

/// Reads a whole (small) body, refusing one longer than `limit` as soon as it grows past it,
/// so an oversized manifest costs at most `limit` bytes of memory.
pub(crate) async fn read_limited(
    body: Body,
    limit: usize,
    received: &AtomicU64,
) -> Result<Vec<u8>, RegistryError> {
    let mut chunks = body.into_data_stream();
    let mut payload = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::new(
                ErrorCode::ManifestInvalid,
                format!("reading the manifest failed: {e}; send it again"),
            )
        })?;
        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if payload.len() + chunk.len() > limit {
            return Err(RegistryError::new(
                ErrorCode::ManifestInvalid,
                format!("manifest is larger than this registry's limit of {limit} bytes"),
            ));
        }
        payload.extend_from_slice(&chunk);
    }
    Ok(payload)
}
