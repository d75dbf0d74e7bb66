//! Configuration of the `tokenwatch` binary: typed structs read from flags and environment
//! variables (a flag wins over its variable), validated before anything starts so that a
//! misconfiguration fails with every problem listed at once.
//!
//! # Layout
//!
//! - [`ServerConfig`]: what `serve` and `migrate` need (addresses, Postgres, Redis);
//! - [`AuthConfig`]: token verification keys and development signing;
//! - [`LogConfig`]: log format and filter;
//! - [`ClientConfig`]: what the client commands need (server URL, token);
//! - [`ConfigError`]: the problems found.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

pub use auth::{AuthConfig, OidcSettings};

mod auth;

/// Everything wrong with a configuration, listed together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    /// One line per problem, naming the flag and variable to fix.
    pub problems: Vec<String>,
}

impl ConfigError {
    fn check(problems: Vec<String>) -> Result<(), ConfigError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// Where the server listens and what it stores in.
#[derive(Debug, Clone, Args, Serialize)]
pub struct ServerConfig {
    /// Address the gRPC server listens on.
    #[arg(long, env = "TOKENWATCH_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the Prometheus metrics endpoint (HTTP, /metrics); "off" disables it.
    #[arg(
        long,
        env = "TOKENWATCH_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: String,

    /// Address of the analyst console and gRPC-Web (HTTP/1.1); "off" disables it.
    #[arg(long, env = "TOKENWATCH_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: String,

    /// The console's address as people reach it (behind a proxy, say), for links in PSA
    /// tickets; by default http://<--http-addr>.
    #[arg(long, env = "TOKENWATCH_CONSOLE_URL")]
    pub console_url: Option<String>,

    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    #[serde(serialize_with = "redacted_url")]
    pub database_url: Option<String>,

    /// Most connections the pool opens.
    #[arg(
        long,
        env = "TOKENWATCH_DATABASE_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub database_max_connections: u32,

    /// Redis connection URL; with --redis-cluster, seed nodes of a Redis Cluster,
    /// comma-separated (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    #[serde(serialize_with = "redacted_url")]
    pub redis_url: Option<String>,

    /// REDIS_URL names nodes of a Redis Cluster (every key carries its tenant's hash tag).
    #[arg(long, env = "TOKENWATCH_REDIS_CLUSTER", default_value_t = false)]
    pub redis_cluster: bool,

    /// Directory of the IP → ASN / country data (`make ipdb`); enrichment is off without it.
    #[arg(long, env = "TOKENWATCH_IPDB")]
    pub ipdb: Option<PathBuf>,

    /// Records per second each tenant may ingest (bursts of 10 s pass); 0 for no limit.
    #[arg(long, env = "TOKENWATCH_INGEST_RATE", default_value_t = 50_000)]
    pub ingest_rate: u32,

    /// Requests per second one caller (a token's subject) may make, with bursts of 10 s; over
    /// it, RESOURCE_EXHAUSTED with the time to retry. 0 for no limit.
    #[arg(long, env = "TOKENWATCH_CALLER_RATE", default_value_t = 200.0)]
    pub caller_rate: f64,

    /// Pipeline workers run beside the baseline service; 0 runs none in this process.
    #[arg(long, env = "TOKENWATCH_PIPELINE_WORKERS", default_value_t = 1)]
    pub pipeline_workers: usize,

    /// Seconds between sweeps that step every tenant, announced or not.
    #[arg(long, env = "TOKENWATCH_SWEEP_SECONDS", default_value_t = 60)]
    pub sweep_seconds: u64,

    /// Seconds a new finding waits before it opens a PSA ticket: records arriving late may
    /// retract it meanwhile, and a ticket opened and closed minutes later is noise.
    #[arg(long, env = "TOKENWATCH_PSA_HOLD_SECONDS", default_value_t = 600)]
    pub psa_hold_seconds: u64,

