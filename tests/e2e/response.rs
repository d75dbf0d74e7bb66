//! Response actions end to end: the real response service, Postgres, and the Graph client
//! against the local Microsoft fake (token endpoint and Graph).
//!
//! Longer than most files on purpose: one scenario per test over one harness (a server, the
//! fake, a tenant with credentials); the action state machine's pure rules are tested in
//! `tokenwatch-types`.

use std::time::{Duration, Instant};

use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::Code;
use tokenwatch_proto::common::v1::Severity;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;
use tokenwatch_server::{Destinations, Endpoints, ResponseConfig, ServiceName};
use tokenwatch_storage::findings::{FindingWrite, upsert_finding};
use tokenwatch_test_utils::{TestServer, random_tenant, test_options};
use tokenwatch_types::TenantId;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CLIENT_ID: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const SECRET: &str = "fake~client.secret-value_1";

type Client = ResponseServiceClient<tokenwatch_grpc::AuthedChannel>;

struct Setup {
    server: TestServer,
    fake: MicrosoftFake,
    tenant: String,
}

impl Setup {
    async fn start() -> Self {
        Self::start_with(None).await
    }

    async fn start_with(msp_webhook: Option<tokenwatch_server::MspWebhook>) -> Self {
        let fake = MicrosoftFake::start().await;
        let mut options = test_options();
        options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
        options.response = ResponseConfig {
            endpoints: Endpoints::all_at(&fake.url),
            retry: tokenwatch_server::RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_secs(5),
            },
            sweep_interval: Duration::from_millis(500),
            resume_after: Duration::from_secs(600),
            msp_webhook,
            // The test's webhook receivers listen on loopback, as an operator's on-premises
            // receiver would on an allowed range.
            destinations: std::sync::Arc::new(Destinations::parse("127.0.0.0/8").unwrap()),
            ..ResponseConfig::default()
        };
        let server = TestServer::spawn_with_options(&[ServiceName::Response], options).await;
        let tenant = random_tenant();
        server.register(&[&tenant]).await;
        fake.add_app(&tenant, CLIENT_ID, SECRET);
        fake.add_user(
            &tenant,
            "00000000-0000-4000-8000-00000000ade1",
            "adele@contoso.com",
        );
        fake.add_user(
            &tenant,
            "00000000-0000-4000-8000-0000000000b2",
            "ben@contoso.com",
        );
        let setup = Setup {
            server,
            fake,
            tenant,
        };
        setup.set_secret(SECRET).await;
        setup
    }

    async fn client(&self, subject: &str, role: Role) -> Client {
        let token = self.server.tokens.person(subject, &[role], &[&self.tenant]);
        let channel = tokenwatch_grpc::connect(&self.server.url, Some(&token))
            .await
            .unwrap();
        ResponseServiceClient::new(channel)
    }

    async fn set_secret(&self, secret: &str) {
        self.client("root", Role::MspAdmin)
            .await
            .set_graph_credentials(SetGraphCredentialsRequest {
                tenant_id: self.tenant.clone(),
                client_id: CLIENT_ID.to_owned(),
                secret: Some(set_graph_credentials_request::Secret::ClientSecret(
                    secret.to_owned(),
                )),
            })
            .await
            .unwrap();
    }

    /// Stores a finding as the pipeline would (announced to the responder); the same user
    /// and session keep their finding id, as the pipeline's derived ids do.
    async fn finding(&self, user: &str, session: &str, severity: &str) -> String {
        let tenant = TenantId::parse(&self.tenant).unwrap();
        let now = chrono::Utc::now();
        let mut tx = self.server.database.tenant_tx(tenant).await.unwrap();
        let existing: Option<uuid::Uuid> = sqlx::query_scalar(
            "SELECT finding_id FROM findings WHERE user_id = $1 AND session_id = $2",
        )
        .bind(user)
        .bind(session)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        drop(tx);
        let write = FindingWrite {
            finding_id: tokenwatch_types::FindingId::from_uuid(
                existing.unwrap_or_else(uuid::Uuid::new_v4),
            ),
            incident_id: tokenwatch_types::IncidentId::from_uuid(uuid::Uuid::new_v4()),
            user_id: user.to_owned(),
            session_id: session.to_owned(),
            score: 6.5,
            threshold: 3.0,
            severity: severity.parse().unwrap(),
            first_seen: now,
            last_seen: now,
            detected_at: now,
            weight_version: 1,
            explanation: serde_json::json!({}),
        };
        let mut tx = self.server.database.tenant_tx(tenant).await.unwrap();
        upsert_finding(&mut tx, tenant, &write).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = self.server.database.tenant_tx(tenant).await.unwrap();
        let id: uuid::Uuid = sqlx::query_scalar(
            "SELECT finding_id FROM findings WHERE user_id = $1 AND session_id = $2",
        )
        .bind(user)
        .bind(session)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        id.to_string()
    }

    async fn audit(&self, action_id: &str) -> Vec<(String, String, serde_json::Value)> {
        let tenant = TenantId::parse(&self.tenant).unwrap();
        let mut tx = self.server.database.tenant_tx(tenant).await.unwrap();
        tokenwatch_storage::audit::history(&mut tx, "action", action_id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.details))
            .collect()
    }

    async fn actions(&self, user: &str) -> Vec<Action> {
        self.client("viewer", Role::TenantViewer)
            .await
            .list_actions(ListActionsRequest {
                tenant_id: self.tenant.clone(),
                user_id: user.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .actions
    }
}

fn propose(
    tenant: &str,
    finding: &str,
    kind: ActionKind,
    request_id: &str,
) -> ProposeActionRequest {
    ProposeActionRequest {
        tenant_id: tenant.to_owned(),
        kind: kind.into(),
        finding_id: finding.to_owned(),
        reason: "AiTM replay from a new ASN".to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    }
}

fn approve(tenant: &str, action: &str, yes: bool) -> ApproveActionRequest {
    ApproveActionRequest {
        tenant_id: tenant.to_owned(),
        action_id: action.to_owned(),
        approve: yes,
        comment: "confirmed with the user by phone".to_owned(),
    }
}

#[tokio::test]
async fn an_action_needs_a_second_person_then_runs_once_against_graph() {
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    // Medium: a new tenant's policy proposes nothing on its own for it.
    let finding = setup
        .finding("adele@contoso.com", "sess-approval", "medium")
        .await;
    let mut alice = setup.client("alice", Role::Analyst).await;
    let proposed = alice
        .propose_action(propose(
            &tenant,
            &finding,
            ActionKind::RevokeSessions,
            "req-1",
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(proposed.state(), ActionState::Proposed);
    assert_eq!(proposed.user_id, "adele@contoso.com", "the finding's user");
    assert_eq!(proposed.severity(), Severity::Medium);
    assert_eq!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .revocations,
        0
    );

    // The same request id returns the same action; a different action under it is refused.
    let again = alice
        .propose_action(propose(
            &tenant,
            &finding,
            ActionKind::RevokeSessions,
            "req-1",
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(again.action_id, proposed.action_id);
    let misuse = alice
        .propose_action(propose(&tenant, &finding, ActionKind::DisableUser, "req-1"))
        .await
        .unwrap_err();
    assert_eq!(misuse.code(), Code::InvalidArgument, "{misuse:?}");
    assert_eq!(setup.actions("adele@contoso.com").await.len(), 1);

    // An analyst may not approve; an administrator who proposed may not approve their own.
    let denied = alice
        .approve_action(approve(&tenant, &proposed.action_id, true))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut alice_admin = setup.client("alice", Role::MspAdmin).await;
    let own = alice_admin
        .approve_action(approve(&tenant, &proposed.action_id, true))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    assert!(own.message().contains("second person"), "{own:?}");

    let mut bob = setup.client("bob", Role::MspAdmin).await;
    let done = bob
        .approve_action(approve(&tenant, &proposed.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(done.state(), ActionState::Succeeded, "{}", done.result);
    assert_eq!(done.approved_by, "bob");
    assert_eq!(done.attempts, 1);
    assert_eq!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .revocations,
        1
    );

    // Approving again, or proposing again, changes nothing at Graph.
    let repeat = bob
        .approve_action(approve(&tenant, &proposed.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(repeat.state(), ActionState::Succeeded);
    alice
        .propose_action(propose(
            &tenant,
            &finding,
            ActionKind::RevokeSessions,
            "req-1",
        ))
        .await
        .unwrap();
    assert_eq!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .revocations,
        1
    );

    // Who asked, who approved, what Graph was asked: all audited, in order.
    let trail = setup.audit(&proposed.action_id).await;
    let steps: Vec<(&str, &str)> = trail
        .iter()
        .map(|(actor, action, _)| (actor.as_str(), action.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("alice", "action.propose"),
            ("bob", "action.approved"),
            ("bob", "action.executing"),
            ("tokenwatch", "action.succeeded"),
        ]
    );
    assert_eq!(trail[1].2["comment"], "confirmed with the user by phone");
    assert!(
        trail[3].2["graph"]["request"]
            .as_str()
            .unwrap()
            .contains("/revokeSignInSessions")
    );
    // The secret went to the token endpoint only, never into the audit trail.
    assert!(!format!("{trail:?}").contains(SECRET));
}

#[tokio::test]
async fn the_policy_acts_automatically_at_its_severity_and_once_per_finding() {
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    let mut admin = setup.client("root", Role::MspAdmin).await;
    admin
        .set_response_policy(SetResponsePolicyRequest {
            tenant_id: tenant.clone(),
            policy: Some(ResponsePolicy {
                default_mode: ResponseMode::Notify.into(),
                mode_by_severity: [
                    ("high".to_owned(), ResponseMode::Automatic.into()),
                    ("critical".to_owned(), ResponseMode::Automatic.into()),
                ]
                .into(),
                automatic_actions: vec![
                    ActionKind::RevokeSessions.into(),
                    ActionKind::DisableUser.into(),
                ],
                min_severity: Severity::High.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();

    setup
        .finding("ben@contoso.com", "sess-medium", "medium")
        .await;
    let finding = setup
        .finding("adele@contoso.com", "sess-high", "high")
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let actions = loop {
        let actions = setup.actions("adele@contoso.com").await;
        if actions.len() == 2 && actions.iter().all(|a| a.state() == ActionState::Succeeded) {
            break actions;
        }
        assert!(
            Instant::now() < deadline,
            "no automatic response: {actions:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(actions.iter().all(|a| a.finding_id == finding
        && a.proposed_by == "policy"
        && a.approved_by == "policy:automatic"));
    let adele = setup.fake.user(&tenant, "adele@contoso.com").unwrap();
    assert_eq!((adele.revocations, adele.account_enabled), (1, false));

    // Escalation to critical, and a few sweeps: still one of each.
    setup
        .finding("adele@contoso.com", "sess-high", "critical")
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(setup.actions("adele@contoso.com").await.len(), 2);
    assert_eq!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .revocations,
        1
    );
    // Below the policy's severity: nothing.
    assert!(setup.actions("ben@contoso.com").await.is_empty());
    let ben = setup.fake.user(&tenant, "ben@contoso.com").unwrap();
    assert_eq!((ben.revocations, ben.account_enabled), (0, true));

    // An analyst's proposal of an automatic action at that severity runs at once too.
    let mut alice = setup.client("alice", Role::Analyst).await;
    let other = setup
        .finding("ben@contoso.com", "sess-high-2", "high")
        .await;
    let action = alice
        .propose_action(propose(&tenant, &other, ActionKind::ConfirmCompromised, ""))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(
        action.state(),
        ActionState::Proposed,
        "not an automatic action"
    );
}

#[tokio::test]
async fn throttling_is_waited_out_and_graph_errors_are_kept() {
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    let mut alice = setup.client("alice", Role::Analyst).await;
    let mut bob = setup.client("bob", Role::MspAdmin).await;

    // Two 429s asking for a second each, then success: one attempt, three requests.
    let finding = setup
        .finding("ben@contoso.com", "sess-throttled", "medium")
        .await;
    let action = alice
        .propose_action(propose(&tenant, &finding, ActionKind::DisableUser, ""))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    setup.fake.fail_next("/v1.0/users/ben", 429, Some(1), 2);
    let started = Instant::now();
    let done = bob
        .approve_action(approve(&tenant, &action.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(done.state(), ActionState::Succeeded, "{}", done.result);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was not honoured"
    );
    let patches = setup
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("ben"))
        .count();
    assert_eq!(patches, 3);
    assert!(
        !setup
            .fake
            .user(&tenant, "ben@contoso.com")
            .unwrap()
            .account_enabled
    );

    // An unknown user: failed, with Graph's code and message.
    let missing = alice
        .propose_action(ProposeActionRequest {
            tenant_id: tenant.clone(),
            kind: ActionKind::RevokeSessions.into(),
            user_id: "nobody@contoso.com".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let failed = bob
        .approve_action(approve(&tenant, &missing.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(failed.state(), ActionState::Failed);
    let outcome: serde_json::Value = serde_json::from_str(&failed.outcome_json).unwrap();
    assert_eq!(outcome["status"], 404);
    assert_eq!(outcome["code"], "Request_ResourceNotFound");

    // A wrong secret: failed at the token endpoint with the AADSTS code; fixed, a retry runs.
    setup.set_secret("not-the-secret").await;
    let finding = setup
        .finding("adele@contoso.com", "sess-secret", "low")
        .await;
    let action = alice
        .propose_action(propose(
            &tenant,
            &finding,
            ActionKind::ConfirmCompromised,
            "",
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let failed = bob
        .approve_action(approve(&tenant, &action.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(failed.state(), ActionState::Failed);
    assert!(failed.result.contains("AADSTS7000215"), "{}", failed.result);
    let outcome: serde_json::Value = serde_json::from_str(&failed.outcome_json).unwrap();
    assert_eq!(
        (outcome["stage"].as_str(), outcome["code"].as_str()),
        (Some("token"), Some("invalid_client"))
    );
    setup.set_secret(SECRET).await;
    let retried = bob
        .execute_action(ExecuteActionRequest {
            tenant_id: tenant.clone(),
            action_id: action.action_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(
        retried.state(),
        ActionState::Succeeded,
        "{}",
        retried.result
    );
    assert_eq!(retried.attempts, 2);
    // confirmCompromised takes object ids: the UPN was resolved first.
    assert!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .compromised
    );
}

#[tokio::test]
async fn dry_runs_call_nothing_and_cancelled_actions_never_run() {
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    let mut alice = setup.client("alice", Role::Analyst).await;
    let mut carol = setup.client("carol", Role::Analyst).await;
    let mut bob = setup.client("bob", Role::MspAdmin).await;
    let finding = setup.finding("adele@contoso.com", "sess-dry", "high").await;

    let mut request = propose(&tenant, &finding, ActionKind::DisableUser, "");
    request.dry_run = true;
    let dry = alice
        .propose_action(request)
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let graph_calls = |fake: &MicrosoftFake| {
        fake.requests()
            .iter()
            .filter(|r| r.path.starts_with("/v1.0/"))
            .count()
    };
    let before = graph_calls(&setup.fake);
    let done = bob
        .approve_action(approve(&tenant, &dry.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(done.state(), ActionState::Succeeded);
    assert!(
        done.dry_run && done.result.starts_with("dry run: would PATCH"),
        "{}",
        done.result
    );
    assert_eq!(graph_calls(&setup.fake), before);
    assert!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .account_enabled
    );

    let action = alice
        .propose_action(propose(&tenant, &finding, ActionKind::DisableUser, ""))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let cancel = |action_id: &str| CancelActionRequest {
        tenant_id: tenant.clone(),
        action_id: action_id.to_owned(),
        comment: "false alarm".to_owned(),
    };
    let other = carol
        .cancel_action(cancel(&action.action_id))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied, "another analyst");
    let cancelled = alice
        .cancel_action(cancel(&action.action_id))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(cancelled.state(), ActionState::Cancelled);
    let late = bob
        .approve_action(approve(&tenant, &action.action_id, true))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    let late = bob
        .execute_action(ExecuteActionRequest {
            tenant_id: tenant.clone(),
            action_id: action.action_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(
        setup
            .fake
            .user(&tenant, "adele@contoso.com")
            .unwrap()
            .account_enabled
    );
}

#[tokio::test]
async fn another_tenants_actions_cannot_be_seen_approved_or_run() {
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    let other = random_tenant();
    setup.server.register(&[&other]).await;
    let finding = setup.finding("adele@contoso.com", "sess-x", "medium").await;
    let mut alice = setup.client("alice", Role::Analyst).await;
    let action = alice
        .propose_action(propose(&tenant, &finding, ActionKind::DisableUser, ""))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();

    // An administrator naming the other tenant: the action does not exist there.
    let mut bob = setup.client("bob", Role::MspAdmin).await;
    let wrong = bob
        .approve_action(approve(&other, &action.action_id, true))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::NotFound);
    let wrong = bob
        .execute_action(ExecuteActionRequest {
            tenant_id: other.clone(),
            action_id: action.action_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::NotFound);
    // Someone of the other tenant naming this one: refused before anything is read.
    let token = setup
        .server
        .tokens
        .person("mallory", &[Role::Analyst], &[&other]);
    let channel = tokenwatch_grpc::connect(&setup.server.url, Some(&token))
        .await
        .unwrap();
    let mut mallory = ResponseServiceClient::new(channel);
    for code in [
        mallory
            .get_action(GetActionRequest {
                tenant_id: tenant.clone(),
                action_id: action.action_id.clone(),
            })
            .await
            .unwrap_err()
            .code(),
        mallory
            .cancel_action(CancelActionRequest {
                tenant_id: tenant.clone(),
                action_id: action.action_id.clone(),
                comment: String::new(),
            })
            .await
            .unwrap_err()
            .code(),
    ] {
        assert_eq!(code, Code::PermissionDenied);
    }
    // Its own tenant lists nothing of this one's, and a finding of this tenant is unknown there.
    let listed = mallory
        .list_actions(ListActionsRequest {
            tenant_id: other.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actions;
    assert!(listed.is_empty());
    let unknown = mallory
        .propose_action(propose(&other, &finding, ActionKind::DisableUser, ""))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let state = setup.actions("adele@contoso.com").await;
    assert_eq!(state[0].state(), ActionState::Proposed);
}

type Requests = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A webhook receiver: records every request; answers 500 to the first `fail` requests.
struct Receiver {
    url: String,
    received: Requests,
}

impl Receiver {
    async fn start(fail: u32) -> Self {
        use std::sync::atomic::Ordering;
        let received: Requests = Default::default();
        let fail = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(fail));
        let (r, f) = (std::sync::Arc::clone(&received), fail);
        let app = axum::Router::new().route(
            "/hooks/{secret_path}",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (r, f) = (std::sync::Arc::clone(&r), std::sync::Arc::clone(&f));
                    async move {
                        r.lock().unwrap().push((headers, body.to_vec()));
                        let failing = f
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if failing {
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            axum::http::StatusCode::NO_CONTENT
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/hooks/T0AB-c0ffee",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, received }
    }

    /// Every request, failed ones too: (event, event id, signature, body).
    fn delivered(&self) -> Vec<(String, String, String, Vec<u8>)> {
        let header = |h: &axum::http::HeaderMap, name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let all = self.received.lock().unwrap().clone();
        all.iter()
            .map(|(h, body)| {
                (
                    header(h, "x-tokenwatch-event"),
                    header(h, "x-tokenwatch-event-id"),
                    header(h, "x-tokenwatch-signature"),
                    body.clone(),
                )
            })
            .collect()
    }
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn webhook_urls_inside_the_network_are_refused_unless_an_operator_allows_them() {
    let mut options = test_options();
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    let server = TestServer::spawn_with_options(&[ServiceName::Response], options).await;
    let tenant = random_tenant();
    server.register(&[&tenant]).await;
    let token = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    let mut admin = ResponseServiceClient::new(channel);
    for inside in [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://[::ffff:192.168.0.1]/",
        "http://0x7f000001/",
    ] {
        let refused = admin
            .add_webhook(AddWebhookRequest {
                tenant_id: tenant.clone(),
                url: inside.to_owned(),
                format: WebhookFormat::Generic.into(),
                secret: "whsec-0123456789abcdef".to_owned(),
                min_severity: Severity::Low.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{inside}");
        assert!(
            refused.message().contains("--allow-private-networks"),
            "{inside}: {refused:?}"
        );
    }
    let public = admin
        .add_webhook(AddWebhookRequest {
            tenant_id: tenant.clone(),
            url: "https://hooks.example.com/tokenwatch".to_owned(),
            format: WebhookFormat::Generic.into(),
            secret: "whsec-0123456789abcdef".to_owned(),
            min_severity: Severity::Low.into(),
        })
        .await;
    assert!(public.is_ok(), "{public:?}");
    server.stop().await;
}

#[tokio::test]
async fn webhooks_hear_of_findings_and_actions_signed_retried_and_once() {
    const HOOK_SECRET: &str = "whsec-0123456789abcdef";
    const MSP_SECRET: &str = "msp-whsec-0123456789abcdef";
    let tenant_hook = Receiver::start(1).await;
    let msp_hook = Receiver::start(0).await;
    let setup = Setup::start_with(Some(tokenwatch_server::MspWebhook {
        url: msp_hook.url.clone(),
        format: tokenwatch_server::PayloadFormat::Slack,
        secret: secrecy::SecretString::from(MSP_SECRET.to_owned()),
        min_severity: tokenwatch_types::Severity::High,
    }))
    .await;
    let tenant = setup.tenant.clone();
    let mut admin = setup.client("root", Role::MspAdmin).await;

    // Bad requests are refused with their reason.
    let mut add = AddWebhookRequest {
        tenant_id: tenant.clone(),
        url: tenant_hook.url.clone(),
        format: WebhookFormat::Generic.into(),
        secret: "short".to_owned(),
        min_severity: Severity::Low.into(),
    };
    let short = admin.add_webhook(add.clone()).await.unwrap_err();
    assert_eq!(short.code(), Code::InvalidArgument);
    add.secret = HOOK_SECRET.to_owned();
    let webhook = admin
        .add_webhook(add)
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap();
    // Readers see the origin only: the path of a Slack or Teams URL is a secret.
    let listed = setup
        .client("viewer", Role::TenantViewer)
        .await
        .list_webhooks(ListWebhooksRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].url.contains("c0ffee") && listed[0].url.starts_with("http://127.0.0.1"));
    assert!(!format!("{listed:?}").contains(HOOK_SECRET));

    // A medium finding: the tenant's webhook hears of it after one failed try; the MSP-wide
    // one (high and above) does not.
    let medium = setup
        .finding("ben@contoso.com", "sess-hook-1", "medium")
        .await;
    let started = Instant::now();
    let deliveries = wait_for("the finding event", || {
        let d = tenant_hook.delivered();
        (d.len() >= 2).then_some(d)
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retried after a backoff"
    );
    let (event, id, signature, body) = &deliveries[1];
    assert_eq!(event, "finding.created");
    assert_eq!(&deliveries[0].1, id, "the retry is the same event");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        tokenwatch_notify::verify(HOOK_SECRET.as_bytes(), signature, body, now, 300),
        Ok(())
    );
    assert!(tokenwatch_notify::verify(b"another-secret-value", signature, body, now, 300).is_err());
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["event"], "finding.created");
    assert_eq!(body["tenant_id"], tenant);
    assert_eq!(body["finding"]["id"], medium);
    assert_eq!(body["finding"]["user"], "ben@contoso.com");

    // A high finding reaches both; the default policy proposes a revocation, which the
    // tenant's webhook hears of as pending; the MSP's Slack body has Slack's shape.
    let high = setup
        .finding("adele@contoso.com", "sess-hook-2", "high")
        .await;
    let slack = wait_for("the MSP's Slack message", || {
        msp_hook
            .delivered()
            .into_iter()
            .find(|(e, ..)| e == "finding.created")
    })
    .await;
    let message: serde_json::Value = serde_json::from_slice(&slack.3).unwrap();
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("adele@contoso.com"),
        "{message}"
    );
    assert!(message["blocks"].is_array());
    assert_eq!(
        tokenwatch_notify::verify(MSP_SECRET.as_bytes(), &slack.2, &slack.3, now, 300),
        Ok(())
    );
    let pending = wait_for("the pending action", || {
        tenant_hook
            .delivered()
            .into_iter()
            .find(|(e, ..)| e == "action.pending")
    })
    .await;
    let pending: serde_json::Value = serde_json::from_slice(&pending.3).unwrap();
    assert_eq!(pending["action"]["finding_id"], high);
    assert_eq!(pending["action"]["action"], "revoke-sessions");
    assert_eq!(pending["action"]["status"], "pending");

    // Once each: a few sweeps later, no event was delivered twice after succeeding.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut ids: Vec<String> = tenant_hook.delivered().into_iter().map(|d| d.1).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(total, ids.len() + 1, "one retry, otherwise once per event");
    assert_eq!(
        msp_hook
            .delivered()
            .iter()
            .filter(|(e, ..)| e.starts_with("finding."))
            .count(),
        1,
        "the medium finding is below the MSP's minimum"
    );

    // Deleted: nothing more arrives.
    admin
        .delete_webhook(DeleteWebhookRequest {
            tenant_id: tenant.clone(),
            webhook_id: webhook.webhook_id.clone(),
        })
        .await
        .unwrap();
    let before = tenant_hook.delivered().len();
    setup
        .finding("ben@contoso.com", "sess-hook-3", "critical")
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(tenant_hook.delivered().len(), before);
}

#[tokio::test]
async fn a_certificate_credential_signs_in_with_a_client_assertion() {
    const CERTIFICATE: &str = include_str!("../../crates/graph/testdata/app_cert.pem");
    const KEY: &str = include_str!("../../crates/graph/testdata/app_key.pem");
    const PUBLIC_KEY: &str = include_str!("../../crates/graph/testdata/app_public.pem");
    let setup = Setup::start().await;
    let tenant = setup.tenant.clone();
    setup
        .fake
        .add_app_certificate(&tenant, CLIENT_ID, CERTIFICATE, PUBLIC_KEY);
    let mut root = setup.client("root", Role::MspAdmin).await;
    let set = |pem: &str| SetGraphCredentialsRequest {
        tenant_id: tenant.clone(),
        client_id: CLIENT_ID.to_owned(),
        secret: Some(set_graph_credentials_request::Secret::CertificatePem(
            pem.to_owned(),
        )),
    };
    // A certificate without its key is refused when it is set, not at the first action.
    let refused = root
        .set_graph_credentials(set(CERTIFICATE))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("private key"),
        "{}",
        refused.message()
    );
    root.set_graph_credentials(set(&format!("{CERTIFICATE}{KEY}")))
        .await
        .unwrap();

    let finding = setup
        .finding("ben@contoso.com", "sess-cert", "medium")
        .await;
    let action = setup
        .client("alice", Role::Analyst)
        .await
        .propose_action(propose(&tenant, &finding, ActionKind::RevokeSessions, ""))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let done = setup
        .client("bob", Role::MspAdmin)
        .await
        .approve_action(approve(&tenant, &action.action_id, true))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(done.state(), ActionState::Succeeded, "{}", done.result);
    assert_eq!(
        setup
            .fake
            .user(&tenant, "ben@contoso.com")
            .unwrap()
            .revocations,
        1
    );
    let token_request = setup
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .unwrap();
    assert!(token_request.body.contains("client_assertion="));
    assert!(!token_request.body.contains("client_secret"));
}
