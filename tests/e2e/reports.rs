//! Monthly reports: a simulated month through the pipeline, verdicts and a revocation, then the
//! report made by the monthly job and fetched through the API — the PDF's pages rendered by
//! poppler's `pdftoppm` and its text read back with `pdftotext`.
//!
//! `TOKENWATCH_REPORT_PAGES=<dir>` also writes the pages there as PNG (docs/reports/ holds
//! them); without poppler the test says so and skips, unless `TOKENWATCH_PDF_TESTS=required`
//! (`make test` sets it, and installs poppler).

use std::process::Command;
use std::time::{Duration, Instant};

use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::common::v1::VerdictKind;
use tokenwatch_proto::feedback::v1::SubmitVerdictRequest;
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::{ActionKind, ApproveActionRequest, ProposeActionRequest};
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tenant::v1::{CreateTenantRequest, GetMonthlyReportRequest, ReportFormat};
use tokenwatch_server::{Endpoints, ResponseConfig};
use tokenwatch_test_utils::{TestServer, pipeline_options};
use tokenwatch_types::TenantId;

use crate::pipeline::{ingest, pieces, settle, simulated_tenant};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "fake~client.secret-value_1";
const MONTH: &str = "2026-11";

#[allow(clippy::print_stderr)]
fn poppler() -> bool {
    let found = Command::new("pdftoppm").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("TOKENWATCH_PDF_TESTS").as_deref() != Ok("required"),
            "pdftoppm is missing (apt-get install poppler-utils)"
        );
        eprintln!("skipping: pdftoppm is missing (apt-get install poppler-utils)");
    }
    found
}

