//! Conditional tag moves ([`MetaStore::put_manifest_if`]): the compare-and-set that keeps two
//! writers of one tag from silently overwriting each other, alone and under a real race.

use store::{
    AuditAction, AuditFilter, ManifestRecord, MetaError, MetaStore, NewManifest, TagExpected,
};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::sha256;

const REPO: &str = "cas/app";
const TAG: &str = "shared";

pub async fn run<S: MetaStore + Clone + 'static>(store: &S) {
    conditions_move_the_tag_only_when_they_hold(store).await;
    exactly_one_of_a_race_moves_the_tag(store).await;
    read_modify_write_loses_no_update(store).await;
}

/// A manifest of `payload` with no references, so any text is a distinct manifest.
fn document(payload: &str) -> NewManifest {
    NewManifest {
        record: ManifestRecord {
            digest: sha256(payload.as_bytes()),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            artifact_type: None,
            payload: payload.as_bytes().to_vec(),
            config_digest: None,
            subject_digest: None,
            total_size: 0,
        },
        layers: vec![],
        children: vec![],
    }
}

/// The tag's manifest's digest and payload, if it exists.
async fn current(store: &impl MetaStore, tag: &str) -> Option<(oci::Digest, String)> {
    let found = store.tagged_manifest(REPO, tag).await.unwrap()?;
    let payload = String::from_utf8(found.record.payload).unwrap();
    Some((found.record.digest, payload))
}

fn expected_now(found: &Option<(oci::Digest, String)>) -> TagExpected {
    found
        .as_ref()
        .map_or(TagExpected::Absent, |(d, _)| TagExpected::At(d.clone()))
}

async fn conditions_move_the_tag_only_when_they_hold(store: &impl MetaStore) {
    let (first, second, third) = (document("first"), document("second"), document("third"));
    let at = |m: &NewManifest| TagExpected::At(m.record.digest.clone());
    let tag = "conditional";
    // (what is pushed, the condition, whether it holds, the manifest tagged afterwards)
    let cases = [
        (&first, at(&second), false, None),
        (&first, TagExpected::Absent, true, Some(&first)),
        (&second, TagExpected::Absent, false, Some(&first)),
        (&second, at(&second), false, Some(&first)),
        (&second, at(&first), true, Some(&second)),
        (&third, at(&first), false, Some(&second)),
        // Pushing what the tag already points at, on that condition, holds and moves nothing.
        (&second, at(&second), true, Some(&second)),
    ];
    let mut recorded = Vec::new();
    for (pushed, expected, holds, tagged) in cases {
        let digest = &pushed.record.digest;
        let result = store
            .put_manifest_if(REPO, pushed, tag, &expected, "ci")
            .await;
        match (&result, holds) {
            (Ok(()), true) => recorded.push(digest.clone()),
            (
                Err(MetaError::TagMoved {
                    tag: t,
                    expected: e,
                }),
                false,
            ) => {
                assert_eq!((t.as_str(), e), (tag, &expected));
                // Nothing of a refused push is recorded, not even a new manifest.
                if !recorded.contains(digest) {
                    assert_eq!(store.manifest(REPO, digest).await.unwrap(), None);
                }
            }
            _ => panic!("pushing on {expected}: {result:?}, expected to hold: {holds}"),
        }
        let now = current(store, tag).await.map(|(d, _)| d);
        assert_eq!(now, tagged.map(|m| m.record.digest.clone()), "{expected}");
    }
    let moves = store
        .audit_log(&AuditFilter {
            repository: Some(REPO.into()),
            action: Some(AuditAction::TagMove),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let details: Vec<&str> = moves.iter().map(|m| m.entry.detail.as_str()).collect();
    assert_eq!(details, [format!("from {}", first.record.digest)]);
}

/// Rounds of tasks that all read the tag, then all push on what they read: exactly one per
/// round moves it, the others are told it moved.
async fn exactly_one_of_a_race_moves_the_tag<S: MetaStore + Clone + 'static>(store: &S) {
    const RACERS: usize = 8;
    for round in 0..6 {
        let start = std::sync::Arc::new(Barrier::new(RACERS));
        let mut racers = JoinSet::new();
        for racer in 0..RACERS {
            let (store, start) = (store.clone(), start.clone());
            racers.spawn(async move {
                let read = current(&store, TAG).await;
                start.wait().await;
                let mine = document(&format!("round {round} racer {racer}"));
                let pushed = store
                    .put_manifest_if(REPO, &mine, TAG, &expected_now(&read), "ci")
                    .await;
                (mine.record.digest, pushed)
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = racers.join_next().await {
            match joined.unwrap() {
                (digest, Ok(())) => winners.push(digest),
                (_, Err(MetaError::TagMoved { .. })) => {}
                (_, Err(other)) => panic!("round {round}: {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let now = current(store, TAG).await.map(|(d, _)| d);
        assert_eq!(now.as_ref(), winners.first(), "round {round}");
    }
}

/// Tasks that each add their name to a list kept in one tag's manifest, re-reading when they
/// lose: every name ends up in the list.
async fn read_modify_write_loses_no_update<S: MetaStore + Clone + 'static>(store: &S) {
    const WRITERS: usize = 12;
    let tag = "list";
    let start = std::sync::Arc::new(Barrier::new(WRITERS));
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let (store, start) = (store.clone(), start.clone());
        writers.spawn(async move {
            start.wait().await;
            for attempt in 0.. {
                assert!(attempt < 10 * WRITERS, "writer {writer} never got in");
                let read = current(&store, tag).await;
                let list = read.as_ref().map_or("", |(_, list)| list.as_str());
                let added = document(&format!("{list}w{writer};"));
                match store
                    .put_manifest_if(REPO, &added, tag, &expected_now(&read), "ci")
                    .await
                {
                    Ok(()) => return,
                    Err(MetaError::TagMoved { .. }) => tokio::task::yield_now().await,
                    Err(other) => panic!("writer {writer}: {other}"),
                }
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.unwrap();
    }
    let (_, list) = current(store, tag).await.unwrap();
    let mut names: Vec<&str> = list.split_terminator(';').collect();
    names.sort_unstable();
    let mut wanted: Vec<String> = (0..WRITERS).map(|w| format!("w{w}")).collect();
    wanted.sort_unstable();
    assert_eq!(names, wanted);
}
