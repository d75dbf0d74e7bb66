//! A local fake of the parts of Microsoft's cloud tokenwatch calls, with their real request and
//! response shapes, for tests (we cannot reach Microsoft from them):
//!
//! - the identity platform's client-credentials token endpoint,
//!   `POST /{tenant}/oauth2/v2.0/token` (form body), answering `invalid_client` (401, AADSTS7000215)
//!   for a wrong secret and `invalid_request` (400, AADSTS90002) for an unknown tenant;
//! - Microsoft Graph v1.0: `POST /users/{id}/revokeSignInSessions` (200, `{"value": true}`),
//!   `PATCH /users/{id}` (204), `POST /identityProtection/riskyUsers/confirmCompromised` (204),
//!   with Graph's error body for an unknown user (404 `Request_ResourceNotFound`) and a missing or
//!   unknown token (401 `InvalidAuthenticationToken`).
//!
//! Faults are scripted: the next N requests whose path contains a string get a status (429 or
//! 503 with `Retry-After`, say). Every request is recorded for assertions.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde::Deserialize;
use serde_json::json;

/// A user of a fake tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub upn: String,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// How many times its sessions were revoked.
    pub revocations: u32,
    /// Confirmed compromised in Identity Protection.
    pub compromised: bool,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Body as text (a form's secret included: tests check what was sent).
    pub body: String,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The tenant it was for (from the path, or the token's tenant).
    pub tenant: Option<String>,
    /// When it arrived.
    pub time: std::time::Instant,
}

/// One content blob of the Management Activity API.
#[derive(Debug, Clone)]
struct FakeContent {
    tenant: String,
    content_type: String,
    content_id: String,
    created: chrono::DateTime<chrono::Utc>,
    records: Vec<serde_json::Value>,
}

#[derive(Debug)]
struct Fault {
    /// Only this tenant's requests (any request when `None`).
    tenant: Option<String>,
    path_contains: String,
    status: u16,
    retry_after: Option<u64>,
    remaining: u32,
}

#[derive(Debug, Default)]
struct Fake {
    /// `http://127.0.0.1:PORT`, for the audience of client assertions.
    url: String,
    apps: HashMap<(String, String), String>,
    /// App certificates: (tenant, client id) → (SHA-256 thumbprint, public key PEM).
    certificates: HashMap<(String, String), (String, String)>,
    /// Management Activity API subscriptions started: (tenant, content type).
    subscriptions: std::collections::HashSet<(String, String)>,
    /// Content blobs, in order of availability.
    contents: Vec<FakeContent>,
    /// Blobs per listing page (small, so paging is exercised).
    page_size: usize,
    /// Sign-ins per page at most, whatever `$top` asks.
    sign_in_page: usize,
    /// Added to every answer, so concurrent requests overlap.
    latency: std::time::Duration,
    /// Requests in flight per tenant, and the most ever.
    in_flight: HashMap<String, (usize, usize)>,
    /// Sign-in records per tenant: (interactive, record).
    sign_ins: HashMap<String, Vec<(bool, serde_json::Value)>>,
    /// Tenants without Entra ID P1: sign-in logs are refused.
    free_tenants: std::collections::HashSet<String>,
    /// Application permissions not granted: (tenant, permission).
    denied: std::collections::HashSet<(String, String)>,
    users: HashMap<String, Vec<FakeUser>>,
    tokens: HashMap<String, String>,
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct MicrosoftFake {
    /// `http://127.0.0.1:PORT`: both the login and the Graph base URL.
    pub url: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MicrosoftFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MicrosoftFake {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/users/{user}/revokeSignInSessions", post(revoke))
            .route("/v1.0/users/{user}", patch(update_user).get(get_user))
            .route(
                "/v1.0/identityProtection/riskyUsers/confirmCompromised",
                post(confirm_compromised),
            )
            .route("/v1.0/auditLogs/signIns", axum::routing::get(sign_ins_v1))
            .route("/v1.0/users", axum::routing::get(list_users))
            .route("/beta/auditLogs/signIns", axum::routing::get(sign_ins_beta))
            .route(
                "/api/v1.0/{tenant}/activity/feed/subscriptions/start",
                post(start_subscription),
            )
            .route(
                "/api/v1.0/{tenant}/activity/feed/subscriptions/list",
                axum::routing::get(list_subscriptions),
            )
            .route(
                "/api/v1.0/{tenant}/activity/feed/subscriptions/content",
                axum::routing::get(list_content),
            )
            .route(
                "/api/v1.0/{tenant}/activity/feed/audit/{content_id}",
                axum::routing::get(fetch_content),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                record_and_fault,
            ))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        {
            let mut fake = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            fake.url = url.clone();
            fake.page_size = 2;
            fake.sign_in_page = SIGN_IN_PAGE;
        }
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MicrosoftFake { url, state, task }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Registers an app (client id and secret) in a tenant.
    pub fn add_app(&self, tenant: &str, client_id: &str, secret: &str) {
        self.with(|fake| {
            fake.apps
                .insert((tenant.to_owned(), client_id.to_owned()), secret.to_owned())
        });
    }

    /// Registers an app that proves itself with a certificate (PEM) whose public key is
    /// `public_key_pem`, as uploading the certificate to the app registration does.
    pub fn add_app_certificate(
        &self,
        tenant: &str,
        client_id: &str,
        certificate_pem: &str,
        public_key_pem: &str,
    ) {
        use base64::Engine as _;
        use sha2::Digest as _;
        let body: String = certificate_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .expect("a PEM certificate");
        let thumbprint =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der));
        self.with(|fake| {
            fake.certificates.insert(
                (tenant.to_owned(), client_id.to_owned()),
                (thumbprint, public_key_pem.to_owned()),
            )
        });
    }

    /// Makes a content blob of `records` available for a tenant's `content_type` at `created`;
    /// returns its id.
    pub fn add_content(
        &self,
        tenant: &str,
        content_type: &str,
        created: chrono::DateTime<chrono::Utc>,
        records: Vec<serde_json::Value>,
    ) -> String {
        let content_id = format!(
            "{}${}${}",
            created.format("%Y%m%d%H%M%S%3f"),
            content_type.replace('.', "_"),
            uuid::Uuid::new_v4().simple()
        );
        self.with(|fake| {
            fake.contents.push(FakeContent {
                tenant: tenant.to_owned(),
                content_type: content_type.to_owned(),
                content_id: content_id.clone(),
                created,
                records,
            })
        });
        content_id
    }

    /// Adds a sign-in record (Graph's shape; `createdDateTime` is what filters apply to).
    pub fn add_sign_in(&self, tenant: &str, interactive: bool, record: serde_json::Value) {
        self.with(|fake| {
            fake.sign_ins
                .entry(tenant.to_owned())
                .or_default()
                .push((interactive, record))
        });
    }

    /// The app in `tenant` lacks `permission` (`ActivityFeed.Read`, `AuditLog.Read.All`,
    /// `User.Read.All`): the APIs that need it refuse, as they do when consent is missing.
    pub fn without_permission(&self, tenant: &str, permission: &str) {
        self.with(|fake| {
            fake.denied
                .insert((tenant.to_owned(), permission.to_owned()))
        });
    }

    /// The tenant has no Entra ID P1 licence: Graph refuses its sign-in logs.
    pub fn without_premium(&self, tenant: &str) {
        self.with(|fake| fake.free_tenants.insert(tenant.to_owned()));
    }

    /// The content types whose subscription the tenant started.
    pub fn subscriptions(&self, tenant: &str) -> Vec<String> {
        self.with(|fake| {
            let mut started: Vec<String> = fake
                .subscriptions
                .iter()
                .filter(|(t, _)| t == tenant)
                .map(|(_, c)| c.clone())
                .collect();
            started.sort();
            started
        })
    }

    /// Adds an enabled user to a tenant.
    pub fn add_user(&self, tenant: &str, id: &str, upn: &str) {
        self.with(|fake| {
            fake.users
                .entry(tenant.to_owned())
                .or_default()
                .push(FakeUser {
                    id: id.to_owned(),
                    upn: upn.to_owned(),
                    account_enabled: true,
                    revocations: 0,
                    compromised: false,
                })
        });
    }

    /// A user as the fake now has it (by object id or UPN).
    pub fn user(&self, tenant: &str, user: &str) -> Option<FakeUser> {
        self.with(|fake| find_user(fake, tenant, user).cloned())
    }

    /// Listing pages of `content` blobs and sign-in pages of at most `sign_ins` records
    /// (2 and 4 at start, so paging is exercised; larger for volume).
    pub fn set_page_sizes(&self, content: usize, sign_ins: usize) {
        self.with(|fake| {
            fake.page_size = content.max(1);
            fake.sign_in_page = sign_ins.max(1);
        });
    }

    /// Every answer comes `latency` late.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.with(|fake| fake.latency = latency);
    }

    /// The most requests for `tenant` that were ever in flight at once.
    pub fn max_in_flight(&self, tenant: &str) -> usize {
        self.with(|fake| fake.in_flight.get(tenant).map_or(0, |(_, most)| *most))
    }

    /// Serves records in the real formats as Microsoft would: Graph sign-ins (records with
    /// `createdDateTime`; `isInteractive` says which list) from the sign-in logs, and audit
    /// records (`CreationTime`, `Workload`) from the activity feed, in one blob per content
    /// type and hour of `CreationTime`, made available 20 minutes after the hour ends (never
    /// later than now). Records older than the API's 7 days are made available 6 days ago, as
    /// if they had been late: test data longer than a week stays pullable. Returns the blobs'
    /// ids.
    pub fn publish(&self, tenant: &str, records: Vec<serde_json::Value>) -> Vec<String> {
        use chrono::{DurationRound, TimeDelta};
        let mut blobs: std::collections::BTreeMap<
            (chrono::DateTime<chrono::Utc>, &'static str),
            Vec<serde_json::Value>,
        > = std::collections::BTreeMap::new();
        for record in records {
            if record.get("createdDateTime").is_some() {
                let interactive = record["isInteractive"].as_bool().unwrap_or(true);
                self.add_sign_in(tenant, interactive, record);
                continue;
            }
            let Some(time) = record["CreationTime"].as_str().and_then(parse_time) else {
                continue;
            };
            let hour = time.duration_trunc(TimeDelta::hours(1)).unwrap_or(time);
            blobs
                .entry((hour, content_type_of(&record)))
                .or_default()
                .push(record);
        }
        let now = chrono::Utc::now();
        blobs
            .into_iter()
            .map(|((hour, content_type), records)| {
                let created = (hour + TimeDelta::minutes(80))
                    .min(now - TimeDelta::seconds(1))
                    .max(now - TimeDelta::days(6));
                self.add_content(tenant, content_type, created, records)
            })
            .collect()
    }

    /// The next `times` requests for `tenant` (whatever their path) get `status`, with
    /// `Retry-After: retry_after` seconds when given: Microsoft throttling one tenant.
    pub fn fail_tenant_next(
        &self,
        tenant: &str,
        status: u16,
        retry_after: Option<u64>,
        times: u32,
    ) {
        self.with(|fake| {
            fake.faults.push_back(Fault {
                tenant: Some(tenant.to_owned()),
                path_contains: String::new(),
                status,
                retry_after,
                remaining: times,
            })
        });
    }

    /// The next `times` requests whose path contains `path_contains` get `status` (with
    /// `Retry-After: retry_after` seconds when given) instead of an answer.
    pub fn fail_next(
        &self,
        path_contains: &str,
        status: u16,
        retry_after: Option<u64>,
        times: u32,
    ) {
        self.with(|fake| {
            fake.faults.push_back(Fault {
                tenant: None,
                path_contains: path_contains.to_owned(),
                status,
                retry_after,
                remaining: times,
            })
        });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|fake| fake.requests.clone())
    }
}

