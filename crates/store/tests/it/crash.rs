//! Crash safety of the file-system blob store: a write killed half-way, or abandoned, never
//! becomes visible, its debris is cleaned when the store is opened after the grace period, and
//! an upload killed mid-chunk resumes from its recorded progress.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use oci::{DigestAlgorithm, Hasher};
use store::{BlobStore, FsBlobStore, UploadId, UploadState, DEFAULT_TEMP_GRACE};
use tokio::io::{AsyncRead, ReadBuf};

use super::{files_in, sha256, wait_for};

/// Set in the child process to the data folder it writes into.
const CHILD_DATA_ENV: &str = "HALLMARK_STORE_CRASH_CHILD_DATA";
/// Set in the child process to what it writes: `put` a blob or `append` to an upload.
const CHILD_MODE_ENV: &str = "HALLMARK_STORE_CRASH_CHILD_MODE";
const STALLED_AFTER: usize = 3 << 20;

/// A client that sends `STALLED_AFTER` bytes and then never another, nor the end.
struct StallingBody {
    sent: usize,
}

impl AsyncRead for StallingBody {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = buf.remaining().min(STALLED_AFTER - self.sent);
        if n == 0 {
            // Never woken: the write hangs here until the process dies or the future is dropped.
            return Poll::Pending;
        }
        buf.put_slice(&vec![0x5a; n]);
        self.sent += n;
        Poll::Ready(Ok(()))
    }
}

/// Whether a write in `tmp` has got past its second mebibyte.
fn has_large_file(tmp: &Path) -> bool {
    files_in(tmp)
        .iter()
        .any(|f| f.metadata().is_ok_and(|m| m.len() >= (2 << 20)))
}

/// Drives `write` in this process until a file in `watched` passes 2 MiB; false if the write
/// ended first or never got there.
async fn drive_until_mid_write<F: Future>(write: &mut Pin<Box<F>>, watched: &Path) -> bool {
    tokio::select! {
        _ = write => false,
        reached = wait_for(Duration::from_secs(60), || has_large_file(watched)) => reached,
    }
}

fn the_digest_it_claims() -> oci::Digest {
    sha256(b"the full content that never arrives")
}

/// The upload the child appends to, and the chunk whose progress was recorded before it died.
const UPLOAD: &str = "killed-mid-append";
const RECORDED_CHUNK: &[u8] = b"a chunk acknowledged before the crash";

/// The progress a registry would have recorded after `RECORDED_CHUNK`.
fn recorded_state() -> UploadState {
    let mut hasher = Hasher::new(DigestAlgorithm::Sha256);
    hasher.update(RECORDED_CHUNK);
    UploadState {
        offset: RECORDED_CHUNK.len() as u64,
        hash_state: hasher.save_state(),
    }
}

/// Runs only inside a child process a crash test starts; elsewhere it returns at once.
#[tokio::test]
async fn child_writes_until_killed() {
    let (Some(data), Some(mode)) = (
        std::env::var_os(CHILD_DATA_ENV),
        std::env::var(CHILD_MODE_ENV).ok(),
    ) else {
        return;
    };
    let store = FsBlobStore::open(data, DEFAULT_TEMP_GRACE).await.unwrap();
    let body = Box::pin(StallingBody { sent: 0 });
    if mode == "append" {
        let id = UploadId::parse(UPLOAD).unwrap();
        let state = store.start_upload(&id).await.unwrap();
        let state = store
            .append_upload(&id, &state, 0, super::body(RECORDED_CHUNK))
            .await
            .unwrap();
        let _ = store.append_upload(&id, &state, state.offset, body).await;
    } else {
        let _ = store.put(&the_digest_it_claims(), body).await;
    }
    unreachable!("the stalled write never finishes");
}

