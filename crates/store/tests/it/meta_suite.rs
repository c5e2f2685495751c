//! The `MetaStore` contract. Every implementation runs this suite through its own [`Harness`];
//! adding a backend is one `#[tokio::test]` that calls [`run`].

use store::{
    BlobRecord, MetaError, MetaStore, NewManifest, Page, UploadId, UploadSession, UploadState,
};

use super::{manifest, sha256};

/// Opens one backend's store; each call reopens the same database, as a restarted server would.
pub trait Harness {
    type Store: MetaStore + Clone + 'static;

    async fn open(&self) -> Self::Store;
}

pub async fn run(harness: &impl Harness) {
    let store = harness.open().await;
    catalog_pages_in_name_order(&store).await;
    blobs_are_linked_per_repository(&store).await;
    manifests_keep_their_bytes_and_tags_page(&store).await;
    missing_blob_rolls_the_whole_push_back(&store).await;
    index_children_must_exist_and_stay(&store).await;
    referrers_filter_by_artifact_type(&store).await;
    collection_deletes_only_what_nothing_keeps(&store).await;
    upload_offsets_compare_and_set(&store).await;
    super::tags_suite::run(&store).await;
    super::catalogue_suite::run(&store).await;
    super::access_suite::run(&store).await;
    super::monitoring_suite::run(&store).await;
    drop(store);
    uploads_survive_reopening(harness).await;
}

fn page(limit: Option<u32>, after: Option<&str>) -> Page {
    Page {
        limit,
        after: after.map(str::to_owned),
    }
}

fn blob(content: &[u8]) -> BlobRecord {
    let digest = sha256(content);
    BlobRecord {
        object_key: digest.to_string(),
        size: content.len() as u64,
        digest,
        media_type: None,
    }
}

/// Pushes a config and one layer into `repository` and returns an image manifest over them.
pub async fn pushed_image(store: &impl MetaStore, repository: &str, seed: &str) -> NewManifest {
    let (config, layer) = (
        blob(format!("config {seed}").as_bytes()),
        blob(seed.as_bytes()),
    );
    store.put_blob(repository, &config).await.unwrap();
    store.put_blob(repository, &layer).await.unwrap();
    manifest(Some(&config.digest), &[&layer.digest], &[])
}

async fn catalog_pages_in_name_order(store: &impl MetaStore) {
    for name in ["catalog/c", "catalog/a", "catalog/b"] {
        store.create_repository(name).await.unwrap();
    }
    store.create_repository("catalog/a").await.unwrap();
    assert!(store.repository_exists("catalog/b").await.unwrap());
    assert!(!store.repository_exists("catalog/z").await.unwrap());
    let cases = [
        (page(Some(2), None), vec!["catalog/a", "catalog/b"]),
        (page(Some(2), Some("catalog/b")), vec!["catalog/c"]),
        (
            page(None, Some("catalog/a")),
            vec!["catalog/b", "catalog/c"],
        ),
        (page(Some(5), Some("catalog/c")), vec![]),
    ];
    for (asked, expected) in cases {
        let names = store.list_repositories(&asked).await.unwrap();
        let names: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with("catalog/"))
            .collect();
        assert_eq!(names, expected, "{asked:?}");
    }
}

async fn blobs_are_linked_per_repository(store: &impl MetaStore) {
    let record = blob(b"linked blob");
    store.put_blob("links/one", &record).await.unwrap();
    assert_eq!(
        store
            .repository_blob("links/one", &record.digest)
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store
            .repository_blob("links/two", &record.digest)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.blob(&record.digest).await.unwrap(),
        Some(record.clone())
    );

    // A mount links what is already recorded, and only that.
    store.link_blob("links/two", &record.digest).await.unwrap();
    assert!(store
        .repository_blob("links/two", &record.digest)
        .await
        .unwrap()
        .is_some());
    let unknown = sha256(b"never pushed");
    assert!(matches!(
        store.link_blob("links/two", &unknown).await,
        Err(MetaError::BlobUnknown(d)) if d == unknown
    ));

    assert!(store
        .unlink_blob("links/two", &record.digest)
        .await
        .unwrap());
    assert!(!store
        .unlink_blob("links/two", &record.digest)
        .await
        .unwrap());
    assert!(store
        .repository_blob("links/one", &record.digest)
        .await
        .unwrap()
        .is_some());
    assert!(store.blobs().await.unwrap().contains(&record));
}

