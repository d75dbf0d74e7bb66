//! The online pipeline against real Postgres and Redis: a simulated data set ingested over
//! gRPC gives exactly the findings `tokenwatch scan` gives on the same files — in order, out of
//! order, with the tenant's Redis state deleted mid-run, and with one of two workers killed.
//!
//! Longer than most files on purpose: each test is one scenario read top to bottom against the
//! shared harness below (simulate, ingest, wait, compare with the scan); splitting them would
//! scatter the harness.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokenwatch_auth::Role;
use tokenwatch_cache::Cache;
use tokenwatch_core::detect::WeightSet;
use tokenwatch_core::enrich::IpDb;
use tokenwatch_core::parse::{Limits, chunk_document, parse_document};
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_pipeline::{PipelineConfig, Worker};
use tokenwatch_proto::Code;
use tokenwatch_proto::common::v1::FindingStatus;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::*;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_server::ServiceName;
use tokenwatch_simulate::{Config, simulate_from};
use tokenwatch_test_utils::{TestServer, pipeline_options, random_tenant, redis_url, test_options};
use tokenwatch_types::TenantId;

/// Pieces the files are sent in: small enough that the pipeline steps many times.
const PIECE_BYTES: usize = 256 * 1024;

/// A simulated tenant with a fresh id (so parallel tests never share Redis keys): its files.
pub(crate) fn simulated(seed: u64, days: usize) -> (String, Vec<(String, Vec<u8>)>) {
    simulated_from(seed, days, tokenwatch_simulate::default_start())
}

/// [`simulated`], its first day at `start`.
pub(crate) fn simulated_from(
    seed: u64,
    days: usize,
    start: chrono::DateTime<chrono::Utc>,
) -> (String, Vec<(String, Vec<u8>)>) {
    simulated_tenant(seed, 20, days, start)
}

/// A simulated tenant of `users` users over `days` days from `start`: its fresh id and files.
pub(crate) fn simulated_tenant(
    seed: u64,
    users: usize,
    days: usize,
    start: chrono::DateTime<chrono::Utc>,
) -> (String, Vec<(String, Vec<u8>)>) {
    let simulation = simulate_from(
        Config {
            seed,
            tenants: 1,
            users,
            days,
        },
        start,
    );
    let original = simulation.labels[0].tenant_id.clone();
    let tenant = random_tenant();
    let files = simulation
        .files
        .into_iter()
        .filter(|(name, _)| name.ends_with(".json"))
        .map(|(name, content)| {
            let text = String::from_utf8(content)
                .unwrap()
                .replace(&original, &tenant);
            (name, text.into_bytes())
        })
        .collect();
    (tenant, files)
}

/// Every piece of every file, in file order.
pub(crate) fn pieces(files: &[(String, Vec<u8>)]) -> Vec<Vec<u8>> {
    files
        .iter()
        .flat_map(|(_, content)| chunk_document(content, PIECE_BYTES))
        .collect()
}

/// What `tokenwatch scan` finds in the files: (user, session) → score.
pub(crate) fn scan(files: &[(String, Vec<u8>)], tenant: &str) -> BTreeMap<(String, String), f64> {
    let ipdb = std::env::var_os("TOKENWATCH_IPDB").map(|dir| IpDb::load(dir.as_ref()).unwrap());
    let mut events = Vec::new();
    for (_, content) in files {
        for record in parse_document(content, None, &Limits::default()) {
            if let Ok(mut event) = record.outcome {
                if let Some(ipdb) = &ipdb {
                    ipdb.enrich(&mut event);
                }
                events.push((tokenwatch_core::detect::tenant_of(&event, tenant), event));
            }
        }
    }
    tokenwatch_core::detect::run(events, WeightSet::default())
        .into_iter()
        .map(|f| ((f.user, f.session_id), f.score))
        .collect()
}

