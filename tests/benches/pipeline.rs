//! Load generator for the whole online pipeline in one process (ingest, pipeline worker,
//! detection API, Postgres and Redis on this machine): simulated tenants' audit records are sent
//! in event-time order at a target rate, as live connectors would; the findings stream is
//! followed; reported are the rate sustained through the pipeline, the latency from the ingest
//! acknowledgement of the record that made a session a finding to that finding on the stream,
//! and the Redis memory of the hot state per 1,000 users.
//!
//! `make up && source .run/env && cargo bench -p tokenwatch-e2e --bench pipeline`
//! (`PIPELINE_BENCH_RATE` records/s, default 20000; `PIPELINE_BENCH_TENANTS`, default 12;
//! `PIPELINE_BENCH_USERS` per tenant, default 60; `PIPELINE_BENCH_DAYS`, default 14;
//! `PIPELINE_BENCH_WORKERS`, default 1).

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
// A load generator reports on stdout.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokenwatch_auth::Role;
use tokenwatch_cache::Cache;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::{FindingChange, WatchFindingsRequest};
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_simulate::{Config, simulate};
use tokenwatch_test_utils::{TestServer, pipeline_options, random_tenant, redis_url};
use tokenwatch_types::TenantId;

/// Per tenant, each piece's latest event time and when its ingest was acknowledged.
type Acks = HashMap<String, Vec<(String, Instant)>>;

/// Records per ingest call: what a connector sends per content blob.
const PER_DOCUMENT: usize = 500;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One ingest call: its tenant, content, records and the latest event time in it.
struct Piece {
    tenant: String,
    content: Vec<u8>,
    records: usize,
    last_time: String,
}

