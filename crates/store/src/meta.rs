//! The `MetaStore` contract: the registry's truth about repositories, blobs, manifests, tags,
//! referrers and uploads in progress.

use std::future::Future;

use oci::{Digest, DigestError, OrganisationTier, TagExpected};

use crate::access::{Account, AuditEntry, AuditFilter, NewAuditEntry, RefreshTokenRecord};
use crate::blob::{UploadId, UploadState};
use crate::catalogue::{Counted, OffsetPage, RepositorySummary, TagDetail};
use crate::monitoring::{
    AdvisoryRecord, AdvisorySource, ChangeEvent, FindingsUpdate, NewAdvisoryRecord, NewChangeEvent,
    NewInventory, StoredInventory,
};

/// A blob as the database records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    /// The blob's digest.
    pub digest: Digest,
    /// Its length in bytes.
    pub size: u64,
    /// Where blob storage keeps it; kept apart from the digest so storage layouts can change.
    pub object_key: String,
    /// The media type it was pushed with, when known.
    pub media_type: Option<String>,
}

/// A manifest as recorded: the same whether it is being pushed or read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRecord {
    /// Digest of `payload`.
    pub digest: Digest,
    /// The media type the manifest was pushed with.
    pub media_type: String,
    /// The artifact type referrers are filtered by (`artifactType`, else the config media type).
    pub artifact_type: Option<String>,
    /// The exact bytes pushed; served back unchanged because signatures cover them.
    pub payload: Vec<u8>,
    /// The config blob, for image manifests.
    pub config_digest: Option<Digest>,
    /// The manifest this one refers to (`subject`), which need not exist.
    pub subject_digest: Option<Digest>,
    /// Payload plus referenced blobs, for quotas and listings.
    pub total_size: u64,
}

/// A manifest to record, with what it references already extracted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewManifest {
    /// The manifest itself.
    pub record: ManifestRecord,
    /// Layer (and other non-config) blobs; each must be linked to the repository.
    pub layers: Vec<Digest>,
    /// Child manifests of an index; each must exist in the repository.
    pub children: Vec<Digest>,
}

/// A recorded manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// The manifest itself.
    pub record: ManifestRecord,
    /// When it was first pushed, in Unix milliseconds.
    pub created_ms: i64,
}

/// One page of a name listing (`?n=&last=` in the distribution API).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// At most this many names; all when `None`.
    pub limit: Option<u32>,
    /// Only names sorting after this one.
    pub after: Option<String>,
}

/// An upload in progress as the database records it, so any process can take the next chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    /// The upload's name, also its name in blob storage.
    pub id: UploadId,
    /// The repository it will be published into.
    pub repository: String,
    /// Bytes committed so far.
    pub committed_offset: u64,
    /// The saved SHA-256 state over those bytes.
    pub hash_state: Vec<u8>,
    /// When the upload started, in Unix milliseconds.
    pub created_ms: i64,
    /// When the last chunk was committed.
    pub updated_ms: i64,
    /// After this the upload may be collected.
    pub expires_ms: i64,
}

/// A manifest as garbage collection sees it: what may keep it, and what it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestNode {
    /// The repository it is in.
    pub repository: String,
    /// Its digest.
    pub digest: Digest,
    /// The manifest it refers to, if it is a referrer.
    pub subject: Option<Digest>,
    /// Whether any tag points at it.
    pub tagged: bool,
    /// When it was first pushed, in Unix milliseconds.
    pub created_ms: i64,
    /// The manifests it lists, if it is an index.
    pub children: Vec<Digest>,
    /// Its config and layer blobs.
    pub blobs: Vec<Digest>,
}

/// A recorded blob with the last time a push recorded or linked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobUse {
    /// The blob.
    pub record: BlobRecord,
    /// The latest of its recording and its links to repositories, in Unix milliseconds.
    pub last_linked_ms: i64,
}

/// Something [`MetaStore::reference_problems`] found wrong in the recorded references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceProblem {
    /// A manifest references a blob that is not linked to its repository.
    BlobNotLinked {
        /// The repository.
        repository: String,
        /// The manifest.
        manifest: Digest,
        /// The missing blob.
        blob: Digest,
    },
    /// A recorded payload does not hash to its manifest's digest.
    PayloadMismatch {
        /// The repository.
        repository: String,
        /// The digest recorded.
        manifest: Digest,
    },
}

