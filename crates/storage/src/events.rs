//! Reading stored events back, in the order the detection engine takes them: per tenant, by
//! (event time, record id), the record id compared byte-wise (`COLLATE "C"`) as Rust compares
//! strings, so the online pipeline and the offline scan agree on every tie.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};
use tokenwatch_core::event::{Network, NormalizedEvent, SessionIdSource, SourceFormat};
use tokenwatch_core::useragent::{ClientInfo, ClientKind};

use crate::{StorageResult, TenantTx};

/// A position in a tenant's event order: the last event processed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// Event time.
    pub time: DateTime<Utc>,
    /// Record id.
    pub record_id: String,
}

impl EventKey {
    /// The key of an event.
    pub fn of(event: &NormalizedEvent) -> Self {
        EventKey {
            time: event.event_time,
            record_id: event.record_id.clone(),
        }
    }
}

const COLUMNS: &str = "event_time, record_id, source_format, user_id, user_object_id, \
    session_id, session_id_source, token_id, interactive, host(ip_address) AS ip, asn, as_org, \
    country, hosting, user_agent, client_kind, browser, browser_major, os, device_id, \
    operation, workload, result_status, app_id";

/// Up to `limit` events after `after` (from the start when `None`), in engine order.
pub async fn events_after(
    tx: &mut TenantTx,
    after: Option<&EventKey>,
    limit: i64,
) -> StorageResult<Vec<NormalizedEvent>> {
    let rows = match after {
        Some(key) => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM events \
                 WHERE tenant_id = tokenwatch_current_tenant() AND event_time >= $1 \
                   AND (event_time, record_id COLLATE \"C\") > ($1, $2) \
                 ORDER BY event_time, record_id COLLATE \"C\" LIMIT $3"
            )))
            .bind(key.time)
            .bind(&key.record_id)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await?
        }
        None => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM events \
                 WHERE tenant_id = tokenwatch_current_tenant() \
                 ORDER BY event_time, record_id COLLATE \"C\" LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    rows.iter().map(event_of_row).collect()
}

/// Events with a key in (`after`, `until`]: from the start when `after` is `None`.
pub async fn count_events_between(
    tx: &mut TenantTx,
    after: Option<&EventKey>,
    until: &EventKey,
) -> StorageResult<i64> {
    // The plain `event_time` bounds give the primary key's range to every plan, generic ones
    // included; the row comparisons then settle ties on the record id.
    let count = match after {
        Some(key) => {
            sqlx::query_scalar(
                "SELECT count(*) FROM events \
                 WHERE tenant_id = tokenwatch_current_tenant() \
                   AND event_time BETWEEN $1 AND $3 \
                   AND (event_time, record_id COLLATE \"C\") > ($1, $2) \
                   AND (event_time, record_id COLLATE \"C\") <= ($3, $4)",
            )
            .bind(key.time)
            .bind(&key.record_id)
            .bind(until.time)
            .bind(&until.record_id)
            .fetch_one(&mut **tx)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT count(*) FROM events \
                 WHERE tenant_id = tokenwatch_current_tenant() AND event_time <= $1 \
                   AND (event_time, record_id COLLATE \"C\") <= ($1, $2)",
            )
            .bind(until.time)
            .bind(&until.record_id)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    Ok(count)
}

/// A tenant's event tally: every event ever stored (its `event_month_counts` rows, which ingest
/// adds to, plus what retention retired), and those since dropped by retention (`event_counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTally {
    /// Events stored, ever.
    pub stored: u64,
    /// Of those, the ones retention dropped.
    pub retired: u64,
}

/// The tenant's tally.
pub async fn event_tally(tx: &mut TenantTx) -> StorageResult<EventTally> {
    Ok(tally_and_events_after(tx, None).await?.0)
}

/// The tenant's tally, with how many of its stored events come after `after` (all of them,
/// from the tally, when `None`), read in one statement so that both see the same commits.
pub async fn tally_and_events_after(
    tx: &mut TenantTx,
    after: Option<&EventKey>,
) -> StorageResult<(EventTally, u64)> {
    const TALLY: &str = "SELECT (kept.n + gone.n)::bigint AS stored, gone.n AS retired \
                         FROM (SELECT coalesce(sum(stored), 0) AS n FROM event_month_counts \
                               WHERE tenant_id = tokenwatch_current_tenant()) AS kept, \
                              (SELECT coalesce(max(retired), 0) AS n FROM event_counts \
                               WHERE tenant_id = tokenwatch_current_tenant()) AS gone";
    // Two statements, not one with `$1 IS NULL OR ...`: a generic plan of that form cannot use
    // the primary key's range, and the count after a checkpoint must stay a short range scan.
    let row = match after {
        Some(key) => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT tally.stored, tally.retired, ( \
                     SELECT count(*) FROM events \
                     WHERE tenant_id = tokenwatch_current_tenant() AND event_time >= $1 \
                       AND (event_time, record_id COLLATE \"C\") > ($1, $2)) AS after \
                 FROM ({TALLY}) AS tally"
            )))
            .bind(key.time)
            .bind(&key.record_id)
            .fetch_one(&mut **tx)
            .await?
        }
        None => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT tally.stored, tally.retired, tally.stored - tally.retired AS after \
                 FROM ({TALLY}) AS tally"
            )))
            .fetch_one(&mut **tx)
            .await?
        }
    };
    let count = |column: &str| -> StorageResult<u64> {
        let value: i64 = row.try_get(column)?;
        Ok(u64::try_from(value).unwrap_or(0))
    };
    let tally = EventTally {
        stored: count("stored")?,
        retired: count("retired")?,
    };
    Ok((tally, count("after")?))
}

