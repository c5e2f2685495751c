//! `verify` on the embedded deployment: clean after a proper push, and each kind of damage
//! reported as its own typed problem.

use store::{open_embedded, verify, BlobStore, MetaStore, Problem, ReferenceProblem};

use super::{body, manifest, sha256};

const REPO: &str = "library/verified";

#[tokio::test]
async fn verify_reports_each_kind_of_damage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (blobs, meta) = open_embedded(data).await.unwrap();

    let config = super::push_blob(&blobs, &meta, REPO, b"{\"architecture\":\"amd64\"}").await;
    let layer = super::push_blob(&blobs, &meta, REPO, b"layer bytes").await;
    let manifest = manifest(Some(&config.digest), &[&layer.digest], &[]);
    meta.put_manifest(REPO, &manifest, Some("latest"))
        .await
        .unwrap();
    let report = verify(&blobs, &meta).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.blobs_checked, 2);

    // Damage: a stray blob nobody recorded, a corrupted config, a vanished layer and a link
    // removed from under the manifest.
    let stray = blobs.put(&sha256(b"stray"), body(b"stray")).await.unwrap();
    let hex = config.digest.hex();
    let config_file = data.join("blobs/sha256").join(&hex[..2]).join(hex);
    std::fs::write(&config_file, b"{\"architecture\":\"arm64\"}").unwrap();
    blobs.delete(&layer.digest).await.unwrap();
    meta.unlink_blob(REPO, &config.digest).await.unwrap();

    let report = verify(&blobs, &meta).await.unwrap();
    assert_eq!(report.unrecorded_blobs, vec![stray.digest]);
    let expected = vec![
        Problem::BlobCorrupt {
            digest: config.digest.clone(),
            actual: sha256(b"{\"architecture\":\"arm64\"}"),
        },
        Problem::BlobMissing {
            digest: layer.digest.clone(),
        },
        Problem::Reference(ReferenceProblem::BlobNotLinked {
            repository: REPO.into(),
            manifest: manifest.record.digest.clone(),
            blob: config.digest.clone(),
        }),
    ];
    let mut found = report.problems.clone();
    found.sort_by_key(|p| format!("{p:?}"));
    let mut expected = expected;
    expected.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(found, expected);
    assert!(!report.is_clean());
}
