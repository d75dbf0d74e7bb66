//! Request rates toward Microsoft: per tenant (Graph and the activity API throttle each
//! tenant's app) and for the whole MSP (the activity API's quota is per publisher, shared by
//! every tenant and replica). A tenant is pulled by one replica at a time, so its bucket lives
//! in that replica's memory; the global count lives in Redis so replicas share it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokenwatch_cache::Cache;
use tokenwatch_types::TenantId;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets per tenant, `rate` requests per second with a second's worth of burst.
#[derive(Debug)]
struct TenantBuckets {
    rate: f64,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl TenantBuckets {
    fn new(rate: f64) -> Self {
        TenantBuckets {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from the tenant's bucket, or says how long until one is there.
    fn take(&self, tenant: TenantId, now: Instant) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let capacity = self.rate.max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(tenant).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(capacity);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// The limits; 0 means no limit.
#[derive(Debug)]
pub(crate) struct Limits {
    tenants: TenantBuckets,
    global: u64,
    cache: Cache,
}

impl Limits {
    pub(crate) fn new(cache: Cache, per_tenant: f64, global: u64) -> Self {
        Limits {
            tenants: TenantBuckets::new(per_tenant),
            global,
            cache,
        }
    }

    /// Waits until one more request for `tenant` is within both limits.
    pub(crate) async fn wait(&self, tenant: TenantId) {
        while let Some(wait) = self.tenants.take(tenant, Instant::now()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_bucket_refills_at_its_rate() {
        let buckets = TenantBuckets::new(2.0);
        let tenant = TenantId::parse("11111111-1111-4111-8111-111111111111").unwrap();
        let other = TenantId::parse("22222222-2222-4222-8222-222222222222").unwrap();
        let start = Instant::now();
        assert_eq!(buckets.take(tenant, start), None);
        assert_eq!(buckets.take(tenant, start), None);
        let wait = buckets.take(tenant, start).unwrap();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert_eq!(buckets.take(other, start), None, "per tenant");
        assert_eq!(
            buckets.take(tenant, start + Duration::from_millis(500)),
            None
        );
        assert_eq!(TenantBuckets::new(0.0).take(tenant, start), None);
    }
}
