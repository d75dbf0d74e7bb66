//! Token buckets per key: each key (a tenant, a caller, a peer address) may spend `rate` a
//! second with bursts up to `burst`, and one key going over its rate slows nobody else.
//!
//! Memory stays bounded whatever keys callers invent: once more than [`KeyedBuckets::MAX_KEYS`]
//! keys are tracked, buckets that have refilled completely are dropped (a full bucket is the
//! same as no bucket), and if every bucket is still draining the oldest ones go.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets keyed by `K`. A rate of 0 (or less) means no limit.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> KeyedBuckets<K> {
    /// Most keys tracked before full buckets are dropped.
    pub const MAX_KEYS: usize = 100_000;

    /// `rate` tokens a second; a bucket holds at most `burst` (at least one token).
    pub fn new(rate: f64, burst: f64) -> Self {
        KeyedBuckets {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this limiter limits anything.
    pub fn is_unlimited(&self) -> bool {
        self.rate <= 0.0
    }

    /// Takes `amount` tokens from `key`'s bucket, or says how long until it could. The key
    /// is copied only the first time it is seen (a caller's subject is looked up per RPC).
    ///
    /// A request larger than the whole burst passes when the bucket is full (and leaves it
    /// in debt), so one large upload is slowed afterwards rather than refused forever.
    pub fn take<Q>(&self, key: &Q, amount: f64, now: Instant) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.is_unlimited() || amount <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(key) {
            if buckets.len() >= Self::MAX_KEYS {
                self.evict(&mut buckets, now);
            }
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: self.burst,
                    refilled: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(key) else {
            unreachable!("inserted above");
        };
        bucket.tokens = self.tokens_at(bucket, now);
        bucket.refilled = now;
        if bucket.tokens >= amount || bucket.tokens >= self.burst {
            bucket.tokens -= amount;
            Ok(())
        } else {
            Err(self.wait_for(bucket.tokens, amount))
        }
    }

    /// How long until `key` could take `amount`, without taking it; `None` when it could now.
    pub fn waiting<Q>(&self, key: &Q, amount: f64, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_unlimited() {
            return None;
        }
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = self.tokens_at(buckets.get(key)?, now);
        (tokens < amount.min(self.burst)).then(|| self.wait_for(tokens, amount))
    }

    /// The bucket's tokens at `now`, refilled since it was last touched.
    fn tokens_at(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        (bucket.tokens + elapsed * self.rate).min(self.burst)
    }

    /// How long until a bucket holding `tokens` holds `amount` (at most a full bucket).
    fn wait_for(&self, tokens: f64, amount: f64) -> Duration {
        Duration::from_secs_f64((amount.min(self.burst) - tokens) / self.rate)
    }

    /// How many keys are tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn evict(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        buckets.retain(|_, b| self.tokens_at(b, now) < self.burst);
        if buckets.len() >= Self::MAX_KEYS {
            // Every bucket is still draining: drop the least recently used half.
            let mut by_age: Vec<(Instant, K)> = buckets
                .iter()
                .map(|(k, b)| (b.refilled, k.clone()))
                .collect();
            by_age.sort_unstable_by_key(|(refilled, _)| *refilled);
            for (_, key) in by_age.into_iter().take(Self::MAX_KEYS / 2) {
                buckets.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_and_keys_are_independent() {
        let buckets = KeyedBuckets::new(2.0, 2.0);
        let start = Instant::now();
        assert_eq!(buckets.take(&"a", 1.0, start), Ok(()));
        assert_eq!(buckets.take(&"a", 1.0, start), Ok(()));
        let wait = buckets.take(&"a", 1.0, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert_eq!(buckets.take(&"b", 1.0, start), Ok(()), "per key");
        let peeked = buckets.waiting(&"a", 1.0, start).unwrap();
        assert!((peeked.as_secs_f64() - 0.5).abs() < 1e-6, "{peeked:?}");
        assert_eq!(
            buckets.waiting(&"c", 1.0, start),
            None,
            "an unseen key is full"
        );
        assert_eq!(
            buckets.take(&"a", 1.0, start + Duration::from_millis(500)),
            Ok(())
        );
    }

    #[test]
    fn a_request_larger_than_the_burst_passes_once_from_a_full_bucket() {
        let buckets = KeyedBuckets::new(100.0, 1000.0);
        let start = Instant::now();
        assert_eq!(buckets.take(&1, 5000.0, start), Ok(()));
        let wait = buckets.take(&1, 50.0, start).unwrap_err();
        assert!(
            (wait.as_secs_f64() - 40.5).abs() < 1e-6,
            "in debt: {wait:?}"
        );
    }

    #[test]
    fn rate_zero_limits_nothing() {
        let buckets = KeyedBuckets::new(0.0, 0.0);
        assert!(buckets.is_unlimited());
        assert_eq!(buckets.take(&1, f64::MAX, Instant::now()), Ok(()));
        assert_eq!(buckets.tracked(), 0);
    }

    #[test]
    fn invented_keys_cannot_grow_the_map_without_bound() {
        let buckets = KeyedBuckets::new(1.0, 10.0);
        let start = Instant::now();
        let max = KeyedBuckets::<u64>::MAX_KEYS as u64;
        for key in 0..max {
            let _ = buckets.take(&key, 1.0, start);
        }
        assert_eq!(buckets.tracked(), KeyedBuckets::<u64>::MAX_KEYS);
        // Every bucket has refilled a minute later: a new key drops them all.
        let later = start + Duration::from_secs(60);
        let _ = buckets.take(&u64::MAX, 1.0, later);
        assert_eq!(buckets.tracked(), 1);
        // Keys all still draining: the oldest go.
        for key in 0..max * 3 {
            let _ = buckets.take(&key, 1.0, later);
        }
        assert!(buckets.tracked() <= KeyedBuckets::<u64>::MAX_KEYS);
    }
}
