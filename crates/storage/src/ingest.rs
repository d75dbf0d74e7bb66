//! Writing what ingest accepted: raw records and their events in one transaction, deduplicated
//! on (tenant, event time, record id) (a record sent again carries the same time); rejected
//! records into quarantine, deduplicated on their content.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_types::TenantId;

use crate::{Database, StorageResult};

/// A record normalized into an event, with its raw bytes.
#[derive(Debug)]
pub struct AcceptedRecord<'a> {
    /// The event.
    pub event: &'a NormalizedEvent,
    /// The record as received.
    pub raw: &'a [u8],
}

/// A record that was rejected, for quarantine.
#[derive(Debug)]
pub struct RejectedRecord<'a> {
    /// `sha256:<hex>` of `raw`, the quarantine dedupe key.
    pub content_hash: String,
    /// The format it was sent as, or `unknown`.
    pub source_format: &'a str,
    /// The reason code (`MALFORMED_JSON`...).
    pub reason: &'a str,
    /// What exactly is wrong.
    pub message: &'a str,
    /// The record as received.
    pub raw: &'a [u8],
}

/// What became of each accepted record: stored now, or stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New: its raw record and event are committed.
    New,
    /// Its (tenant, event time, record id) was already stored, or came earlier in the batch;
    /// nothing changed.
    Duplicate,
}

