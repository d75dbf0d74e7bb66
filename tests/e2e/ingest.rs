//! Ingest over gRPC into the real Postgres and Redis: read back, re-send, cross-tenant records,
//! malformed input, limits, the touched-session stream, and a crash in the middle of a stream.

use tokenwatch_auth::Role;
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_proto::Code;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::*;
use tokenwatch_server::{Options, ServiceName};
use tokenwatch_test_utils::{TestServer, test_options, ual_document};
use tokenwatch_types::TenantId;

use crate::{TENANT_A, TENANT_B};

/// The UAL fixture of the core crate's parser tests: 5 events, 2 rejected, tenant
/// 72f988bf-86f1-41af-91ab-2d7cd011db47 in OrganizationId.
const FIXTURE_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../crates/core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

type Client = IngestServiceClient<AuthedChannel>;

/// Registers the tenants and returns an ingest client acting as a `service` for them.
async fn setup(server: &TestServer, tenants: &[&str]) -> Client {
    server.register(tenants).await;
    let token = server.tokens.valid(&[Role::Service], tenants);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    IngestServiceClient::new(channel)
        .max_encoding_message_size(usize::MAX)
        .max_decoding_message_size(64 * 1024 * 1024)
}

fn document(content: Vec<u8>, name: &str) -> Option<Document> {
    Some(Document {
        format: SourceFormat::Unspecified.into(),
        content,
        source_name: name.to_owned(),
    })
}

async fn batch(client: &mut Client, tenant: &str, content: Vec<u8>) -> IngestBatchResponse {
    client
        .ingest_batch(IngestBatchRequest {
            tenant_id: tenant.to_owned(),
            document: document(content, "test.json"),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn count(server: &TestServer, table: &str, tenant: &str) -> i64 {
    let mut tx = server
        .database
        .tenant_tx(TenantId::parse(tenant).unwrap())
        .await
        .unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}

fn reasons(response: &IngestBatchResponse) -> Vec<(i32, RejectReason)> {
    response
        .results
        .iter()
        .filter(|r| r.outcome() == RecordOutcome::Rejected)
        .map(|r| (r.record_index, r.reason()))
        .collect()
}

#[tokio::test]
async fn ingest_reads_back_and_a_resend_duplicates_nothing() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[FIXTURE_TENANT]).await;

    let first = batch(
        &mut client,
        FIXTURE_TENANT,
        fixture("management_activity.json"),
    )
    .await;
    let summary = first.summary.clone().unwrap();
    assert_eq!(
        (summary.accepted, summary.duplicates, summary.rejected),
        (5, 0, 2)
    );
    assert_eq!(summary.rejected_by_reason.get("MISSING_FIELD"), Some(&1));
    assert_eq!(summary.rejected_by_reason.get("INVALID_FIELD"), Some(&1));
    assert_eq!(first.results.len(), 7, "a batch reports every record");
    assert_eq!(
        first.results[0].record_id,
        "4b1a2f0e-6a7e-4c1b-9a55-0d1f6b2c3a01"
    );

    // Read back what was committed, as the database has it.
    let (user, session, ip, source, asn): (String, String, String, String, Option<i64>) =
        sqlx::query_as(
            "SELECT user_id, session_id, host(ip_address), session_id_source, asn FROM events \
             WHERE tenant_id = $1 AND record_id = '4b1a2f0e-6a7e-4c1b-9a55-0d1f6b2c3a01'",
        )
        .bind(TenantId::parse(FIXTURE_TENANT).unwrap().as_uuid())
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    assert_eq!(user, "alice.smith@contoso.com");
    assert_eq!(session, "0e042318-7c78-4acb-ae00-5ee74465bca3");
    assert_eq!(ip, "203.0.113.24");
    assert_eq!(source, "device_properties");
    // 203.0.113.0/24 is documentation space: no ASN, enrichment on or off.
    assert_eq!(asn, None);
    assert_eq!(count(&server, "events", FIXTURE_TENANT).await, 5);
    assert_eq!(count(&server, "raw_records", FIXTURE_TENANT).await, 5);
    assert_eq!(count(&server, "quarantine", FIXTURE_TENANT).await, 2);

    let again = batch(
        &mut client,
        FIXTURE_TENANT,
        fixture("management_activity.json"),
    )
    .await;
    let summary = again.summary.unwrap();
    assert_eq!(
        (summary.accepted, summary.duplicates, summary.rejected),
        (0, 5, 2)
    );
    assert_eq!(count(&server, "events", FIXTURE_TENANT).await, 5);
    assert_eq!(
        count(&server, "quarantine", FIXTURE_TENANT).await,
        2,
        "quarantined once"
    );

    let stats = client
        .get_ingest_stats(GetIngestStatsRequest {
            tenant_id: FIXTURE_TENANT.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.events, stats.raw_records, stats.rejected), (5, 5, 2));
    server.stop().await;
}

#[tokio::test]
async fn records_of_another_tenant_are_rejected() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[TENANT_A]).await;
    let response = batch(&mut client, TENANT_A, fixture("management_activity.json")).await;
    // Four records name the fixture's tenant; the one without OrganizationId is accepted.
    let summary = response.summary.clone().unwrap();
    assert_eq!(summary.rejected_by_reason.get("TENANT_MISMATCH"), Some(&4));
    assert_eq!(summary.accepted, 1);
    assert_eq!(count(&server, "events", TENANT_A).await, 1);
    server.stop().await;
}

