//! The identity platform's client-credentials token endpoint: secrets and certificate
//! assertions, Microsoft's error bodies, and the bearer tokens the other fakes accept.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::graph::graph_error;
use crate::{Fake, Shared};

/// The identity platform's error body.
pub(crate) fn token_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: 2026-11-27 12:00:00Z", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
        "error_codes": [code],
        "timestamp": "2026-11-27 12:00:00Z",
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    #[serde(default)]
    scope: String,
    grant_type: String,
    // The authorization-code grant (a single-page app signing someone in).
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// The claims of a client assertion the fake checks.
#[derive(Debug, Deserialize)]
pub(crate) struct AssertionClaims {
    iss: String,
    sub: String,
}

/// Checks a certificate credential the way the identity platform does; the app's client id.
pub(crate) fn check_assertion(
    fake: &Fake,
    tenant: &str,
    assertion: &str,
) -> Result<String, Box<Response>> {
    let invalid = |code: u32, description: &str| {
        Box::new(token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        ))
    };
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid(50027, "JWT token is invalid or malformed."))?;
    let unverified: AssertionClaims = {
        use base64::Engine as _;
        let payload = assertion.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| invalid(50027, "JWT token is invalid or malformed."))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| invalid(50027, "JWT token is invalid or malformed."))?
    };
    let Some((thumbprint, public_key)) = fake
        .certificates
        .get(&(tenant.to_owned(), unverified.iss.clone()))
    else {
        return Err(Box::new(token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                unverified.iss
            ),
        )));
    };
    let used = header.x5t_s256.clone().unwrap_or_default();
    if used != *thumbprint {
        return Err(invalid(
            700027,
            &format!(
                "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{used}']"
            ),
        ));
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key.as_bytes())
        .expect("a registered public key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.algorithms = vec![
        jsonwebtoken::Algorithm::PS256,
        jsonwebtoken::Algorithm::RS256,
    ];
    validation.set_audience(&[format!("{}/{tenant}/oauth2/v2.0/token", fake.url)]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let verified =
        jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).map_err(|e| {
            invalid(
                700027,
                &format!("Client assertion failed signature validation. [Reason - {e}]"),
            )
        })?;
    if verified.claims.sub != verified.claims.iss {
        return Err(invalid(
            700023,
            "Client assertion audience claim does not match.",
        ));
    }
    Ok(verified.claims.iss)
}

pub(crate) async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if form.grant_type == "authorization_code" {
        let redemption = crate::signin::Redemption {
            client_id: form.client_id.unwrap_or_default(),
            code: form.code.unwrap_or_default(),
            redirect_uri: form.redirect_uri.unwrap_or_default(),
            code_verifier: form.code_verifier.unwrap_or_default(),
        };
        return crate::signin::redeem(&state, &tenant, redemption, &headers);
    }
    if form.grant_type != "client_credentials" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if !form.scope.ends_with("/.default") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let known = fake.apps.keys().chain(fake.certificates.keys());
    if !known.into_iter().any(|(t, _)| *t == tenant) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    if let Some(assertion) = &form.client_assertion {
        if form.client_assertion_type.as_deref()
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50012,
                "The client_assertion_type is not supported.",
            );
        }
        return match check_assertion(&fake, &tenant, assertion) {
            Ok(_) => issue_token(&mut fake, tenant),
            Err(response) => *response,
        };
    }
    let client_id = form.client_id.clone().unwrap_or_default();
    match fake.apps.get(&(tenant.clone(), client_id.clone())) {
        None => token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ),
        Some(secret) if Some(secret) != form.client_secret.as_ref() => token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
        ),
        Some(_) => issue_token(&mut fake, tenant),
    }
}

pub(crate) fn issue_token(fake: &mut Fake, tenant: String) -> Response {
    let access_token = format!("fake.{}", uuid::Uuid::new_v4().simple());
    fake.tokens.insert(access_token.clone(), tenant);
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access_token,
    }))
    .into_response()
}

/// The tenant a request's token was issued for, or Graph's 401.
pub(crate) fn authenticated(fake: &Fake, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if token.is_empty() {
        return Err(Box::new(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        )));
    }
    fake.tokens.get(token).cloned().ok_or_else(|| {
        Box::new(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "IDX14100: JWT is not well formed, there are no dots (.).",
        ))
    })
}
