use chrono::{DateTime, Months, Utc};

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

/// Drops every `events` partition whose months end at or before `before`: retention without a
/// row-by-row delete. Returns the partitions dropped.
pub async fn drop_event_partitions_before(
    database: &Database,
    before: DateTime<Utc>,
) -> StorageResult<Vec<String>> {
    let dropped = sqlx::query_scalar("SELECT tokenwatch_drop_event_partitions($1)")
        .bind(before)
        .fetch_all(database.pool())
        .await?;
    tracing::info!(partitions = dropped.len(), "dropped event partitions");
    Ok(dropped)
}
