//! Garbage collection: mark and sweep of untagged manifests and unreferenced blobs, safe to run
//! while pushes go on.
//!
//! The database is the truth. The mark reads the manifest graph and the blobs' ages and plans;
//! the sweep deletes each planned row with a statement that re-checks, as it deletes, that
//! nothing took the row back into use, then removes the file. Deleting metadata before content
//! means a crash in between leaves an unrecorded file, which the next run removes, and never a
//! recorded blob without its file.
//!
//! What is kept:
//! - Anything first pushed, recorded or linked within the grace period: a push in progress
//!   uploads its blobs (and an index its platform manifests) before the manifest that
//!   references them, so the grace must exceed the longest push. Publishing a blob, including
//!   the same bytes again, counts as writing it, so a push never loses a blob it just sent.
//! - With `delete_untagged` (the default), a manifest is kept if it is tagged, listed by a
//!   kept index of its repository, or a referrer (signature, SBOM, …) of a kept manifest of its
//!   repository; that is `registry garbage-collect --delete-untagged` of distribution, plus
//!   referrers. An untagged manifest pulled only by digest therefore goes once it is older than
//!   the grace. A referrer whose subject is absent goes too; one whose subject goes, goes after
//!   it. Without `delete_untagged`, every manifest is kept.
//! - A blob that any manifest in any repository names as config or layer, or that is itself
//!   the digest of a recorded manifest. Links of a blob still in use are left alone.
//!
//! Expired upload sessions are removed as well (their row, then their data).
//!
//! Limits, by design: a push that relies on an old unreferenced blob (its HEAD said the blob
//! is there, so it did not upload it) or re-pushes an old untagged manifest before its index
//! can lose the race and fail with "blob unknown" or "manifest unknown"; the client pushes
//! again, and nothing it had committed is affected. The grace must exceed the moment between a
//! blob's file being written and its metadata being recorded (milliseconds in the registry),
//! or a push of a blob the collector is deleting could record it without its file; a zero
//! grace is for tests and quiet registries. On file systems a push that re-sends content at
//! the very instant the collector takes the file gets it put back; should the collector die
//! in that instant, the blob is recorded without its file (`fsck` says so) until it is pushed
//! again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci::Digest;

use crate::blob::{BlobMeta, BlobStore, UploadId};
use crate::embedded::StoreError;
use crate::meta::{BlobRecord, BlobUse, ManifestNode, MetaStore};

/// How long fresh content is left alone by default: far beyond any single push, and short
/// enough that deleted images free their space the same day.
pub const DEFAULT_GC_GRACE: Duration = Duration::from_secs(60 * 60);

/// How a collection runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOptions {
    /// Content first pushed, recorded or linked more recently than this is kept; it must
    /// exceed the longest push (first blob to manifest) for pushes never to fail on a race.
    pub grace: Duration,
    /// Only report what would go.
    pub dry_run: bool,
    /// Delete manifests that no tag, index or live subject keeps.
    pub delete_untagged: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            grace: DEFAULT_GC_GRACE,
            dry_run: false,
            delete_untagged: true,
        }
    }
}

/// A manifest garbage collection removed, or would remove.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CollectedManifest {
    /// Its repository.
    pub repository: String,
    /// Its digest.
    pub digest: Digest,
}

/// What [`collect_garbage`] removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
    /// Manifests removed.
    pub manifests: Vec<CollectedManifest>,
    /// Blob files removed with their sizes: unreferenced blobs, and files no metadata records
    /// (left by an interrupted collection or push).
    pub blobs: Vec<BlobMeta>,
    /// Expired upload sessions removed.
    pub uploads: Vec<UploadId>,
    /// Candidates left in place because a push used them again after the mark.
    pub spared: usize,
}