async fn manifests_keep_their_bytes_and_tags_page(store: &impl MetaStore) {
    let repo = "tags/app";
    let image = pushed_image(store, repo, "tags").await;
    store
        .put_manifest(repo, &image, Some("latest"))
        .await
        .unwrap();
    let stored = store
        .manifest(repo, &image.record.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.record.payload.as_slice(),
            stored.record.media_type.as_str()
        ),
        (
            image.record.payload.as_slice(),
            image.record.media_type.as_str()
        )
    );
    assert_eq!(stored.record.config_digest, image.record.config_digest);

    // Pushing the same manifest again only adds tags.
    for tag in ["v1", "b", "a", "v10"] {
        store.put_manifest(repo, &image, Some(tag)).await.unwrap();
    }
    let tagged = store.tagged_manifest(repo, "v10").await.unwrap().unwrap();
    assert_eq!(tagged.record.digest, image.record.digest);
    let cases = [
        (page(None, None), vec!["a", "b", "latest", "v1", "v10"]),
        (page(Some(2), None), vec!["a", "b"]),
        (page(Some(2), Some("b")), vec!["latest", "v1"]),
        (page(Some(2), Some("v1")), vec!["v10"]),
        (page(None, Some("v10")), vec![]),
    ];
    for (asked, expected) in cases {
        assert_eq!(
            store.list_tags(repo, &asked).await.unwrap(),
            expected,
            "{asked:?}"
        );
    }
    assert!(matches!(
        store.list_tags("tags/none", &Page::default()).await,
        Err(MetaError::RepositoryUnknown(_))
    ));

    assert!(store.delete_tag(repo, "b").await.unwrap());
    assert!(!store.delete_tag(repo, "b").await.unwrap());
    assert_eq!(store.tagged_manifest(repo, "b").await.unwrap(), None);
    // Deleting the manifest takes its remaining tags with it.
    assert!(store
        .delete_manifest(repo, &image.record.digest)
        .await
        .unwrap());
    assert!(!store
        .delete_manifest(repo, &image.record.digest)
        .await
        .unwrap());
    assert_eq!(
        store.list_tags(repo, &Page::default()).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn missing_blob_rolls_the_whole_push_back(store: &impl MetaStore) {
    let repo = "rollback/fresh";
    let missing = sha256(b"layer never pushed");
    let config = blob(b"rollback config");
    // The config is linked elsewhere, not here: linking is per repository.
    store.put_blob("rollback/other", &config).await.unwrap();
    let cases = [
        (
            manifest(Some(&config.digest), &[], &[]),
            config.digest.clone(),
        ),
        (manifest(None, &[&missing], &[]), missing.clone()),
    ];
    for (image, unknown) in cases {
        let result = store.put_manifest(repo, &image, Some("latest")).await;
        assert!(matches!(result, Err(MetaError::BlobUnknown(d)) if d == unknown));
        assert_eq!(
            store.manifest(repo, &image.record.digest).await.unwrap(),
            None
        );
    }
    assert_eq!(store.tagged_manifest(repo, "latest").await.unwrap(), None);
    // Even the repository the push would have created is rolled back.
    assert!(!store.repository_exists(repo).await.unwrap());
}

async fn index_children_must_exist_and_stay(store: &impl MetaStore) {
    let repo = "index/app";
    let child = pushed_image(store, repo, "amd64").await;
    let index = manifest(None, &[], &[&child.record.digest]);
    assert!(matches!(
        store.put_manifest(repo, &index, Some("latest")).await,
        Err(MetaError::ManifestUnknown(d)) if d == child.record.digest
    ));
    store.put_manifest(repo, &child, None).await.unwrap();
    store
        .put_manifest(repo, &index, Some("latest"))
        .await
        .unwrap();
    assert!(matches!(
        store.delete_manifest(repo, &child.record.digest).await,
        Err(MetaError::ManifestInUse(d)) if d == child.record.digest
    ));
    assert!(store
        .delete_manifest(repo, &index.record.digest)
        .await
        .unwrap());
    assert!(store
        .delete_manifest(repo, &child.record.digest)
        .await
        .unwrap());
}

async fn referrers_filter_by_artifact_type(store: &impl MetaStore) {
    let repo = "referrers/app";
    let subject = sha256(b"a subject that need not exist");
    let mut pushed = Vec::new();
    for (seed, artifact_type) in [
        ("sig", "application/vnd.example.sig"),
        ("sbom", "application/spdx+json"),
    ] {
        let mut artifact = pushed_image(store, repo, seed).await;
        artifact.record.subject_digest = Some(subject.clone());
        artifact.record.artifact_type = Some(artifact_type.into());
        store.put_manifest(repo, &artifact, None).await.unwrap();
        pushed.push(artifact.record.digest);
    }
    pushed.sort();
    let digests = |found: Vec<store::StoredManifest>| {
        found
            .into_iter()
            .map(|m| m.record.digest)
            .collect::<Vec<_>>()
    };
    let all = store.referrers(repo, &subject, None).await.unwrap();
    assert_eq!(digests(all), pushed);
    let sboms = store
        .referrers(repo, &subject, Some("application/spdx+json"))
        .await
        .unwrap();
    assert_eq!(sboms.len(), 1);
    assert_eq!(
        sboms[0].record.artifact_type.as_deref(),
        Some("application/spdx+json")
    );
    let none = store
        .referrers(repo, &sha256(b"unknown subject"), None)
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// The guarded deletes garbage collection relies on: each refuses while anything keeps its
/// row, checked as it deletes, whatever the collector decided before.
async fn collection_deletes_only_what_nothing_keeps(store: &impl MetaStore) {
    let repo = "gc/guarded";
    // A cutoff no row is as new as, and one every row is newer than.
    let (all_old, all_fresh) = (i64::MAX, 0);
    let image = pushed_image(store, repo, "guarded").await;
    store.put_manifest(repo, &image, Some("v1")).await.unwrap();
    // A tag keeps a manifest.
    assert!(!store
        .delete_unreachable_manifest(repo, &image.record.digest, all_old)
        .await
        .unwrap());
    let mut signature = manifest(None, &[], &[]);
    signature.record.payload = b"{\"signature\":\"guarded\"}".to_vec();
    signature.record.digest = sha256(&signature.record.payload);
    signature.record.subject_digest = Some(image.record.digest.clone());
    store.put_manifest(repo, &signature, None).await.unwrap();
    let index = manifest(None, &[], &[&image.record.digest]);
    store.put_manifest(repo, &index, None).await.unwrap();
    store.delete_tag(repo, "v1").await.unwrap();

    let graph = store.manifest_graph().await.unwrap();
    let node = |digest| {
        graph
            .iter()
            .find(|n| n.repository == repo && n.digest == digest)
    };
    let image_node = node(image.record.digest.clone()).unwrap();
    let mut image_blobs = image.layers.clone();
    image_blobs.extend(image.record.config_digest.clone());
    assert_eq!(image_node.blobs.len(), 2);
    assert!(image_blobs.iter().all(|b| image_node.blobs.contains(b)));
    assert!(!image_node.tagged);
    assert_eq!(
        node(index.record.digest.clone()).unwrap().children,
        vec![image.record.digest.clone()]
    );
    let signature_node = node(signature.record.digest.clone()).unwrap();
    assert_eq!(signature_node.subject, Some(image.record.digest.clone()));

    // An index lists the image and the image is the signature's subject; the index is fresh.
    assert!(!store
        .delete_unreachable_manifest(repo, &image.record.digest, all_old)
        .await
        .unwrap());
    assert!(!store
        .delete_unreachable_manifest(repo, &signature.record.digest, all_old)
        .await
        .unwrap());
    assert!(!store
        .delete_unreachable_manifest(repo, &index.record.digest, all_fresh)
        .await
        .unwrap());
    // The layer is referenced; a blob named like a recorded manifest is that manifest.
    let layer = &image.layers[0];
    assert!(!store
        .delete_unreferenced_blob(layer, all_old)
        .await
        .unwrap());
    let as_blob = BlobRecord {
        digest: index.record.digest.clone(),
        ..blob(&index.record.payload)
    };
    store.put_blob(repo, &as_blob).await.unwrap();
    assert!(!store
        .delete_unreferenced_blob(&as_blob.digest, all_old)
        .await
        .unwrap());

    // Index first, then what it listed, then the referrer of what is gone.
    for manifest in [&index, &image, &signature] {
        assert!(store
            .delete_unreachable_manifest(repo, &manifest.record.digest, all_old)
            .await
            .unwrap());
    }
    assert!(
        !store
            .delete_unreachable_manifest(repo, &index.record.digest, all_old)
            .await
            .unwrap(),
        "already gone"
    );
    // Now nothing references the blobs, but they were linked after the cutoff `all_fresh`.
    assert!(!store
        .delete_unreferenced_blob(layer, all_fresh)
        .await
        .unwrap());
    let uses = store.blob_uses().await.unwrap();
    assert!(uses
        .iter()
        .any(|u| &u.record.digest == layer && u.last_linked_ms > 0));
    for blob in image_blobs.iter().chain([&as_blob.digest]) {
        assert!(store.delete_unreferenced_blob(blob, all_old).await.unwrap());
        assert_eq!(store.blob(blob).await.unwrap(), None);
        assert_eq!(store.repository_blob(repo, blob).await.unwrap(), None);
    }
}

fn progress(offset: u64, hash_state: &[u8]) -> UploadState {
    UploadState {
        offset,
        hash_state: hash_state.to_vec(),
    }
}

fn session(id: &str) -> UploadSession {
    UploadSession {
        id: UploadId::parse(id).unwrap(),
        repository: "uploads/app".into(),
        committed_offset: 0,
        hash_state: vec![1, 2, 3],
        created_ms: 1_000,
        updated_ms: 1_000,
        expires_ms: 5_000,
    }
}

async fn upload_offsets_compare_and_set(store: &impl MetaStore) {
    let started = session("cas");
    store.create_upload(&started).await.unwrap();
    assert_eq!(
        store.upload(&started.id).await.unwrap(),
        Some(started.clone())
    );
    store
        .advance_upload(&started.id, 0, &progress(5, &[4, 5]), 2_000)
        .await
        .unwrap();
    // A racing chunk that also started at 0 loses and learns where to resume.
    assert!(matches!(
        store
            .advance_upload(&started.id, 0, &progress(7, &[6]), 2_001)
            .await,
        Err(MetaError::UploadOffsetConflict { committed: 5 })
    ));
    assert!(store.delete_upload(&started.id).await.unwrap());
    assert!(!store.delete_upload(&started.id).await.unwrap());
    assert!(matches!(
        store
            .advance_upload(&started.id, 5, &progress(6, &[]), 2_002)
            .await,
        Err(MetaError::UploadUnknown(_))
    ));
}

async fn uploads_survive_reopening(harness: &impl Harness) {
    let started = session("survivor");
    let before_restart = harness.open().await;
    before_restart.create_upload(&started).await.unwrap();
    before_restart
        .advance_upload(&started.id, 0, &progress(42, &[9; 40]), 3_000)
        .await
        .unwrap();
    drop(before_restart);

    let store = harness.open().await;
    let resumed = store.upload(&started.id).await.unwrap().unwrap();
    assert_eq!(
        (
            resumed.committed_offset,
            resumed.hash_state,
            resumed.updated_ms
        ),
        (42, vec![9; 40], 3_000)
    );
    assert_eq!(
        store.expired_uploads(4_999).await.unwrap(),
        Vec::<UploadId>::new()
    );
    assert_eq!(
        store.expired_uploads(5_001).await.unwrap(),
        vec![started.id]
    );
}