/// Errors at the metadata boundary.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The repository has never been pushed to.
    #[error("repository {0:?} is unknown")]
    RepositoryUnknown(String),
    /// A referenced blob is not linked to the repository; nothing was recorded.
    #[error("blob {0} is not in this repository: push it (or mount it) before the manifest")]
    BlobUnknown(Digest),
    /// A referenced child manifest does not exist in the repository; nothing was recorded.
    #[error("manifest {0} is not in this repository: push the index's manifests first")]
    ManifestUnknown(Digest),
    /// The manifest is still listed by an index in the repository.
    #[error("manifest {0} is referenced by an index: delete the index first")]
    ManifestInUse(Digest),
    /// The upload session is unknown or expired.
    #[error("upload {0} is unknown: start a new upload")]
    UploadUnknown(UploadId),
    /// Another request committed a chunk first.
    #[error(
        "upload has {committed} bytes committed, not the expected amount: resume from {committed}"
    )]
    UploadOffsetConflict {
        /// The offset recorded now.
        committed: u64,
    },
    /// A conditional push found its tag otherwise than expected; nothing was recorded.
    #[error("tag {tag:?} is no longer {expected}: read it again and push on what it is now")]
    TagMoved {
        /// The tag.
        tag: String,
        /// What the push expected it to be.
        expected: TagExpected,
    },
    /// The account does not exist.
    #[error("account {0:?} is unknown: create it with hallmark admin user add or robot add")]
    AccountUnknown(String),
    /// The organisation does not exist.
    #[error("organisation {0:?} is unknown: create it with hallmark admin org add")]
    OrganisationUnknown(String),
    /// A stored value could not be read back (a damaged row or a newer schema).
    #[error("stored {column} value {value:?} is invalid: {reason}")]
    Corrupt {
        /// The column read.
        column: &'static str,
        /// The value found.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A digest read back from the database is malformed.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// The database failed.
    #[error("metadata database failed: {0}; check that the data folder is writable")]
    Database(#[from] sqlx::Error),
}

/// The registry's metadata.
///
/// Architecture Invariant: tags, catalog, HEAD and referrers answer from here, never from
/// listing blob storage; and a manifest is recorded only together with the proof that all it
/// references exists.
pub trait MetaStore: Send + Sync {
    /// Finds or creates a repository.
    fn create_repository(&self, name: &str) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Whether the repository exists.
    fn repository_exists(&self, name: &str)
        -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Repository names in order, for `/v2/_catalog`.
    fn list_repositories(
        &self,
        page: &Page,
    ) -> impl Future<Output = Result<Vec<String>, MetaError>> + Send;

    /// Records a blob (once, globally) and links it to `repository`, creating the repository.
    fn put_blob(
        &self,
        repository: &str,
        blob: &BlobRecord,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Links an already recorded blob to `repository` (a cross-repository mount).
    fn link_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// The blob, if it is linked to `repository`.
    fn repository_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<BlobRecord>, MetaError>> + Send;

    /// The blob, if any repository has it.
    fn blob(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<BlobRecord>, MetaError>> + Send;

    /// Every recorded blob, for verification.
    fn blobs(&self) -> impl Future<Output = Result<Vec<BlobRecord>, MetaError>> + Send;

    /// Removes the blob from `repository`; `false` when it was not linked.
    fn unlink_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Records a manifest, its references and optionally a tag, in one transaction that first
    /// checks every referenced blob is linked to the repository and every child manifest
    /// exists there. Pushing the same manifest again only moves the tag.
    fn put_manifest(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: Option<&str>,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// The manifest with this digest in `repository`.
    fn manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<StoredManifest>, MetaError>> + Send;

    /// The manifest `tag` points at in `repository`.
    fn tagged_manifest(
        &self,
        repository: &str,
        tag: &str,
    ) -> impl Future<Output = Result<Option<StoredManifest>, MetaError>> + Send;

    /// Removes a manifest with its tags, layers and references; `false` when it was not there.
    /// Fails with [`MetaError::ManifestInUse`] while an index lists it.
    fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Tag names in lexical order, for `/v2/<name>/tags/list`.
    fn list_tags(
        &self,
        repository: &str,
        page: &Page,
    ) -> impl Future<Output = Result<Vec<String>, MetaError>> + Send;

    /// Removes a tag (not its manifest); `false` when it was not there.
    fn delete_tag(
        &self,
        repository: &str,
        tag: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Manifests in `repository` whose subject is `subject`, optionally only those of
    /// `artifact_type`, in digest order.
    fn referrers(
        &self,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> impl Future<Output = Result<Vec<StoredManifest>, MetaError>> + Send;

    /// Records a new upload session, creating its repository.
    fn create_upload(
        &self,
        session: &UploadSession,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// The upload session, if it exists.
    fn upload(
        &self,
        id: &UploadId,
    ) -> impl Future<Output = Result<Option<UploadSession>, MetaError>> + Send;

    /// Moves an upload from `from_offset` to the progress `to` (as [`crate::BlobStore`]
    /// returned it), only if nobody else moved it
    /// first ([`MetaError::UploadOffsetConflict`] otherwise): the compare-and-set that
    /// serialises racing chunks across processes.
    fn advance_upload(
        &self,
        id: &UploadId,
        from_offset: u64,
        to: &UploadState,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Forgets an upload session; `false` when it was not there.
    fn delete_upload(&self, id: &UploadId) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Upload sessions that expired before `now_ms`, for collection.
    fn expired_uploads(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<UploadId>, MetaError>> + Send;

    /// Every manifest with its tags' existence, subject, children and blobs: the graph garbage
    /// collection marks from.
    fn manifest_graph(&self) -> impl Future<Output = Result<Vec<ManifestNode>, MetaError>> + Send;

    /// Every recorded blob with when it was last recorded or linked.
    fn blob_uses(&self) -> impl Future<Output = Result<Vec<BlobUse>, MetaError>> + Send;

    /// Deletes a manifest only if, checked in the deleting statement itself, it has no tag, no
    /// index lists it, its subject (if any) is not in the repository, and it was pushed before
    /// `before_ms`; `false` when any of that no longer holds or it is gone.
    fn delete_unreachable_manifest(
        &self,
        repository: &str,
        digest: &Digest,
        before_ms: i64,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Forgets a blob only if, checked in the deleting transaction itself, no manifest in any
    /// repository references it (as config, layer or as the manifest itself) and neither the
    /// blob nor any link to it is as new as `before_ms`; `false` otherwise. Its storage is the
    /// caller's to remove afterwards.
    fn delete_unreferenced_blob(
        &self,
        digest: &Digest,
        before_ms: i64,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Checks every manifest's payload against its digest and its blob references against its
    /// repository's links.
    fn reference_problems(
        &self,
    ) -> impl Future<Output = Result<Vec<ReferenceProblem>, MetaError>> + Send;

    /// The repository as the catalogue shows it; `None` when it does not exist.
    fn repository_summary(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<RepositorySummary>, MetaError>> + Send;

    /// Repositories whose name or description contains `text` (ASCII case ignored), best first:
    /// the name itself (`text` or `library/<text>`), then names ending in `/<text>`, then
    /// other names containing it, then descriptions; within each, most stars, then most pulls,
    /// then by name.
    fn search_repositories(
        &self,
        text: &str,
        page: &OffsetPage,
    ) -> impl Future<Output = Result<Counted<RepositorySummary>, MetaError>> + Send;

    /// The repositories in `namespace` (names starting `<namespace>/`), by name.
    fn namespace_repositories(
        &self,
        namespace: &str,
        page: &OffsetPage,
    ) -> impl Future<Output = Result<Counted<RepositorySummary>, MetaError>> + Send;

    /// The repository's tags with their manifests, most recently pushed first (then by name);
    /// [`MetaError::RepositoryUnknown`] when it does not exist.
    fn tag_details(
        &self,
        repository: &str,
        page: &OffsetPage,
    ) -> impl Future<Output = Result<Counted<TagDetail>, MetaError>> + Send;

    /// One tag with its manifest; `None` when the repository or the tag does not exist.
    fn tag_detail(
        &self,
        repository: &str,
        tag: &str,
    ) -> impl Future<Output = Result<Option<TagDetail>, MetaError>> + Send;

    /// Sets what the repository says it is; [`MetaError::RepositoryUnknown`] when it does not
    /// exist.
    fn set_description(
        &self,
        repository: &str,
        description: &str,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Records that `user` starred the repository; `false` when they already had.
    /// [`MetaError::RepositoryUnknown`] when it does not exist.
    fn star(
        &self,
        user: &str,
        repository: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Takes `user`'s star back; `false` when there was none.
    fn unstar(
        &self,
        user: &str,
        repository: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Whether `user` starred the repository; `false` when it does not exist.
    fn has_starred(
        &self,
        user: &str,
        repository: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Sets (or with `None` clears) the tier an admin gives the organisation `namespace`.
    fn set_organisation_tier(
        &self,
        namespace: &str,
        tier: Option<OrganisationTier>,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Adds a batch of pulls, counted by repository, in one transaction; repositories deleted
    /// meanwhile are skipped.
    fn add_pulls(
        &self,
        counts: &[(String, u64)],
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// [`MetaStore::put_manifest`] with audit entries written in the same transaction: a push
    /// by `actor`, and a tag move when the tag pointed at another manifest before.
    fn put_manifest_audited(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: Option<&str>,
        actor: &str,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// [`MetaStore::put_manifest_audited`] that moves `tag` only if it is as `expected`: the
    /// compare and the move are one statement in the push's transaction, so of pushes racing
    /// from the same state exactly one moves the tag. When the tag is otherwise, fails with
    /// [`MetaError::TagMoved`] and records nothing.
    fn put_manifest_if(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: &str,
        expected: &TagExpected,
        actor: &str,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// [`MetaStore::delete_manifest`] with a delete entry by `actor` in the same transaction.
    fn delete_manifest_audited(
        &self,
        repository: &str,
        digest: &Digest,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// [`MetaStore::delete_tag`] with a delete entry by `actor` in the same transaction.
    fn delete_tag_audited(
        &self,
        repository: &str,
        tag: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// [`MetaStore::unlink_blob`] with a delete entry by `actor` in the same transaction.
    fn unlink_blob_audited(
        &self,
        repository: &str,
        digest: &Digest,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Replaces an account's password hash, audited as `actor`'s permission change when
    /// `actor` is given (a rehash after login, with the same password, is not a change of
    /// permission); `false` when there is no such account.
    fn set_password_hash(
        &self,
        name: &str,
        password_hash: &str,
        actor: Option<&str>,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Creates an account with its grants and memberships, audited as `actor`'s permission
    /// change; `false` (and nothing written) when the name is taken.
    /// [`MetaError::OrganisationUnknown`] when a membership names a missing organisation.
    fn create_account(
        &self,
        account: &Account,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// The account, with its grants and memberships.
    fn account(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Account>, MetaError>> + Send;

    /// Every account, by name.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Account>, MetaError>> + Send;

    /// Removes an account with its grants, memberships and refresh tokens; `false` when there
    /// was none.
    fn delete_account(
        &self,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Creates an organisation; `false` when it exists.
    fn create_organisation(
        &self,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Makes `account` a member of `organisation`; `false` when it already was.
    fn add_member(
        &self,
        organisation: &str,
        account: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool, MetaError>> + Send;

    /// Makes a repository (existing or not yet pushed) private or public again.
    fn set_private(
        &self,
        repository: &str,
        private: bool,
        actor: &str,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Which of `repositories` are private.
    fn private_repositories(
        &self,
        repositories: &[&str],
    ) -> impl Future<Output = Result<Vec<String>, MetaError>> + Send;

    /// Records a refresh token's hash and binding.
    fn put_refresh_token(
        &self,
        token: &RefreshTokenRecord,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// The refresh token with this hash, expired or not (the caller compares times).
    fn refresh_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, MetaError>> + Send;

    /// The token signing key's secret: `candidate` when none was stored yet (it is stored
    /// then), else the stored one, so processes starting together agree on one key.
    fn token_signing_key(
        &self,
        candidate: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, MetaError>> + Send;

    /// Appends an entry to the audit log on its own, for changes made outside this store's
    /// other audited methods.
    fn record_audit(
        &self,
        entry: &NewAuditEntry,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Audit entries matching `filter`, newest first.
    fn audit_log(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, MetaError>> + Send;

    /// Replaces every record of the advisory source `source` with `records` (ids unique) and
    /// notes the import's time and count, in one transaction: a record missing from a newer
    /// import of the same source is gone afterwards.
    fn replace_advisories(
        &self,
        source: &str,
        records: &[NewAdvisoryRecord],
        imported_ms: i64,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Every stored advisory record, by source then id.
    fn advisory_records(
        &self,
    ) -> impl Future<Output = Result<Vec<AdvisoryRecord>, MetaError>> + Send;

    /// The advisory sources, by name.
    fn advisory_sources(
        &self,
    ) -> impl Future<Output = Result<Vec<AdvisorySource>, MetaError>> + Send;

    /// Records a scanned image's inventory and findings, replacing what an earlier scan of the
    /// same digest recorded, and adds the scanned reference to the ones it had.
    fn put_inventory(
        &self,
        inventory: &NewInventory,
        scanned_ms: i64,
    ) -> impl Future<Output = Result<(), MetaError>> + Send;

    /// Every stored inventory with its findings and references, by digest.
    fn inventories(&self) -> impl Future<Output = Result<Vec<StoredInventory>, MetaError>> + Send;

    /// Replaces the findings of re-matched images and appends the changes to the outbox, in
    /// one transaction, so the outbox holds exactly the changes the stored findings went
    /// through. Returns the events with their ids.
    fn record_rematch(
        &self,
        updates: &[FindingsUpdate],
        events: &[NewChangeEvent],
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<ChangeEvent>, MetaError>> + Send;

    /// Up to `limit` outbox events with ids above `after`, oldest first.
    fn change_events(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ChangeEvent>, MetaError>> + Send;
}