fn find_user<'f>(fake: &'f Fake, tenant: &str, user: &str) -> Option<&'f FakeUser> {
    fake.users
        .get(tenant)?
        .iter()
        .find(|u| u.id == user || u.upn.eq_ignore_ascii_case(user))
}

async fn record_and_fault(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let (fault, tenant, latency) = {
        let mut fake = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tenant = tenant_of(&fake, uri.path(), &headers);
        fake.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            tenant: tenant.clone(),
            time: std::time::Instant::now(),
        });
        if let Some(tenant) = &tenant {
            let (now, most) = fake.in_flight.entry(tenant.clone()).or_default();
            *now += 1;
            *most = (*most).max(*now);
        }
        let index = fake.faults.iter().position(|f| {
            uri.path().contains(&f.path_contains)
                && f.tenant.as_ref().is_none_or(|t| Some(t) == tenant.as_ref())
        });
        let fault = index.map(|index| {
            let fault = &mut fake.faults[index];
            fault.remaining -= 1;
            let answer = (fault.status, fault.retry_after);
            if fault.remaining == 0 {
                fake.faults.remove(index);
            }
            answer
        });
        (fault, tenant, fake.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = answer(fault, parts, bytes, next).await;
    if let Some(tenant) = tenant {
        let mut fake = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((now, _)) = fake.in_flight.get_mut(&tenant) {
            *now -= 1;
        }
    }
    response
}