/// Commits a batch in one tenant transaction: raw records and events for the new records,
/// quarantine rows for the rejected ones. Returns, for each accepted record in order, whether it
/// was new. Nothing is visible, and nothing is acknowledged, before the commit.
pub async fn store_batch(
    database: &Database,
    tenant: TenantId,
    source_name: &str,
    accepted: &[AcceptedRecord<'_>],
    rejected: &[RejectedRecord<'_>],
) -> StorageResult<Vec<Stored>> {
    // A record seen twice in one batch is stored once; the later copies are duplicates.
    let mut first_seen = HashSet::with_capacity(accepted.len());
    let firsts: Vec<bool> = accepted
        .iter()
        .map(|r| first_seen.insert(record_key(r)))
        .collect();
    let unique: Vec<&AcceptedRecord<'_>> = accepted
        .iter()
        .zip(&firsts)
        .filter_map(|(record, first)| first.then_some(record))
        .collect();

    let mut tx = database.tenant_tx(tenant).await?;
    let inserted: Vec<(String, DateTime<Utc>)> = if unique.is_empty() {
        Vec::new()
    } else {
        insert_records(&mut tx, tenant, source_name, &unique).await?
    };
    if !rejected.is_empty() {
        quarantine(&mut tx, tenant, source_name, rejected).await?;
    }
    tx.commit().await?;

    let inserted: HashSet<(&str, DateTime<Utc>)> = inserted
        .iter()
        .map(|(id, time)| (id.as_str(), *time))
        .collect();
    Ok(accepted
        .iter()
        .zip(firsts)
        .map(|(record, first)| {
            if first && inserted.contains(&record_key(record)) {
                Stored::New
            } else {
                Stored::Duplicate
            }
        })
        .collect())
}

/// What ingest deduplicates on within a tenant: the key of `raw_records` and `events`.
fn record_key<'a>(record: &AcceptedRecord<'a>) -> (&'a str, DateTime<Utc>) {
    (record.event.record_id.as_str(), record.event.event_time)
}

/// Columns of `events`, one vector each, for one `unnest`.
#[derive(Default)]
struct EventColumns {
    event_time: Vec<DateTime<Utc>>,
    record_id: Vec<String>,
    source_format: Vec<&'static str>,
    user_id: Vec<String>,
    user_object_id: Vec<Option<String>>,
    session_id: Vec<Option<String>>,
    session_id_source: Vec<Option<&'static str>>,
    token_id: Vec<Option<String>>,
    interactive: Vec<Option<bool>>,
    ip_address: Vec<Option<String>>,
    asn: Vec<Option<i64>>,
    as_org: Vec<Option<String>>,
    country: Vec<Option<String>>,
    hosting: Vec<bool>,
    user_agent: Vec<Option<String>>,
    client_kind: Vec<String>,
    browser: Vec<Option<String>>,
    browser_major: Vec<Option<i32>>,
    os: Vec<Option<String>>,
    device_id: Vec<Option<String>>,
    operation: Vec<String>,
    workload: Vec<Option<String>>,
    result_status: Vec<Option<String>>,
    app_id: Vec<Option<String>>,
}

impl EventColumns {
    fn push(&mut self, e: &NormalizedEvent) {
        self.event_time.push(e.event_time);
        self.record_id.push(e.record_id.clone());
        self.source_format.push(e.source_format.as_str());
        self.user_id.push(e.user_id.clone());
        self.user_object_id.push(e.user_object_id.clone());
        self.session_id.push(e.session_id.clone());
        self.session_id_source
            .push(e.session_id_source.map(|s| s.as_str()));
        self.token_id.push(e.token_id.clone());
        self.interactive.push(e.interactive);
        self.ip_address.push(e.ip.map(|ip| ip.to_string()));
        self.asn.push(e.network.asn.map(i64::from));
        self.as_org.push(e.network.as_org.clone());
        self.country.push(e.network.country.clone());
        self.hosting.push(e.network.hosting);
        self.user_agent.push(e.user_agent.clone());
        self.client_kind.push(e.client.kind.as_str().to_owned());
        self.browser.push(e.client.browser.clone());
        self.browser_major
            .push(e.client.browser_major.and_then(|m| i32::try_from(m).ok()));
        self.os.push(e.client.os.clone());
        self.device_id.push(e.device_id.clone());
        self.operation.push(e.operation.clone());
        self.workload.push(e.workload.clone());
        self.result_status.push(e.result_status.clone());
        self.app_id.push(e.app_id.clone());
    }
}

async fn insert_records(
    tx: &mut crate::TenantTx,
    tenant: TenantId,
    source_name: &str,
    records: &[&AcceptedRecord<'_>],
) -> StorageResult<Vec<(String, DateTime<Utc>)>> {
    let mut columns = EventColumns::default();
    let mut contents: Vec<&[u8]> = Vec::with_capacity(records.len());
    for record in records {
        columns.push(record.event);
        contents.push(record.raw);
    }
    // One statement: the raw records that were new, then their events. A record already stored
    // returns nothing from the first insert, so its event is not written again.
    let inserted = sqlx::query_as(include_str!("../queries/insert_records.sql"))
        .bind(tenant.as_uuid())
        .bind(source_name)
        .bind(&columns.record_id)
        .bind(&columns.source_format)
        .bind(&contents)
        .bind(&columns.event_time)
        .bind(&columns.user_id)
        .bind(&columns.user_object_id)
        .bind(&columns.session_id)
        .bind(&columns.session_id_source)
        .bind(&columns.token_id)
        .bind(&columns.interactive)
        .bind(&columns.ip_address)
        .bind(&columns.asn)
        .bind(&columns.as_org)
        .bind(&columns.country)
        .bind(&columns.hosting)
        .bind(&columns.user_agent)
        .bind(&columns.client_kind)
        .bind(&columns.browser)
        .bind(&columns.browser_major)
        .bind(&columns.os)
        .bind(&columns.device_id)
        .bind(&columns.operation)
        .bind(&columns.workload)
        .bind(&columns.result_status)
        .bind(&columns.app_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(inserted)
}

async fn quarantine(
    tx: &mut crate::TenantTx,
    tenant: TenantId,
    source_name: &str,
    rejected: &[RejectedRecord<'_>],
) -> StorageResult<()> {
    let hashes: Vec<&str> = rejected.iter().map(|r| r.content_hash.as_str()).collect();
    let formats: Vec<&str> = rejected.iter().map(|r| r.source_format).collect();
    let reasons: Vec<&str> = rejected.iter().map(|r| r.reason).collect();
    let messages: Vec<&str> = rejected.iter().map(|r| r.message).collect();
    let contents: Vec<&[u8]> = rejected.iter().map(|r| r.raw).collect();
    sqlx::query(
        "INSERT INTO quarantine (tenant_id, quarantine_id, content_hash, source_format, \
                                 source_name, reason, message, content) \
         SELECT $1, gen_random_uuid(), q.hash, q.format, $2, q.reason, q.message, q.content \
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[]) \
              AS q(hash, format, reason, message, content) \
         ON CONFLICT (tenant_id, content_hash) DO NOTHING",
    )
    .bind(tenant.as_uuid())
    .bind(source_name)
    .bind(&hashes)
    .bind(&formats)
    .bind(&reasons)
    .bind(&messages)
    .bind(&contents)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The first instant of the month holding `time`.
pub fn month_of(time: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(time.year(), time.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(time)
}

/// A quarantined record, as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuarantinedRow {
    /// Its id.
    pub quarantine_id: uuid::Uuid,
    /// The format it was sent as.
    pub source_format: String,
    /// Where it came from.
    pub source_name: String,
    /// The reason code.
    pub reason: String,
    /// Details.
    pub message: String,
    /// The bytes as received.
    pub content: Vec<u8>,
    /// When it arrived.
    pub receive_time: DateTime<Utc>,
}

/// Quarantined records of a tenant, newest first, `limit` at most, after the page token (the
/// last row's `receive_time` and id).
pub async fn list_quarantine(
    database: &Database,
    tenant: TenantId,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: usize,
) -> StorageResult<Vec<QuarantinedRow>> {
    let mut tx = database.tenant_tx(tenant).await?;
    let rows = sqlx::query_as(
        "SELECT quarantine_id, source_format, source_name, reason, message, content, receive_time \
         FROM quarantine \
         WHERE $1::timestamptz IS NULL OR (receive_time, quarantine_id) < ($1, $2) \
         ORDER BY receive_time DESC, quarantine_id DESC LIMIT $3",
    )
    .bind(after.map(|(time, _)| time))
    .bind(after.map(|(_, id)| id))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Counts for `GetIngestStats`.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct IngestCounts {
    /// Normalized events.
    pub events: i64,
    /// Raw records.
    pub raw_records: i64,
    /// Quarantined records.
    pub rejected: i64,
    /// The latest event time.
    pub newest_event_time: Option<DateTime<Utc>>,
    /// The latest arrival.
    pub last_receive_time: Option<DateTime<Utc>>,
}

/// Counts what a tenant has ingested.
pub async fn ingest_counts(database: &Database, tenant: TenantId) -> StorageResult<IngestCounts> {
    let mut tx = database.tenant_tx(tenant).await?;
    let counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events) AS events, \
                (SELECT count(*) FROM raw_records) AS raw_records, \
                (SELECT count(*) FROM quarantine) AS rejected, \
                (SELECT max(event_time) FROM events) AS newest_event_time, \
                (SELECT max(receive_time) FROM raw_records) AS last_receive_time",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(counts)
}
