// The server's side of signing in with the MSP's identity provider, against the Microsoft
// fake's stand-in for Entra ID: discovery, the keys (rolled mid-test), and a code redeemed with
// PKCE exactly as the console's page does it, the token then verified and mapped.

use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;
use tokenwatch_auth::{AuthError, ClaimMapping, OidcKeys, OidcTrust, Role, TenantScope, Verifier};

use crate as tokenwatch_oidc;
use tokenwatch_msfake::{FakePerson, MicrosoftFake};

const MSP: &str = "11111111-1111-4111-8111-111111111111";
const CONSOLE: &str = "2f0a9c1e-0000-4000-8000-00000000c0de";
const REDIRECT: &str = "http://127.0.0.1:8080/";

fn fake_person(roles: &[&str]) -> FakePerson {
    FakePerson {
        username: "dana@msp.example".to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        groups: Vec::new(),
    }
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// What the console does: to the authorization endpoint (the fake signs in at once), the code
/// from the fragment, redeemed with the verifier. The token endpoint's answer.
async fn sign_in(
    fake: &MicrosoftFake,
    provider: &tokenwatch_oidc::Provider,
    verifier_sent: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "a-code-verifier-of-at-least-forty-three-characters-0123";
    let answer = browser
        .get(&provider.authorization_endpoint)
        .query(&[
            ("client_id", CONSOLE),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("response_mode", "fragment"),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::FOUND);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.strip_prefix(&format!("{REDIRECT}#")).unwrap();
    let code = fragment
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .unwrap()
        .to_owned();
    assert!(fragment.contains("state=s1"));
    let _ = fake;
    let verifier = if verifier_sent.is_empty() {
        verifier
    } else {
        verifier_sent
    };
    let redeemed = browser
        .post(&provider.token_endpoint)
        .header("origin", "http://127.0.0.1:8080")
        .form(&[
            ("client_id", CONSOLE),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = redeemed.status();
    if status.is_success() {
        assert_eq!(
            redeemed.headers()["access-control-allow-origin"],
            "http://127.0.0.1:8080"
        );
    }
    (status, redeemed.json().await.unwrap())
}

#[tokio::test]
async fn a_code_redeemed_with_pkce_gives_a_token_the_server_verifies_and_maps() {
    let fake = MicrosoftFake::start().await;
    fake.add_spa_app(MSP, CONSOLE, REDIRECT, CONSOLE);
    fake.sign_in_as(MSP, fake_person(&["Tokenwatch.Analyst"]));
    let client = tokenwatch_oidc::client();
    let issuer = fake.issuer(MSP);
    let provider = tokenwatch_oidc::discover(&client, &issuer).await.unwrap();
    assert_eq!(provider.issuer, issuer);
    let keys = OidcKeys::default();
    assert_eq!(
        tokenwatch_oidc::fetch_keys(&client, &provider, &keys)
            .await
            .unwrap(),
        1
    );
    let mapping = ClaimMapping::parse(
        "Tokenwatch.Analyst=analyst",
        "Tokenwatch.Analyst=72f988bf-86f1-41af-91ab-2d7cd011db47",
    )
    .unwrap();
    let verifier = Verifier::builder("tokenwatch", "tokenwatch")
        .oidc(OidcTrust::new(&issuer, CONSOLE, keys.clone(), mapping))
        .build()
        .unwrap();

    let (status, body) = sign_in(&fake, &provider, "").await;
    assert!(status.is_success(), "{body}");
    let claims = verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.subject, "dana@msp.example");
    assert!(claims.roles.contains(&Role::Analyst));
    assert!(matches!(claims.tenants, TenantScope::Some(ref t) if t.len() == 1));

    // A wrong verifier (a stolen code without the page's secret) is refused.
    let (status, body) = sign_in(
        &fake,
        &provider,
        "not-the-verifier-that-made-the-challenge-000",
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("AADSTS501481")
    );

    // The provider rolls its keys: a token under the new key is refused until the keys are
    // fetched again, which the refusal itself prompts.
    fake.roll_signing_key();
    let (_, body) = sign_in(&fake, &provider, "").await;
    let rolled = body["access_token"].as_str().unwrap().to_owned();
    assert!(matches!(
        verifier.verify(&rolled),
        Err(AuthError::UnknownKey(_))
    ));
    let refresher = tokio::spawn(tokenwatch_oidc::keep_keys_fresh(
        client.clone(),
        provider.clone(),
        keys.clone(),
        Duration::from_secs(3600),
        std::future::pending::<()>(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while keys.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refused token did not prompt a fetch of the rolled key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    refresher.abort();
    assert!(verifier.verify(&rolled).is_ok());
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let fake = MicrosoftFake::start().await;
    let client = tokenwatch_oidc::client();
    // The document at this address names the tenant's issuer, not the one configured.
    let configured = format!("{}/{MSP}/v2.0/", fake.url);
    let error = tokenwatch_oidc::discover(&client, &configured)
        .await
        .unwrap_err();
    assert!(
        matches!(error, tokenwatch_oidc::OidcError::WrongIssuer { .. }),
        "{error}"
    );
}
