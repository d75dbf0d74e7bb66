// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

//! The Graph client against the local fake of the identity platform and Graph.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokenwatch_graph::{
    AppSecret, Certificate, Credentials, Endpoints, GraphClient, GraphError, RetryPolicy,
};
use tokenwatch_msfake::MicrosoftFake;

const TENANT: &str = "3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70";
const APP: &str = "0a1b2c3d-0000-4000-8000-00000000a99e";
const USER_ID: &str = "8d3e5b0c-1f7a-4a33-9c5e-2b4f6a7d8e90";
const UPN: &str = "alice.smith@contoso.com";

async fn setup() -> (MicrosoftFake, GraphClient) {
    let fake = MicrosoftFake::start().await;
    fake.add_app(TENANT, APP, "the-secret");
    fake.add_user(TENANT, USER_ID, UPN);
    let client = GraphClient::new(
        Endpoints::all_at(&fake.url),
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        },
    )
    .unwrap();
    (fake, client)
}

fn credentials(secret: &str) -> Credentials {
    Credentials {
        tenant_id: TENANT.to_owned(),
        client_id: APP.to_owned(),
        secret: AppSecret::ClientSecret(SecretString::from(secret.to_owned())),
    }
}

const CERTIFICATE: &str = include_str!("../testdata/app_cert.pem");
const KEY: &str = include_str!("../testdata/app_key.pem");
const PUBLIC_KEY: &str = include_str!("../testdata/app_public.pem");

