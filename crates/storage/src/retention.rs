//! Retention: the operator keeps events for a number of days; older ones are refused at ingest
//! and deleted with what was stored beside them.
//!
//! Events and raw records are partitioned by month of event time, so retention works in whole
//! months: the horizon is the start of the month holding the cutoff, and every month that ends
//! at or before it goes. A run first moves the horizon (ingest then refuses older events, so
//! nothing is written into what is about to go), then drops each month's two partitions (moving
//! each tenant's month tally to `event_counts.retired`, which the pipeline's completeness check
//! needs), then deletes quarantined records received before the cutoff. Findings, actions,
//! verdicts and the audit log are kept: they are small and they are the record of what was done.

use chrono::{DateTime, Utc};

use crate::ingest::month_of;
use crate::{Database, StorageResult, drop_event_partitions_before};

/// What one retention run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events before this are refused and gone.
    pub events_from: DateTime<Utc>,
    /// The `events` partitions dropped.
    pub partitions: Vec<String>,
    /// Raw records dropped with them (one per event).
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

/// Deletes what is older than `cutoff` (see the module docs). The horizon never moves back: a
/// shorter run after a longer one deletes nothing the longer one kept, and a longer one after a
/// shorter cannot bring anything back.
pub async fn retain(database: &Database, cutoff: DateTime<Utc>) -> StorageResult<RetentionReport> {
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

    let dropped = drop_event_partitions_before(database, from).await?;
    let raw_records = dropped.iter().map(|month| month.events).sum();
    let partitions = dropped.into_iter().map(|month| month.partition).collect();

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

/// An advisory lock key of its own: one replica runs retention at a time.
const RETENTION_LOCK: i64 = 0x746f_6b65_6e72_6574;

/// [`retain`], unless another process is running it now (`None` then).
pub async fn retain_exclusively(
    database: &Database,
    cutoff: DateTime<Utc>,
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
    let report = retain(database, cutoff).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(RETENTION_LOCK)
        .execute(&mut *connection)
        .await?;
    report.map(Some)
}
