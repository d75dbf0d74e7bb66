//! The append-only audit log: who did what to which object of the tenant.

use crate::{StorageResult, TenantTx};

/// Appends one entry in the transaction's tenant.
pub async fn record(
    tx: &mut TenantTx,
    actor: &str,
    action: &str,
    object: (&str, &str),
    details: serde_json::Value,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id, details) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5)",
    )
    .bind(actor)
    .bind(action)
    .bind(object.0)
    .bind(object.1)
    .bind(details)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One entry, as read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    /// Who.
    pub actor: String,
    /// What (`action.approve`...).
    pub action: String,
    /// Details.
    pub details: serde_json::Value,
    /// When.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// An object's entries, oldest first.
pub async fn history(
    tx: &mut TenantTx,
    object_kind: &str,
    object_id: &str,
) -> StorageResult<Vec<AuditEntry>> {
    Ok(sqlx::query_as(
        "SELECT actor, action, details, occurred_at FROM audit_log \
         WHERE tenant_id = tokenwatch_current_tenant() AND object_kind = $1 AND object_id = $2 \
         ORDER BY audit_id",
    )
    .bind(object_kind)
    .bind(object_id)
    .fetch_all(&mut **tx)
    .await?)
}