/// The tenant a request is for: in the path (token endpoint, activity API), else the tenant
/// of its bearer token.
fn tenant_of(fake: &Fake, path: &str, headers: &HeaderMap) -> Option<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [tenant, "oauth2", ..] => Some((*tenant).to_owned()),
        ["api", "v1.0", tenant, ..] => Some((*tenant).to_owned()),
        _ => authenticated(fake, headers).ok(),
    }
}

/// The scripted fault, or the real answer.
async fn answer(
    fault: Option<(u16, Option<u64>)>,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    next: axum::middleware::Next,
) -> Response {
    if let Some((status, retry_after)) = fault {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut response = graph_error(
            status,
            if status == StatusCode::TOO_MANY_REQUESTS {
                "TooManyRequests"
            } else {
                "ServiceNotAvailable"
            },
            "The service is busy; retry after the delay the Retry-After header gives.",
        );
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                "retry-after",
                seconds.to_string().parse().expect("a header value"),
            );
        }
        return response;
    }
    next.run(axum::extract::Request::from_parts(parts, bytes.into()))
        .await
}

/// Graph's error body.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-27T12:00:00",
                "request-id": uuid::Uuid::new_v4().to_string(),
                "client-request-id": uuid::Uuid::new_v4().to_string(),
            }
        }
    });
    (status, axum::Json(body)).into_response()
}

