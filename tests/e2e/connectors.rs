//! The connectors end to end: tenants onboarded through the API, their logs served by the
//! Microsoft fake (token endpoint, Management Activity API, Graph sign-ins) from the simulator,
//! pulled into ingest and on into findings — equal to the offline scan of the same records —
//! across a crash, throttling, a broken tenant, and two replicas.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{ConnectorSourceStatus, ListConnectorStatusRequest};
use tokenwatch_server::{ConnectorConfig, Endpoints, Options, RetryPolicy, ServiceName};
use tokenwatch_simulate::{Config, simulate_from};
use tokenwatch_test_utils::{TestServer, pipeline_options, random_tenant};
use tokenwatch_types::TenantId;

use crate::pipeline::{assert_same, online, scan, settle};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT_ID: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "fake~client.secret-value_1";

/// Server options: connectors polling briskly against the fake, a pipeline worker.
fn options(fake: &MicrosoftFake, concurrency: usize) -> Options {
    let mut options = pipeline_options(1);
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response.endpoints = Endpoints::all_at(&fake.url);
    options.connectors = ConnectorConfig {
        concurrency,
        interval: Duration::from_secs(60),
        poll: Duration::from_millis(50),
        lease: Duration::from_secs(3),
        round_budget: Duration::from_secs(60),
        tenant_rate: 200.0,
        global_rate: 2_000,
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(4),
        // Sign-ins from the whole simulation (Graph keeps 30 days).
        backfill: chrono::Duration::days(12),
        signin_backfill: chrono::Duration::days(12),
        ..ConnectorConfig::default()
    };
    options.connector_retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(5),
    };
    options
}

/// A tenant's simulated records, in the last days (so the APIs' windows hold them), under a
/// fresh tenant id.
struct Simulated {
    tenant: String,
    records: Vec<serde_json::Value>,
}

fn simulated(seed: u64, users: usize, days: usize) -> Simulated {
    let today = Utc::now().duration_trunc(TimeDelta::days(1)).unwrap();
    let simulation = simulate_from(
        Config {
            seed,
            tenants: 1,
            users,
            days,
        },
        today - TimeDelta::days(days as i64),
    );
    let original = simulation.labels[0].tenant_id.clone();
    let tenant = random_tenant();
    let mut records = Vec::new();
    for (name, content) in simulation.files {
        if !name.ends_with(".json") {
            continue;
        }
        let text = String::from_utf8(content)
            .unwrap()
            .replace(&original, &tenant);
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        match document {
            serde_json::Value::Array(items) => records.extend(items),
            mut page => {
                if let serde_json::Value::Array(items) = page["value"].take() {
                    records.extend(items);
                }
            }
        }
    }
    Simulated { tenant, records }
}

impl Simulated {
    /// The records as export files, for the offline scan: the audit records, and a page of
    /// sign-ins.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let (sign_ins, audit): (Vec<_>, Vec<_>) = self
            .records
            .iter()
            .cloned()
            .partition(|r| r.get("createdDateTime").is_some());
        vec![
            ("ual.json".to_owned(), serde_json::to_vec(&audit).unwrap()),
            (
                "signins.json".to_owned(),
                serde_json::to_vec(&serde_json::json!({ "value": sign_ins })).unwrap(),
            ),
        ]
    }
}

/// Registers the tenant, gives it credentials, switches both sources on.
async fn onboard(server: &TestServer, tenant: &str, secret: &str) {
    server.register(&[tenant]).await;
    server.onboard(tenant, CLIENT_ID, secret).await;
}

