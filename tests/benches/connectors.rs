//! Load generator for the connectors: simulated tenants' logs served by the Microsoft fake
//! (with a network latency per request), every tenant onboarded at once, and the time until the
//! connectors have pulled every tenant's backfill into ingest. Reported: records and requests
//! per second, and how the per-tenant rate limit and the concurrency shape it.
//!
//! `make up && source .run/env && cargo bench -p tokenwatch-e2e --bench connectors`
//! (`CONNECTOR_BENCH_TENANTS`, default 24; `CONNECTOR_BENCH_USERS` per tenant, default 30;
//! `CONNECTOR_BENCH_DAYS`, default 7; `CONNECTOR_BENCH_CONCURRENCY`, default 8;
//! `CONNECTOR_BENCH_TENANT_RATE` requests/s per tenant, default 5; `CONNECTOR_BENCH_LATENCY_MS`
//! per request, default 50).

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
// A load generator reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::ingest::v1::ListConnectorStatusRequest;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_server::{ConnectorConfig, Endpoints, RetryPolicy};
use tokenwatch_simulate::{Config, simulate_from};
use tokenwatch_test_utils::{TestServer, random_tenant, test_options};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT_ID: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "bench~client.secret";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Simulated tenants (three per simulation) under fresh ids, their records in the last days.
fn tenants(count: usize, users: usize, days: usize) -> Vec<(String, Vec<serde_json::Value>)> {
    let today = Utc::now().duration_trunc(TimeDelta::days(1)).unwrap();
    let mut out = Vec::new();
    for i in 0..count.div_ceil(3) {
        let simulation = simulate_from(
            Config {
                seed: 500 + i as u64,
                tenants: 3.min(count - 3 * i),
                users,
                days,
            },
            today - TimeDelta::days(days as i64),
        );
        for (name, content) in simulation.files {
            if !name.ends_with(".json") {
                continue;
            }
            let document: serde_json::Value = serde_json::from_slice(&content).unwrap();
            let records = match document {
                serde_json::Value::Array(items) => items,
                page => page["value"].as_array().cloned().unwrap_or_default(),
            };
            let Some(original) = records.iter().find_map(|r| {
                r.get("OrganizationId")
                    .or_else(|| r.get("resourceTenantId"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            }) else {
                continue;
            };
            let position = out.iter().position(|(o, _, _)| *o == original);
            let index = position.unwrap_or_else(|| {
                out.push((original.clone(), random_tenant(), Vec::new()));
                out.len() - 1
            });
            let tenant = out[index].1.clone();
            let text = serde_json::to_string(&records)
                .unwrap()
                .replace(&original, &tenant);
            let records: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
            out[index].2.extend(records);
        }
    }
    out.into_iter().map(|(_, t, r)| (t, r)).collect()
}

#[tokio::main]
async fn main() {
    let count = env_number("CONNECTOR_BENCH_TENANTS", 24);
    let users = env_number("CONNECTOR_BENCH_USERS", 30);
    let days = env_number("CONNECTOR_BENCH_DAYS", 7);
    let concurrency = env_number("CONNECTOR_BENCH_CONCURRENCY", 8);
    let tenant_rate = env_number("CONNECTOR_BENCH_TENANT_RATE", 5);
    let latency = env_number("CONNECTOR_BENCH_LATENCY_MS", 50);

    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(100, 1000);
    fake.set_latency(Duration::from_millis(latency as u64));
    let tenants = tenants(count, users, days);
    let mut records = 0;
    for (tenant, tenant_records) in &tenants {
        fake.add_app(tenant, CLIENT_ID, SECRET);
        records += tenant_records.len();
        fake.publish(tenant, tenant_records.clone());
    }
    let mut options = test_options();
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response.endpoints = Endpoints::all_at(&fake.url);
    options.connectors = ConnectorConfig {
        concurrency,
        poll: Duration::from_millis(200),
        tenant_rate: tenant_rate as f64,
        global_rate: 0,
        backfill: chrono::Duration::days(days as i64 + 1),
        signin_backfill: chrono::Duration::days(days as i64 + 1),
        ..ConnectorConfig::default()
    };
    options.connector_retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(10),
    };
    let server = TestServer::spawn_with_options(&[], options).await;
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let published = Utc::now();
    let started = Instant::now();
    for (tenant, _) in &tenants {
        server.register(&[tenant]).await;
        server.onboard(tenant, CLIENT_ID, SECRET).await;
    }
    let mut ingest = IngestServiceClient::new(channel);
    loop {
        let sources = ingest
            .list_connector_status(ListConnectorStatusRequest::default())
            .await
            .unwrap()
            .into_inner()
            .sources;
        let behind = sources
            .iter()
            .filter(|s| {
                s.checkpoint
                    .as_ref()
                    .and_then(tokenwatch_proto::from_timestamp)
                    .is_none_or(|c| c <= published)
            })
            .count();
        if sources.len() == tenants.len() * 6 && behind == 0 {
            let pulled: i64 = sources.iter().map(|s| s.records_new).sum();
            assert_eq!(pulled as usize, records, "every record pulled once");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3600), "no progress");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = fake.requests().len();
    println!(
        "connectors: {} tenants x {users} users x {days} days, {records} records, concurrency \
         {concurrency}, {tenant_rate} req/s per tenant, {latency} ms per request",
        tenants.len()
    );
    println!(
        "  caught up in {elapsed:.1} s: {:.0} records/s, {requests} requests ({:.1} req/s, \
         {:.1} per tenant)",
        records as f64 / elapsed,
        requests as f64 / elapsed,
        requests as f64 / tenants.len() as f64
    );
}
