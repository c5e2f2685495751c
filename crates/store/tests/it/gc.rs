//! Garbage collection on the embedded deployment: what it keeps, what it removes, a dry run
//! that changes nothing, safety beside a running push loop, and repair after a crash between
//! its metadata delete and its file delete.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use oci::Digest;
use store::{
    collect_garbage, open_embedded, verify, BlobStore, CollectedManifest, FsBlobStore, GcOptions,
    GcReport, MetaError, MetaStore, NewManifest, SqliteMetaStore, UploadId, UploadSession,
};

use super::{body, manifest, push_blob, sha256};

const REPO: &str = "library/app";

/// Collection with no grace: everything written before the run is old enough to go.
fn no_grace() -> GcOptions {
    GcOptions {
        grace: Duration::ZERO,
        ..GcOptions::default()
    }
}

/// Lets the clock move past what was just written, so a zero grace really covers it.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Pushes an image whose config and layer are named after `seed`, plus `shared` as a layer.
async fn push_image(
    blobs: &FsBlobStore,
    meta: &SqliteMetaStore,
    seed: &str,
    shared: &[u8],
    tag: Option<&str>,
) -> NewManifest {
    let config = push_blob(blobs, meta, REPO, format!("config {seed}").as_bytes()).await;
    let layer = push_blob(blobs, meta, REPO, format!("layer {seed}").as_bytes()).await;
    let shared = push_blob(blobs, meta, REPO, shared).await;
    let image = manifest(Some(&config.digest), &[&layer.digest, &shared.digest], &[]);
    meta.put_manifest(REPO, &image, tag).await.unwrap();
    image
}

/// A referrer (say a signature) of `subject`, with no blobs of its own.
fn referrer(subject: &Digest, seed: &str) -> NewManifest {
    let mut signature = manifest(None, &[], &[]);
    signature.record.payload =
        format!("{{\"signature\":\"{seed}\",\"subject\":\"{subject}\"}}").into_bytes();
    signature.record.digest = sha256(&signature.record.payload);
    signature.record.subject_digest = Some(subject.clone());
    signature
}

fn collected(image: &NewManifest) -> CollectedManifest {
    CollectedManifest {
        repository: REPO.into(),
        digest: image.record.digest.clone(),
    }
}

fn blob_digests(report: &GcReport) -> BTreeSet<Digest> {
    report.blobs.iter().map(|b| b.digest.clone()).collect()
}

fn expired_upload(id: &str) -> UploadSession {
    UploadSession {
        id: UploadId::parse(id).unwrap(),
        repository: REPO.into(),
        committed_offset: 0,
        hash_state: oci::Hasher::new(oci::DigestAlgorithm::Sha256).save_state(),
        created_ms: 1_000,
        updated_ms: 1_000,
        expires_ms: 2_000,
    }
}

/// Everything blob storage and the database hold, to show a dry run changed nothing.
async fn snapshot(blobs: &FsBlobStore, meta: &SqliteMetaStore) -> (Vec<Digest>, usize, usize) {
    let stored = blobs.list().await.unwrap();
    (
        stored,
        meta.blobs().await.unwrap().len(),
        meta.manifest_graph().await.unwrap().len(),
    )
}

