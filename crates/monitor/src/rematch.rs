//! Re-matching every stored inventory against a database: the findings now, diffed with the
//! stored ones, stored again together with the changes in the outbox (one transaction).

use oci::Digest;
use scan::changes::{diff, stored_findings, AdvisoryIndex, Change, ChangeKind, StoredFinding};
use scan::{AdvisoryDb, Inventory};
use store::{ChangeEvent, FindingsUpdate, MetaStore, NewChangeEvent, StoredInventory};

use crate::MonitorError;

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
/// image.
pub async fn rematch(
    meta: &impl MetaStore,
    db: &AdvisoryDb,
    now_ms: i64,
) -> Result<Rematch, MonitorError> {
    let stored = meta.inventories().await?;
    let index = AdvisoryIndex::new(db);
    let mut outcome = Rematch {
        images: stored.len(),
        ..Rematch::default()
    };
    let mut updates = Vec::new();
    let mut events = Vec::new();
    for image in stored {
        let (after, changes) = match_one(&image, db, &index)?;
        let findings = serde_json::to_string(&after)?;
        if findings != image.findings {
            updates.push(FindingsUpdate {
                digest: image.digest.clone(),
                findings,
            });
        }
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

/// One image's findings now and the changes since its stored ones.
fn match_one(
    image: &StoredInventory,
    db: &AdvisoryDb,
    index: &AdvisoryIndex<'_>,
) -> Result<(Vec<StoredFinding>, Vec<Change>), MonitorError> {
    let unreadable = |what, source| MonitorError::Stored {
        what,
        digest: image.digest.clone(),
        source,
    };
    let inventory: Inventory =
        serde_json::from_str(&image.inventory).map_err(|e| unreadable("inventory", e))?;
    let before: Vec<StoredFinding> =
        serde_json::from_str(&image.findings).map_err(|e| unreadable("findings", e))?;
    let after = stored_findings(&inventory, &inventory.match_advisories(db));
    let changes = diff(&before, &after, &inventory, index);
    Ok((after, changes))
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
