//! Load generator: end-to-end ingest over gRPC into Postgres on this machine, beside the ceiling
//! of a raw `COPY` of the same rows into the same tables.
//!
//! `make up && source .run/env && cargo bench -p tokenwatch-e2e --bench ingest`
//! (`INGEST_BENCH_RECORDS`, default 200000; `INGEST_BENCH_CLIENTS`, default 2).

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]
// A load generator reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use tokenwatch_auth::Role;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_proto::tenant::v1::CreateTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_server::ServiceName;
use tokenwatch_test_utils::{TestServer, ual_document};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const COPY_TENANT: &str = "0c0c0c0c-0000-4000-8000-000000000c0c";
const PER_DOCUMENT: usize = 5_000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let records = env_number("INGEST_BENCH_RECORDS", 200_000);
    let clients = env_number("INGEST_BENCH_CLIENTS", 2).max(1);
    let server = TestServer::spawn_with(&[ServiceName::Ingest]).await;
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let mut registry = TenantServiceClient::new(channel.clone());
    for tenant in [TENANT, COPY_TENANT] {
        registry
            .create_tenant(CreateTenantRequest {
                tenant_id: tenant.to_owned(),
                display_name: "bench".to_owned(),
            })
            .await
            .unwrap();
    }
    let documents: Vec<Vec<u8>> = (0..records.div_ceil(PER_DOCUMENT))
        .map(|i| ual_document(TENANT, i * PER_DOCUMENT, PER_DOCUMENT))
        .collect();
    let bytes: usize = documents.iter().map(Vec::len).sum();

    // Warm up partitions and connections with a small document, then measure.
    let mut warm = IngestServiceClient::new(channel.clone());
    warm.ingest_batch(request(ual_document(TENANT, 10_000_000, 100)))
        .await
        .unwrap();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let mut client =
            IngestServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
        let mine: Vec<Vec<u8>> = documents
            .iter()
            .skip(worker)
            .step_by(clients)
            .cloned()
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            for document in mine {
                let response = client.ingest_batch(request(document)).await.unwrap();
                accepted += response.into_inner().summary.unwrap().accepted;
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    let grpc = started.elapsed();
    assert_eq!(accepted as usize, documents.len() * PER_DOCUMENT);

    // The ceiling: the same rows, as the ingest stored them, copied straight into the tables.
    let mut connection = server.database.pool().acquire().await.unwrap();
    let raw_csv = copy_csv(
        &mut connection,
        &format!(
            "SELECT '{COPY_TENANT}'::uuid, event_time, record_id, source_format, source_name, \
                    content \
             FROM raw_records WHERE tenant_id = '{TENANT}'"
        ),
    )
    .await;
    let events_csv = copy_csv(
        &mut connection,
        &format!(
            "SELECT '{COPY_TENANT}'::uuid, event_time, record_id, source_format, user_id, \
                    user_object_id, session_id, session_id_source, token_id, interactive, \
                    ip_address, asn, as_org, country, hosting, user_agent, client_kind, browser, \
                    browser_major, os, device_id, operation, workload, result_status, app_id \
             FROM events WHERE tenant_id = '{TENANT}'"
        ),
    )
    .await;
    let started = Instant::now();
    let mut copy = connection
        .copy_in_raw(
            "COPY raw_records (tenant_id, event_time, record_id, source_format, source_name, \
                               content) \
             FROM STDIN WITH (FORMAT csv)",
        )
        .await
        .unwrap();
    copy.send(raw_csv.as_bytes()).await.unwrap();
    let copied = copy.finish().await.unwrap();
    let mut copy = connection
        .copy_in_raw(
            "COPY events (tenant_id, event_time, record_id, source_format, user_id, user_object_id, \
                          session_id, session_id_source, token_id, interactive, ip_address, asn, \
                          as_org, country, hosting, user_agent, client_kind, browser, \
                          browser_major, os, device_id, operation, workload, result_status, app_id) \
             FROM STDIN WITH (FORMAT csv)",
        )
        .await
        .unwrap();
    copy.send(events_csv.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    let ceiling = started.elapsed();
    drop(connection);

    let stored = copied as usize;
    println!("records                {stored}");
    println!(
        "document size          {PER_DOCUMENT} records, {:.1} MB in all",
        bytes as f64 / 1e6
    );
    println!(
        "grpc ingest            {:.2} s = {:.0} records/s ({clients} clients; parse, normalize, enrich, dedupe, commit, announce)",
        grpc.as_secs_f64(),
        stored as f64 / grpc.as_secs_f64()
    );
    println!(
        "raw COPY (ceiling)     {:.2} s = {:.0} records/s (the same raw_records and events rows)",
        ceiling.as_secs_f64(),
        stored as f64 / ceiling.as_secs_f64()
    );
    server.stop().await;
}

fn request(content: Vec<u8>) -> IngestBatchRequest {
    IngestBatchRequest {
        tenant_id: TENANT.to_owned(),
        document: Some(Document {
            format: SourceFormat::Unspecified.into(),
            content,
            source_name: "bench".to_owned(),
        }),
    }
}

/// The rows of `query` as CSV, produced by `COPY ... TO STDOUT`, so the text is exactly what
/// `COPY ... FROM STDIN` reads back.
async fn copy_csv(connection: &mut sqlx::PgConnection, query: &str) -> String {
    use futures::StreamExt;
    let mut out = connection
        .copy_out_raw(&format!("COPY ({query}) TO STDOUT WITH (FORMAT csv)"))
        .await
        .unwrap();
    let mut text = Vec::new();
    while let Some(chunk) = out.next().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(text).unwrap()
}
