use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use sqlx::AssertSqlSafe;

use crate::{Database, StorageResult};

/// Makes sure `events` has a monthly partition for every month from `from` to `to` inclusive,
/// except the months retention removed (see [`crate::retention`]). Runs as the owner: creating
/// partitions is outside what the tenant role may do.
pub async fn ensure_event_partitions(
    database: &Database,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StorageResult<Vec<String>> {
    let mut created = Vec::new();
    let mut month = from;
    while month <= to {
        let name: Option<String> =
            sqlx::query_scalar("SELECT tokenwatch_ensure_event_partition($1)")
                .bind(month)
                .fetch_one(database.pool())
                .await?;
        created.extend(name);
        month = match month.checked_add_months(Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    // The last step may have skipped `to`'s month when `from` is late in its month.
    let last: Option<String> = sqlx::query_scalar("SELECT tokenwatch_ensure_event_partition($1)")
        .bind(to)
        .fetch_one(database.pool())
        .await?;
    if let Some(last) = last
        && created.last() != Some(&last)
    {
        created.push(last);
    }
    Ok(created)
}

/// A month retention dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedMonth {
    /// The `events` partition (its `raw_records` partition went with it).
    pub partition: String,
    /// The events it held, from the tenants' month tallies (one raw record each).
    pub events: u64,
}

/// How long a drop waits for `raw_records` and `events` before it gives up and tries again:
/// every ingest queues behind a drop waiting for its lock, so the wait is the pause they see.
const DROP_LOCK_WAIT: &str = "250ms";
/// Tries before retention reports the drop failed (it runs again the next hour).
const DROP_ATTEMPTS: u32 = 60;
/// Between tries, ingest has the tables.
const DROP_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Drops every month whose partitions end at or before `before`: its `events` and `raw_records`
/// partitions, its tallies moved to `event_counts.retired`. Retention without a row-by-row
/// delete, and without a count under the lock. Returns the months dropped.
pub async fn drop_event_partitions_before(
    database: &Database,
    before: DateTime<Utc>,
) -> StorageResult<Vec<DroppedMonth>> {
    let mut attempt = 1;
    let dropped = loop {
        match drop_months_once(database, before).await {
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("55P03") && attempt < DROP_ATTEMPTS =>
            {
                attempt += 1;
                tokio::time::sleep(DROP_RETRY_PAUSE).await;
            }
            other => break other?,
        }
    };
    tracing::info!(
        partitions = dropped.len(),
        attempts = attempt,
        "dropped event partitions"
    );
    Ok(dropped)
}

async fn drop_months_once(
    database: &Database,
    before: DateTime<Utc>,
) -> Result<Vec<DroppedMonth>, sqlx::Error> {
    let mut tx = database.pool().begin().await?;
    sqlx::query(AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = '{DROP_LOCK_WAIT}'"
    )))
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT partition_name, event_count FROM tokenwatch_drop_event_partitions($1)",
    )
    .bind(before)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(partition, events)| DroppedMonth {
            partition,
            events: u64::try_from(events).unwrap_or(0),
        })
        .collect())
}
