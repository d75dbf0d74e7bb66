//! One document through the pipeline: parse and normalize (on a blocking thread), check the
//! tenant, enrich, rate-limit, commit, announce.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokenwatch_cache::Cache;
use tokenwatch_cache::touched::{self, Touch};
use tokenwatch_core::enrich::IpDb;
use tokenwatch_core::event::{NormalizedEvent, SourceFormat};
use tokenwatch_core::parse::{
    Limits, RejectReason, Rejection, check_tenant, content_hash, parse_document,
};
use tokenwatch_ratelimit::KeyedBuckets;
use tokenwatch_storage::Database;
use tokenwatch_storage::ingest::{AcceptedRecord, RejectedRecord, Stored, month_of, store_batch};
use tokenwatch_types::TenantId;

use crate::IngestError;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Accepted,
    /// Stored before (the same record id).
    Duplicate,
    /// Rejected for this reason (with details), kept in quarantine unless it expired.
    Rejected(RejectReason, String),
}

/// One record's result.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// Its position in the document.
    pub index: usize,
    /// Its record id (empty when rejected).
    pub record_id: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// A record parsed off the runtime, owning its bytes.
struct OwnedRecord {
    index: usize,
    raw: Vec<u8>,
    outcome: Result<NormalizedEvent, Rejection>,
}

/// Shared by every call of the service.
pub(crate) struct Pipeline {
    database: Database,
    cache: Cache,
    ipdb: Option<Arc<IpDb>>,
    limits: Limits,
    /// Records per second per tenant; an upload of 10 s of rate passes at once.
    rate: KeyedBuckets<TenantId>,
    /// Months whose `events` partition is known to exist.
    partitions: Mutex<HashSet<DateTime<Utc>>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("enrichment", &self.ipdb.is_some())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub(crate) fn new(
        database: Database,
        cache: Cache,
        ipdb: Option<Arc<IpDb>>,
        rate: u32,
    ) -> Self {
        Pipeline {
            database,
            cache,
            ipdb,
            limits: Limits::default(),
            rate: KeyedBuckets::new(f64::from(rate), f64::from(rate) * 10.0),
            partitions: Mutex::new(HashSet::new()),
        }
    }

    /// The database, for the read RPCs.
    pub(crate) fn database(&self) -> &Database {
        &self.database
    }

