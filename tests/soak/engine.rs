//! The soak: one process hosting every service (ingest, a pipeline worker, detection, the
//! response service with a policy that revokes sessions automatically, and connectors pulling
//! tenants from the Microsoft fake), fed audit records at a steady rate for a long time, and
//! measured window by window: records acknowledged, ingest → finding latency, the memory of
//! this process, of Redis and of Postgres, the database's size, and what was logged at
//! WARN and ERROR.
//!
//! The load never ends: the simulated tenants' records are replayed epoch after epoch, each
//! epoch whole days later in event time (`days`, or one more when the simulated days' last
//! evening runs past midnight UTC) with fresh record, session and token ids, so the same
//! users keep working (their baselines age and forget as in life) and each epoch's planted
//! attacks become new findings. Shared by `benches/soak.rs` (the hour at 10,000 records/s)
//! and the five-minute test in `soak/main.rs`.

use std::collections::{BTreeSet, HashMap};
use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};
use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::common::v1::Severity;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::{FindingChange, WatchFindingsRequest};
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::{
    ActionKind, ResponseMode, ResponsePolicy, SetResponsePolicyRequest,
};
use tokenwatch_server::{ConnectorConfig, Endpoints};
use tokenwatch_simulate::{Config, default_start, simulate_from};
use tokenwatch_test_utils::processes::{OwnPostgres, OwnRedis};
use tokenwatch_test_utils::{TestServer, pipeline_options, random_tenant};
use tokenwatch_types::TenantId;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT_ID: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "soak~client.secret";
/// Records per ingest call: what a connector sends per content blob.
const PER_DOCUMENT: usize = 500;
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct SoakConfig {
    /// Records per second offered, in all.
    pub(crate) rate: f64,
    pub(crate) duration: Duration,
    /// How often to measure.
    pub(crate) window: Duration,
    /// Tenants fed over gRPC, and their users and days per epoch.
    pub(crate) tenants: usize,
    pub(crate) users: usize,
    pub(crate) days: usize,
    /// Tenants the connectors pull from the Microsoft fake beside the load.
    pub(crate) connector_tenants: usize,
    /// Pipeline workers in the process.
    pub(crate) workers: usize,
    /// Days of event time kept behind the load: each window then applies retention
    /// (`tokenwatch_storage::retention`, what `TOKENWATCH_RETENTION_DAYS` runs hourly against the
    /// wall clock), so a long run's disk stays bounded. The load is moved back to end near today,
    /// so the horizon trails the connectors' live tenants.
    pub(crate) retention_days: Option<u32>,
    /// Postgres's `shared_buffers` in MB; `None` keeps its default (128 MB).
    pub(crate) shared_buffers_mb: Option<u32>,
    /// Print each window as it is measured.
    pub(crate) progress: bool,
}

/// One window's measurements.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Since the start, at the window's end.
    pub(crate) at: Duration,
    pub(crate) records: usize,
    pub(crate) findings: usize,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    /// The slowest finding: its tenant and `detected_at` (to find it in `SOAK_LOG`).
    pub(crate) slowest: Option<(String, String)>,
    /// Resident memory of this process (the server, and the load generator with its
    /// workload).
    pub(crate) process_rss: u64,
    /// Redis's `used_memory`.
    pub(crate) redis_used: u64,
    /// Proportional set size of every Postgres process, summed (shared buffers counted once).
    pub(crate) postgres_pss: u64,
    pub(crate) database_bytes: u64,
    pub(crate) warnings: usize,
    pub(crate) errors: usize,
}

/// Everything measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) workload_records: usize,
    pub(crate) windows: Vec<Window>,
    /// Actions by state, over every tenant.
    pub(crate) actions: Vec<(String, i64)>,
    /// Records the connectors stored.
    pub(crate) connector_records: i64,
    /// The first lines logged at WARN or ERROR.
    pub(crate) logged: Vec<String>,
    /// What retention removed: partitions and raw records.
    pub(crate) retired: (usize, u64),
    /// Requests sent again after the transport failed them.
    pub(crate) resent: usize,
}

