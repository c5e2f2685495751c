//! The catalogue's reads and writes: repository summaries, search, tag details, descriptions,
//! stars, organisation tiers and batched pull counts.

use oci::{OrganisationTier, TrustTier};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::manifests::{manifest_from_row, MANIFEST_COLUMNS};
use super::{now_ms, repository_exists, size_column, to_db};
use crate::catalogue::{Counted, OffsetPage, RepositorySummary, TagDetail};
use crate::meta::MetaError;

/// A repository's summary columns. The organisation's tier joins by name prefix with
/// `substr`/`length`, which PostgreSQL reads alike (no SQLite-only `instr`, and no `LIKE`,
/// whose `_` would match any character of a namespace such as `my_org`).
const SUMMARY_SELECT: &str = "SELECT r.name, r.description, r.pull_count, r.created_ms,
        (SELECT COUNT(*) FROM repository_stars s WHERE s.repo_id = r.id) AS star_count,
        (SELECT MAX(t.updated_ms) FROM tags t WHERE t.repo_id = r.id) AS last_updated_ms,
        o.tier AS organisation_tier
     FROM repositories r
     LEFT JOIN organisation_tiers o
       ON substr(r.name, 1, length(o.namespace) + 1) = o.namespace || '/'";

/// What a search matches: `$1` is the text as a `LIKE` pattern, lowercased (names are). Private
/// repositories are never listed: search answers anyone, without a token.
const SEARCH_MATCH: &str =
    "(r.name LIKE $1 ESCAPE '\\' OR lower(r.description) LIKE $1 ESCAPE '\\')
     AND r.name NOT IN (SELECT name FROM private_repositories)";

pub(super) async fn summary(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<RepositorySummary>, MetaError> {
    let row = sqlx::query(&format!("{SUMMARY_SELECT} WHERE r.name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(summary_from_row).transpose()
}

pub(super) async fn search(
    pool: &SqlitePool,
    text: &str,
    page: &OffsetPage,
) -> Result<Counted<RepositorySummary>, MetaError> {
    let text = text.to_ascii_lowercase();
    let escaped = escape_like(&text);
    let contains = format!("%{escaped}%");
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM repositories r WHERE {SEARCH_MATCH}"
    ))
    .bind(&contains)
    .fetch_one(pool)
    .await?;
    let sql = format!(
        "{SUMMARY_SELECT} WHERE {SEARCH_MATCH}
         ORDER BY CASE
                    WHEN r.name = $2 OR r.name = $3 THEN 0
                    WHEN r.name LIKE $4 ESCAPE '\\' THEN 1
                    WHEN r.name LIKE $1 ESCAPE '\\' THEN 2
                    ELSE 3
                  END,
                  star_count DESC, r.pull_count DESC, r.name
         LIMIT $5 OFFSET $6"
    );
    let rows = sqlx::query(&sql)
        .bind(&contains)
        .bind(&text)
        .bind(format!("{}/{text}", oci::OFFICIAL_NAMESPACE))
        .bind(format!("%/{escaped}"))
        .bind(i64::from(page.limit))
        .bind(to_db(page.offset))
        .fetch_all(pool)
        .await?;
    counted(total, &rows, summary_from_row)
}

pub(super) async fn in_namespace(
    pool: &SqlitePool,
    namespace: &str,
    page: &OffsetPage,
) -> Result<Counted<RepositorySummary>, MetaError> {
    // The same prefix test as the tier join, for the same reasons; private repositories are
    // left out as search leaves them out.
    const IN_NAMESPACE: &str = "substr(r.name, 1, length($1) + 1) = $1 || '/'
        AND r.name NOT IN (SELECT name FROM private_repositories)";
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM repositories r WHERE {IN_NAMESPACE}"
    ))
    .bind(namespace)
    .fetch_one(pool)
    .await?;
    let sql = format!("{SUMMARY_SELECT} WHERE {IN_NAMESPACE} ORDER BY r.name LIMIT $2 OFFSET $3");
    let rows = sqlx::query(&sql)
        .bind(namespace)
        .bind(i64::from(page.limit))
        .bind(to_db(page.offset))
        .fetch_all(pool)
        .await?;
    counted(total, &rows, summary_from_row)
}

pub(super) async fn tag_details(
    pool: &SqlitePool,
    repository: &str,
    page: &OffsetPage,
) -> Result<Counted<TagDetail>, MetaError> {
    if !repository_exists(pool, repository).await? {
        return Err(MetaError::RepositoryUnknown(repository.to_owned()));
    }
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tags t JOIN repositories r ON r.id = t.repo_id WHERE r.name = $1",
    )
    .bind(repository)
    .fetch_one(pool)
    .await?;
    let sql = format!(
        "{} WHERE r.name = $1 ORDER BY t.updated_ms DESC, t.name LIMIT $2 OFFSET $3",
        tag_select()
    );
    let rows = sqlx::query(&sql)
        .bind(repository)
        .bind(i64::from(page.limit))
        .bind(to_db(page.offset))
        .fetch_all(pool)
        .await?;
    counted(total, &rows, tag_from_row)
}

