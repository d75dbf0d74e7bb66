//! Local fakes of the three PSAs' REST APIs, as their vendors document them, for tests (we
//! cannot reach a real ConnectWise, Autotask or HaloPSA from them):
//!
//! - ConnectWise Manage: `/v4_6_release/apis/3.0/...` with Basic `company+public:private` and
//!   the `clientId` header; `conditions` filters, `page`/`pageSize` paging; tickets, their
//!   notes and JSON Patch updates; 400 `InvalidObject` bodies naming the field at fault;
//! - Autotask: `zoneInformation`, then `/ATServicesRest/V1.0/...` with the `ApiIntegrationcode`,
//!   `UserName` and `Secret` headers; `{Entity}/query` filters and `nextPageUrl` paging;
//!   `{"itemId"}` on create; `{"errors": [...]}` with status 500 for a rejected value, as
//!   Autotask answers;
//! - HaloPSA: the client-credentials token at `/auth/token`, then `/api/...` with the bearer
//!   token; arrays posted to create and update; wrapped lists (`clients`, `tickets`,
//!   `actions`).
//!
//! Faults are scripted: an outage (every API call answers 429 or 503, with `Retry-After`) for a
//! while, the next N calls failing, a permission taken away. Technicians are played too: a
//! ticket can be closed "in the PSA". Every request is recorded.

mod autotask;
mod connectwise;
mod halopsa;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Which PSA the fake plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeKind {
    /// ConnectWise Manage.
    ConnectWise,
    /// Autotask.
    Autotask,
    /// HaloPSA.
    HaloPsa,
}

/// The credentials the fake accepts (tests sign in with them).
#[derive(Debug, Clone)]
pub struct FakeCredentials {
    /// ConnectWise company id.
    pub company_id: String,
    /// ConnectWise public key.
    pub public_key: String,
    /// ConnectWise clientId; HaloPSA client id.
    pub client_id: String,
    /// Autotask API username.
    pub username: String,
    /// Autotask integration code.
    pub integration_code: String,
    /// ConnectWise private key, Autotask secret, HaloPSA client secret.
    pub secret: String,
}

/// A ticket in the fake.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTicket {
    /// Id.
    pub id: u64,
    /// What technicians see.
    pub number: String,
    /// The company.
    pub company_id: u64,
    /// Title / summary.
    pub title: String,
    /// Description / initial description / details.
    pub description: String,
    /// Status (a name for ConnectWise, a picklist or id elsewhere).
    pub status: String,
    /// Priority, likewise.
    pub priority: String,
    /// Board (ConnectWise), queue (Autotask), team (HaloPSA).
    pub board: String,
    /// Closed.
    pub closed: bool,
    /// Notes / actions, in order.
    pub notes: Vec<String>,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Debug)]
