//! Manifests, tags and referrers: the part of the metadata a pull reads and a push writes in
//! one transaction.

use oci::Digest;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::access::{audit_delete, audit_entry, insert_audit};
use super::{
    digest_column, ensure_repository, now_ms, optional_digest_column, page_bounds,
    repository_exists, size_column, to_db,
};
use crate::access::AuditAction;
use crate::meta::{ManifestRecord, MetaError, NewManifest, Page, ReferenceProblem, StoredManifest};
use oci::TagExpected;

pub(super) const MANIFEST_COLUMNS: &str = "m.digest, m.media_type, m.artifact_type, m.payload, \
     m.config_digest, m.subject_digest, m.total_size, m.created_ms";

/// How many payloads verification holds in memory at once.
const VERIFY_BATCH: i64 = 100;

/// The tag a push moves, and what it must be for the move to happen (`None`: anything).
#[derive(Debug, Clone, Copy)]
pub(super) struct TagMove<'a> {
    pub name: &'a str,
    pub expected: Option<&'a TagExpected>,
}

impl<'a> TagMove<'a> {
    /// Moves `name` whatever it points at now.
    pub fn unconditional(name: &'a str) -> Self {
        Self {
            name,
            expected: None,
        }
    }
}

/// Records a manifest; with an `actor`, its push (and any tag move) goes into the audit log in
/// the same transaction.
pub(super) async fn put(
    pool: &SqlitePool,
    repository: &str,
    manifest: &NewManifest,
    tag: Option<TagMove<'_>>,
    actor: Option<&str>,
) -> Result<(), MetaError> {
    let mut tx = pool.begin().await?;
    let repo_id = ensure_repository(&mut tx, repository).await?;
    let manifest_id = match insert_manifest(&mut tx, repo_id, &manifest.record).await? {
        Some(id) => {
            insert_layers(&mut tx, repo_id, id, manifest).await?;
            insert_children(&mut tx, repo_id, id, &manifest.children).await?;
            id
        }
        // The same digest means the same bytes, so its references are already recorded.
        None => manifest_id(&mut tx, repo_id, &manifest.record.digest).await?,
    };
    let digest = &manifest.record.digest;
    let moved_from = match tag {
        Some(tag) => move_tag(&mut tx, repo_id, tag, manifest_id, digest).await?,
        None => None,
    };
    if let Some(actor) = actor {
        let digest = digest.as_str();
        let reference = tag.map_or(digest, |t| t.name);
        let push = audit_entry(actor, AuditAction::Push, repository, reference, digest, "");
        insert_audit(&mut tx, &push).await?;
        if let Some(previous) = moved_from {
            let detail = format!("from {previous}");
            let moved = audit_entry(
                actor,
                AuditAction::TagMove,
                repository,
                reference,
                digest,
                &detail,
            );
            insert_audit(&mut tx, &moved).await?;
        }
    }
    // Any early return above drops `tx`, which rolls everything back.
    tx.commit().await?;
    Ok(())
}

/// Inserts the manifest row; `None` when the repository already has it.
async fn insert_manifest(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    manifest: &ManifestRecord,
) -> Result<Option<i64>, MetaError> {
    let row = sqlx::query(
        "INSERT INTO manifests (repo_id, digest, media_type, artifact_type, payload,
             config_digest, subject_digest, total_size, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repo_id, digest) DO NOTHING
         RETURNING id",
    )
    .bind(repo_id)
    .bind(manifest.digest.as_str())
    .bind(&manifest.media_type)
    .bind(&manifest.artifact_type)
    .bind(&manifest.payload)
    .bind(manifest.config_digest.as_ref().map(Digest::as_str))
    .bind(manifest.subject_digest.as_ref().map(Digest::as_str))
    .bind(to_db(manifest.total_size))
    .bind(now_ms())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Records the layers after checking that they, and the config, are linked to the repository.
