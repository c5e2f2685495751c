//! The `BlobStore` contract. Every implementation runs this suite through its own [`Harness`];
//! adding a backend is one `#[tokio::test]` that calls [`run`].

use std::time::{Duration, SystemTime};

use oci::{Digest, DigestAlgorithm};
use store::{BlobError, BlobMeta, BlobStore, ByteRange, UploadId};

use super::{body, read_all, sha256};

/// Opens one backend's store; each call reopens the same storage, as a restarted server would.
pub trait Harness {
    type Store: BlobStore;

    async fn open(&self) -> Self::Store;
}

pub async fn run(harness: &impl Harness) {
    let store = harness.open().await;
    put_get_stat_delete_list(&store).await;
    digest_mismatch_stores_nothing(&store).await;
    ranges_read_the_requested_bytes(&store).await;
    sha512_blobs_are_stored(&store).await;
    upload_errors_are_typed(&store).await;
    unrecorded_appends_are_discarded(&store).await;
    upload_finishes_with_sha512(&store).await;
    collection_spares_what_was_written_after_the_cutoff(&store).await;
    drop(store);
    upload_resumes_after_reopening(harness).await;
}

async fn put_get_stat_delete_list(store: &impl BlobStore) {
    let content = b"hello, blob";
    let digest = sha256(content);
    let meta = store.put(&digest, body(content)).await.unwrap();
    assert_eq!((meta.digest.clone(), meta.size), (digest.clone(), 11));
    // Storing the same content again is harmless.
    store.put(&digest, body(content)).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(meta));
    let read = store.get(&digest, None).await.unwrap();
    assert_eq!((read.size, read.range.clone()), (11, 0..11));
    assert_eq!(read_all(read).await, content);
    // A store need not keep local files, but one it hands out holds exactly the blob.
    if let Some(mut file) = store.local_file(&digest).await.unwrap() {
        let mut local = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut local).unwrap();
        assert_eq!(local, content);
    }
    assert_eq!(store.list().await.unwrap(), vec![digest.clone()]);

    assert!(store.delete(&digest).await.unwrap());
    assert!(!store.delete(&digest).await.unwrap());
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(store.local_file(&digest).await.unwrap().is_none());
    assert!(matches!(
        store.get(&digest, None).await,
        Err(BlobError::NotFound(d)) if d == digest
    ));
    assert!(store.list().await.unwrap().is_empty());
}

async fn collection_spares_what_was_written_after_the_cutoff(store: &impl BlobStore) {
    let content = b"collectable";
    let digest = sha256(content);
    let before_write = SystemTime::now() - Duration::from_secs(60);
    store.put(&digest, body(content)).await.unwrap();
    let after_write = SystemTime::now() + Duration::from_secs(60);
    assert!(store
        .list_written_before(before_write)
        .await
        .unwrap()
        .is_empty());
    let listed = store.list_written_before(after_write).await.unwrap();
    assert_eq!(
        listed,
        vec![BlobMeta {
            digest: digest.clone(),
            size: 11
        }]
    );

    // Written after the cutoff: kept, and still whole.
    let kept = store.delete_written_before(&digest, before_write).await;
    assert_eq!(kept.unwrap(), None);
    assert_eq!(
        read_all(store.get(&digest, None).await.unwrap()).await,
        content
    );
    let removed = store.delete_written_before(&digest, after_write).await;
    assert_eq!(removed.unwrap(), Some(11));
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    let absent = store.delete_written_before(&digest, after_write).await;
    assert_eq!(absent.unwrap(), None);
    assert!(store.list().await.unwrap().is_empty());
}