#[tokio::test]
async fn malformed_input_is_rejected_with_reasons_and_kept() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[TENANT_A]).await;
    let cases: Vec<(Vec<u8>, Vec<RejectReason>)> = vec![
        (Vec::new(), vec![RejectReason::EmptyDocument]),
        (
            br#"[{"CreationTime": "2026-03-02T08:00:00", "Id": "t1", "Operation": "X", "UserId": "a@b.c", "Workload": "Exchange"}, {"CreationTime": "2026-03"#.to_vec(),
            vec![RejectReason::MalformedJson],
        ),
        (
            b"{\"CreationTime\": \"2026-03-02T08:00:00\", \"Operation\": \"X\", \"Workload\": \"Exchange\", \"UserId\": \"\xff\"}".to_vec(),
            vec![RejectReason::InvalidUtf8],
        ),
        (
            br#"[{"CreationTime": 20260302, "Operation": "X", "Workload": "Exchange", "UserId": ["a"]}]"#.to_vec(),
            vec![RejectReason::InvalidField],
        ),
        (
            b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData\nr1,2026-03-02,1,X,a@b.c,\"{\"\"CreationTime\"\": \"\"2026\"\n".to_vec(),
            vec![RejectReason::MalformedJson],
        ),
    ];
    for (content, expected) in cases {
        let response = batch(&mut client, TENANT_A, content.clone()).await;
        let got: Vec<RejectReason> = reasons(&response).into_iter().map(|(_, r)| r).collect();
        assert_eq!(got, expected, "{}", String::from_utf8_lossy(&content));
        for result in response
            .results
            .iter()
            .filter(|r| r.outcome() == RecordOutcome::Rejected)
        {
            assert!(!result.message.is_empty());
        }
    }
    let quarantined = client
        .list_quarantined_records(ListQuarantinedRecordsRequest {
            tenant_id: TENANT_A.to_owned(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(quarantined.records.len(), 2);
    assert!(!quarantined.next_page_token.is_empty());
    let rest = client
        .list_quarantined_records(ListQuarantinedRecordsRequest {
            tenant_id: TENANT_A.to_owned(),
            page_size: 10,
            page_token: quarantined.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.records.len(), 3, "five rejected records, each kept");
    let utf8 = quarantined
        .records
        .iter()
        .chain(&rest.records)
        .find(|r| r.reason() == RejectReason::InvalidUtf8)
        .unwrap();
    assert!(utf8.content.contains(&0xff), "the raw bytes, as received");
    assert_eq!(
        count(&server, "events", TENANT_A).await,
        1,
        "the good record of the truncated array"
    );
    server.stop().await;
}

#[tokio::test]
async fn oversized_messages_and_fast_tenants_get_resource_exhausted() {
    let mut options = test_options();
    options.ingest.rate_per_tenant = 10;
    let server = TestServer::spawn_with_options(&[ServiceName::Ingest], options).await;
    let mut client = setup(&server, &[TENANT_A, TENANT_B]).await;

    let huge = vec![b' '; tokenwatch_grpc::MAX_MESSAGE_BYTES + 1];
    let status = client
        .ingest_batch(IngestBatchRequest {
            tenant_id: TENANT_A.to_owned(),
            document: document(huge, "huge.json"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // A gzip bomb: 100 MB of spaces in 100 KB on the wire. The server stops expanding it at its
    // message limit (64 MB), so its allocation is bounded, and answers RESOURCE_EXHAUSTED.
    let bomb = vec![b' '; 100 << 20];
    let status = client
        .clone()
        .send_compressed(tokenwatch_proto::tonic::codec::CompressionEncoding::Gzip)
        .ingest_batch(IngestBatchRequest {
            tenant_id: TENANT_A.to_owned(),
            document: document(bomb, "bomb.json"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("decompressing"), "{status:?}");

    // The burst is 10 s of rate (100 records): the first large document passes, the next not.
    batch(&mut client, TENANT_A, ual_document(TENANT_A, 0, 150)).await;
    let status = client
        .ingest_batch(IngestBatchRequest {
            tenant_id: TENANT_A.to_owned(),
            document: document(ual_document(TENANT_A, 150, 50), "more.json"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("retry in"));
    // Another tenant is not slowed down.
    let other = batch(&mut client, TENANT_B, ual_document(TENANT_B, 0, 50)).await;
    assert_eq!(other.summary.unwrap().accepted, 50);
    server.stop().await;
}

#[tokio::test]
async fn touched_sessions_are_announced_on_the_tenant_stream() {
    // A tenant of its own: streams live in the Redis every test shares.
    let tenant = tokenwatch_test_utils::random_tenant();
    let tenant = tenant.as_str();
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[tenant]).await;
    let stream = tokenwatch_cache::touched::stream_key(TenantId::parse(tenant).unwrap());
    let cache = tokenwatch_cache::Cache::connect(&tokenwatch_test_utils::redis_url())
        .await
        .unwrap();
    let mut redis = cache.connection();
    // Streams outlive test databases; start from a clean one.
    let _: i64 = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut redis)
        .await
        .unwrap();

    let response = batch(&mut client, tenant, ual_document(tenant, 0, 40)).await;
    assert_eq!(response.summary.unwrap().accepted, 40);
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(entries.len(), 10, "ten users, one session each");
    let fields: std::collections::HashMap<String, String> = entries[0].1.iter().cloned().collect();
    assert!(fields["user"].ends_with("@contoso.example"));
    assert!(fields["session"].starts_with("00000000-0000-4000-8000-"));
    assert_eq!(fields["events"], "4");

    // Duplicates touch nothing new.
    batch(&mut client, tenant, ual_document(tenant, 0, 40)).await;
    let length: i64 = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(length, 10);
    server.stop().await;
}

async fn stream_documents(
    client: &mut Client,
    tenant: &str,
    documents: Vec<Vec<u8>>,
    pause_after_first: Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<IngestStreamResponse, tokenwatch_proto::Status> {
    let tenant = tenant.to_owned();
    let messages = async_stream(tenant, documents, pause_after_first);
    client.ingest_stream(messages).await.map(|r| r.into_inner())
}

/// A request stream that sends the first document, optionally waits for a signal, then the rest.
fn async_stream(
    tenant: String,
    documents: Vec<Vec<u8>>,
    pause_after_first: Option<tokio::sync::oneshot::Receiver<()>>,
) -> impl tokio_stream::Stream<Item = IngestStreamRequest> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut pause = pause_after_first;
        for (i, content) in documents.into_iter().enumerate() {
            let message = IngestStreamRequest {
                tenant_id: tenant.clone(),
                document: document(content, &format!("part-{i}.json")),
            };
            if sender.send(message).await.is_err() {
                return;
            }
            if let Some(pause) = pause.take() {
                let _ = pause.await;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}

#[tokio::test]
async fn a_crash_in_the_middle_of_a_stream_loses_and_duplicates_nothing() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[TENANT_A]).await;
    let documents: Vec<Vec<u8>> = (0..3)
        .map(|i| ual_document(TENANT_A, i * 500, 500))
        .collect();

    let (resume, pause) = tokio::sync::oneshot::channel();
    let sending = {
        let mut client = client.clone();
        let documents = documents.clone();
        tokio::spawn(async move {
            stream_documents(&mut client, TENANT_A, documents, Some(pause)).await
        })
    };
    // Wait until the first document is committed, then crash the server mid-stream.
    let mut committed = 0;
    for _ in 0..200 {
        committed = count(&server, "events", TENANT_A).await;
        if committed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(committed, 500, "the first document commits whole");
    let database_url = server.database_url.clone();
    server.kill().await;
    let _ = resume.send(());
    let failed = sending.await.unwrap();
    assert!(failed.is_err(), "the stream broke with the server");

    // Restart on the same database and send everything again.
    let server =
        TestServer::spawn_on(&database_url, &[ServiceName::Ingest], Options::default()).await;
    let token = server.tokens.valid(&[Role::Service], &[TENANT_A]);
    client = IngestServiceClient::new(
        tokenwatch_grpc::connect(&server.url, Some(&token))
            .await
            .unwrap(),
    );
    let response = stream_documents(&mut client, TENANT_A, documents, None)
        .await
        .unwrap();
    let summary = response.summary.unwrap();
    assert_eq!(summary.documents, 3);
    assert_eq!(
        (summary.duplicates, summary.accepted, summary.rejected),
        (500, 1000, 0)
    );
    assert_eq!(count(&server, "events", TENANT_A).await, 1500);
    assert_eq!(count(&server, "raw_records", TENANT_A).await, 1500);
    server.stop().await;
}

#[tokio::test]
async fn a_stream_cannot_switch_tenants() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let mut client = setup(&server, &[TENANT_A, TENANT_B]).await;
    let messages = vec![
        IngestStreamRequest {
            tenant_id: TENANT_A.to_owned(),
            document: document(ual_document(TENANT_A, 0, 5), "a.json"),
        },
        IngestStreamRequest {
            tenant_id: TENANT_B.to_owned(),
            document: document(ual_document(TENANT_B, 0, 5), "b.json"),
        },
    ];
    let status = client
        .ingest_stream(tokio_stream::iter(messages))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(count(&server, "events", TENANT_B).await, 0);
    server.stop().await;
}