pub(super) async fn tag_detail(
    pool: &SqlitePool,
    repository: &str,
    tag: &str,
) -> Result<Option<TagDetail>, MetaError> {
    let sql = format!("{} WHERE r.name = $1 AND t.name = $2", tag_select());
    let row = sqlx::query(&sql)
        .bind(repository)
        .bind(tag)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(tag_from_row).transpose()
}

/// Tags with their manifests, before the `WHERE`.
fn tag_select() -> String {
    format!(
        "SELECT t.name AS tag_name, t.updated_ms AS tag_updated_ms, {MANIFEST_COLUMNS}
         FROM tags t
         JOIN manifests m ON m.id = t.manifest_id
         JOIN repositories r ON r.id = t.repo_id"
    )
}

fn tag_from_row(row: &SqliteRow) -> Result<TagDetail, MetaError> {
    Ok(TagDetail {
        name: row.try_get("tag_name")?,
        updated_ms: row.try_get("tag_updated_ms")?,
        manifest: manifest_from_row(row)?,
    })
}

pub(super) async fn set_description(
    pool: &SqlitePool,
    repository: &str,
    description: &str,
) -> Result<(), MetaError> {
    let updated = sqlx::query("UPDATE repositories SET description = $1 WHERE name = $2")
        .bind(description)
        .bind(repository)
        .execute(pool)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(MetaError::RepositoryUnknown(repository.to_owned()));
    }
    Ok(())
}

pub(super) async fn star(
    pool: &SqlitePool,
    user: &str,
    repository: &str,
) -> Result<bool, MetaError> {
    let added = sqlx::query(
        "INSERT INTO repository_stars (user_name, repo_id, created_ms)
         SELECT $1, id, $2 FROM repositories WHERE name = $3
         ON CONFLICT (user_name, repo_id) DO NOTHING",
    )
    .bind(user)
    .bind(now_ms())
    .bind(repository)
    .execute(pool)
    .await?
    .rows_affected();
    if added == 0 && !repository_exists(pool, repository).await? {
        return Err(MetaError::RepositoryUnknown(repository.to_owned()));
    }
    Ok(added > 0)
}

pub(super) async fn unstar(
    pool: &SqlitePool,
    user: &str,
    repository: &str,
) -> Result<bool, MetaError> {
    let removed = sqlx::query(
        "DELETE FROM repository_stars
         WHERE user_name = $1 AND repo_id = (SELECT id FROM repositories WHERE name = $2)",
    )
    .bind(user)
    .bind(repository)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(removed > 0)
}

pub(super) async fn has_starred(
    pool: &SqlitePool,
    user: &str,
    repository: &str,
) -> Result<bool, MetaError> {
    let starred: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM repository_stars s JOIN repositories r ON r.id = s.repo_id
                        WHERE s.user_name = $1 AND r.name = $2)",
    )
    .bind(user)
    .bind(repository)
    .fetch_one(pool)
    .await?;
    Ok(starred)
}

pub(super) async fn set_organisation_tier(
    pool: &SqlitePool,
    namespace: &str,
    tier: Option<OrganisationTier>,
) -> Result<(), MetaError> {
    match tier {
        Some(tier) => {
            sqlx::query(
                "INSERT INTO organisation_tiers (namespace, tier, updated_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (namespace)
                 DO UPDATE SET tier = excluded.tier, updated_ms = excluded.updated_ms",
            )
            .bind(namespace)
            .bind(tier.as_str())
            .bind(now_ms())
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM organisation_tiers WHERE namespace = $1")
                .bind(namespace)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn add_pulls(
    pool: &SqlitePool,
    counts: &[(String, u64)],
) -> Result<(), MetaError> {
    let mut tx = pool.begin().await?;
    for (repository, pulls) in counts {
        sqlx::query("UPDATE repositories SET pull_count = pull_count + $1 WHERE name = $2")
            .bind(to_db(*pulls))
            .bind(repository)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn summary_from_row(row: &SqliteRow) -> Result<RepositorySummary, MetaError> {
    let name: String = row.try_get("name")?;
    let organisation_tier = row
        .try_get::<Option<String>, _>("organisation_tier")?
        .map(|tier| {
            tier.parse::<OrganisationTier>()
                .map_err(|e| MetaError::Corrupt {
                    column: "organisation_tiers.tier",
                    value: tier.clone(),
                    reason: e.to_string(),
                })
        })
        .transpose()?;
    Ok(RepositorySummary {
        tier: TrustTier::of_repository(&name, organisation_tier),
        name,
        description: row.try_get("description")?,
        star_count: size_column(row, "star_count")?,
        pull_count: size_column(row, "pull_count")?,
        created_ms: row.try_get("created_ms")?,
        last_updated_ms: row.try_get("last_updated_ms")?,
    })
}

/// One page of rows, each read by `read`, with the total a `COUNT(*)` found.
fn counted<T>(
    total: i64,
    rows: &[SqliteRow],
    read: fn(&SqliteRow) -> Result<T, MetaError>,
) -> Result<Counted<T>, MetaError> {
    Ok(Counted {
        total: u64::try_from(total).unwrap_or(0),
        items: rows.iter().map(read).collect::<Result<_, _>>()?,
    })
}

/// `text` with `LIKE`'s wildcards (and the escape character itself) escaped by `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("my_org/100%\\x"), "my\\_org/100\\%\\\\x");
        assert_eq!(escape_like("python"), "python");
    }
}
