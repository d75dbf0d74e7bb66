//! One step of one tenant: bring its engine state up to the newest stored event.
//!
//! Events are read back from Postgres in (event time, record id) order after the tenant's
//! checkpoint and fed to the same [`TenantEngine`] the offline scan uses, so online and offline
//! agree by construction. Late records (event time at or before the checkpoint) are noticed by
//! counting: if Postgres holds more events in the late range than the engine has processed,
//! the tenant rolls back to the newest generation before them and replays.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use tokenwatch_cache::Cache;
use tokenwatch_core::detect::{Finding, TenantEngine, TenantShared, UserState, WeightSet};
use tokenwatch_core::detect::{Suppression, Suppressions};
use tokenwatch_storage::engine_state::{self, Generation};
use tokenwatch_storage::events::{
    EventKey, count_events_between, event_tally, events_after, tally_and_events_after,
};
use tokenwatch_storage::findings::{FindingWrite, Upserted, retract_findings, upsert_finding};
use tokenwatch_storage::{Database, suppressions, weights};
use tokenwatch_types::{FindingId, TenantId};

use crate::PipelineError;
use crate::hot;
use crate::state::{Checkpoint, Head, HeadMeta, HeadRef, decode, decode_user, encode};

/// Events read from Postgres per page, unless configured.
pub(crate) const PAGE_EVENTS: usize = 5_000;
/// A generation is written once the checkpoint has moved this far in event time...
const GENERATION_EVENT_SPACING_HOURS: i64 = 1;
/// ...or this long after the last one in wall time, if anything changed.
const GENERATION_WALL_SPACING: std::time::Duration = std::time::Duration::from_secs(300);
/// ...but never sooner than this after the last one in wall time. A generation bounds what a
/// rollback replays, and that costs what processing since the generation cost: wall time. A
/// tenant catching up (a backfill, a pipeline that fell behind) covers days of event time a
/// minute, and a generation per event hour would write most of its users at every step.
const GENERATION_MIN_WALL_SPACING: std::time::Duration = std::time::Duration::from_secs(30);
/// Generations are kept this far back in event time (the Management Activity API's window):
/// a late record older than that replays the tenant from the start.
const GENERATION_HORIZON_DAYS: i64 = 7;

/// A tenant's state in a worker's memory, valid while Redis still holds `version`.
#[derive(Debug)]
pub(crate) struct TenantMemory {
    version: u64,
    meta: HeadMeta,
    engine: TenantEngine,
    /// Users whose state is in `engine` (loaded or new).
    loaded: HashSet<String>,
    /// Every user is in `engine` (restored from a generation).
    complete: bool,
    /// Users to write back to Redis.
    unsaved: HashSet<String>,
}

impl TenantMemory {
    /// Users the tenant has seen.
    pub(crate) fn users(&self) -> usize {
        self.engine.shared().profile.users()
    }

    fn new(version: u64, meta: HeadMeta, shared: TenantShared) -> Self {
        TenantMemory {
            version,
            meta,
            engine: TenantEngine::from_parts(shared, HashMap::new()),
            loaded: HashSet::new(),
            complete: false,
            unsaved: HashSet::new(),
        }
    }
}

/// What a step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Events processed (replays included).
    pub events: u64,
    /// Findings created.
    pub created: u64,
    /// Findings escalated.
    pub escalated: u64,
    /// Findings updated.
    pub updated: u64,
    /// Findings retracted after a replay.
    pub retracted: u64,
    /// The state was rolled back for late records.
    pub rolled_back: bool,
    /// The state was restored from Postgres (Redis had none).
    pub restored: bool,
}

/// Why a step runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Trigger {
    /// The tenant's registration time (see `HeadMeta::epoch`).
    pub(crate) epoch: i64,
    /// The earliest event time announced for this step's entries.
    pub(crate) earliest: Option<DateTime<Utc>>,
    /// A periodic sweep: check that every stored event has been processed.
    pub(crate) sweep: bool,
}

/// Shared handles a step needs.
#[derive(Debug, Clone)]
pub(crate) struct Stores {
    pub(crate) database: Database,
    pub(crate) cache: Cache,
    /// Events read per page (findings are written and the lease renewed between pages).
    pub(crate) page_events: usize,
}

