//! Streaming content through a hasher on its way to storage, in large chunks.

use std::future::Future;
use std::io;
use std::sync::Arc;

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
    copy_hashing_with(reader, writer, hasher, |_| Ok(())).await
}

/// Copies `reader` into `file` like [`copy_hashing`], starting the file's writeback to disk
/// every [`WRITEBACK_EVERY`] bytes while more is still arriving.
///
/// Content must be durable before it is published, and the kernel would otherwise hold a
/// whole large upload in the page cache until that final sync, which then writes all of it
/// after the last byte arrived. Syncing in the background as the upload goes overlaps the
/// disk's work with the network's, leaving the final sync only the last stretch.
pub(crate) async fn copy_hashing_to_file<R>(
    reader: &mut R,
    file: &mut tokio::fs::File,
    hasher: &mut Hasher,
) -> Result<u64, CopyError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let handle = file.try_clone().await.map_err(CopyError::Write)?;
    let mut writeback = Writeback::new(handle.into_std().await);
    let copied = copy_hashing_with(reader, file, hasher, |total| writeback.advance(total)).await?;
    writeback.finish().await.map_err(CopyError::Write)?;
    Ok(copied)
}

/// How much new data starts a background writeback.
pub(crate) const WRITEBACK_EVERY: u64 = 32 << 20;

/// Background `sync_data` calls on a duplicate of the file being written, one at a time.
///
/// Their errors must reach the caller: the kernel reports a failed writeback to only one sync
/// of the open file, so an error swallowed here would let the final sync succeed.
struct Writeback {
    file: Arc<std::fs::File>,
    pending: Option<tokio::task::JoinHandle<io::Result<()>>>,
    started_at: u64,
}

impl Writeback {
    fn new(file: std::fs::File) -> Self {
        Writeback {
            file: Arc::new(file),
            pending: None,
            started_at: 0,
        }
    }

    /// Starts a sync when enough new data has been written and none is running; reports the
    /// error of one that finished.
    fn advance(&mut self, total: u64) -> io::Result<()> {
        if self.pending.as_ref().is_some_and(|p| !p.is_finished()) {
            return Ok(());
        }
        if let Some(finished) = self.pending.take() {
            // A finished task's result is ready: polling it once cannot wait.
            match output_of_finished(finished) {
                Some(Ok(Ok(()))) | None => {}
                Some(Ok(Err(e))) => return Err(e),
                Some(Err(join)) => return Err(io::Error::other(join)),
            }
        }
        if total - self.started_at >= WRITEBACK_EVERY {
            let file = Arc::clone(&self.file);
            self.pending = Some(tokio::task::spawn_blocking(move || file.sync_data()));
            self.started_at = total;
        }
        Ok(())
    }

    /// Waits for the sync still running, if any, and reports its error.
    async fn finish(mut self) -> io::Result<()> {
        match self.pending.take() {
            Some(pending) => pending.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

/// The output of a task known to have finished.
fn output_of_finished<T>(
    mut handle: tokio::task::JoinHandle<T>,
) -> Option<Result<T, tokio::task::JoinError>> {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(&mut handle).poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// The copy loop; `after_write` sees the running total once each chunk is handed to `writer`.
async fn copy_hashing_with<R, W>(
    reader: &mut R,
    writer: &mut W,
    hasher: &mut Hasher,
    mut after_write: impl FnMut(u64) -> io::Result<()>,
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
        after_write(copied).map_err(CopyError::Write)?;
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
