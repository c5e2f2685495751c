//! Continuous monitoring: advisory data and the inventories of scanned images live in the
//! metadata store, so that importing newer advisory data re-evaluates every stored image at
//! once, without reading a layer again, and reports what changed per image and tag.
//!
//! The pieces, each a small step over [`store::MetaStore`] and the `scan` crate:
//! - [`import_advisories`] reads a folder, zip or file with `scan`'s importers and stores its
//!   records, in OSV form, as one source (replacing that source's earlier import);
//! - [`load_advisories`] reads every stored record back into a [`scan::AdvisoryDb`];
//! - [`record_scan`] stores an image's inventory with the findings of its scan;
//! - [`rematch`] matches every stored inventory against a database, diffs the findings with
//!   the stored ones ([`scan::changes`]), and stores the new findings together with the
//!   changes in the outbox that other parts read ([`store::MetaStore::change_events`]).

#![deny(missing_docs)]

mod detect;
mod findings;
mod rematch;

use std::collections::BTreeMap;
use std::path::Path;

use oci::Digest;
use scan::import::osv;
use scan::{Advisory, AdvisoryDb, Format, ImportReport, Inventory, Matches};
use store::{MetaError, MetaStore, NewAdvisoryRecord, NewInventory};

pub use detect::detect_format;
pub use rematch::{rematch, ImageChanges, Rematch};

/// Why monitoring could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The advisory data could not be opened.
    #[error(transparent)]
    Import(#[from] scan::ImportError),
    /// The kind of advisory data could not be told from its content.
    #[error("cannot tell what advisory data {0} holds: name its kind with --kind")]
    UnknownFormat(String),
    /// A stored inventory or findings list does not read back.
    #[error("the stored {what} of image {digest} is unreadable: {source}; scan the image again")]
    Stored {
        /// `inventory` or `findings`.
        what: &'static str,
        /// The image.
        digest: Digest,
        /// Why.
        source: serde_json::Error,
    },
    /// An inventory or findings list could not be written as JSON.
    #[error("cannot write the scan as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// What an import stored.
#[derive(Debug)]
pub struct Imported {
    /// The source name the records are stored under.
    pub source: String,
    /// Records stored (advisories with the same id are one record).
    pub records: usize,
    /// The importer's report: files read, records skipped and why.
    pub report: ImportReport,
}

/// Reads advisory data of `format` at `path` and stores it as the source `source`, replacing
/// what an earlier import of that source stored. `now_ms` and `now` (RFC 3339) date the
/// import; `now` is the stored records' `modified`, as the importers keep no date of their own.
pub async fn import_advisories(
    meta: &impl MetaStore,
    format: Format,
    path: &Path,
    source: &str,
    now_ms: i64,
    now: &str,
) -> Result<Imported, MonitorError> {
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    let report = scan::import_path(
        format,
        path,
        &mut |advisory| match by_id.get_mut(&advisory.id) {
            Some(first) => merge(first, advisory),
            None => _ = by_id.insert(advisory.id.clone(), advisory),
        },
    )?;
    let records: Vec<NewAdvisoryRecord> = by_id
        .values()
        .map(|advisory| NewAdvisoryRecord {
            id: advisory.id.clone(),
            modified: Some(now.to_owned()),
            record: osv::to_osv(advisory, now).to_string(),
        })
        .collect();
    meta.replace_advisories(source, &records, now_ms).await?;
    Ok(Imported {
        source: source.to_owned(),
        records: records.len(),
        report,
    })
}

/// Folds a second advisory with the same id (the Debian tracker and secdb issue one per
/// package and CVE) into the first: one record per id, with every affected package. Each
/// package keeps the severity it had, so matching finds what it found before the merge.
fn merge(first: &mut Advisory, mut second: Advisory) {
    for advisory in [&mut *first, &mut second] {
        let severity = advisory.severity;
        for affected in &mut advisory.affected {
            affected.severity = affected.severity.or(Some(severity));
        }
    }
    first.severity = first.severity.max(second.severity);
    first.cvss_score = match (first.cvss_score, second.cvss_score) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for alias in second.aliases {
        if !first.aliases.contains(&alias) {
            first.aliases.push(alias);
        }
    }
    first.affected.extend(second.affected);
}

/// The stored advisories, and the stored records that did not read back (as problems).
#[derive(Debug, Default)]
pub struct LoadedAdvisories {
    /// Every stored advisory in force.
    pub db: AdvisoryDb,
    /// Records that did not read back, with why.
    pub problems: Vec<scan::Problem>,
}

/// Loads every stored advisory record into one database, as `hallmark scan` and the re-match
/// after an import match against.
pub async fn load_advisories(meta: &impl MetaStore) -> Result<LoadedAdvisories, MonitorError> {
    let mut loaded = LoadedAdvisories::default();
    let mut report = ImportReport::default();
    for stored in meta.advisory_records().await? {
        let name = format!("{}/{}", stored.source, stored.record.id);
        osv::import(
            &name,
            stored.record.record.as_bytes(),
            &mut |a| loaded.db.insert(a),
            &mut report,
        );
    }
    loaded.problems = report.problems;
    Ok(loaded)
}

/// Stores the inventory of a scanned image (by its manifest digest, with the reference the
/// scan was asked for) and the findings of `matches`, its match at the scan, so that the next
/// advisory import re-matches it and reports what changed since.
pub async fn record_scan(
    meta: &impl MetaStore,
    digest: &Digest,
    reference: Option<&str>,
    inventory: &Inventory,
    matches: &Matches<'_>,
    now_ms: i64,
) -> Result<(), MonitorError> {
    let record = NewInventory {
        digest: digest.clone(),
        reference: reference.map(str::to_owned),
        analyzer_version: scan::analyzer::ANALYZER_VERSION,
        inventory: serde_json::to_string(inventory)?,
        findings: findings::encode(matches)?,
    };
    meta.put_inventory(&record, now_ms).await?;
    Ok(())
}