    /// Seconds an approved or executing action may sit untouched before a sweep takes it up
    /// again (its process stopped mid-action); longer than a Graph call with all its retries.
    #[arg(long, env = "TOKENWATCH_ACTION_RESUME_SECONDS", default_value_t = 600)]
    pub action_resume_seconds: u64,

    /// Days of events kept (by event time, in whole months: a month goes once all of it is
    /// older); older events are refused at ingest and deleted with their raw records. 0 keeps
    /// everything.
    #[arg(long, env = "TOKENWATCH_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,

    /// Key that seals customer tenants' Graph credentials at rest: 32 bytes, base64
    /// (`openssl rand -base64 32`). Without it, credentials cannot be set.
    #[arg(long, env = "TOKENWATCH_CREDENTIALS_KEY", hide_env_values = true)]
    #[serde(serialize_with = "redacted_secret")]
    pub credentials_key: Option<SecretString>,

    /// Microsoft Graph base URL (`https://graph.microsoft.us` for US Government L4,
    /// `https://microsoftgraph.chinacloudapi.cn` for the China cloud).
    #[arg(
        long,
        env = "TOKENWATCH_GRAPH_URL",
        default_value = "https://graph.microsoft.com"
    )]
    pub graph_url: String,

    /// Microsoft identity platform base URL (`https://login.microsoftonline.us`,
    /// `https://login.chinacloudapi.cn`).
    #[arg(
        long,
        env = "TOKENWATCH_LOGIN_URL",
        default_value = "https://login.microsoftonline.com"
    )]
    pub login_url: String,

    /// Office 365 Management Activity API base URL (`https://manage.office365.us` for GCC High,
    /// `https://manage.protection.apps.mil` for DoD).
    #[arg(
        long,
        env = "TOKENWATCH_ACTIVITY_URL",
        default_value = "https://manage.office.com"
    )]
    pub activity_url: String,

    /// The MSP-wide webhook: every tenant's new findings and actions are POSTed here.
    #[arg(long, env = "TOKENWATCH_WEBHOOK_URL")]
    #[serde(serialize_with = "redacted_webhook")]
    pub webhook_url: Option<String>,

    /// Body of the MSP-wide webhook: generic (JSON event), slack or teams.
    #[arg(long, env = "TOKENWATCH_WEBHOOK_FORMAT", default_value = "generic")]
    pub webhook_format: String,

    /// HMAC-SHA256 key signing the MSP-wide webhook's deliveries (`X-Tokenwatch-Signature`).
    #[arg(long, env = "TOKENWATCH_WEBHOOK_SECRET", hide_env_values = true)]
    #[serde(serialize_with = "redacted_secret")]
    pub webhook_secret: Option<SecretString>,

    /// Address ranges outbound webhooks (and PSA connections) may reach besides the public
    /// internet, comma-separated (`10.20.0.0/16,127.0.0.1`). Loopback, private, link-local and
    /// reserved addresses are refused otherwise, so a URL typed into tokenwatch cannot reach
    /// inside the MSP's network.
    #[arg(long, env = "TOKENWATCH_ALLOW_PRIVATE_NETWORKS", default_value = "")]
    pub allow_private_networks: String,

    /// Finding events below this severity are not sent to the MSP-wide webhook.
    #[arg(long, env = "TOKENWATCH_WEBHOOK_MIN_SEVERITY", default_value = "low")]
    pub webhook_min_severity: tokenwatch_types::Severity,

    /// Tenants whose logs this process pulls at once (the connectors run beside ingest); 0
    /// runs no connectors here.
    #[arg(long, env = "TOKENWATCH_CONNECTOR_CONCURRENCY", default_value_t = 8)]
    pub connector_concurrency: usize,

    /// Seconds between two pulls of a healthy tenant.
    #[arg(
        long,
        env = "TOKENWATCH_CONNECTOR_INTERVAL_SECONDS",
        default_value_t = 300
    )]
    pub connector_interval_seconds: u64,

    /// Hours of logs a newly onboarded tenant's first pull fetches (the activity API keeps
    /// 7 days, Graph sign-ins 30 with Entra ID P1).
    #[arg(
        long,
        env = "TOKENWATCH_CONNECTOR_BACKFILL_HOURS",
        default_value_t = 168
    )]
    pub connector_backfill_hours: u32,

    /// Hours of sign-in logs a newly onboarded tenant's first pull fetches (Entra keeps 30
    /// days with P1): history for the baselines' warm-up.
    #[arg(
        long,
        env = "TOKENWATCH_CONNECTOR_SIGNIN_BACKFILL_HOURS",
        default_value_t = 720
    )]
    pub connector_signin_backfill_hours: u32,

    /// Requests per second to Microsoft for one tenant.
    #[arg(long, env = "TOKENWATCH_CONNECTOR_TENANT_RATE", default_value_t = 5.0)]
    pub connector_tenant_rate: f64,

    /// Requests per second to Microsoft for every tenant together, shared by all replicas
    /// through Redis (the activity API's quota is per publisher).
    #[arg(long, env = "TOKENWATCH_CONNECTOR_GLOBAL_RATE", default_value_t = 30)]
    pub connector_global_rate: u64,

    /// The MSP's own Entra tenant id, sent as the activity API's `PublisherIdentifier` so its
    /// quota is the MSP's and not shared; each customer's tenant id when unset.
    #[arg(long, env = "TOKENWATCH_PUBLISHER_ID")]
    pub publisher_id: Option<String>,
}