/// Runs one step; `memory` is the worker's copy of the tenant (taken, and put back when the
/// step succeeds). `renew` keeps the worker's lease alive between pages.
pub(crate) async fn run_step<F, Fut>(
    stores: &Stores,
    tenant: TenantId,
    memory: &mut Option<TenantMemory>,
    trigger: Trigger,
    mut renew: F,
) -> Result<StepReport, PipelineError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), PipelineError>>,
{
    let mut report = StepReport::default();
    let redis_version = hot::version(&stores.cache, tenant).await?;
    // Set when the engine replays from an earlier state: findings after that point that the
    // replay does not yield again are retracted (a rebuild under new suppressions, say).
    let mut replay_after: Option<DateTime<Utc>> = None;
    let mut mem = match memory.take() {
        Some(mem) if mem.version == redis_version && mem.meta.epoch == trigger.epoch => mem,
        _ => match hot::load_head(&stores.cache, tenant).await? {
            Some((version, Head { meta, shared })) if meta.epoch == trigger.epoch => {
                TenantMemory::new(version, meta, shared)
            }
            _ => {
                report.restored = true;
                let mem = restore(stores, tenant, trigger.epoch, redis_version, None).await?;
                replay_after = Some(
                    mem.meta
                        .checkpoint
                        .as_ref()
                        .map_or(DateTime::<Utc>::UNIX_EPOCH, |c| c.time),
                );
                mem
            }
        },
    };
    let weights = tenant_weights(&stores.database, tenant).await?;
    let suppressions = tenant_suppressions(&stores.database, tenant).await?;

    // Late records: has Postgres more events in the late range than the engine processed?
    // From the earliest announced time (the usual case); then, on a sweep, over the whole
    // history, for records whose announcement was lost.
    if let Some(checkpoint) = mem.meta.checkpoint.clone() {
        let announced = match trigger.earliest {
            Some(earliest) if earliest <= checkpoint.time => {
                missed_events(stores, tenant, &mem, &checkpoint, earliest)
                    .await?
                    .then_some(earliest)
            }
            _ => None,
        };
        let late_from = match announced {
            Some(late_from) => Some(late_from),
            None if trigger.sweep && !processed_all(stores, tenant, &mem, &checkpoint).await? => {
                Some(DateTime::<Utc>::UNIX_EPOCH)
            }
            None => None,
        };
        if let Some(late_from) = late_from {
            tracing::info!(%tenant, %late_from, "late records: rolling back and replaying");
            mem = restore(stores, tenant, trigger.epoch, mem.version, Some(late_from)).await?;
            replay_after = Some(
                mem.meta
                    .checkpoint
                    .as_ref()
                    .map_or(DateTime::<Utc>::UNIX_EPOCH, |c| c.time),
            );
            report.rolled_back = true;
            metrics::counter!("pipeline_rollbacks_total").increment(1);
        }
    }

    let tenant_text = tenant.to_string();
    let mut emitted: HashSet<FindingId> = HashSet::new();
    loop {
        let mut tx = stores.database.tenant_tx(tenant).await?;
        let after = mem.meta.checkpoint.as_ref().map(EventKey::from);
        let page = i64::try_from(stores.page_events.max(1)).unwrap_or(i64::MAX);
        let events = events_after(&mut tx, after.as_ref(), page).await?;
        tx.commit().await?;
        let Some(last) = events.last() else { break };
        // A short page was the last: what is committed after it was announced after the
        // entries this step acknowledges, so the next step takes it.
        let last_page = events.len() < stores.page_events.max(1);
        let last_key = Checkpoint::from(EventKey::of(last));

        if !load_users(stores, tenant, &mut mem, &events).await? {
            // A user the tenant knows is missing from Redis: restore it all and start over.
            tracing::warn!(%tenant, "a user's hot state is missing: restoring from postgres");
            report.restored = true;
            mem = restore(stores, tenant, trigger.epoch, mem.version, None).await?;
            replay_after = Some(DateTime::<Utc>::UNIX_EPOCH);
            emitted.clear();
            continue;
        }

        let mut changed: HashMap<FindingId, (Finding, bool)> = HashMap::new();
        for event in &events {
            if let Some(finding) = mem
                .engine
                .observe(&tenant_text, &weights, &suppressions, event)
            {
                let id = FindingId::of_session(&tenant_text, &finding.user, &finding.session_id);
                changed.insert(id, (finding.clone(), true));
            }
            // Two sets: a generation between pages empties `dirty` but not `unsaved`, and a
            // user changed again after it must be in the next generation.
            if !mem.unsaved.contains(&event.user_id) {
                mem.unsaved.insert(event.user_id.clone());
            }
            if !mem.meta.dirty.contains(&event.user_id) {
                mem.meta.dirty.insert(event.user_id.clone());
            }
        }
        report.events += events.len() as u64;
        mem.meta.step_done(last_key, mem.engine.shared().events);

        if !changed.is_empty() {
            let mut tx = stores.database.tenant_tx(tenant).await?;
            for (id, (finding, _)) in &changed {
                match upsert_finding(&mut tx, tenant, &finding_write(*id, finding)).await? {
                    Upserted::Created => report.created += 1,
                    Upserted::Escalated => report.escalated += 1,
                    Upserted::Updated => report.updated += 1,
                    Upserted::Unchanged => {}
                }
                emitted.insert(*id);
            }
            tx.commit().await?;
        }
        if !maybe_write_generation(stores, tenant, &mut mem, false).await? {
            tracing::warn!(%tenant, "a changed user's hot state is missing: restoring from postgres");
            report.restored = true;
            mem = restore(stores, tenant, trigger.epoch, mem.version, None).await?;
            replay_after = Some(DateTime::<Utc>::UNIX_EPOCH);
            emitted.clear();
            continue;
        }
        if last_page {
            break;
        }
        renew().await?;
    }

    if let Some(after) = replay_after {
        let kept: Vec<FindingId> = emitted.iter().copied().collect();
        let mut tx = stores.database.tenant_tx(tenant).await?;
        report.retracted = retract_findings(&mut tx, tenant, after, &kept).await?;
        tx.commit().await?;
    }

    save_hot(stores, tenant, &mut mem).await?;
    *memory = Some(mem);
    metrics::counter!("pipeline_events_total").increment(report.events);
    Ok(report)
}

