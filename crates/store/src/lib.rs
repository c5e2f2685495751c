//! Where Hallmark keeps what it serves: blobs (immutable content named by digest) behind
//! [`BlobStore`], and registry metadata (repositories, manifests, tags, referrers, uploads, and
//! access control's accounts, organisations, private repositories, refresh-token hashes, signing
//! key and audit log; advisories, scanned images' inventories and the monitoring outbox) behind
//! [`MetaStore`].
//!
//! The traits are narrow so that the embedded deployment (files under one data folder plus
//! SQLite) and the scale-out one (S3-compatible storage plus PostgreSQL) run the same registry
//! code: a new deployment is a new implementation, checked by the same conformance suite, not
//! new logic. The safety rules live here rather than in the registry: content is hashed while
//! it streams to a temporary place and published atomically only when its digest matches, and
//! a manifest is recorded in one transaction together with the checks that what it references
//! exists.
//!
//! How the registry combines the two, so that a crash at any point leaves nothing visible that
//! is not whole (storage first when adding, metadata first when removing):
//! - Monolithic push: [`BlobStore::put`], then [`MetaStore::put_blob`].
//! - Chunked push: [`BlobStore::start_upload`] and [`MetaStore::create_upload`]; for each chunk
//!   [`MetaStore::upload`], [`BlobStore::append_upload`] from the recorded state, then
//!   [`MetaStore::advance_upload`] (its conflict, like [`BlobError::UploadOffsetMismatch`] and
//!   [`BlobError::UploadBusy`], is a 416); to close, [`BlobStore::finish_upload`],
//!   [`MetaStore::put_blob`], [`MetaStore::delete_upload`].
//! - Manifest push: [`MetaStore::put_manifest`] alone; it refuses what references missing blobs.
//!   A conditional push (HTTP `If-Match`/`If-None-Match`) is [`MetaStore::put_manifest_if`],
//!   whose tag check and tag move are one compare-and-set.
//! - Deletes: metadata first ([`MetaStore::unlink_blob`], [`MetaStore::delete_manifest`]);
//!   storage is reclaimed later by [`collect_garbage`], never by a request.

#![deny(missing_docs)]

mod access;
mod blob;
mod catalogue;
mod copy;
mod embedded;
mod fs;
mod gc;
mod meta;
mod migrate;
mod monitoring;
mod sqlite;
mod verify;

pub use access::{
    Account, AccountKind, AuditAction, AuditEntry, AuditFilter, NewAuditEntry, RefreshTokenRecord,
    UnknownAuditAction,
};
pub use blob::{
    BlobContent, BlobError, BlobMeta, BlobStore, ByteRange, ByteStream, UploadId, UploadState,
};
pub use catalogue::{Counted, OffsetPage, RepositorySummary, TagDetail};
pub use embedded::{open_embedded, StoreError, METADATA_FILE};
pub use fs::{FsBlobStore, DEFAULT_TEMP_GRACE};
pub use gc::{collect_garbage, CollectedManifest, GcOptions, GcReport, DEFAULT_GC_GRACE};
pub use meta::{
    BlobRecord, BlobUse, ManifestNode, ManifestRecord, MetaError, MetaStore, NewManifest, Page,
    ReferenceProblem, StoredManifest, UploadSession,
};
pub use monitoring::{
    AdvisoryRecord, AdvisorySource, ChangeEvent, ChangeKind, FindingsUpdate, NewAdvisoryRecord,
    NewChangeEvent, NewInventory, StoredInventory, UnknownChangeKind,
};
pub use oci::TagExpected;
pub use sqlite::SqliteMetaStore;
pub use verify::{verify, verify_with_progress, Problem, VerifyReport};