impl ServerConfig {
    /// Where outbound webhooks may go, from `--allow-private-networks`.
    pub fn destinations(&self) -> Result<tokenwatch_egress::Destinations, String> {
        tokenwatch_egress::Destinations::parse(&self.allow_private_networks).map_err(|e| {
            format!("--allow-private-networks / TOKENWATCH_ALLOW_PRIVATE_NETWORKS: {e}")
        })
    }

    /// The metrics address, or `None` when disabled.
    pub fn metrics_address(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.metrics_listen.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        self.metrics_listen
            .parse()
            .map(Some)
            .map_err(|_| ConfigError {
                problems: vec![format!(
                    "--metrics-listen / TOKENWATCH_METRICS_LISTEN {:?} is not host:port or \"off\"",
                    self.metrics_listen
                )],
            })
    }

    /// The console's base URL for links: `--console-url`, else the web listener's address.
    pub fn console_base_url(&self) -> Option<String> {
        if let Some(url) = &self.console_url {
            return Some(url.trim_end_matches('/').to_owned());
        }
        self.http_address()
            .ok()
            .flatten()
            .map(|address| format!("http://{address}"))
    }

    /// The console's address, or `None` when disabled.
    pub fn http_address(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.http_addr.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        self.http_addr.parse().map(Some).map_err(|_| ConfigError {
            problems: vec![format!(
                "--http-addr / TOKENWATCH_HTTP_ADDR {:?} is not host:port or \"off\"",
                self.http_addr
            )],
        })
    }

