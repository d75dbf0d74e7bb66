//! The connectors' state: per tenant a lease (one replica pulls a tenant at a time) and when it
//! is next due; per tenant and source a checkpoint and what the pulls did; the activity feed's
//! content blobs already ingested.
//!
//! Every write of progress happens in a [`fenced`] transaction, which renews the caller's lease
//! first and fails when the lease is no longer the caller's: a replica that stalled past its
//! lease cannot move a checkpoint another replica now owns.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokenwatch_types::TenantId;

use crate::{Database, StorageResult, TenantTx};

/// Tenants due for a pull: sources on, not leased by anyone, next pull time passed (or never
/// pulled), most overdue first; `skip` are the ones this replica is pulling already.
pub async fn due_tenants(
    database: &Database,
    limit: usize,
    skip: &[TenantId],
) -> StorageResult<Vec<TenantId>> {
    let skip: Vec<uuid::Uuid> = skip.iter().map(|t| t.as_uuid()).collect();
    // Across tenants by nature: the owner's transaction.
    let mut tx = database.owner_tx().await?;
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT s.tenant_id FROM tenant_sources s \
         LEFT JOIN connector_tenants c USING (tenant_id) \
         WHERE (s.activity_feed OR s.signins) AND NOT (s.tenant_id = ANY($2)) \
           AND (c.tenant_id IS NULL OR (c.next_pull_time <= now() \
                AND (c.lease_until IS NULL OR c.lease_until < now()))) \
         ORDER BY c.next_pull_time NULLS FIRST, s.tenant_id LIMIT $1",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(&skip)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id,)| TenantId::from_uuid(id))
        .collect())
}

/// Takes the tenant's lease for `holder` if it is free (or `holder`'s already) and the tenant
/// is due; false when another replica holds it or has just pulled it.
pub async fn acquire(
    database: &Database,
    tenant: TenantId,
    holder: &str,
    lease: Duration,
) -> StorageResult<bool> {
    let mut tx = database.tenant_tx(tenant).await?;
    let taken: Option<i32> = sqlx::query_scalar(
        "INSERT INTO connector_tenants (tenant_id, lease_holder, lease_until) \
         VALUES (tokenwatch_current_tenant(), $1, now() + $2 * interval '1 millisecond') \
         ON CONFLICT (tenant_id) DO UPDATE SET lease_holder = excluded.lease_holder, \
           lease_until = excluded.lease_until \
         WHERE connector_tenants.next_pull_time <= now() \
           AND (connector_tenants.lease_until IS NULL OR connector_tenants.lease_until < now() \
                OR connector_tenants.lease_holder = excluded.lease_holder) \
         RETURNING 1",
    )
    .bind(holder)
    .bind(millis(lease))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(taken.is_some())
}

/// A tenant transaction that first extends `holder`'s lease; `None` when the lease is no longer
/// `holder`'s (lapsed and taken, or lapsed and the tenant pulled since).
pub async fn fenced(
    database: &Database,
    tenant: TenantId,
    holder: &str,
    lease: Duration,
) -> StorageResult<Option<TenantTx>> {
    let mut tx = database.tenant_tx(tenant).await?;
    let renewed = sqlx::query(
        "UPDATE connector_tenants SET lease_until = now() + $2 * interval '1 millisecond' \
         WHERE tenant_id = tokenwatch_current_tenant() AND lease_holder = $1 \
           AND lease_until > now()",
    )
    .bind(holder)
    .bind(millis(lease))
    .execute(&mut *tx)
    .await?;
    Ok((renewed.rows_affected() == 1).then_some(tx))
}

/// How a round ended, for the tenant's row.
#[derive(Debug, Clone)]
pub struct RoundEnd {
    /// When the tenant is next due.
    pub next_pull_time: DateTime<Utc>,
    /// Rounds in a row that got nothing done.
    pub failures: i32,
    /// False when the tenant's credentials or access fail.
    pub healthy: bool,
    /// Why the round failed, if it did.
    pub last_error: Option<String>,
}

