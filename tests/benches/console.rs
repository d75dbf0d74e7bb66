//! The console's first page at 10,000 open findings: a fresh browser (headless Chromium, no
//! cache) opens the page signed in, and the time until the first 100 rows are on screen is
//! measured, seven times. The findings are spread over 20 tenants and carry a real engine
//! explanation each, so the page's answer is the size it is in use. Needs the stores, Chromium
//! and the console's packages: `make up && source .run/env && make console`, then
//! `cargo bench -p tokenwatch-e2e --bench console`.

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::path::Path;

use tokenwatch_auth::Role;
use tokenwatch_core::parse::{Limits, parse_document};
use tokenwatch_proto::tenant::v1::CreateTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_storage::findings::{FindingWrite, upsert_finding};
use tokenwatch_test_utils::{TestServer, test_options};
use tokenwatch_types::{FindingId, IncidentId, TenantId};

const TENANTS: usize = 20;
const FINDINGS: usize = 10_000;

/// One real explanation, from the engine on a simulated tenant.
fn explanation() -> (serde_json::Value, f64) {
    let simulation = tokenwatch_simulate::simulate(tokenwatch_simulate::Config {
        seed: 3,
        tenants: 1,
        users: 20,
        days: 7,
    });
    let mut events = Vec::new();
    for (name, content) in &simulation.files {
        if !name.ends_with(".json") {
            continue;
        }
        for record in parse_document(content, None, &Limits::default()) {
            if let Ok(event) = record.outcome {
                events.push((tokenwatch_core::detect::tenant_of(&event, ""), event));
            }
        }
    }
    let finding = tokenwatch_core::detect::run(events, Default::default())
        .into_iter()
        .next()
        .expect("the simulation has a finding");
    (serde_json::to_value(&finding).unwrap(), finding.score)
}

fn main() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("Chromium (make test installs it)");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, token) = runtime.block_on(async {
        let mut options = test_options();
        options.console.dev_auth = true;
        options.pipeline_workers = 0;
        let server = TestServer::spawn_with_options(&[], options).await;
        let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
        let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
            .await
            .unwrap();
        let (explanation, score) = explanation();
        let now = chrono::Utc::now();
        for t in 0..TENANTS {
            let tenant = format!("{t:08x}-0000-4000-8000-00000000be7c");
            TenantServiceClient::new(channel.clone())
                .create_tenant(CreateTenantRequest {
                    tenant_id: tenant.clone(),
                    display_name: format!("Customer {t}"),
                })
                .await
                .unwrap();
            let id = TenantId::parse(&tenant).unwrap();
            let mut tx = server.database.tenant_tx(id).await.unwrap();
            for n in 0..FINDINGS / TENANTS {
                let seen = now - chrono::Duration::minutes((n * TENANTS + t) as i64);
                let write = FindingWrite {
                    finding_id: FindingId::from_uuid(uuid::Uuid::new_v4()),
                    incident_id: IncidentId::from_uuid(uuid::Uuid::new_v4()),
                    user_id: format!("user{n}@customer{t}.example"),
                    session_id: uuid::Uuid::new_v4().to_string(),
                    score,
                    threshold: 3.0,
                    severity: tokenwatch_types::Severity::High,
                    first_seen: seen - chrono::Duration::hours(2),
                    last_seen: seen,
                    detected_at: seen,
                    weight_version: 1,
                    explanation: explanation.clone(),
                };
                upsert_finding(&mut tx, id, &write).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        (server, admin)
    });
    let plan = serde_json::json!({
        "url": server.web_url,
        "chromium": chromium,
        "token": token,
        "runs": 7,
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::process::Command::new("node")
        .arg(root.join("console/test/bench-queue.mjs"))
        .env("TOKENWATCH_CONSOLE_PLAN", plan.to_string())
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    let mut times: Vec<f64> = serde_json::from_value(report["millis"].clone())
        .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    times.sort_by(f64::total_cmp);
    let mut calls: Vec<f64> =
        serde_json::from_value(report["listMillis"].clone()).unwrap_or_default();
    calls.sort_by(f64::total_cmp);
    println!(
        "console/queue first 100 of {FINDINGS} open findings ({TENANTS} tenants), {} cold loads: median {:.0} ms, fastest {:.0} ms, slowest {:.0} ms; of which ListFindings median {:.0} ms for {} KB",
        times.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        calls.get(calls.len() / 2).copied().unwrap_or(f64::NAN),
        report["answerBytes"].as_u64().unwrap_or(0) / 1024,
    );
    drop(server);
}
