//! The hot state in Redis. Every key carries the tenant's `{hash tag}`, so the fenced multi-key
//! write below stays legal on Redis Cluster.

use redis::AsyncCommands;
use tokenwatch_cache::{Cache, tenant_key};
use tokenwatch_core::detect::UserState;
use tokenwatch_types::TenantId;

use crate::state::{Head, decode, decode_user};

/// The tenant-wide value.
pub(crate) fn head_key(tenant: TenantId) -> String {
    tenant_key(tenant, "engine", "")
}

/// The step counter that fences writes: a worker writes only over the version it read.
pub(crate) fn version_key(tenant: TenantId) -> String {
    tenant_key(tenant, "engine-version", "")
}

/// One user's value.
pub(crate) fn user_key(tenant: TenantId, user: &str) -> String {
    tenant_key(tenant, "user", user)
}

/// The state version in Redis (0 when there is none).
pub(crate) async fn version(cache: &Cache, tenant: TenantId) -> redis::RedisResult<u64> {
    let mut connection = cache.connection();
    let version: Option<u64> = connection.get(version_key(tenant)).await?;
    Ok(version.unwrap_or(0))
}

/// The tenant-wide value and its version; `None` when missing or unreadable.
pub(crate) async fn load_head(
    cache: &Cache,
    tenant: TenantId,
) -> redis::RedisResult<Option<(u64, Head)>> {
    let mut connection = cache.connection();
    let (version, head): (Option<u64>, Option<Vec<u8>>) = redis::pipe()
        .get(version_key(tenant))
        .get(head_key(tenant))
        .query_async(&mut connection)
        .await?;
    Ok(match (version, head) {
        (Some(version), Some(bytes)) => decode::<Head>(&bytes).map(|head| (version, head)),
        _ => None,
    })
}

/// Users' values, in order; `None` where missing or unreadable.
pub(crate) async fn load_users(
    cache: &Cache,
    tenant: TenantId,
    users: &[&str],
) -> redis::RedisResult<Vec<Option<UserState>>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = users.iter().map(|user| user_key(tenant, user)).collect();
    let mut connection = cache.connection();
    let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut connection)
        .await?;
    Ok(values
        .into_iter()
        .map(|value| value.and_then(|bytes| decode_user(&bytes)))
        .collect())
}

/// One user's hot state.
pub(crate) async fn user_state(
    cache: &Cache,
    tenant: TenantId,
    user: &str,
) -> redis::RedisResult<Option<UserState>> {
    Ok(load_users(cache, tenant, &[user]).await?.pop().flatten())
}

/// Sets users' values (`KEYS[2..]`) if the version (`KEYS[1]`) is still `ARGV[1]`; with a head
/// (`ARGV[2]` = 1, then the head key last in KEYS and its value last in ARGV) also writes it
/// and bumps the version. Returns 0, writing nothing, when another worker has written since.
const SAVE: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then
  return 0
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1])
end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], current + 1)
end
return 1
";

/// Users written per script call: large rebuilds go in pieces rather than one huge command.
const USERS_PER_CALL: usize = 500;

/// Writes users' values and then the head, fenced on `expected` (see [`SAVE`]); false when
/// another worker has written since, in which case this worker's state is stale.
pub(crate) async fn save(
    cache: &Cache,
    tenant: TenantId,
    expected: u64,
    head: &[u8],
    users: &[(&str, Vec<u8>)],
) -> redis::RedisResult<bool> {
    let script = redis::Script::new(SAVE);
    let mut connection = cache.connection();
    let mut chunks: Vec<&[(&str, Vec<u8>)]> = users.chunks(USERS_PER_CALL).collect();
    let last = chunks.pop().unwrap_or(&[]);
    for chunk in chunks {
        let mut invocation = script.key(version_key(tenant));
        invocation.arg(expected).arg(0);
        for (user, bytes) in chunk {
            invocation.key(user_key(tenant, user)).arg(bytes.as_slice());
        }
        let written: i64 = invocation.invoke_async(&mut connection).await?;
        if written != 1 {
            return Ok(false);
        }
    }
    let mut invocation = script.key(version_key(tenant));
    invocation.arg(expected).arg(1);
    for (user, bytes) in last {
        invocation.key(user_key(tenant, user)).arg(bytes.as_slice());
    }
    invocation.key(head_key(tenant)).arg(head);
    let written: i64 = invocation.invoke_async(&mut connection).await?;
    Ok(written == 1)
}
