//! Re-matching every stored inventory against a database: the findings now, diffed with the
//! stored ones, stored again together with the changes in the outbox (one transaction).

use oci::Digest;
use scan::changes::{diff, stored_findings, AdvisoryIndex, Change, ChangeKind};
use scan::{AdvisoryDb, Inventory};
use store::{ChangeEvent, FindingsUpdate, MetaStore, NewChangeEvent, StoredInventory};

use crate::{findings, MonitorError};

/// What changed for one image.
#[derive(Debug, Clone)]
pub struct ImageChanges {
    /// The image's manifest digest.
    pub digest: Digest,
    /// Its references (scanned as, and this registry's tags pointing at it).
    pub references: Vec<String>,
    /// The changes, new findings first.
    pub changes: Vec<Change>,
}

/// The outcome of a re-match.
#[derive(Debug, Default)]
pub struct Rematch {
    /// How many stored images were matched.
    pub images: usize,
    /// The images whose findings changed, by digest.
    pub changed: Vec<ImageChanges>,
    /// The events appended to the outbox.
    pub events: Vec<ChangeEvent>,
}

/// Matches every stored inventory against `db`, stores each image's findings where they
/// changed, and appends every change to the outbox (dated `now_ms`), once per reference of its
/// image. The matching runs on every core, over equal shares of the images.
pub async fn rematch(
    meta: &impl MetaStore,
    db: &AdvisoryDb,
    now_ms: i64,
) -> Result<Rematch, MonitorError> {
    let stored = meta.inventories().await?;
    let index = AdvisoryIndex::new(db);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = stored.len().div_ceil(threads).max(1);
    let matched: Vec<Result<Vec<Option<Matched>>, MonitorError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = stored
            .chunks(share)
            .map(|images| {
                let index = &index;
                scope.spawn(move || images.iter().map(|i| match_one(i, db, index)).collect())
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a re-match worker panicked"))
            .collect()
    });
    let mut outcome = Rematch {
        images: stored.len(),
        ..Rematch::default()
    };
    let mut updates = Vec::new();
    let mut events = Vec::new();
    let results = matched.into_iter().collect::<Result<Vec<_>, _>>()?;
    for (image, result) in stored.into_iter().zip(results.into_iter().flatten()) {
        let Some(Matched { findings, changes }) = result else {
            continue;
        };
        updates.push(FindingsUpdate {
            digest: image.digest.clone(),
            findings,
        });
        if changes.is_empty() {
            continue;
        }
        events.extend(events_of(&image, &changes));
        outcome.changed.push(ImageChanges {
            digest: image.digest,
            references: image.references,
            changes,
        });
    }
    outcome.events = meta.record_rematch(&updates, &events, now_ms).await?;
    Ok(outcome)
}

/// An image whose stored findings text changed: the text to store and the changes.
struct Matched {
    findings: String,
    changes: Vec<Change>,
}

/// One image's findings now and the changes since its stored ones, or `None` when the stored
/// findings are the same: then nothing is decoded, diffed or written.
fn match_one(
    image: &StoredInventory,
    db: &AdvisoryDb,
    index: &AdvisoryIndex<'_>,
) -> Result<Option<Matched>, MonitorError> {
    let unreadable = |what, source| MonitorError::Stored {
        what,
        digest: image.digest.clone(),
        source,
    };
    let inventory: Inventory =
        serde_json::from_str(&image.inventory).map_err(|e| unreadable("inventory", e))?;
    let matches = inventory.match_advisories(db);
    let findings = findings::encode(&matches)?;
    if findings == image.findings {
        return Ok(None);
    }
    let before =
        findings::decode(&image.findings, &inventory).map_err(|e| unreadable("findings", e))?;
    let after = stored_findings(&inventory, &matches);
    let changes = diff(&before, &after, &inventory, index);
    Ok(Some(Matched { findings, changes }))
}

/// The outbox events for an image's changes: one per change and reference, or one per change
/// without a tag for an image known by digest only.
fn events_of(image: &StoredInventory, changes: &[Change]) -> Vec<NewChangeEvent> {
    let tags: Vec<Option<String>> = if image.references.is_empty() {
        vec![None]
    } else {
        image.references.iter().cloned().map(Some).collect()
    };
    let mut events = Vec::with_capacity(tags.len() * changes.len());
    for tag in &tags {
        for change in changes {
            events.push(NewChangeEvent {
                image: image.digest.clone(),
                tag: tag.clone(),
                kind: match change.kind {
                    ChangeKind::New => store::ChangeKind::New,
                    ChangeKind::Fixed => store::ChangeKind::Fixed,
                    ChangeKind::Withdrawn => store::ChangeKind::Withdrawn,
                },
                advisory: change.finding.advisory.clone(),
                package: format!("{}@{}", change.finding.package, change.finding.version),
            });
        }
    }
    events
}
