//! Retention: the operator keeps events for a number of days; older ones are refused at ingest
//! and deleted with what was stored beside them.
//!
//! Events are partitioned by month, so retention works in whole months: the horizon is the
//! start of the month holding the cutoff, and every partition that ends at or before it goes.
//! A run first moves the horizon (ingest then refuses older events, so nothing is written into
//! what is about to go), then deletes the raw records of each doomed partition in batches by its
//! primary key, then drops the partitions (tallying each tenant's dropped events in
//! `event_counts.retired`, which the pipeline's completeness check needs), then deletes
//! quarantined records received before the cutoff. Findings, actions, verdicts and the audit log
//! are kept: they are small and they are the record of what was done.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use crate::ingest::month_of;
use crate::{Database, StorageResult, drop_event_partitions_before};

/// What one retention run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events before this are refused and gone.
    pub events_from: DateTime<Utc>,
    /// The `events` partitions dropped.
    pub partitions: Vec<String>,
    /// Raw records deleted with them.
    pub raw_records: u64,
    /// Quarantined records deleted.
    pub quarantined: u64,
}

/// The retention horizon: events before it are refused; `None` while nothing was ever retired.
pub async fn events_from(database: &Database) -> StorageResult<Option<DateTime<Utc>>> {
    let from = sqlx::query_scalar("SELECT events_from FROM event_retention")
        .fetch_optional(database.pool())
        .await?;
    Ok(from)
}

/// Deletes what is older than `cutoff` (see the module docs), `batch` raw records per
/// transaction. The horizon never moves back: a shorter run after a longer one deletes nothing
/// the longer one kept, and a longer one after a shorter cannot bring anything back.
pub async fn retain(
    database: &Database,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> StorageResult<RetentionReport> {
    let from: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO event_retention (events_from) VALUES ($1) \
         ON CONFLICT (only_row) DO UPDATE \
             SET events_from = greatest(event_retention.events_from, EXCLUDED.events_from), \
                 update_time = now() \
         RETURNING events_from",
    )
    .bind(month_of(cutoff))
    .fetch_one(database.pool())
    .await?;

    let doomed: Vec<String> = sqlx::query_scalar(
        "SELECT child.relname::text FROM pg_inherits \
         JOIN pg_class parent ON parent.oid = pg_inherits.inhparent \
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
         WHERE parent.relname = 'events' AND child.relnamespace = parent.relnamespace \
           AND substring(pg_get_expr(child.relpartbound, child.oid) \
                         FROM 'TO \\(''([^'']+)''\\)')::timestamptz <= $1 \
         ORDER BY 1",
    )
    .bind(from)
    .fetch_all(database.pool())
    .await?;

    let mut raw_records = 0;
    for partition in &doomed {
        raw_records += delete_raw_records_of(database, partition, batch).await?;
    }
    let partitions = drop_event_partitions_before(database, from).await?;

    let quarantined = sqlx::query("DELETE FROM quarantine WHERE receive_time < $1")
        .bind(cutoff)
        .execute(database.pool())
        .await?
        .rows_affected();

    let report = RetentionReport {
        events_from: from,
        partitions,
        raw_records,
        quarantined,
    };
    tracing::info!(
        events_from = %report.events_from,
        partitions = report.partitions.len(),
        raw_records = report.raw_records,
        quarantined = report.quarantined,
        "retention applied"
    );
    Ok(report)
}

/// Deletes the raw records of one partition's events, walking its primary key `batch` rows at a
/// time so each transaction stays short.
async fn delete_raw_records_of(
    database: &Database,
    partition: &str,
    batch: i64,
) -> StorageResult<u64> {
    // The name comes from the catalog, but it is spliced into SQL: it must be one of ours.
    let ours = partition.strip_prefix("events_").is_some_and(|month| {
        month.len() == 7 && month.chars().all(|c| c.is_ascii_digit() || c == '_')
    });
    if !ours {
        return Ok(0);
    }
    // The first batch from the start, the rest after the last key: a plain range each time
    // (one statement with `$1 IS NULL OR ...` would scan from the start once its plan is generic).
    let statement = |first: bool| {
        let (range, limit) = if first {
            ("", "$1")
        } else {
            (
                "WHERE (tenant_id, event_time, record_id) > ($1, $2, $3)",
                "$4",
            )
        };
        format!(
            "WITH keys AS ( \
             SELECT tenant_id, event_time, record_id FROM {partition} {range} \
             ORDER BY tenant_id, event_time, record_id LIMIT {limit} \
         ), gone AS ( \
             DELETE FROM raw_records r USING keys k \
             WHERE r.tenant_id = k.tenant_id AND r.record_id = k.record_id \
             RETURNING 1 \
         ) \
         SELECT (SELECT count(*) FROM gone) AS deleted, last.* FROM ( \
             SELECT tenant_id, event_time, record_id FROM keys \
             ORDER BY tenant_id DESC, event_time DESC, record_id DESC LIMIT 1 \
         ) AS last"
        )
    };
    let (first, next) = (statement(true), statement(false));
    let mut after: Option<(uuid::Uuid, DateTime<Utc>, String)> = None;
    let mut deleted = 0;
    loop {
        let row = match &after {
            None => {
                sqlx::query(AssertSqlSafe(first.clone()))
                    .bind(batch.max(1))
                    .fetch_optional(database.pool())
                    .await?
            }
            Some((tenant, time, record)) => {
                sqlx::query(AssertSqlSafe(next.clone()))
                    .bind(tenant)
                    .bind(time)
                    .bind(record)
                    .bind(batch.max(1))
                    .fetch_optional(database.pool())
                    .await?
            }
        };
        let Some(row) = row else { break };
        let count: i64 = row.try_get("deleted")?;
        deleted += u64::try_from(count).unwrap_or(0);
        after = Some((
            row.try_get("tenant_id")?,
            row.try_get("event_time")?,
            row.try_get("record_id")?,
        ));
    }
    Ok(deleted)
}

/// An advisory lock key of its own: one replica runs retention at a time.
const RETENTION_LOCK: i64 = 0x746f_6b65_6e72_6574;

/// [`retain`], unless another process is running it now (`None` then).
pub async fn retain_exclusively(
    database: &Database,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> StorageResult<Option<RetentionReport>> {
    // The lock lives on one connection, held for the run and released with it should this
    // process die.
    let mut connection = database.pool().acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(RETENTION_LOCK)
        .fetch_one(&mut *connection)
        .await?;
    if !locked {
        return Ok(None);
    }
    let report = retain(database, cutoff, batch).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(RETENTION_LOCK)
        .execute(&mut *connection)
        .await?;
    report.map(Some)
}