async fn status(server: &TestServer, tenant: &str) -> Vec<ConnectorSourceStatus> {
    let token = server.tokens.valid(&[Role::Analyst], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    IngestServiceClient::new(channel)
        .list_connector_status(ListConnectorStatusRequest {
            tenant_id: tenant.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .sources
}

/// Waits until every source of the tenant has a checkpoint past `after`.
async fn caught_up(server: &TestServer, tenant: &str, after: chrono::DateTime<Utc>) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let sources = status(server, tenant).await;
        let done = sources.len() == 6
            && sources.iter().all(|s| {
                s.checkpoint
                    .as_ref()
                    .and_then(tokenwatch_proto::from_timestamp)
                    .is_some_and(|c| c > after)
            });
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tenant {tenant} did not catch up: {sources:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Raw records and events stored for the tenant.
async fn stored(server: &TestServer, tenant: &str) -> (i64, i64) {
    let mut tx = server
        .database
        .tenant_tx(TenantId::parse(tenant).unwrap())
        .await
        .unwrap();
    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_records")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    (raw, events)
}

/// How many times each content blob of the tenant was fetched.
fn blob_fetches(fake: &MicrosoftFake, tenant: &str) -> HashMap<String, usize> {
    let prefix = format!("/api/v1.0/{tenant}/activity/feed/audit/");
    let mut fetches = HashMap::new();
    for request in fake.requests() {
        if let Some(id) = request.path.strip_prefix(&prefix) {
            *fetches.entry(id.to_owned()).or_default() += 1;
        }
    }
    fetches
}

/// Distinct record ids among the records (what ingest can store at most).
fn distinct(records: &[serde_json::Value]) -> usize {
    records
        .iter()
        .filter_map(|r| r.get("Id").or_else(|| r.get("id")))
        .filter_map(|id| id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

#[tokio::test]
async fn two_tenants_are_pulled_end_to_end_into_findings() {
    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(5, 200);
    let tenants = [simulated(21, 24, 9), simulated(22, 24, 9)];
    let mut blobs = BTreeMap::new();
    for simulated in &tenants {
        fake.add_app(&simulated.tenant, CLIENT_ID, SECRET);
        blobs.insert(
            simulated.tenant.clone(),
            fake.publish(&simulated.tenant, simulated.records.clone()),
        );
    }
    let published = Utc::now();
    let server = TestServer::spawn_with_options(&[], options(&fake, 2)).await;
    for simulated in &tenants {
        onboard(&server, &simulated.tenant, SECRET).await;
    }
    for simulated in &tenants {
        let tenant = &simulated.tenant;
        caught_up(&server, tenant, published).await;
        assert_eq!(
            fake.subscriptions(tenant),
            [
                "Audit.AzureActiveDirectory",
                "Audit.Exchange",
                "Audit.General",
                "Audit.SharePoint"
            ]
        );
        let (raw, events) = stored(&server, tenant).await;
        assert_eq!(
            raw as usize,
            distinct(&simulated.records),
            "every record, once"
        );
        assert_eq!(events, raw);
        let fetches = blob_fetches(&fake, tenant);
        assert_eq!(fetches.len(), blobs[tenant].len(), "every blob fetched");
        assert!(fetches.values().all(|n| *n == 1), "no blob fetched twice");
        let sources = status(&server, tenant).await;
        let new: i64 = sources.iter().map(|s| s.records_new).sum();
        assert_eq!(new, raw, "status counts what was stored: {sources:#?}");
        assert!(
            sources
                .iter()
                .all(|s| s.enabled && s.healthy && s.last_error.is_empty())
        );
        assert!(
            sources
                .iter()
                .all(|s| s.lag.as_ref().is_some_and(|l| l.seconds < 120))
        );
        settle(&server, tenant).await;
        assert_same(
            &online(&server, tenant).await,
            &scan(&simulated.files(), tenant),
        );
    }
}

#[tokio::test]
async fn a_restart_mid_pull_neither_loses_nor_duplicates() {
    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(3, 50);
    fake.set_latency(Duration::from_millis(15));
    let simulated = simulated(23, 24, 9);
    fake.add_app(&simulated.tenant, CLIENT_ID, SECRET);
    let blobs = fake.publish(&simulated.tenant, simulated.records.clone());
    let published = Utc::now();
    let first = TestServer::spawn_with_options(&[], options(&fake, 1)).await;
    onboard(&first, &simulated.tenant, SECRET).await;
    // Crash once a third of the blobs are in.
    let deadline = Instant::now() + Duration::from_secs(120);
    while blob_fetches(&fake, &simulated.tenant).len() < blobs.len() / 3 {
        assert!(Instant::now() < deadline, "the first server pulled nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let database_url = first.database_url.clone();
    first.kill().await;
    let fetched_before = blob_fetches(&fake, &simulated.tenant).len();
    assert!(fetched_before < blobs.len(), "the crash came mid-pull");

    let second = TestServer::spawn_on(&database_url, &[], options(&fake, 1)).await;
    caught_up(&second, &simulated.tenant, published).await;
    let (raw, events) = stored(&second, &simulated.tenant).await;
    assert_eq!(
        raw as usize,
        distinct(&simulated.records),
        "nothing lost, nothing twice"
    );
    assert_eq!(events, raw);
    let fetches = blob_fetches(&fake, &simulated.tenant);
    assert_eq!(fetches.len(), blobs.len(), "every blob fetched");
    let repeated = fetches.values().filter(|n| **n > 1).count();
    assert!(
        repeated <= 1,
        "only the blob in flight at the crash is fetched again: {repeated}"
    );
    settle(&second, &simulated.tenant).await;
    assert_same(
        &online(&second, &simulated.tenant).await,
        &scan(&simulated.files(), &simulated.tenant),
    );
}

#[tokio::test]
async fn a_throttled_tenant_slows_down_and_recovers() {
    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(5, 200);
    let throttled = simulated(24, 6, 3);
    let calm = simulated(25, 6, 3);
    for simulated in [&throttled, &calm] {
        fake.add_app(&simulated.tenant, CLIENT_ID, SECRET);
        fake.publish(&simulated.tenant, simulated.records.clone());
    }
    // Microsoft throttles one tenant for its first four requests, asking for 2 s each time:
    // more than the client's three attempts, so a round gives up and the tenant waits.
    fake.fail_tenant_next(&throttled.tenant, 429, Some(2), 4);
    let published = Utc::now();
    let server = TestServer::spawn_with_options(&[], options(&fake, 2)).await;
    onboard(&server, &throttled.tenant, SECRET).await;
    onboard(&server, &calm.tenant, SECRET).await;

    caught_up(&server, &calm.tenant, published).await;
    caught_up(&server, &throttled.tenant, published).await;
    for simulated in [&throttled, &calm] {
        let (raw, _) = stored(&server, &simulated.tenant).await;
        assert_eq!(raw as usize, distinct(&simulated.records));
    }
    // Each of the four refused requests was followed by at least the 2 s asked for.
    let times: Vec<Instant> = fake
        .requests()
        .iter()
        .filter(|r| r.tenant.as_deref() == Some(throttled.tenant.as_str()))
        .map(|r| r.time)
        .collect();
    for pair in times.windows(2).take(4) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(1_950), "retried after {gap:?}");
    }
    let sources = status(&server, &throttled.tenant).await;
    assert!(
        sources.iter().map(|s| s.throttled).sum::<i64>() >= 1,
        "the status counts the throttling: {sources:#?}"
    );
    assert!(
        sources.iter().all(|s| s.healthy),
        "throttled is not unhealthy"
    );
    assert!(
        status(&server, &calm.tenant)
            .await
            .iter()
            .all(|s| s.throttled == 0)
    );
}

#[tokio::test]
async fn an_unhealthy_tenant_does_not_stall_a_healthy_one() {
    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(5, 200);
    let broken = random_tenant();
    let healthy = simulated(26, 6, 3);
    let unlicensed = simulated(27, 4, 2);
    // The broken tenant's app has another secret than the one stored.
    fake.add_app(&broken, CLIENT_ID, "the-secret-was-rotated");
    fake.add_app(&healthy.tenant, CLIENT_ID, SECRET);
    fake.add_app(&unlicensed.tenant, CLIENT_ID, SECRET);
    fake.without_premium(&unlicensed.tenant);
    fake.publish(&healthy.tenant, healthy.records.clone());
    fake.publish(&unlicensed.tenant, unlicensed.records.clone());
    let published = Utc::now();
    // One tenant at a time: the broken one must not hold the only slot. Failing tenants wait
    // 2.5 s and more, so a fix that is picked up sooner was picked up because of the fix.
    let mut options = options(&fake, 1);
    options.connectors.retry_base = Duration::from_secs(5);
    options.connectors.retry_max = Duration::from_secs(60);
    let server = TestServer::spawn_with_options(&[], options).await;
    onboard(&server, &broken, SECRET).await;
    onboard(&server, &unlicensed.tenant, SECRET).await;
    onboard(&server, &healthy.tenant, SECRET).await;

    caught_up(&server, &healthy.tenant, published).await;
    let (raw, _) = stored(&server, &healthy.tenant).await;
    assert_eq!(raw as usize, distinct(&healthy.records));

    // The broken tenant is marked unhealthy with the identity platform's reason, and retried.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sign_ins = fake
            .requests()
            .iter()
            .filter(|r| r.path == format!("/{broken}/oauth2/v2.0/token"))
            .count();
        let sources = status(&server, &broken).await;
        if sign_ins >= 2 && sources.iter().all(|s| !s.healthy) {
            assert_eq!(sources.len(), 6);
            assert!(
                sources
                    .iter()
                    .all(|s| s.tenant_error.contains("AADSTS7000215")),
                "{sources:#?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not retried: {sources:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The administrator fixes the secret: the tenant is pulled at once, not after its backoff
    // (5-10 s after two failures). The bound leaves room for the round itself on a loaded
    // 2-core machine: 12 days of sign-in windows and the activity feed's gap check.
    fake.add_app(&broken, CLIENT_ID, SECRET);
    server.set_client_secret(&broken, CLIENT_ID, SECRET).await;
    // What must be quick is the pickup (every source attempted again, before the backoff would
    // allow it); the round itself then takes what it takes on a loaded machine.
    let fixed = Instant::now();
    let fixed_at = Utc::now();
    loop {
        let sources = status(&server, &broken).await;
        let retried = |s: &ConnectorSourceStatus| {
            s.last_attempt_time
                .as_ref()
                .and_then(tokenwatch_proto::from_timestamp)
                .is_some_and(|t| t >= fixed_at)
        };
        if sources.iter().all(retried) {
            break;
        }
        assert!(
            fixed.elapsed() < Duration::from_millis(4_500),
            "not picked up at once after the fix: {sources:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sources = status(&server, &broken).await;
        if sources
            .iter()
            .all(|s| s.healthy && s.last_success_time.is_some())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not pulled after the fix: {sources:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Without Entra ID P1 the sign-in logs fail and say why; the activity feed still flows.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sources = status(&server, &unlicensed.tenant).await;
        let by_name: BTreeMap<&str, &ConnectorSourceStatus> =
            sources.iter().map(|s| (s.source.as_str(), s)).collect();
        let activity_done = ["Audit.AzureActiveDirectory", "Audit.Exchange"]
            .iter()
            .all(|name| {
                by_name
                    .get(name)
                    .is_some_and(|s| s.last_success_time.is_some())
            });
        let sign_ins_refused = by_name
            .get("signins.interactive")
            .is_some_and(|s| s.last_error.contains("P1"));
        if activity_done && sign_ins_refused {
            assert!(
                by_name.values().all(|s| s.healthy),
                "a missing licence is no sign-in failure"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{sources:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn two_replicas_never_pull_the_same_tenant_at_once() {
    let fake = MicrosoftFake::start().await;
    fake.set_page_sizes(3, 40);
    fake.set_latency(Duration::from_millis(10));
    let tenants: Vec<Simulated> = (0..4).map(|i| simulated(30 + i, 5, 3)).collect();
    for simulated in &tenants {
        fake.add_app(&simulated.tenant, CLIENT_ID, SECRET);
        fake.publish(&simulated.tenant, simulated.records.clone());
    }
    let published = Utc::now();
    let first = TestServer::spawn_with_options(&[], options(&fake, 2)).await;
    let second = TestServer::spawn_on(
        &first.database_url,
        &[ServiceName::Ingest],
        options(&fake, 2),
    )
    .await;
    for simulated in &tenants {
        onboard(&first, &simulated.tenant, SECRET).await;
    }
    let mut holders = BTreeSet::new();
    for simulated in &tenants {
        caught_up(&first, &simulated.tenant, published).await;
        assert_eq!(
            fake.max_in_flight(&simulated.tenant),
            1,
            "one puller per tenant at a time"
        );
        let (raw, _) = stored(&first, &simulated.tenant).await;
        assert_eq!(raw as usize, distinct(&simulated.records));
        let fetches = blob_fetches(&fake, &simulated.tenant);
        assert!(fetches.values().all(|n| *n == 1), "no blob fetched twice");
        let mut tx = first
            .database
            .tenant_tx(TenantId::parse(&simulated.tenant).unwrap())
            .await
            .unwrap();
        let holder: Option<String> =
            sqlx::query_scalar("SELECT last_holder FROM connector_tenants")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        holders.extend(holder);
    }
    assert_eq!(holders.len(), 2, "both replicas pulled: {holders:?}");
    drop(second);
}
