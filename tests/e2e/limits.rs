//! Abuse of the API is refused over the wire: a caller over its request rate and an address
//! presenting bad tokens get RESOURCE_EXHAUSTED with the time to retry, and nobody else
//! notices.

use std::time::Duration;

use tokenwatch_auth::Role;
use tokenwatch_proto::tenant::v1::GetTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::{Code, Status};
use tokenwatch_test_utils::{TestServer, test_options};
use tonic_types::StatusExt;

use crate::TENANT_A;

async fn get_tenant(server: &TestServer, token: &str) -> Result<(), Status> {
    let channel = tokenwatch_grpc::connect(&server.url, Some(token))
        .await
        .unwrap();
    TenantServiceClient::new(channel)
        .get_tenant(GetTenantRequest {
            tenant_id: TENANT_A.to_owned(),
        })
        .await
        .map(drop)
}

#[tokio::test]
async fn callers_over_their_rate_and_token_guessers_are_told_to_come_back_later() {
    let mut options = test_options();
    // Two requests a second: a burst of twenty.
    options.caller_rate = 2.0;
    let server = TestServer::spawn_with_options(&[], options).await;
    server.register(&[TENANT_A]).await;

    let alice = server.tokens.person("alice", &[Role::Analyst], &[TENANT_A]);
    let started = std::time::Instant::now();
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(match get_tenant(&server, &alice).await {
            Ok(()) => Code::Ok,
            Err(status) => {
                if status.code() == Code::ResourceExhausted {
                    let retry = status.get_details_retry_info().expect("RetryInfo detail");
                    assert!(retry.retry_delay.unwrap() <= Duration::from_secs(1));
                    assert!(status.message().contains("request rate"), "{status:?}");
                }
                status.code()
            }
        });
    }
    // The burst, plus what refilled meanwhile (2 a second) on a slow machine.
    let refilled = (2.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    let passed = codes.iter().filter(|c| **c == Code::Ok).count();
    assert!((18..=20 + refilled).contains(&passed), "{codes:?}");
    // Refused once the burst is spent (not necessarily at the very end: on a loaded machine the
    // last call can come a refill later, which failed this test once).
    assert!(
        codes[20.min(passed)..].contains(&Code::ResourceExhausted),
        "the flood is cut off: {codes:?}"
    );
    let bob = server.tokens.person("bob", &[Role::Analyst], &[TENANT_A]);
    get_tenant(&server, &bob)
        .await
        .expect("another caller is not slowed by alice");

    // Guessing tokens from one address: heard fifty times (plus what refills at 5 a second
    // meanwhile), then not even verified.
    let forged = server.tokens.foreign_key(&[Role::MspAdmin], &[]);
    let started = std::time::Instant::now();
    let mut refused = Vec::new();
    for _ in 0..80 {
        refused.push(get_tenant(&server, &forged).await.unwrap_err().code());
    }
    let refilled = (5.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    let heard = refused
        .iter()
        .filter(|c| **c == Code::Unauthenticated)
        .count();
    assert!((50..=50 + refilled).contains(&heard), "{refused:?}");
    assert!(refused.contains(&Code::ResourceExhausted), "{refused:?}");
    server.stop().await;
}
