//! The retention run beside ingest: every hour, what is older than the operator keeps is
//! deleted (see `tokenwatch_storage::retention`), one replica at a time.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokenwatch_storage::Database;

/// Applies retention of `keep` every `every`, the first time at once, until `stopped`.
pub(crate) async fn run(
    database: Database,
    keep: chrono::Duration,
    every: Duration,
    stopped: impl Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            _ = ticks.tick() => {}
        }
        let cutoff = Utc::now() - keep;
        match tokenwatch_storage::retention::retain_exclusively(&database, cutoff).await {
            Ok(Some(_)) => {}
            Ok(None) => tracing::debug!("retention: another replica is running it"),
            Err(error) => tracing::warn!(%error, "retention run failed; retrying next hour"),
        }
    }
}
