//! Accounts, organisations, private repositories, refresh tokens, the signing key and the audit
//! log. Every change to permissions writes its audit entry in the transaction that makes it.

use std::collections::BTreeMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::now_ms;
use crate::access::{
    Account, AccountKind, AuditAction, AuditEntry, AuditFilter, NewAuditEntry, RefreshTokenRecord,
};
use crate::meta::MetaError;

/// An audit entry about content in `repository`.
pub(super) fn audit_entry(
    actor: &str,
    action: AuditAction,
    repository: &str,
    reference: &str,
    digest: &str,
    detail: &str,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.to_owned(),
        action,
        repository: Some(repository.to_owned()),
        reference: Some(reference.to_owned()),
        digest: Some(digest.to_owned()),
        detail: detail.to_owned(),
    }
}

/// With an `actor`, records in `tx` that it deleted `reference` (which pointed at `digest`)
/// from `repository`; anonymous maintenance (gc) is not audited.
pub(super) async fn audit_delete(
    tx: &mut Transaction<'_, Sqlite>,
    actor: Option<&str>,
    repository: &str,
    reference: &str,
    digest: &str,
    detail: &str,
) -> Result<(), MetaError> {
    let Some(actor) = actor else {
        return Ok(());
    };
    let entry = audit_entry(
        actor,
        AuditAction::Delete,
        repository,
        reference,
        digest,
        detail,
    );
    insert_audit(tx, &entry).await
}

