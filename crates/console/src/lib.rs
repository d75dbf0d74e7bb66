//! The analyst console: a single page built from `console/` (`make console`) and embedded here,
//! so `tokenwatch serve` needs no separate web server. The page is only a client of the v1 API
//! (gRPC-Web, on the same origin): it can do nothing the API does not allow.
//!
//! [`site`] serves the page, its assets and `/config.json` (how the page signs people in), each
//! with the headers in [`SECURITY_HEADERS`]: no inline script, no framing, no referrer.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

/// One built file: its name under `/assets/`, its type, its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const INDEX: &[u8] = include_bytes!("../assets/index.html");

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../assets/icon.svg"),
    },
];

/// Headers on every answer. The page's script and style come from this origin only (no inline
/// script, so an injected `<script>` does nothing); no site may frame it (clickjacking); it
/// never sends its URL (which may carry a finding id) to another site.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// How the page signs people in, as it reads it from `/config.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsoleConfig {
    /// Development: a token from `tokenwatch token issue` may be pasted in or passed in the
    /// URL's fragment (`#token=`).
    pub dev_auth: bool,
    /// The MSP's identity provider, for OpenID Connect sign-in (none: development only).
    pub oidc: Option<OidcClient>,
}

/// The console's registration at the MSP's identity provider (a public client: PKCE, no
/// secret).
#[derive(Debug, Clone, Serialize)]
pub struct OidcClient {
    /// The issuer, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`.
    pub issuer: String,
    /// The console's application (client) id.
    pub client_id: String,
    /// Scopes asked for, e.g. `openid profile api://tokenwatch/access`.
    pub scopes: String,
    /// Where the provider's endpoints are (from its discovery document, read by the server).
    pub authorization_endpoint: String,
    /// Where the page exchanges the code.
    pub token_endpoint: String,
}

impl ConsoleConfig {
    /// The content security policy: this origin only, plus the identity provider's token
    /// endpoint, which the page calls to exchange its code.
    pub fn content_security_policy(&self) -> String {
        let connect = match &self.oidc {
            Some(oidc) => format!("'self' {}", origin(&oidc.token_endpoint)),
            None => "'self'".to_owned(),
        };
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src {connect}; font-src 'self'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

/// `scheme://host[:port]` of a URL (the whole text when it has no path).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// The console's routes: `/`, `/assets/{name}`, `/config.json`; everything else is left to the
/// router this is merged with (the API's gRPC-Web routes).
pub fn site(config: ConsoleConfig) -> Router {
    let policy = HeaderValue::from_str(&config.content_security_policy())
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let config_json = serde_json::to_vec(&config).unwrap_or_default();
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX, "text/html; charset=utf-8", false) }),
        )
        .route("/assets/{name}", get(asset))
        .route(
            "/config.json",
            get(move || {
                let body = config_json.clone();
                async move { page(body, "application/json", false) }
            }),
        )
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                let policy = policy.clone();
                async move {
                    let headers = response.headers_mut();
                    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
                    for (name, value) in SECURITY_HEADERS {
                        headers.insert(*name, HeaderValue::from_static(value));
                    }
                    response
                }
            },
        ))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => page(asset.bytes, asset.content_type, true),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The page and its configuration are never cached (the page names the assets); assets are
/// revalidated.
fn page(bytes: impl Into<axum::body::Body>, content_type: &'static str, asset: bool) -> Response {
    let cache = if asset { "no-cache" } else { "no-store" };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        bytes.into(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(site: Router, path: &str) -> Response {
        site.oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers() {
        for path in ["/", "/assets/app.js", "/config.json", "/assets/missing.js"] {
            let response = get(site(ConsoleConfig::default()), path).await;
            let headers = response.headers();
            let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{path}: {policy}"
            );
            assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(headers[*name], *value, "{path}: {name}");
            }
        }
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_with_their_types() {
        let page = get(site(ConsoleConfig::default()), "/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let script = get(site(ConsoleConfig::default()), "/assets/app.js").await;
        assert_eq!(script.status(), StatusCode::OK);
        assert!(
            script.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        let missing = get(site(ConsoleConfig::default()), "/assets/../Cargo.toml").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_identity_providers_token_endpoint_is_the_one_other_origin_allowed() {
        let config = ConsoleConfig {
            dev_auth: false,
            oidc: Some(OidcClient {
                issuer: "https://login.example.com/t/v2.0".to_owned(),
                client_id: "console".to_owned(),
                scopes: "openid".to_owned(),
                authorization_endpoint: "https://login.example.com/t/oauth2/v2.0/authorize"
                    .to_owned(),
                token_endpoint: "https://login.example.com/t/oauth2/v2.0/token".to_owned(),
            }),
        };
        let policy = config.content_security_policy();
        assert!(
            policy.contains("connect-src 'self' https://login.example.com;"),
            "{policy}"
        );
        let body =
            axum::body::to_bytes(get(site(config), "/config.json").await.into_body(), 1 << 16)
                .await
                .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["dev_auth"], false);
        assert_eq!(json["oidc"]["client_id"], "console");
    }
}
