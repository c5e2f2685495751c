//! [`MetaStore`] on SQLite, the embedded default: one database file in the data folder.
//!
//! The SQL is written to run unchanged on PostgreSQL (`$n` parameters, `ON CONFLICT`,
//! `RETURNING`, integer milliseconds), so a PostgreSQL store can share it; only the
//! connection setup and the migrations are SQLite's own. One thing the PostgreSQL migration
//! must add: `COLLATE "C"` on repository and tag names, so `n`/`last` pages sort bytewise as
//! SQLite's default collation does, whatever the server's locale.

mod access;
mod catalogue;
mod gc;
mod manifests;
mod monitoring;
mod uploads;

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci::{Digest, OrganisationTier};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use self::manifests::TagMove;
use crate::access::{Account, AuditEntry, AuditFilter, NewAuditEntry, RefreshTokenRecord};
use crate::blob::{UploadId, UploadState};
use crate::catalogue::{Counted, OffsetPage, RepositorySummary, TagDetail};
use crate::meta::{
    BlobRecord, BlobUse, ManifestNode, MetaError, MetaStore, NewManifest, Page, ReferenceProblem,
    StoredManifest, UploadSession,
};
use crate::monitoring::{
    AdvisoryRecord, AdvisorySource, ChangeEvent, FindingsUpdate, NewAdvisoryRecord, NewChangeEvent,
    NewInventory, StoredInventory,
};
use oci::TagExpected;

/// How long a writer waits for another to finish before giving up; SQLite has one writer at a
/// time and a manifest push holds it only for a few statements.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Registry metadata in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteMetaStore {
    pool: SqlitePool,
}

impl SqliteMetaStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, MetaError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL lets readers (pulls) go on while one writer (a push) commits.
            .journal_mode(SqliteJournalMode::Wal)
            // A push acknowledged to a client must survive a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        crate::migrate::run(&pool, crate::migrate::SQLITE).await?;
        Ok(Self { pool })
    }
}

