//! Webhook notifications: the outbox of events, each tenant's webhooks, and the deliveries.
//!
//! [`enqueue`] runs inside the transaction that makes the change it reports, and announces the
//! tenant on [`NOTIFICATIONS_CHANNEL`] so a deliverer wakes at once; delivery happens later,
//! elsewhere, and never holds up the change.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StorageError, StorageResult, TenantTx, audit};

/// The Postgres channel a tenant id is announced on when it has a new notification.
pub const NOTIFICATIONS_CHANNEL: &str = "tokenwatch_notifications";

/// Records an event once (a repeated `event_key` is ignored).
pub async fn enqueue(
    tx: &mut TenantTx,
    event_key: &str,
    event: &str,
    severity: &str,
    payload: &serde_json::Value,
) -> StorageResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO notifications (tenant_id, notification_id, event_key, event, severity, payload) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, event_key) DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(event_key)
    .bind(event)
    .bind(severity)
    .bind(payload)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted > 0 {
        sqlx::query("SELECT pg_notify($1, tokenwatch_current_tenant()::text)")
            .bind(NOTIFICATIONS_CHANNEL)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notification {
    /// Id (sent as the event id, for receivers to drop repeats).
    pub notification_id: Uuid,
    /// `finding.created`...
    pub event: String,
    /// The finding's or action's severity; empty when it has none.
    pub severity: String,
    /// The event's object.
    pub payload: serde_json::Value,
    /// When it happened.
    pub create_time: DateTime<Utc>,
    /// Deliveries tried to this target so far.
    pub attempts: i32,
}

/// Events created since `since` that `target` has not received and may be tried now (fewer
/// than `max_attempts` tries), oldest first.
pub async fn pending(
    tx: &mut TenantTx,
    target: &str,
    since: DateTime<Utc>,
    max_attempts: i32,
    limit: i64,
) -> StorageResult<Vec<Notification>> {
    Ok(sqlx::query_as(
        "SELECT n.notification_id, n.event, n.severity, n.payload, n.create_time, \
                COALESCE(d.attempts, 0) AS attempts \
         FROM notifications n LEFT JOIN notification_deliveries d \
           ON d.tenant_id = n.tenant_id AND d.notification_id = n.notification_id AND d.target = $1 \
         WHERE n.tenant_id = tokenwatch_current_tenant() AND n.create_time >= $2 \
           AND (d.target IS NULL OR (d.delivered_time IS NULL AND d.next_attempt_time <= now() \
                                     AND d.attempts < $3)) \
         ORDER BY n.create_time, n.notification_id LIMIT $4",
    )
    .bind(target)
    .bind(since)
    .bind(max_attempts)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Records one delivery attempt: delivered, or failed with `error` and to be tried again at
/// `retry_at` (none: given up).
pub async fn record_attempt(
    tx: &mut TenantTx,
    notification_id: Uuid,
    target: &str,
    outcome: Result<(), (&str, DateTime<Utc>)>,
) -> StorageResult<()> {
    let (delivered, error, retry_at) = match outcome {
        Ok(()) => (true, "", Utc::now()),
        Err((error, retry_at)) => (false, error, retry_at),
    };
    sqlx::query(
        "INSERT INTO notification_deliveries (tenant_id, notification_id, target, attempts, \
                                              delivered_time, next_attempt_time, last_error) \
         VALUES (tokenwatch_current_tenant(), $1, $2, 1, CASE WHEN $3 THEN now() END, $4, $5) \
         ON CONFLICT (tenant_id, notification_id, target) DO UPDATE SET \
           attempts = notification_deliveries.attempts + 1, \
           delivered_time = excluded.delivered_time, \
           next_attempt_time = excluded.next_attempt_time, last_error = excluded.last_error",
    )
    .bind(notification_id)
    .bind(target)
    .bind(delivered)
    .bind(retry_at)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The earliest retry still due for the tenant, if any.
pub async fn next_retry(
    tx: &mut TenantTx,
    max_attempts: i32,
) -> StorageResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT min(next_attempt_time) FROM notification_deliveries \
         WHERE tenant_id = tokenwatch_current_tenant() AND delivered_time IS NULL \
           AND attempts < $1",
    )
    .bind(max_attempts)
    .fetch_one(&mut **tx)
    .await?)
}

/// Deletes events older than `before` (and their deliveries), except those the PSA has yet to
/// receive, which are kept until `psa_before`.
pub async fn prune(
    tx: &mut TenantTx,
    before: DateTime<Utc>,
    psa_before: DateTime<Utc>,
) -> StorageResult<u64> {
    Ok(sqlx::query(
        "DELETE FROM notifications n WHERE tenant_id = tokenwatch_current_tenant() \
           AND create_time < $1 \
           AND (create_time < $2 OR NOT EXISTS ( \
                SELECT 1 FROM psa_cursors c WHERE c.tenant_id = n.tenant_id \
                  AND (n.create_time, n.notification_id) > (c.position_time, c.position_id)))",
    )
    .bind(before)
    .bind(psa_before)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Takes the tenant's delivery lock for the transaction: false when another process holds it
/// (it is delivering this tenant's events now).
pub async fn try_lock_deliveries(tx: &mut TenantTx) -> StorageResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('deliveries:' || tokenwatch_current_tenant()::text, 0))",
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// A tenant's webhook.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    /// Id.
    pub webhook_id: Uuid,
    /// Where to POST.
    pub url: String,
    /// `generic`, `slack` or `teams`.
    pub format: String,
    /// Finding events below this are not sent.
    pub min_severity: String,
    /// The HMAC key, sealed.
    pub sealed_secret: Vec<u8>,
    /// The key that sealed it.
    pub key_id: String,
    /// Who added it.
    pub created_by: String,
    /// When.
    pub create_time: DateTime<Utc>,
}

/// Adds a webhook, audited (without its secret).
pub async fn add_webhook(tx: &mut TenantTx, webhook: &WebhookRow) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO webhooks (tenant_id, webhook_id, url, format, min_severity, sealed_secret, \
                               key_id, created_by, create_time) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(webhook.webhook_id)
    .bind(&webhook.url)
    .bind(&webhook.format)
    .bind(&webhook.min_severity)
    .bind(&webhook.sealed_secret)
    .bind(&webhook.key_id)
    .bind(&webhook.created_by)
    .bind(webhook.create_time)
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        &webhook.created_by,
        "webhook.add",
        ("webhook", &webhook.webhook_id.to_string()),
        serde_json::json!({
            "url": webhook.url, "format": webhook.format, "min_severity": webhook.min_severity,
        }),
    )
    .await
}

/// The tenant's webhooks, oldest first.
pub async fn list_webhooks(tx: &mut TenantTx) -> StorageResult<Vec<WebhookRow>> {
    Ok(sqlx::query_as(
        "SELECT webhook_id, url, format, min_severity, sealed_secret, key_id, created_by, \
                create_time \
         FROM webhooks WHERE tenant_id = tokenwatch_current_tenant() \
         ORDER BY create_time, webhook_id",
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Deletes a webhook, audited.
pub async fn delete_webhook(tx: &mut TenantTx, webhook_id: Uuid, actor: &str) -> StorageResult<()> {
    let deleted = sqlx::query(
        "DELETE FROM webhooks WHERE tenant_id = tokenwatch_current_tenant() AND webhook_id = $1",
    )
    .bind(webhook_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(StorageError::NotFound {
            kind: "webhook",
            id: webhook_id.to_string(),
        });
    }
    audit::record(
        tx,
        actor,
        "webhook.delete",
        ("webhook", &webhook_id.to_string()),
        serde_json::json!({}),
    )
    .await
}
