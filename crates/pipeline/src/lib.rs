//! The online pipeline: the detection engine run continuously per tenant behind the services.
//!
//! Ingest commits events and announces them on the tenant's "session touched" stream; pipeline
//! workers (any number, in any number of processes) take a lease per tenant, read the tenant's
//! events after its checkpoint back from Postgres in the engine's order, and feed them to the
//! same pure engine the offline scan uses. State is hot in Redis (one value per user, one per
//! tenant, all under the tenant's hash tag), written to Postgres as generations; findings are
//! upserted in Postgres and announced to subscribers. Late records roll the tenant back to a
//! generation before them and replay, so arrival order never changes the answer.
//!
//! # Layout
//!
//! - `state`: what is kept per tenant, and its encoding;
//! - `hot`: the Redis side;
//! - `step`: one tenant brought up to date;
//! - `worker`: finding tenants with work, the sweep, the step loop;
//! - `lease`: one worker at a time per tenant;
//! - `consumer`: reading and acknowledging the touched stream in the consumer group;
//! - `rebuild`: a tenant replayed from nothing on demand.

mod consumer;
mod hot;
mod lease;
mod rebuild;
mod state;
mod step;
mod worker;

use tokenwatch_cache::{Cache, touched};
use tokenwatch_core::detect::{TenantEngine, TenantShared, UserState};
use tokenwatch_error::{ServiceError, ServiceErrorCode};
use tokenwatch_storage::{Database, StorageError};
use tokenwatch_types::TenantId;

pub use rebuild::rebuild_tenant;
pub use step::{StepReport, tenant_suppressions, tenant_weights};
pub use worker::{PipelineConfig, Worker};

/// What can stop a pipeline step.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Postgres failed.
    #[error("postgres: {0}")]
    Storage(#[from] StorageError),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Another worker wrote the tenant's state first; this one's copy is stale.
    #[error("another worker has stepped this tenant")]
    Fenced,
    /// The lease expired mid-step.
    #[error("lease lost")]
    LeaseLost,
}

impl From<sqlx::Error> for PipelineError {
    fn from(error: sqlx::Error) -> Self {
        PipelineError::Storage(error.into())
    }
}

impl ServiceError for PipelineError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            PipelineError::Storage(error) => error.error_code(),
            PipelineError::Redis(_) | PipelineError::Fenced | PipelineError::LeaseLost => {
                ServiceErrorCode::Unavailable
            }
        }
    }
}

/// The engine's tenant-wide state (population prior, events processed), if Redis has it.
pub async fn tenant_shared(
    cache: &Cache,
    tenant: TenantId,
) -> Result<Option<TenantShared>, PipelineError> {
    Ok(hot::load_head(cache, tenant)
        .await?
        .map(|(_, head)| head.shared))
}

/// One user's state: hot in Redis, else the newest generation in Postgres.
pub async fn user_state(
    database: &Database,
    cache: &Cache,
    tenant: TenantId,
    user: &str,
) -> Result<Option<UserState>, PipelineError> {
    if let Some(state) = hot::user_state(cache, tenant, user).await? {
        return Ok(Some(state));
    }
    let mut tx = database.tenant_tx(tenant).await?;
    let stored = tokenwatch_storage::engine_state::latest_user_state(&mut tx, user).await?;
    tx.commit().await?;
    Ok(stored.and_then(|bytes| state::decode_user(&bytes)))
}

/// A tenant engine holding one user, for scoring that user's sessions on demand.
pub async fn engine_for_user(
    database: &Database,
    cache: &Cache,
    tenant: TenantId,
    user: &str,
) -> Result<Option<TenantEngine>, PipelineError> {
    let Some(shared) = tenant_shared(cache, tenant).await? else {
        return Ok(None);
    };
    let Some(state) = user_state(database, cache, tenant, user).await? else {
        return Ok(None);
    };
    let mut engine = TenantEngine::from_parts(shared, Default::default());
    engine.insert_user(user.to_owned(), state);
    Ok(Some(engine))
}

/// Whether the pipeline has processed every stored event of the tenant (tests and tools wait
/// on this).
pub async fn settled(
    database: &Database,
    cache: &Cache,
    tenant: TenantId,
) -> Result<bool, PipelineError> {
    let processed = hot::load_head(cache, tenant).await?.map_or(0, |(_, head)| {
        head.shared.events + head.meta.retired_at_start
    });
    let mut tx = database.tenant_tx(tenant).await?;
    let tally = tokenwatch_storage::events::event_tally(&mut tx).await?;
    tx.commit().await?;
    Ok(tally.stored == processed)
}

/// Resets a tenant's pipeline state so the next step replays every stored event (the
/// RebuildBaselines RPC): Redis state and Postgres generations are dropped.
pub async fn reset_tenant(
    database: &Database,
    cache: &Cache,
    tenant: TenantId,
) -> Result<(), PipelineError> {
    let mut tx = database.tenant_tx(tenant).await?;
    tokenwatch_storage::engine_state::drop_generations_after(&mut tx, 0).await?;
    tx.commit().await?;
    let mut connection = cache.connection();
    // Bumping the version also invalidates every worker's copy in memory.
    let _: () = redis::pipe()
        .del(hot::head_key(tenant))
        .incr(hot::version_key(tenant), 1)
        .query_async(&mut connection)
        .await?;
    Ok(())
}

/// Several users' hot states, in order (`None` where Redis has none).
pub async fn hot_user_states(
    cache: &Cache,
    tenant: TenantId,
    users: &[&str],
) -> Result<Vec<Option<UserState>>, PipelineError> {
    let mut states = Vec::with_capacity(users.len());
    for chunk in users.chunks(500) {
        states.extend(hot::load_users(cache, tenant, chunk).await?);
    }
    Ok(states)
}

/// Deletes a removed tenant's hot state: its users' values, head, version, lease and stream.
/// (A tenant registered again is safe without this, its registration time differs; this frees
/// the memory.)
pub async fn forget_tenant(cache: &Cache, tenant: TenantId) -> Result<(), PipelineError> {
    let users: Vec<String> = hot::load_head(cache, tenant)
        .await?
        .map(|(_, head)| {
            head.shared
                .profile
                .user_names()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut keys: Vec<String> = users
        .iter()
        .map(|user| hot::user_key(tenant, user))
        .collect();
    keys.extend([
        hot::head_key(tenant),
        hot::version_key(tenant),
        lease::key(tenant),
        touched::stream_key(tenant),
    ]);
    let mut connection = cache.connection();
    for chunk in keys.chunks(500) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await?;
    }
    let _: i64 = redis::cmd("SREM")
        .arg(touched::TENANTS_KEY)
        .arg(tenant.to_string())
        .query_async(&mut connection)
        .await?;
    Ok(())
}