/// One part of a record's text: as is, an id renamed per epoch, or a time shifted per epoch.
#[derive(Debug)]
enum Part {
    Text(String),
    Renamed(String),
    Time(NaiveDateTime),
}

/// A record as text with its ids and times marked.
#[derive(Debug)]
struct Template {
    parts: Vec<Part>,
    time: NaiveDateTime,
}

impl Template {
    fn new(record: &serde_json::Value) -> Self {
        let text = serde_json::to_string(record).unwrap();
        let time_text = record["CreationTime"].as_str().unwrap();
        let time = NaiveDateTime::parse_from_str(&time_text[..19], TIME_FORMAT).unwrap();
        let mut renamed = BTreeSet::new();
        if let Some(id) = record["Id"].as_str() {
            renamed.insert(id.to_owned());
        }
        collect_ids(record, &mut renamed);
        let mut marks: Vec<(usize, usize, Option<String>)> = Vec::new();
        let mut mark = |needle: &str, what: Option<String>| {
            let quoted = format!("\"{needle}\"");
            for (at, _) in text.match_indices(&quoted) {
                marks.push((at + 1, needle.len(), what.clone()));
            }
        };
        mark(time_text, None);
        for id in &renamed {
            mark(id, Some(id.clone()));
        }
        marks.sort();
        let mut parts = Vec::new();
        let mut from = 0;
        for (at, len, what) in marks {
            if at < from {
                continue;
            }
            parts.push(Part::Text(text[from..at].to_owned()));
            parts.push(match what {
                Some(id) => Part::Renamed(id),
                None => Part::Time(time),
            });
            from = at + len;
        }
        parts.push(Part::Text(text[from..].to_owned()));
        Template { parts, time }
    }

    fn render(&self, epoch: u32, shift: TimeDelta, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Renamed(id) => out.push_str(&rename(id, epoch)),
                Part::Time(time) => out.push_str(&(*time + shift).format(TIME_FORMAT).to_string()),
            }
        }
    }
}

