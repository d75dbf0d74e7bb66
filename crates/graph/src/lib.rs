//! Microsoft Graph for response actions, with tokens from the Microsoft identity platform's
//! client-credentials flow against each customer tenant's authority.
//!
//! - [`Endpoints`]: the login and Graph base URLs (they differ in the US government and China
//!   clouds, and point at a local fake in tests);
//! - [`GraphClient`]: tokens (cached per resource until shortly before expiry) and the actions:
//!   revoke a user's sign-in sessions, disable or re-enable the account, confirm the user
//!   compromised; and the Office 365 Management Activity API (`activity`): subscriptions,
//!   content listing with `NextPageUri`, content blobs; and Entra sign-ins (`signins`);
//! - [`Credentials`] (`credentials`): a tenant's app registration, its secret or certificate;
//! - [`GraphError`]: what Microsoft answered, kept precise (the AADSTS or Graph error code and
//!   message), so an analyst sees exactly which permission or licence is missing.
//!
//! Every call is retried on 429 and 503 after the `Retry-After` Microsoft sends (else with
//! exponential backoff and jitter), and on connection failures, up to [`RetryPolicy::attempts`].

mod activity;
mod check;
mod credentials;
mod signins;

pub use activity::{
    CONTENT_TYPES, Content, MAX_WINDOW, RETENTION, Subscription, WindowError, check_window,
};
pub use check::{Check, explain};
pub use credentials::{AppSecret, Certificate, Credentials, Sealed};
pub use signins::{SignInKind, SignInPages};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::Deserialize;
#[cfg(test)]
use tokenwatch_msfake as _;

/// Where the identity platform and Graph are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://login.microsoftonline.com` (global), `https://login.microsoftonline.us`...
    pub login_url: String,
    /// `https://graph.microsoft.com` (global), `https://graph.microsoft.us`...
    pub graph_url: String,
    /// The Office 365 Management Activity API: `https://manage.office.com` (global),
    /// `https://manage.office365.us` (GCC High)...
    pub activity_url: String,
}

impl Endpoints {
    /// Everything at one base URL (a local fake).
    pub fn all_at(url: &str) -> Endpoints {
        Endpoints {
            login_url: url.to_owned(),
            graph_url: url.to_owned(),
            activity_url: url.to_owned(),
        }
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            login_url: "https://login.microsoftonline.com".to_owned(),
            graph_url: "https://graph.microsoft.com".to_owned(),
            activity_url: "https://manage.office.com".to_owned(),
        }
    }
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff when Microsoft gives no `Retry-After`.
    pub base_delay: Duration,
    /// Longest wait between attempts (a longer `Retry-After` fails the call as throttled).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// What went wrong, as Microsoft said it.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The token endpoint refused the app (bad secret, unknown app or tenant, consent missing).
    #[error("sign-in refused ({status}): {code}: {description}")]
    SignIn {
        /// HTTP status.
        status: u16,
        /// `invalid_client`, `unauthorized_client`, `invalid_request`...
        code: String,
        /// The AADSTS message.
        description: String,
    },
    /// Graph answered with an error.
    #[error("graph {status}: {code}: {message}")]
    Graph {
        /// HTTP status.
        status: u16,
        /// `Request_ResourceNotFound`, `Authorization_RequestDenied`...
        code: String,
        /// Graph's message.
        message: String,
    },
    /// Still throttled (429/503) after every attempt, or asked to wait longer than allowed.
    #[error("throttled by microsoft ({status}), retry after {retry_after:?}")]
    Throttled {
        /// 429 or 503.
        status: u16,
        /// What Microsoft asked for last.
        retry_after: Option<Duration>,
    },
    /// tokenwatch refused to send the request: a window outside the API's rules, a next page or
    /// content URI that is not Microsoft's (the token would go with it), an assertion that
    /// could not be signed.
    #[error("not sent: {0}")]
    Refused(String),
    /// The request did not get an answer.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The URL called.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

impl GraphError {
    /// Not found (an unknown user).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GraphError::Graph { status: 404, .. })
    }
}

/// The identity platform's error body.
#[derive(Debug, Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Graph's error body: `{"error": {"code", "message", "innerError"}}`.
#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Debug, Deserialize)]
struct GraphErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// A token and when to stop using it.
#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct UserId {
    id: String,
}

/// Whose token: the app in the tenant, and which secret (a replaced secret must not keep
/// using the old secret's token).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    tenant_id: String,
    client_id: String,
    secret_hash: u64,
    resource: String,
}

