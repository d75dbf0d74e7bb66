//! A pipeline worker: finds tenants with work, takes a lease on each, and runs its steps.
//!
//! Work is announced on each tenant's "session touched" stream (written by ingest after
//! commit), read through one consumer group shared by every worker of every process. A lease
//! per tenant (`SET NX PX` on a `{tenant}` key) makes one worker at a time step a tenant, since a
//! tenant's events must go through the engine in order; the lease holder claims the entries a
//! crashed worker left pending (XAUTOCLAIM) and acknowledges entries only after the step has
//! committed, so a crash loses nothing and a replay duplicates nothing (findings are upserts).
//! A periodic sweep also steps every tenant, so records whose announcement was lost are found.
//!
//! A lease is held for one step, not between steps: a worker that falls behind must not keep
//! tenants from an idle one. Each worker visits the tenants it holds in memory first, so a
//! tenant usually stays where its state already is, and moves when its worker is busy.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use redis::streams::StreamId;
use tokenwatch_cache::{Cache, touched};
use tokenwatch_error::CauseChain;
use tokenwatch_storage::Database;
use tokenwatch_types::TenantId;

use crate::step::{Stores, TenantMemory, Trigger, run_step, write_final_generation};
use crate::{PipelineError, consumer, lease};

/// The longest pause before an idle tenant's stream is read again.
const IDLE_BACKOFF: Duration = Duration::from_millis(200);

/// A step at least this long is logged even when it changed no finding: every other tenant
/// of this worker waited for it.
const SLOW_STEP: Duration = Duration::from_millis(500);

/// How often an announced but unknown tenant makes the worker re-read the registry.
const REGISTRY_REFRESH: Duration = Duration::from_secs(1);

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// A tenant's lease lasts this long unless renewed (between pages of a step).
    pub lease: Duration,
    /// Sleep when no tenant has work.
    pub poll: Duration,
    /// Every tenant is stepped at least this often, announced or not.
    pub sweep_interval: Duration,
    /// Tenants kept in a worker's memory between steps.
    pub tenants_in_memory: usize,
    /// Stream entries read per tenant per step.
    pub entries_per_step: usize,
    /// Events read from Postgres per page of a step.
    pub page_events: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            lease: Duration::from_secs(15),
            poll: Duration::from_millis(20),
            sweep_interval: Duration::from_secs(60),
            tenants_in_memory: 64,
            entries_per_step: 10_000,
            page_events: crate::step::PAGE_EVENTS,
        }
    }
}

/// One worker.
#[derive(Debug)]
pub struct Worker {
    id: String,
    stores: Stores,
    config: PipelineConfig,
    memory: HashMap<TenantId, (TenantMemory, Instant)>,
    groups: HashSet<TenantId>,
    leased: HashSet<TenantId>,
    last_sweep: HashMap<TenantId, Instant>,
    /// Tenants found idle are looked at again after a growing pause (up to [`IDLE_BACKOFF`]),
    /// so hundreds of quiet tenants do not cost Redis round trips every poll.
    idle: HashMap<TenantId, (Instant, Duration)>,
    registry_listed: Option<Instant>,
    /// Registered tenants and their registration times.
    registry: HashMap<TenantId, i64>,
}