async fn insert_layers(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    manifest_id: i64,
    manifest: &NewManifest,
) -> Result<(), MetaError> {
    for blob in manifest.record.config_digest.iter().chain(&manifest.layers) {
        let linked =
            sqlx::query("SELECT 1 FROM repository_blobs WHERE repo_id = $1 AND digest = $2")
                .bind(repo_id)
                .bind(blob.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if linked.is_none() {
            return Err(MetaError::BlobUnknown(blob.clone()));
        }
    }
    for layer in &manifest.layers {
        // A layer listed twice is one reference.
        sqlx::query(
            "INSERT INTO manifest_layers (manifest_id, digest) VALUES ($1, $2)
             ON CONFLICT (manifest_id, digest) DO NOTHING",
        )
        .bind(manifest_id)
        .bind(layer.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_children(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    parent_id: i64,
    children: &[Digest],
) -> Result<(), MetaError> {
    for child in children {
        let child_id = manifest_id(tx, repo_id, child).await.map_err(|e| match e {
            MetaError::Database(sqlx::Error::RowNotFound) => {
                MetaError::ManifestUnknown(child.clone())
            }
            other => other,
        })?;
        sqlx::query(
            "INSERT INTO manifest_references (parent_id, child_id) VALUES ($1, $2)
             ON CONFLICT (parent_id, child_id) DO NOTHING",
        )
        .bind(parent_id)
        .bind(child_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn manifest_id(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    digest: &Digest,
) -> Result<i64, MetaError> {
    let row = sqlx::query("SELECT id FROM manifests WHERE repo_id = $1 AND digest = $2")
        .bind(repo_id)
        .bind(digest.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

/// Points the tag at the manifest `manifest_id` (whose digest is `digest`) if it is as
/// expected; returns the digest it pointed at before when that was another manifest.
async fn move_tag(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    tag: TagMove<'_>,
    manifest_id: i64,
    digest: &Digest,
) -> Result<Option<String>, MetaError> {
    let Some(expected) = tag.expected else {
        return upsert_tag(tx, repo_id, tag.name, manifest_id).await;
    };
    // The compare is in the writing statement itself: a concurrent writer's move either
    // commits first (and this statement then matches no row, or hits the existing tag), or
    // waits for this transaction (SQLite's single writer; PostgreSQL's row and index locks).
    let sql = match expected {
        TagExpected::Absent => {
            "INSERT INTO tags (repo_id, name, manifest_id, updated_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, name) DO NOTHING"
        }
        TagExpected::At(_) => {
            "UPDATE tags SET manifest_id = $3, updated_ms = $4
             WHERE repo_id = $1 AND name = $2
               AND manifest_id = (SELECT id FROM manifests WHERE repo_id = $1 AND digest = $5)"
        }
    };
    let query = sqlx::query(sql)
        .bind(repo_id)
        .bind(tag.name)
        .bind(manifest_id)
        .bind(now_ms());
    let query = match expected {
        TagExpected::Absent => query,
        TagExpected::At(current) => query.bind(current.as_str()),
    };
    if query.execute(&mut **tx).await?.rows_affected() == 0 {
        return Err(MetaError::TagMoved {
            tag: tag.name.to_owned(),
            expected: expected.clone(),
        });
    }
    Ok(match expected {
        TagExpected::At(previous) if previous != digest => Some(previous.to_string()),
        _ => None,
    })
}

/// Points `tag` at the manifest; returns the digest it pointed at before when that was another
/// manifest (a tag move).
async fn upsert_tag(
    tx: &mut Transaction<'_, Sqlite>,
    repo_id: i64,
    tag: &str,
    manifest_id: i64,
) -> Result<Option<String>, MetaError> {
    let previous: Option<String> = sqlx::query_scalar(
        "SELECT m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id
         WHERE t.repo_id = $1 AND t.name = $2 AND t.manifest_id <> $3",
    )
    .bind(repo_id)
    .bind(tag)
    .bind(manifest_id)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO tags (repo_id, name, manifest_id, updated_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repo_id, name)
         DO UPDATE SET manifest_id = excluded.manifest_id, updated_ms = excluded.updated_ms",
    )
    .bind(repo_id)
    .bind(tag)
    .bind(manifest_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(previous)
}

pub(super) async fn by_digest(
    pool: &SqlitePool,
    repository: &str,
    digest: &Digest,
) -> Result<Option<StoredManifest>, MetaError> {
    let sql = format!(
        "SELECT {MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repo_id
         WHERE r.name = $1 AND m.digest = $2"
    );
    let row = sqlx::query(&sql)
        .bind(repository)
        .bind(digest.as_str())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(manifest_from_row).transpose()
}

pub(super) async fn by_tag(
    pool: &SqlitePool,
    repository: &str,
    tag: &str,
) -> Result<Option<StoredManifest>, MetaError> {
    let sql = format!(
        "SELECT {MANIFEST_COLUMNS} FROM manifests m
         JOIN tags t ON t.manifest_id = m.id
         JOIN repositories r ON r.id = t.repo_id
         WHERE r.name = $1 AND t.name = $2"
    );
    let row = sqlx::query(&sql)
        .bind(repository)
        .bind(tag)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(manifest_from_row).transpose()
}

/// Deletes a manifest; with an `actor`, the delete goes into the audit log in the same
/// transaction.
pub(super) async fn delete(
    pool: &SqlitePool,
    repository: &str,
    digest: &Digest,
    actor: Option<&str>,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    // One statement, so the "still listed by an index" check and the delete cannot be split by
    // a concurrent index push. Layers, references and tags go with it (ON DELETE CASCADE).
    let deleted = sqlx::query(
        "DELETE FROM manifests
         WHERE repo_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2
           AND NOT EXISTS (SELECT 1 FROM manifest_references WHERE child_id = manifests.id)",
    )
    .bind(repository)
    .bind(digest.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted > 0 {
        let digest = digest.as_str();
        audit_delete(&mut tx, actor, repository, digest, digest, "").await?;
        tx.commit().await?;
        return Ok(true);
    }
    drop(tx);
    match by_digest(pool, repository, digest).await? {
        Some(_) => Err(MetaError::ManifestInUse(digest.clone())),
        None => Ok(false),
    }
}

pub(super) async fn list_tags(
    pool: &SqlitePool,
    repository: &str,
    page: &Page,
) -> Result<Vec<String>, MetaError> {
    let (after, limit) = page_bounds(page);
    let rows = sqlx::query(
        "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repo_id
         WHERE r.name = $1 AND t.name > $2 ORDER BY t.name LIMIT $3",
    )
    .bind(repository)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() && !repository_exists(pool, repository).await? {
        return Err(MetaError::RepositoryUnknown(repository.to_owned()));
    }
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

/// Deletes a tag; with an `actor`, the delete (with the digest the tag pointed at) goes into the
/// audit log in the same transaction.
pub(super) async fn delete_tag(
    pool: &SqlitePool,
    repository: &str,
    tag: &str,
    actor: Option<&str>,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let deleted: Option<String> = sqlx::query_scalar(
        "DELETE FROM tags
         WHERE repo_id = (SELECT id FROM repositories WHERE name = $1) AND name = $2
         RETURNING (SELECT digest FROM manifests WHERE id = tags.manifest_id)",
    )
    .bind(repository)
    .bind(tag)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(digest) = deleted else {
        return Ok(false);
    };
    audit_delete(&mut tx, actor, repository, tag, &digest, "").await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn referrers(
    pool: &SqlitePool,
    repository: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<StoredManifest>, MetaError> {
    let base = format!(
        "SELECT {MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repo_id
         WHERE r.name = $1 AND m.subject_digest = $2"
    );
    // Two statements rather than `($3 IS NULL OR …)`: PostgreSQL cannot type a NULL parameter.
    let rows = match artifact_type {
        Some(wanted) => {
            sqlx::query(&format!(
                "{base} AND m.artifact_type = $3 ORDER BY m.digest"
            ))
            .bind(repository)
            .bind(subject.as_str())
            .bind(wanted)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!("{base} ORDER BY m.digest"))
                .bind(repository)
                .bind(subject.as_str())
                .fetch_all(pool)
                .await?
        }
    };
    rows.iter().map(manifest_from_row).collect()
}

pub(super) async fn reference_problems(
    pool: &SqlitePool,
) -> Result<Vec<ReferenceProblem>, MetaError> {
    let mut problems = unlinked_blobs(pool).await?;
    problems.extend(payload_mismatches(pool).await?);
    Ok(problems)
}

async fn unlinked_blobs(pool: &SqlitePool) -> Result<Vec<ReferenceProblem>, MetaError> {
    let rows = sqlx::query(
        "SELECT r.name AS repository, m.digest AS manifest, l.digest AS blob
         FROM manifest_layers l
         JOIN manifests m ON m.id = l.manifest_id
         JOIN repositories r ON r.id = m.repo_id
         WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb
                           WHERE rb.repo_id = m.repo_id AND rb.digest = l.digest)
         UNION ALL
         SELECT r.name, m.digest, m.config_digest
         FROM manifests m
         JOIN repositories r ON r.id = m.repo_id
         WHERE m.config_digest IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM repository_blobs rb
                           WHERE rb.repo_id = m.repo_id AND rb.digest = m.config_digest)
         ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReferenceProblem::BlobNotLinked {
                repository: row.try_get("repository")?,
                manifest: digest_column(row, "manifest")?,
                blob: digest_column(row, "blob")?,
            })
        })
        .collect()
}

/// Re-hashes every stored payload, a batch at a time so memory stays bounded.
async fn payload_mismatches(pool: &SqlitePool) -> Result<Vec<ReferenceProblem>, MetaError> {
    let mut problems = Vec::new();
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(
            "SELECT m.id, r.name, m.digest, m.payload FROM manifests m
             JOIN repositories r ON r.id = m.repo_id
             WHERE m.id > $1 ORDER BY m.id LIMIT $2",
        )
        .bind(after)
        .bind(VERIFY_BATCH)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(problems);
        };
        after = last.try_get("id")?;
        for row in &rows {
            let recorded = digest_column(row, "digest")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            if Digest::of(recorded.algorithm(), &payload) != recorded {
                problems.push(ReferenceProblem::PayloadMismatch {
                    repository: row.try_get("name")?,
                    manifest: recorded,
                });
            }
        }
    }
}

pub(super) fn manifest_from_row(row: &SqliteRow) -> Result<StoredManifest, MetaError> {
    let record = ManifestRecord {
        digest: digest_column(row, "digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        payload: row.try_get("payload")?,
        config_digest: optional_digest_column(row, "config_digest")?,
        subject_digest: optional_digest_column(row, "subject_digest")?,
        total_size: size_column(row, "total_size")?,
    };
    Ok(StoredManifest {
        record,
        created_ms: row.try_get("created_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use oci::{Digest, DigestAlgorithm};

    use crate::meta::{ManifestRecord, MetaStore, NewManifest, ReferenceProblem};
    use crate::sqlite::SqliteMetaStore;

    #[tokio::test]
    async fn a_tampered_payload_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetaStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap();
        let payload = b"{\"schemaVersion\":2}".to_vec();
        let digest = Digest::of(DigestAlgorithm::Sha256, &payload);
        let record = ManifestRecord {
            digest: digest.clone(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: None,
            payload,
            config_digest: None,
            subject_digest: None,
            total_size: 0,
        };
        let manifest = NewManifest {
            record,
            layers: vec![],
            children: vec![],
        };
        store
            .put_manifest("tamper/app", &manifest, None)
            .await
            .unwrap();
        assert!(store.reference_problems().await.unwrap().is_empty());

        // Only something outside the store could change a payload; verification must notice.
        sqlx::query("UPDATE manifests SET payload = $1")
            .bind(b"{\"schemaVersion\": 2}".to_vec())
            .execute(&store.pool)
            .await
            .unwrap();
        let expected = ReferenceProblem::PayloadMismatch {
            repository: "tamper/app".into(),
            manifest: digest,
        };
        assert_eq!(store.reference_problems().await.unwrap(), vec![expected]);
    }
}
