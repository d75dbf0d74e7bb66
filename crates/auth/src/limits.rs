//! How often one caller may call: a flood from one token slows that caller alone, and an
//! address guessing tokens is cut off before each guess costs a signature check.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokenwatch_ratelimit::KeyedBuckets;

/// Seconds of a caller's rate it may spend at once: a page load or a script's burst passes.
const BURST_SECONDS: f64 = 10.0;
/// Refused tokens one address may present a second, with [`REFUSED_BURST`] at once: enough
/// for a misconfigured client to see its error, too few to guess anything.
const REFUSED_PER_SECOND: f64 = 5.0;
const REFUSED_BURST: f64 = 50.0;

/// The request-rate limits the [`crate::AuthInterceptor`] enforces.
#[derive(Debug)]
pub struct CallerLimits {
    /// Requests per verified subject (the token's `sub`), whatever token it presents.
    per_subject: KeyedBuckets<String>,
    /// Refused tokens per peer address.
    refused_per_peer: KeyedBuckets<IpAddr>,
}

impl CallerLimits {
    /// `requests_per_second` per caller, with 10 s of it as a burst; 0 turns off both limits.
    pub fn new(requests_per_second: f64) -> Self {
        if requests_per_second <= 0.0 {
            return CallerLimits::unlimited();
        }
        CallerLimits {
            per_subject: KeyedBuckets::new(
                requests_per_second,
                requests_per_second * BURST_SECONDS,
            ),
            refused_per_peer: KeyedBuckets::new(REFUSED_PER_SECOND, REFUSED_BURST),
        }
    }

    /// No limit at all (tests and benchmarks that measure the server, not the limiter).
    pub fn unlimited() -> Self {
        CallerLimits {
            per_subject: KeyedBuckets::new(0.0, 0.0),
            refused_per_peer: KeyedBuckets::new(0.0, 0.0),
        }
    }

    /// Counts one request of `subject`; over its rate, how long to wait.
    pub(crate) fn request(&self, subject: &str, now: Instant) -> Result<(), Duration> {
        self.per_subject.take(subject, 1.0, now)
    }

    /// Whether `peer` has presented too many refused tokens lately to be heard now.
    pub(crate) fn peer_is_blocked(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        self.refused_per_peer.waiting(&peer, 1.0, now)
    }

    /// Counts one refused token from `peer`.
    pub(crate) fn refused(&self, peer: IpAddr, now: Instant) {
        let _ = self.refused_per_peer.take(&peer, 1.0, now);
    }
}
