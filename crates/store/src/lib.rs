//! Where Hallmark keeps what it serves: blobs (immutable content named by digest) behind
//! [`BlobStore`], and registry metadata (repositories, manifests, tags, referrers, uploads)
//! behind [`MetaStore`].
//!
//! The traits are narrow so that the embedded deployment (files under one data folder plus
//! SQLite) and the scale-out one (S3-compatible storage plus PostgreSQL) run the same registry
//! code: a new deployment is a new implementation, checked by the same conformance suite, not
//! new logic. The safety rules live here rather than in the registry: content is hashed while
//! it streams to a temporary place and published atomically only when its digest matches, and
//! a manifest is recorded in one transaction together with the checks that what it references
//! exists.

#![deny(missing_docs)]

mod blob;
mod copy;
mod fs;
mod meta;
mod migrate;
mod sqlite;
mod verify;

pub use blob::{
    BlobContent, BlobError, BlobMeta, BlobStore, ByteRange, ByteStream, UploadId, UploadState,
};
pub use fs::{FsBlobStore, DEFAULT_TEMP_GRACE};
pub use meta::{
    BlobRecord, ManifestRecord, MetaError, MetaStore, NewManifest, Page, ReferenceProblem,
    StoredManifest, UploadSession,
};
pub use sqlite::SqliteMetaStore;
pub use verify::{verify, Problem, VerifyError, VerifyReport};
