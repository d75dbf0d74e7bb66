//! The identity platform as a single-page app signs people in: OpenID Connect discovery, the
//! published signing keys (which can be rolled), the authorization endpoint (code flow, PKCE
//! with S256 required, the code returned in the fragment or the query), and the code's
//! redemption at the token endpoint, answering with an RS256 access token carrying the
//! person's app roles and groups, and CORS for the browser.
//!
//! Where Microsoft shows a sign-in page, the fake signs in at once the person the test set for
//! the tenant ([`crate::MicrosoftFake::sign_in_as`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;
use sha2::Digest as _;

use crate::Shared;
use crate::identity::token_error;

/// The fake's signing keys: the first published at start, the second once rolled.
const SIGNING_KEYS: [(&str, &[u8]); 2] = [
    (
        "fake-key-1",
        include_bytes!("../../auth/testdata/rsa_private.pem"),
    ),
    (
        "fake-key-2",
        include_bytes!("../../auth/testdata/other_rsa_private.pem"),
    ),
];

/// An app registered as a single-page application.
#[derive(Debug, Clone)]
pub(crate) struct SpaApp {
    pub(crate) redirect_uris: Vec<String>,
    /// The audience of the access tokens it gets (its API's application id).
    pub(crate) audience: String,
}

/// Who signs in at a tenant's authorization endpoint.
#[derive(Debug, Clone)]
pub struct FakePerson {
    /// `preferred_username`.
    pub username: String,
    /// App roles assigned (`roles` claim).
    pub roles: Vec<String>,
    /// Group object ids (`groups` claim).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    tenant: String,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    person: FakePerson,
}

/// The sign-in part of the fake's state.
#[derive(Debug, Default)]
pub(crate) struct SignIn {
    pub(crate) apps: HashMap<(String, String), SpaApp>,
    pub(crate) people: HashMap<String, FakePerson>,
    pub(crate) codes: HashMap<String, PendingCode>,
    /// How many of [`SIGNING_KEYS`] are published (the last signs).
    pub(crate) published: usize,
}

impl SignIn {
    fn signing(&self) -> (&'static str, EncodingKey) {
        let (kid, pem) = SIGNING_KEYS[self.published.clamp(1, SIGNING_KEYS.len()) - 1];
        (kid, EncodingKey::from_rsa_pem(pem).expect("a test key"))
    }
}

fn issuer(url: &str, tenant: &str) -> String {
    format!("{url}/{tenant}/v2.0")
}

pub(crate) async fn discovery(State(state): State<Shared>, Path(tenant): Path<String>) -> Response {
    let url = state.lock().unwrap_or_else(|e| e.into_inner()).url.clone();
    axum::Json(json!({
        "issuer": issuer(&url, &tenant),
        "authorization_endpoint": format!("{url}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{url}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{url}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "preferred_username", "tid", "roles", "groups"],
    }))
    .into_response()
}

pub(crate) async fn keys(State(state): State<Shared>) -> Response {
    let published = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .sign_in
        .published
        .max(1);
    let keys = SIGNING_KEYS[..published]
        .iter()
        .map(|(kid, pem)| {
            let key = EncodingKey::from_rsa_pem(pem).expect("a test key");
            let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("a jwk");
            jwk.common.key_id = Some((*kid).to_owned());
            jwk
        })
        .collect();
    axum::Json(JwkSet { keys }).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeQuery {
    client_id: String,
    response_type: String,
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    response_mode: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
}

/// Microsoft's error page for a request it cannot send back (unknown app or redirect URI).
fn error_page(code: u32, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<html><body><h1>Sorry, but we're having trouble signing you in.</h1><p>AADSTS{code}: {description}</p></body></html>"),
    )
        .into_response()
}

fn redirect(to: &str, mode: &str, parameters: &[(&str, &str)]) -> Response {
    let encoded: Vec<String> = parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", crate::signins::percent(value)))
        .collect();
    let separator = if mode == "query" { '?' } else { '#' };
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{to}{separator}{}", encoded.join("&")),
        )],
    )
        .into_response()
}

