//! The connectors: each onboarded tenant's audit (Office 365 Management Activity API) and
//! sign-in logs (Graph `/auditLogs/signIns`) pulled continuously into ingest.
//!
//! A scheduler per process looks for tenants that are due (sources switched on, next pull time
//! passed, no lease), takes a tenant's lease in Postgres and pulls it, a bounded number of
//! tenants at once. A round pulls each source from its checkpoint in windows; every blob or page
//! is ingested (committed) before the checkpoint moves, in a transaction fenced on the lease.
//! A restart therefore repeats at most the window in flight, which ingest's dedupe absorbs, and
//! activity blobs already ingested are never fetched again. Failing tenants back off
//! exponentially with jitter and are marked unhealthy; throttled ones wait at least what
//! Microsoft's `Retry-After` said. Neither holds a slot while it waits.
//!
//! # Layout
//!
//! - `plan`: windows, start points, backoff — pure;
//! - `limit`: request rates per tenant and for the whole MSP;
//! - `pull`: one tenant's round.

mod limit;
pub mod plan;
mod pull;

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokenwatch_cache::Cache;
use tokenwatch_graph::GraphClient;
use tokenwatch_ingestor::{Ingestor, Tally};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::Database;
use tokenwatch_storage::connectors::{self as state, RoundEnd};
use tokenwatch_types::TenantId;
use tokio::task::JoinSet;

/// How the connectors run.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Tenants this process pulls at once (0: no connectors here).
    pub concurrency: usize,
    /// A healthy tenant is pulled again this long after its last round.
    pub interval: Duration,
    /// How often the scheduler looks for due tenants.
    pub poll: Duration,
    /// A tenant's lease; renewed while its round runs.
    pub lease: Duration,
    /// A round's time; a tenant with more to pull goes back in the queue after it.
    pub round_budget: Duration,
    /// Pulls start this long before their checkpoint, for records that arrive late.
    pub overlap: chrono::Duration,
    /// How far back a tenant's first pull of the activity feed goes (the API keeps 7 days).
    pub backfill: chrono::Duration,
    /// How far back a tenant's first pull of the sign-in logs goes (Entra keeps 30 days with
    /// P1): the history that lets baselines finish learning before the first finding.
    pub signin_backfill: chrono::Duration,
    /// Requests per second to Microsoft per tenant (0: no limit).
    pub tenant_rate: f64,
    /// Requests per second to Microsoft for all tenants and replicas (0: no limit).
    pub global_rate: u64,
    /// A failing tenant's first wait; doubled per failure up to `retry_max`.
    pub retry_base: Duration,
    /// A failing tenant's longest wait.
    pub retry_max: Duration,
    /// Failed rounds in a row after which a tenant is unhealthy.
    pub unhealthy_after: i32,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        ConnectorConfig {
            concurrency: 8,
            interval: Duration::from_secs(300),
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            round_budget: Duration::from_secs(120),
            overlap: chrono::Duration::minutes(10),
            backfill: chrono::Duration::days(7),
            signin_backfill: chrono::Duration::days(30),
            tenant_rate: 5.0,
            global_rate: 30,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(1800),
            unhealthy_after: 3,
        }
    }
}

/// What every round shares.
#[derive(Debug)]
pub(crate) struct Shared {
    database: Database,
    ingestor: Ingestor,
    client: Arc<GraphClient>,
    sealer: Option<Arc<Sealer>>,
    limits: limit::Limits,
    config: ConnectorConfig,
    /// This process's name on leases.
    holder: String,
    /// Tenants whose activity subscriptions this process has started.
    subscribed: Mutex<HashSet<TenantId>>,
}