/// Starts the child in `mode`, waits until it is mid-write in `watched`, and kills it (-9).
async fn kill_child_mid_write(data: &Path, mode: &str, watched: &Path) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::child_writes_until_killed",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_DATA_ENV, data)
        .env(CHILD_MODE_ENV, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mid_write = wait_for(Duration::from_secs(60), || has_large_file(watched)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(mid_write, "the child never got half-way through its write");
}

#[tokio::test]
async fn killed_write_leaves_nothing_visible_and_is_cleaned_later() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmp = data.join("tmp");
    kill_child_mid_write(&data, "put", &tmp).await;

    let store = FsBlobStore::open(&data, DEFAULT_TEMP_GRACE).await.unwrap();
    assert_eq!(store.stat(&the_digest_it_claims()).await.unwrap(), None);
    assert!(store.list().await.unwrap().is_empty());
    // A fresh temp file might belong to a live writer in another process, so it stays ...
    assert_eq!(files_in(&tmp).len(), 1);
    drop(store);
    // ... until it is older than the grace period.
    FsBlobStore::open(&data, Duration::ZERO).await.unwrap();
    assert!(files_in(&tmp).is_empty());
}

#[tokio::test]
async fn upload_killed_mid_append_resumes_from_its_recorded_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    kill_child_mid_write(&data, "append", &data.join("uploads")).await;

    // The restarted server knows only what was recorded: the first chunk.
    let store = FsBlobStore::open(&data, DEFAULT_TEMP_GRACE).await.unwrap();
    let id = UploadId::parse(UPLOAD).unwrap();
    let recorded = recorded_state();
    let resumed = store
        .append_upload(
            &id,
            &recorded,
            recorded.offset,
            super::body(b" and the rest"),
        )
        .await
        .unwrap();
    let whole = [RECORDED_CHUNK, b" and the rest"].concat();
    let blob = store
        .finish_upload(&id, &resumed, &sha256(&whole))
        .await
        .unwrap();
    assert_eq!(blob.size, whole.len() as u64);
    let content = store.get(&blob.digest, None).await.unwrap();
    assert_eq!(super::read_all(content).await, whole);
    assert_eq!(store.list().await.unwrap(), vec![blob.digest]);
}

#[tokio::test]
async fn abandoned_write_removes_its_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path(), DEFAULT_TEMP_GRACE)
        .await
        .unwrap();
    let digest = the_digest_it_claims();
    let tmp = dir.path().join("tmp");
    let mut put = Box::pin(store.put(&digest, Box::pin(StallingBody { sent: 0 })));
    assert!(drive_until_mid_write(&mut put, &tmp).await);
    // Dropping the future is what a server does when the client disconnects mid-upload.
    drop(put);
    assert!(files_in(&tmp).is_empty());
    assert_eq!(store.stat(&digest).await.unwrap(), None);
}

#[tokio::test]
async fn second_append_to_a_busy_upload_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path(), DEFAULT_TEMP_GRACE)
        .await
        .unwrap();
    let id = store::UploadId::parse("busy").unwrap();
    let state = store.start_upload(&id).await.unwrap();
    let uploads = dir.path().join("uploads");
    let mut first =
        Box::pin(store.append_upload(&id, &state, 0, Box::pin(StallingBody { sent: 0 })));
    assert!(drive_until_mid_write(&mut first, &uploads).await);
    // Interleaved bytes from two requests would corrupt the upload; the second must wait its turn.
    let second = store.append_upload(&id, &state, 0, super::body(b"x")).await;
    assert!(
        matches!(second, Err(store::BlobError::UploadBusy(_))),
        "{second:?}"
    );
    drop(first);
    // The lock goes with the file, which a write still in flight holds a moment longer.
    let mut retried = None;
    for _ in 0..250 {
        match store.append_upload(&id, &state, 0, super::body(b"x")).await {
            Err(store::BlobError::UploadBusy(_)) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            done => {
                retried = Some(done.unwrap());
                break;
            }
        }
    }
    let retried = retried.expect("the lock was released within five seconds");
    assert_eq!(retried.offset, 1);
}