impl TokenKey {
    fn of(credentials: &Credentials, resource: &str) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        match &credentials.secret {
            AppSecret::ClientSecret(secret) => secret.expose_secret().hash(&mut hasher),
            AppSecret::Certificate(certificate) => certificate.thumbprint_s256.hash(&mut hasher),
        }
        TokenKey {
            tenant_id: credentials.tenant_id.clone(),
            client_id: credentials.client_id.clone(),
            secret_hash: hasher.finish(),
            resource: resource.to_owned(),
        }
    }
}

/// Tokens are renewed this long before they expire.
const TOKEN_EARLY: Duration = Duration::from_secs(300);

/// The Graph client; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    retry: RetryPolicy,
    /// The activity API's `PublisherIdentifier` (the MSP's tenant); each customer's when unset.
    publisher: Option<String>,
    tokens: Mutex<HashMap<TokenKey, CachedToken>>,
}

impl GraphClient {
    /// A client for `endpoints`.
    pub fn new(endpoints: Endpoints, retry: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tokenwatch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(GraphClient {
            http,
            endpoints,
            retry,
            publisher: None,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `publisher` (the MSP's own Entra tenant id) as the activity API's
    /// `PublisherIdentifier`, so the API counts its quota for the MSP rather than a shared one.
    pub fn with_publisher(mut self, publisher: Option<String>) -> Self {
        self.publisher = publisher;
        self
    }

    /// An app token for Graph in the credentials' tenant (cached).
    pub async fn token(&self, credentials: &Credentials) -> Result<String, GraphError> {
        let graph = self.endpoints.graph_url.trim_end_matches('/').to_owned();
        self.token_for(credentials, &graph).await
    }

    /// An app token for `resource` (a base URL: Graph, the Management Activity API) in the
    /// credentials' tenant (cached per resource).
    pub async fn token_for(
        &self,
        credentials: &Credentials,
        resource: &str,
    ) -> Result<String, GraphError> {
        let key = TokenKey::of(credentials, resource);
        if let Some(cached) = self.cached(&key) {
            return Ok(cached);
        }
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoints.login_url.trim_end_matches('/'),
            credentials.tenant_id
        );
        let scope = format!("{}/.default", resource.trim_end_matches('/'));
        let assertion;
        let mut form = vec![
            ("client_id", credentials.client_id.as_str()),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        match &credentials.secret {
            AppSecret::ClientSecret(secret) => form.push(("client_secret", secret.expose_secret())),
            AppSecret::Certificate(certificate) => {
                assertion = certificate
                    .assertion(&credentials.client_id, &url)
                    .map_err(|e| {
                        GraphError::Refused(format!("cannot sign the client assertion: {e}"))
                    })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
                form.push(("client_assertion", assertion.as_str()));
            }
        }
        let response = self.send(&url, || self.http.post(&url).form(&form)).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let body: Option<TokenError> = response.json().await.ok();
            let (code, description) = body
                .map(|b| (b.error, b.error_description))
                .unwrap_or_else(|| ("unknown".to_owned(), String::new()));
            return Err(GraphError::SignIn {
                status,
                code,
                description,
            });
        }
        let token: TokenResponse =
            response
                .json()
                .await
                .map_err(|source| GraphError::Transport {
                    url: url.clone(),
                    source,
                })?;
        let lifetime = Duration::from_secs(token.expires_in).saturating_sub(TOKEN_EARLY);
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                key,
                CachedToken {
                    token: token.access_token.clone(),
                    refresh_at: Instant::now() + lifetime,
                },
            );
        Ok(token.access_token)
    }

    fn cached(&self, key: &TokenKey) -> Option<String> {
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens
            .get(key)
            .filter(|cached| Instant::now() < cached.refresh_at)
            .map(|cached| cached.token.clone())
    }

    /// `POST /users/{id}/revokeSignInSessions`: every refresh token and session cookie of the
    /// user stops working.
    pub async fn revoke_sign_in_sessions(
        &self,
        credentials: &Credentials,
        user: &str,
    ) -> Result<(), GraphError> {
        let path = format!("/v1.0/users/{}/revokeSignInSessions", encode(user));
        self.call(credentials, reqwest::Method::POST, &path, None)
            .await
            .map(drop)
    }

    /// `PATCH /users/{id}` with `accountEnabled`: disable (false) or re-enable (true).
    pub async fn set_account_enabled(
        &self,
        credentials: &Credentials,
        user: &str,
        enabled: bool,
    ) -> Result<(), GraphError> {
        let path = format!("/v1.0/users/{}", encode(user));
        let body = serde_json::json!({ "accountEnabled": enabled });
        self.call(credentials, reqwest::Method::PATCH, &path, Some(body))
            .await
            .map(drop)
    }

    /// `GET /users/{upn}?$select=id`: the object id some APIs insist on (confirmCompromised).
    pub async fn user_object_id(
        &self,
        credentials: &Credentials,
        user: &str,
    ) -> Result<String, GraphError> {
        let path = format!("/v1.0/users/{}?$select=id", encode(user));
        let response = self
            .call(credentials, reqwest::Method::GET, &path, None)
            .await?;
        let url = response.url().to_string();
        let user: UserId = response
            .json()
            .await
            .map_err(|source| GraphError::Transport { url, source })?;
        Ok(user.id)
    }

    /// `POST /identityProtection/riskyUsers/confirmCompromised` for one user (its object id).
    pub async fn confirm_compromised(
        &self,
        credentials: &Credentials,
        user_object_id: &str,
    ) -> Result<(), GraphError> {
        let body = serde_json::json!({ "userIds": [user_object_id] });
        self.call(
            credentials,
            reqwest::Method::POST,
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            Some(body),
        )
        .await
        .map(drop)
    }

    /// One Graph call with a token; a 401 (token revoked or expired early) renews it once.
    async fn call(
        &self,
        credentials: &Credentials,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, GraphError> {
        let graph = self.endpoints.graph_url.trim_end_matches('/').to_owned();
        let url = format!("{graph}{path}");
        self.call_url(credentials, &graph, method, &url, body).await
    }

    /// One call to `url` with a token for `resource`; a 401 (token revoked or expired early)
    /// renews it once.
    pub(crate) async fn call_url(
        &self,
        credentials: &Credentials,
        resource: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, GraphError> {
        let url = url.to_owned();
        for renewed in [false, true] {
            let token = self.token_for(credentials, resource).await?;
            let response = self
                .send(&url, || {
                    let request = self.http.request(method.clone(), &url).bearer_auth(&token);
                    match &body {
                        Some(body) => request.json(body),
                        None => request.header(reqwest::header::CONTENT_LENGTH, 0),
                    }
                })
                .await?;
            let status = response.status().as_u16();
            if response.status().is_success() {
                return Ok(response);
            }
            if status == 401 && !renewed {
                self.tokens
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&TokenKey::of(credentials, resource));
                continue;
            }
            let detail: Option<GraphErrorBody> = response.json().await.ok();
            let (code, message) = detail
                .map(|b| (b.error.code, b.error.message))
                .unwrap_or_else(|| ("unknown".to_owned(), String::new()));
            return Err(GraphError::Graph {
                status,
                code,
                message,
            });
        }
        unreachable!("the loop returns on its second pass")
    }

    /// Sends with retries: 429/503 after `Retry-After`, other 5xx and connection failures after
    /// exponential backoff with jitter.
    async fn send(
        &self,
        url: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, GraphError> {
        let mut delay = self.retry.base_delay;
        let mut attempt = 1;
        loop {
            let outcome = request().send().await;
            let last = attempt >= self.retry.attempts;
            let wait = match &outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if !(status == 429 || status >= 500) {
                        return outcome.map_err(|source| GraphError::Transport {
                            url: url.to_owned(),
                            source,
                        });
                    }
                    let retry_after = retry_after(response);
                    if last || retry_after.is_some_and(|after| after > self.retry.max_delay) {
                        if status == 429 || status == 503 {
                            return Err(GraphError::Throttled {
                                status,
                                retry_after,
                            });
                        }
                        return outcome.map_err(|source| GraphError::Transport {
                            url: url.to_owned(),
                            source,
                        });
                    }
                    tracing::info!(%url, status, ?retry_after, attempt, "microsoft asked to retry");
                    retry_after.unwrap_or_else(|| jitter(delay))
                }
                Err(_) if !last => jitter(delay),
                Err(_) => {
                    return outcome.map_err(|source| GraphError::Transport {
                        url: url.to_owned(),
                        source,
                    });
                }
            };
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(self.retry.max_delay);
            attempt += 1;
        }
    }
}

/// `Retry-After` in seconds (what Graph and the identity platform send).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Up to half again the delay, at random, so retries of many calls spread out.
fn jitter(delay: Duration) -> Duration {
    delay + delay.mul_f64(rand::random::<f64>() * 0.5)
}

/// A user id or UPN as a path segment.
fn encode(user: &str) -> String {
    user.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
