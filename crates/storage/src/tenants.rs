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
    /// Which logs the connectors pull for it.
    pub sources: Sources,
}

/// Which logs the connectors pull for a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    /// The Office 365 Management Activity API.
    pub activity_feed: bool,
    /// Entra sign-in logs through Graph.
    pub signins: bool,
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
    activity_feed: bool,
    signins: bool,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            tenant_id: TenantId::from_uuid(row.tenant_id),
            display_name: row.display_name,
            create_time: row.create_time,
            credentials_update_time: row.credentials_update_time,
            sources: Sources {
                activity_feed: row.activity_feed,
                signins: row.signins,
            },
        }
    }
}

/// A tenant's columns, with when its credentials were set (never the credentials).
const COLUMNS: &str = "t.tenant_id, t.display_name, t.create_time, \
    (SELECT c.update_time FROM graph_credentials c WHERE c.tenant_id = t.tenant_id) \
    AS credentials_update_time, \
    coalesce((SELECT s.activity_feed FROM tenant_sources s WHERE s.tenant_id = t.tenant_id), false) \
    AS activity_feed, \
    coalesce((SELECT s.signins FROM tenant_sources s WHERE s.tenant_id = t.tenant_id), false) \
    AS signins";

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
                   NULL::timestamptz AS credentials_update_time, \
                   false AS activity_feed, false AS signins",
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

/// Every registered tenant's id (a scope of "all tenants" made concrete).
pub async fn tenant_ids(database: &Database) -> StorageResult<Vec<TenantId>> {
    let mut tx = database.owner_tx().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM tenants ORDER BY tenant_id")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(TenantId::from_uuid).collect())
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

/// Sets which logs the connectors pull for the tenant (a `None` leaves that source as it was),
/// audited; returns them as they now are.
pub async fn set_sources(
    database: &Database,
    tenant_id: TenantId,
    activity_feed: Option<bool>,
    signins: Option<bool>,
    actor: &str,
) -> StorageResult<Sources> {
    let mut tx = database.tenant_tx(tenant_id).await?;
    let (activity_feed, signins): (bool, bool) = sqlx::query_as(
        "INSERT INTO tenant_sources (tenant_id, activity_feed, signins) \
         VALUES (tokenwatch_current_tenant(), coalesce($1, false), coalesce($2, false)) \
         ON CONFLICT (tenant_id) DO UPDATE SET \
           activity_feed = coalesce($1, tenant_sources.activity_feed), \
           signins = coalesce($2, tenant_sources.signins), update_time = now() \
         RETURNING activity_feed, signins",
    )
    .bind(activity_feed)
    .bind(signins)
    .fetch_one(&mut *tx)
    .await?;
    crate::connectors::due_now(&mut tx).await?;
    crate::audit::record(
        &mut tx,
        actor,
        "tenant.sources",
        ("tenant", &tenant_id.to_string()),
        serde_json::json!({ "activity_feed": activity_feed, "signins": signins }),
    )
    .await?;
    tx.commit().await?;
    Ok(Sources {
        activity_feed,
        signins,
    })
}
