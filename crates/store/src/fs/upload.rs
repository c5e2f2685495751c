//! Resumable uploads on the file system: one file per upload, appended chunk by chunk, with the
//! SHA-256 state carried in [`UploadState`] so no byte is hashed twice.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::SeekFrom;
use std::path::Path;
use std::time::SystemTime;

use oci::{Digest, DigestAlgorithm, Hasher};
use tokio::io::AsyncSeekExt;

use super::{at, blocking, check_digest, copy_error, publish, sync_dir};
use crate::blob::{BlobError, BlobMeta, ByteStream, UploadId, UploadState};
use crate::copy::{copy_hashing, copy_hashing_to_file, CopyError};

/// Uploads hash with SHA-256 as they go because nearly every client finishes with a sha256
/// digest; a sha512 finish re-reads the file instead.
const RUNNING_ALGORITHM: DigestAlgorithm = DigestAlgorithm::Sha256;

pub(super) async fn start(path: &Path, id: &UploadId) -> Result<UploadState, BlobError> {
    let (path, id) = (path.to_owned(), id.clone());
    blocking(move || {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BlobError::UploadExists(id))
            }
            Err(e) => return Err(at(&path)(e)),
        }
        sync_dir(path.parent().expect("upload paths have a parent"))?;
        Ok(UploadState {
            offset: 0,
            hash_state: Hasher::new(RUNNING_ALGORITHM).save_state(),
        })
    })
    .await
}

pub(super) async fn append(
    path: &Path,
    id: &UploadId,
    state: &UploadState,
    start: u64,
    mut body: ByteStream,
) -> Result<UploadState, BlobError> {
    if start != state.offset {
        return Err(BlobError::UploadOffsetMismatch {
            committed: state.offset,
            requested: start,
        });
    }
    let mut hasher = resume_hasher(state)?;
    let file = open_at_committed(path, id, state.offset).await?;
    let mut file = tokio::fs::File::from_std(file);
    file.seek(SeekFrom::Start(state.offset))
        .await
        .map_err(at(path))?;
    let written = copy_hashing_to_file(&mut body, &mut file, &mut hasher)
        .await
        .map_err(|e| copy_error(e, path))?;
    // The caller records the new offset only after this returns, so the bytes must be durable
    // by then; otherwise a crash could leave a recorded offset beyond the data.
    file.sync_data().await.map_err(at(path))?;
    Ok(UploadState {
        offset: state.offset + written,
        hash_state: hasher.save_state(),
    })
}

pub(super) async fn finish(
    source: &Path,
    id: &UploadId,
    state: &UploadState,
    expected: &Digest,
    target: &Path,
) -> Result<BlobMeta, BlobError> {
    let file = open_at_committed(source, id, state.offset).await?;
    let actual = if expected.algorithm() == RUNNING_ALGORITHM {
        resume_hasher(state)?.finish()
    } else {
        rehash(
            file.try_clone().map_err(at(source))?,
            source,
            expected.algorithm(),
        )
        .await?
    };
    check_digest(expected, actual)?;
    // Publishing is writing the blob: the last chunk may be older than garbage collection's
    // grace period, and the new blob must not look like debris before its metadata is recorded.
    file.set_modified(SystemTime::now()).map_err(at(source))?;
    // The lock travels with `file` and is released after the rename, so no append can slip in
    // between the digest check and publication.
    publish(source, target).await?;
    drop(file);
    Ok(BlobMeta {
        digest: expected.clone(),
        size: state.offset,
    })
}

fn resume_hasher(state: &UploadState) -> Result<Hasher, BlobError> {
    let hasher = Hasher::resume(RUNNING_ALGORITHM, &state.hash_state)?;
    if hasher.length() != state.offset {
        return Err(oci::DigestError::InvalidHashState(RUNNING_ALGORITHM).into());
    }
    Ok(hasher)
}

/// Opens the upload file exclusively and cuts it back to the committed length.
///
/// The exclusive lock stops two requests for one upload from interleaving their bytes; bytes
/// past the committed offset belong to an append whose progress was never recorded, and the
/// recorded state is the truth.
async fn open_at_committed(path: &Path, id: &UploadId, committed: u64) -> Result<File, BlobError> {
    let (path, id) = (path.to_owned(), id.clone());
    blocking(move || {
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::UploadUnknown(id))
            }
            Err(e) => return Err(at(&path)(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(BlobError::UploadBusy(id)),
            Err(TryLockError::Error(e)) => return Err(at(&path)(e)),
        }
        let found = file.metadata().map_err(at(&path))?.len();
        if found < committed {
            return Err(BlobError::UploadTruncated {
                id,
                committed,
                found,
            });
        }
        if found > committed {
            // Durable at once, so a crash now cannot bring the discarded bytes back.
            file.set_len(committed)
                .and_then(|()| file.sync_all())
                .map_err(at(&path))?;
        }
        Ok(file)
    })
    .await
}

async fn rehash(file: File, path: &Path, algorithm: DigestAlgorithm) -> Result<Digest, BlobError> {
    let mut file = tokio::fs::File::from_std(file);
    file.seek(SeekFrom::Start(0)).await.map_err(at(path))?;
    let mut hasher = Hasher::new(algorithm);
    copy_hashing(&mut file, &mut tokio::io::sink(), &mut hasher)
        .await
        .map_err(|(CopyError::Read(e) | CopyError::Write(e))| at(path)(e))?;
    Ok(hasher.finish())
}