#[tokio::test]
async fn unreferenced_content_goes_and_referenced_content_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, meta) = open_embedded(dir.path()).await.unwrap();

    let kept = push_image(&blobs, &meta, "kept", b"shared", Some("latest")).await;
    let signature = referrer(&kept.record.digest, "kept");
    meta.put_manifest(REPO, &signature, None).await.unwrap();
    let platform = push_image(&blobs, &meta, "platform", b"shared", None).await;
    let index = manifest(None, &[], &[&platform.record.digest]);
    meta.put_manifest(REPO, &index, Some("multi"))
        .await
        .unwrap();

    // Garbage: an image whose tag moved away, with a signature of its own; a blob pushed but
    // never used; a file whose push died before it was recorded; an abandoned upload.
    let untagged = push_image(&blobs, &meta, "untagged", b"shared", Some("old")).await;
    let orphaned_signature = referrer(&untagged.record.digest, "untagged");
    meta.put_manifest(REPO, &orphaned_signature, None)
        .await
        .unwrap();
    meta.delete_tag(REPO, "old").await.unwrap();
    let unused = push_blob(&blobs, &meta, REPO, b"pushed, never referenced").await;
    let unrecorded = blobs
        .put(&sha256(b"unrecorded"), body(b"unrecorded"))
        .await
        .unwrap();
    let upload = expired_upload("abandoned");
    blobs.start_upload(&upload.id).await.unwrap();
    meta.create_upload(&upload).await.unwrap();
    tick().await;

    let before = snapshot(&blobs, &meta).await;
    let dry = collect_garbage(
        &blobs,
        &meta,
        &GcOptions {
            dry_run: true,
            ..no_grace()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        snapshot(&blobs, &meta).await,
        before,
        "a dry run changes nothing"
    );
    assert!(meta.upload(&upload.id).await.unwrap().is_some());

    let report = collect_garbage(&blobs, &meta, &no_grace()).await.unwrap();
    assert!(!report.dry_run && dry.dry_run);
    let mut manifests = report.manifests.clone();
    manifests.sort();
    let mut expected = vec![collected(&untagged), collected(&orphaned_signature)];
    expected.sort();
    assert_eq!(manifests, expected);
    let untagged_own: BTreeSet<Digest> = [
        untagged.record.config_digest.clone().unwrap(),
        untagged.layers[0].clone(),
        unused.digest.clone(),
        unrecorded.digest.clone(),
    ]
    .into();
    assert_eq!(blob_digests(&report), untagged_own);
    let freed: u64 = ["config untagged", "layer untagged"]
        .iter()
        .map(|s| s.len() as u64)
        .sum::<u64>()
        + unused.size
        + unrecorded.size;
    assert_eq!(report.bytes_freed(), freed);
    assert_eq!(report.uploads, vec![upload.id.clone()]);
    assert_eq!(report.spared, 0);
    assert!(meta.upload(&upload.id).await.unwrap().is_none());

    // The dry run predicted exactly this.
    let mut predicted = dry.manifests.clone();
    predicted.sort();
    assert_eq!(predicted, expected);
    assert_eq!(blob_digests(&dry), untagged_own);
    assert_eq!(dry.uploads, report.uploads);

    // What tags, indexes and live subjects keep is all still there, and consistent.
    for kept in [&kept, &signature, &platform, &index] {
        let found = meta.manifest(REPO, &kept.record.digest).await.unwrap();
        assert!(found.is_some(), "{}", kept.record.digest);
    }
    let report = verify(&blobs, &meta).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(report.unrecorded_blobs.is_empty());
    let again = collect_garbage(&blobs, &meta, &no_grace()).await.unwrap();
    assert_eq!(again, GcReport::default(), "a second run finds nothing");
}

#[tokio::test]
async fn content_within_the_grace_period_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, meta) = open_embedded(dir.path()).await.unwrap();
    // A push in progress: blobs and an untagged platform manifest, the index not yet pushed;
    // and a file written but not yet recorded.
    push_image(&blobs, &meta, "fresh", b"shared", None).await;
    push_blob(&blobs, &meta, REPO, b"uploaded a moment ago").await;
    blobs
        .put(&sha256(b"being recorded"), body(b"being recorded"))
        .await
        .unwrap();
    tick().await;
    let before = snapshot(&blobs, &meta).await;
    let report = collect_garbage(&blobs, &meta, &GcOptions::default())
        .await
        .unwrap();
    assert_eq!(report, GcReport::default());
    assert_eq!(snapshot(&blobs, &meta).await, before);
}

