//! `fsck` for a registry: every stored blob re-hashed, every recorded blob present with its
//! size, every manifest's payload and references checked.

use std::collections::BTreeMap;

use oci::{Digest, Hasher};

use crate::blob::{BlobError, BlobStore};
use crate::copy::{copy_hashing, CopyError};
use crate::embedded::StoreError;
use crate::meta::{MetaStore, ReferenceProblem};

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many stored blobs were re-hashed.
    pub blobs_checked: usize,
    /// Stored blobs no repository records: not an inconsistency (a push in flight, or garbage
    /// for collection), but worth showing.
    pub unrecorded_blobs: Vec<Digest>,
    /// Inconsistencies, each a reason to fail.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is inconsistent.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One inconsistency between content, its digest and the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A stored blob no longer hashes to its name.
    BlobCorrupt {
        /// The blob's name.
        digest: Digest,
        /// What its content hashes to now.
        actual: Digest,
    },
    /// The metadata records a blob that storage does not have.
    BlobMissing {
        /// The blob.
        digest: Digest,
    },
    /// The stored blob's length differs from the recorded one.
    BlobSizeMismatch {
        /// The blob.
        digest: Digest,
        /// The size the metadata records.
        recorded: u64,
        /// The size storage has.
        stored: u64,
    },
    /// A manifest's payload or references are wrong.
    Reference(ReferenceProblem),
}

/// Checks that blob storage and metadata agree with each other and with their digests.
pub async fn verify(
    blobs: &impl BlobStore,
    meta: &impl MetaStore,
) -> Result<VerifyReport, StoreError> {
    verify_with_progress(blobs, meta, |_, _| {}).await
}

/// [`verify`], calling `progress(done, total)` after each blob is re-hashed, which is where a
/// large registry spends its time.
pub async fn verify_with_progress(
    blobs: &impl BlobStore,
    meta: &impl MetaStore,
    mut progress: impl FnMut(usize, usize),
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut stored = BTreeMap::new();
    let listed = blobs.list().await?;
    let total = listed.len();
    for digest in listed {
        let (actual, size) = match rehash(blobs, &digest).await {
            Ok(rehashed) => rehashed,
            // Collected since the listing, by a `gc` running beside: not a problem.
            Err(BlobError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        report.blobs_checked += 1;
        progress(report.blobs_checked, total);
        if actual != digest {
            report.problems.push(Problem::BlobCorrupt {
                digest: digest.clone(),
                actual,
            });
        }
        stored.insert(digest, size);
    }
    for record in meta.blobs().await? {
        match stored.remove(&record.digest) {
            None => report.problems.push(Problem::BlobMissing {
                digest: record.digest,
            }),
            Some(size) if size != record.size => report.problems.push(Problem::BlobSizeMismatch {
                digest: record.digest,
                recorded: record.size,
                stored: size,
            }),
            Some(_) => {}
        }
    }
    report.unrecorded_blobs = stored.into_keys().collect();
    let references = meta.reference_problems().await?;
    report
        .problems
        .extend(references.into_iter().map(Problem::Reference));
    Ok(report)
}

async fn rehash(blobs: &impl BlobStore, digest: &Digest) -> Result<(Digest, u64), BlobError> {
    let mut content = blobs.get(digest, None).await?;
    let mut hasher = Hasher::new(digest.algorithm());
    let size = copy_hashing(&mut content.reader, &mut tokio::io::sink(), &mut hasher)
        .await
        .map_err(
            |(CopyError::Read(source) | CopyError::Write(source))| BlobError::Io {
                path: digest.as_str().into(),
                source,
            },
        )?;
    Ok((hasher.finish(), size))
}
