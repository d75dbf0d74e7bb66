//! Generations of the detection engine's per-tenant state (see the pipeline migration): the
//! tenant-wide part at a checkpoint, plus the user states that changed since the generation
//! before. The bytes are the pipeline's encoding; storage does not look inside.

use chrono::{DateTime, Utc};

use crate::events::EventKey;
use crate::{StorageResult, TenantTx};

/// One generation's tenant-wide part.
#[derive(Debug, Clone)]
pub struct Generation {
    /// Its number, increasing per tenant.
    pub generation: i64,
    /// The last event it includes.
    pub checkpoint: EventKey,
    /// Events it includes.
    pub events: i64,
    /// The encoded tenant-wide state.
    pub shared: Vec<u8>,
}

type GenerationRow = (i64, DateTime<Utc>, String, i64, Vec<u8>);

fn generation_of((generation, time, record_id, events, shared): GenerationRow) -> Generation {
    Generation {
        generation,
        checkpoint: EventKey { time, record_id },
        events,
        shared,
    }
}

/// The newest generation whose checkpoint is before `before` (the newest of all when `None`).
pub async fn generation_before(
    tx: &mut TenantTx,
    before: Option<DateTime<Utc>>,
) -> StorageResult<Option<Generation>> {
    let row: Option<GenerationRow> = sqlx::query_as(
        "SELECT generation, checkpoint_time, checkpoint_record, events, shared \
         FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant() \
           AND ($1::timestamptz IS NULL OR checkpoint_time < $1) \
         ORDER BY generation DESC LIMIT 1",
    )
    .bind(before)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(generation_of))
}

/// Every user's state as of `generation`: each user's newest row at or below it.
pub async fn user_states_at(
    tx: &mut TenantTx,
    generation: i64,
) -> StorageResult<Vec<(String, Vec<u8>)>> {
    let rows = sqlx::query_as(
        "SELECT DISTINCT ON (user_id) user_id, state FROM engine_user_states \
         WHERE tenant_id = tokenwatch_current_tenant() AND generation <= $1 \
         ORDER BY user_id, generation DESC",
    )
    .bind(generation)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

/// One user's newest stored state.
pub async fn latest_user_state(tx: &mut TenantTx, user_id: &str) -> StorageResult<Option<Vec<u8>>> {
    let state = sqlx::query_scalar(
        "SELECT state FROM engine_user_states \
         WHERE tenant_id = tokenwatch_current_tenant() AND user_id = $1 \
         ORDER BY generation DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(state)
}

/// When the newest generation was written.
pub async fn latest_generation_time(tx: &mut TenantTx) -> StorageResult<Option<DateTime<Utc>>> {
    let time = sqlx::query_scalar(
        "SELECT max(create_time) FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(time)
}

/// The number the next generation takes.
pub async fn next_generation(tx: &mut TenantTx) -> StorageResult<i64> {
    let max: Option<i64> = sqlx::query_scalar(
        "SELECT max(generation) FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(max.unwrap_or(0) + 1)
}

/// Writes a generation and the user states changed since the one before.
pub async fn save_generation(
    tx: &mut TenantTx,
    generation: &Generation,
    users: &[(String, Vec<u8>)],
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO engine_generations \
           (tenant_id, generation, checkpoint_time, checkpoint_record, events, shared) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5)",
    )
    .bind(generation.generation)
    .bind(generation.checkpoint.time)
    .bind(&generation.checkpoint.record_id)
    .bind(generation.events)
    .bind(&generation.shared)
    .execute(&mut **tx)
    .await?;
    let (names, states): (Vec<&str>, Vec<&[u8]>) = users
        .iter()
        .map(|(user, state)| (user.as_str(), state.as_slice()))
        .unzip();
    sqlx::query(
        "INSERT INTO engine_user_states (tenant_id, user_id, generation, state) \
         SELECT tokenwatch_current_tenant(), user_id, $1, state \
         FROM unnest($2::text[], $3::bytea[]) AS u(user_id, state)",
    )
    .bind(generation.generation)
    .bind(&names)
    .bind(&states)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the generations after `generation` (a rollback makes them a future that did not
/// happen); their user rows go with them.
pub async fn drop_generations_after(tx: &mut TenantTx, generation: i64) -> StorageResult<u64> {
    let dropped = sqlx::query(
        "DELETE FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant() AND generation > $1",
    )
    .bind(generation)
    .execute(&mut **tx)
    .await?;
    Ok(dropped.rows_affected())
}

/// Merges every generation older than `keep` into `keep`, which must exist: each user keeps
/// only its newest state at or below `keep`.
pub async fn compact_generations(tx: &mut TenantTx, keep: i64) -> StorageResult<()> {
    sqlx::query(
        "DELETE FROM engine_user_states old \
         WHERE old.tenant_id = tokenwatch_current_tenant() AND old.generation < $1 \
           AND EXISTS (SELECT 1 FROM engine_user_states newer \
                       WHERE newer.tenant_id = old.tenant_id AND newer.user_id = old.user_id \
                         AND newer.generation > old.generation AND newer.generation <= $1)",
    )
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE engine_user_states SET generation = $1 \
         WHERE tenant_id = tokenwatch_current_tenant() AND generation < $1",
    )
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant() AND generation < $1",
    )
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The oldest generation to keep so that rollbacks can reach `horizon` of event time behind the
/// newest checkpoint: the newest generation at or before that point.
pub async fn generation_at_horizon(
    tx: &mut TenantTx,
    horizon: DateTime<Utc>,
) -> StorageResult<Option<i64>> {
    let generation = sqlx::query_scalar(
        "SELECT generation FROM engine_generations \
         WHERE tenant_id = tokenwatch_current_tenant() AND checkpoint_time <= $1 \
         ORDER BY generation DESC LIMIT 1",
    )
    .bind(horizon)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(generation)
}
