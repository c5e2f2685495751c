//! The monitoring part of the `MetaStore` contract: advisory sources replaced whole, scanned
//! images with their references, and the outbox read from a cursor.

use store::{
    ChangeKind, FindingsUpdate, MetaStore, NewAdvisoryRecord, NewChangeEvent, NewInventory,
};

use super::meta_suite::pushed_image;
use super::sha256;

pub async fn run(store: &impl MetaStore) {
    advisory_imports_replace_their_source(store).await;
    inventories_keep_their_references_and_tags(store).await;
    rematches_update_findings_with_their_events(store).await;
}

fn record(id: &str, modified: Option<&str>) -> NewAdvisoryRecord {
    NewAdvisoryRecord {
        id: id.into(),
        modified: modified.map(Into::into),
        record: format!("{{\"id\":\"{id}\"}}"),
    }
}

async fn advisory_imports_replace_their_source(store: &impl MetaStore) {
    let first = [
        record("GHSA-1", Some("2024-01-01T00:00:00Z")),
        record("GHSA-2", None),
    ];
    store
        .replace_advisories("npm", &first, 1_000)
        .await
        .unwrap();
    store
        .replace_advisories("pypi", &[record("PYSEC-1", None)], 2_000)
        .await
        .unwrap();
    // The newer npm data lost GHSA-2 and changed GHSA-1; pypi is untouched.
    let newer = [
        record("GHSA-1", Some("2024-02-01T00:00:00Z")),
        record("GHSA-3", None),
    ];
    store
        .replace_advisories("npm", &newer, 3_000)
        .await
        .unwrap();
    let stored: Vec<(String, String, Option<String>, i64)> = store
        .advisory_records()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.source, r.record.id, r.record.modified, r.imported_ms))
        .collect();
    let expected = [
        ("npm", "GHSA-1", Some("2024-02-01T00:00:00Z"), 3_000),
        ("npm", "GHSA-3", None, 3_000),
        ("pypi", "PYSEC-1", None, 2_000),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(s, id, m, at)| (s.to_string(), id.to_string(), m.map(str::to_owned), *at))
        .collect();
    assert_eq!(stored, expected);
    let records = store.advisory_records().await.unwrap();
    assert_eq!(records[0].record.record, "{\"id\":\"GHSA-1\"}");
    let sources: Vec<(String, i64, u64)> = store
        .advisory_sources()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.imported_ms, s.record_count))
        .collect();
    assert_eq!(
        sources,
        [("npm".into(), 3_000, 2), ("pypi".into(), 2_000, 1)]
    );
    // A source whose records collide is refused whole: nothing of it changes.
    let colliding = [record("GHSA-9", None), record("GHSA-9", None)];
    assert!(store
        .replace_advisories("npm", &colliding, 4_000)
        .await
        .is_err());
    assert_eq!(store.advisory_records().await.unwrap().len(), 3);
}

fn inventory(seed: &str, reference: Option<&str>) -> NewInventory {
    NewInventory {
        digest: sha256(seed.as_bytes()),
        reference: reference.map(Into::into),
        analyzer_version: 1,
        inventory: format!("{{\"seed\":\"{seed}\"}}"),
        findings: "[]".into(),
    }
}

async fn inventories_keep_their_references_and_tags(store: &impl MetaStore) {
    let repository = "monitor/app";
    let image = pushed_image(store, repository, "monitored").await;
    store
        .put_manifest(repository, &image, Some("1.0"))
        .await
        .unwrap();
    let index = super::manifest(None, &[], &[&image.record.digest]);
    store
        .put_manifest(repository, &index, Some("latest"))
        .await
        .unwrap();

    let mut pushed = inventory("unused", Some("elsewhere.example/app:2"));
    pushed.digest = image.record.digest.clone();
    store.put_inventory(&pushed, 10).await.unwrap();
    // Scanning again keeps the earlier reference beside the new one, and replaces the rest.
    pushed.reference = Some("oci:/tmp/layout:app".into());
    pushed.inventory = "{\"rescanned\":true}".into();
    store.put_inventory(&pushed, 20).await.unwrap();
    store
        .put_inventory(&inventory("archive", None), 30)
        .await
        .unwrap();

    let stored = store.inventories().await.unwrap();
    let ours = stored
        .iter()
        .find(|i| i.digest == image.record.digest)
        .expect("the pushed image is stored");
    assert_eq!(
        ours.references,
        [
            "elsewhere.example/app:2",
            "monitor/app:1.0",
            "monitor/app:latest",
            "oci:/tmp/layout:app"
        ]
    );
    assert_eq!((ours.scanned_ms, ours.matched_ms), (20, 20));
    assert_eq!(ours.inventory, "{\"rescanned\":true}");
    let archive = stored
        .iter()
        .find(|i| i.digest == sha256(b"archive"))
        .expect("an image scanned from an archive is stored");
    assert!(archive.references.is_empty());
    assert_eq!(
        (archive.analyzer_version, archive.findings.as_str()),
        (1, "[]")
    );
}

async fn rematches_update_findings_with_their_events(store: &impl MetaStore) {
    let image = inventory("rematched", Some("monitor/rematched:1"));
    store.put_inventory(&image, 100).await.unwrap();
    let start = store
        .change_events(0, u32::MAX)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.id);
    let event = |kind, advisory: &str| NewChangeEvent {
        image: image.digest.clone(),
        tag: Some("monitor/rematched:1".into()),
        kind,
        advisory: advisory.into(),
        package: "lodash@4.17.15".into(),
    };
    let update = FindingsUpdate {
        digest: image.digest.clone(),
        findings: "[\"GHSA-1\"]".into(),
    };
    let first = store
        .record_rematch(&[update], &[event(ChangeKind::New, "GHSA-1")], 200)
        .await
        .unwrap();
    let second = store
        .record_rematch(
            &[],
            &[
                event(ChangeKind::Fixed, "GHSA-1"),
                event(ChangeKind::Withdrawn, "GHSA-2"),
            ],
            300,
        )
        .await
        .unwrap();
    assert!(first[0].id > start && second[0].id > first[0].id && second[1].id > second[0].id);
    let stored = store.inventories().await.unwrap();
    let ours = stored.iter().find(|i| i.digest == image.digest).unwrap();
    assert_eq!(
        (ours.findings.as_str(), ours.matched_ms),
        ("[\"GHSA-1\"]", 200)
    );

    let all = store.change_events(start, 10).await.unwrap();
    let seen: Vec<(ChangeKind, &str, i64)> = all
        .iter()
        .map(|e| (e.event.kind, e.event.advisory.as_str(), e.at_ms))
        .collect();
    assert_eq!(
        seen,
        [
            (ChangeKind::New, "GHSA-1", 200),
            (ChangeKind::Fixed, "GHSA-1", 300),
            (ChangeKind::Withdrawn, "GHSA-2", 300)
        ]
    );
    assert_eq!(all[0].event, event(ChangeKind::New, "GHSA-1"));
    // A reader resumes after the last id it handled, in pages.
    let page = store.change_events(first[0].id, 1).await.unwrap();
    assert_eq!(page, second[..1]);
    assert!(store
        .change_events(second[1].id, 10)
        .await
        .unwrap()
        .is_empty());
}