/// The identity platform's error body.
fn token_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
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
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: String,
    grant_type: String,
}

/// The claims of a client assertion the fake checks.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
}

/// Checks a certificate credential the way the identity platform does; the app's client id.
fn check_assertion(fake: &Fake, tenant: &str, assertion: &str) -> Result<String, Box<Response>> {
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

async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
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

fn issue_token(fake: &mut Fake, tenant: String) -> Response {
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
fn authenticated(fake: &Fake, headers: &HeaderMap) -> Result<String, Box<Response>> {
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

fn not_found(user: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn user_mut<'f>(fake: &'f mut Fake, tenant: &str, user: &str) -> Option<&'f mut FakeUser> {
    fake.users
        .get_mut(tenant)?
        .iter_mut()
        .find(|u| u.id == user || u.upn.eq_ignore_ascii_case(user))
}

async fn revoke(
    State(state): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    match user_mut(&mut fake, &tenant, &user) {
        Some(found) => {
            found.revocations += 1;
            axum::Json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
                "value": true,
            }))
            .into_response()
        }
        None => not_found(&user),
    }
}

/// `GET /users/{id | userPrincipalName}` (`$select` is honoured for `id`, `userPrincipalName`
/// and `accountEnabled`).
async fn get_user(
    State(state): State<Shared>,
    Path(user): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(found) = find_user(&fake, &tenant, &user) else {
        return not_found(&user);
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".to_owned(),
        "https://graph.microsoft.com/v1.0/$metadata#users/$entity".into(),
    );
    let select = uri
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("$select=")))
        .unwrap_or("id,userPrincipalName,accountEnabled");
    for field in select.split(',') {
        match field {
            "id" => body.insert("id".to_owned(), found.id.clone().into()),
            "userPrincipalName" => {
                body.insert("userPrincipalName".to_owned(), found.upn.clone().into())
            }
            "accountEnabled" => {
                body.insert("accountEnabled".to_owned(), found.account_enabled.into())
            }
            _ => None,
        };
    }
    axum::Json(serde_json::Value::Object(body)).into_response()
}

