//! The five-minute soak (`make test`): every service in one process, with the responder and the
//! connectors on, fed a steady load; after warm-up (the first half) the memory of the process,
//! of Redis and of Postgres stays flat, every window's ingest → finding p99 is under 2 s, and
//! nothing is logged at ERROR. The hour at 10,000 records/s is `benches/soak.rs`.
//!
//! A debug build (as `make test` runs it) is several times slower than a release one, and this
//! test runs beside others, so the rate is one a debug build keeps up with on a 2-core machine
//! with room to spare (`SOAK_RATE`, default 500 records/s; `SOAK_SECONDS`, default 300). Its
//! Postgres and Redis are its own, so the memory it measures is its own.

// Test targets link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

#[path = "engine.rs"]
mod engine;

use std::time::Duration;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_minutes_of_steady_load_keep_memory_flat_and_findings_prompt() {
    let logs = engine::count_logs();
    let config = engine::SoakConfig {
        rate: env_number("SOAK_RATE", 500) as f64,
        duration: Duration::from_secs(env_number("SOAK_SECONDS", 300)),
        window: Duration::from_secs(30),
        tenants: 3,
        users: 30,
        days: 7,
        connector_tenants: 2,
        workers: 1,
        progress: false,
        retention_days: None,
        shared_buffers_mb: None,
    };
    let report = engine::run(&config, &logs).await;
    let table = engine::table(&report);
    // The figures, for `--nocapture` (nextest shows them when the test fails).
    #[allow(clippy::print_stdout)]
    {
        println!("{table}");
    }
    let windows = &report.windows;
    let offered = config.rate * config.duration.as_secs_f64();
    let sent: usize = windows.iter().map(|w| w.records).sum();
    assert!(
        sent as f64 >= 0.95 * offered,
        "sent {sent} of {offered} offered\n{table}"
    );
    let timed: usize = windows.iter().map(|w| w.findings).sum();
    assert!(
        timed >= 10,
        "findings were made throughout: {timed}\n{table}"
    );
    for window in windows {
        assert!(
            window.p99 < Duration::from_secs(2),
            "p99 at {:?}: {:?}\n{table}",
            window.at,
            window.p99
        );
        assert_eq!(window.errors, 0, "{:#?}\n{table}", report.logged);
    }
    // Flat after warm-up: the last window within 15 % (plus a little) of the highest the
    // first half reached. (Half, not a minute: a new Postgres takes two minutes at this rate to
    // fill its 128 MB of shared buffers, which its PSS counts as they are touched.)
    let warm = &windows[..windows.len() / 2];
    let last = windows.last().unwrap();
    for (what, of) in [
        (
            "this process's RSS",
            (|w: &engine::Window| w.process_rss) as fn(&engine::Window) -> u64,
        ),
        ("Redis used_memory", |w| w.redis_used),
        ("Postgres PSS", |w| w.postgres_pss),
    ] {
        let warmed = warm.iter().map(of).max().unwrap();
        assert!(
            of(last) as f64 <= warmed as f64 * 1.15 + 16e6,
            "{what} grew from {warmed} to {}\n{table}",
            of(last)
        );
    }
    assert!(
        report.connector_records > 0,
        "the connectors pulled\n{table}"
    );
    assert!(
        report.actions.iter().any(|(state, _)| state == "succeeded"),
        "the responder acted: {:?}\n{table}",
        report.actions
    );
}
