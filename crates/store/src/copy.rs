//! Streaming content through a hasher on its way to storage, in large chunks.

use std::io;

use oci::Hasher;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Chunk size for streaming: large enough that per-chunk overhead (a blocking-pool hop per
/// file write) vanishes next to hashing, small enough to keep memory per upload modest.
pub(crate) const CHUNK: usize = 1 << 20;

/// Which side of a copy failed: the client's stream or our storage. They call for different
/// answers (the client's problem vs. ours), so they are kept apart.
#[derive(Debug)]
pub(crate) enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `reader` into `writer`, feeding every byte to `hasher`; returns the bytes copied.
pub(crate) async fn copy_hashing<R, W>(
    reader: &mut R,
    writer: &mut W,
    hasher: &mut Hasher,
) -> Result<u64, CopyError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buffer = vec![0; CHUNK];
    let mut copied = 0;
    loop {
        let read = fill(reader, &mut buffer).await.map_err(CopyError::Read)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        writer
            .write_all(&buffer[..read])
            .await
            .map_err(CopyError::Write)?;
        copied += read as u64;
    }
    writer.flush().await.map_err(CopyError::Write)?;
    Ok(copied)
}

/// Reads until `buffer` is full or the stream ends, so writes go out in whole chunks even when
/// the network delivers small pieces.
async fn fill<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    buffer: &mut [u8],
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = reader.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}