/// Whether Postgres holds events from `late_from` up to the checkpoint that the engine has not
/// processed: the stored count since the newest step end before `late_from` against the
/// engine's count since then.
async fn missed_events(
    stores: &Stores,
    tenant: TenantId,
    mem: &TenantMemory,
    checkpoint: &Checkpoint,
    late_from: DateTime<Utc>,
) -> Result<bool, PipelineError> {
    let (after, processed_before) = match mem.meta.step_before(late_from) {
        Some((key, events)) => (Some(EventKey::from(key)), events),
        None => (None, 0),
    };
    let processed = mem.engine.shared().events.saturating_sub(processed_before);
    let mut tx = stores.database.tenant_tx(tenant).await?;
    let stored = count_events_between(&mut tx, after.as_ref(), &checkpoint.into()).await?;
    tx.commit().await?;
    Ok(u64::try_from(stored).unwrap_or(0) != processed)
}

/// Whether the engine has processed every stored event up to the checkpoint: the tenant's
/// tally less the events after the checkpoint, against the engine's count (plus what retention
/// dropped before the engine started). One row and a short range, however long the history.
async fn processed_all(
    stores: &Stores,
    tenant: TenantId,
    mem: &TenantMemory,
    checkpoint: &Checkpoint,
) -> Result<bool, PipelineError> {
    let mut tx = stores.database.tenant_tx(tenant).await?;
    let (tally, after) = tally_and_events_after(&mut tx, Some(&checkpoint.into())).await?;
    tx.commit().await?;
    Ok(
        tally.stored.saturating_sub(after)
            == mem.engine.shared().events + mem.meta.retired_at_start,
    )
}

/// The stored form of an engine finding: the finding itself is the explanation, so the API
/// shows exactly what `tokenwatch scan` shows.
pub(crate) fn finding_write(id: FindingId, finding: &Finding) -> FindingWrite {
    FindingWrite {
        finding_id: id,
        incident_id: finding.incident_id,
        user_id: finding.user.clone(),
        session_id: finding.session_id.clone(),
        score: finding.score,
        threshold: finding.threshold,
        severity: finding.severity,
        first_seen: finding.first_seen,
        last_seen: finding.last_seen,
        detected_at: finding.detected_at,
        weight_version: finding.weight_version,
        explanation: serde_json::to_value(finding).unwrap_or_default(),
    }
}

/// The tenant's weights in force: its newest version, else the defaults.
pub async fn tenant_weights(
    database: &Database,
    tenant: TenantId,
) -> Result<WeightSet, PipelineError> {
    let mut tx = database.tenant_tx(tenant).await?;
    let stored = weights::current_weights(&mut tx).await?;
    tx.commit().await?;
    Ok(match stored {
        Some(version) => WeightSet {
            version: version.version,
            weights: version.weights,
            threshold: version.threshold,
        },
        None => WeightSet::default(),
    })
}