/// Up to `limit` events of one user's session, newest first (a finding's evidence).
pub async fn session_events(
    tx: &mut TenantTx,
    user_id: &str,
    session_id: &str,
    limit: i64,
) -> StorageResult<Vec<NormalizedEvent>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events \
         WHERE tenant_id = tokenwatch_current_tenant() AND user_id = $1 AND session_id = $2 \
         ORDER BY event_time DESC, record_id COLLATE \"C\" DESC LIMIT $3"
    )))
    .bind(user_id)
    .bind(session_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(event_of_row).collect()
}

fn event_of_row(row: &PgRow) -> StorageResult<NormalizedEvent> {
    let source_format: String = row.try_get("source_format")?;
    let session_id_source: Option<String> = row.try_get("session_id_source")?;
    let ip: Option<String> = row.try_get("ip")?;
    let asn: Option<i64> = row.try_get("asn")?;
    let browser_major: Option<i32> = row.try_get("browser_major")?;
    let client_kind: Option<String> = row.try_get("client_kind")?;
    Ok(NormalizedEvent {
        record_id: row.try_get("record_id")?,
        source_format: SourceFormat::from_name(&source_format)
            .unwrap_or(SourceFormat::ManagementActivity),
        event_time: row.try_get("event_time")?,
        tenant_hint: None,
        user_id: row.try_get("user_id")?,
        user_object_id: row.try_get("user_object_id")?,
        session_id: row.try_get("session_id")?,
        session_id_source: session_id_source
            .as_deref()
            .and_then(SessionIdSource::from_name),
        token_id: row.try_get("token_id")?,
        ip: ip.and_then(|ip| ip.parse().ok()),
        user_agent: row.try_get("user_agent")?,
        device_id: row.try_get("device_id")?,
        client: ClientInfo {
            browser: row.try_get("browser")?,
            browser_major: browser_major.and_then(|m| u32::try_from(m).ok()),
            os: row.try_get("os")?,
            kind: client_kind
                .as_deref()
                .map_or(ClientKind::Unknown, ClientKind::from_name),
        },
        operation: row.try_get("operation")?,
        workload: row.try_get("workload")?,
        result_status: row.try_get("result_status")?,
        app_id: row.try_get("app_id")?,
        interactive: row.try_get("interactive")?,
        network: Network {
            asn: asn.and_then(|a| u32::try_from(a).ok()),
            as_org: row.try_get("as_org")?,
            country: row.try_get("country")?,
            hosting: row.try_get("hosting")?,
        },
    })
}