impl Shared {
    fn subscribed(&self, tenant: TenantId) -> bool {
        self.subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&tenant)
    }

    fn set_subscribed(&self, tenant: TenantId, subscribed: bool) {
        let mut set = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
        if subscribed {
            set.insert(tenant);
        } else {
            set.remove(&tenant);
        }
    }

    fn note_records(&self, tenant: TenantId, source: &str, tally: Tally) {
        let outcomes = [
            ("new", tally.accepted),
            ("duplicate", tally.duplicate),
            ("rejected", tally.rejected),
        ];
        for (outcome, count) in outcomes {
            metrics::counter!(
                "connector_records_total",
                "tenant" => tenant.to_string(),
                "source" => source.to_owned(),
                "outcome" => outcome
            )
            .increment(count);
        }
    }

    fn note_checkpoint(&self, tenant: TenantId, source: &str, checkpoint: DateTime<Utc>) {
        let labels = [
            ("tenant", tenant.to_string()),
            ("source", source.to_owned()),
        ];
        let now = Utc::now();
        metrics::gauge!("connector_lag_seconds", &labels)
            .set((now - checkpoint).num_milliseconds() as f64 / 1000.0);
        metrics::gauge!("connector_last_success_timestamp_seconds", &labels)
            .set(now.timestamp() as f64);
    }

    /// One round of `tenant`, whose lease this process holds, then the lease released with
    /// when the tenant is next due.
    async fn round(self: Arc<Self>, tenant: TenantId) -> TenantId {
        let failures = self.failures(tenant).await;
        let report = {
            let round = pull::Round::new(&self, tenant);
            tokio::select! {
                report = round.run() => report,
                () = self.keep_lease(tenant) => pull::Report {
                    failure: Some(pull::Failure::LeaseLost),
                    ..pull::Report::default()
                },
            }
        };
        let Some(end) = self.round_end(failures, &report) else {
            tracing::warn!(%tenant, "connector lease lost mid-round; another replica has the tenant");
            return tenant;
        };
        metrics::gauge!("connector_tenant_healthy", "tenant" => tenant.to_string())
            .set(if end.healthy { 1.0 } else { 0.0 });
        match state::release(&self.database, tenant, &self.holder, &end).await {
            Ok(true) => {
                tracing::debug!(%tenant, next = %end.next_pull_time, healthy = end.healthy, "connector round done")
            }
            Ok(false) => tracing::warn!(%tenant, "connector lease lapsed before the round ended"),
            Err(error) => tracing::warn!(%tenant, %error, "cannot release the connector lease"),
        }
        tenant
    }

    /// When the tenant is next due and whether it is healthy, after `report`; `None` when the
    /// lease was lost (nothing to write).
    fn round_end(&self, failures: i32, report: &pull::Report) -> Option<RoundEnd> {
        let now = Utc::now();
        let backoff = |failures: i32| {
            plan::backoff(
                u32::try_from(failures).unwrap_or(0),
                self.config.retry_base,
                self.config.retry_max,
                rand::random::<f64>(),
            )
        };
        let later = |wait: Duration| now + chrono::Duration::from_std(wait).unwrap_or_default();
        let error = |message: &str| Some(message.to_owned());
        Some(match &report.failure {
            Some(pull::Failure::LeaseLost) => return None,
            Some(pull::Failure::Tenant(message)) => RoundEnd {
                next_pull_time: later(backoff(failures + 1)),
                failures: failures + 1,
                healthy: false,
                last_error: error(message),
            },
            Some(pull::Failure::Throttled(retry_after, message)) => RoundEnd {
                // Microsoft said how long; our backoff spreads tenants throttled together.
                next_pull_time: later(
                    retry_after
                        .unwrap_or_default()
                        .max(backoff(1))
                        .min(self.config.retry_max),
                ),
                failures,
                healthy: true,
                last_error: error(message),
            },
            Some(pull::Failure::Internal(message)) => RoundEnd {
                next_pull_time: later(backoff(failures + 1)),
                failures: failures + 1,
                healthy: failures + 1 < self.config.unhealthy_after,
                last_error: error(message),
            },
            Some(pull::Failure::Source(message)) if report.succeeded == 0 => RoundEnd {
                next_pull_time: later(backoff(failures + 1)),
                failures: failures + 1,
                healthy: failures + 1 < self.config.unhealthy_after,
                last_error: error(message),
            },
            // Some sources work: the tenant is healthy; the failing ones say why in status.
            _ => RoundEnd {
                next_pull_time: if report.more {
                    now
                } else {
                    later(self.config.interval)
                },
                failures: 0,
                healthy: true,
                last_error: None,
            },
        })
    }

    async fn failures(&self, tenant: TenantId) -> i32 {
        let read = async {
            let mut tx = self.database.tenant_tx(tenant).await?;
            let failures = state::failures(&mut tx).await?;
            tx.commit()
                .await
                .map_err(tokenwatch_storage::StorageError::from)?;
            Ok::<_, tokenwatch_storage::StorageError>(failures)
        };
        read.await.unwrap_or(0)
    }

    /// Renews the lease every third of its length; returns when it is lost.
    async fn keep_lease(&self, tenant: TenantId) {
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            match state::fenced(&self.database, tenant, &self.holder, self.config.lease).await {
                Ok(Some(tx)) => {
                    if tx.commit().await.is_err() {
                        tracing::warn!(%tenant, "cannot renew the connector lease");
                    }
                }
                Ok(None) => return,
                // The database is away: the round's own writes will fail too.
                Err(error) => tracing::warn!(%tenant, %error, "cannot renew the connector lease"),
            }
        }
    }
}

