//! A tenant's lease: one worker at a time steps a tenant (its events must go through the
//! engine in order). `SET NX PX` on a `{tenant}` key, taken, renewed and given back by Lua
//! scripts that check the holder, so a worker never extends or drops another's lease.

use std::time::Duration;

use tokenwatch_cache::{Cache, tenant_key};
use tokenwatch_types::TenantId;

use crate::PipelineError;

/// Takes the lease if free, or renews it if already ours.
const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Drops the lease if ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Renews the lease if still ours; [`PipelineError::LeaseLost`] when another took it.
pub(crate) async fn renew(
    cache: Cache,
    key: String,
    id: String,
    lease: Duration,
) -> Result<(), PipelineError> {
    let mut connection = cache.connection();
    let renewed: i64 = redis::Script::new(ACQUIRE)
        .key(key)
        .arg(id)
        .arg(lease.as_millis() as u64)
        .invoke_async(&mut connection)
        .await?;
    if renewed == 1 {
        Ok(())
    } else {
        Err(PipelineError::LeaseLost)
    }
}

/// Takes the tenant's lease for `holder`, or renews it if already theirs; `false` when another
/// holds it.
pub(crate) async fn take(
    cache: &Cache,
    tenant: TenantId,
    holder: &str,
    lease: Duration,
) -> Result<bool, PipelineError> {
    let mut connection = cache.connection();
    let acquired: i64 = redis::Script::new(ACQUIRE)
        .key(key(tenant))
        .arg(holder)
        .arg(lease.as_millis() as u64)
        .invoke_async(&mut connection)
        .await?;
    Ok(acquired == 1)
}

/// Gives the lease back if `holder` has it.
pub(crate) async fn give_back(
    cache: &Cache,
    tenant: TenantId,
    holder: &str,
) -> Result<(), PipelineError> {
    let mut connection = cache.connection();
    let _: i64 = redis::Script::new(RELEASE)
        .key(key(tenant))
        .arg(holder)
        .invoke_async(&mut connection)
        .await?;
    Ok(())
}

/// The tenant's lease key.
pub(crate) fn key(tenant: TenantId) -> String {
    tenant_key(tenant, "pipeline-lease", "")
}
