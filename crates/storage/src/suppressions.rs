//! Suppressions: contexts analysts marked as expected for a tenant or a user, with an expiry.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StorageError, StorageResult, TenantTx, audit};

/// A stored suppression.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SuppressionRow {
    /// Id.
    pub suppression_id: Uuid,
    /// The user; empty for the whole tenant.
    pub user_id: String,
    /// `asn`, `prefix`, `country`, `browser`, `os`, `device`, `network_client`.
    pub context_kind: String,
    /// The value, normalized.
    pub context_value: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When.
    pub create_time: DateTime<Utc>,
    /// Until when; forever when `None`.
    pub expire_time: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "suppression_id, user_id, context_kind, context_value, reason, created_by, \
     create_time, expire_time";

/// Stores a suppression, audited.
pub async fn create(tx: &mut TenantTx, row: &SuppressionRow) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO suppressions (tenant_id, suppression_id, user_id, context_kind, \
                                   context_value, reason, created_by, create_time, expire_time) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(row.suppression_id)
    .bind(&row.user_id)
    .bind(&row.context_kind)
    .bind(&row.context_value)
    .bind(&row.reason)
    .bind(&row.created_by)
    .bind(row.create_time)
    .bind(row.expire_time)
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        &row.created_by,
        "suppression.create",
        ("suppression", &row.suppression_id.to_string()),
        serde_json::json!({
            "user": row.user_id, "kind": row.context_kind, "value": row.context_value,
            "reason": row.reason, "expire_time": row.expire_time,
        }),
    )
    .await
}

/// Suppressions, newest first, in keyset pages; expired ones only when asked.
pub async fn list(
    tx: &mut TenantTx,
    include_expired: bool,
    page_size: usize,
    page_token: &str,
) -> StorageResult<(Vec<SuppressionRow>, Option<String>)> {
    let after = crate::page::after(page_token)?;
    let mut rows: Vec<SuppressionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM suppressions WHERE tenant_id = tokenwatch_current_tenant() \
           AND ($1 OR expire_time IS NULL OR expire_time > now()) \
           AND ($2::timestamptz IS NULL OR (create_time, suppression_id) < ($2, $3)) \
         ORDER BY create_time DESC, suppression_id DESC LIMIT $4"
    )))
    .bind(include_expired)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(page_size as i64 + 1)
    .fetch_all(&mut **tx)
    .await?;
    let next = crate::page::next(&mut rows, page_size, |row| {
        (row.create_time, row.suppression_id)
    });
    Ok((rows, next))
}

/// What the engine applies: every suppression that has not expired before `horizon` (events
/// that old may still be replayed, and a suppression applies to events before its expiry).
pub async fn for_engine(
    tx: &mut TenantTx,
    horizon: DateTime<Utc>,
) -> StorageResult<Vec<SuppressionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM suppressions WHERE tenant_id = tokenwatch_current_tenant() \
           AND (expire_time IS NULL OR expire_time > $1) ORDER BY create_time"
    )))
    .bind(horizon)
    .fetch_all(&mut **tx)
    .await?)
}

/// Deletes a suppression, audited.
pub async fn delete(tx: &mut TenantTx, suppression_id: Uuid, actor: &str) -> StorageResult<()> {
    let deleted = sqlx::query(
        "DELETE FROM suppressions WHERE tenant_id = tokenwatch_current_tenant() \
           AND suppression_id = $1",
    )
    .bind(suppression_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(StorageError::NotFound {
            kind: "suppression",
            id: suppression_id.to_string(),
        });
    }
    audit::record(
        tx,
        actor,
        "suppression.delete",
        ("suppression", &suppression_id.to_string()),
        serde_json::json!({}),
    )
    .await
}