#[tokio::test]
async fn a_simulated_month_becomes_a_report_its_customer_can_read() {
    if !poppler() {
        return;
    }
    let microsoft = MicrosoftFake::start().await;
    let mut options = pipeline_options(1);
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response = ResponseConfig {
        endpoints: Endpoints::all_at(&microsoft.url),
        sweep_interval: Duration::from_millis(500),
        ..ResponseConfig::default()
    };
    let start = "2026-11-01T00:00:00Z".parse().unwrap();
    let (tenant, files) = simulated_tenant(41, 20, 30, start);
    let server = TestServer::spawn_with_options(&[], options.clone()).await;
    let root = server.tokens.person("root", &[Role::MspAdmin], &[]);
    TenantServiceClient::new(
        tokenwatch_grpc::connect(&server.url, Some(&root))
            .await
            .unwrap(),
    )
    .create_tenant(CreateTenantRequest {
        tenant_id: tenant.clone(),
        display_name: "Contoso Ltd".into(),
    })
    .await
    .unwrap();
    microsoft.add_app(&tenant, CLIENT, SECRET);
    server.set_client_secret(&tenant, CLIENT, SECRET).await;
    ingest(&server, &tenant, &pieces(&files)).await;
    settle(&server, &tenant).await;

    // Two findings judged (a compromise, acted on; a false alarm).
    let id = TenantId::parse(&tenant).unwrap();
    let mut tx = server.database.tenant_tx(id).await.unwrap();
    let findings: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT finding_id, user_id FROM findings ORDER BY score DESC, finding_id LIMIT 2",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let in_month: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM findings WHERE detected_at >= '2026-11-01' AND detected_at < '2026-12-01'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!(findings.len(), 2, "the month needs two findings");
    let token = server.tokens.person("ana", &[Role::Analyst], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    let mut feedback = FeedbackServiceClient::new(channel.clone());
    for ((finding, _), kind) in findings
        .iter()
        .zip([VerdictKind::TruePositive, VerdictKind::FalsePositive])
    {
        feedback
            .submit_verdict(SubmitVerdictRequest {
                tenant_id: tenant.clone(),
                finding_id: finding.to_string(),
                kind: kind.into(),
                comment: String::new(),
            })
            .await
            .unwrap();
    }
    let (compromised, user) = &findings[0];
    microsoft.add_user(&tenant, "00000000-0000-4000-8000-00000000ade1", user);
    let action = ResponseServiceClient::new(channel)
        .propose_action(ProposeActionRequest {
            tenant_id: tenant.clone(),
            kind: ActionKind::RevokeSessions.into(),
            user_id: user.clone(),
            finding_id: compromised.to_string(),
            reason: "confirmed with the user".into(),
            request_id: "report-test".into(),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let admin = server.tokens.person("root", &[Role::MspAdmin], &[&tenant]);
    let admin_channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    ResponseServiceClient::new(admin_channel)
        .approve_action(ApproveActionRequest {
            tenant_id: tenant.clone(),
            action_id: action.action_id,
            approve: true,
            comment: String::new(),
        })
        .await
        .unwrap();
    let database_url = server.database_url.clone();
    server.stop().await;

    // A server with the monthly job makes November's report, once.
    options.monthly_reports = true;
    let server = TestServer::spawn_on(&database_url, &[], options).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut tx = server.database.tenant_tx(id).await.unwrap();
        let announced: i64 =
            sqlx::query_scalar("SELECT count(*) FROM notifications WHERE event = 'report.monthly'")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        if announced == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no monthly report was made");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let viewer = server
        .tokens
        .person("customer", &[Role::TenantViewer], &[&tenant]);
    let mut tenants = TenantServiceClient::new(
        tokenwatch_grpc::connect(&server.url, Some(&viewer))
            .await
            .unwrap(),
    );
    let fetch = |format: ReportFormat| GetMonthlyReportRequest {
        tenant_id: tenant.clone(),
        month: MONTH.into(),
        format: format.into(),
    };
    let pdf = tenants
        .get_monthly_report(fetch(ReportFormat::Pdf))
        .await
        .unwrap()
        .into_inner();
    assert!(pdf.kept);
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.file_name.ends_with("-2026-11.pdf"), "{}", pdf.file_name);
    let again = tenants
        .get_monthly_report(fetch(ReportFormat::Pdf))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.content, pdf.content, "a kept report changed");
    let facts: serde_json::Value = serde_json::from_slice(
        &tenants
            .get_monthly_report(fetch(ReportFormat::Json))
            .await
            .unwrap()
            .into_inner()
            .content,
    )
    .unwrap();
    let bad = tenants
        .get_monthly_report(GetMonthlyReportRequest {
            month: "November".into(),
            ..fetch(ReportFormat::Pdf)
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tokenwatch_proto::Code::InvalidArgument);

    // Its pages render, and say what happened.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf.content).unwrap();
    let pages_dir = std::env::var("TOKENWATCH_REPORT_PAGES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_owned());
    std::fs::create_dir_all(&pages_dir).unwrap();
    let rendered = Command::new("pdftoppm")
        .args(["-r", "80", "-png"])
        .arg(&file)
        .arg(pages_dir.join("monthly-report"))
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    let pages: Vec<_> = std::fs::read_dir(&pages_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("monthly-report")
        })
        .collect();
    assert!(
        !pages.is_empty() && pages.len() <= 4,
        "{} pages",
        pages.len()
    );
    for page in &pages {
        assert!(
            page.metadata().unwrap().len() > 10_000,
            "{page:?} is nearly blank"
        );
    }
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let sessions = facts["sessions_watched"].as_i64().unwrap();
    assert!(sessions > 0);
    for expected in [
        "Security report for Contoso Ltd".to_owned(),
        "November 2026".to_owned(),
        format!("It raised {in_month} alerts"),
        "Confirmed: the account was compromised".to_owned(),
        "False alarm: nothing was wrong".to_owned(),
        "Signed the person out everywhere".to_owned(),
        "People most targeted".to_owned(),
        "Data health".to_owned(),
        "imported after the fact".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert_eq!(facts["outcomes"]["true_positive"], 1);
    assert_eq!(facts["actions"]["revoke_sessions"]["succeeded"], 1);
    assert_eq!(facts["records_per_day"].as_array().unwrap().len(), 30);
}
