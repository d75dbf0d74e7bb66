//! The analyst console in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `console/test/drive.mjs`) against a live server with the real pipeline,
//! Postgres, Redis and the Microsoft fake: two tenants of simulated activity with attacks; the
//! analyst of tenant A signs in with a development token, sees the queue `ListFindings` gives
//! her and nothing of tenant B, opens a finding and gives a verdict, proposes disabling a user
//! (and is not offered her own approval), a second person approves it and the page shows
//! Graph's answer, and a suggested suppression is accepted. Every answer the page shows is
//! checked against the API and the fake.
//!
//! `make test` installs Chromium and the console's packages and sets
//! `TOKENWATCH_CONSOLE_TESTS=required`; elsewhere the test says what is missing and skips.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::common::v1::{FindingStatus, VerdictKind};
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::{Finding, GetFindingRequest, ListFindingsRequest};
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::feedback::v1::{
    ListSuppressionSuggestionsRequest, ListSuppressionsRequest, SubmitVerdictRequest,
};
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::{ActionKind, ActionState, GetActionRequest};
use tokenwatch_proto::tenant::v1::CreateTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_server::{Endpoints, ResponseConfig};
use tokenwatch_test_utils::{TestServer, pipeline_options};

use crate::pipeline::{ingest, pieces, settle, simulated, simulated_tenant};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT_ID: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "fake~client.secret-value_1";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Chromium and the console's driver, or why they are missing.
fn browser() -> Result<PathBuf, String> {
    let chromium = std::env::var_os("TOKENWATCH_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|path| path.exists())
        })
        .ok_or("no Chromium (apt-get install chromium, or set TOKENWATCH_CHROMIUM)")?;
    let driver = repository().join("console/node_modules/playwright-core");
    if !driver.exists() {
        return Err("console/node_modules is missing (make console-deps)".to_owned());
    }
    Ok(chromium)
}