#[tokio::test]
async fn a_certificate_signs_a_client_assertion_the_identity_platform_accepts() {
    let (fake, client) = setup().await;
    const CERT_APP: &str = "0a1b2c3d-0000-4000-8000-0000000ce27e";
    fake.add_app_certificate(TENANT, CERT_APP, CERTIFICATE, PUBLIC_KEY);
    // The key may come before or after the certificate in the PEM.
    let certificate = Certificate::from_pem(&format!("{KEY}\n{CERTIFICATE}")).unwrap();
    let with = |certificate: Certificate| Credentials {
        tenant_id: TENANT.to_owned(),
        client_id: CERT_APP.to_owned(),
        secret: AppSecret::Certificate(std::sync::Arc::new(certificate)),
    };
    client
        .revoke_sign_in_sessions(&with(certificate), UPN)
        .await
        .unwrap();
    let form = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .unwrap()
        .body;
    assert!(
        form.contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ),
        "{form}"
    );
    assert!(!form.contains("client_secret"));

    // Signed with a key that is not the certificate's: refused with the platform's code (a
    // client of its own, so no token is cached).
    let other = fake_certificate_with_another_key();
    let fresh = GraphClient::new(Endpoints::all_at(&fake.url), RetryPolicy::default()).unwrap();
    let refused = fresh
        .revoke_sign_in_sessions(&with(other), UPN)
        .await
        .unwrap_err();
    match refused {
        GraphError::SignIn {
            status,
            code,
            description,
        } => {
            assert_eq!((status, code.as_str()), (401, "invalid_client"));
            assert!(description.starts_with("AADSTS700027"), "{description}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        Certificate::from_pem(CERTIFICATE)
            .unwrap_err()
            .contains("private key")
    );
    assert!(
        Certificate::from_pem(KEY)
            .unwrap_err()
            .contains("certificate")
    );
}

/// The test certificate with the auth crate's test key: the thumbprint matches the registered
/// certificate, the signature does not verify with its public key.
fn fake_certificate_with_another_key() -> Certificate {
    let other_key = include_str!("../../auth/testdata/rsa_private.pem");
    Certificate::from_pem(&format!("{CERTIFICATE}\n{other_key}")).unwrap()
}

#[tokio::test]
async fn actions_reach_graph_with_one_cached_token() {
    let (fake, client) = setup().await;
    let good = credentials("the-secret");
    client.revoke_sign_in_sessions(&good, UPN).await.unwrap();
    client
        .set_account_enabled(&good, USER_ID, false)
        .await
        .unwrap();
    assert!(!fake.user(TENANT, USER_ID).unwrap().account_enabled);
    client
        .set_account_enabled(&good, USER_ID, true)
        .await
        .unwrap();
    client.confirm_compromised(&good, USER_ID).await.unwrap();
    let user = fake.user(TENANT, USER_ID).unwrap();
    assert_eq!(user.revocations, 1);
    assert!(user.account_enabled && user.compromised);

    let requests = fake.requests();
    let tokens: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "the token is reused");
    assert_eq!(tokens[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert!(tokens[0].body.contains("grant_type=client_credentials"));
    assert!(
        tokens[0].body.contains("scope=http%3A%2F%2F127.0.0.1"),
        "{}",
        tokens[0].body
    );
    let patch = requests.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path, format!("/v1.0/users/{USER_ID}"));
    assert_eq!(patch.body, r#"{"accountEnabled":false}"#);
    assert!(
        patch
            .authorization
            .as_deref()
            .unwrap()
            .starts_with("Bearer fake.")
    );
    let revoke = requests
        .iter()
        .find(|r| r.path.ends_with("/revokeSignInSessions"))
        .unwrap();
    assert_eq!(
        revoke.path,
        "/v1.0/users/alice.smith@contoso.com/revokeSignInSessions"
    );
}

#[tokio::test]
async fn microsoft_errors_come_back_precise() {
    let (_fake, client) = setup().await;
    match client
        .revoke_sign_in_sessions(&credentials("wrong"), UPN)
        .await
    {
        Err(GraphError::SignIn {
            status: 401,
            code,
            description,
        }) => {
            assert_eq!(code, "invalid_client");
            assert!(description.starts_with("AADSTS7000215"), "{description}");
        }
        other => panic!("{other:?}"),
    }
    let elsewhere = Credentials {
        tenant_id: "00000000-0000-4000-8000-000000000000".to_owned(),
        ..credentials("the-secret")
    };
    match client.revoke_sign_in_sessions(&elsewhere, UPN).await {
        Err(GraphError::SignIn {
            status: 400, code, ..
        }) => assert_eq!(code, "invalid_request"),
        other => panic!("{other:?}"),
    }
    let error = client
        .set_account_enabled(&credentials("the-secret"), "nobody@contoso.com", false)
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(error.to_string().contains("Request_ResourceNotFound"));
}

#[tokio::test]
async fn throttling_is_honoured_then_given_up() {
    let (fake, client) = setup().await;
    let good = credentials("the-secret");
    // Two 429s asking for one second each, then the answer.
    fake.fail_next("revokeSignInSessions", 429, Some(1), 2);
    let started = Instant::now();
    client.revoke_sign_in_sessions(&good, UPN).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was honoured"
    );
    assert_eq!(fake.user(TENANT, UPN).unwrap().revocations, 1);
    let attempts = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/revokeSignInSessions"))
        .count();
    assert_eq!(attempts, 3);

    // 503s past the attempts: throttled, nothing done.
    fake.fail_next("/v1.0/users/", 503, None, 3);
    match client.set_account_enabled(&good, UPN, false).await {
        Err(GraphError::Throttled { status: 503, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(fake.user(TENANT, UPN).unwrap().account_enabled);

    // Asked to wait longer than the policy allows: give up at once.
    fake.fail_next("/v1.0/users/", 429, Some(3600), 1);
    let started = Instant::now();
    match client.set_account_enabled(&good, UPN, false).await {
        Err(GraphError::Throttled {
            status: 429,
            retry_after: Some(after),
        }) => assert_eq!(after, Duration::from_secs(3600)),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_activity_api_subscribes_lists_every_page_and_fetches_blobs() {
    use chrono::{Duration as Span, Utc};
    let (fake, client) = setup().await;
    let good = credentials("the-secret");
    for content_type in tokenwatch_graph::CONTENT_TYPES {
        client
            .start_subscription(&good, content_type)
            .await
            .unwrap();
    }
    // Starting again is fine (the API says AF20024: already enabled).
    client
        .start_subscription(&good, "Audit.Exchange")
        .await
        .unwrap();
    let mut started = fake.subscriptions(TENANT);
    started.sort();
    assert_eq!(started.len(), 4);
    assert_eq!(client.list_subscriptions(&good).await.unwrap().len(), 4);

    let now = Utc::now();
    let mut expected = Vec::new();
    for i in 0..5 {
        let record =
            serde_json::json!({ "Id": format!("rec-{i}"), "Operation": "MailItemsAccessed" });
        let id = fake.add_content(
            TENANT,
            "Audit.Exchange",
            now - Span::minutes(50 - i),
            vec![record],
        );
        expected.push(id);
    }
    fake.add_content(TENANT, "Audit.Exchange", now - Span::hours(3), vec![]);
    fake.add_content(TENANT, "Audit.SharePoint", now - Span::minutes(30), vec![]);
    fake.fail_next("subscriptions/content", 429, Some(1), 1);

    let listed = client
        .list_content(&good, "Audit.Exchange", now - Span::hours(1), now)
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|c| c.content_id.as_str()).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/subscriptions/content"))
        .count();
    assert_eq!(pages, 1 + 3, "one throttled, then three pages of two");
    let records = client
        .fetch_content(&good, &listed[2].content_uri)
        .await
        .unwrap();
    assert_eq!(
        records,
        [serde_json::json!({ "Id": "rec-2", "Operation": "MailItemsAccessed" })]
    );

    // The API's rules, before any call; and its errors, precise.
    let too_long = client
        .list_content(&good, "Audit.Exchange", now - Span::hours(30), now)
        .await
        .unwrap_err();
    assert!(too_long.to_string().contains("24 hours"), "{too_long}");
    match client
        .list_content(&good, "DLP.All", now - Span::hours(1), now)
        .await
        .unwrap_err()
    {
        GraphError::Graph { status, code, .. } => {
            assert_eq!((status, code.as_str()), (400, "AF20022"))
        }
        other => panic!("{other:?}"),
    }
    let foreign = client
        .fetch_content(
            &good,
            "https://attacker.example/api/v1.0/x/activity/feed/audit/1",
        )
        .await
        .unwrap_err();
    assert!(
        foreign.to_string().contains("not the activity API's"),
        "{foreign}"
    );
}

#[tokio::test]
async fn sign_ins_come_by_kind_and_window_across_pages() {
    use chrono::{Duration as Span, Utc};
    use tokenwatch_graph::SignInKind;
    let (fake, client) = setup().await;
    let good = credentials("the-secret");
    let now = Utc::now();
    let at = |minutes: i64| {
        (now - Span::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    for i in 0..9 {
        fake.add_sign_in(
            TENANT,
            true,
            serde_json::json!({ "id": format!("i{i}"), "createdDateTime": at(50 - i) }),
        );
    }
    for i in 0..3 {
        fake.add_sign_in(
            TENANT,
            false,
            serde_json::json!({ "id": format!("n{i}"), "createdDateTime": at(40 - i) }),
        );
    }
    fake.add_sign_in(
        TENANT,
        true,
        serde_json::json!({ "id": "old", "createdDateTime": at(600) }),
    );

    let interactive = client
        .sign_ins(&good, SignInKind::Interactive, now - Span::hours(1), now)
        .await
        .unwrap();
    let ids: Vec<&str> = interactive
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"]);
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/auditLogs/signIns")
        .count();
    assert_eq!(pages, 3, "@odata.nextLink followed");
    let non_interactive = client
        .sign_ins(&good, SignInKind::NonInteractive, now - Span::hours(1), now)
        .await
        .unwrap();
    assert_eq!(non_interactive.len(), 3);
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/beta/auditLogs/signIns")
    );

    // Without Entra ID P1, Graph says so, precisely.
    fake.without_premium(TENANT);
    match client
        .sign_ins(&good, SignInKind::Interactive, now - Span::hours(1), now)
        .await
        .unwrap_err()
    {
        GraphError::Graph { status, code, .. } => assert_eq!(
            (status, code.as_str()),
            (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_connection_test_names_what_is_missing() {
    let (fake, client) = setup().await;
    let summary = |checks: &[tokenwatch_graph::Check]| -> Vec<(String, bool)> {
        checks.iter().map(|c| (c.name.clone(), c.ok)).collect()
    };
    let all = client.test_connection(&credentials("the-secret")).await;
    assert!(all.iter().all(|c| c.ok), "{all:?}");
    assert_eq!(all.len(), 4);

    fake.without_permission(TENANT, "ActivityFeed.Read");
    fake.without_premium(TENANT);
    let fresh = GraphClient::new(Endpoints::all_at(&fake.url), RetryPolicy::default()).unwrap();
    let checks = fresh.test_connection(&credentials("the-secret")).await;
    assert_eq!(
        summary(&checks),
        [
            ("sign-in".to_owned(), true),
            ("activity feed".to_owned(), false),
            ("sign-in logs".to_owned(), false),
            ("users".to_owned(), true),
        ]
    );
    assert!(
        checks[1].detail.contains("ActivityFeed.Read"),
        "{}",
        checks[1].detail
    );
    assert!(
        checks[2].detail.contains("Entra ID P1"),
        "{}",
        checks[2].detail
    );

    let wrong = fresh.test_connection(&credentials("not-it")).await;
    assert_eq!(summary(&wrong), [("sign-in".to_owned(), false)]);
    assert!(
        wrong[0].detail.contains("AADSTS7000215"),
        "{}",
        wrong[0].detail
    );
}
