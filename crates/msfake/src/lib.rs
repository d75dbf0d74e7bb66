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
//!
//! # Layout
//!
//! - this module: [`MicrosoftFake`] (the router, the shared state, scripting and assertions)
//!   and what every endpoint does first (record, fault, find the tenant);
//! - `identity`: the token endpoint, and the bearer tokens the others accept;
//! - `graph`: Graph's user endpoints;
//! - `activity`: the Office 365 Management Activity API;
//! - `signin`: people signing in to a single-page app (OpenID Connect discovery, keys,
//!   authorization code with PKCE);
//! - `signins`: Graph's sign-in logs.

mod activity;
mod graph;
mod identity;
mod signin;
mod signins;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{patch, post};

use activity::{
    content_type_of, fetch_content, list_content, list_subscriptions, parse_time,
    start_subscription,
};
use graph::{confirm_compromised, get_user, graph_error, list_users, revoke, update_user};
use identity::{authenticated, token};
pub use signin::FakePerson;
use signins::{SIGN_IN_PAGE, sign_ins_beta, sign_ins_v1};

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
    /// 0: received, recorded and never answered.
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
    sign_in: signin::SignIn,
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
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                axum::routing::get(signin::discovery),
            )
            .route(
                "/{tenant}/discovery/v2.0/keys",
                axum::routing::get(signin::keys),
            )
            .route(
                "/{tenant}/oauth2/v2.0/authorize",
                axum::routing::get(signin::authorize),
            )
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

    /// Registers a single-page app: where it may send people back, and the audience of the
    /// access tokens it gets.
    pub fn add_spa_app(&self, tenant: &str, client_id: &str, redirect_uri: &str, audience: &str) {
        self.with(|fake| {
            fake.sign_in.apps.insert(
                (tenant.to_owned(), client_id.to_owned()),
                signin::SpaApp {
                    redirect_uris: vec![redirect_uri.to_owned()],
                    audience: audience.to_owned(),
                },
            );
        });
    }

    /// The person the tenant's authorization endpoint signs in (where Microsoft would ask).
    pub fn sign_in_as(&self, tenant: &str, person: FakePerson) {
        self.with(|fake| {
            fake.sign_in.people.insert(tenant.to_owned(), person);
        });
    }

    /// Publishes a second signing key and signs with it from now on, as a provider rolling its
    /// keys does.
    pub fn roll_signing_key(&self) {
        self.with(|fake| fake.sign_in.published = 2);
    }

    /// The issuer of the tenant's tokens (`<url>/<tenant>/v2.0`).
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.url)
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

    /// The next `times` requests whose path contains `path_contains` are received (and
    /// recorded) but never answered: Microsoft still at work when its caller dies.
    pub fn hang_next(&self, path_contains: &str, times: u32) {
        self.fail_next(path_contains, 0, None, times);
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
    if fault.is_some_and(|(status, _)| status == 0) {
        return std::future::pending().await;
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