/// Runs the browser driver on `plan`; its report, once it shows no failure and no page error.
async fn drive(plan: serde_json::Value) -> serde_json::Value {
    // Off the test's runtime, which also runs the Microsoft fake.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(repository().join("console/test/drive.mjs"))
            .env("TOKENWATCH_CONSOLE_PLAN", plan.to_string())
            .output()
            .expect("cannot run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!(
                "the driver reported nothing: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(report["failure"].is_null(), "the page failed: {report:#}");
    assert_eq!(report["pageErrors"], serde_json::json!([]), "{report:#}");
    report
}

/// Chromium, or `None` (with the reason printed) when the test may skip.
fn browser_or_skip() -> Option<PathBuf> {
    match browser() {
        Ok(chromium) => Some(chromium),
        Err(missing) if std::env::var("TOKENWATCH_CONSOLE_TESTS").as_deref() != Ok("required") => {
            #[allow(clippy::print_stderr)] // why the test did nothing, where the runner shows it
            {
                eprintln!("skipped: {missing}");
            }
            None
        }
        Err(missing) => panic!("{missing}"),
    }
}

async fn findings(server: &TestServer, token: &str, request: ListFindingsRequest) -> Vec<Finding> {
    let channel = tokenwatch_grpc::connect(&server.url, Some(token))
        .await
        .unwrap();
    DetectionServiceClient::new(channel)
        .list_findings(request)
        .await
        .unwrap()
        .into_inner()
        .findings
}

#[tokio::test]
async fn an_analyst_works_findings_in_the_console() {
    let Some(chromium) = browser_or_skip() else {
        return;
    };
    let fake = MicrosoftFake::start().await;
    let mut options = pipeline_options(1);
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response = ResponseConfig {
        endpoints: Endpoints::all_at(&fake.url),
        sweep_interval: Duration::from_millis(500),
        ..ResponseConfig::default()
    };
    options.console.dev_auth = true;
    let server = TestServer::spawn_with_options(&[], options).await;
    let (tenant_a, files_a) = simulated_tenant(21, 80, 7, tokenwatch_simulate::default_start());
    let (tenant_b, files_b) = simulated(22, 4);
    let admin = server
        .tokens
        .person("admin@msp.example", &[Role::MspAdmin], &[]);
    let admin_channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    for (tenant, name) in [(&tenant_a, "Contoso Dental"), (&tenant_b, "Fabrikam Legal")] {
        TenantServiceClient::new(admin_channel.clone())
            .create_tenant(CreateTenantRequest {
                tenant_id: tenant.clone(),
                display_name: name.to_owned(),
            })
            .await
            .unwrap();
    }
    ingest(&server, &tenant_a, &pieces(&files_a)).await;
    ingest(&server, &tenant_b, &pieces(&files_b)).await;
    settle(&server, &tenant_a).await;
    settle(&server, &tenant_b).await;

    let alice = server
        .tokens
        .person("alice@msp.example", &[Role::Analyst], &[&tenant_a]);
    let bob = server
        .tokens
        .person("bob@msp.example", &[Role::MspAdmin], &[]);
    let all_a = findings(
        &server,
        &admin,
        ListFindingsRequest {
            tenant_id: tenant_a.clone(),
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    let of_b = findings(
        &server,
        &admin,
        ListFindingsRequest {
            tenant_id: tenant_b.clone(),
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert!(all_a.len() >= 4, "tenant A has findings: {}", all_a.len());
    assert!(!of_b.is_empty(), "tenant B has findings");
    // The Graph fake knows tenant A's app and users, so the approved action really runs.
    fake.add_app(&tenant_a, CLIENT_ID, SECRET);
    for (n, finding) in all_a.iter().enumerate() {
        if fake.user(&tenant_a, &finding.user_id).is_none() {
            fake.add_user(
                &tenant_a,
                &format!("00000000-0000-4000-8000-{n:012}"),
                &finding.user_id,
            );
        }
    }
    server.set_client_secret(&tenant_a, CLIENT_ID, SECRET).await;

    // Two findings for the page's verdict and action; the rest judged false positives through
    // the API, so the feedback service has a suppression to suggest.
    let verdict_finding = all_a[0].clone();
    let action_finding = all_a[1].clone();
    // One at a time, oldest first, until a suggestion appears: the rest stay open for the queue.
    let mut feedback = FeedbackServiceClient::new(admin_channel.clone());
    let mut suggestions = Vec::new();
    for finding in all_a[2..].iter().rev() {
        feedback
            .submit_verdict(SubmitVerdictRequest {
                tenant_id: tenant_a.clone(),
                finding_id: finding.finding_id.clone(),
                kind: VerdictKind::FalsePositive.into(),
                comment: "seeded by the test".to_owned(),
            })
            .await
            .unwrap();
        suggestions = feedback
            .list_suppression_suggestions(ListSuppressionSuggestionsRequest {
                tenant_id: tenant_a.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .suggestions;
        if !suggestions.is_empty() {
            break;
        }
    }
    let suggested = suggestions.first().unwrap_or_else(|| {
        panic!(
            "no suppression suggested from {} false positives",
            all_a.len() - 2
        )
    });
    let suggestion_finding = suggested.finding_ids[0].clone();

    // What the page must show: alice's first page of open and acknowledged findings, in either
    // order the queue offers.
    let queue = |order_by: &str| {
        findings(
            &server,
            &alice,
            ListFindingsRequest {
                statuses: vec![
                    FindingStatus::Open.into(),
                    FindingStatus::Acknowledged.into(),
                ],
                page_size: 100,
                order_by: order_by.to_owned(),
                ..Default::default()
            },
        )
    };
    let ids = |page: Vec<Finding>| page.into_iter().map(|f| f.finding_id).collect::<Vec<_>>();
    let expected = ids(queue("").await);
    assert!(expected.contains(&verdict_finding.finding_id));
    let most_severe = ids(queue("severity desc").await);

    let screenshots = std::env::var("TOKENWATCH_CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repository().join("target/console-screenshots"));
    let plan = serde_json::json!({
        "url": server.web_url,
        "chromium": chromium,
        "screenshots": screenshots,
        "alice": alice,
        "bob": bob,
        "verdict": { "tenant": tenant_a, "id": verdict_finding.finding_id },
        "verdictKind": (VerdictKind::FalsePositive as i32).to_string(),
        "action": { "tenant": tenant_a, "id": action_finding.finding_id },
        "actionKind": (ActionKind::DisableUser as i32).to_string(),
        "suggestion": { "tenant": tenant_a, "id": suggestion_finding },
        "otherTenant": { "tenant": tenant_b, "id": of_b[0].finding_id },
    });
    let report = drive(plan).await;

    // The queue is exactly alice's ListFindings, in its order, and nothing of tenant B.
    let shown: Vec<String> = serde_json::from_value(report["queue"].clone()).unwrap();
    assert_eq!(shown, expected, "the queue is ListFindings' first page");
    let shown: Vec<String> = serde_json::from_value(report["severityQueue"].clone()).unwrap();
    assert_ne!(most_severe, expected, "the data tells the two orders apart");
    assert_eq!(
        shown, most_severe,
        "most severe first, as the API orders it"
    );
    let of_b: Vec<&String> = of_b.iter().map(|f| &f.finding_id).collect();
    assert!(
        shown.iter().all(|id| !of_b.contains(&id)),
        "tenant B leaked"
    );
    assert!(
        report["otherTenantError"]
            .as_str()
            .unwrap()
            .contains("Not allowed"),
        "{report:#}"
    );
    assert_eq!(report["signedInAs"], "alice@msp.example");
    let csp = report["csp"].as_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));

    // The finding page explained it, and the verdict landed.
    assert!(report["whyRows"].as_u64().unwrap() >= 1, "{report:#}");
    let evidence = {
        let mut detection = DetectionServiceClient::new(admin_channel.clone());
        detection
            .get_finding(GetFindingRequest {
                tenant_id: tenant_a.clone(),
                finding_id: verdict_finding.finding_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
    };
    assert_eq!(
        report["timelineEvents"].as_u64().unwrap(),
        evidence.evidence.len() as u64,
        "the timeline accounts for every event"
    );
    assert_eq!(
        evidence.finding.unwrap().status,
        i32::from(FindingStatus::ResolvedFalsePositive),
        "the verdict resolved the finding"
    );
    assert_eq!(report["statusAfterVerdict"], "Resolved: false positive");

    // Alice's proposal: not approvable by her; approved by bob; executed against the fake.
    assert_eq!(report["proposedState"], "Awaiting approval");
    assert_eq!(report["selfApprovalOffered"], false);
    let action_id = report["actionId"].as_str().unwrap().to_owned();
    let action = ResponseServiceClient::new(admin_channel.clone())
        .get_action(GetActionRequest {
            tenant_id: tenant_a.clone(),
            action_id: action_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(action.proposed_by, "alice@msp.example");
    assert_eq!(action.approved_by, "bob@msp.example");
    assert_eq!(
        action.state,
        i32::from(ActionState::Succeeded),
        "{action:?}"
    );
    assert_eq!(report["finalState"], "Succeeded");
    assert!(
        report["graphAnswer"]
            .as_str()
            .unwrap()
            .contains(&action.result),
        "{report:#}"
    );
    let user = fake.user(&tenant_a, &action_finding.user_id).unwrap();
    assert!(!user.account_enabled, "Graph disabled the user");

    // The suggestion accepted: a suppression now exists for it.
    assert!(
        report["suppressionMessage"]
            .as_str()
            .unwrap()
            .contains("Suppressed")
    );
    let suppressions = feedback
        .list_suppressions(ListSuppressionsRequest {
            tenant_id: tenant_a.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .suppressions;
    let wanted = suggested.suppression.as_ref().unwrap();
    assert!(
        suppressions
            .iter()
            .any(|s| s.context == wanted.context && s.created_by == "alice@msp.example"),
        "{suppressions:?}"
    );

    let tenants: Vec<String> = serde_json::from_value(report["tenantsShown"].clone()).unwrap();
    assert_eq!(
        tenants,
        vec![tenant_a.clone()],
        "alice sees her tenant only"
    );
    // The connection test ran against the fake: the token check passed.
    let checks: Vec<String> = serde_json::from_value(report["connectionChecks"].clone()).unwrap();
    assert!(checks.iter().any(|c| c.starts_with('✓')), "{checks:?}");
    // Last month's report downloads as a PDF named for the tenant and month.
    let download = report["reportDownload"].as_str().unwrap_or_default();
    assert!(
        download.starts_with("tokenwatch-") && download.ends_with(".pdf"),
        "{download:?}"
    );
}

/// The MSP's identity provider (the Microsoft fake standing in for Entra ID): the page sends
/// the analyst there, redeems the code with PKCE, and the server verifies the provider's token
/// and maps its app role and group to a role and a tenant. Development tokens are ignored.
#[tokio::test]
async fn an_analyst_signs_in_with_the_msps_identity_provider() {
    let Some(chromium) = browser_or_skip() else {
        return;
    };
    const MSP: &str = "11111111-1111-4111-8111-111111111111";
    const CONSOLE: &str = "2f0a9c1e-0000-4000-8000-00000000c0de";
    const GROUP: &str = "a1b2c3d4-0000-4000-8000-0000000000a1";
    let fake = MicrosoftFake::start().await;
    let client = tokenwatch_oidc::client();
    let provider = tokenwatch_oidc::discover(&client, &fake.issuer(MSP))
        .await
        .unwrap();
    let keys = tokenwatch_oidc::OidcKeys::default();
    tokenwatch_oidc::fetch_keys(&client, &provider, &keys)
        .await
        .unwrap();
    let tenant_a = tokenwatch_test_utils::random_tenant();
    let tenant_b = tokenwatch_test_utils::random_tenant();
    let mapping = tokenwatch_auth::ClaimMapping::parse(
        "Tokenwatch.Analyst=analyst",
        &format!("{GROUP}={tenant_a}"),
    )
    .unwrap();
    let trust = tokenwatch_auth::OidcTrust::new(fake.issuer(MSP), CONSOLE, keys, mapping);
    let mut options = tokenwatch_test_utils::test_options();
    options.console = tokenwatch_server::ConsoleConfig {
        dev_auth: false,
        oidc: Some(tokenwatch_server::OidcClient {
            issuer: fake.issuer(MSP),
            client_id: CONSOLE.to_owned(),
            scopes: format!("openid profile {CONSOLE}/.default"),
            authorization_endpoint: provider.authorization_endpoint.clone(),
            token_endpoint: provider.token_endpoint.clone(),
        }),
    };
    let server = TestServer::spawn_with_oidc(options, trust).await;
    server.register(&[&tenant_a, &tenant_b]).await;
    fake.add_spa_app(MSP, CONSOLE, &format!("{}/", server.web_url), CONSOLE);
    fake.sign_in_as(
        MSP,
        tokenwatch_msfake::FakePerson {
            username: "dana@msp.example".to_owned(),
            roles: vec!["Tokenwatch.Analyst".to_owned()],
            groups: vec![GROUP.to_owned()],
        },
    );
    let report = drive(serde_json::json!({
        "mode": "oidc",
        "url": server.web_url,
        "chromium": chromium,
        "devToken": server.tokens.valid(&[Role::MspAdmin], &[]),
    }))
    .await;
    assert_eq!(report["signedInAs"], "dana@msp.example", "{report:#}");
    assert_eq!(report["storedToken"], true);
    let after = report["addressAfter"].as_str().unwrap();
    assert!(
        !after.contains("code="),
        "the code left the address bar: {after}"
    );
    let tenants: Vec<String> = serde_json::from_value(report["tenantsShown"].clone()).unwrap();
    assert_eq!(tenants, vec![tenant_a], "the group grants one tenant");
    assert_eq!(report["devTokenIgnored"], true);
    // The code was redeemed with a verifier, as PKCE requires.
    let redemption = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/oauth2/v2.0/token") && r.body.contains("authorization_code"))
        .expect("the page redeemed a code");
    assert!(
        redemption.body.contains("code_verifier="),
        "{}",
        redemption.body
    );
}