pub(crate) async fn authorize(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let mut fake = state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(app) = fake
        .sign_in
        .apps
        .get(&(tenant.clone(), query.client_id.clone()))
        .cloned()
    else {
        return error_page(
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                query.client_id
            ),
        );
    };
    if !app.redirect_uris.contains(&query.redirect_uri) {
        return error_page(
            50011,
            &format!(
                "The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                query.redirect_uri, query.client_id
            ),
        );
    }
    let mode = query.response_mode.as_deref().unwrap_or("query");
    let back = |error: &str, description: &str| {
        redirect(
            &query.redirect_uri,
            mode,
            &[
                ("error", error),
                ("error_description", description),
                ("state", &query.state),
            ],
        )
    };
    if query.response_type != "code" {
        return back(
            "unsupported_response_type",
            "AADSTS700054: response_type 'id_token' is not enabled for the application.",
        );
    }
    let challenge = match (
        query.code_challenge.as_deref(),
        query.code_challenge_method.as_deref(),
    ) {
        (Some(challenge), Some("S256")) if !challenge.is_empty() => challenge.to_owned(),
        _ => {
            return back(
                "invalid_request",
                "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            );
        }
    };
    let Some(person) = fake.sign_in.people.get(&tenant).cloned() else {
        return back(
            "access_denied",
            "AADSTS50105: The signed in user is not assigned to a role for the application.",
        );
    };
    let code = format!("0.fake{}", uuid::Uuid::new_v4().simple());
    fake.sign_in.codes.insert(
        code.clone(),
        PendingCode {
            tenant,
            client_id: query.client_id.clone(),
            redirect_uri: query.redirect_uri.clone(),
            challenge,
            scope: query.scope.clone(),
            person,
        },
    );
    redirect(
        &query.redirect_uri,
        mode,
        &[
            ("code", &code),
            ("state", &query.state),
            ("session_state", "00000000-0000-4000-8000-00000000f00d"),
        ],
    )
}

/// The fields of an authorization-code redemption.
#[derive(Debug, Default)]
pub(crate) struct Redemption {
    pub(crate) client_id: String,
    pub(crate) code: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_verifier: String,
}

/// Redeems a code (called by the token endpoint for `grant_type=authorization_code`).
pub(crate) fn redeem(
    state: &Shared,
    tenant: &str,
    form: Redemption,
    headers: &HeaderMap,
) -> Response {
    let mut fake = state.lock().unwrap_or_else(|e| e.into_inner());
    let invalid_grant = |code: u32, description: &str| {
        token_error(StatusCode::BAD_REQUEST, "invalid_grant", code, description)
    };
    // A code is redeemed once, whatever the outcome.
    let Some(pending) = fake.sign_in.codes.remove(&form.code) else {
        return invalid_grant(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        );
    };
    if pending.tenant != tenant || pending.client_id != form.client_id {
        return invalid_grant(
            70000,
            "The provided authorization code is not valid for this client.",
        );
    }
    if pending.redirect_uri != form.redirect_uri {
        return invalid_grant(
            500112,
            "The reply url is not valid. The reply address does not match the one used in the authorization request.",
        );
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(form.code_verifier.as_bytes()));
    if computed != pending.challenge {
        return invalid_grant(
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        );
    }
    let Some(app) = fake
        .sign_in
        .apps
        .get(&(tenant.to_owned(), form.client_id.clone()))
        .cloned()
    else {
        return invalid_grant(700016, "The application was not found.");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let person = &pending.person;
    // A stable object id per person, from their name.
    let digest = sha2::Sha256::digest(person.username.as_bytes());
    let oid = uuid::Builder::from_random_bytes(digest[..16].try_into().unwrap_or_default())
        .into_uuid()
        .to_string();
    let claims = json!({
        "aud": app.audience,
        "iss": issuer(&fake.url, tenant),
        "iat": now, "nbf": now, "exp": now + 3600,
        "name": person.username,
        "oid": oid,
        "preferred_username": person.username,
        "roles": person.roles,
        "groups": person.groups,
        "scp": pending.scope,
        "sub": format!("fake-{}", &oid[..8]),
        "tid": tenant,
        "ver": "2.0",
    });
    let (kid, key) = fake.sign_in.signing();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let access_token = jsonwebtoken::encode(&header, &claims, &key).expect("a signed token");
    let mut response = axum::Json(json!({
        "token_type": "Bearer",
        "scope": pending.scope,
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token,
    }))
    .into_response();
    // A single-page app's redirect URI enables CORS on the token endpoint.
    if let Some(origin) = headers.get(header::ORIGIN) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    response
}