    /// Checks what `serve` needs: both stores and a valid metrics address.
    pub fn validate_for_serve(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        problems.extend(check_url(
            "--database-url / DATABASE_URL",
            self.database_url.as_deref(),
            &["postgres", "postgresql"],
        ));
        if self.redis_cluster {
            for node in self.redis_url.as_deref().unwrap_or_default().split(',') {
                problems.extend(check_url(
                    "--redis-url / REDIS_URL (each node of the cluster)",
                    Some(node.trim()),
                    &["redis", "rediss"],
                ));
            }
        } else {
            problems.extend(check_url(
                "--redis-url / REDIS_URL",
                self.redis_url.as_deref(),
                &["redis", "rediss"],
            ));
        }
        if let Err(error) = self.metrics_address() {
            problems.extend(error.problems);
        }
        if let Err(error) = self.http_address() {
            problems.extend(error.problems);
        }
        problems.extend(check_url(
            "--graph-url / TOKENWATCH_GRAPH_URL",
            Some(&self.graph_url),
            &["https", "http"],
        ));
        problems.extend(check_url(
            "--login-url / TOKENWATCH_LOGIN_URL",
            Some(&self.login_url),
            &["https", "http"],
        ));
        problems.extend(check_url(
            "--activity-url / TOKENWATCH_ACTIVITY_URL",
            Some(&self.activity_url),
            &["https", "http"],
        ));
        if let Some(publisher) = &self.publisher_id
            && uuid::Uuid::parse_str(publisher).is_err()
        {
            problems.push(format!(
                "--publisher-id / TOKENWATCH_PUBLISHER_ID must be the MSP's Entra tenant id (a GUID), not {publisher:?}"
            ));
        }
        if !(self.caller_rate >= 0.0 && self.caller_rate.is_finite()) {
            problems.push(
                "--caller-rate / TOKENWATCH_CALLER_RATE must be a number of requests per second, 0 or more"
                    .to_owned(),
            );
        }
        match self.destinations() {
            Ok(destinations) => {
                if let Some(url) = self.webhook_url.as_deref().and_then(|u| u.parse().ok())
                    && let Err(refused) = destinations.check_url(&url)
                {
                    problems.push(format!("--webhook-url / TOKENWATCH_WEBHOOK_URL: {refused}"));
                }
            }
            Err(problem) => problems.push(problem),
        }
        if !(self.connector_tenant_rate >= 0.0 && self.connector_tenant_rate.is_finite()) {
            problems.push(
                "--connector-tenant-rate must be a number of requests per second, 0 or more"
                    .to_owned(),
            );
        }
        if !(1..=720).contains(&self.connector_signin_backfill_hours) {
            problems.push(
                "--connector-signin-backfill-hours must be between 1 and 720 (30 days)".to_owned(),
            );
        }
        if !(1..=720).contains(&self.connector_backfill_hours) {
            problems
                .push("--connector-backfill-hours must be between 1 and 720 (30 days)".to_owned());
        }
        if let Some(url) = &self.webhook_url {
            problems.extend(check_url(
                "--webhook-url / TOKENWATCH_WEBHOOK_URL",
                Some(url),
                &["https", "http"],
            ));
            if self
                .webhook_secret
                .as_ref()
                .is_none_or(|s| s.expose_secret().len() < 16)
            {
                problems.push(
                    "--webhook-secret / TOKENWATCH_WEBHOOK_SECRET must be set (16 characters or more) with a webhook URL"
                        .to_owned(),
                );
            }
        }
        if !["generic", "slack", "teams"].contains(&self.webhook_format.as_str()) {
            problems.push(
                "--webhook-format / TOKENWATCH_WEBHOOK_FORMAT must be generic, slack or teams"
                    .to_owned(),
            );
        }
        if self.database_max_connections == 0 {
            problems.push("TOKENWATCH_DATABASE_MAX_CONNECTIONS must be at least 1".to_owned());
        }
        if let Some(key) = &self.credentials_key {
            use base64::Engine as _;
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(key.expose_secret().trim());
            if decoded.map_or(true, |bytes| bytes.len() != 32) {
                problems.push(
                    "--credentials-key / TOKENWATCH_CREDENTIALS_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)"
                        .to_owned(),
                );
            }
        }
        ConfigError::check(problems)
    }

    /// The database URL, once validated.
    pub fn database_url(&self) -> Result<&str, ConfigError> {
        let problems = check_url(
            "--database-url / DATABASE_URL",
            self.database_url.as_deref(),
            &["postgres", "postgresql"],
        );
        ConfigError::check(problems.into_iter().collect())?;
        Ok(self.database_url.as_deref().unwrap_or_default())
    }
}

pub(crate) fn redacted_secret<S: serde::Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_some() { "***" } else { "" })
}

fn check_url(name: &str, url: Option<&str>, schemes: &[&str]) -> Option<String> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Some(format!(
            "{name} is not set (after `make up`, `source .run/env`)"
        ));
    };
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some(scheme) if schemes.contains(&scheme) => None,
        _ => Some(format!(
            "{name} must start with {}://",
            schemes.join(":// or ")
        )),
    }
}

