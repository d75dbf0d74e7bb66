//! A failure inside a service reaches the caller as a code and a correlation id, never as the
//! failure's own text (a table name, a query, another tenant's data): each service is sent a
//! request whose storage fails underneath it.

use tokenwatch_auth::Role;
use tokenwatch_proto::baseline::v1::GetBaselineStatsRequest;
use tokenwatch_proto::baseline::v1::baseline_service_client::BaselineServiceClient;
use tokenwatch_proto::detection::v1::ListFindingsRequest;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::feedback::v1::ListVerdictsRequest;
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::ingest::v1::ListQuarantinedRecordsRequest;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::response::v1::ListActionsRequest;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::tenant::v1::GetTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::{Code, Status};
use tokenwatch_test_utils::{TestServer, test_options};

use crate::TENANT_A;

/// Hides `table` from the services: every query that reads it fails inside.
async fn break_table(server: &TestServer, table: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE {table} RENAME TO {table}_hidden_by_test"
    )))
    .execute(server.database.pool())
    .await
    .unwrap();
}

fn assert_masked(service: &str, result: Result<(), Status>) {
    let status = result.expect_err(service);
    assert_eq!(status.code(), Code::Internal, "{service}: {status:?}");
    let message = status.message();
    assert!(
        message.starts_with("internal error (correlation id "),
        "{service}: {message}"
    );
    for leak in [
        "hidden_by_test",
        "does not exist",
        "SELECT",
        "sqlx",
        "database",
    ] {
        assert!(
            !message.contains(leak),
            "{service} leaked {leak:?}: {message}"
        );
    }
}

#[tokio::test]
async fn internal_failures_reach_callers_as_a_correlation_id_only() {
    let mut options = test_options();
    options.pipeline_workers = 0;
    let server = TestServer::spawn_with_options(&[], options).await;
    server.register(&[TENANT_A]).await;
    let token = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    for table in [
        "quarantine",
        "findings",
        "actions",
        "verdicts",
        "engine_generations",
        "tenant_sources",
    ] {
        break_table(&server, table).await;
    }
    let tenant_id = TENANT_A.to_owned();

    let ingest = IngestServiceClient::new(channel.clone())
        .list_quarantined_records(ListQuarantinedRecordsRequest {
            tenant_id: tenant_id.clone(),
            page_size: 10,
            page_token: String::new(),
        })
        .await;
    assert_masked("ingest", ingest.map(drop));
    let detection = DetectionServiceClient::new(channel.clone())
        .list_findings(ListFindingsRequest {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        })
        .await;
    assert_masked("detection", detection.map(drop));
    let response = ResponseServiceClient::new(channel.clone())
        .list_actions(ListActionsRequest {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        })
        .await;
    assert_masked("response", response.map(drop));
    let feedback = FeedbackServiceClient::new(channel.clone())
        .list_verdicts(ListVerdictsRequest {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        })
        .await;
    assert_masked("feedback", feedback.map(drop));
    let baseline = BaselineServiceClient::new(channel.clone())
        .get_baseline_stats(GetBaselineStatsRequest {
            tenant_id: tenant_id.clone(),
        })
        .await;
    assert_masked("baseline", baseline.map(drop));
    let tenant = TenantServiceClient::new(channel)
        .get_tenant(GetTenantRequest { tenant_id })
        .await;
    assert_masked("tenant", tenant.map(drop));
    server.stop().await;
}
