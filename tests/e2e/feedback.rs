//! Suppressions over the API: suggested from repeated false positives sharing a new context
//! (never an attacker's), created, listed with and without the expired, audited, and confined
//! to their tenant.

use std::time::Duration;

use tokenwatch_auth::Role;
use tokenwatch_core::detect::engine::{Evidence, SeenContext};
use tokenwatch_core::detect::{Finding, Reason};
use tokenwatch_proto::Code;
use tokenwatch_proto::common::v1::{ContextKind, ContextValue, VerdictKind};
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::feedback::v1::*;
use tokenwatch_server::ServiceName;
use tokenwatch_storage::findings::{FindingWrite, upsert_finding};
use tokenwatch_test_utils::{TestServer, random_tenant, test_options};
use tokenwatch_types::TenantId;

type Client = FeedbackServiceClient<tokenwatch_grpc::AuthedChannel>;

/// Stores a finding whose session showed `contexts` (kind, value, novelty).
async fn finding(
    server: &TestServer,
    tenant: &str,
    user: &str,
    session: &str,
    contexts: &[(&str, &str, f64)],
) -> String {
    let now = chrono::Utc::now();
    let engine = Finding {
        tenant_id: tenant.to_owned(),
        user: user.to_owned(),
        session_id: session.to_owned(),
        incident_id: tokenwatch_types::IncidentId::from_uuid(uuid::Uuid::new_v4()),
        score: 3.6,
        threshold: 3.0,
        severity: tokenwatch_types::Severity::Low,
        first_seen: now,
        last_seen: now,
        detected_at: now,
        reasons: vec![Reason {
            feature: tokenwatch_core::detect::Feature::NewNetwork,
            value: 1.0,
            baseline: "usual networks: AS1136".to_owned(),
            weight: 0.6,
            contribution: 0.6,
        }],
        evidence: Evidence {
            networks: Vec::new(),
            countries: Vec::new(),
            clients: Vec::new(),
            devices: Vec::new(),
            ips: Vec::new(),
            subnets64: Vec::new(),
            operations: Default::default(),
            risky_operations: Vec::new(),
            contexts: contexts
                .iter()
                .map(|(kind, value, novelty)| SeenContext {
                    kind: (*kind).to_owned(),
                    value: (*value).to_owned(),
                    note: String::new(),
                    novelty: *novelty,
                    prevalence: 0.0,
                    first_seen: now,
                    last_seen: now,
                    events: 3,
                })
                .collect(),
        },
        weight_version: 1,
        user_learning: false,
    };
    let id = uuid::Uuid::new_v4();
    let write = FindingWrite {
        finding_id: tokenwatch_types::FindingId::from_uuid(id),
        incident_id: tokenwatch_types::IncidentId::from_uuid(uuid::Uuid::new_v4()),
        user_id: user.to_owned(),
        session_id: session.to_owned(),
        score: engine.score,
        threshold: engine.threshold,
        severity: engine.severity,
        first_seen: now,
        last_seen: now,
        detected_at: now,
        weight_version: 1,
        explanation: serde_json::to_value(&engine).unwrap(),
    };
    let tenant_id = TenantId::parse(tenant).unwrap();
    let mut tx = server.database.tenant_tx(tenant_id).await.unwrap();
    upsert_finding(&mut tx, tenant_id, &write).await.unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

async fn client(server: &TestServer, role: Role, tenant: &str) -> Client {
    let token = server.tokens.valid(&[role], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    FeedbackServiceClient::new(channel)
}

async fn judge(client: &mut Client, tenant: &str, finding: &str, kind: VerdictKind) {
    client
        .submit_verdict(SubmitVerdictRequest {
            tenant_id: tenant.to_owned(),
            finding_id: finding.to_owned(),
            kind: kind.into(),
            comment: String::new(),
        })
        .await
        .unwrap();
}

fn context(kind: ContextKind, value: &str) -> Option<ContextValue> {
    Some(ContextValue {
        kind: kind.into(),
        value: value.to_owned(),
    })
}

#[tokio::test]
async fn repeated_false_positives_suggest_a_suppression_that_then_expires() {
    let server = TestServer::spawn_with_options(&[ServiceName::Feedback], test_options()).await;
    let (tenant, other) = (random_tenant(), random_tenant());
    server.register(&[&tenant, &other]).await;
    let mut analyst = client(&server, Role::Analyst, &tenant).await;

    // Three staff on the company VPN (false positives); an attacker on a hosting ASN that one
    // false positive also showed (a true positive): only the VPN is suggested.
    let vpn = ("network", "AS9009", 0.9);
    let hosting = ("network", "AS14061", 1.0);
    let mut fps = Vec::new();
    for (user, session) in [("adele", "s1"), ("ben", "s2"), ("carl", "s3")] {
        let contexts = if user == "carl" {
            vec![vpn, hosting]
        } else {
            vec![vpn]
        };
        let id = finding(
            &server,
            &tenant,
            &format!("{user}@contoso.com"),
            session,
            &contexts,
        )
        .await;
        judge(&mut analyst, &tenant, &id, VerdictKind::FalsePositive).await;
        fps.push(id);
    }
    let attack = finding(&server, &tenant, "dana@contoso.com", "s4", &[hosting]).await;
    judge(&mut analyst, &tenant, &attack, VerdictKind::TruePositive).await;

    let suggestions = analyst
        .list_suppression_suggestions(ListSuppressionSuggestionsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .suggestions;
    assert_eq!(suggestions.len(), 1, "{suggestions:?}");
    let suggestion = &suggestions[0];
    let proposed = suggestion.suppression.clone().unwrap();
    assert_eq!(proposed.context, context(ContextKind::Asn, "AS9009"));
    assert_eq!(
        proposed.user_id, "",
        "three users share it: the whole tenant"
    );
    assert_eq!(suggestion.false_positives, 3);
    let mut cited = suggestion.finding_ids.clone();
    cited.sort();
    fps.sort();
    assert_eq!(cited, fps);

    // Accepted, expiring in two seconds; then not suggested again.
    let expire = chrono::Utc::now() + chrono::Duration::seconds(2);
    let created = analyst
        .create_suppression(CreateSuppressionRequest {
            tenant_id: tenant.clone(),
            user_id: String::new(),
            context: proposed.context.clone(),
            reason: proposed.reason.clone(),
            expire_time: Some(tokenwatch_proto::to_timestamp(expire)),
        })
        .await
        .unwrap()
        .into_inner()
        .suppression
        .unwrap();
    let again = analyst
        .list_suppression_suggestions(ListSuppressionSuggestionsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .suggestions;
    assert!(again.is_empty(), "{again:?}");

    // Narrow or malformed contexts, and past expiries, are refused with the reason.
    for (bad, field) in [
        (context(ContextKind::Ip, "203.0.113.7"), "context.kind"),
        (
            context(ContextKind::Country, "Netherlands"),
            "context.value",
        ),
        (
            context(ContextKind::Prefix, "203.0.0.0/16"),
            "context.value",
        ),
    ] {
        let refused = analyst
            .create_suppression(CreateSuppressionRequest {
                tenant_id: tenant.clone(),
                context: bad,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains(field), "{}", refused.message());
    }
    let past = analyst
        .create_suppression(CreateSuppressionRequest {
            tenant_id: tenant.clone(),
            context: context(ContextKind::Country, "NL"),
            expire_time: Some(tokenwatch_proto::to_timestamp(
                chrono::Utc::now() - chrono::Duration::hours(1),
            )),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(past.code(), Code::InvalidArgument);

    // Another tenant sees none of it, and cannot delete it.
    let mut outsider = client(&server, Role::Analyst, &other).await;
    let theirs = outsider
        .list_suppressions(ListSuppressionsRequest {
            tenant_id: other.clone(),
            include_expired: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .suppressions;
    assert!(theirs.is_empty());
    let denied = outsider
        .delete_suppression(DeleteSuppressionRequest {
            tenant_id: other.clone(),
            suppression_id: created.suppression_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::NotFound);

    // Expired: listed only when asked for, and suggested again.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let list = |include_expired| ListSuppressionsRequest {
        tenant_id: tenant.clone(),
        include_expired,
        ..Default::default()
    };
    let active = analyst
        .list_suppressions(list(false))
        .await
        .unwrap()
        .into_inner();
    assert!(active.suppressions.is_empty());
    let all = analyst
        .list_suppressions(list(true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.suppressions.len(), 1);
    assert_eq!(all.suppressions[0].suppression_id, created.suppression_id);
    let back = analyst
        .list_suppression_suggestions(ListSuppressionSuggestionsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .suggestions;
    assert_eq!(back.len(), 1);
}
