use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokenwatch_types::TenantId;

use crate::{MIGRATOR, StorageResult};

/// A transaction confined by row-level security to one tenant (or, for reads, to a set of
/// tenants). Only [`Database::tenant_tx`] and [`Database::tenants_read_tx`] make one, so a
/// repository function that takes it cannot be handed a transaction outside RLS.
#[derive(Debug)]
pub struct TenantTx(Transaction<'static, Postgres>);

/// A transaction as the owner, outside row-level security: only [`Database::owner_tx`] makes
/// one, for the few operations that span tenants by nature.
#[derive(Debug)]
pub struct OwnerTx(Transaction<'static, Postgres>);

/// What both transactions share: statements run on the connection, and commit or roll back.
macro_rules! transaction {
    ($type:ident) => {
        impl $type {
            /// Commits.
            pub async fn commit(self) -> Result<(), sqlx::Error> {
                self.0.commit().await
            }

            /// Rolls back (dropping the transaction does too).
            pub async fn rollback(self) -> Result<(), sqlx::Error> {
                self.0.rollback().await
            }
        }

        impl std::ops::Deref for $type {
            type Target = PgConnection;

            fn deref(&self) -> &PgConnection {
                &self.0
            }
        }

        impl std::ops::DerefMut for $type {
            fn deref_mut(&mut self) -> &mut PgConnection {
                &mut self.0
            }
        }
    };
}

transaction!(TenantTx);
transaction!(OwnerTx);

/// The connection pool and the ways to open transactions on it.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    /// Connects, creating the database first if it does not exist (a fresh local cluster has
    /// only `postgres`).
    pub async fn connect(url: &str, max_connections: u32) -> StorageResult<Self> {
        if !sqlx::Postgres::database_exists(url).await? {
            tracing::info!("creating database");
            if let Err(error) = sqlx::Postgres::create_database(url).await {
                // Another process may have created it in the meantime.
                if !sqlx::Postgres::database_exists(url).await? {
                    return Err(error.into());
                }
            }
        }
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("tokenwatch"))
            .await?;
        Ok(Database { pool })
    }

    /// Applies every pending migration; safe to run concurrently from several processes
    /// (sqlx holds an advisory lock).
    pub async fn migrate(&self) -> StorageResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Opens a transaction confined to `tenant`: every row it reads or writes carries that
    /// `tenant_id`, whatever the SQL says.
    pub async fn tenant_tx(&self, tenant: TenantId) -> StorageResult<TenantTx> {
        let mut tx = self.pool.begin().await?;
        // One round trip, and `SET LOCAL` rather than `set_config`: Citus propagates SET LOCAL
        // commands to the workers a transaction touches (docs/scaling.md). The id is a parsed
        // UUID, so it is safe in the statement's text.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SET LOCAL ROLE tokenwatch_app; SET LOCAL app.tenant_id = '{}'",
            tenant.as_uuid()
        )))
        .execute(&mut *tx)
        .await?;
        Ok(TenantTx(tx))
    }

    /// Opens a read transaction that row-level security confines to `tenants` (reads only:
    /// writes need [`Database::tenant_tx`]).
    pub async fn tenants_read_tx(&self, tenants: &[TenantId]) -> StorageResult<TenantTx> {
        let mut tx = self.pool.begin().await?;
        let list: Vec<String> = tenants.iter().map(|t| t.as_uuid().to_string()).collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SET LOCAL ROLE tokenwatch_app; SET LOCAL app.tenant_ids = '{}'",
            list.join(",")
        )))
        .execute(&mut *tx)
        .await?;
        Ok(TenantTx(tx))
    }

    /// Opens a transaction as the owner, outside row-level security. Only for operations that
    /// span tenants by nature (the tenant registry, partition maintenance).
    pub async fn owner_tx(&self) -> StorageResult<OwnerTx> {
        Ok(OwnerTx(self.pool.begin().await?))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The pool, for crates that run their own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
