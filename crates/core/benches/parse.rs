//! Parse + normalize (+ enrich) throughput over real-shaped UAL records, beside a plain
//! `serde_json::from_slice::<Value>` of the same bytes. `cargo bench -p tokenwatch-core`;
//! with `TOKENWATCH_IPDB` set (`make ipdb`) it also measures enrichment.

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokenwatch_core::enrich::IpDb;
use tokenwatch_core::parse::{Limits, parse_document};

const RECORDS: usize = 10_000;

/// The management-activity fixture's good records, repeated with fresh ids and addresses: the
/// mix of AzureActiveDirectory, Exchange, SharePoint and Exchange admin records.
fn document() -> Vec<u8> {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/management_activity.json"
    ))
    .unwrap();
    let records: Vec<serde_json::Value> = serde_json::from_slice(&fixture).unwrap();
    let good: Vec<&serde_json::Value> = records.iter().take(4).collect();
    let mut out = Vec::with_capacity(RECORDS * 1500);
    out.push(b'[');
    for n in 0..RECORDS {
        if n > 0 {
            out.push(b',');
        }
        let mut record = good[n % good.len()].clone();
        record["Id"] = format!("bench-{n}").into();
        record["ClientIP"] =
            format!("{}.{}.{}.{}:443", 20 + n % 200, n % 251, n % 241, n % 239).into();
        serde_json::to_writer(&mut out, &record).unwrap();
    }
    out.push(b']');
    out
}

fn bench(c: &mut Criterion) {
    let content = document();
    let mut group = c.benchmark_group("ual");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(20);
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&content)).unwrap())
    });
    group.bench_function("parse_normalize", |b| {
        b.iter(|| {
            let records = parse_document(black_box(&content), None, &Limits::default());
            assert_eq!(records.len(), RECORDS);
            records
        })
    });
    if let Some(dir) = std::env::var_os("TOKENWATCH_IPDB") {
        let ipdb = IpDb::load(std::path::Path::new(&dir)).unwrap();
        group.bench_function("parse_normalize_enrich", |b| {
            b.iter(|| {
                let mut records = parse_document(black_box(&content), None, &Limits::default());
                for record in &mut records {
                    if let Ok(event) = &mut record.outcome {
                        ipdb.enrich(event);
                    }
                }
                records
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