struct Fake {
    kind: FakeKind,
    url: String,
    credentials: FakeCredentials,
    companies: BTreeMap<u64, String>,
    tickets: BTreeMap<u64, FakeTicket>,
    next_id: u64,
    /// Every API call answers this status until then.
    outage: Option<(Instant, u16)>,
    fail_next: VecDeque<u16>,
    /// Permissions taken away: `companies`, `tickets`.
    denied: HashSet<String>,
    /// HaloPSA bearer tokens handed out.
    tokens: HashSet<String>,
    /// Items per page of Autotask queries and HaloPSA lists.
    page_size: usize,
    /// Answers to requests of this method whose path contains this come this late (the
    /// request already done), as a PSA answering slowly does.
    slow: Option<(Method, String, Duration)>,
    requests: Vec<FakeRequest>,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct PsaFake {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Which PSA.
    pub kind: FakeKind,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PsaFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PsaFake {
    /// Starts a fake of `kind` on a free loopback port.
    pub async fn start(kind: FakeKind) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let state: Shared = Arc::new(Mutex::new(Fake {
            kind,
            url: url.clone(),
            credentials: FakeCredentials {
                company_id: "contosomsp".into(),
                public_key: "pUbL1cK3y".into(),
                client_id: "7a1c9e52-3b0d-4f6e-8a21-5c9d0e4f1b37".into(),
                username: "tokenwatch@APIUSER.com".into(),
                integration_code: "FAKEINTEGRATIONCODE00000000".into(),
                secret: "s3cret-PSA-key~value".into(),
            },
            companies: BTreeMap::new(),
            tickets: BTreeMap::new(),
            next_id: 1000,
            outage: None,
            fail_next: VecDeque::new(),
            denied: HashSet::new(),
            tokens: HashSet::new(),
            page_size: 500,
            slow: None,
            requests: Vec::new(),
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PsaFake {
            url,
            kind,
            state,
            task,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> FakeCredentials {
        self.with(|f| f.credentials.clone())
    }

    /// HaloPSA's authorisation server URL.
    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.url)
    }

    /// Adds a company (client).
    pub fn add_company(&self, id: u64, name: &str) {
        self.with(|f| f.companies.insert(id, name.to_owned()));
    }

    /// Every ticket, by id.
    pub fn tickets(&self) -> Vec<FakeTicket> {
        self.with(|f| f.tickets.values().cloned().collect())
    }

    /// A technician closes the ticket in the PSA.
    pub fn close_as_technician(&self, id: u64) {
        self.with(|f| {
            let closed = closed_status(f.kind).to_owned();
            if let Some(ticket) = f.tickets.get_mut(&id) {
                ticket.status = closed;
                ticket.closed = true;
            }
        });
    }

    /// Every API call answers `status` (429 or 503, say, with `Retry-After: 1`) for `duration`.
    pub fn outage(&self, duration: Duration, status: u16) {
        self.with(|f| f.outage = Some((Instant::now() + duration, status)));
    }

    /// The next calls answer these statuses, in order.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.with(|f| f.fail_next.extend(statuses));
    }

    /// Takes a permission away (`companies` or `tickets`): such calls answer 403.
    pub fn deny(&self, permission: &str) {
        self.with(|f| f.denied.insert(permission.to_owned()));
    }

    /// Items per page of Autotask queries and HaloPSA lists (small, to exercise paging).
    pub fn set_page_size(&self, size: usize) {
        self.with(|f| f.page_size = size.max(1));
    }

    /// Answers requests of `method` whose path contains `path_contains` only after `delay`
    /// (what they do is done at once): a caller that stops waiting cannot know it happened.
    pub fn slow_answers(&self, method: &str, path_contains: &str, delay: Duration) {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        self.with(|f| f.slow = Some((method, path_contains.to_owned(), delay)));
    }

    /// Answers at once again.
    pub fn fast_answers(&self) {
        self.with(|f| f.slow = None);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.with(|f| f.requests.clone())
    }
}

/// The status a technician's closing sets.
fn closed_status(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::ConnectWise => ">Closed",
        FakeKind::Autotask => "5",
        FakeKind::HaloPsa => "9",
    }
}

/// A request, parsed enough for every kind.
#[derive(Debug)]
struct Call {
    method: Method,
    segments: Vec<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        method: method.clone(),
        segments: uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                url::form_urlencoded::parse(s.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default()
            })
            .collect(),
        query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers,
        body,
    };
    let (response, delay) = {
        let mut fake = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let response = fault(&mut fake).unwrap_or_else(|| match fake.kind {
            FakeKind::ConnectWise => connectwise::handle(&mut fake, &call),
            FakeKind::Autotask => autotask::handle(&mut fake, &call),
            FakeKind::HaloPsa => halopsa::handle(&mut fake, &call),
        });
        fake.requests.push(FakeRequest {
            method: method.to_string(),
            path: uri.to_string(),
            status: response.status().as_u16(),
        });
        let delay = fake
            .slow
            .as_ref()
            .filter(|(m, path, _)| *m == method && uri.path().contains(path.as_str()))
            .map(|(_, _, delay)| *delay);
        (response, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// A scripted fault for this call, if one is due.
fn fault(fake: &mut Fake) -> Option<Response> {
    let status = match fake.outage {
        Some((until, status)) if Instant::now() < until => Some(status),
        Some(_) => {
            fake.outage = None;
            None
        }
        None => None,
    }
    .or_else(|| fake.fail_next.pop_front())?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = match fake.kind {
        FakeKind::ConnectWise => serde_json::json!({
            "code": "TooManyRequests", "message": "Rate limit exceeded, try again later",
        }),
        FakeKind::Autotask => serde_json::json!({"errors": [
            "The request has exceeded the allowed threshold. Retry later."
        ]}),
        FakeKind::HaloPsa => serde_json::json!({"message": "Too many requests"}),
    };
    Some((status, [("Retry-After", "1")], axum::Json(body)).into_response())
}

fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn empty(status: StatusCode) -> Response {
    status.into_response()
}

impl Fake {
    fn new_ticket(&mut self, mut ticket: FakeTicket) -> FakeTicket {
        self.next_id += 1;
        ticket.id = self.next_id;
        if ticket.number.is_empty() {
            ticket.number = ticket.id.to_string();
        }
        self.tickets.insert(ticket.id, ticket.clone());
        ticket
    }
}
