//! [`BlobStore`] on a local file system: one data folder, content-addressed files.
//!
//! Layout under the data folder:
//! - `blobs/<algorithm>/<first two hex>/<hex>`: published blobs, never modified.
//! - `tmp/`: writes in progress; renamed into `blobs/` once their digest matched.
//! - `uploads/<id>`: resumable uploads, appended chunk by chunk.
//!
//! `tmp/` and `uploads/` sit on the same file system as `blobs/`, so publishing is one atomic
//! `rename`; a crash before it leaves only a temp file, which a later [`FsBlobStore::open`]
//! removes.

mod upload;

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use oci::{Digest, DigestAlgorithm, Hasher};
use tokio::io::{AsyncReadExt, AsyncSeekExt, BufReader};

use crate::blob::{
    BlobContent, BlobError, BlobMeta, BlobStore, ByteRange, ByteStream, UploadId, UploadState,
};
use crate::copy::{copy_hashing_to_file, CopyError, CHUNK};

/// How old a temp file must be before [`FsBlobStore::open`] takes it for debris.
///
/// Another process may share the data folder (an `fsck` beside a running server), so only
/// files no live write could still own are removed; an hour is far beyond any single write.
pub const DEFAULT_TEMP_GRACE: Duration = Duration::from_secs(60 * 60);

/// Blobs as files under one data folder.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    /// When this store was opened, in nanoseconds: part of every temp name, because a server
    /// restarted in a container gets the same pid and must not meet its predecessor's debris.
    opened_ns: u128,
    temp_counter: AtomicU64,
}

impl FsBlobStore {
    /// Opens (creating if needed) the store under `root`, removing temp files older than
    /// `temp_grace`, which only a crashed or killed write can have left.
    pub async fn open(root: impl Into<PathBuf>, temp_grace: Duration) -> Result<Self, BlobError> {
        let opened_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let store = Self {
            root: root.into(),
            opened_ns,
            temp_counter: AtomicU64::new(0),
        };
        for dir in [
            store.root.join("blobs"),
            store.tmp_dir(),
            store.uploads_dir(),
        ] {
            tokio::fs::create_dir_all(&dir).await.map_err(at(&dir))?;
        }
        let tmp = store.tmp_dir();
        blocking(move || remove_stale(&tmp, temp_grace)).await?;
        Ok(store)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &UploadId) -> PathBuf {
        self.uploads_dir().join(id.as_str())
    }

    /// A fresh temp file name, unique across live processes (pid), across restarts (open time)
    /// and within one store (counter).
    fn temp_path(&self) -> PathBuf {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{:x}-{n}", std::process::id(), self.opened_ns);
        self.tmp_dir().join(name)
    }

    async fn write_verified(
        &self,
        expected: &Digest,
        mut body: ByteStream,
    ) -> Result<u64, BlobError> {
        let temp = TempFile::new(self.temp_path());
        let mut file = tokio::fs::File::create_new(temp.path())
            .await
            .map_err(at(temp.path()))?;
        let mut hasher = Hasher::new(expected.algorithm());
        let size = copy_hashing_to_file(&mut body, &mut file, &mut hasher)
            .await
            .map_err(|e| copy_error(e, temp.path()))?;
        check_digest(expected, hasher.finish())?;
        // Durable content before the rename makes it visible: otherwise a power cut could
        // publish a name whose data never reached the disk.
        file.sync_all().await.map_err(at(temp.path()))?;
        drop(file);
        publish(temp.path(), &self.blob_path(expected)).await?;
        temp.disarm();
        Ok(size)
    }
}

impl BlobStore for FsBlobStore {
    async fn put(&self, expected: &Digest, body: ByteStream) -> Result<BlobMeta, BlobError> {
        let size = self.write_verified(expected, body).await?;
        Ok(BlobMeta {
            digest: expected.clone(),
            size,
        })
    }

