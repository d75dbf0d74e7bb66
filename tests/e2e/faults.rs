//! Faults, against stores the test owns. Postgres crashed (`pg_ctl stop -m immediate`) and
//! restarted while ingest runs under load, and Redis killed mid-pipeline. Every record the server acknowledged is stored
//! exactly once. A request meeting the outage waits up to 10 s for a connection, then is told
//! UNAVAILABLE, which callers retry.

use std::time::Duration;

use tokenwatch_auth::Role;
use tokenwatch_cache::Cache;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_proto::{Code, Status};
use tokenwatch_server::ServiceName;
use tokenwatch_test_utils::processes::{OwnPostgres, OwnRedis};
use tokenwatch_test_utils::{
    TestServer, empty_database_url, pipeline_options, test_options, ual_document,
};
use tokenwatch_types::TenantId;

use crate::TENANT_A;
use crate::pipeline::{assert_same, ingest, online, pieces, scan, settle_on, simulated};

const DOCUMENTS: usize = 40;
const RECORDS_PER_DOCUMENT: usize = 250;

type Client = IngestServiceClient<tokenwatch_grpc::AuthedChannel>;

async fn ingest_client(server: &TestServer, tenant: &str) -> Client {
    let token = server.tokens.valid(&[Role::Service], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    IngestServiceClient::new(channel).max_encoding_message_size(usize::MAX)
}

/// Sends a document as the connectors and SDKs do: again until acknowledged. Returns the
/// refusals met on the way.
async fn send_until_acknowledged(
    client: &mut Client,
    tenant: &str,
    content: &[u8],
    n: usize,
) -> Vec<Status> {
    let mut refusals = Vec::new();
    loop {
        let sent = client
            .ingest_batch(IngestBatchRequest {
                tenant_id: tenant.to_owned(),
                document: Some(Document {
                    format: SourceFormat::Unspecified.into(),
                    content: content.to_vec(),
                    source_name: format!("doc-{n}.json"),
                }),
            })
            .await;
        match sent {
            Ok(_) => return refusals,
            Err(status) => {
                refusals.push(status);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn postgres_crashing_under_ingest_loses_and_duplicates_nothing_acknowledged() {
    let postgres = OwnPostgres::start();
    let url = postgres.create_database("tw_faults").await;
    let server = TestServer::spawn_on(&url, &[ServiceName::Ingest], test_options()).await;
    server.register(&[TENANT_A]).await;
    let mut client = ingest_client(&server, TENANT_A).await;
    let (progress, mut acknowledged) = tokio::sync::watch::channel(0usize);
    let (crashed, mut crash_seen) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(async move {
        let mut refusals = Vec::new();
        for n in 0..DOCUMENTS {
            let content = ual_document(TENANT_A, n * RECORDS_PER_DOCUMENT, RECORDS_PER_DOCUMENT);
            refusals.extend(send_until_acknowledged(&mut client, TENANT_A, &content, n).await);
            let _ = progress.send(n + 1);
            if n + 1 == 5 {
                // Carry on only once Postgres is down, so the outage meets the load.
                crash_seen.wait_for(|down| *down).await.unwrap();
            }
        }
        refusals
    });

    // Crash Postgres once a few documents are in and keep it down past the pool's 10 s wait
    // for a connection (a shorter outage only makes requests wait), then bring it back.
    acknowledged.wait_for(|n| *n >= 5).await.unwrap();
    postgres.crash();
    crashed.send(true).unwrap();
    tokio::time::sleep(Duration::from_secs(13)).await;
    postgres.start_again();
    let refusals = tokio::time::timeout(Duration::from_secs(120), sender)
        .await
        .expect("ingest recovered after postgres came back")
        .unwrap();

    assert!(!refusals.is_empty(), "the crash happened while ingest ran");
    for status in &refusals {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let expected = (DOCUMENTS * RECORDS_PER_DOCUMENT) as i64;
    for table in ["events", "raw_records"] {
        let mut tx = server
            .database
            .tenant_tx(TenantId::parse(TENANT_A).unwrap())
            .await
            .unwrap();
        let (rows, distinct): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT record_id) FROM {table}"
        )))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows, expected, "{table}: every acknowledged record, once");
        assert_eq!(distinct, expected, "{table}: no record twice");
    }
    server.stop().await;
}

/// Redis killed mid-pipeline and started again empty, with documents arriving while it is
/// down: ingest commits them (announcing is best effort, the sweep finds what was not
/// announced) or refuses them to be resent; the workers ride out the outage, rebuild their hot
/// state from Postgres, and the findings equal the offline scan's.
#[tokio::test]
async fn redis_killed_mid_pipeline_gives_the_findings_of_the_scan() {
    let mut redis = OwnRedis::start();
    let target = tokenwatch_server::RedisTarget::Single(redis.url());
    let (tenant, files) = simulated(15, 10);
    let server = TestServer::spawn_on_redis(
        &empty_database_url().await,
        &target,
        &[],
        pipeline_options(1),
    )
    .await;
    server.register(&[&tenant]).await;
    let pieces = pieces(&files);
    let (first, rest) = pieces.split_at(pieces.len() / 2);
    ingest(&server, &tenant, first).await;
    // Kill it while the worker is still stepping through the first half.
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.kill();
    let mut client = ingest_client(&server, &tenant).await;
    let mut refusals = Vec::new();
    for (n, piece) in rest.iter().enumerate() {
        refusals.extend(send_until_acknowledged(&mut client, &tenant, piece, n).await);
        if n == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            redis.start_again();
        }
    }
    for status in &refusals {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let cache = Cache::connect(&redis.url()).await.unwrap();
    settle_on(&server, &tenant, &cache).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
    server.stop().await;
}
