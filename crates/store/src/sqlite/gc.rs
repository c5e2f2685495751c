//! What garbage collection reads (the manifest graph, blob ages) and its two guarded deletes.
//!
//! Each delete re-checks, in the statement or transaction that deletes, that nothing came to
//! use the row since the collector decided; SQLite's single writer makes that check and the
//! delete one step. On PostgreSQL the same SQL needs row locks beside it (the collector's
//! `SELECT … FOR UPDATE` on the blob or manifest row, a push's `FOR SHARE` on the rows it
//! checks), because READ COMMITTED lets a concurrent push's check and a delete pass each other.

use std::collections::HashMap;

use oci::Digest;
use sqlx::{Row, SqlitePool};

use super::{blob_from_row, digest_column, optional_digest_column};
use crate::meta::{BlobUse, ManifestNode, MetaError};

/// No manifest names `$1` as a layer, as its config, or as itself.
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM manifest_layers WHERE digest = $1)
    AND NOT EXISTS (SELECT 1 FROM manifests WHERE config_digest = $1)
    AND NOT EXISTS (SELECT 1 FROM manifests WHERE digest = $1)";

pub(super) async fn manifest_graph(pool: &SqlitePool) -> Result<Vec<ManifestNode>, MetaError> {
    let rows = sqlx::query(
        "SELECT m.id, r.name, m.digest, m.subject_digest, m.config_digest, m.created_ms,
                EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id) AS tagged
         FROM manifests m JOIN repositories r ON r.id = m.repo_id ORDER BY m.id",
    )
    .fetch_all(pool)
    .await?;
    let mut nodes = Vec::with_capacity(rows.len());
    let mut position = HashMap::with_capacity(rows.len());
    for row in &rows {
        position.insert(row.try_get::<i64, _>("id")?, nodes.len());
        nodes.push(ManifestNode {
            repository: row.try_get("name")?,
            digest: digest_column(row, "digest")?,
            subject: optional_digest_column(row, "subject_digest")?,
            tagged: row.try_get("tagged")?,
            created_ms: row.try_get("created_ms")?,
            children: Vec::new(),
            blobs: optional_digest_column(row, "config_digest")?
                .into_iter()
                .collect(),
        });
    }
    let edges = [
        (
            "SELECT manifest_id AS owner, digest FROM manifest_layers",
            false,
        ),
        (
            "SELECT r.parent_id AS owner, c.digest FROM manifest_references r
             JOIN manifests c ON c.id = r.child_id",
            true,
        ),
    ];
    for (sql, is_child) in edges {
        for row in sqlx::query(sql).fetch_all(pool).await? {
            // Rows of a manifest deleted after the first read have no node; they need none.
            let Some(&at) = position.get(&row.try_get::<i64, _>("owner")?) else {
                continue;
            };
            let digest = digest_column(&row, "digest")?;
            let node = &mut nodes[at];
            if is_child {
                node.children.push(digest);
            } else {
                node.blobs.push(digest);
            }
        }
    }
    Ok(nodes)
}

pub(super) async fn blob_uses(pool: &SqlitePool) -> Result<Vec<BlobUse>, MetaError> {
    let rows = sqlx::query(
        "SELECT b.digest, b.size, b.object_key, b.media_type, b.created_ms,
                MAX(rb.created_ms) AS linked_ms
         FROM blobs b LEFT JOIN repository_blobs rb ON rb.digest = b.digest
         GROUP BY b.digest, b.size, b.object_key, b.media_type, b.created_ms
         ORDER BY b.digest",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let created: i64 = row.try_get("created_ms")?;
            let linked: Option<i64> = row.try_get("linked_ms")?;
            Ok(BlobUse {
                record: blob_from_row(row)?,
                last_linked_ms: linked.map_or(created, |l| l.max(created)),
            })
        })
        .collect()
}

pub(super) async fn delete_unreachable_manifest(
    pool: &SqlitePool,
    repository: &str,
    digest: &Digest,
    before_ms: i64,
) -> Result<bool, MetaError> {
    // One statement: the checks and the delete cannot be split by a push. Layers, references
    // from it and its (absent) tags go with it by ON DELETE CASCADE.
    let deleted = sqlx::query(
        "DELETE FROM manifests
         WHERE repo_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2
           AND created_ms < $3
           AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = manifests.id)
           AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.child_id = manifests.id)
           AND NOT EXISTS (SELECT 1 FROM manifests s
                           WHERE s.repo_id = manifests.repo_id
                             AND s.digest = manifests.subject_digest)",
    )
    .bind(repository)
    .bind(digest.as_str())
    .bind(before_ms)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted > 0)
}

pub(super) async fn delete_unreferenced_blob(
    pool: &SqlitePool,
    digest: &Digest,
    before_ms: i64,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    // Links go first (they point at the blob row). The first statement writes, so the
    // transaction holds SQLite's one write lock while it checks, and no push commits between.
    sqlx::query(&format!(
        "DELETE FROM repository_blobs WHERE digest = $1 AND {UNREFERENCED}
           AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE digest = $1 AND created_ms >= $2)
           AND NOT EXISTS (SELECT 1 FROM blobs WHERE digest = $1 AND created_ms >= $2)"
    ))
    .bind(digest.as_str())
    .bind(before_ms)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query(&format!(
        "DELETE FROM blobs WHERE digest = $1 AND created_ms < $2 AND {UNREFERENCED}
           AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE digest = $1)"
    ))
    .bind(digest.as_str())
    .bind(before_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        // Still in use or fresh: keep the links too (dropping `tx` rolls back).
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}
