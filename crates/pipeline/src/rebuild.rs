//! Rebuilding a tenant on demand (the RebuildBaselines RPC): every stored event replayed from
//! nothing, under the tenant's lease, in the caller's task.

use std::time::{Duration, Instant};

use tokenwatch_cache::Cache;
use tokenwatch_storage::Database;
use tokenwatch_types::TenantId;

use crate::step::{StepReport, Stores, Trigger, run_step};
use crate::{PipelineError, lease};

/// Replays every stored event of a tenant from nothing, now, in the caller's task (the
/// RebuildBaselines RPC): waits for the tenant's lease, drops its state, steps it, and gives
/// the lease back. Returns the step's report and the users rebuilt.
pub async fn rebuild_tenant(
    database: &Database,
    cache: &Cache,
    tenant: TenantId,
    wait: Duration,
) -> Result<(StepReport, usize), PipelineError> {
    let id = format!("rebuild-{:08x}", rand::random::<u32>());
    let lease = Duration::from_secs(15);
    let deadline = Instant::now() + wait;
    loop {
        match lease::renew(cache.clone(), lease::key(tenant), id.clone(), lease).await {
            Ok(()) => break,
            Err(PipelineError::LeaseLost) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error),
        }
    }
    let stores = Stores {
        database: database.clone(),
        cache: cache.clone(),
        page_events: crate::step::PAGE_EVENTS,
    };
    let result = async {
        let epoch = tokenwatch_storage::get_tenant(database, tenant)
            .await?
            .create_time
            .timestamp_micros();
        crate::reset_tenant(database, cache, tenant).await?;
        let mut memory = None;
        let renew = || lease::renew(cache.clone(), lease::key(tenant), id.clone(), lease);
        let trigger = Trigger {
            epoch,
            ..Trigger::default()
        };
        let report = run_step(&stores, tenant, &mut memory, trigger, renew).await?;
        let users = memory.map_or(0, |m| m.users());
        Ok((report, users))
    }
    .await;
    // The result is the rebuild's; a lease that could not be given back expires by itself.
    let _ = lease::give_back(cache, tenant, &id).await;
    result
}