impl GcReport {
    /// Bytes of blob storage freed.
    pub fn bytes_freed(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Collects garbage in one deployment's stores; see the module documentation for the policy.
pub async fn collect_garbage(
    blobs: &impl BlobStore,
    meta: &impl MetaStore,
    options: &GcOptions,
) -> Result<GcReport, StoreError> {
    let now = SystemTime::now();
    // One cutoff for the whole run: whatever is written after the run started is fresh too.
    let cutoff = now.checked_sub(options.grace).unwrap_or(UNIX_EPOCH);
    let cutoff_ms = unix_ms(cutoff);
    let graph = meta.manifest_graph().await?;
    let uses = meta.blob_uses().await?;
    let plan = Plan::mark(&graph, uses, cutoff_ms, options.delete_untagged);
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    if options.dry_run {
        let doomed: HashSet<&Digest> = plan.blobs.iter().map(|b| &b.digest).collect();
        let recorded: HashSet<Digest> = meta.blobs().await?.into_iter().map(|b| b.digest).collect();
        report.manifests = plan.manifests;
        report.blobs = blobs
            .list_written_before(cutoff)
            .await?
            .into_iter()
            .filter(|file| doomed.contains(&file.digest) || !recorded.contains(&file.digest))
            .collect();
        report.uploads = meta.expired_uploads(unix_ms(now)).await?;
        return Ok(report);
    }

    sweep_manifests(meta, plan.manifests, cutoff_ms, &mut report).await?;
    for blob in plan.blobs {
        if !meta
            .delete_unreferenced_blob(&blob.digest, cutoff_ms)
            .await?
        {
            report.spared += 1;
            continue;
        }
        if let Some(size) = blobs.delete_written_before(&blob.digest, cutoff).await? {
            report.blobs.push(BlobMeta {
                digest: blob.digest,
                size,
            });
        }
    }
    sweep_unrecorded_files(blobs, meta, cutoff, &mut report).await?;
    for id in meta.expired_uploads(unix_ms(now)).await? {
        // The row first: once it is gone no request can reach the data.
        if meta.delete_upload(&id).await? {
            blobs.cancel_upload(&id).await?;
            report.uploads.push(id);
        }
    }
    Ok(report)
}

/// Deletes the planned manifests, each only if still unreachable. An index goes before the
/// manifests it lists and a subject before its referrers, so passes repeat until one removes
/// nothing; what is left was taken back into use.
async fn sweep_manifests(
    meta: &impl MetaStore,
    mut pending: Vec<CollectedManifest>,
    cutoff_ms: i64,
    report: &mut GcReport,
) -> Result<(), StoreError> {
    loop {
        let before = pending.len();
        let mut left = Vec::new();
        for manifest in pending {
            if meta
                .delete_unreachable_manifest(&manifest.repository, &manifest.digest, cutoff_ms)
                .await?
            {
                report.manifests.push(manifest);
            } else {
                left.push(manifest);
            }
        }
        if left.is_empty() || left.len() == before {
            report.spared += left.len();
            return Ok(());
        }
        pending = left;
    }
}

/// Removes blob files that no metadata records and that were written before the cutoff: those
/// whose metadata an earlier, interrupted run deleted, and those of pushes that died between
/// storing content and recording it.
async fn sweep_unrecorded_files(
    blobs: &impl BlobStore,
    meta: &impl MetaStore,
    cutoff: SystemTime,
    report: &mut GcReport,
) -> Result<(), StoreError> {
    // Files first, records second: a record made after the listing is a push of a file
    // written after it too, which the write-time check below keeps.
    let files = blobs.list_written_before(cutoff).await?;
    let recorded: HashSet<Digest> = meta.blobs().await?.into_iter().map(|b| b.digest).collect();
    for file in files {
        if recorded.contains(&file.digest) {
            continue;
        }
        if let Some(size) = blobs.delete_written_before(&file.digest, cutoff).await? {
            report.blobs.push(BlobMeta {
                digest: file.digest,
                size,
            });
        }
    }
    Ok(())
}

/// What the mark decided: manifests and blob records to delete.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    manifests: Vec<CollectedManifest>,
    blobs: Vec<BlobRecord>,
}

impl Plan {
    fn mark(
        graph: &[ManifestNode],
        uses: Vec<BlobUse>,
        cutoff_ms: i64,
        delete_untagged: bool,
    ) -> Self {
        let live = live_manifests(graph, cutoff_ms, delete_untagged);
        let mut manifests = Vec::new();
        let mut referenced: HashSet<&Digest> = HashSet::new();
        for (node, live) in graph.iter().zip(&live) {
            if *live {
                referenced.extend(&node.blobs);
                referenced.insert(&node.digest);
            } else {
                manifests.push(CollectedManifest {
                    repository: node.repository.clone(),
                    digest: node.digest.clone(),
                });
            }
        }
        let blobs = uses
            .into_iter()
            .filter(|u| u.last_linked_ms < cutoff_ms && !referenced.contains(&u.record.digest))
            .map(|u| u.record)
            .collect();
        Self { manifests, blobs }
    }
}

/// Which manifests stay: the tagged and the fresh, and from them, within each repository, the
/// manifests a kept index lists and the referrers of a kept subject.
fn live_manifests(graph: &[ManifestNode], cutoff_ms: i64, delete_untagged: bool) -> Vec<bool> {
    if !delete_untagged {
        return vec![true; graph.len()];
    }
    let mut by_digest = HashMap::new();
    let mut referrers: HashMap<(&str, &Digest), Vec<usize>> = HashMap::new();
    for (at, node) in graph.iter().enumerate() {
        by_digest.insert((node.repository.as_str(), &node.digest), at);
        if let Some(subject) = &node.subject {
            referrers
                .entry((node.repository.as_str(), subject))
                .or_default()
                .push(at);
        }
    }
    let mut live: Vec<bool> = graph
        .iter()
        .map(|n| n.tagged || n.created_ms >= cutoff_ms)
        .collect();
    let mut queue: VecDeque<usize> = (0..graph.len()).filter(|&at| live[at]).collect();
    while let Some(at) = queue.pop_front() {
        let node = &graph[at];
        let repository = node.repository.as_str();
        let children = node
            .children
            .iter()
            .filter_map(|child| by_digest.get(&(repository, child)).copied());
        let kept_referrers = referrers
            .get(&(repository, &node.digest))
            .into_iter()
            .flatten()
            .copied();
        for next in children.chain(kept_referrers) {
            if !live[next] {
                live[next] = true;
                queue.push_back(next);
            }
        }
    }
    live
}

fn unix_ms(time: SystemTime) -> i64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use oci::DigestAlgorithm;

