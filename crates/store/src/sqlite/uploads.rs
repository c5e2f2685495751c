//! Upload sessions: the recorded progress of chunked uploads, so any process can take the next
//! chunk and a restarted server resumes where the last acknowledged chunk ended.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{ensure_repository, size_column, to_db};
use crate::blob::{UploadId, UploadState};
use crate::meta::{MetaError, UploadSession};

pub(super) async fn create(pool: &SqlitePool, session: &UploadSession) -> Result<(), MetaError> {
    let mut tx = pool.begin().await?;
    let repo_id = ensure_repository(&mut tx, &session.repository).await?;
    // Blob storage names an upload by its id, so the id is also its object key.
    sqlx::query(
        "INSERT INTO upload_sessions (uuid, repo_id, object_key, committed_offset, hash_state,
             created_ms, updated_ms, expires_ms)
         VALUES ($1, $2, $1, $3, $4, $5, $6, $7)",
    )
    .bind(session.id.as_str())
    .bind(repo_id)
    .bind(to_db(session.committed_offset))
    .bind(&session.hash_state)
    .bind(session.created_ms)
    .bind(session.updated_ms)
    .bind(session.expires_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get(
    pool: &SqlitePool,
    id: &UploadId,
) -> Result<Option<UploadSession>, MetaError> {
    let row = sqlx::query(
        "SELECT u.uuid, r.name, u.committed_offset, u.hash_state,
                u.created_ms, u.updated_ms, u.expires_ms
         FROM upload_sessions u JOIN repositories r ON r.id = u.repo_id
         WHERE u.uuid = $1",
    )
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

pub(super) async fn advance(
    pool: &SqlitePool,
    id: &UploadId,
    from_offset: u64,
    to: &UploadState,
    now_ms: i64,
) -> Result<(), MetaError> {
    // The offset in the WHERE clause is the compare-and-set: of two racing chunks that both
    // started at `from_offset`, exactly one moves the session on.
    let moved = sqlx::query(
        "UPDATE upload_sessions SET committed_offset = $1, hash_state = $2, updated_ms = $3
         WHERE uuid = $4 AND committed_offset = $5",
    )
    .bind(to_db(to.offset))
    .bind(&to.hash_state)
    .bind(now_ms)
    .bind(id.as_str())
    .bind(to_db(from_offset))
    .execute(pool)
    .await?
    .rows_affected();
    if moved == 1 {
        return Ok(());
    }
    match get(pool, id).await? {
        Some(session) => Err(MetaError::UploadOffsetConflict {
            committed: session.committed_offset,
        }),
        None => Err(MetaError::UploadUnknown(id.clone())),
    }
}

pub(super) async fn delete(pool: &SqlitePool, id: &UploadId) -> Result<bool, MetaError> {
    let deleted = sqlx::query("DELETE FROM upload_sessions WHERE uuid = $1")
        .bind(id.as_str())
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

pub(super) async fn expired(pool: &SqlitePool, now_ms: i64) -> Result<Vec<UploadId>, MetaError> {
    let rows = sqlx::query("SELECT uuid FROM upload_sessions WHERE expires_ms < $1 ORDER BY uuid")
        .bind(now_ms)
        .fetch_all(pool)
        .await?;
    rows.iter().map(upload_id_column).collect()
}

fn session_from_row(row: &SqliteRow) -> Result<UploadSession, MetaError> {
    Ok(UploadSession {
        id: upload_id_column(row)?,
        repository: row.try_get("name")?,
        committed_offset: size_column(row, "committed_offset")?,
        hash_state: row.try_get("hash_state")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        expires_ms: row.try_get("expires_ms")?,
    })
}

fn upload_id_column(row: &SqliteRow) -> Result<UploadId, MetaError> {
    let text: String = row.try_get("uuid")?;
    UploadId::parse(&text).map_err(|e| MetaError::Corrupt {
        column: "uuid",
        value: text,
        reason: e.to_string(),
    })
}