impl MetaStore for SqliteMetaStore {
    async fn create_repository(&self, name: &str) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, name).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn repository_exists(&self, name: &str) -> Result<bool, MetaError> {
        repository_exists(&self.pool, name).await
    }

    async fn list_repositories(&self, page: &Page) -> Result<Vec<String>, MetaError> {
        let (after, limit) = page_bounds(page);
        let rows =
            sqlx::query("SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    async fn put_blob(&self, repository: &str, blob: &BlobRecord) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        let repo_id = ensure_repository(&mut tx, repository).await?;
        sqlx::query(
            "INSERT INTO blobs (digest, size, object_key, media_type, created_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(blob.digest.as_str())
        .bind(to_db(blob.size))
        .bind(&blob.object_key)
        .bind(&blob.media_type)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        link(&mut tx, repo_id, &blob.digest).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn link_blob(&self, repository: &str, digest: &Digest) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        let repo_id = ensure_repository(&mut tx, repository).await?;
        let known = sqlx::query("SELECT 1 FROM blobs WHERE digest = $1")
            .bind(digest.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(MetaError::BlobUnknown(digest.clone()));
        }
        link(&mut tx, repo_id, digest).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn repository_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<BlobRecord>, MetaError> {
        let row = sqlx::query(
            "SELECT b.digest, b.size, b.object_key, b.media_type
             FROM blobs b
             JOIN repository_blobs rb ON rb.digest = b.digest
             JOIN repositories r ON r.id = rb.repo_id
             WHERE r.name = $1 AND b.digest = $2",
        )
        .bind(repository)
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(blob_from_row).transpose()
    }

    async fn blob(&self, digest: &Digest) -> Result<Option<BlobRecord>, MetaError> {
        let row =
            sqlx::query("SELECT digest, size, object_key, media_type FROM blobs WHERE digest = $1")
                .bind(digest.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(blob_from_row).transpose()
    }

    async fn blobs(&self) -> Result<Vec<BlobRecord>, MetaError> {
        let rows =
            sqlx::query("SELECT digest, size, object_key, media_type FROM blobs ORDER BY digest")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(blob_from_row).collect()
    }

    async fn unlink_blob(&self, repository: &str, digest: &Digest) -> Result<bool, MetaError> {
        unlink_blob(&self.pool, repository, digest, None).await
    }

    async fn put_manifest(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: Option<&str>,
    ) -> Result<(), MetaError> {
        let tag = tag.map(TagMove::unconditional);
        manifests::put(&self.pool, repository, manifest, tag, None).await
    }

    async fn manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, MetaError> {
        manifests::by_digest(&self.pool, repository, digest).await
    }

    async fn tagged_manifest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<StoredManifest>, MetaError> {
        manifests::by_tag(&self.pool, repository, tag).await
    }

    async fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<bool, MetaError> {
        manifests::delete(&self.pool, repository, digest, None).await
    }

    async fn list_tags(&self, repository: &str, page: &Page) -> Result<Vec<String>, MetaError> {
        manifests::list_tags(&self.pool, repository, page).await
    }

    async fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool, MetaError> {
        manifests::delete_tag(&self.pool, repository, tag, None).await
    }

    async fn referrers(
        &self,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<StoredManifest>, MetaError> {
        manifests::referrers(&self.pool, repository, subject, artifact_type).await
    }

    async fn create_upload(&self, session: &UploadSession) -> Result<(), MetaError> {
        uploads::create(&self.pool, session).await
    }

    async fn upload(&self, id: &UploadId) -> Result<Option<UploadSession>, MetaError> {
        uploads::get(&self.pool, id).await
    }

    async fn advance_upload(
        &self,
        id: &UploadId,
        from_offset: u64,
        to: &UploadState,
        now_ms: i64,
    ) -> Result<(), MetaError> {
        uploads::advance(&self.pool, id, from_offset, to, now_ms).await
    }

    async fn delete_upload(&self, id: &UploadId) -> Result<bool, MetaError> {
        uploads::delete(&self.pool, id).await
    }

    async fn expired_uploads(&self, now_ms: i64) -> Result<Vec<UploadId>, MetaError> {
        uploads::expired(&self.pool, now_ms).await
    }

    async fn reference_problems(&self) -> Result<Vec<ReferenceProblem>, MetaError> {
        manifests::reference_problems(&self.pool).await
    }

    async fn manifest_graph(&self) -> Result<Vec<ManifestNode>, MetaError> {
        gc::manifest_graph(&self.pool).await
    }

    async fn blob_uses(&self) -> Result<Vec<BlobUse>, MetaError> {
        gc::blob_uses(&self.pool).await
    }

    async fn delete_unreachable_manifest(
        &self,
        repository: &str,
        digest: &Digest,
        before_ms: i64,
    ) -> Result<bool, MetaError> {
        gc::delete_unreachable_manifest(&self.pool, repository, digest, before_ms).await
    }

    async fn delete_unreferenced_blob(
        &self,
        digest: &Digest,
        before_ms: i64,
    ) -> Result<bool, MetaError> {
        gc::delete_unreferenced_blob(&self.pool, digest, before_ms).await
    }

    async fn repository_summary(&self, name: &str) -> Result<Option<RepositorySummary>, MetaError> {
        catalogue::summary(&self.pool, name).await
    }

    async fn search_repositories(
        &self,
        text: &str,
        page: &OffsetPage,
    ) -> Result<Counted<RepositorySummary>, MetaError> {
        catalogue::search(&self.pool, text, page).await
    }

    async fn namespace_repositories(
        &self,
        namespace: &str,
        page: &OffsetPage,
    ) -> Result<Counted<RepositorySummary>, MetaError> {
        catalogue::in_namespace(&self.pool, namespace, page).await
    }

    async fn tag_details(
        &self,
        repository: &str,
        page: &OffsetPage,
    ) -> Result<Counted<TagDetail>, MetaError> {
        catalogue::tag_details(&self.pool, repository, page).await
    }

    async fn tag_detail(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<TagDetail>, MetaError> {
        catalogue::tag_detail(&self.pool, repository, tag).await
    }

    async fn set_description(&self, repository: &str, description: &str) -> Result<(), MetaError> {
        catalogue::set_description(&self.pool, repository, description).await
    }

    async fn star(&self, user: &str, repository: &str) -> Result<bool, MetaError> {
        catalogue::star(&self.pool, user, repository).await
    }

    async fn unstar(&self, user: &str, repository: &str) -> Result<bool, MetaError> {
        catalogue::unstar(&self.pool, user, repository).await
    }

    async fn has_starred(&self, user: &str, repository: &str) -> Result<bool, MetaError> {
        catalogue::has_starred(&self.pool, user, repository).await
    }

    async fn set_organisation_tier(
        &self,
        namespace: &str,
        tier: Option<OrganisationTier>,
    ) -> Result<(), MetaError> {
        catalogue::set_organisation_tier(&self.pool, namespace, tier).await
    }

    async fn add_pulls(&self, counts: &[(String, u64)]) -> Result<(), MetaError> {
        catalogue::add_pulls(&self.pool, counts).await
    }

    async fn put_manifest_audited(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: Option<&str>,
        actor: &str,
    ) -> Result<(), MetaError> {
        let tag = tag.map(TagMove::unconditional);
        manifests::put(&self.pool, repository, manifest, tag, Some(actor)).await
    }

    async fn put_manifest_if(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: &str,
        expected: &TagExpected,
        actor: &str,
    ) -> Result<(), MetaError> {
        let tag = TagMove {
            name: tag,
            expected: Some(expected),
        };
        manifests::put(&self.pool, repository, manifest, Some(tag), Some(actor)).await
    }

    async fn delete_manifest_audited(
        &self,
        repository: &str,
        digest: &Digest,
        actor: &str,
    ) -> Result<bool, MetaError> {
        manifests::delete(&self.pool, repository, digest, Some(actor)).await
    }

    async fn delete_tag_audited(
        &self,
        repository: &str,
        tag: &str,
        actor: &str,
    ) -> Result<bool, MetaError> {
        manifests::delete_tag(&self.pool, repository, tag, Some(actor)).await
    }

    async fn unlink_blob_audited(
        &self,
        repository: &str,
        digest: &Digest,
        actor: &str,
    ) -> Result<bool, MetaError> {
        unlink_blob(&self.pool, repository, digest, Some(actor)).await
    }

    async fn set_password_hash(
        &self,
        name: &str,
        password_hash: &str,
        actor: Option<&str>,
    ) -> Result<bool, MetaError> {
        access::set_password_hash(&self.pool, name, password_hash, actor).await
    }

    async fn create_account(&self, account: &Account, actor: &str) -> Result<bool, MetaError> {
        access::create_account(&self.pool, account, actor).await
    }

    async fn account(&self, name: &str) -> Result<Option<Account>, MetaError> {
        access::account(&self.pool, name).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, MetaError> {
        access::accounts(&self.pool).await
    }

    async fn delete_account(&self, name: &str, actor: &str) -> Result<bool, MetaError> {
        access::delete_account(&self.pool, name, actor).await
    }

    async fn create_organisation(&self, name: &str, actor: &str) -> Result<bool, MetaError> {
        access::create_organisation(&self.pool, name, actor).await
    }

    async fn add_member(
        &self,
        organisation: &str,
        account: &str,
        actor: &str,
    ) -> Result<bool, MetaError> {
        access::add_member(&self.pool, organisation, account, actor).await
    }

    async fn set_private(
        &self,
        repository: &str,
        private: bool,
        actor: &str,
    ) -> Result<(), MetaError> {
        access::set_private(&self.pool, repository, private, actor).await
    }

    async fn private_repositories(&self, repositories: &[&str]) -> Result<Vec<String>, MetaError> {
        access::private_repositories(&self.pool, repositories).await
    }

    async fn put_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), MetaError> {
        access::put_refresh_token(&self.pool, token).await
    }

    async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, MetaError> {
        access::refresh_token(&self.pool, token_hash).await
    }

    async fn token_signing_key(&self, candidate: &[u8]) -> Result<Vec<u8>, MetaError> {
        access::token_signing_key(&self.pool, candidate).await
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        access::insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, MetaError> {
        access::audit_log(&self.pool, filter).await
    }

    async fn replace_advisories(
        &self,
        source: &str,
        records: &[NewAdvisoryRecord],
        imported_ms: i64,
    ) -> Result<(), MetaError> {
        monitoring::replace_advisories(&self.pool, source, records, imported_ms).await
    }

    async fn advisory_records(&self) -> Result<Vec<AdvisoryRecord>, MetaError> {
        monitoring::advisory_records(&self.pool).await
    }

    async fn advisory_sources(&self) -> Result<Vec<AdvisorySource>, MetaError> {
        monitoring::advisory_sources(&self.pool).await
    }

    async fn put_inventory(
        &self,
        inventory: &NewInventory,
        scanned_ms: i64,
    ) -> Result<(), MetaError> {
        monitoring::put_inventory(&self.pool, inventory, scanned_ms).await
    }

    async fn inventories(&self) -> Result<Vec<StoredInventory>, MetaError> {
        monitoring::inventories(&self.pool).await
    }

    async fn record_rematch(
        &self,
        updates: &[FindingsUpdate],
        events: &[NewChangeEvent],
        now_ms: i64,
    ) -> Result<Vec<ChangeEvent>, MetaError> {
        monitoring::record_rematch(&self.pool, updates, events, now_ms).await
    }

    async fn change_events(&self, after: i64, limit: u32) -> Result<Vec<ChangeEvent>, MetaError> {
        monitoring::change_events(&self.pool, after, limit).await
    }
}

/// Removes a blob from a repository; with an `actor`, the delete goes into the audit log in the
/// same transaction.
async fn unlink_blob(
    pool: &SqlitePool,
    repository: &str,
    digest: &Digest,
    actor: Option<&str>,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let removed = sqlx::query(
        "DELETE FROM repository_blobs
         WHERE digest = $1 AND repo_id = (SELECT id FROM repositories WHERE name = $2)",
    )
    .bind(digest.as_str())
    .bind(repository)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 0 {
        return Ok(false);
    }
    let digest = digest.as_str();
    access::audit_delete(&mut tx, actor, repository, digest, digest, "blob").await?;
    tx.commit().await?;
    Ok(true)
}

async fn repository_exists(pool: &SqlitePool, name: &str) -> Result<bool, MetaError> {
    let found = sqlx::query("SELECT 1 FROM repositories WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

/// The repository's id, creating the row if needed.
///
/// It writes before it reads: in SQLite a transaction that starts as a reader cannot become a
/// writer once another commit happened, while one that writes first simply waits its turn.
async fn ensure_repository(tx: &mut Transaction<'_, Sqlite>, name: &str) -> Result<i64, MetaError> {
    sqlx::query(
        "INSERT INTO repositories (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query("SELECT id FROM repositories WHERE name = $1")
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

/// Links a blob to a repository, or refreshes the link's time when it exists: `created_ms`
/// of a link is when it was last linked, so a blob pushed again (or mounted again) counts as
/// fresh and garbage collection leaves it alone for its grace period, as a push relies on.
async fn link(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    digest: &Digest,
) -> Result<(), MetaError> {
    sqlx::query(
        "INSERT INTO repository_blobs (repo_id, digest, created_ms) VALUES ($1, $2, $3)
         ON CONFLICT (repo_id, digest) DO UPDATE SET created_ms = excluded.created_ms",
    )
    .bind(repo_id)
    .bind(digest.as_str())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn blob_from_row(row: &SqliteRow) -> Result<BlobRecord, MetaError> {
    Ok(BlobRecord {
        digest: digest_column(row, "digest")?,
        size: size_column(row, "size")?,
        object_key: row.try_get("object_key")?,
        media_type: row.try_get("media_type")?,
    })
}

/// `?last=` and `?n=` as SQL bounds: every name sorts after the empty string, and no page is
/// longer than `i64::MAX`, so one query serves all pages without NULL parameters, whose types
/// PostgreSQL cannot infer.
fn page_bounds(page: &Page) -> (&str, i64) {
    let after = page.after.as_deref().unwrap_or("");
    let limit = page.limit.map_or(i64::MAX, i64::from);
    (after, limit)
}

fn digest_column(row: &SqliteRow, column: &'static str) -> Result<Digest, MetaError> {
    let text: String = row.try_get(column)?;
    Ok(Digest::from_str(&text)?)
}

fn optional_digest_column(
    row: &SqliteRow,
    column: &'static str,
) -> Result<Option<Digest>, MetaError> {
    let text: Option<String> = row.try_get(column)?;
    Ok(text.as_deref().map(Digest::from_str).transpose()?)
}

fn size_column(row: &SqliteRow, column: &'static str) -> Result<u64, MetaError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|e| MetaError::Corrupt {
        column,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

/// Sizes and offsets as the database's signed BIGINT; content past 8 EiB cannot exist.
fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The current time in Unix milliseconds, the unit every time column uses.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