#[tokio::test]
async fn untagged_manifests_stay_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, meta) = open_embedded(dir.path()).await.unwrap();
    let image = push_image(&blobs, &meta, "by digest", b"shared", None).await;
    tick().await;
    let options = GcOptions {
        delete_untagged: false,
        ..no_grace()
    };
    let report = collect_garbage(&blobs, &meta, &options).await.unwrap();
    assert_eq!(report, GcReport::default());
    assert!(meta
        .manifest(REPO, &image.record.digest)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_crash_between_metadata_and_file_delete_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, meta) = open_embedded(dir.path()).await.unwrap();
    let unused = push_blob(&blobs, &meta, REPO, b"unused").await;
    tick().await;
    // What a collection does first, cut short before it removes the file.
    let cutoff_ms = i64::MAX;
    assert!(meta
        .delete_unreferenced_blob(&unused.digest, cutoff_ms)
        .await
        .unwrap());
    assert!(blobs.stat(&unused.digest).await.unwrap().is_some());
    // Safe as it stands: nothing records the blob, so nothing can serve or reference it.
    let report = verify(&blobs, &meta).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.unrecorded_blobs, vec![unused.digest.clone()]);

    let report = collect_garbage(&blobs, &meta, &no_grace()).await.unwrap();
    assert_eq!(report.blobs, vec![unused]);
    assert!(blobs.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_blob_pushed_again_after_the_mark_keeps_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, meta) = open_embedded(dir.path()).await.unwrap();
    let content = b"pushed twice";
    let first = push_blob(&blobs, &meta, REPO, content).await;
    tick().await;
    let cutoff = std::time::SystemTime::now();
    // File times come from the kernel's coarse clock, which lags `SystemTime::now()` by up to a
    // few milliseconds; a real cutoff lies a whole grace period back, so step past it here.
    tick().await;
    // The collector forgets the blob; before it removes the file a push writes the same
    // content and records it again.
    assert!(meta
        .delete_unreferenced_blob(&first.digest, i64::MAX)
        .await
        .unwrap());
    push_blob(&blobs, &meta, REPO, content).await;
    let removed = blobs
        .delete_written_before(&first.digest, cutoff)
        .await
        .unwrap();
    assert_eq!(removed, None, "the push's copy is newer than the cutoff");
    let report = verify(&blobs, &meta).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// Pushes images in a loop, moving one tag so that every earlier image becomes garbage, and
/// reusing one layer so that pushes keep re-sending content the collector is deleting.
async fn push_loop(blobs: &FsBlobStore, meta: &SqliteMetaStore, rounds: usize) -> usize {
    let mut retried = 0;
    for round in 0..rounds {
        loop {
            let config = push_blob(blobs, meta, REPO, format!("config {round}").as_bytes()).await;
            let shared = push_blob(blobs, meta, REPO, b"base layer every image shares").await;
            let image = manifest(Some(&config.digest), &[&shared.digest], &[]);
            match meta.put_manifest(REPO, &image, Some("latest")).await {
                Ok(()) => break,
                // The collector forgot a blob between its upload and this manifest: the push
                // fails cleanly and the client pushes again, as with any registry.
                Err(MetaError::BlobUnknown(_)) => retried += 1,
                Err(e) => panic!("push failed: {e}"),
            }
        }
    }
    retried
}

/// The collector's grace beside the push loops: short, so that much becomes garbage while they
/// run, yet longer than any pause between storing a blob and recording it on a busy machine.
const GRACE: Duration = Duration::from_secs(1);

/// The repository of [`asking_push_loop`].
const ASKING_REPO: &str = "library/asks-first";