/// Ends `holder`'s round: releases the lease and says when the tenant is next due. False when
/// the lease was no longer `holder`'s (nothing is written then).
pub async fn release(
    database: &Database,
    tenant: TenantId,
    holder: &str,
    end: &RoundEnd,
) -> StorageResult<bool> {
    let mut tx = database.tenant_tx(tenant).await?;
    let released = sqlx::query(
        "UPDATE connector_tenants SET lease_holder = NULL, lease_until = NULL, \
           next_pull_time = $2, failures = $3, healthy = $4, last_error = $5, \
           last_holder = $1 \
         WHERE tenant_id = tokenwatch_current_tenant() AND lease_holder = $1",
    )
    .bind(holder)
    .bind(end.next_pull_time)
    .bind(end.failures)
    .bind(end.healthy)
    .bind(&end.last_error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(released.rows_affected() == 1)
}

/// Makes the tenant due at once, its failures forgotten: its credentials or sources changed,
/// so an unhealthy tenant should not sit out its backoff.
pub async fn due_now(tx: &mut TenantTx) -> StorageResult<()> {
    sqlx::query(
        "UPDATE connector_tenants SET next_pull_time = now(), failures = 0 \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rounds in a row the tenant's pulls failed (0 for a tenant never pulled).
pub async fn failures(tx: &mut TenantTx) -> StorageResult<i32> {
    let failures: Option<i32> = sqlx::query_scalar(
        "SELECT failures FROM connector_tenants WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(failures.unwrap_or(0))
}

/// A source's checkpoint, if it was ever pulled: a source whose every attempt failed has only
/// the placeholder its error row needs, and its first pull still backfills (and reports no gap).
pub async fn checkpoint(tx: &mut TenantTx, source: &str) -> StorageResult<Option<DateTime<Utc>>> {
    let checkpoint = sqlx::query_scalar(
        "SELECT checkpoint FROM connector_sources \
         WHERE tenant_id = tokenwatch_current_tenant() AND source = $1 \
           AND last_success_time IS NOT NULL",
    )
    .bind(source)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(checkpoint)
}

/// What one piece of a pull (a content blob, a page of sign-ins) added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Records Microsoft returned.
    pub records: i64,
    /// Of those, new to tokenwatch.
    pub new: i64,
    /// Of those, rejected (and quarantined) by ingest.
    pub rejected: i64,
}

/// Adds to a source's counters; creates the source at `checkpoint` if it is new.
pub async fn add_pulled(
    tx: &mut TenantTx,
    source: &str,
    checkpoint: DateTime<Utc>,
    pulled: Pulled,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO connector_sources (tenant_id, source, checkpoint, last_attempt_time, \
                                        records_pulled, records_new, records_rejected) \
         VALUES (tokenwatch_current_tenant(), $1, $2, now(), $3, $4, $5) \
         ON CONFLICT (tenant_id, source) DO UPDATE SET last_attempt_time = now(), \
           records_pulled = connector_sources.records_pulled + excluded.records_pulled, \
           records_new = connector_sources.records_new + excluded.records_new, \
           records_rejected = connector_sources.records_rejected + excluded.records_rejected",
    )
    .bind(source)
    .bind(checkpoint)
    .bind(pulled.records)
    .bind(pulled.new)
    .bind(pulled.rejected)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a source's checkpoint to `checkpoint` after a window was ingested whole: a success.
pub async fn advance(
    tx: &mut TenantTx,
    source: &str,
    checkpoint: DateTime<Utc>,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO connector_sources (tenant_id, source, checkpoint, last_attempt_time, \
                                        last_success_time) \
         VALUES (tokenwatch_current_tenant(), $1, $2, now(), now()) \
         ON CONFLICT (tenant_id, source) DO UPDATE SET \
           checkpoint = greatest(connector_sources.checkpoint, excluded.checkpoint), \
           last_attempt_time = now(), last_success_time = now()",
    )
    .bind(source)
    .bind(checkpoint)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records why a source's pull failed (and counts a throttling); the checkpoint stays.
pub async fn record_error(
    tx: &mut TenantTx,
    source: &str,
    checkpoint: DateTime<Utc>,
    error: &str,
    throttled: bool,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO connector_sources (tenant_id, source, checkpoint, last_attempt_time, \
                                        last_error, last_error_time, throttled) \
         VALUES (tokenwatch_current_tenant(), $1, $2, now(), $3, now(), $4) \
         ON CONFLICT (tenant_id, source) DO UPDATE SET last_attempt_time = now(), \
           last_error = excluded.last_error, last_error_time = now(), \
           throttled = connector_sources.throttled + excluded.throttled",
    )
    .bind(source)
    .bind(checkpoint)
    .bind(error)
    .bind(i64::from(throttled))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which of `content_ids` of `content_type` were ingested already.
pub async fn ingested_contents(
    tx: &mut TenantTx,
    content_type: &str,
    content_ids: &[String],
) -> StorageResult<HashSet<String>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT content_id FROM connector_contents \
         WHERE tenant_id = tokenwatch_current_tenant() AND content_type = $1 \
           AND content_id = ANY($2)",
    )
    .bind(content_type)
    .bind(content_ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Notes a content blob as ingested, with what it added to its source.
pub async fn content_ingested(
    tx: &mut TenantTx,
    content_type: &str,
    content_id: &str,
    content_created: DateTime<Utc>,
    checkpoint: DateTime<Utc>,
    pulled: Pulled,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO connector_contents (tenant_id, content_type, content_id, content_created, \
                                         records) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(content_type)
    .bind(content_id)
    .bind(content_created)
    .bind(i32::try_from(pulled.records).unwrap_or(i32::MAX))
    .execute(&mut **tx)
    .await?;
    add_pulled(tx, content_type, checkpoint, pulled).await
}

/// Forgets every tenant's blobs made available before `before` (the API no longer lists
/// them): maintenance across tenants, as the owner.
pub async fn prune_contents(database: &Database, before: DateTime<Utc>) -> StorageResult<u64> {
    let mut tx = database.owner_tx().await?;
    let done = sqlx::query("DELETE FROM connector_contents WHERE content_created < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Gives up `holder`'s lease without touching when the tenant is due (a stopping replica):
/// another replica may take the tenant at once.
pub async fn abandon(database: &Database, tenant: TenantId, holder: &str) -> StorageResult<()> {
    let mut tx = database.tenant_tx(tenant).await?;
    sqlx::query(
        "UPDATE connector_tenants SET lease_holder = NULL, lease_until = NULL \
         WHERE tenant_id = tokenwatch_current_tenant() AND lease_holder = $1",
    )
    .bind(holder)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One source of one tenant, as the status shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceStatus {
    /// The tenant.
    pub tenant_id: uuid::Uuid,
    /// `Audit.Exchange`..., `signins.interactive`, `signins.noninteractive`.
    pub source: String,
    /// Switched on for the tenant (off: pulled once, switched off since).
    pub enabled: bool,
    /// Everything before it is ingested; `None` before the first pull.
    pub checkpoint: Option<DateTime<Utc>>,
    /// The last pull of a window that succeeded whole.
    pub last_success_time: Option<DateTime<Utc>>,
    /// The last pull tried.
    pub last_attempt_time: Option<DateTime<Utc>>,
    /// Records Microsoft returned, in all.
    pub records_pulled: i64,
    /// Of those, new.
    pub records_new: i64,
    /// Of those, rejected by ingest.
    pub records_rejected: i64,
    /// Pulls that ended throttled.
    pub throttled: i64,
    /// Why the last failed pull failed (kept after later successes: compare the times).
    pub last_error: Option<String>,
    /// When.
    pub last_error_time: Option<DateTime<Utc>>,
    /// The tenant's state: healthy (credentials and access work).
    pub healthy: bool,
    /// Why the tenant's last round failed.
    pub tenant_error: Option<String>,
    /// When the tenant is next due.
    pub next_pull_time: Option<DateTime<Utc>>,
}

/// The activity feed's sources: its content types.
pub const ACTIVITY_SOURCES: [&str; 4] = [
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
];
/// The sign-in logs' sources.
pub const SIGN_IN_SOURCES: [&str; 2] = ["signins.interactive", "signins.noninteractive"];

/// The status of every source of the tenants `tx` may read: those switched on in
/// `tenant_sources` and those ever pulled, ordered by tenant and source.
pub async fn status(tx: &mut TenantTx) -> StorageResult<Vec<SourceStatus>> {
    // Each source with its switch: true for the activity feed, false for sign-ins.
    let (names, activity): (Vec<&str>, Vec<bool>) = ACTIVITY_SOURCES
        .iter()
        .map(|s| (*s, true))
        .chain(SIGN_IN_SOURCES.iter().map(|s| (*s, false)))
        .unzip();
    let rows = sqlx::query_as(
        "WITH wanted AS ( \
           SELECT t.tenant_id, w.source FROM tenant_sources t \
           CROSS JOIN unnest($1::text[], $2::bool[]) AS w(source, activity) \
           WHERE (w.activity AND t.activity_feed) OR (NOT w.activity AND t.signins)), \
         known AS ( \
           SELECT tenant_id, source, bool_or(enabled) AS enabled FROM ( \
             SELECT tenant_id, source, true AS enabled FROM wanted \
             UNION ALL SELECT tenant_id, source, false FROM connector_sources) x \
           GROUP BY tenant_id, source) \
         SELECT k.tenant_id, k.source, k.enabled, s.checkpoint, s.last_success_time, s.last_attempt_time, \
                coalesce(s.records_pulled, 0) AS records_pulled, \
                coalesce(s.records_new, 0) AS records_new, \
                coalesce(s.records_rejected, 0) AS records_rejected, \
                coalesce(s.throttled, 0) AS throttled, s.last_error, s.last_error_time, \
                coalesce(c.healthy, true) AS healthy, c.last_error AS tenant_error, \
                c.next_pull_time \
         FROM known k \
         LEFT JOIN connector_sources s USING (tenant_id, source) \
         LEFT JOIN connector_tenants c USING (tenant_id) \
         ORDER BY k.tenant_id, k.source",
    )
    .bind(&names)
    .bind(&activity)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