async fn digest_mismatch_stores_nothing(store: &impl BlobStore) {
    let claimed = sha256(b"what the client announced");
    let result = store.put(&claimed, body(b"what it sent")).await;
    match result {
        Err(BlobError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, sha256(b"what it sent"));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert!(store.list().await.unwrap().is_empty());
}

async fn ranges_read_the_requested_bytes(store: &impl BlobStore) {
    let content: Vec<u8> = (0..100).collect();
    let digest = sha256(&content);
    store.put(&digest, body(&content)).await.unwrap();
    let cases = [
        (ByteRange::Inclusive(10, 19), Some(10..20)),
        (ByteRange::Inclusive(95, 500), Some(95..100)),
        (ByteRange::From(98), Some(98..100)),
        (ByteRange::Suffix(3), Some(97..100)),
        (ByteRange::From(100), None),
        (ByteRange::Inclusive(200, 300), None),
    ];
    for (range, expected) in cases {
        let result = store.get(&digest, Some(range)).await;
        match (result, expected) {
            (Ok(read), Some(want)) => {
                assert_eq!((read.size, read.range.clone()), (100, want.clone()));
                let want_bytes = &content[want.start as usize..want.end as usize];
                assert_eq!(read_all(read).await, want_bytes, "{range:?}");
            }
            (Err(BlobError::RangeNotSatisfiable { size }), None) => assert_eq!(size, 100),
            (other, _) => panic!("{range:?}: unexpected {other:?}"),
        }
    }
    store.delete(&digest).await.unwrap();
}

async fn sha512_blobs_are_stored(store: &impl BlobStore) {
    let content = b"long digests too";
    let digest = Digest::of(DigestAlgorithm::Sha512, content);
    store.put(&digest, body(content)).await.unwrap();
    assert_eq!(
        read_all(store.get(&digest, None).await.unwrap()).await,
        content
    );
    assert_eq!(store.list().await.unwrap(), vec![digest.clone()]);
    store.delete(&digest).await.unwrap();
}

async fn upload_errors_are_typed(store: &impl BlobStore) {
    let id = UploadId::parse("typed-errors").unwrap();
    let state = store.start_upload(&id).await.unwrap();
    assert!(matches!(
        store.start_upload(&id).await,
        Err(BlobError::UploadExists(_))
    ));
    let after_one = store
        .append_upload(&id, &state, 0, body(b"abc"))
        .await
        .unwrap();
    // A chunk that does not start at the committed offset is refused (HTTP 416).
    assert!(matches!(
        store.append_upload(&id, &after_one, 1, body(b"x")).await,
        Err(BlobError::UploadOffsetMismatch {
            committed: 3,
            requested: 1
        })
    ));
    assert!(store.cancel_upload(&id).await.unwrap());
    assert!(matches!(
        store.append_upload(&id, &after_one, 3, body(b"d")).await,
        Err(BlobError::UploadUnknown(_))
    ));
    assert!(!store.cancel_upload(&id).await.unwrap());
}

async fn unrecorded_appends_are_discarded(store: &impl BlobStore) {
    let id = UploadId::parse("unrecorded").unwrap();
    let start = store.start_upload(&id).await.unwrap();
    // The caller never records this progress (say it crashed before its database update) ...
    store
        .append_upload(&id, &start, 0, body(b"lost chunk"))
        .await
        .unwrap();
    // ... so the retried chunk starts again from the recorded state and wins.
    let state = store
        .append_upload(&id, &start, 0, body(b"kept"))
        .await
        .unwrap();
    let meta = store
        .finish_upload(&id, &state, &sha256(b"kept"))
        .await
        .unwrap();
    assert_eq!(meta.size, 4);
    store.delete(&meta.digest).await.unwrap();
}

async fn upload_finishes_with_sha512(store: &impl BlobStore) {
    let id = UploadId::parse("sha512-finish").unwrap();
    let state = store.start_upload(&id).await.unwrap();
    let state = store
        .append_upload(&id, &state, 0, body(b"ab"))
        .await
        .unwrap();
    let state = store
        .append_upload(&id, &state, 2, body(b"c"))
        .await
        .unwrap();
    let digest = Digest::of(DigestAlgorithm::Sha512, b"abc");
    store.finish_upload(&id, &state, &digest).await.unwrap();
    assert_eq!(
        read_all(store.get(&digest, None).await.unwrap()).await,
        b"abc"
    );
    store.delete(&digest).await.unwrap();
}

async fn upload_resumes_after_reopening(harness: &impl Harness) {
    let id = UploadId::parse("resumed-0001").unwrap();
    let (first, second) = (vec![7_u8; 300_000], vec![9_u8; 123_457]);
    let whole = [first.as_slice(), second.as_slice()].concat();
    let digest = sha256(&whole);

    let before_restart = harness.open().await;
    let state = before_restart.start_upload(&id).await.unwrap();
    let state = before_restart
        .append_upload(&id, &state, 0, body(&first))
        .await
        .unwrap();
    drop(before_restart);

    let store = harness.open().await;
    let state = store
        .append_upload(&id, &state, first.len() as u64, body(&second))
        .await
        .unwrap();
    assert_eq!(state.offset, whole.len() as u64);

    let wrong = sha256(b"not this");
    assert!(matches!(
        store.finish_upload(&id, &state, &wrong).await,
        Err(BlobError::DigestMismatch { .. })
    ));
    assert_eq!(store.stat(&wrong).await.unwrap(), None);
    // A mismatch leaves the upload as it was, so the right digest still finishes it.
    let meta = store.finish_upload(&id, &state, &digest).await.unwrap();
    assert_eq!(meta.size, whole.len() as u64);
    assert_eq!(
        read_all(store.get(&digest, None).await.unwrap()).await,
        whole
    );
    assert!(
        !store.cancel_upload(&id).await.unwrap(),
        "the upload became the blob"
    );
    store.delete(&digest).await.unwrap();
}