/// Pushes like a client that asks (HEAD) before uploading: one image after another over a
/// base blob it uploads only when the registry lacks it, each image untagged soon after, so
/// the base keeps falling out of use past the grace and being used again without an upload.
async fn asking_push_loop(blobs: &FsBlobStore, meta: &SqliteMetaStore, rounds: usize) -> usize {
    let base = b"base that falls out of use";
    let digest = sha256(base);
    let (mut retried, mut uploads) = (0, 0);
    for round in 0..rounds {
        let mut image = manifest(None, &[&digest], &[]);
        image.record.payload = format!("{{\"round\":{round},\"layers\":[\"{digest}\"]}}").into();
        image.record.digest = sha256(&image.record.payload);
        loop {
            if meta
                .repository_blob(ASKING_REPO, &digest)
                .await
                .unwrap()
                .is_none()
            {
                push_blob(blobs, meta, ASKING_REPO, base).await;
                uploads += 1;
            }
            // A client takes a moment between its question and its manifest.
            tokio::time::sleep(Duration::from_millis(40)).await;
            match meta
                .put_manifest(ASKING_REPO, &image, Some("current"))
                .await
            {
                Ok(()) => break,
                // Collected between the question and the manifest: upload it, as a client
                // told "blob unknown" does.
                Err(MetaError::BlobUnknown(_)) => retried += 1,
                Err(e) => panic!("push failed: {e}"),
            }
        }
        meta.delete_tag(ASKING_REPO, "current").await.unwrap();
        // Back just before the untagged image passes the grace, when the collector is about to
        // take it and the base with it.
        tokio::time::sleep(GRACE - Duration::from_millis(10)).await;
    }
    eprintln!("the asking client uploaded its base {uploads} times");
    retried
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_beside_a_push_loop_never_breaks_a_pushed_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    // Each pusher and the collector has its own store instance, as several `hallmark serve`
    // processes and a `hallmark gc` beside them would.
    let (blobs, meta) = open_embedded(&data).await.unwrap();
    let (asking_blobs, asking_meta) = open_embedded(&data).await.unwrap();
    let pushing = tokio::spawn(async move {
        let (moved, asked) = tokio::join!(
            push_loop(&blobs, &meta, 150),
            asking_push_loop(&asking_blobs, &asking_meta, 4)
        );
        moved + asked
    });
    let (blobs, meta) = open_embedded(&data).await.unwrap();
    let collecting = tokio::spawn(collect_until_done(blobs, meta, pushing));
    let (collected, spared, retried) = collecting.await.unwrap();
    let (blobs, meta) = open_embedded(&data).await.unwrap();
    let report = verify(&blobs, &meta).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    let latest = meta.tagged_manifest(REPO, "latest").await.unwrap().unwrap();
    assert_eq!(latest.record.config_digest, Some(sha256(b"config 149")));
    assert!(
        collected > 0,
        "the collector removed nothing while pushes ran"
    );
    eprintln!("collected {collected} manifests, spared {spared}; {retried} pushes retried");
}

/// Runs collections until the pushes finish; returns the manifests
/// collected, the candidates spared and the pushes retried.
async fn collect_until_done(
    blobs: FsBlobStore,
    meta: SqliteMetaStore,
    pushing: tokio::task::JoinHandle<usize>,
) -> (usize, usize, usize) {
    let options = GcOptions {
        grace: GRACE,
        ..GcOptions::default()
    };
    let (mut collected, mut spared) = (0, 0);
    while !pushing.is_finished() {
        let report = collect_garbage(&blobs, &meta, &options).await.unwrap();
        collected += report.manifests.len();
        spared += report.spared;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (collected, spared, pushing.await.unwrap())
}

#[tokio::test]
async fn an_upload_published_after_a_long_pause_counts_as_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, _meta) = open_embedded(dir.path()).await.unwrap();
    let id = UploadId::parse("slow-client").unwrap();
    let start = blobs.start_upload(&id).await.unwrap();
    let state = blobs
        .append_upload(&id, &start, 0, body(b"last chunk long ago"))
        .await
        .unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("uploads").join(id.as_str()))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let digest = sha256(b"last chunk long ago");
    blobs.finish_upload(&id, &state, &digest).await.unwrap();
    // Until the registry records it, only its write time protects the new blob.
    let hour_ago = SystemTime::now() - Duration::from_secs(60 * 60);
    assert!(blobs
        .list_written_before(hour_ago)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        blobs
            .delete_written_before(&digest, hour_ago)
            .await
            .unwrap(),
        None
    );
}
