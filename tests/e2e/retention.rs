//! Retention against real Postgres and Redis: a server with `retention` set drops the month
//! that fell out of it (its events, raw records and quarantine), refuses to store it again, and
//! the pipeline's completeness check neither rolls back for the events it lost nor misses the
//! events it keeps, also when it rebuilds from nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Months, Utc};
use tokenwatch_auth::Role;
use tokenwatch_cache::Cache;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{
    Document, IngestBatchRequest, IngestBatchResponse, RecordOutcome, RejectReason, SourceFormat,
};
use tokenwatch_storage::ingest::month_of;
use tokenwatch_test_utils::{TestServer, empty_database_url, pipeline_options, redis_url};
use tokenwatch_types::TenantId;

use crate::pipeline::{ingest, online, pieces, settle, simulated_from};

/// Rows of `table` that are the tenant's (and match `filter`, SQL).
async fn count(server: &TestServer, table: &str, tenant: &str, filter: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1 AND {filter}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(TenantId::parse(tenant).unwrap().as_uuid())
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

/// When the tenant's oldest engine generation was written: a replay from the start rewrites it.
async fn oldest_generation(server: &TestServer, tenant: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT min(create_time) FROM engine_generations WHERE tenant_id = $1")
        .bind(TenantId::parse(tenant).unwrap().as_uuid())
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

async fn send(server: &TestServer, tenant: &str, piece: &[u8]) -> IngestBatchResponse {
    let token = server.tokens.valid(&[Role::Service], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    IngestServiceClient::new(channel)
        .max_encoding_message_size(usize::MAX)
        .ingest_batch(IngestBatchRequest {
            tenant_id: tenant.to_owned(),
            document: Some(Document {
                format: SourceFormat::Unspecified.into(),
                content: piece.to_vec(),
                source_name: "resent.json".to_owned(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The partitions of a partitioned table.
async fn partitions_of(server: &TestServer, parent: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT child.relname::text FROM pg_inherits \
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
         JOIN pg_class parent ON parent.oid = pg_inherits.inhparent \
         WHERE parent.relname = $1",
    )
    .bind(parent)
    .fetch_all(server.database.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn retention_drops_a_month_and_the_pipeline_stays_complete() {
    // Nine simulated days across a month boundary, two to three months ago: four days in the
    // older month, which retention will drop, five in the newer, which it keeps.
    let now = Utc::now();
    let this_month = month_of(now);
    let kept_month = this_month - Months::new(2);
    let dropped_month = this_month - Months::new(3);
    let start = kept_month - chrono::Duration::days(4);
    let (tenant, files) = simulated_from(21, 9, start);
    let url = empty_database_url().await;

    let server = TestServer::spawn_on(&url, &[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    let all = pieces(&files);
    ingest(&server, &tenant, &all).await;
    settle(&server, &tenant).await;
    // Something the retention must remove beside the events: a quarantined record, received
    // (as far as the database knows) before the cutoff.
    send(&server, &tenant, b"{not json").await;
    sqlx::query("UPDATE quarantine SET receive_time = $1")
        .bind(dropped_month)
        .execute(server.database.pool())
        .await
        .unwrap();
    let before = online(&server, &tenant).await;
    assert!(!before.is_empty(), "the simulation has findings");
    let stored = count(&server, "events", &tenant, "true").await;
    let older = format!("event_time < '{}'", kept_month.to_rfc3339());
    let doomed = count(&server, "events", &tenant, &older).await;
    assert!(
        doomed > 0 && doomed < stored,
        "{doomed} of {stored} events in the older month"
    );
    server.stop().await;

    // The same database, now keeping 10 days into the newer month: the older month goes.
    let keep = now - (kept_month + chrono::Duration::days(10));
    let mut options = pipeline_options(1);
    options.retention = Some(keep);
    options.retention_interval = Duration::from_millis(500);
    let server = TestServer::spawn_on(&url, &[], options).await;
    let dropped_name = format!(
        "events_{}_{:02}",
        dropped_month.year(),
        dropped_month.month()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let partitions = partitions_of(&server, "events").await;
        // The run deletes the old quarantine after the drop: wait for the whole run.
        let quarantined = count(&server, "quarantine", &tenant, "true").await;
        if !partitions.contains(&dropped_name) && quarantined == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention never finished: {dropped_name} dropped: {}, quarantined left: {quarantined}",
            !partitions.contains(&dropped_name)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Events and raw records are gone (the quarantined record too, above); the tally says so.
    let left = count(&server, "events", &tenant, "true").await;
    let raw = count(&server, "raw_records", &tenant, "true").await;
    assert_eq!((left, raw), (stored - doomed, stored - doomed));
    // The older month's tally moved to `retired`; the newer month's is still its own.
    let tally: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT retired FROM event_counts WHERE tenant_id = $1), \
                (SELECT sum(stored)::bigint FROM event_month_counts WHERE tenant_id = $1)",
    )
    .bind(TenantId::parse(&tenant).unwrap().as_uuid())
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(tally, (doomed, stored - doomed));
    let raw_partitions = partitions_of(&server, "raw_records").await;
    assert!(
        !raw_partitions.contains(&dropped_name.replace("events_", "raw_records_")),
        "the raw records' month went with the events': {raw_partitions:?}"
    );

    // Sweeps after the drop: the pipeline counts the retired events as seen, so it neither
    // rolls back nor retracts the older month's findings.
    tokio::time::sleep(Duration::from_secs(5)).await;
    settle(&server, &tenant).await;
    assert_eq!(online(&server, &tenant).await, before);

    // Sent again, the older month is refused as EXPIRED and not quarantined; the newer month
    // is still recognised as stored.
    let mut expired = 0;
    let mut duplicates = 0;
    for piece in &all {
        let answer = send(&server, &tenant, piece).await;
        for result in &answer.results {
            match (result.outcome(), result.reason()) {
                (RecordOutcome::Rejected, RejectReason::Expired) => {
                    assert!(
                        result.message.contains("retention horizon"),
                        "{}",
                        result.message
                    );
                    expired += 1;
                }
                (RecordOutcome::Duplicate, _) => duplicates += 1,
                other => panic!("unexpected outcome {other:?}: {}", result.message),
            }
        }
    }
    assert_eq!((expired, duplicates), (doomed, stored - doomed));
    // Nor is its partition made again.
    let made = tokenwatch_storage::ensure_event_partitions(&server.database, dropped_month, now)
        .await
        .unwrap();
    assert!(!made.contains(&dropped_name), "{made:?}");

    // Rebuilt from nothing, the engine sees only the kept events and knows it: it settles, and
    // sweeps then leave it be. A check that kept failing would replay from the start at every
    // sweep, the same findings each time but its generations dropped and written anew.
    let cache = Cache::connect(&redis_url()).await.unwrap();
    let id = TenantId::parse(&tenant).unwrap();
    tokenwatch_pipeline::reset_tenant(&server.database, &cache, id)
        .await
        .unwrap();
    settle(&server, &tenant).await;
    let rebuilt = (
        online(&server, &tenant).await,
        oldest_generation(&server, &tenant).await,
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    settle(&server, &tenant).await;
    let swept = (
        online(&server, &tenant).await,
        oldest_generation(&server, &tenant).await,
    );
    assert_eq!(swept, rebuilt);
    server.stop().await;
}
