use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use tokenwatch_types::TenantId;
use uuid::Uuid;

use crate::{Database, StorageError, StorageResult};

/// A registered customer tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its Entra tenant id.
    pub tenant_id: TenantId,
    /// The MSP's name for it.
    pub display_name: String,
    /// When it was registered.
    pub create_time: DateTime<Utc>,
    /// When its Graph credentials were last set, if they are.
    pub credentials_update_time: Option<DateTime<Utc>>,
}

/// One page of tenants.
#[derive(Debug, Clone)]
pub struct TenantPage {
    /// Tenants in tenant id order.
    pub tenants: Vec<Tenant>,
    /// Token for the next page, `None` on the last.
    pub next_page_token: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    tenant_id: Uuid,
    display_name: String,
    create_time: DateTime<Utc>,
    credentials_update_time: Option<DateTime<Utc>>,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            tenant_id: TenantId::from_uuid(row.tenant_id),
            display_name: row.display_name,
            create_time: row.create_time,
            credentials_update_time: row.credentials_update_time,
        }
    }
}

/// A tenant's columns, with when its credentials were set (never the credentials).
const COLUMNS: &str = "t.tenant_id, t.display_name, t.create_time, \
    (SELECT c.update_time FROM graph_credentials c WHERE c.tenant_id = t.tenant_id) \
    AS credentials_update_time";

/// Registers a tenant.
pub async fn create_tenant(
    database: &Database,
    tenant_id: TenantId,
    display_name: &str,
    actor: &str,
) -> StorageResult<Tenant> {
    let mut tx = database.owner_tx().await?;
    let row: Option<TenantRow> = sqlx::query_as(
        "INSERT INTO tenants (tenant_id, display_name) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO NOTHING \
         RETURNING tenant_id, display_name, create_time, \
                   NULL::timestamptz AS credentials_update_time",
    )
    .bind(tenant_id.as_uuid())
    .bind(display_name)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(StorageError::AlreadyExists {
            kind: "tenant",
            id: tenant_id.to_string(),
        });
    };
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id, details) \
         VALUES ($1, $2, 'create', 'tenant', $3, jsonb_build_object('display_name', $4::text))",
    )
    .bind(tenant_id.as_uuid())
    .bind(actor)
    .bind(tenant_id.to_string())
    .bind(display_name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Reads one tenant, within a transaction confined to it.
pub async fn get_tenant(database: &Database, tenant_id: TenantId) -> StorageResult<Tenant> {
    let mut tx = database.tenant_tx(tenant_id).await?;
    let row: Option<TenantRow> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM tenants t")))
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    row.map(Tenant::from).ok_or_else(|| StorageError::NotFound {
        kind: "tenant",
        id: tenant_id.to_string(),
    })
}

/// Lists tenants in id order, limited to `only` when the caller's scope is not every tenant.
pub async fn list_tenants(
    database: &Database,
    only: Option<&[TenantId]>,
    page_size: usize,
    page_token: &str,
) -> StorageResult<TenantPage> {
    let after = if page_token.is_empty() {
        None
    } else {
        Some(Uuid::parse_str(page_token).map_err(|_| StorageError::InvalidPageToken)?)
    };
    let only: Option<Vec<Uuid>> = only.map(|ids| ids.iter().map(TenantId::as_uuid).collect());
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    let mut tx = database.owner_tx().await?;
    let rows: Vec<TenantRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t \
             WHERE ($1::uuid IS NULL OR t.tenant_id > $1) \
               AND ($2::uuid[] IS NULL OR t.tenant_id = ANY($2)) \
             ORDER BY t.tenant_id LIMIT $3"
    )))
    .bind(after)
    .bind(only)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut tenants: Vec<Tenant> = rows.into_iter().map(Tenant::from).collect();
    let next_page_token = if tenants.len() > page_size {
        tenants.truncate(page_size);
        tenants.last().map(|t| t.tenant_id.to_string())
    } else {
        None
    };
    Ok(TenantPage {
        tenants,
        next_page_token,
    })
}

/// Removes a tenant and, by cascade, everything stored for it.
pub async fn delete_tenant(database: &Database, tenant_id: TenantId) -> StorageResult<()> {
    let mut tx = database.owner_tx().await?;
    let deleted = sqlx::query("DELETE FROM tenants WHERE tenant_id = $1")
        .bind(tenant_id.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if deleted == 0 {
        return Err(StorageError::NotFound {
            kind: "tenant",
            id: tenant_id.to_string(),
        });
    }
    Ok(())
}
