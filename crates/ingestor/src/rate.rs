//! Per-tenant token buckets: a tenant sending faster than its rate gets RESOURCE_EXHAUSTED
//! rather than slowing every other tenant down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tokenwatch_types::TenantId;

/// How many seconds of rate a tenant may send at once: an upload of a day's export should pass.
const BURST_SECONDS: f64 = 10.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets per tenant; `rate` records per second, 0 for no limit.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(rate: u32) -> Self {
        RateLimiter {
            rate: f64::from(rate),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `records` tokens from the tenant's bucket, or says how long until it could.
    pub(crate) fn take(&self, tenant: TenantId, records: usize, now: Instant) -> Result<(), f64> {
        if self.rate <= 0.0 || records == 0 {
            return Ok(());
        }
        let capacity = self.rate * BURST_SECONDS;
        let wanted = records as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(tenant).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(capacity);
        bucket.refilled = now;
        // A document larger than the whole burst may pass when the bucket is full, once.
        if bucket.tokens >= wanted || bucket.tokens >= capacity {
            bucket.tokens -= wanted;
            Ok(())
        } else {
            Err((wanted - bucket.tokens) / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_are_per_tenant() {
        let limiter = RateLimiter::new(100);
        let a = TenantId::parse("11111111-1111-4111-8111-111111111111").unwrap();
        let b = TenantId::parse("22222222-2222-4222-8222-222222222222").unwrap();
        let start = Instant::now();
        assert!(
            limiter.take(a, 1000, start).is_ok(),
            "the burst is 10 s of rate"
        );
        let wait = limiter.take(a, 50, start).unwrap_err();
        assert!((wait - 0.5).abs() < 1e-9, "{wait}");
        assert!(
            limiter.take(b, 500, start).is_ok(),
            "another tenant is unaffected"
        );
        assert!(
            limiter
                .take(a, 50, start + Duration::from_millis(600))
                .is_ok()
        );
        assert!(RateLimiter::new(0).take(a, usize::MAX, start).is_ok());
    }
}
