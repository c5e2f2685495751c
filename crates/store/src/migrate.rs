//! Schema migrations embedded in the binary, so a fresh data folder needs nothing beside
//! `hallmark` itself. Each backend has its own ordered list; applied versions are recorded in
//! `schema_migrations` and each migration runs in its own transaction.

use sqlx::SqlitePool;

use crate::meta::MetaError;

/// One schema step.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// The SQLite schema history, oldest first; append, never edit, once released.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "registry",
        sql: include_str!("../migrations/sqlite/0001_registry.sql"),
    },
    Migration {
        version: 2,
        name: "gc",
        sql: include_str!("../migrations/sqlite/0002_gc.sql"),
    },
    Migration {
        version: 3,
        name: "catalogue",
        sql: include_str!("../migrations/sqlite/0003_catalogue.sql"),
    },
    Migration {
        version: 4,
        name: "access",
        sql: include_str!("../migrations/sqlite/0004_access.sql"),
    },
    Migration {
        version: 5,
        name: "monitoring",
        sql: include_str!("../migrations/sqlite/0005_monitoring.sql"),
    },
];

/// Applies the migrations `pool` has not seen yet.
pub(crate) async fn run(pool: &SqlitePool, migrations: &[Migration]) -> Result<(), MetaError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_ms BIGINT NOT NULL
        )",
    )
    .execute(pool)
    .await?;
    for migration in migrations {
        let mut tx = pool.begin().await?;
        // Claiming the version first makes the transaction a writer from its first statement,
        // so two processes opening one fresh folder queue instead of both migrating.
        let claimed = sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(crate::sqlite::now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
