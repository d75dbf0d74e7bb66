//! Customer tenants' Graph credentials, as sealed bytes (see the `tokenwatch-seal` crate):
//! storage never sees a secret.

use chrono::{DateTime, Utc};

use crate::{StorageResult, TenantTx};

/// A tenant's stored credentials.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedCredentials {
    /// Application (client) id.
    pub client_id: String,
    /// `client_secret` or `certificate`.
    pub kind: String,
    /// The sealed secret.
    pub sealed: Vec<u8>,
    /// The key that sealed it.
    pub key_id: String,
    /// When they were set.
    pub update_time: DateTime<Utc>,
}

/// Sets (or replaces) the tenant's credentials, audited without the secret.
pub async fn set_credentials(
    tx: &mut TenantTx,
    credentials: &SealedCredentials,
    actor: &str,
) -> StorageResult<DateTime<Utc>> {
    let time: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO graph_credentials (tenant_id, client_id, kind, sealed, key_id) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET client_id = excluded.client_id, \
           kind = excluded.kind, sealed = excluded.sealed, key_id = excluded.key_id, \
           update_time = now() \
         RETURNING update_time",
    )
    .bind(&credentials.client_id)
    .bind(&credentials.kind)
    .bind(&credentials.sealed)
    .bind(&credentials.key_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id, details) \
         VALUES (tokenwatch_current_tenant(), $1, 'credentials.set', 'graph_credentials', $2, \
                 jsonb_build_object('kind', $3::text, 'key_id', $4::text))",
    )
    .bind(actor)
    .bind(&credentials.client_id)
    .bind(&credentials.kind)
    .bind(&credentials.key_id)
    .execute(&mut **tx)
    .await?;
    crate::connectors::due_now(tx).await?;
    Ok(time)
}

/// The tenant's credentials, if set.
pub async fn get_credentials(tx: &mut TenantTx) -> StorageResult<Option<SealedCredentials>> {
    let row: Option<SealedCredentials> = sqlx::query_as(
        "SELECT client_id, kind, sealed, key_id, update_time FROM graph_credentials \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row)
}

/// Deletes the tenant's credentials, audited; false when there were none.
pub async fn delete_credentials(tx: &mut TenantTx, actor: &str) -> StorageResult<bool> {
    let deleted =
        sqlx::query("DELETE FROM graph_credentials WHERE tenant_id = tokenwatch_current_tenant()")
            .execute(&mut **tx)
            .await?;
    if deleted.rows_affected() > 0 {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id) \
             VALUES (tokenwatch_current_tenant(), $1, 'credentials.delete', 'graph_credentials', '')",
        )
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    }
    Ok(deleted.rows_affected() > 0)
}