pub(crate) async fn ingest(server: &TestServer, tenant: &str, pieces: &[Vec<u8>]) {
    let token = server.tokens.valid(&[Role::Service], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    let mut client = IngestServiceClient::new(channel).max_encoding_message_size(usize::MAX);
    for piece in pieces {
        client
            .ingest_batch(IngestBatchRequest {
                tenant_id: tenant.to_owned(),
                document: Some(Document {
                    format: SourceFormat::Unspecified.into(),
                    content: piece.clone(),
                    source_name: "simulated.json".to_owned(),
                }),
            })
            .await
            .unwrap();
    }
}

/// Waits until the pipeline has processed every stored event of the tenant.
pub(crate) async fn settle(server: &TestServer, tenant: &str) {
    let cache = Cache::connect(&redis_url()).await.unwrap();
    settle_on(server, tenant, &cache).await;
}

/// Waits until the pipeline has processed every stored event of the tenant, its hot state in
/// `cache`.
pub(crate) async fn settle_on(server: &TestServer, tenant: &str, cache: &Cache) {
    let tenant = TenantId::parse(tenant).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if tokenwatch_pipeline::settled(&server.database, cache, tenant)
            .await
            .unwrap()
        {
            // One more poll interval for the findings of the last step to commit.
            tokio::time::sleep(Duration::from_millis(300)).await;
            if tokenwatch_pipeline::settled(&server.database, cache, tenant)
                .await
                .unwrap()
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the pipeline did not settle");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn detection(server: &TestServer, tenants: &[&str]) -> DetectionServiceClient<AuthedChannel> {
    let token = server.tokens.valid(&[Role::Analyst], tenants);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    DetectionServiceClient::new(channel)
}

/// Every finding the API lists for the caller, following the pages.
async fn list_all(
    client: &mut DetectionServiceClient<AuthedChannel>,
    tenant: &str,
) -> Vec<Finding> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_findings(ListFindingsRequest {
                tenant_id: tenant.to_owned(),
                page_size: 7,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.findings);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

pub(crate) async fn online(server: &TestServer, tenant: &str) -> BTreeMap<(String, String), f64> {
    let mut client = detection(server, &[tenant]).await;
    let findings = list_all(&mut client, tenant).await;
    let map: BTreeMap<_, _> = findings
        .iter()
        .map(|f| ((f.user_id.clone(), f.session_id.clone()), f.score))
        .collect();
    assert_eq!(map.len(), findings.len(), "one finding per session");
    map
}

pub(crate) fn assert_same(
    online: &BTreeMap<(String, String), f64>,
    offline: &BTreeMap<(String, String), f64>,
) {
    assert!(!offline.is_empty(), "the simulation has attacks to find");
    let online_keys: Vec<_> = online.keys().collect();
    let offline_keys: Vec<_> = offline.keys().collect();
    assert_eq!(
        online_keys, offline_keys,
        "the same sessions online and offline"
    );
    for (key, score) in offline {
        assert!(
            (online[key] - score).abs() < 1e-9,
            "{key:?}: online {} offline {score}",
            online[key]
        );
    }
}

#[tokio::test]
async fn online_findings_equal_the_offline_scan() {
    let (tenant, files) = simulated(11, 10);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    // File order: every sign-in arrives after the audit records it precedes, so the pipeline
    // rolls back and replays at least once.
    ingest(&server, &tenant, &pieces(&files)).await;
    settle(&server, &tenant).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
}

#[tokio::test]
async fn out_of_order_delivery_gives_the_same_findings() {
    let (tenant, files) = simulated(12, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    let mut pieces = pieces(&files);
    // Newest first, in two interleaved halves: nearly every piece is late for the one before.
    pieces.reverse();
    let (odd, even): (Vec<_>, Vec<_>) = pieces
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 1);
    let shuffled: Vec<Vec<u8>> = odd.into_iter().chain(even).map(|(_, p)| p).collect();
    for piece in shuffled.chunks(3) {
        ingest(&server, &tenant, piece).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settle(&server, &tenant).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
}

#[tokio::test]
async fn a_wiped_redis_is_rebuilt_from_postgres_with_the_same_findings() {
    let (tenant, files) = simulated(13, 10);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    let pieces = pieces(&files);
    let (first, rest) = pieces.split_at(pieces.len() / 2);
    ingest(&server, &tenant, first).await;
    settle(&server, &tenant).await;

    // Every key of the tenant goes: hot state, stream, consumer group, lease.
    let cache = Cache::connect(&redis_url()).await.unwrap();
    let keys = wipe_redis_keys(&cache, &tenant).await;
    assert!(keys.len() > 3, "the tenant has hot state: {keys:?}");

    ingest(&server, &tenant, rest).await;
    settle(&server, &tenant).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
}

#[tokio::test]
async fn a_killed_worker_loses_and_duplicates_nothing() {
    let (tenant, files) = simulated(14, 10);
    // Ingest and the API without workers; two worker processes beside them, on one database.
    let api = TestServer::spawn_with_options(
        &[ServiceName::Ingest, ServiceName::Detection],
        test_options(),
    )
    .await;
    api.register(&[&tenant]).await;
    // Small pages make a step long (many page commits, lease renewals), so the kill lands
    // mid-step.
    let slow = || {
        let mut options = pipeline_options(1);
        options.pipeline.page_events = 50;
        options
    };
    let first = TestServer::spawn_on(&api.database_url, &[ServiceName::Baseline], slow()).await;
    let pieces = pieces(&files);
    let (early, late) = pieces.split_at(pieces.len() / 2);
    ingest(&api, &tenant, early).await;
    // A second worker joins the consumer group; then the first dies where it stands (no
    // shutdown: its lease, its pending stream entries and its half-done step are left behind).
    let second = TestServer::spawn_on(&api.database_url, &[ServiceName::Baseline], slow()).await;
    first.kill().await;
    ingest(&api, &tenant, late).await;
    settle(&api, &tenant).await;
    assert_same(&online(&api, &tenant).await, &scan(&files, &tenant));
    second.stop().await;
}

#[tokio::test]
async fn a_generation_keeps_the_users_another_worker_changed() {
    let (tenant, files) = simulated(15, 10);
    // The audit log alone, in (time, id) order: no record is late, so nothing rolls back to an
    // earlier generation and replays (which would hide a generation missing users).
    let (_, audit) = files
        .iter()
        .find(|(name, _)| name.starts_with("ual-"))
        .unwrap();
    let mut records: Vec<serde_json::Value> = serde_json::from_slice(audit).unwrap();
    let key = |r: &serde_json::Value| (r["CreationTime"].to_string(), r["Id"].to_string());
    records.sort_by_key(key);
    let files = vec![("ual.json".to_owned(), serde_json::to_vec(&records).unwrap())];
    let api = TestServer::spawn_with_options(
        &[ServiceName::Ingest, ServiceName::Detection],
        test_options(),
    )
    .await;
    api.register(&[&tenant]).await;
    let tenant_id = TenantId::parse(&tenant).unwrap();
    let cache = Cache::connect(&redis_url()).await.unwrap();
    let worker = || {
        Worker::new(
            api.database.clone(),
            cache.clone(),
            PipelineConfig {
                page_events: 50,
                ..PipelineConfig::default()
            },
        )
    };
    let pieces = pieces(&files);
    let (early, late) = pieces.split_at(pieces.len() / 2);
    // The early half's last piece in pieces of a few records.
    let (most, last) = early.split_at(early.len() - 1);
    let small = chunk_document(&last[0], 4 * 1024);
    let (small_rest, final_piece) = small.split_at(small.len() - 1);

    // One worker steps nearly all of the early half; its first page wrote a generation and
    // every user it changed since is only in Redis.
    let mut first = worker();
    ingest(&api, &tenant, most).await;
    ingest(&api, &tenant, small_rest).await;
    step_until_settled(&mut first, &api, &cache, tenant_id).await;
    // Another steps the last few records (it loads their users only), and writes a generation
    // as it stops.
    let mut second = worker();
    ingest(&api, &tenant, final_piece).await;
    step_until_settled(&mut second, &api, &cache, tenant_id).await;
    second.run(std::future::ready(())).await;

    // Redis is lost: the tenant comes back from that generation, which must hold every user.
    wipe_redis_keys(&cache, &tenant).await;
    let third = TestServer::spawn_on(
        &api.database_url,
        &[ServiceName::Baseline],
        pipeline_options(1),
    )
    .await;
    ingest(&api, &tenant, late).await;
    settle(&api, &tenant).await;
    assert_same(&online(&api, &tenant).await, &scan(&files, &tenant));
    third.stop().await;
}

/// Deletes every Redis key of the tenant; returns them.
async fn wipe_redis_keys(cache: &Cache, tenant: &str) -> Vec<String> {
    let mut connection = cache.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("tw:{{{tenant}}}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
    keys
}

/// Runs `worker`'s rounds until the tenant's stored events are all processed.
async fn step_until_settled(
    worker: &mut Worker,
    server: &TestServer,
    cache: &Cache,
    tenant: TenantId,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !tokenwatch_pipeline::settled(&server.database, cache, tenant)
        .await
        .unwrap()
    {
        worker.round().await.unwrap();
        assert!(Instant::now() < deadline, "the worker did not catch up");
    }
}

#[tokio::test]
async fn findings_stream_triage_and_tenant_isolation() {
    let (tenant_a, files_a) = simulated(15, 9);
    let (tenant_b, files_b) = simulated(16, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant_a, &tenant_b]).await;

    // A subscriber of tenant A, watching before anything happens.
    let mut watcher = detection(&server, &[&tenant_a]).await;
    let mut stream = watcher
        .watch_findings(WatchFindingsRequest::default())
        .await
        .unwrap()
        .into_inner();
    ingest(&server, &tenant_a, &pieces(&files_a)).await;
    ingest(&server, &tenant_b, &pieces(&files_b)).await;
    settle(&server, &tenant_a).await;
    settle(&server, &tenant_b).await;

    let mut client_a = detection(&server, &[&tenant_a]).await;
    let findings_a = list_all(&mut client_a, "").await;
    assert!(!findings_a.is_empty());
    assert!(
        findings_a.iter().all(|f| f.tenant_id == tenant_a),
        "only the caller's tenants"
    );
    // Filters: severity and user.
    let critical = client_a
        .list_findings(ListFindingsRequest {
            min_severity: tokenwatch_proto::common::v1::Severity::Critical.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    let expected = findings_a
        .iter()
        .filter(|f| f.severity() == tokenwatch_proto::common::v1::Severity::Critical)
        .count();
    assert_eq!(critical.len(), expected);
    let user = findings_a[0].user_id.clone();
    let of_user = client_a
        .list_findings(ListFindingsRequest {
            user_id: user.to_uppercase(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert!(!of_user.is_empty() && of_user.iter().all(|f| f.user_id == user));

    let mut client_b = detection(&server, &[&tenant_b]).await;
    let finding_b = list_all(&mut client_b, &tenant_b).await.remove(0);

    // The stream carried A's findings as they were created, and none of B's.
    let mut streamed = Vec::new();
    while let Ok(Ok(Some(item))) =
        tokio::time::timeout(Duration::from_millis(500), stream.message()).await
    {
        assert_eq!(item.finding.as_ref().unwrap().tenant_id, tenant_a);
        streamed.push(item);
    }
    assert!(
        streamed
            .iter()
            .any(|i| i.change() == FindingChange::Created),
        "created findings are streamed"
    );

    // B's finding through A's tenant: not found (row-level security), through B's: denied.
    let status = client_a
        .get_finding(GetFindingRequest {
            tenant_id: tenant_a.clone(),
            finding_id: finding_b.finding_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client_a
        .update_finding_status(UpdateFindingStatusRequest {
            tenant_id: tenant_b.clone(),
            finding_id: finding_b.finding_id.clone(),
            status: FindingStatus::Acknowledged.into(),
            comment: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Triage: the status moves, the history says who and why, the stream hears of it.
    let target = &findings_a[0];
    let updated = client_a
        .update_finding_status(UpdateFindingStatusRequest {
            tenant_id: tenant_a.clone(),
            finding_id: target.finding_id.clone(),
            status: FindingStatus::ResolvedTruePositive.into(),
            comment: "confirmed with the user".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .finding
        .unwrap();
    assert_eq!(updated.status(), FindingStatus::ResolvedTruePositive);
    let shown = client_a
        .get_finding(GetFindingRequest {
            tenant_id: tenant_a.clone(),
            finding_id: target.finding_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !shown.evidence.is_empty(),
        "the session's events are the evidence"
    );
    assert_eq!(shown.history.len(), 1);
    assert_eq!(shown.history[0].comment, "confirmed with the user");
    assert_eq!(shown.history[0].from_status(), FindingStatus::Open);
    let change = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change.change(), FindingChange::StatusChanged);
    let resolved = client_a
        .list_findings(ListFindingsRequest {
            statuses: vec![FindingStatus::ResolvedTruePositive.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].finding_id, target.finding_id);

    // An analyst of A evaluates one of A's sessions on demand.
    let evaluation = client_a
        .evaluate_session(EvaluateSessionRequest {
            tenant_id: tenant_a.clone(),
            user_id: target.user_id.clone(),
            session_id: target.session_id.clone(),
        })
        .await
        // Nine simulated days: no session has been idle the 30 days that close it.
        .unwrap()
        .into_inner();
    assert!(evaluation.significant);
    assert!(!evaluation.contributions.is_empty());

    // A server draining ends the open stream instead of waiting for it forever.
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("a server with an open findings stream stops");
    let end = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream ends");
    assert!(
        !matches!(end, Ok(Some(_))),
        "no more findings after the drain"
    );
}

#[tokio::test]
async fn baselines_and_weights_through_the_api() {
    use tokenwatch_proto::baseline::v1::baseline_service_client::BaselineServiceClient;
    use tokenwatch_proto::baseline::v1::{
        GetBaselineStatsRequest, GetUserBaselineRequest, RebuildBaselinesRequest,
    };

    let (tenant, files) = simulated(17, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    ingest(&server, &tenant, &pieces(&files)).await;
    settle(&server, &tenant).await;
    let before = online(&server, &tenant).await;

    let token = server.tokens.valid(&[Role::DetectionEngineer], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    let mut baselines = BaselineServiceClient::new(channel.clone());
    let user = before.keys().next().unwrap().0.clone();
    let baseline = baselines
        .get_user_baseline(GetUserBaselineRequest {
            tenant_id: tenant.clone(),
            user_id: user.to_uppercase(),
        })
        .await
        .unwrap()
        .into_inner()
        .baseline
        .unwrap();
    assert_eq!(baseline.user_id, user);
    assert!(baseline.events_seen > 0 && !baseline.contexts.is_empty());
    assert_eq!(baseline.hour_of_day.len(), 24);
    let missing = baselines
        .get_user_baseline(GetUserBaselineRequest {
            tenant_id: tenant.clone(),
            user_id: "nobody@nowhere.example".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let stats = baselines
        .get_baseline_stats(GetBaselineStatsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.users, 20);
    assert_eq!(stats.hot_users, 20);
    assert!(!stats.population.is_empty() && stats.last_snapshot_time.is_some());

    // A rebuild replays every stored event and finds the same.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE tenant_id = $1")
        .bind(TenantId::parse(&tenant).unwrap().as_uuid())
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    let rebuilt = baselines
        .rebuild_baselines(RebuildBaselinesRequest {
            tenant_id: tenant.clone(),
            user_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rebuilt.events_replayed, stored);
    assert_eq!(rebuilt.users_rebuilt, 20);
    assert_eq!(online(&server, &tenant).await, before);

    // Weights: versioned, checked, optimistic.
    let mut detection = DetectionServiceClient::new(channel);
    let current = detection
        .get_weights(GetWeightsRequest {
            tenant_id: tenant.clone(),
            version: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .weight_set
        .unwrap();
    assert_eq!(current.version, 1);
    let set = detection
        .set_weights(SetWeightsRequest {
            tenant_id: tenant.clone(),
            weights: [("off_hours".to_owned(), 0.5)].into(),
            threshold: 0.0,
            reason: "our night shift".to_owned(),
            base_version: 1,
            pin: false,
        })
        .await
        .unwrap()
        .into_inner()
        .weight_set
        .unwrap();
    assert_eq!((set.version, set.parent_version), (2, 1));
    assert_eq!(set.weights["off_hours"], 0.5);
    assert_eq!(set.created_by, "test@tokenwatch.local");
    let stale = detection
        .set_weights(SetWeightsRequest {
            tenant_id: tenant.clone(),
            weights: [("off_hours".to_owned(), 0.4)].into(),
            base_version: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let blind = detection
        .set_weights(SetWeightsRequest {
            tenant_id: tenant.clone(),
            weights: [("new_country".to_owned(), 5.0)].into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(blind.code(), Code::InvalidArgument, "{}", blind.message());
    let old = detection
        .get_weights(GetWeightsRequest {
            tenant_id: tenant.clone(),
            version: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .weight_set
        .unwrap();
    assert_ne!(old.weights["off_hours"], 0.5);

    // Removing the tenant removes its hot state from Redis too.
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient::new(channel)
        .delete_tenant(tokenwatch_proto::tenant::v1::DeleteTenantRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap();
    let cache = Cache::connect(&redis_url()).await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("tw:{{{tenant}}}:*"))
        .query_async(&mut cache.connection())
        .await
        .unwrap();
    assert!(
        keys.iter().all(|k| k.ends_with(":pipeline-lease")),
        "left behind: {keys:?}"
    );
}

#[tokio::test]
async fn records_committed_without_an_announcement_are_found_by_the_sweep() {
    use tokenwatch_storage::ingest::{AcceptedRecord, store_batch};

    let (tenant, files) = simulated(18, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    // The audit records through the API; the sign-ins (earlier than most of them, so late)
    // committed straight to Postgres, as if Redis had failed right after ingest's commit.
    let (signins, audit): (Vec<_>, Vec<_>) = files
        .iter()
        .cloned()
        .partition(|(name, _)| name.starts_with("signins-"));
    assert!(!signins.is_empty() && !audit.is_empty());
    ingest(&server, &tenant, &pieces(&audit)).await;
    settle(&server, &tenant).await;
    let ipdb = std::env::var_os("TOKENWATCH_IPDB").map(|dir| IpDb::load(dir.as_ref()).unwrap());
    let id = TenantId::parse(&tenant).unwrap();
    for (_, content) in &signins {
        let records: Vec<_> = parse_document(content, None, &Limits::default())
            .into_iter()
            .filter_map(|record| {
                let raw = record.raw.to_vec();
                record.outcome.ok().map(|mut event| {
                    if let Some(ipdb) = &ipdb {
                        ipdb.enrich(&mut event);
                    }
                    (event, raw)
                })
            })
            .collect();
        let accepted: Vec<AcceptedRecord<'_>> = records
            .iter()
            .map(|(event, raw)| AcceptedRecord { event, raw })
            .collect();
        store_batch(&server.database, id, "behind-the-back.json", &accepted, &[])
            .await
            .unwrap();
    }
    settle(&server, &tenant).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
}

#[tokio::test]
async fn verdicts_move_findings_and_weights_and_a_rollback_pins() {
    use tokenwatch_proto::common::v1::VerdictKind;
    use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
    use tokenwatch_proto::feedback::v1::{
        ListVerdictsRequest, ListWeightVersionsRequest, RollbackWeightsRequest,
        SubmitVerdictRequest,
    };

    let (tenant, files) = simulated(19, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    ingest(&server, &tenant, &pieces(&files)).await;
    settle(&server, &tenant).await;
    let mut analyst_detection = detection(&server, &[&tenant]).await;
    let findings = list_all(&mut analyst_detection, &tenant).await;
    assert!(findings.len() >= 2, "{} findings", findings.len());

    let analyst = server.tokens.valid(&[Role::Analyst], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&analyst))
        .await
        .unwrap();
    let mut feedback = FeedbackServiceClient::new(channel);
    let score_of = |finding: &Finding| (finding.score, finding.weight_version);
    let reader = analyst_detection.clone();
    let get = |id: String| {
        let mut client = reader.clone();
        let tenant = tenant.clone();
        async move {
            client
                .get_finding(GetFindingRequest {
                    tenant_id: tenant,
                    finding_id: id,
                })
                .await
                .unwrap()
                .into_inner()
                .finding
                .unwrap()
        }
    };
    let original = score_of(&findings[1]);
    let submitted = feedback
        .submit_verdict(SubmitVerdictRequest {
            tenant_id: tenant.clone(),
            finding_id: findings[0].finding_id.clone(),
            kind: VerdictKind::FalsePositive.into(),
            comment: "the user's own VPN".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let verdict = submitted.verdict.unwrap();
    assert_eq!(verdict.weight_version, 1);
    let learned = submitted.weight_set.unwrap();
    assert_eq!((learned.version, learned.parent_version), (2, 1));
    assert!(
        learned.reason.contains(&verdict.verdict_id),
        "{}",
        learned.reason
    );
    assert_eq!(learned.created_by, "feedback:test@tokenwatch.local");
    // The features the finding scored with lost weight; its score now falls short.
    let defaults = tokenwatch_core::detect::WeightSet::default();
    let top = &findings[0].contributions[0].feature;
    let top_feature: tokenwatch_core::detect::Feature = top.parse().unwrap();
    assert!(learned.weights[top] < defaults.weight(top_feature), "{top}");
    // The other open finding was re-scored in place with the new weights.
    let rescored = get(findings[1].finding_id.clone()).await;
    let expected: f64 = rescored
        .contributions
        .iter()
        .map(|c| c.value * learned.weights[&c.feature])
        .sum();
    assert_eq!(rescored.weight_version, 2);
    assert!(
        (rescored.score - expected).abs() < 0.01,
        "{} vs {expected}",
        rescored.score
    );
    assert!(rescored.score <= original.0);

    let shown = analyst_detection
        .get_finding(GetFindingRequest {
            tenant_id: tenant.clone(),
            finding_id: findings[0].finding_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        shown.finding.unwrap().status(),
        FindingStatus::ResolvedFalsePositive
    );
    let listed = feedback
        .list_verdicts(ListVerdictsRequest {
            tenant_id: tenant.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .verdicts;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].comment, "the user's own VPN");

    // A detection engineer rolls back to the defaults: a new, pinned version.
    let engineer = server.tokens.valid(&[Role::DetectionEngineer], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&engineer))
        .await
        .unwrap();
    let mut engineering = FeedbackServiceClient::new(channel);
    let rolled = engineering
        .rollback_weights(RollbackWeightsRequest {
            tenant_id: tenant.clone(),
            version: 1,
            reason: "too early to learn".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .weight_set
        .unwrap();
    assert_eq!(rolled.version, 3);
    assert!(rolled.pinned);
    assert_eq!(rolled.weights[top], defaults.weight(top_feature));
    // Rolling back restores the scores.
    let restored = get(findings[1].finding_id.clone()).await;
    assert!(
        (restored.score - original.0).abs() < 0.01,
        "{} vs {}",
        restored.score,
        original.0
    );
    assert_eq!(restored.weight_version, 3);
    let versions: Vec<i64> = engineering
        .list_weight_versions(ListWeightVersionsRequest {
            tenant_id: tenant.clone(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .weight_sets
        .iter()
        .map(|w| w.version)
        .collect();
    assert_eq!(versions, [3, 2]);

    // Pinned: the next verdict moves the finding, not the weights.
    let next = feedback
        .submit_verdict(SubmitVerdictRequest {
            tenant_id: tenant.clone(),
            finding_id: findings[1].finding_id.clone(),
            kind: VerdictKind::FalsePositive.into(),
            comment: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.weight_set.unwrap().version, 3);
    assert_eq!(next.findings_changed, 0);
}

#[tokio::test]
async fn a_suppression_lowers_its_contexts_evidence_until_deleted() {
    use tokenwatch_proto::baseline::v1::RebuildBaselinesRequest;
    use tokenwatch_proto::baseline::v1::baseline_service_client::BaselineServiceClient;
    use tokenwatch_proto::common::v1::{ContextKind, ContextValue};
    use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
    use tokenwatch_proto::feedback::v1::{
        CreateSuppressionRequest, DeleteSuppressionRequest, ListSuppressionsRequest,
    };

    let (tenant, files) = simulated(17, 9);
    let server = TestServer::spawn_with_options(&[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    ingest(&server, &tenant, &pieces(&files)).await;
    settle(&server, &tenant).await;
    let before = online(&server, &tenant).await;

    // A finding that counted a network new to its user: all its new ASNs get suppressed.
    let mut client = detection(&server, &[&tenant]).await;
    let (key, asns) = list_all(&mut client, &tenant)
        .await
        .iter()
        .find_map(|f| {
            let engine: tokenwatch_core::detect::Finding =
                serde_json::from_str(&f.explanation_json).ok()?;
            engine.reasons.iter().find(|r| {
                r.feature == tokenwatch_core::detect::Feature::NewNetwork && r.value > 0.0
            })?;
            let asns: Vec<String> = engine
                .evidence
                .contexts
                .iter()
                .filter(|c| c.kind == "asn" && c.novelty > 0.0)
                .map(|c| c.value.clone())
                .collect();
            (!asns.is_empty()).then(|| ((f.user_id.clone(), f.session_id.clone()), asns))
        })
        .expect("a finding on a new ASN");

    let analyst = server.tokens.valid(&[Role::Analyst], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&analyst))
        .await
        .unwrap();
    let mut feedback = FeedbackServiceClient::new(channel);
    let asn_context = |value: &str| ContextValue {
        kind: ContextKind::Asn.into(),
        value: value.to_owned(),
    };
    let wrong = feedback
        .create_suppression(CreateSuppressionRequest {
            tenant_id: tenant.clone(),
            user_id: String::new(),
            context: Some(asn_context("Microsoft")),
            reason: String::new(),
            expire_time: None,
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    let mut created = Vec::new();
    for asn in &asns {
        let suppression = feedback
            .create_suppression(CreateSuppressionRequest {
                tenant_id: tenant.clone(),
                user_id: key.0.clone(),
                context: Some(asn_context(asn)),
                reason: "the user's VPN".to_owned(),
                expire_time: Some(tokenwatch_proto::to_timestamp(
                    chrono::Utc::now() + chrono::Duration::days(30),
                )),
            })
            .await
            .unwrap()
            .into_inner()
            .suppression
            .unwrap();
        assert_eq!(suppression.created_by, "test@tokenwatch.local");
        created.push(suppression);
    }

    // Replayed with the suppression: the session counts for less (or no longer reaches the
    // threshold); the others are still found.
    let engineer = server.tokens.valid(&[Role::DetectionEngineer], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&engineer))
        .await
        .unwrap();
    let mut baselines = BaselineServiceClient::new(channel);
    let rebuild = RebuildBaselinesRequest {
        tenant_id: tenant.clone(),
        user_id: String::new(),
    };
    baselines.rebuild_baselines(rebuild.clone()).await.unwrap();
    let suppressed = online(&server, &tenant).await;
    assert!(
        suppressed
            .get(&key)
            .is_none_or(|score| *score < before[&key]),
        "{key:?}: {:?} vs {}",
        suppressed.get(&key),
        before[&key]
    );
    assert!(!suppressed.is_empty());

    // Deleted (and audited), and replayed: exactly the findings of before.
    for suppression in &created {
        feedback
            .delete_suppression(DeleteSuppressionRequest {
                tenant_id: tenant.clone(),
                suppression_id: suppression.suppression_id.clone(),
            })
            .await
            .unwrap();
    }
    let listed = feedback
        .list_suppressions(ListSuppressionsRequest {
            tenant_id: tenant.clone(),
            include_expired: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .suppressions;
    assert!(listed.is_empty());
    let mut tx = server
        .database
        .tenant_tx(TenantId::parse(&tenant).unwrap())
        .await
        .unwrap();
    let trail: Vec<String> =
        tokenwatch_storage::audit::history(&mut tx, "suppression", &created[0].suppression_id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    drop(tx);
    assert_eq!(trail, ["suppression.create", "suppression.delete"]);
    baselines.rebuild_baselines(rebuild).await.unwrap();
    assert_eq!(online(&server, &tenant).await, before);
}

/// Two replicas of each service on one Postgres and one Redis (each process hosting ingest, the
/// pipeline workers and detection), records sent to either at random: the same findings, read
/// from either, as one process gives (the scan's).
#[tokio::test]
async fn two_replicas_of_each_service_give_the_findings_of_one() {
    let (tenant, files) = simulated(14, 10);
    let services = [
        ServiceName::Ingest,
        ServiceName::Baseline,
        ServiceName::Detection,
    ];
    let first = TestServer::spawn_with_options(&services, pipeline_options(1)).await;
    let second = TestServer::spawn_on(&first.database_url, &services, pipeline_options(1)).await;
    first.register(&[&tenant]).await;
    let pieces = pieces(&files);
    let (mut to_first, mut to_second) = (Vec::new(), Vec::new());
    for (i, piece) in pieces.into_iter().enumerate() {
        // Interleaved, so both replicas ingest and both workers step the tenant.
        if i % 2 == 0 {
            to_first.push(piece);
        } else {
            to_second.push(piece);
        }
    }
    tokio::join!(
        ingest(&first, &tenant, &to_first),
        ingest(&second, &tenant, &to_second)
    );
    settle(&first, &tenant).await;
    let offline = scan(&files, &tenant);
    assert_same(&online(&first, &tenant).await, &offline);
    assert_same(&online(&second, &tenant).await, &offline);
}

/// `order_by: "severity desc"`: most severe first, then newest, page after page, each finding
/// once; a token of one order is refused by the other, and an unknown order is refused.
#[tokio::test]
async fn findings_list_most_severe_first_across_pages() {
    use tokenwatch_storage::findings::{FindingWrite, upsert_finding};
    let server = TestServer::spawn_with_options(&[ServiceName::Detection], test_options()).await;
    let tenant = random_tenant();
    server.register(&[&tenant]).await;
    let id = TenantId::parse(&tenant).unwrap();
    let severities = ["low", "critical", "medium", "high", "info"];
    let now = chrono::Utc::now();
    let mut tx = server.database.tenant_tx(id).await.unwrap();
    for n in 0..30_i64 {
        let seen = now - chrono::Duration::minutes(n * 7 % 30);
        let write = FindingWrite {
            finding_id: tokenwatch_types::FindingId::from_uuid(uuid::Uuid::new_v4()),
            incident_id: tokenwatch_types::IncidentId::from_uuid(uuid::Uuid::new_v4()),
            user_id: format!("user{n}@contoso.com"),
            session_id: format!("session-{n}"),
            score: 4.0,
            threshold: 3.0,
            severity: severities[n as usize % severities.len()].parse().unwrap(),
            first_seen: seen - chrono::Duration::hours(1),
            last_seen: seen,
            detected_at: seen,
            weight_version: 1,
            explanation: serde_json::json!({}),
        };
        upsert_finding(&mut tx, id, &write).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut client = detection(&server, &[&tenant]).await;
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_findings(ListFindingsRequest {
                tenant_id: tenant.clone(),
                page_size: 7,
                page_token: page_token.clone(),
                order_by: "severity desc".to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.findings);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let recent = list_all(&mut client, &tenant).await;
    assert_eq!(listed.len(), 30);
    let ids = |findings: &[Finding]| {
        let mut ids: Vec<String> = findings.iter().map(|f| f.finding_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&listed), ids(&recent), "each finding once");
    for pair in listed.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let newer = |f: &Finding| f.last_seen_time.as_ref().map(|t| (t.seconds, t.nanos));
        assert!(
            a.severity > b.severity || (a.severity == b.severity && newer(a) >= newer(b)),
            "out of order: {:?} then {:?}",
            (a.severity, &a.last_seen_time),
            (b.severity, &b.last_seen_time)
        );
    }

    // A token of the severity order given to the default order, and the reverse, are refused.
    let first = |order_by: &str| ListFindingsRequest {
        tenant_id: tenant.clone(),
        page_size: 7,
        order_by: order_by.to_owned(),
        ..Default::default()
    };
    let severity_token = client
        .list_findings(first("severity desc"))
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let recent_token = client
        .list_findings(first(""))
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    for (order_by, token) in [("", &severity_token), ("severity desc", &recent_token)] {
        let refused = client
            .list_findings(ListFindingsRequest {
                page_token: token.clone(),
                ..first(order_by)
            })
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{order_by:?}: {refused:?}"
        );
    }
    let refused = client.list_findings(first("score asc")).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}