/// Per tenant: the audit records in event-time order, in pieces. Simulations of three tenants
/// each (every simulation plants 12 attacks, so more tenants give more findings to time).
fn workload(tenants: usize, users: usize, days: usize) -> (Vec<String>, Vec<Vec<Piece>>) {
    let files: Vec<(String, Vec<u8>)> = (0..tenants.div_ceil(3))
        .flat_map(|i| {
            simulate(Config {
                seed: 99 + i as u64,
                tenants: 3.min(tenants - 3 * i),
                users,
                days,
            })
            .files
        })
        .collect();
    let mut names = Vec::new();
    let mut per_tenant = Vec::new();
    for (name, content) in &files {
        if !name.starts_with("ual-") {
            continue;
        }
        let mut records: Vec<serde_json::Value> = serde_json::from_slice(content).unwrap();
        let original = records[0]["OrganizationId"].as_str().unwrap().to_owned();
        let tenant = random_tenant();
        records.sort_by(|a, b| a["CreationTime"].as_str().cmp(&b["CreationTime"].as_str()));
        let pieces = records
            .chunks(PER_DOCUMENT)
            .map(|chunk| {
                let text = serde_json::to_string(chunk)
                    .unwrap()
                    .replace(&original, &tenant);
                Piece {
                    tenant: tenant.clone(),
                    content: text.into_bytes(),
                    records: chunk.len(),
                    last_time: chunk.last().unwrap()["CreationTime"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                }
            })
            .collect();
        names.push(tenant);
        per_tenant.push(pieces);
    }
    (names, per_tenant)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let rate = env_number("PIPELINE_BENCH_RATE", 20_000) as f64;
    let tenants = env_number("PIPELINE_BENCH_TENANTS", 12);
    let users = env_number("PIPELINE_BENCH_USERS", 60);
    let days = env_number("PIPELINE_BENCH_DAYS", 14);
    let workers = env_number("PIPELINE_BENCH_WORKERS", 1);
    let (names, per_tenant) = workload(tenants, users, days);
    let total: usize = per_tenant.iter().flatten().map(|p| p.records).sum();
    println!(
        "workload: {} tenants × {users} users × {days} days = {total} audit records, {} pieces",
        names.len(),
        per_tenant.iter().map(Vec::len).sum::<usize>()
    );

    let server = TestServer::spawn_with_options(&[], pipeline_options(workers)).await;
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    server.register(&names_ref).await;

    // The stream: when each finding was created.
    let created: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let mut watcher = DetectionServiceClient::new(channel.clone())
        .watch_findings(WatchFindingsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let seen = Arc::clone(&created);
    tokio::spawn(async move {
        while let Ok(Some(item)) = watcher.message().await {
            if item.change() == FindingChange::Created
                && let Some(finding) = item.finding
            {
                let detected = finding
                    .detected_at
                    .as_ref()
                    .and_then(tokenwatch_proto::from_timestamp)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .push((finding.tenant_id, detected, Instant::now()));
            }
        }
    });

    // Send: one task per tenant, in event-time order, all together paced to `rate`.
    let acks: Arc<Mutex<Acks>> = Arc::default();
    let started = Instant::now();
    let per_tenant_rate = rate / names.len() as f64;
    let mut senders = Vec::new();
    for pieces in per_tenant {
        let channel = channel.clone();
        let acks = Arc::clone(&acks);
        senders.push(tokio::spawn(async move {
            let mut client =
                IngestServiceClient::new(channel).max_encoding_message_size(usize::MAX);
            let mut sent = 0usize;
            for piece in pieces {
                let due = started + Duration::from_secs_f64(sent as f64 / per_tenant_rate);
                tokio::time::sleep_until(due.into()).await;
                client
                    .ingest_batch(IngestBatchRequest {
                        tenant_id: piece.tenant.clone(),
                        document: Some(Document {
                            format: SourceFormat::Unspecified.into(),
                            content: piece.content,
                            source_name: "bench.json".to_owned(),
                        }),
                    })
                    .await
                    .unwrap();
                acks.lock()
                    .unwrap()
                    .entry(piece.tenant)
                    .or_default()
                    .push((piece.last_time, Instant::now()));
                sent += piece.records;
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let sent_in = started.elapsed();

    // Wait for the pipeline to process everything.
    let cache = Cache::connect(&redis_url()).await.unwrap();
    let ids: Vec<TenantId> = names.iter().map(|t| TenantId::parse(t).unwrap()).collect();
    loop {
        let mut all = true;
        for tenant in &ids {
            if !tokenwatch_pipeline::settled(&server.database, &cache, *tenant)
                .await
                .unwrap()
            {
                all = false;
                break;
            }
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processed_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Latency: the ack of the first piece holding the record at the finding's detected_at.
    let acks = acks.lock().unwrap().clone();
    let streamed = created.lock().unwrap().len();
    let mut latencies: Vec<Duration> = created
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(tenant, detected, at)| {
            let ack = acks
                .get(tenant)?
                .iter()
                .find(|(last, _)| last.as_str() >= detected.as_str())?;
            Some(at.saturating_duration_since(ack.1))
        })
        .collect();
    latencies.sort();

    // Redis memory of the hot state: every user value and tenant value of the bench tenants.
    let mut connection = cache.connection();
    let mut bytes = 0u64;
    let mut user_keys = 0u64;
    for tenant in &names {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("tw:{{{tenant}}}:*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        for key in keys {
            if key.ends_with(":touched") {
                continue;
            }
            let used: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap();
            bytes += used.unwrap_or(0);
            if key.contains(":user:") {
                user_keys += 1;
            }
        }
    }

    println!(
        "sent {total} records in {:.1} s ({:.0} records/s offered); pipeline done {:.2} s after the start: {:.0} records/s sustained end to end",
        sent_in.as_secs_f64(),
        total as f64 / sent_in.as_secs_f64(),
        processed_in.as_secs_f64(),
        total as f64 / processed_in.as_secs_f64()
    );
    println!(
        "findings created on the stream: {streamed}, timed: {}; ack → stream latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!(
        "hot state in Redis: {user_keys} users, {:.1} MB in all, {:.1} MB per 1,000 users",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / (user_keys.max(1) as f64 / 1000.0)
    );
    server.stop().await;
}
