//! The store's integration tests: one conformance suite per trait, run against every
//! implementation, plus crash safety and verification on the embedded deployment.

mod access_suite;
mod blob_suite;
mod catalogue_suite;
mod crash;
mod gc;
mod meta_suite;
mod monitoring_suite;
mod tags_suite;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci::{Digest, DigestAlgorithm};
use store::{
    BlobContent, BlobMeta, BlobRecord, BlobStore, ByteStream, FsBlobStore, ManifestRecord,
    MetaStore, NewManifest, SqliteMetaStore, DEFAULT_TEMP_GRACE,
};
use tokio::io::AsyncReadExt;

/// Opens the file-system blob store under one folder, again and again, as restarts would.
struct FsHarness {
    root: PathBuf,
}

impl blob_suite::Harness for FsHarness {
    type Store = FsBlobStore;

    async fn open(&self) -> FsBlobStore {
        FsBlobStore::open(&self.root, DEFAULT_TEMP_GRACE)
            .await
            .expect("open the fs blob store")
    }
}

/// Opens one SQLite database file, again and again, as restarts would.
struct SqliteHarness {
    path: PathBuf,
}

impl meta_suite::Harness for SqliteHarness {
    type Store = SqliteMetaStore;

    async fn open(&self) -> SqliteMetaStore {
        SqliteMetaStore::open(&self.path)
            .await
            .expect("open the SQLite metadata store")
    }
}

#[tokio::test]
async fn fs_blob_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    blob_suite::run(&FsHarness {
        root: dir.path().join("data"),
    })
    .await;
}

#[tokio::test]
async fn fs_blob_store_hands_out_its_files_for_zero_copy_sends() {
    let dir = tempfile::tempdir().unwrap();
    let harness = FsHarness {
        root: dir.path().to_owned(),
    };
    let store = blob_suite::Harness::open(&harness).await;
    let digest = sha256(b"sent with sendfile");
    store
        .put(&digest, body(b"sent with sendfile"))
        .await
        .unwrap();
    let file = store
        .local_file(&digest)
        .await
        .unwrap()
        .expect("a local file");
    assert_eq!(file.metadata().unwrap().len(), 18);
    assert!(store
        .local_file(&sha256(b"absent"))
        .await
        .unwrap()
        .is_none());
}

// Multi-threaded, so the suite's racing tasks run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_meta_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    meta_suite::run(&SqliteHarness {
        path: dir.path().join("meta.db"),
    })
    .await;
}

fn body(bytes: &[u8]) -> ByteStream {
    Box::pin(std::io::Cursor::new(bytes.to_vec()))
}

/// A manifest whose payload names its parts, so distinct parts give distinct digests.
fn manifest(config: Option<&Digest>, layers: &[&Digest], children: &[&Digest]) -> NewManifest {
    let payload =
        format!("{{\"config\":{config:?},\"layers\":{layers:?},\"manifests\":{children:?}}}");
    let record = ManifestRecord {
        digest: sha256(payload.as_bytes()),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: None,
        payload: payload.into_bytes(),
        config_digest: config.cloned(),
        subject_digest: None,
        total_size: 0,
    };
    NewManifest {
        record,
        layers: layers.iter().map(|d| (*d).clone()).collect(),
        children: children.iter().map(|d| (*d).clone()).collect(),
    }
}

/// Pushes content through both stores the way the registry does: blob storage first, then the
/// metadata that makes it reachable.
async fn push_blob(
    blobs: &FsBlobStore,
    meta: &SqliteMetaStore,
    repository: &str,
    content: &[u8],
) -> BlobMeta {
    let stored = blobs.put(&sha256(content), body(content)).await.unwrap();
    let record = BlobRecord {
        digest: stored.digest.clone(),
        size: stored.size,
        object_key: stored.digest.to_string(),
        media_type: None,
    };
    meta.put_blob(repository, &record).await.unwrap();
    stored
}

fn sha256(bytes: &[u8]) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, bytes)
}

async fn read_all(mut content: BlobContent) -> Vec<u8> {
    let mut bytes = Vec::new();
    content.reader.read_to_end(&mut bytes).await.unwrap();
    bytes
}

/// Files directly under `dir`, for checking what a write left behind.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// Polls `condition` every 20 ms for up to `limit`.
async fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_to_sqlite_all_commit() {
    use store::Page;
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMetaStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    let mut pushes = tokio::task::JoinSet::new();
    for n in 0..16 {
        let meta = meta.clone();
        pushes.spawn(async move {
            let content = format!("layer {n}");
            let layer = sha256(content.as_bytes());
            let record = BlobRecord {
                digest: layer.clone(),
                size: 7,
                object_key: layer.to_string(),
                media_type: None,
            };
            meta.put_blob("race/app", &record).await?;
            let image = manifest(None, &[&layer], &[]);
            meta.put_manifest("race/app", &image, Some(&format!("t{n:02}")))
                .await
        });
    }
    while let Some(done) = pushes.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(
        meta.list_tags("race/app", &Page::default())
            .await
            .unwrap()
            .len(),
        16
    );
}
