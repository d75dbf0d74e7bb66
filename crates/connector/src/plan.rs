//! What to pull next, as pure functions of checkpoints and the clock: the windows of a source,
//! where a source starts, and how long a failing tenant waits.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokenwatch_graph::SignInKind;
use tokenwatch_storage::connectors::SIGN_IN_SOURCES as SIGN_IN_NAMES;

/// The sign-in sources: their names in status and checkpoints (storage's), and what Graph
/// calls them.
pub const SIGN_IN_SOURCES: [(&str, SignInKind); 2] = [
    (SIGN_IN_NAMES[0], SignInKind::Interactive),
    (SIGN_IN_NAMES[1], SignInKind::NonInteractive),
];

/// The longest sign-in window between two checkpoints: a crash re-pulls at most this much.
pub const SIGN_IN_WINDOW: Duration = Duration::hours(6);

/// How far inside the activity API's 7 days a listing starts, so the API never refuses it.
const RETENTION_MARGIN: Duration = Duration::minutes(5);

/// Where a source's next pull starts, and what it could no longer get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The first window starts here.
    pub from: DateTime<Utc>,
    /// Content that expired before it was pulled: `[from, to)`.
    pub gap: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Where to start a source: `overlap` before its checkpoint (late records; dedupe absorbs the
/// repeats), or `backfill` before `now` for a source never pulled; never before `retention`
/// (when the API keeps content only that long), which then reports the gap.
pub fn start(
    checkpoint: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    overlap: Duration,
    backfill: Duration,
    retention: Option<Duration>,
) -> Start {
    let wanted = match checkpoint {
        Some(checkpoint) => checkpoint.min(now) - overlap,
        None => now - backfill,
    };
    let Some(retention) = retention else {
        return Start {
            from: wanted,
            gap: None,
        };
    };
    let oldest = now - retention + RETENTION_MARGIN;
    if wanted >= oldest {
        return Start {
            from: wanted,
            gap: None,
        };
    }
    // Only a checkpoint makes a gap: a backfill asking for more than is kept loses nothing.
    let gap = checkpoint
        .filter(|checkpoint| *checkpoint < oldest)
        .map(|checkpoint| (checkpoint, oldest));
    Start { from: oldest, gap }
}

/// Consecutive windows `[start, end)` from `from` to `now`, none longer than `longest`.
pub fn windows(
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    longest: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows = Vec::new();
    let mut start = from;
    while start < now {
        let end = (start + longest).min(now);
        windows.push((start, end));
        start = end;
    }
    windows
}

/// How long a tenant waits after `failures` rounds in a row got nothing done: `base` doubled
/// per failure up to `longest`, spread by `jitter` (a number in `[0, 1)`) over its last half so
/// that tenants failing together (Microsoft down) do not come back together.
pub fn backoff(failures: u32, base: StdDuration, longest: StdDuration, jitter: f64) -> StdDuration {
    let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let capped = doubled.min(longest);
    capped / 2 + capped.mul_f64(0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_the_activity_feeds_content_types() {
        assert_eq!(
            tokenwatch_storage::connectors::ACTIVITY_SOURCES,
            tokenwatch_graph::CONTENT_TYPES
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().into()
    }

    #[test]
    fn a_new_source_backfills_and_a_known_one_overlaps_its_checkpoint() {
        let now = at("2026-11-28T12:00:00Z");
        let new = start(None, now, Duration::minutes(10), Duration::days(2), None);
        assert_eq!(new.from, at("2026-11-26T12:00:00Z"));
        let known = start(
            Some(at("2026-11-28T11:00:00Z")),
            now,
            Duration::minutes(10),
            Duration::days(2),
            None,
        );
        assert_eq!(known.from, at("2026-11-28T10:50:00Z"));
        assert_eq!(known.gap, None);
    }

    #[test]
    fn the_activity_feed_starts_inside_its_seven_days_and_names_what_expired() {
        let now = at("2026-11-28T12:00:00Z");
        let week = Some(Duration::days(7));
        let oldest = at("2026-11-21T12:05:00Z");
        let backfill = start(None, now, Duration::minutes(10), Duration::days(30), week);
        assert_eq!(
            backfill,
            Start {
                from: oldest,
                gap: None
            }
        );
        let stale = at("2026-11-19T00:00:00Z");
        let behind = start(
            Some(stale),
            now,
            Duration::minutes(10),
            Duration::days(7),
            week,
        );
        assert_eq!(behind.from, oldest);
        assert_eq!(behind.gap, Some((stale, oldest)));
        // Overlap alone reaching past the edge is no gap.
        let edge = start(
            Some(oldest),
            now,
            Duration::minutes(10),
            Duration::days(7),
            week,
        );
        assert_eq!(
            edge,
            Start {
                from: oldest,
                gap: None
            }
        );
    }

    #[test]
    fn windows_cover_the_range_without_gaps_or_overlaps() {
        let from = at("2026-11-26T06:30:00Z");
        let now = at("2026-11-28T12:00:00Z");
        let windows = windows(from, now, Duration::hours(24));
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0], (from, at("2026-11-27T06:30:00Z")));
        assert_eq!(windows[2].1, now);
        for pair in windows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        assert!(super::windows(now, now, Duration::hours(1)).is_empty());
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_spreads() {
        let base = StdDuration::from_secs(30);
        let cap = StdDuration::from_secs(1800);
        assert_eq!(backoff(1, base, cap, 0.0), StdDuration::from_secs(15));
        assert_eq!(backoff(1, base, cap, 0.999_999).as_secs(), 29);
        assert_eq!(backoff(3, base, cap, 0.0), StdDuration::from_secs(60));
        assert_eq!(backoff(30, base, cap, 0.0), StdDuration::from_secs(900));
        assert!(backoff(30, base, cap, 1.0) <= cap);
    }
}
