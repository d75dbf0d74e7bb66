//! The detection engine over a simulated two-week, multi-tenant export: the engine's cost per
//! event once parsed, beside parsing the same files, and the memory a user baseline takes.
//! `cargo bench -p tokenwatch-core --bench engine`.

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
// The footprint is reported on stderr beside criterion's timings.
#![allow(clippy::print_stderr)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokenwatch_core::detect::{Engine, WeightSet};
use tokenwatch_core::parse::{Limits, parse_document};

fn bench(c: &mut Criterion) {
    let simulation = tokenwatch_simulate::simulate(tokenwatch_simulate::Config {
        seed: 1,
        tenants: 5,
        users: 100,
        days: 14,
    });
    let bytes: usize = simulation.files.iter().map(|(_, f)| f.len()).sum();
    let mut events: Vec<(String, tokenwatch_core::event::NormalizedEvent)> = simulation
        .files
        .iter()
        .flat_map(|(_, content)| parse_document(content, None, &Limits::default()))
        .filter_map(|r| r.outcome.ok())
        .map(|e| (tokenwatch_core::detect::tenant_of(&e, "unknown"), e))
        .collect();
    events.sort_by(|(ta, a), (tb, b)| ta.cmp(tb).then(a.event_time.cmp(&b.event_time)));
    let records = events.len() as u64;
    eprintln!("{} records, {:.1} MB", records, bytes as f64 / 1e6);

    let mut group = c.benchmark_group("two_weeks_500_users");
    group.throughput(Throughput::Elements(records));
    group.sample_size(10);
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for (_, content) in &simulation.files {
                black_box(serde_json::from_slice::<serde_json::Value>(content).unwrap());
            }
        })
    });
    group.bench_function("parse_normalize", |b| {
        b.iter(|| {
            for (_, content) in &simulation.files {
                black_box(parse_document(content, None, &Limits::default()));
            }
        })
    });
    group.bench_function("engine_only", |b| {
        b.iter(|| {
            let mut engine = Engine::new(WeightSet::default());
            for (tenant, event) in &events {
                engine.observe(tenant, event);
            }
            black_box(engine.finish())
        })
    });
    group.finish();

    let mut engine = Engine::new(WeightSet::default());
    for (tenant, event) in &events {
        engine.observe(tenant, event);
    }
    let (users, baseline_bytes) = engine.baseline_footprint();
    eprintln!(
        "{users} user baselines, {} bytes each on average",
        baseline_bytes / users.max(1)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