    use super::*;

    const OLD: i64 = 1_000;
    const CUTOFF: i64 = 2_000;
    const FRESH: i64 = 3_000;

    fn digest(name: &str) -> Digest {
        Digest::of(DigestAlgorithm::Sha256, name.as_bytes())
    }

    /// A manifest called `name` in `repo`; `spec` lists what it has: `tagged`, `fresh`,
    /// `subject=X`, `child=X`, `blob=X`.
    fn node(repo: &str, name: &str, spec: &[&str]) -> ManifestNode {
        let mut node = ManifestNode {
            repository: repo.into(),
            digest: digest(name),
            subject: None,
            tagged: false,
            created_ms: OLD,
            children: vec![],
            blobs: vec![],
        };
        for part in spec {
            match part.split_once('=') {
                None if *part == "tagged" => node.tagged = true,
                None if *part == "fresh" => node.created_ms = FRESH,
                Some(("subject", s)) => node.subject = Some(digest(s)),
                Some(("child", c)) => node.children.push(digest(c)),
                Some(("blob", b)) => node.blobs.push(digest(b)),
                _ => panic!("unknown spec {part}"),
            }
        }
        node
    }

    fn blob_use(name: &str, last_linked_ms: i64) -> BlobUse {
        BlobUse {
            record: BlobRecord {
                digest: digest(name),
                size: 1,
                object_key: name.into(),
                media_type: None,
            },
            last_linked_ms,
        }
    }

    #[test]
    fn the_mark_keeps_what_tags_indexes_subjects_and_the_grace_keep() {
        let graph = [
            node("a", "image", &["tagged", "blob=config", "blob=base"]),
            node("a", "signature", &["subject=image", "blob=sig"]),
            node("a", "signature-of-signature", &["subject=signature"]),
            node("a", "index", &["tagged", "child=amd64"]),
            node("a", "amd64", &["blob=amd64-layer"]),
            node("a", "old-image", &["blob=old-layer", "blob=base"]),
            node("a", "old-signature", &["subject=old-image", "blob=old-sig"]),
            node("a", "dangling-signature", &["subject=never-pushed"]),
            node("a", "old-index", &["child=old-arm64"]),
            node("a", "old-arm64", &["blob=arm64-layer"]),
            node("a", "pushing", &["fresh", "child=pushed-child"]),
            node("a", "pushed-child", &["blob=child-layer"]),
            // Another repository's tag keeps nothing here, whatever the digest.
            node("b", "old-image", &["tagged"]),
        ];
        let uses = [
            "config",
            "base",
            "sig",
            "amd64-layer",
            "old-layer",
            "old-sig",
            "arm64-layer",
            "child-layer",
        ]
        .iter()
        .map(|name| blob_use(name, OLD))
        .chain([blob_use("unused", OLD), blob_use("just-uploaded", FRESH)])
        .collect();
        let plan = Plan::mark(&graph, uses, CUTOFF, true);
        let manifests: Vec<_> = plan.manifests.iter().map(|m| &m.digest).collect();
        let expected = [
            "old-image",
            "old-signature",
            "dangling-signature",
            "old-index",
            "old-arm64",
        ]
        .map(digest);
        assert_eq!(manifests, expected.iter().collect::<Vec<_>>());
        let blobs: BTreeSet<_> = plan.blobs.into_iter().map(|b| b.digest).collect();
        let expected = ["old-layer", "old-sig", "arm64-layer", "unused"].map(digest);
        assert_eq!(blobs, expected.into());

        let keep_all = Plan::mark(&graph, vec![blob_use("old-layer", OLD)], CUTOFF, false);
        assert_eq!(keep_all, Plan::default());
    }
}