impl Worker {
    /// A worker with a unique consumer name.
    pub fn new(database: Database, cache: Cache, config: PipelineConfig) -> Self {
        let id = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned()),
            std::process::id(),
            rand::random::<u32>()
        );
        Worker {
            id,
            stores: Stores {
                database,
                cache,
                page_events: config.page_events,
            },
            config,
            memory: HashMap::new(),
            groups: HashSet::new(),
            leased: HashSet::new(),
            last_sweep: HashMap::new(),
            idle: HashMap::new(),
            registry_listed: None,
            registry: HashMap::new(),
        }
    }

    /// Its consumer name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` completes; then writes a generation for every tenant in memory
    /// and gives its leases back.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send) {
        tracing::info!(worker = %self.id, "pipeline worker started");
        tokio::pin!(shutdown);
        loop {
            let worked = tokio::select! {
                () = &mut shutdown => break,
                worked = self.round() => worked,
            };
            match worked {
                Ok(true) => {}
                Ok(false) => tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.config.poll) => {}
                },
                Err(error) => {
                    tracing::warn!(worker = %self.id, error = %CauseChain(&error), "pipeline round failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        self.stop().await;
    }

    async fn stop(&mut self) {
        // A step cut short by the shutdown still holds its lease; its memory is not put back.
        for tenant in std::mem::take(&mut self.leased) {
            let _ = self.release(tenant).await;
        }
        for (tenant, (mut memory, _)) in std::mem::take(&mut self.memory) {
            match self.acquire(tenant).await {
                Ok(true) => {
                    if let Err(error) =
                        write_final_generation(&self.stores, tenant, &mut memory).await
                    {
                        tracing::warn!(%tenant, %error, "could not write a generation at shutdown");
                    }
                    let _ = self.release(tenant).await;
                }
                // Another worker is stepping it: its state is that worker's to keep.
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%tenant, %error, "could not write a generation at shutdown");
                }
            }
        }
        tracing::info!(worker = %self.id, "pipeline worker stopped");
    }

    /// One pass over the tenants with work; true when any step processed something.
    pub async fn round(&mut self) -> Result<bool, PipelineError> {
        let mut worked = false;
        for tenant in self.candidates().await? {
            let sweep_due = self
                .last_sweep
                .get(&tenant)
                .is_none_or(|last| last.elapsed() >= self.config.sweep_interval);
            if !sweep_due
                && self
                    .idle
                    .get(&tenant)
                    .is_some_and(|(until, _)| Instant::now() < *until)
            {
                continue;
            }
            if !self.acquire(tenant).await? {
                continue;
            }
            let entries = self.entries(tenant).await?;
            let sweep = sweep_due;
            if entries.is_empty() && !sweep {
                let pause = self
                    .idle
                    .get(&tenant)
                    .map_or(self.config.poll, |(_, pause)| {
                        (*pause * 2).min(IDLE_BACKOFF)
                    });
                self.idle.insert(tenant, (Instant::now() + pause, pause));
                self.release(tenant).await?;
                continue;
            }
            self.idle.remove(&tenant);
            let earliest = entries.iter().filter_map(touched::first_of).min();
            let epoch = self.registry.get(&tenant).copied().unwrap_or_default();
            let mut memory = self.memory.remove(&tenant).map(|(memory, _)| memory);
            let lease_key = lease::key(tenant);
            let cache = self.stores.cache.clone();
            let id = self.id.clone();
            let lease = self.config.lease;
            let renew = || lease::renew(cache.clone(), lease_key.clone(), id.clone(), lease);
            let stepping = Instant::now();
            let result = run_step(
                &self.stores,
                tenant,
                &mut memory,
                Trigger {
                    epoch,
                    earliest,
                    sweep,
                },
                renew,
            )
            .await;
            match result {
                Ok(report) => {
                    self.acknowledge(tenant, &entries).await?;
                    if sweep {
                        self.last_sweep.insert(tenant, Instant::now());
                    }
                    if report.events > 0 || !entries.is_empty() {
                        worked = true;
                    }
                    let took = stepping.elapsed();
                    if report.created + report.escalated + report.retracted > 0
                        || report.rolled_back
                        || report.restored
                        || took >= SLOW_STEP
                    {
                        tracing::info!(
                            worker = %self.id, %tenant, events = report.events,
                            ms = took.as_millis() as u64,
                            created = report.created,
                            escalated = report.escalated, retracted = report.retracted,
                            rolled_back = report.rolled_back, restored = report.restored,
                            "pipeline step"
                        );
                    }
                    if let Some(memory) = memory {
                        self.remember(tenant, memory);
                    }
                    self.release(tenant).await?;
                }
                Err(error) => {
                    // Nothing acknowledged: the entries stay pending and are read again.
                    tracing::warn!(%tenant, error = %CauseChain(&error), "pipeline step failed");
                    self.release(tenant).await?;
                }
            }
        }
        Ok(worked)
    }

    fn remember(&mut self, tenant: TenantId, memory: TenantMemory) {
        self.memory.insert(tenant, (memory, Instant::now()));
        if self.memory.len() > self.config.tenants_in_memory
            && let Some(oldest) = self
                .memory
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(tenant, _)| *tenant)
        {
            self.memory.remove(&oldest);
        }
    }

    /// Registered tenants that announced work, plus (every sweep interval) every registered
    /// tenant. A tenant this database does not know is never stepped, whatever Redis says.
    async fn candidates(&mut self) -> Result<Vec<TenantId>, PipelineError> {
        let mut connection = self.stores.cache.connection();
        let announced: Vec<String> = redis::cmd("SMEMBERS")
            .arg(touched::TENANTS_KEY)
            .query_async(&mut connection)
            .await?;
        let announced: Vec<TenantId> = announced
            .iter()
            .filter_map(|t| TenantId::parse(t).ok())
            .collect();
        let since_listing = self.registry_listed.map(|listed| listed.elapsed());
        let unknown = announced.iter().any(|t| !self.registry.contains_key(t));
        let sweep_due = since_listing.is_none_or(|d| d >= self.config.sweep_interval);
        if sweep_due || (unknown && since_listing.is_none_or(|d| d >= REGISTRY_REFRESH)) {
            self.registry = registered_tenants(&self.stores.database).await?;
            self.registry_listed = Some(Instant::now());
        }
        let announced: HashSet<TenantId> = announced.into_iter().collect();
        let mut tenants: Vec<TenantId> = self.registry.keys().copied().collect();
        // Those in this worker's memory first: stepped here, they need no loading.
        tenants.sort_by_key(|tenant| (!self.memory.contains_key(tenant), *tenant));
        Ok(tenants
            .into_iter()
            .filter(|tenant| {
                announced.contains(tenant)
                    || self
                        .last_sweep
                        .get(tenant)
                        .is_none_or(|last| last.elapsed() >= self.config.sweep_interval)
            })
            .collect())
    }

    async fn acquire(&mut self, tenant: TenantId) -> Result<bool, PipelineError> {
        let acquired = lease::take(&self.stores.cache, tenant, &self.id, self.config.lease).await?;
        if acquired {
            self.leased.insert(tenant);
        } else {
            self.leased.remove(&tenant);
        }
        Ok(acquired)
    }

    async fn release(&mut self, tenant: TenantId) -> Result<(), PipelineError> {
        self.leased.remove(&tenant);
        lease::give_back(&self.stores.cache, tenant, &self.id).await
    }

    /// The tenant's entries for this step: those pending on any consumer (a crashed worker's,
    /// or this one's from a failed step), then new ones.
    async fn entries(&mut self, tenant: TenantId) -> Result<Vec<StreamId>, PipelineError> {
        let cache = &self.stores.cache;
        if !self.groups.contains(&tenant) {
            consumer::ensure_group(cache, tenant).await?;
            self.groups.insert(tenant);
        }
        match consumer::entries(cache, tenant, &self.id, self.config.entries_per_step).await? {
            Some(entries) => Ok(entries),
            // The stream (and its group) went away, with a flushed Redis: made again next round.
            None => {
                self.groups.remove(&tenant);
                Ok(Vec::new())
            }
        }
    }

    async fn acknowledge(
        &mut self,
        tenant: TenantId,
        entries: &[StreamId],
    ) -> Result<(), PipelineError> {
        consumer::acknowledge(&self.stores.cache, tenant, entries).await
    }
}

async fn registered_tenants(database: &Database) -> Result<HashMap<TenantId, i64>, PipelineError> {
    let mut tenants = HashMap::new();
    let mut token = String::new();
    loop {
        let page = tokenwatch_storage::list_tenants(database, None, 1_000, &token).await?;
        tenants.extend(
            page.tenants
                .iter()
                .map(|t| (t.tenant_id, t.create_time.timestamp_micros())),
        );
        match page.next_page_token {
            Some(next) => token = next,
            None => break,
        }
    }
    Ok(tenants)
}