/// Session and token ids anywhere in a record: keys ending in `SessionId` or `TokenId`, and
/// `{"Name": "SessionId", "Value": ...}` pairs.
fn collect_ids(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            let named = map
                .get("Name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.ends_with("SessionId") || n.ends_with("TokenId"));
            for (key, item) in map {
                let id_key = key.ends_with("SessionId") || key.ends_with("TokenId");
                match item {
                    serde_json::Value::String(text)
                        if !text.is_empty() && (id_key || (named && key == "Value")) =>
                    {
                        out.insert(text.clone());
                    }
                    _ => collect_ids(item, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_ids(i, out)),
        _ => {}
    }
}

/// An id as it reads in `epoch`: a GUID keeps its shape (its first group changed), anything
/// else gets a suffix; epoch 0 is the original.
fn rename(id: &str, epoch: u32) -> String {
    if epoch == 0 {
        return id.to_owned();
    }
    match u32::from_str_radix(id.get(..8).unwrap_or(""), 16) {
        Ok(head) if id.as_bytes().get(8) == Some(&b'-') => {
            format!("{:08x}{}", head ^ epoch.wrapping_mul(0x9E37_79B1), &id[8..])
        }
        _ => format!("{id}~{epoch}"),
    }
}

/// A tenant fed over gRPC: its records in event-time order, and its users.
struct LoadTenant {
    tenant: String,
    records: Vec<Template>,
    users: BTreeSet<String>,
    span: TimeDelta,
}

/// Simulated tenants (three per simulation) under fresh ids: their audit records.
fn simulated(
    seed: u64,
    tenants: usize,
    users: usize,
    days: usize,
    start: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for i in 0..tenants.div_ceil(3) {
        let config = Config {
            seed: seed + i as u64,
            tenants: 3.min(tenants - 3 * i),
            users,
            days,
        };
        let simulation = simulate_from(config, start);
        for (name, content) in simulation.files {
            if !name.starts_with("ual-") || !name.ends_with(".json") {
                continue;
            }
            let records: Vec<serde_json::Value> = serde_json::from_slice(&content).unwrap();
            let original = records[0]["OrganizationId"].as_str().unwrap().to_owned();
            let tenant = random_tenant();
            let text = serde_json::to_string(&records)
                .unwrap()
                .replace(&original, &tenant);
            out.push((tenant, serde_json::from_str(&text).unwrap()));
        }
    }
    out
}

fn load_tenants(config: &SoakConfig) -> Vec<LoadTenant> {
    let mut load: Vec<LoadTenant> = simulated(
        700,
        config.tenants,
        config.users,
        config.days,
        default_start(),
    )
    .into_iter()
    .map(|(tenant, records)| {
        let users = records
            .iter()
            .filter_map(|r| r["UserId"].as_str().map(str::to_owned))
            .collect();
        let mut records: Vec<Template> = records.iter().map(Template::new).collect();
        records.sort_by_key(|t| t.time);
        LoadTenant {
            tenant,
            records,
            users,
            span: TimeDelta::zero(),
        }
    })
    .collect();
    // Whole days past the last record of any tenant: a simulated day's evening in a western
    // time zone ends after midnight UTC, so `days` alone would start each epoch hours before the
    // last one ended, and every epoch would arrive late (a rollback and replay each time, which
    // a real tenant's clock never does).
    let longest = load
        .iter()
        .filter_map(|t| Some(t.records.last()?.time - t.records.first()?.time))
        .max()
        .unwrap_or_default();
    let span = TimeDelta::days((longest.num_days() + 1).max(config.days as i64));
    for tenant in &mut load {
        tenant.span = span;
    }
    load
}

/// Records stored for these tenants.
async fn stored(server: &TestServer, tenants: &[(String, Vec<serde_json::Value>)]) -> i64 {
    let mut count = 0;
    for (tenant, _) in tenants {
        let mut tx = server
            .database
            .tenant_tx(TenantId::parse(tenant).unwrap())
            .await
            .unwrap();
        count += sqlx::query_scalar::<_, i64>("SELECT count(*) FROM raw_records")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    count
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Counts what is logged at WARN and ERROR, and keeps the first lines of it.
#[derive(Default)]
pub(crate) struct LogCounter {
    warnings: AtomicUsize,
    errors: AtomicUsize,
    first: Mutex<Vec<String>>,
}

impl std::fmt::Debug for LogCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCounter").finish_non_exhaustive()
    }
}

struct CountingLayer(Arc<LogCounter>);

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountingLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let level = *event.metadata().level();
        let counter = match level {
            tracing::Level::ERROR => &self.0.errors,
            tracing::Level::WARN => &self.0.warnings,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut first = self.0.first.lock().unwrap();
        if first.len() < 20 {
            let mut message = Message(format!("{level} {}:", event.metadata().target()));
            event.record(&mut message);
            first.push(message.0);
        }
    }
}

/// Installs the counter as the process's subscriber (before any server starts).
pub(crate) fn count_logs() -> Arc<LogCounter> {
    use tracing_subscriber::layer::SubscriberExt;
    let counter = Arc::new(LogCounter::default());
    // `SOAK_LOG=path`: the server's log at INFO as well, to see where a slow window went.
    let file = std::env::var_os("SOAK_LOG").map(|path| {
        let file = std::fs::File::create(path).expect("SOAK_LOG is writable");
        tracing_subscriber::fmt::layer()
            .with_writer(Mutex::new(file))
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let subscriber = tracing_subscriber::registry()
        .with(
            CountingLayer(Arc::clone(&counter))
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
        )
        .with(file);
    tracing::subscriber::set_global_default(subscriber).expect("no subscriber yet");
    counter
}

use tracing_subscriber::Layer as _;

fn process_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    kilobytes(&status, "VmRSS:")
}

fn kilobytes(text: &str, field: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The proportional set sizes of the soak's Postgres processes, summed.
fn postgres_pss(postgres: &OwnPostgres) -> u64 {
    postgres
        .pids()
        .into_iter()
        .map(|pid| {
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            kilobytes(&rollup, "Pss:")
        })
        .sum()
}

async fn redis_used(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(connection)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Postgres set up as one taking this rate is (docs/operations.md, "Sizing Postgres"):
/// checkpoints minutes apart (with the default 1 GB of WAL, 10,000 records/s made one every
/// 20 s, each followed by full-page images of every page written again) and, when asked, shared
/// buffers that hold the working set (with the default 128 MB the backends wrote 18 GB of
/// evicted pages in nine minutes and read them back). Restarts it for the buffers to apply.
async fn size_as_in_production(
    postgres: &OwnPostgres,
    database_url: &str,
    shared_buffers_mb: Option<u32>,
) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
    let mut statements = vec![
        "ALTER SYSTEM SET max_wal_size = '16GB'".to_owned(),
        "ALTER SYSTEM SET checkpoint_timeout = '15min'".to_owned(),
    ];
    if let Some(mb) = shared_buffers_mb {
        statements.push(format!("ALTER SYSTEM SET shared_buffers = '{mb}MB'"));
    }
    for statement in statements {
        // A number formatted into the text: nothing a caller could inject.
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
    postgres.stop();
    postgres.start_again();
}

/// Per tenant, each sent piece's latest event time and when it was acknowledged.
type Acks = HashMap<String, Vec<(String, Instant)>>;

/// Runs the soak. `logs` counts what the server logs (installed before it starts).
pub(crate) async fn run(config: &SoakConfig, logs: &Arc<LogCounter>) -> Report {
    let load = load_tenants(config);
    let workload_records = load.iter().map(|t| t.records.len()).sum();

    // The Microsoft fake: Graph for the responder, the activity feed for the connectors.
    let fake = MicrosoftFake::start().await;
    // The connectors' tenants: a week published before the load starts (their backfill),
    // then a trickle of new content each window, which the connectors pull as it appears.
    let week_ago = chrono::Utc::now() - TimeDelta::days(7);
    let connector_tenants = simulated(900, config.connector_tenants, config.users, 7, week_ago);
    let mut trickles = Vec::new();
    for (tenant, records) in &connector_tenants {
        fake.add_app(tenant, CLIENT_ID, SECRET);
        let (backfill, rest) = records.split_at(records.len() / 2);
        fake.publish(tenant, backfill.to_vec());
        trickles.push((tenant.clone(), rest.to_vec(), 0usize));
    }
    for tenant in &load {
        fake.add_app(&tenant.tenant, CLIENT_ID, SECRET);
        for (n, user) in tenant.users.iter().enumerate() {
            fake.add_user(
                &tenant.tenant,
                &format!("00000000-0000-4000-8000-{n:012}"),
                user,
            );
        }
    }
    let mut options = pipeline_options(config.workers);
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response.endpoints = Endpoints::all_at(&fake.url);
    // Sweeps as in production (`--sweep-seconds` 60), not the tests' brisk ones.
    options.response.sweep_interval = Duration::from_secs(60);
    options.pipeline.sweep_interval = Duration::from_secs(60);
    options.connectors = ConnectorConfig {
        concurrency: 2,
        interval: Duration::from_secs(10),
        backfill: chrono::Duration::days(8),
        signin_backfill: chrono::Duration::days(8),
        tenant_rate: 5.0,
        global_rate: 0,
        ..ConnectorConfig::default()
    };
    // Stores of its own, so what is measured is this server's alone (and the bench's
    // gigabytes go with them).
    let postgres = OwnPostgres::start();
    let database_url = postgres.create_database("tw_soak").await;
    size_as_in_production(&postgres, &database_url, config.shared_buffers_mb).await;
    let redis = OwnRedis::start();
    let server = TestServer::spawn_on_redis(
        &database_url,
        &tokenwatch_server::RedisTarget::Single(redis.url()),
        &[],
        options,
    )
    .await;
    let admin = server.tokens.valid_for(
        &[Role::MspAdmin],
        &[],
        config.duration + Duration::from_secs(600),
    );
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let mut response = ResponseServiceClient::new(channel.clone());
    for tenant in &load {
        server.register(&[&tenant.tenant]).await;
        server
            .set_client_secret(&tenant.tenant, CLIENT_ID, SECRET)
            .await;
        response
            .set_response_policy(SetResponsePolicyRequest {
                tenant_id: tenant.tenant.clone(),
                policy: Some(ResponsePolicy {
                    default_mode: ResponseMode::Notify.into(),
                    mode_by_severity: [
                        ("high".to_owned(), ResponseMode::Automatic.into()),
                        ("critical".to_owned(), ResponseMode::Automatic.into()),
                    ]
                    .into(),
                    automatic_actions: vec![ActionKind::RevokeSessions.into()],
                    min_severity: Severity::High.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    for (tenant, _) in &connector_tenants {
        server.register(&[tenant]).await;
        server.onboard(tenant, CLIENT_ID, SECRET).await;
    }
    let backfilled: usize = connector_tenants.iter().map(|(_, r)| r.len() / 2).sum();
    let waiting = Instant::now();
    while stored(&server, &connector_tenants).await < backfilled as i64 {
        assert!(
            waiting.elapsed() < Duration::from_secs(300),
            "the connectors did not backfill"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Findings as they are created: (tenant, detected_at, when).
    let created: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let seen = Arc::clone(&created);
    let mut detection = DetectionServiceClient::new(channel.clone());
    tokio::spawn(async move {
        // Opened again whenever it ends: the server closes every connection after 30 minutes
        // (its maximum connection age), as a client of a long run must expect.
        loop {
            let Ok(watcher) = detection
                .watch_findings(WatchFindingsRequest::default())
                .await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let mut watcher = watcher.into_inner();
            while let Ok(Some(item)) = watcher.message().await {
                if item.change() == FindingChange::Created
                    && let Some(finding) = item.finding
                {
                    let detected = finding
                        .detected_at
                        .as_ref()
                        .and_then(tokenwatch_proto::from_timestamp)
                        .map(|t| t.format(TIME_FORMAT).to_string())
                        .unwrap_or_default();
                    seen.lock()
                        .unwrap()
                        .push((finding.tenant_id, detected, Instant::now()));
                }
            }
        }
    });

    // Where epoch 0 starts in event time: as simulated, or, with retention, as many epochs
    // before today as the run will send, so that the load ends near today.
    let base = match config.retention_days {
        None => TimeDelta::zero(),
        Some(_) => {
            let epochs = (config.rate * config.duration.as_secs_f64() / workload_records as f64)
                .ceil() as i32
                + 1;
            let first = load
                .iter()
                .filter_map(|t| t.records.first().map(|r| r.time))
                .min()
                .unwrap();
            chrono::Utc::now().naive_utc() - load[0].span * epochs - first
        }
    };

    // Senders: one per tenant, epoch after epoch, paced together to the rate. Every tenant
    // sends an epoch in the same wall time (its rate in proportion to its records), so their
    // event times advance together, as real tenants' do with the clock: retention, which cuts
    // behind the slowest, then keeps the same days of every tenant.
    let acks: Arc<Mutex<Acks>> = Arc::default();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let resent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + config.duration;
    let mut senders = Vec::new();
    for tenant in load {
        let per_tenant_rate = config.rate * tenant.records.len() as f64 / workload_records as f64;
        let channel = channel.clone();
        let acks = Arc::clone(&acks);
        let acknowledged = Arc::clone(&acknowledged);
        let resent = Arc::clone(&resent);
        senders.push(tokio::spawn(async move {
            let mut client =
                IngestServiceClient::new(channel).max_encoding_message_size(usize::MAX);
            let mut sent = 0usize;
            let mut epoch = 0u32;
            'run: loop {
                let shift = base + tenant.span * epoch as i32;
                for chunk in tenant.records.chunks(PER_DOCUMENT) {
                    let due = started + Duration::from_secs_f64(sent as f64 / per_tenant_rate);
                    if due >= deadline {
                        break 'run;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let mut content = String::with_capacity(chunk.len() * 700);
                    content.push('[');
                    for (i, record) in chunk.iter().enumerate() {
                        if i > 0 {
                            content.push(',');
                        }
                        record.render(epoch, shift, &mut content);
                    }
                    content.push(']');
                    let last = (chunk.last().unwrap().time + shift)
                        .format(TIME_FORMAT)
                        .to_string();
                    let request = IngestBatchRequest {
                        tenant_id: tenant.tenant.clone(),
                        document: Some(Document {
                            format: SourceFormat::Unspecified.into(),
                            content: content.into_bytes(),
                            source_name: format!("soak-{epoch}.json"),
                        }),
                    };
                    // As a client must: the server ages its connections out (30 minutes), and a
                    // request racing the close fails in the transport, not in the service.
                    // Ingest deduplicates, so sending it again is safe. A status the service
                    // answered is never retried: that is what the soak is here to catch.
                    let mut tries = 0;
                    while let Err(status) = client.ingest_batch(request.clone()).await {
                        tries += 1;
                        assert!(status.source().is_some() && tries < 5, "ingest: {status:?}");
                        resent.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    acks.lock()
                        .unwrap()
                        .entry(tenant.tenant.clone())
                        .or_default()
                        .push((last, Instant::now()));
                    acknowledged.fetch_add(chunk.len(), Ordering::Relaxed);
                    sent += chunk.len();
                }
                epoch += 1;
            }
        }));
    }

    // Measure every window until the senders are done.
    let mut redis_connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut database = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&server.database_url)
            .await
            .unwrap()
    };
    let mut windows = Vec::new();
    let mut counted = (0usize, 0usize, 0usize);
    let mut next = started + config.window;
    let mut timed_until = 0usize;
    let mut retired = (0usize, 0u64);
    loop {
        tokio::time::sleep_until(next.into()).await;
        let done = Instant::now() >= deadline;
        // New content for the connectors: a window's share, stamped a minute ago.
        let stamp = (chrono::Utc::now() - TimeDelta::minutes(1))
            .format(TIME_FORMAT)
            .to_string();
        for (tenant, records, taken) in &mut trickles {
            let share = (records.len() / 60).max(1);
            let fresh: Vec<serde_json::Value> = (0..share)
                .map(|i| {
                    let n = *taken + i;
                    let mut record = records[n % records.len()].clone();
                    let id = record["Id"].as_str().unwrap_or("").to_owned();
                    record["Id"] = rename(&id, (n / records.len()) as u32 + 1).into();
                    record["CreationTime"] = stamp.clone().into();
                    record
                })
                .collect();
            *taken += share;
            fake.publish(tenant, fresh);
        }
        let records = acknowledged.load(Ordering::Relaxed);
        let (findings, latencies, slowest) = {
            let created = created.lock().unwrap();
            let acks = acks.lock().unwrap();
            let fresh = &created[timed_until..];
            let mut timed: Vec<(Duration, &String, &String)> = fresh
                .iter()
                .filter_map(|(tenant, detected, at)| {
                    let sent = acks.get(tenant)?;
                    let i = sent.partition_point(|(last, _)| last.as_str() < detected.as_str());
                    let (_, acked) = sent.get(i)?;
                    Some((at.saturating_duration_since(*acked), tenant, detected))
                })
                .collect();
            timed.sort();
            let slowest = timed
                .last()
                .map(|(_, tenant, detected)| ((*tenant).clone(), (*detected).clone()));
            let latencies: Vec<Duration> = timed.iter().map(|(latency, _, _)| *latency).collect();
            timed_until = created.len();
            // (Findings of the connectors' tenants have no acknowledgement to time.)
            (latencies.len(), latencies, slowest)
        };
        if let Some(days) = config.retention_days {
            // Behind the slowest tenant's newest acknowledged record.
            let frontier = acks
                .lock()
                .unwrap()
                .values()
                .filter_map(|sent| sent.last())
                .filter_map(|(last, _)| NaiveDateTime::parse_from_str(last, TIME_FORMAT).ok())
                .min();
            if let Some(frontier) = frontier {
                let cutoff = (frontier - TimeDelta::days(i64::from(days))).and_utc();
                let report = tokenwatch_storage::retention::retain(&server.database, cutoff)
                    .await
                    .expect("retention");
                retired.0 += report.partitions.len();
                retired.1 += report.raw_records;
            }
        }
        let database_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut database)
            .await
            .unwrap();
        let warnings = logs.warnings.load(Ordering::Relaxed);
        let errors = logs.errors.load(Ordering::Relaxed);
        windows.push(Window {
            at: started.elapsed(),
            records: records - counted.0,
            findings,
            p50: percentile(&latencies, 0.5),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            slowest,
            process_rss: process_rss(),
            redis_used: redis_used(&mut redis_connection).await,
            postgres_pss: postgres_pss(&postgres),
            database_bytes: database_bytes as u64,
            warnings: warnings - counted.1,
            errors: errors - counted.2,
        });
        if config.progress {
            // A long run's figures as they come, so a run cut short still tells something.
            #[allow(clippy::print_stdout)]
            {
                println!("{:?}", windows.last().unwrap());
            }
        }
        counted = (records, warnings, errors);
        if done {
            break;
        }
        next += config.window;
    }
    for sender in senders {
        sender.await.unwrap();
    }

    let mut actions: HashMap<String, i64> = HashMap::new();
    let connector_records = stored(&server, &connector_tenants).await;
    let tenants: Vec<String> = acks.lock().unwrap().keys().cloned().collect();
    for tenant in tenants
        .iter()
        .chain(connector_tenants.iter().map(|(t, _)| t))
    {
        let mut tx = server
            .database
            .tenant_tx(TenantId::parse(tenant).unwrap())
            .await
            .unwrap();
        let states: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM actions GROUP BY state")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        for (state, n) in states {
            *actions.entry(state).or_default() += n;
        }
        tx.commit().await.unwrap();
    }
    let mut actions: Vec<(String, i64)> = actions.into_iter().collect();
    actions.sort();
    server.stop().await;
    Report {
        workload_records,
        windows,
        actions,
        connector_records,
        logged: logs.first.lock().unwrap().clone(),
        retired,
        resent: resent.load(Ordering::Relaxed),
    }
}

/// The report as a Markdown table (what BENCHMARKS.md shows), with the actions and what was
/// logged.
pub(crate) fn table(report: &Report) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let mut out = String::from(
        "| at | records/s | findings | p50 | p99 | max | process RSS | Redis used | Postgres PSS | database | warn | error |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut previous = Duration::ZERO;
    for w in &report.windows {
        let seconds = (w.at - previous).as_secs_f64();
        previous = w.at;
        out.push_str(&format!(
            "| {:.0} s | {:.0} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} MB | {:.1} MB | {:.0} MB | {:.0} MB | {} | {} |\n",
            w.at.as_secs_f64(),
            w.records as f64 / seconds,
            w.findings,
            w.p50.as_secs_f64() * 1e3,
            w.p99.as_secs_f64() * 1e3,
            w.max.as_secs_f64() * 1e3,
            mb(w.process_rss),
            mb(w.redis_used),
            mb(w.postgres_pss),
            mb(w.database_bytes),
            w.warnings,
            w.errors,
        ));
    }
    out.push_str(&format!(
        "\nworkload: {} records per epoch; actions: {:?}; connectors stored {} records; \
         retention dropped {} partitions and {} raw records; {} requests sent again after \
         a transport error\n",
        report.workload_records,
        report.actions,
        report.connector_records,
        report.retired.0,
        report.retired.1,
        report.resent
    ));
    // Where to look in `SOAK_LOG` for a window that was slow.
    for w in &report.windows {
        if w.p99 >= Duration::from_secs(1)
            && let Some((tenant, detected)) = &w.slowest
        {
            out.push_str(&format!(
                "slowest finding of the window at {:.0} s: tenant {tenant}, detected_at {detected}\n",
                w.at.as_secs_f64()
            ));
        }
    }
    for line in &report.logged {
        out.push_str(line);
        out.push('\n');
    }
    out
}
