//! What continuous monitoring keeps in the metadata store: advisory records as imported, with
//! their sources; each scanned image's inventory and the findings of its last match; and the
//! outbox of changes between matches that other parts read from a cursor.
//!
//! The store holds inventories, findings and advisory records as JSON text: what they mean is
//! the `scan` crate's business, and keeping them opaque here lets a new analyzer add fields
//! without a migration.

use std::fmt;
use std::str::FromStr;

use oci::Digest;

/// An advisory record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdvisoryRecord {
    /// The record's id (`GHSA-…`, `DSA-5514-1`).
    pub id: String,
    /// The record's own modification time, when it gives one (RFC 3339).
    pub modified: Option<String>,
    /// The record in OSV JSON.
    pub record: String,
}

/// A stored advisory record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryRecord {
    /// The source it was imported under.
    pub source: String,
    /// When that import ran, in Unix milliseconds.
    pub imported_ms: i64,
    /// The record itself.
    pub record: NewAdvisoryRecord,
}

/// An import source and its last import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisorySource {
    /// Its name (`pypi`, `debian-tracker`).
    pub name: String,
    /// When it was last imported, in Unix milliseconds.
    pub imported_ms: i64,
    /// How many records that import stored.
    pub record_count: u64,
}

/// A scanned image's inventory to store, with the findings of the match made at the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInventory {
    /// The image's manifest digest (the platform manifest's, for a multi-platform image).
    pub digest: Digest,
    /// The reference the scan was asked for (`library/debian:12`), if any.
    pub reference: Option<String>,
    /// The analyzer version that produced the inventory.
    pub analyzer_version: u32,
    /// The inventory, as JSON.
    pub inventory: String,
    /// The findings, as JSON.
    pub findings: String,
}

/// A stored inventory with its current findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInventory {
    /// The image's manifest digest.
    pub digest: Digest,
    /// The references it was scanned as, and the `repository:tag`s in this registry pointing
    /// at it (or at an index listing it), sorted and without repeats.
    pub references: Vec<String>,
    /// When it was last scanned, in Unix milliseconds.
    pub scanned_ms: i64,
    /// The analyzer version that produced the inventory.
    pub analyzer_version: u32,
    /// The inventory, as JSON.
    pub inventory: String,
    /// The findings of the last match, as JSON.
    pub findings: String,
    /// When it was last matched, in Unix milliseconds.
    pub matched_ms: i64,
}

/// An image's findings after a re-match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsUpdate {
    /// The image.
    pub digest: Digest,
    /// Its findings now, as JSON.
    pub findings: String,
}

/// What happened to a finding between two matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// An advisory affects the image that did not before.
    New,
    /// The advisory now names a fix the installed version already has.
    Fixed,
    /// The advisory was withdrawn or removed, or no longer names the package.
    Withdrawn,
}

impl ChangeKind {
    /// The kind as stored and printed: `new`, `fixed` or `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Fixed => "fixed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no change kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a change kind: use new, fixed or withdrawn")]
pub struct UnknownChangeKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownChangeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "new" => Ok(Self::New),
            "fixed" => Ok(Self::Fixed),
            "withdrawn" => Ok(Self::Withdrawn),
            other => Err(UnknownChangeKind(other.to_owned())),
        }
    }
}

/// A change to append to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChangeEvent {
    /// The image.
    pub image: Digest,
    /// The tag (or scanned reference) it concerns; `None` for an image known by digest only.
    pub tag: Option<String>,
    /// What changed.
    pub kind: ChangeKind,
    /// The advisory's id.
    pub advisory: String,
    /// The package, as `name@version`.
    pub package: String,
}

/// A change in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Its place in the outbox: ids only grow, so a reader's cursor is the last id it read.
    pub id: i64,
    /// When it was recorded, in Unix milliseconds.
    pub at_ms: i64,
    /// The change.
    pub event: NewChangeEvent,
}