/// The connectors of one process.
#[derive(Debug)]
pub struct Connectors {
    shared: Arc<Shared>,
}

impl Connectors {
    /// Connectors over the stores, feeding `ingestor`, calling Microsoft through `client`,
    /// opening credentials with `sealer`.
    pub fn new(
        database: Database,
        cache: Cache,
        ingestor: Ingestor,
        client: Arc<GraphClient>,
        sealer: Option<Arc<Sealer>>,
        config: ConnectorConfig,
    ) -> Self {
        let limits = limit::Limits::new(cache, config.tenant_rate, config.global_rate);
        Connectors {
            shared: Arc::new(Shared {
                database,
                ingestor,
                client,
                sealer,
                limits,
                holder: format!("connector-{}", uuid::Uuid::new_v4()),
                config,
                subscribed: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Pulls due tenants until `stop` completes; then abandons the rounds in flight (their
    /// progress so far is committed) and frees their leases for another replica.
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        let shared = self.shared;
        let concurrency = shared.config.concurrency.max(1);
        let mut running: JoinSet<TenantId> = JoinSet::new();
        let mut active: HashSet<TenantId> = HashSet::new();
        let mut last_prune = std::time::Instant::now();
        tracing::info!(holder = %shared.holder, concurrency, "connectors started");
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(tenant) = done {
                        active.remove(&tenant);
                    }
                    continue;
                }
                () = tokio::time::sleep(shared.config.poll) => {}
            }
            // A round that panicked leaves its tenant in `active`: forget what is not running.
            if running.is_empty() {
                active.clear();
            }
            let free = concurrency.saturating_sub(running.len());
            if free == 0 {
                continue;
            }
            let skip: Vec<TenantId> = active.iter().copied().collect();
            let due = match state::due_tenants(&shared.database, free, &skip).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "cannot list the tenants due for a pull");
                    continue;
                }
            };
            for tenant in due {
                match state::acquire(
                    &shared.database,
                    tenant,
                    &shared.holder,
                    shared.config.lease,
                )
                .await
                {
                    Ok(true) => {
                        active.insert(tenant);
                        running.spawn(Arc::clone(&shared).round(tenant));
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%tenant, %error, "cannot take a connector lease"),
                }
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = std::time::Instant::now();
                prune(&shared.database).await;
            }
        }
        running.shutdown().await;
        for tenant in active {
            let _ = state::abandon(&shared.database, tenant, &shared.holder).await;
        }
        tracing::info!(holder = %shared.holder, "connectors stopped");
    }
}

/// Forgets activity blobs older than the API keeps.
async fn prune(database: &Database) {
    let before = Utc::now() - tokenwatch_graph::RETENTION - chrono::Duration::days(1);
    if let Err(error) = state::prune_contents(database, before).await {
        tracing::warn!(%error, "cannot prune the ingested content list");
    }
}