/// How far back suppressions that expired still matter: events that old can be replayed.
const SUPPRESSION_HORIZON: Duration = Duration::days(30);

/// The tenant's suppressions (those expired before the replay horizon left out).
pub async fn tenant_suppressions(
    database: &Database,
    tenant: TenantId,
) -> Result<Suppressions, PipelineError> {
    let mut tx = database.tenant_tx(tenant).await?;
    let rows = suppressions::for_engine(&mut tx, Utc::now() - SUPPRESSION_HORIZON).await?;
    tx.commit().await?;
    Ok(Suppressions {
        list: rows
            .into_iter()
            .filter_map(|row| {
                Suppression::from_stored(
                    &row.user_id,
                    &row.context_kind,
                    &row.context_value,
                    row.expire_time,
                )
                .ok()
            })
            .collect(),
    })
}

/// Loads the page's users into memory; false when a user the tenant knows has no hot state.
async fn load_users(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
    events: &[tokenwatch_core::event::NormalizedEvent],
) -> Result<bool, PipelineError> {
    if mem.complete {
        return Ok(true);
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let wanted: Vec<String> = events
        .iter()
        .map(|event| event.user_id.as_str())
        .filter(|user| !mem.loaded.contains(*user) && seen.insert(user))
        .map(str::to_owned)
        .collect();
    load_from_redis(stores, tenant, mem, wanted).await
}

/// Loads the users changed since the newest generation that memory does not hold: a user
/// another worker changed is only in Redis (its value there is its state at the checkpoint,
/// since a user this step touched is loaded), and a generation without it would restore its
/// older state. False when one has no hot state.
async fn load_dirty_users(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
) -> Result<bool, PipelineError> {
    if mem.complete {
        return Ok(true);
    }
    let wanted: Vec<String> = mem
        .meta
        .dirty
        .iter()
        .filter(|user| !mem.loaded.contains(*user))
        .cloned()
        .collect();
    load_from_redis(stores, tenant, mem, wanted).await
}

/// Reads `wanted` (users not in memory) from Redis into memory; false when a user the tenant
/// knows has no hot state (a user it does not know is new).
async fn load_from_redis(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
    wanted: Vec<String>,
) -> Result<bool, PipelineError> {
    let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let states = hot::load_users(&stores.cache, tenant, &names).await?;
    for (user, state) in wanted.into_iter().zip(states) {
        match state {
            Some(state) => mem.engine.insert_user(user.clone(), state),
            None if mem.engine.shared().profile.knows(&user) => return Ok(false),
            None => {}
        }
        mem.loaded.insert(user);
    }
    Ok(true)
}

/// The tenant's state at the newest generation before `before` (the newest of all when
/// `None`), with the generations after it dropped; empty when there is none.
async fn restore(
    stores: &Stores,
    tenant: TenantId,
    epoch: i64,
    redis_version: u64,
    before: Option<DateTime<Utc>>,
) -> Result<TenantMemory, PipelineError> {
    let mut tx = stores.database.tenant_tx(tenant).await?;
    let generation = engine_state::generation_before(&mut tx, before).await?;
    let restored = match &generation {
        Some(generation) => {
            let head: Option<Head> = decode(&generation.shared);
            let users = engine_state::user_states_at(&mut tx, generation.generation).await?;
            head.map(|head| (generation.generation, head, users))
        }
        None => None,
    };
    // Starting from nothing: what retention has dropped can never be processed.
    let retired = match restored {
        Some(_) => 0,
        None => event_tally(&mut tx).await?.retired,
    };
    let keep = restored.as_ref().map_or(0, |(number, _, _)| *number);
    engine_state::drop_generations_after(&mut tx, keep).await?;
    tx.commit().await?;
    let mut mem = match restored {
        Some((_, head, users)) => {
            let mut mem = TenantMemory::new(redis_version, head.meta, head.shared);
            for (user, bytes) in users {
                if let Some(state) = decode_user(&bytes) {
                    mem.engine.insert_user(user, state);
                }
            }
            mem
        }
        None => {
            let meta = HeadMeta {
                retired_at_start: retired,
                ..HeadMeta::default()
            };
            TenantMemory::new(redis_version, meta, TenantShared::default())
        }
    };
    mem.meta.dirty.clear();
    mem.meta.epoch = epoch;
    mem.complete = true;
    // Redis may hold users of the discarded future: every user is rewritten.
    mem.unsaved = mem.engine.users().map(|(user, _)| user.clone()).collect();
    mem.loaded = mem.unsaved.clone();
    metrics::counter!("pipeline_restores_total").increment(1);
    Ok(mem)
}

/// Writes a generation when the checkpoint moved an hour of event time (and 30 s of wall time
/// passed), or when `force` (or five minutes of wall time) and something changed; then forgets
/// generations past the horizon. False when a changed user's hot state is missing from Redis
/// (none is written: the tenant needs restoring).
pub(crate) async fn maybe_write_generation(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
    force: bool,
) -> Result<bool, PipelineError> {
    let Some(checkpoint) = mem.meta.checkpoint.clone() else {
        return Ok(true);
    };
    if mem.meta.dirty.is_empty() {
        return Ok(true);
    }
    let now = Utc::now();
    // A clock that went back reads as "just written": the next one waits, none is lost.
    let since_last = mem
        .meta
        .generation_written
        .map_or(std::time::Duration::MAX, |written| {
            (now - written).to_std().unwrap_or_default()
        });
    let event_due = mem.meta.generation_time.is_none_or(|time| {
        checkpoint.time - time >= Duration::hours(GENERATION_EVENT_SPACING_HOURS)
            && since_last >= GENERATION_MIN_WALL_SPACING
    });
    let wall_due = since_last >= GENERATION_WALL_SPACING;
    if !(event_due || wall_due || force) {
        return Ok(true);
    }
    if !load_dirty_users(stores, tenant, mem).await? {
        return Ok(false);
    }
    let users: Vec<(String, Vec<u8>)> = mem
        .meta
        .dirty
        .iter()
        .filter_map(|user| {
            mem.engine
                .user(user)
                .map(|state| (user.clone(), encode::<UserState>(state)))
        })
        .collect();
    let mut tx = stores.database.tenant_tx(tenant).await?;
    let number = engine_state::next_generation(&mut tx).await?;
    let mut meta = mem.meta.clone();
    meta.dirty.clear();
    meta.generation = number;
    meta.generation_time = Some(checkpoint.time);
    meta.generation_written = Some(now);
    let generation = Generation {
        generation: number,
        checkpoint: (&checkpoint).into(),
        events: i64::try_from(mem.engine.shared().events).unwrap_or(i64::MAX),
        shared: encode(&HeadRef {
            meta: &meta,
            shared: mem.engine.shared(),
        }),
    };
    engine_state::save_generation(&mut tx, &generation, &users).await?;
    let horizon = checkpoint.time - Duration::days(GENERATION_HORIZON_DAYS);
    if let Some(oldest) = engine_state::generation_at_horizon(&mut tx, horizon).await? {
        engine_state::compact_generations(&mut tx, oldest).await?;
    }
    tx.commit().await?;
    mem.meta = meta;
    metrics::counter!("pipeline_generations_total").increment(1);
    Ok(true)
}

/// At a worker's shutdown, the caller holding the lease: a generation of what its memory of
/// `tenant` holds, if that memory is still the tenant's newest state (no other worker has
/// stepped it since).
pub(crate) async fn write_final_generation(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
) -> Result<(), PipelineError> {
    if hot::version(&stores.cache, tenant).await? != mem.version {
        return Ok(());
    }
    maybe_write_generation(stores, tenant, mem, true).await?;
    Ok(())
}

/// Writes the changed users and the head to Redis, fenced on the version read.
async fn save_hot(
    stores: &Stores,
    tenant: TenantId,
    mem: &mut TenantMemory,
) -> Result<(), PipelineError> {
    let users: Vec<(&str, Vec<u8>)> = mem
        .unsaved
        .iter()
        .filter_map(|user| {
            mem.engine
                .user(user)
                .map(|state| (user.as_str(), encode::<UserState>(state)))
        })
        .collect();
    let head = encode(&HeadRef {
        meta: &mem.meta,
        shared: mem.engine.shared(),
    });
    if !hot::save(&stores.cache, tenant, mem.version, &head, &users).await? {
        return Err(PipelineError::Fenced);
    }
    mem.version += 1;
    mem.unsaved.clear();
    Ok(())
}