pub(super) async fn insert_audit(
    tx: &mut Transaction<'_, Sqlite>,
    entry: &NewAuditEntry,
) -> Result<(), MetaError> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, action, repository, reference, digest, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(&entry.actor)
    .bind(entry.action.as_str())
    .bind(&entry.repository)
    .bind(&entry.reference)
    .bind(&entry.digest)
    .bind(&entry.detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Commits a permission change with its audit entry when it `changed` anything; otherwise
/// drops the transaction (rolling back whatever it did) and answers `false`.
async fn commit_permission_change(
    mut tx: Transaction<'_, Sqlite>,
    changed: bool,
    actor: &str,
    repository: Option<&str>,
    detail: String,
) -> Result<bool, MetaError> {
    if !changed {
        return Ok(false);
    }
    let entry = NewAuditEntry::permission_change(actor, repository, detail);
    insert_audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn create_account(
    pool: &SqlitePool,
    account: &Account,
    actor: &str,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let created = sqlx::query(
        "INSERT INTO accounts (name, kind, password_hash, is_admin, is_publisher, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&account.name)
    .bind(account.kind.as_str())
    .bind(&account.password_hash)
    .bind(account.admin)
    .bind(account.publisher)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if created == 0 {
        return Ok(false);
    }
    for grant in &account.grants {
        sqlx::query(
            "INSERT INTO account_grants (account, grant_text) VALUES ($1, $2)
             ON CONFLICT (account, grant_text) DO NOTHING",
        )
        .bind(&account.name)
        .bind(grant)
        .execute(&mut *tx)
        .await?;
    }
    for organisation in &account.organisations {
        insert_member(&mut tx, organisation, &account.name).await?;
    }
    let detail = format!("created {}", account.describe());
    commit_permission_change(tx, true, actor, None, detail).await
}

pub(super) async fn account(pool: &SqlitePool, name: &str) -> Result<Option<Account>, MetaError> {
    Ok(load_accounts(pool, Some(name)).await?.pop())
}

pub(super) async fn accounts(pool: &SqlitePool) -> Result<Vec<Account>, MetaError> {
    load_accounts(pool, None).await
}

/// One account by name, or all of them, with grants and memberships gathered in two more
/// queries rather than one per account.
async fn load_accounts(pool: &SqlitePool, name: Option<&str>) -> Result<Vec<Account>, MetaError> {
    // `name = $1 OR $2` rather than a NULL test: PostgreSQL cannot type a NULL parameter.
    let (only, everyone) = (name.unwrap_or(""), name.is_none());
    let rows = sqlx::query(
        "SELECT name, kind, password_hash, is_admin, is_publisher FROM accounts
         WHERE name = $1 OR $2 ORDER BY name",
    )
    .bind(only)
    .bind(everyone)
    .fetch_all(pool)
    .await?;
    let mut accounts = BTreeMap::new();
    for row in &rows {
        let account = account_from_row(row)?;
        accounts.insert(account.name.clone(), account);
    }
    let grants = sqlx::query(
        "SELECT account, grant_text AS value FROM account_grants
         WHERE account = $1 OR $2 ORDER BY grant_text",
    );
    let memberships = sqlx::query(
        "SELECT account, organisation AS value FROM organisation_members
         WHERE account = $1 OR $2 ORDER BY organisation",
    );
    for (query, is_grant) in [(grants, true), (memberships, false)] {
        for row in query.bind(only).bind(everyone).fetch_all(pool).await? {
            let owner: String = row.try_get("account")?;
            let value: String = row.try_get("value")?;
            if let Some(account) = accounts.get_mut(&owner) {
                let list = if is_grant {
                    &mut account.grants
                } else {
                    &mut account.organisations
                };
                list.push(value);
            }
        }
    }
    Ok(accounts.into_values().collect())
}

fn account_from_row(row: &SqliteRow) -> Result<Account, MetaError> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "user" => AccountKind::User,
        "robot" => AccountKind::Robot,
        _ => {
            return Err(MetaError::Corrupt {
                column: "accounts.kind",
                value: kind,
                reason: "expected user or robot".to_owned(),
            })
        }
    };
    Ok(Account {
        name: row.try_get("name")?,
        kind,
        password_hash: row.try_get("password_hash")?,
        admin: row.try_get("is_admin")?,
        publisher: row.try_get("is_publisher")?,
        grants: Vec::new(),
        organisations: Vec::new(),
    })
}

pub(super) async fn delete_account(
    pool: &SqlitePool,
    name: &str,
    actor: &str,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    // Grants, memberships and refresh tokens go with it (ON DELETE CASCADE).
    let deleted = sqlx::query("DELETE FROM accounts WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let detail = format!("removed account {name}");
    commit_permission_change(tx, deleted > 0, actor, None, detail).await
}

pub(super) async fn set_password_hash(
    pool: &SqlitePool,
    name: &str,
    password_hash: &str,
    actor: Option<&str>,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    match actor {
        Some(actor) => {
            let detail = format!("set the password of {name}");
            commit_permission_change(tx, changed > 0, actor, None, detail).await
        }
        None => {
            tx.commit().await?;
            Ok(changed > 0)
        }
    }
}

pub(super) async fn create_organisation(
    pool: &SqlitePool,
    name: &str,
    actor: &str,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let created = sqlx::query(
        "INSERT INTO organisations (name, created_ms) VALUES ($1, $2)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let detail = format!("created organisation {name}");
    commit_permission_change(tx, created > 0, actor, None, detail).await
}

pub(super) async fn add_member(
    pool: &SqlitePool,
    organisation: &str,
    account: &str,
    actor: &str,
) -> Result<bool, MetaError> {
    let mut tx = pool.begin().await?;
    let known = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM accounts WHERE name = $1")
        .bind(account)
        .fetch_one(&mut *tx)
        .await?;
    if known == 0 {
        return Err(MetaError::AccountUnknown(account.to_owned()));
    }
    let added = insert_member(&mut tx, organisation, account).await?;
    let detail = format!("added {account} to organisation {organisation}");
    commit_permission_change(tx, added, actor, None, detail).await
}

/// Adds a membership; `false` when it existed. The organisation must exist.
async fn insert_member(
    tx: &mut Transaction<'_, Sqlite>,
    organisation: &str,
    account: &str,
) -> Result<bool, MetaError> {
    let known = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organisations WHERE name = $1")
        .bind(organisation)
        .fetch_one(&mut **tx)
        .await?;
    if known == 0 {
        return Err(MetaError::OrganisationUnknown(organisation.to_owned()));
    }
    let added = sqlx::query(
        "INSERT INTO organisation_members (organisation, account) VALUES ($1, $2)
         ON CONFLICT (organisation, account) DO NOTHING",
    )
    .bind(organisation)
    .bind(account)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(added > 0)
}

pub(super) async fn set_private(
    pool: &SqlitePool,
    repository: &str,
    private: bool,
    actor: &str,
) -> Result<(), MetaError> {
    let mut tx = pool.begin().await?;
    let changed = if private {
        sqlx::query(
            "INSERT INTO private_repositories (name, updated_ms) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(repository)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query("DELETE FROM private_repositories WHERE name = $1")
            .bind(repository)
            .execute(&mut *tx)
            .await?
    }
    .rows_affected();
    let visibility = if private { "private" } else { "public" };
    let detail = format!("made {repository} {visibility}");
    commit_permission_change(tx, changed > 0, actor, Some(repository), detail).await?;
    Ok(())
}

pub(super) async fn private_repositories(
    pool: &SqlitePool,
    repositories: &[&str],
) -> Result<Vec<String>, MetaError> {
    let mut private = Vec::new();
    for repository in repositories {
        let found = sqlx::query("SELECT 1 FROM private_repositories WHERE name = $1")
            .bind(repository)
            .fetch_optional(pool)
            .await?;
        if found.is_some() {
            private.push((*repository).to_owned());
        }
    }
    Ok(private)
}

pub(super) async fn put_refresh_token(
    pool: &SqlitePool,
    token: &RefreshTokenRecord,
) -> Result<(), MetaError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, subject, service, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.token_hash)
    .bind(&token.subject)
    .bind(&token.service)
    .bind(now_ms())
    .bind(token.expires_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn refresh_token(
    pool: &SqlitePool,
    token_hash: &str,
) -> Result<Option<RefreshTokenRecord>, MetaError> {
    let row = sqlx::query(
        "SELECT token_hash, subject, service, expires_ms FROM refresh_tokens
         WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(RefreshTokenRecord {
            token_hash: row.try_get("token_hash")?,
            subject: row.try_get("subject")?,
            service: row.try_get("service")?,
            expires_ms: row.try_get("expires_ms")?,
        })
    })
    .transpose()
}

pub(super) async fn token_signing_key(
    pool: &SqlitePool,
    candidate: &[u8],
) -> Result<Vec<u8>, MetaError> {
    let mut tx = pool.begin().await?;
    // Insert first, so the transaction is a writer from its first statement (see
    // `ensure_repository`), then read whichever key won.
    sqlx::query(
        "INSERT INTO token_signing_keys (id, secret, created_ms) VALUES (1, $1, $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(candidate)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let secret: Vec<u8> = sqlx::query_scalar("SELECT secret FROM token_signing_keys WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(secret)
}

pub(super) async fn audit_log(
    pool: &SqlitePool,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, MetaError> {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let action = filter.action.map(|action| action.as_str().to_owned());
    for (column, value) in [
        ("repository", &filter.repository),
        ("actor", &filter.actor),
        ("action", &action),
    ] {
        if let Some(value) = value {
            values.push(value.clone());
            conditions.push(format!("{column} = ${}", values.len()));
        }
    }
    let mut sql = "SELECT id, at_ms, actor, action, repository, reference, digest, detail
                   FROM audit_log"
        .to_owned();
    if !conditions.is_empty() {
        sql += &format!(" WHERE {}", conditions.join(" AND "));
    }
    sql += &format!(
        " ORDER BY id DESC LIMIT {}",
        filter.limit.map_or(i64::MAX, i64::from)
    );
    let mut query = sqlx::query(&sql);
    for value in &values {
        query = query.bind(value);
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(audit_from_row).collect()
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry, MetaError> {
    let action: String = row.try_get("action")?;
    let action = action.parse().map_err(|_| MetaError::Corrupt {
        column: "audit_log.action",
        value: action.clone(),
        reason: "not an audit action".to_owned(),
    })?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at_ms: row.try_get("at_ms")?,
        entry: NewAuditEntry {
            actor: row.try_get("actor")?,
            action,
            repository: row.try_get("repository")?,
            reference: row.try_get("reference")?,
            digest: row.try_get("digest")?,
            detail: row.try_get("detail")?,
        },
    })
}