/// A webhook URL shows its origin only: Slack's and Teams' carry a secret in the path.
fn redacted_webhook<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => {
            let origin: String = url
                .split_once("://")
                .map(|(scheme, rest)| {
                    format!(
                        "{scheme}://{}/…",
                        rest.split('/').next().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            s.serialize_some(&origin)
        }
        None => s.serialize_none(),
    }
}

fn redacted_url<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => s.serialize_some(&redact_password(url)),
        None => s.serialize_none(),
    }
}

/// Hides the password of `scheme://user:password@host/...`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log pipelines.
    Json,
    /// Human-readable, for terminals.
    Pretty,
}

/// What is logged and how.
#[derive(Debug, Clone, Args, Serialize)]
pub struct LogConfig {
    /// Log format.
    #[arg(
        long,
        env = "TOKENWATCH_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax (e.g. `info,tokenwatch_ingest=debug`).
    #[arg(
        long,
        env = "TOKENWATCH_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    pub log: String,
}

/// Where client commands connect, and as whom.
#[derive(Debug, Clone, Args)]
pub struct ClientConfig {
    /// URL of a tokenwatch server.
    #[arg(
        long,
        env = "TOKENWATCH_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,

    /// Bearer token (`tokenwatch token issue` mints one for development).
    #[arg(long, env = "TOKENWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<SecretString>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(database_url: Option<&str>, redis_url: Option<&str>, metrics: &str) -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: metrics.to_owned(),
            http_addr: "off".to_owned(),
            console_url: None,
            database_url: database_url.map(str::to_owned),
            database_max_connections: 4,
            redis_url: redis_url.map(str::to_owned),
            redis_cluster: false,
            ipdb: None,
            ingest_rate: 0,
            caller_rate: 0.0,
            pipeline_workers: 1,
            sweep_seconds: 60,
            psa_hold_seconds: 600,
            action_resume_seconds: 600,
            retention_days: 0,
            credentials_key: None,
            graph_url: "https://graph.microsoft.com".to_owned(),
            login_url: "https://login.microsoftonline.com".to_owned(),
            activity_url: "https://manage.office.com".to_owned(),
            webhook_url: None,
            webhook_format: "generic".to_owned(),
            webhook_secret: None,
            webhook_min_severity: tokenwatch_types::Severity::Low,
            allow_private_networks: String::new(),
            connector_concurrency: 8,
            connector_interval_seconds: 300,
            connector_backfill_hours: 168,
            connector_signin_backfill_hours: 720,
            connector_tenant_rate: 5.0,
            connector_global_rate: 30,
            publisher_id: None,
        }
    }

    #[test]
    fn connector_settings_are_checked() {
        let mut config = server(Some("postgres://x/y"), Some("redis://x"), "off");
        config.publisher_id = Some("contoso".to_owned());
        config.connector_backfill_hours = 0;
        config.connector_tenant_rate = f64::NAN;
        let error = config.validate_for_serve().unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
        let text = error.to_string();
        assert!(text.contains("TOKENWATCH_PUBLISHER_ID"));
        assert!(text.contains("--connector-backfill-hours"));
        assert!(text.contains("--connector-tenant-rate"));
        config.publisher_id = Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned());
        config.connector_backfill_hours = 24;
        config.connector_tenant_rate = 2.5;
        assert!(config.validate_for_serve().is_ok());
    }

    #[test]
    fn an_msp_webhook_inside_the_network_needs_its_range_allowed() {
        let mut config = server(Some("postgres://x/y"), Some("redis://x"), "off");
        config.webhook_url = Some("http://10.1.2.3:8080/hook".to_owned());
        config.webhook_secret = Some(SecretString::from("0123456789abcdef".to_owned()));
        config.caller_rate = -1.0;
        let error = config.validate_for_serve().unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
        let text = error.to_string();
        assert!(text.contains("TOKENWATCH_WEBHOOK_URL: 10.1.2.3 is a loopback, private"));
        assert!(text.contains("TOKENWATCH_CALLER_RATE"));
        config.caller_rate = 50.0;
        config.allow_private_networks = "10.1.0.0/16, ::1".to_owned();
        assert!(config.validate_for_serve().is_ok());
        config.allow_private_networks = "10.1.0.0/99".to_owned();
        let error = config.validate_for_serve().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("TOKENWATCH_ALLOW_PRIVATE_NETWORKS")
        );
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let error = server(None, Some("http://nope"), "everywhere")
            .validate_for_serve()
            .unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
        let text = error.to_string();
        assert!(text.contains("DATABASE_URL is not set"));
        assert!(text.contains("REDIS_URL must start with redis://"));
        assert!(text.contains("TOKENWATCH_METRICS_LISTEN"));
    }

    #[test]
    fn a_complete_config_validates() {
        let config = server(
            Some("postgres://tw@127.0.0.1:5432/tw"),
            Some("redis://127.0.0.1:6379"),
            "off",
        );
        config.validate_for_serve().unwrap();
        assert_eq!(config.metrics_address().unwrap(), None);
    }

    #[test]
    fn printed_config_hides_passwords_and_secrets() {
        let config = server(Some("postgres://tw:hunter2@db/tw"), None, "off");
        let json = serde_json::to_string(&config).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("postgres://tw:***@db/tw"));
        let auth = AuthConfig {
            jwt_issuer: "tokenwatch".to_owned(),
            jwt_audience: "tokenwatch".to_owned(),
            jwt_public_keys: vec![],
            jwks_file: None,
            jwt_private_key: None,
            dev_auth: true,
            dev_jwt_secret: Some(SecretString::from("s3cret-s3cret-s3cret-s3cret-s3cret")),
            ..oidc_off()
        };
        let json = serde_json::to_string(&auth).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
    }

    /// The OIDC fields, unset.
    fn oidc_off() -> AuthConfig {
        AuthConfig {
            jwt_issuer: String::new(),
            jwt_audience: String::new(),
            jwt_public_keys: vec![],
            jwks_file: None,
            jwt_private_key: None,
            dev_auth: false,
            dev_jwt_secret: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_audience: None,
            oidc_scopes: None,
            oidc_roles: String::new(),
            oidc_tenants: String::new(),
        }
    }

    #[test]
    fn an_identity_provider_needs_a_client_id_and_a_role_mapping() {
        let mut auth = AuthConfig {
            oidc_issuer: Some("https://login.example.com/t/v2.0".to_owned()),
            ..oidc_off()
        };
        let error = auth.oidc().unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
        auth.oidc_client_id = Some("console-app".to_owned());
        auth.oidc_roles = "Tokenwatch.Analyst=analyst".to_owned();
        let settings = auth.oidc().unwrap().unwrap();
        assert_eq!(settings.audience, "console-app");
        assert_eq!(settings.scopes, "openid profile console-app/.default");
        auth.oidc_issuer = None;
        assert!(auth.oidc().unwrap().is_none());
    }

    #[test]
    fn verifier_needs_a_key_and_reports_bad_files() {
        let mut auth = AuthConfig {
            jwt_issuer: "tokenwatch".to_owned(),
            jwt_audience: "tokenwatch".to_owned(),
            jwt_public_keys: vec![PathBuf::from("/nonexistent/key.pem")],
            jwks_file: None,
            jwt_private_key: None,
            dev_auth: true,
            dev_jwt_secret: None,
            ..oidc_off()
        };
        let error = auth.verifier().unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
        auth.jwt_public_keys.clear();
        auth.dev_jwt_secret = Some(SecretString::from("0123456789abcdef0123456789abcdef"));
        auth.verifier().unwrap();
        auth.signer().unwrap();
        auth.dev_auth = false;
        assert!(auth.verifier().is_err());
        assert!(auth.signer().is_err());
    }
}