    /// Ingests one document for `tenant`; every record gets an outcome, and the accepted ones
    /// are committed before this returns.
    pub(crate) async fn ingest(
        &self,
        tenant: TenantId,
        declared: Option<SourceFormat>,
        source_name: &str,
        content: Vec<u8>,
    ) -> Result<Vec<Ingested>, IngestError> {
        let started = Instant::now();
        let limits = self.limits;
        let ipdb = self.ipdb.clone();
        let expected_tenant = tenant.to_string();
        // Parsing a large document is CPU work: keep it off the async workers.
        let mut records = tokio::task::spawn_blocking(move || {
            parse_document(&content, declared, &limits)
                .into_iter()
                .map(|record| {
                    let outcome = record.outcome.and_then(|mut event| {
                        check_tenant(&event, &expected_tenant)?;
                        if let Some(ipdb) = &ipdb {
                            ipdb.enrich(&mut event);
                        }
                        Ok(event)
                    });
                    OwnedRecord {
                        index: record.index,
                        raw: record.raw.into_owned(),
                        outcome,
                    }
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(IngestError::ParserTask)?;
        if let Some(horizon) = tokenwatch_storage::retention::events_from(&self.database).await? {
            refuse_expired(&mut records, horizon);
        }

        let accepted_count = records.iter().filter(|r| r.outcome.is_ok()).count();
        if let Err(wait) = self
            .rate
            .take(&tenant, accepted_count as f64, Instant::now())
        {
            metrics::counter!("ingest_rate_limited_total", "tenant" => tenant.to_string())
                .increment(1);
            return Err(IngestError::OverRate {
                tenant,
                retry_in_seconds: wait.as_secs_f64().max(0.1),
            });
        }

        self.ensure_partitions(&records).await?;

        let format_name = declared.map_or("unknown", SourceFormat::as_str);
        let mut accepted = Vec::with_capacity(accepted_count);
        let mut rejected = Vec::new();
        for record in &records {
            match &record.outcome {
                Ok(event) => accepted.push(AcceptedRecord {
                    event,
                    raw: &record.raw,
                }),
                // Keeping an expired record in quarantine would keep what retention deletes.
                Err(rejection) if rejection.reason == RejectReason::Expired => {}
                Err(rejection) => rejected.push(RejectedRecord {
                    content_hash: content_hash(&record.raw),
                    source_format: format_name,
                    reason: rejection.reason.as_str(),
                    message: &rejection.message,
                    raw: &record.raw,
                }),
            }
        }
        let stored = store_batch(&self.database, tenant, source_name, &accepted, &rejected).await?;

        let new_events: Vec<&NormalizedEvent> = accepted
            .iter()
            .zip(&stored)
            .filter(|(_, stored)| **stored == Stored::New)
            .map(|(record, _)| record.event)
            .collect();
        if let Err(error) = touched::announce(&self.cache, tenant, &touches(&new_events)).await {
            // The events are committed; detection's periodic sweep of Postgres finds what an
            // announcement missed, so the call still succeeds.
            metrics::counter!("ingest_announce_failures_total").increment(1);
            tracing::error!(%error, events = new_events.len(), "cannot announce touched sessions");
        }

        let outcomes = outcomes(&records, &stored);
        record_metrics(tenant, &records, &outcomes, started.elapsed());
        Ok(outcomes)
    }

    /// Creates the month partitions the batch needs, once per month per process.
    async fn ensure_partitions(&self, records: &[OwnedRecord]) -> Result<(), IngestError> {
        let months: HashSet<DateTime<Utc>> = records
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .map(|event| month_of(event.event_time))
            .collect();
        let missing: Vec<DateTime<Utc>> = {
            let known = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
            months.into_iter().filter(|m| !known.contains(m)).collect()
        };
        for month in missing {
            tokenwatch_storage::ensure_event_partitions(&self.database, month, month).await?;
            self.partitions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(month);
        }
        Ok(())
    }
}

/// Refuses the events before the retention horizon: their month is gone, and storing them
/// would bring back what retention deleted.
fn refuse_expired(records: &mut [OwnedRecord], horizon: DateTime<Utc>) {
    for record in records {
        let expired = match &record.outcome {
            Ok(event) if event.event_time < horizon => Some(event.event_time),
            _ => None,
        };
        if let Some(time) = expired {
            record.outcome = Err(Rejection {
                reason: RejectReason::Expired,
                message: format!(
                    "event time {} is before the retention horizon {} (TOKENWATCH_RETENTION_DAYS)",
                    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    horizon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            });
        }
    }
}

/// Every (user, session) `events` touch, with the times they span. Events without a session
/// id announce the user alone (its baseline still changes).
fn touches(events: &[&NormalizedEvent]) -> Vec<Touch> {
    let mut touched: BTreeMap<(&str, &str), Touch> = BTreeMap::new();
    for event in events {
        let session = event.session_id.as_deref().unwrap_or("");
        let touch = touched
            .entry((event.user_id.as_str(), session))
            .or_insert_with(|| Touch {
                user: event.user_id.clone(),
                session: session.to_owned(),
                first: event.event_time,
                last: event.event_time,
                events: 0,
            });
        touch.first = touch.first.min(event.event_time);
        touch.last = touch.last.max(event.event_time);
        touch.events += 1;
    }
    touched.into_values().collect()
}

fn outcomes(records: &[OwnedRecord], stored: &[Stored]) -> Vec<Ingested> {
    let mut stored = stored.iter();
    records
        .iter()
        .map(|record| match &record.outcome {
            Ok(event) => Ingested {
                index: record.index,
                record_id: event.record_id.clone(),
                outcome: match stored.next() {
                    Some(Stored::New) => Outcome::Accepted,
                    _ => Outcome::Duplicate,
                },
            },
            Err(rejection) => Ingested {
                index: record.index,
                record_id: String::new(),
                outcome: Outcome::Rejected(rejection.reason, rejection.message.clone()),
            },
        })
        .collect()
}

fn record_metrics(
    tenant: TenantId,
    records: &[OwnedRecord],
    outcomes: &[Ingested],
    elapsed: Duration,
) {
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (record, outcome) in records.iter().zip(outcomes) {
        let format = record
            .outcome
            .as_ref()
            .map_or("unknown", |e| e.source_format.as_str());
        let label = match &outcome.outcome {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected(reason, _) => reason.as_str(),
        };
        *counts.entry((format, label)).or_default() += 1;
    }
    let tenant = tenant.to_string();
    for ((format, outcome), count) in counts {
        metrics::counter!(
            "ingest_records_total",
            "tenant" => tenant.clone(),
            "format" => format,
            "outcome" => outcome
        )
        .increment(count);
    }
    metrics::histogram!("ingest_document_seconds").record(elapsed.as_secs_f64());
}
