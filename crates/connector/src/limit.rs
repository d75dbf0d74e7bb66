//! Request rates toward Microsoft: per tenant (Graph and the activity API throttle each
//! tenant's app) and for the whole MSP (the activity API's quota is per publisher, shared by
//! every tenant and replica). A tenant is pulled by one replica at a time, so its bucket lives
//! in that replica's memory; the global count lives in Redis so replicas share it.

use std::time::{Duration, Instant};

use tokenwatch_cache::Cache;
use tokenwatch_ratelimit::KeyedBuckets;
use tokenwatch_types::TenantId;

/// The limits; 0 means no limit.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Per tenant, with a second's worth of burst.
    tenants: KeyedBuckets<TenantId>,
    global: u64,
    cache: Cache,
}

impl Limits {
    pub(crate) fn new(cache: Cache, per_tenant: f64, global: u64) -> Self {
        Limits {
            tenants: KeyedBuckets::new(per_tenant, per_tenant),
            global,
            cache,
        }
    }

    /// Waits until one more request for `tenant` is within both limits.
    pub(crate) async fn wait(&self, tenant: TenantId) {
        while let Err(wait) = self.tenants.take(&tenant, 1.0, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        if self.global > 0 {
            while let Some(wait) = self.take_global().await {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Counts a request in this second's window in Redis; over the limit, the time to the next
    /// second. A Redis failure lets the request through (Microsoft's 429 is the backstop).
    async fn take_global(&self) -> Option<Duration> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let key = format!("tw:{{connectors}}:rate:{}", now.as_secs());
        let mut connection = self.cache.connection();
        let counted: Result<(u64,), redis::RedisError> = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, 5)
            .ignore()
            .query_async(&mut connection)
            .await;
        match counted {
            Ok((count,)) if count > self.global => {
                metrics::counter!("connector_global_rate_waits_total").increment(1);
                Some(Duration::from_nanos(
                    1_000_000_000 - u64::from(now.subsec_nanos()),
                ))
            }
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(%error, "cannot count the global connector rate; not limiting");
                None
            }
        }
    }
}
