//! The soak benchmark (issue #18): every service in one process with the responder and the
//! connectors on, fed audit records at a steady rate, measured each minute: throughput,
//! ingest → finding latency, the memory of this process, Redis and Postgres, the database's
//! size, and what was logged at WARN and ERROR (tests/soak/engine.rs says how the load is
//! made).
//!
//! `make up && source .run/env && cargo bench -p tokenwatch-e2e --bench soak`
//! (`SOAK_RATE` records/s, default 10000; `SOAK_SECONDS`, default 3600; `SOAK_WINDOW_SECONDS`,
//! default 60; `SOAK_TENANTS`, default 12; `SOAK_USERS` per tenant, default 60; `SOAK_DAYS` per
//! epoch, default 14; `SOAK_WORKERS`, pipeline workers in the process, default 2, one per core;
//! `SOAK_RETENTION_DAYS` of event time kept behind the load, default 0 = keep everything: an
//! hour at 10,000 records/s writes about 61 GB without it; `SOAK_SHARED_BUFFERS_MB`, its
//! Postgres's shared buffers, default 4096, 0 = Postgres's default of 128; `SOAK_LOG`, a file
//! the server's log goes to at INFO, with each slow pipeline step and its milliseconds).

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

#[path = "../soak/engine.rs"]
mod engine;

use std::time::Duration;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let logs = engine::count_logs();
    let config = engine::SoakConfig {
        rate: env_number("SOAK_RATE", 10_000) as f64,
        duration: Duration::from_secs(env_number("SOAK_SECONDS", 3600)),
        window: Duration::from_secs(env_number("SOAK_WINDOW_SECONDS", 60)),
        tenants: env_number("SOAK_TENANTS", 12) as usize,
        users: env_number("SOAK_USERS", 60) as usize,
        days: env_number("SOAK_DAYS", 14) as usize,
        connector_tenants: 2,
        workers: env_number("SOAK_WORKERS", 2) as usize,
        progress: true,
        retention_days: match env_number("SOAK_RETENTION_DAYS", 0) {
            0 => None,
            days => Some(u32::try_from(days).unwrap_or(u32::MAX)),
        },
        shared_buffers_mb: match env_number("SOAK_SHARED_BUFFERS_MB", 4096) {
            0 => None,
            mb => Some(u32::try_from(mb).unwrap_or(u32::MAX)),
        },
    };
    println!("soak: {config:?}");
    let report = engine::run(&config, &logs).await;
    println!("{}", engine::table(&report));
}