    async fn get(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<BlobContent, BlobError> {
        let path = self.blob_path(digest);
        let mut file = match tokio::fs::File::open(&path).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound(digest.clone()))
            }
            opened => opened.map_err(at(&path))?,
        };
        let size = file.metadata().await.map_err(at(&path))?.len();
        let range = match range {
            None => 0..size,
            Some(asked) => asked
                .resolve(size)
                .ok_or(BlobError::RangeNotSatisfiable { size })?,
        };
        file.seek(SeekFrom::Start(range.start))
            .await
            .map_err(at(&path))?;
        // Large reads keep the blocking-pool hops per byte low whatever buffer the caller uses.
        let reader = BufReader::with_capacity(CHUNK, file.take(range.end - range.start));
        Ok(BlobContent {
            size,
            range,
            reader: Box::pin(reader),
        })
    }

    async fn local_file(&self, digest: &Digest) -> Result<Option<std::fs::File>, BlobError> {
        let path = self.blob_path(digest);
        blocking(move || match std::fs::File::open(&path) {
            Ok(file) => Ok(Some(file)),
            // Collected since the caller looked it up: its stream answers (or fails) as usual.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(at(&path)(e)),
        })
        .await
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<BlobMeta>, BlobError> {
        let path = self.blob_path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(Some(BlobMeta {
                digest: digest.clone(),
                size: meta.len(),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(at(&path)(e)),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, BlobError> {
        remove_if_present(&self.blob_path(digest)).await
    }

    async fn list(&self) -> Result<Vec<Digest>, BlobError> {
        let blobs = self.root.join("blobs");
        blocking(move || Ok(blob_files(&blobs)?.into_iter().map(|(d, _)| d).collect())).await
    }

    async fn list_written_before(&self, cutoff: SystemTime) -> Result<Vec<BlobMeta>, BlobError> {
        let blobs = self.root.join("blobs");
        blocking(move || {
            let mut old = Vec::new();
            for (digest, path) in blob_files(&blobs)? {
                // A file removed since the walk saw it is simply not there any more.
                let Some(meta) = metadata_if_present(&path)? else {
                    continue;
                };
                if meta.modified().map_err(at(&path))? < cutoff {
                    old.push(BlobMeta {
                        digest,
                        size: meta.len(),
                    });
                }
            }
            Ok(old)
        })
        .await
    }

    async fn delete_written_before(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<Option<u64>, BlobError> {
        let (path, taken) = (self.blob_path(digest), self.temp_path());
        blocking(move || {
            // Taking the file away with one rename, then judging what was taken, leaves no
            // moment in which a push's fresh copy could be removed by mistake.
            match std::fs::rename(&path, &taken) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(at(&path)(e)),
            }
            let meta = std::fs::metadata(&taken).map_err(at(&taken))?;
            if meta.modified().map_err(at(&taken))? >= cutoff {
                // A push wrote this content after collection chose it: the file is the push's,
                // so it goes back (over any copy written since, which has the same bytes).
                std::fs::rename(&taken, &path).map_err(at(&path))?;
                sync_dir(path.parent().expect("blob paths have a parent"))?;
                return Ok(None);
            }
            std::fs::remove_file(&taken).map_err(at(&taken))?;
            Ok(Some(meta.len()))
        })
        .await
    }

    async fn start_upload(&self, id: &UploadId) -> Result<UploadState, BlobError> {
        upload::start(&self.upload_path(id), id).await
    }

    async fn append_upload(
        &self,
        id: &UploadId,
        state: &UploadState,
        start: u64,
        body: ByteStream,
    ) -> Result<UploadState, BlobError> {
        upload::append(&self.upload_path(id), id, state, start, body).await
    }

    async fn finish_upload(
        &self,
        id: &UploadId,
        state: &UploadState,
        expected: &Digest,
    ) -> Result<BlobMeta, BlobError> {
        let source = self.upload_path(id);
        upload::finish(&source, id, state, expected, &self.blob_path(expected)).await
    }

    async fn cancel_upload(&self, id: &UploadId) -> Result<bool, BlobError> {
        remove_if_present(&self.upload_path(id)).await
    }
}

/// A temp file that removes itself unless published: a write abandoned half-way, including a
/// request future dropped when its client disconnects, leaves no debris.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> Self {
        Self { path, armed: true }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: a file left behind is removed by the next open after its grace.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn check_digest(expected: &Digest, actual: Digest) -> Result<(), BlobError> {
    if actual == *expected {
        Ok(())
    } else {
        Err(BlobError::DigestMismatch {
            expected: expected.clone(),
            actual,
        })
    }
}

/// Moves a fully written, synced file to its final name and makes the rename durable.
async fn publish(from: &Path, to: &Path) -> Result<(), BlobError> {
    let (from, to) = (from.to_owned(), to.to_owned());
    blocking(move || {
        let dir = to.parent().expect("blob paths have a parent");
        create_dir_durably(dir)?;
        std::fs::rename(&from, &to).map_err(at(&to))?;
        // The rename lives in the directory; syncing it is what makes the blob survive a crash.
        sync_dir(dir)
    })
    .await
}

/// Creates `dir` and any missing ancestors, syncing each new entry's parent so a crash cannot
/// lose the directory a published blob sits in.
fn create_dir_durably(dir: &Path) -> Result<(), BlobError> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir
        .parent()
        .expect("blob directories sit under the data folder");
    create_dir_durably(parent)?;
    match std::fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        // Another writer created it first and syncs the parent itself.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(at(dir)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(at(dir))
}

async fn remove_if_present(path: &Path) -> Result<bool, BlobError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(at(path)(e)),
    }
}

fn remove_stale(tmp: &Path, grace: Duration) -> Result<(), BlobError> {
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    for entry in std::fs::read_dir(tmp).map_err(at(tmp))? {
        let path = entry.map_err(at(tmp))?.path();
        let modified = std::fs::metadata(&path).and_then(|m| m.modified());
        if matches!(modified, Ok(time) if time <= cutoff) {
            std::fs::remove_file(&path).map_err(at(&path))?;
        }
    }
    Ok(())
}

fn metadata_if_present(path: &Path) -> Result<Option<std::fs::Metadata>, BlobError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(at(path)(e)),
    }
}

/// Walks `blobs/<algorithm>/<xx>/<hex>`, in digest order; names that are not digests are not
/// blobs and are skipped rather than failing a verification run.
fn blob_files(blobs: &Path) -> Result<Vec<(Digest, PathBuf)>, BlobError> {
    let mut digests = Vec::new();
    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let dir = blobs.join(algorithm.name());
        for prefix in read_dir_if_present(&dir)? {
            for file in read_dir_if_present(&prefix)? {
                let name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if let Ok(digest) = Digest::parse(&format!("{algorithm}:{name}")) {
                    digests.push((digest, file));
                }
            }
        }
    }
    digests.sort();
    Ok(digests)
}

fn read_dir_if_present(dir: &Path) -> Result<Vec<PathBuf>, BlobError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()).map_err(at(dir)))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(at(dir)(e)),
    }
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_owned(),
        source,
    }
}

fn copy_error(error: CopyError, path: &Path) -> BlobError {
    match error {
        CopyError::Read(e) => BlobError::BodyRead(e),
        CopyError::Write(e) => at(path)(e),
    }
}

/// Runs file-system work that has no async form on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