async fn update_user(
    State(state): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(found) = user_mut(&mut fake, &tenant, &user) else {
        return not_found(&user);
    };
    if let Some(enabled) = body
        .get("accountEnabled")
        .and_then(serde_json::Value::as_bool)
    {
        found.account_enabled = enabled;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn confirm_compromised(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(ids) = body.get("userIds").and_then(serde_json::Value::as_array) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must contain userIds.",
        );
    };
    // Graph takes object ids here, not UPNs.
    for id in ids.iter().filter_map(serde_json::Value::as_str) {
        if let Some(found) = fake
            .users
            .get_mut(&tenant)
            .and_then(|users| users.iter_mut().find(|u| u.id == id))
        {
            found.compromised = true;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The Management Activity API's error body.
fn activity_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The token's tenant, which must be the one in the path, with ActivityFeed.Read.
fn activity_caller(fake: &Fake, headers: &HeaderMap, tenant: &str) -> Result<(), Box<Response>> {
    let caller = authenticated(fake, headers)?;
    if caller != tenant
        || fake
            .denied
            .contains(&(caller.clone(), "ActivityFeed.Read".to_owned()))
    {
        return Err(Box::new(activity_error(
            StatusCode::FORBIDDEN,
            "AF10001",
            "The permission set (ActivityFeed.Read) sent in the request does not include the expected permission.",
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityQuery {
    content_type: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    next_page: Option<usize>,
}

const CONTENT_TYPES: [&str; 5] = [
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
];

async fn start_subscription(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ActivityQuery>,
    headers: HeaderMap,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let content_type = query.content_type.unwrap_or_default();
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20020",
            &format!("The content type '{content_type}' is not valid."),
        );
    }
    if !fake.subscriptions.insert((tenant, content_type.clone())) {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20024",
            "The subscription is already enabled. No property change.",
        );
    }
    axum::Json(json!({ "contentType": content_type, "status": "enabled", "webhook": null }))
        .into_response()
}

async fn list_subscriptions(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let list: Vec<serde_json::Value> = fake
        .subscriptions
        .iter()
        .filter(|(t, _)| *t == tenant)
        .map(|(_, c)| json!({ "contentType": c, "status": "enabled", "webhook": null }))
        .collect();
    axum::Json(serde_json::Value::Array(list)).into_response()
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        })
}

async fn list_content(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ActivityQuery>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let content_type = query.content_type.clone().unwrap_or_default();
    if !fake
        .subscriptions
        .contains(&(tenant.clone(), content_type.clone()))
    {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20022",
            "No subscription found for the specified content type",
        );
    }
    let now = chrono::Utc::now();
    let start = query.start_time.as_deref().and_then(parse_time);
    let end = query.end_time.as_deref().and_then(parse_time);
    let (start, end) = match (start, end) {
        (Some(start), Some(end))
            if end > start
                && end - start <= chrono::Duration::hours(24)
                && start >= now - chrono::Duration::days(7) =>
        {
            (start, end)
        }
        (None, None) => (now - chrono::Duration::hours(24), now),
        _ => {
            return activity_error(
                StatusCode::BAD_REQUEST,
                "AF20055",
                "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.",
            );
        }
    };
    let matching: Vec<&FakeContent> = fake
        .contents
        .iter()
        .filter(|c| {
            c.tenant == tenant
                && c.content_type == content_type
                && c.created >= start
                && c.created < end
        })
        .collect();
    let from = query.next_page.unwrap_or(0);
    let page: Vec<serde_json::Value> = matching
        .iter()
        .skip(from)
        .take(fake.page_size)
        .map(|c| {
            json!({
                "contentType": c.content_type,
                "contentId": c.content_id,
                "contentUri": format!("{}/api/v1.0/{tenant}/activity/feed/audit/{}", fake.url, c.content_id),
                "contentCreated": c.created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "contentExpiration": (c.created + chrono::Duration::days(7)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            })
        })
        .collect();
    let mut response = axum::Json(serde_json::Value::Array(page)).into_response();
    if from + fake.page_size < matching.len() {
        let next = format!(
            "{}/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType={content_type}&startTime={}&endTime={}&nextPage={}",
            fake.url,
            start.format("%Y-%m-%dT%H:%M:%S"),
            end.format("%Y-%m-%dT%H:%M:%S"),
            from + fake.page_size
        );
        response
            .headers_mut()
            .insert("NextPageUri", next.parse().expect("a header value"));
    }
    response
}

async fn fetch_content(
    State(state): State<Shared>,
    Path((tenant, content_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    match fake
        .contents
        .iter()
        .find(|c| c.tenant == tenant && c.content_id == content_id)
    {
        Some(content) => {
            axum::Json(serde_json::Value::Array(content.records.clone())).into_response()
        }
        None => activity_error(
            StatusCode::NOT_FOUND,
            "AF20051",
            &format!(
                "Content requested with the key {content_id} has already expired or does not exist."
            ),
        ),
    }
}

/// Sign-ins per page at start, whatever `$top` asks (small, so paging is exercised).
const SIGN_IN_PAGE: usize = 4;

/// The activity feed content type a UAL record comes in, by its workload.
fn content_type_of(record: &serde_json::Value) -> &'static str {
    match record["Workload"].as_str().unwrap_or_default() {
        "AzureActiveDirectory" => "Audit.AzureActiveDirectory",
        "Exchange" => "Audit.Exchange",
        "SharePoint" | "OneDrive" => "Audit.SharePoint",
        _ => "Audit.General",
    }
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
    #[serde(rename = "$skiptoken")]
    skip: Option<usize>,
}

async fn sign_ins_v1(
    state: State<Shared>,
    query: axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    sign_ins(state, query, headers, "v1.0").await
}

async fn sign_ins_beta(
    state: State<Shared>,
    query: axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    sign_ins(state, query, headers, "beta").await
}

/// `GET /{version}/auditLogs/signIns`: `$filter` on `createdDateTime` (ge, lt) and, in beta,
/// `signInEventTypes/any(t: t eq 'nonInteractiveUser')`; v1.0 lists interactive sign-ins only.
async fn sign_ins(
    State(state): State<Shared>,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
    version: &str,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    if let Some(response) = denied(&fake, &tenant, "AuditLog.Read.All") {
        return response;
    }
    if fake.free_tenants.contains(&tenant) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        );
    }
    let filter = query.filter.clone().unwrap_or_default();
    let bound = |op: &str| {
        filter
            .split(&format!("createdDateTime {op} "))
            .nth(1)
            .and_then(|rest| rest.split([' ', ')']).next())
            .and_then(parse_time)
    };
    let (from, to) = (bound("ge"), bound("lt"));
    let interactive = !(version == "beta" && filter.contains("'nonInteractiveUser'"));
    let mut matching: Vec<&serde_json::Value> = fake
        .sign_ins
        .get(&tenant)
        .into_iter()
        .flatten()
        .filter(|(is_interactive, _)| *is_interactive == interactive)
        .map(|(_, record)| record)
        .filter(|record| {
            let created = record["createdDateTime"].as_str().and_then(parse_time);
            created.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e))
        })
        .collect();
    matching.sort_by_key(|r| r["createdDateTime"].as_str().unwrap_or_default().to_owned());
    let top = query.top.unwrap_or(1000).clamp(1, fake.sign_in_page);
    let skip = query.skip.unwrap_or(0);
    let page: Vec<serde_json::Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|r| (*r).clone())
        .collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/{version}/$metadata#auditLogs/signIns"),
        "value": page,
    });
    if skip + top < matching.len() {
        let next = format!(
            "{}/{version}/auditLogs/signIns?$filter={}&$top={top}&$skiptoken={}",
            fake.url,
            percent(&filter),
            skip + top
        );
        body["@odata.nextLink"] = next.into();
    }
    axum::Json(body).into_response()
}

/// Percent-encodes a query value.
fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Graph's answer to an app without `permission`.
fn denied(fake: &Fake, tenant: &str, permission: &str) -> Option<Response> {
    fake.denied
        .contains(&(tenant.to_owned(), permission.to_owned()))
        .then(|| {
            graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        })
}

/// `GET /v1.0/users` (`$top`, `$select` ignored beyond `id`).
async fn list_users(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    if let Some(response) = denied(&fake, &tenant, "User.Read.All") {
        return response;
    }
    let users: Vec<serde_json::Value> = fake
        .users
        .get(&tenant)
        .into_iter()
        .flatten()
        .map(|u| json!({ "id": u.id }))
        .collect();
    axum::Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id)",
        "value": users,
    }))
    .into_response()
}
