//! What integration tests need: a fresh, migrated database per test on the Postgres that
//! `make test` started, the Redis beside it, and a whole server on port 0 with signers for
//! every kind of token.
//!
//! The stores come from `TOKENWATCH_TEST_DATABASE_URL` and `TOKENWATCH_TEST_REDIS_URL` (or
//! `DATABASE_URL` / `REDIS_URL`). A missing variable fails the test with instructions: a test
//! that silently skips cannot catch anything.
//!
//! Fault tests start stores of their own ([`processes`]) so they can crash and restart them.

pub mod processes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tokenwatch_auth::{Role, Signer, Verifier};
use tokenwatch_server::{IngestConfig, Options, ServiceName, Stores};
use tokenwatch_storage::Database;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Issuer and audience of the test server's tokens.
pub const ISSUER: &str = "tokenwatch-test";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "tokenwatch";

fn required_env(names: &[&str]) -> String {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| {
            panic!(
                "{} is not set: run the tests with `make test`, or `make up && source .run/env` first",
                names.join(" or ")
            )
        })
}

/// URL of the test Postgres cluster (any database on it).
pub fn postgres_url() -> String {
    required_env(&["TOKENWATCH_TEST_DATABASE_URL", "DATABASE_URL"])
}

/// URL of the test Redis.
pub fn redis_url() -> String {
    required_env(&["TOKENWATCH_TEST_REDIS_URL", "REDIS_URL"])
}

/// Replaces the database name of a Postgres URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{database}{query}", &base[..authority_end])
}

/// Creates an empty database with a unique name and returns its URL (not yet migrated).
pub async fn empty_database_url() -> String {
    let server_url = postgres_url();
    let name = format!("tw_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&with_database(&server_url, "postgres"))
        .await
        .expect("cannot connect to the test postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("cannot create a test database");
    admin.close().await.ok();
    with_database(&server_url, &name)
}

/// A fresh, migrated database.
pub async fn test_database() -> Database {
    let database = Database::connect(&empty_database_url().await, 8)
        .await
        .expect("cannot connect to the test database");
    database.migrate().await.expect("migrations failed");
    database
}

/// Options for test servers: the IP data of `make ipdb` (through `TOKENWATCH_IPDB`, which
/// `make test` sets), no rate limits, and no pipeline workers: tests run in parallel against one
/// Redis, so only tests that use their own random tenants start workers
/// ([`pipeline_options`]).
pub fn test_options() -> Options {
    Options {
        ingest: IngestConfig {
            ipdb: std::env::var_os("TOKENWATCH_IPDB").map(std::path::PathBuf::from),
            rate_per_tenant: 0,
        },
        caller_rate: 0.0,
        pipeline_workers: 0,
        connectors: tokenwatch_server::ConnectorConfig {
            concurrency: 0,
            ..Default::default()
        },
        ..Options::default()
    }
}

/// [`test_options`] with `workers` pipeline workers polling briskly.
pub fn pipeline_options(workers: usize) -> Options {
    Options {
        pipeline_workers: workers,
        pipeline: tokenwatch_server::PipelineConfig {
            poll: Duration::from_millis(10),
            sweep_interval: Duration::from_secs(2),
            lease: Duration::from_secs(3),
            ..Default::default()
        },
        ..test_options()
    }
}

/// A fresh random tenant id, for tests whose Redis keys must not meet another test's.
pub fn random_tenant() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../auth/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Signs tokens for the test server, good or deliberately bad.
#[derive(Debug)]
pub struct Tokens {
    rsa: Signer,
    wrong_audience: Signer,
    foreign_key: Signer,
}

impl Tokens {
    fn new() -> Self {
        let rsa = testdata("rsa_private.pem");
        Tokens {
            rsa: Signer::private_key_pem("rsa", &rsa, None, ISSUER, AUDIENCE).unwrap(),
            wrong_audience: Signer::private_key_pem("rsa", &rsa, None, ISSUER, "other").unwrap(),
            foreign_key: Signer::private_key_pem(
                "other",
                &testdata("other_rsa_private.pem"),
                None,
                ISSUER,
                AUDIENCE,
            )
            .unwrap(),
        }
    }

    /// The verifier the test server uses: the RSA and EC test public keys.
    pub fn verifier() -> Verifier {
        Self::verifier_builder().build().unwrap()
    }

    fn verifier_builder() -> tokenwatch_auth::VerifierBuilder {
        let mut builder = Verifier::builder(ISSUER, AUDIENCE);
        builder
            .public_key_pem("rsa", &testdata("rsa_public.pem"), None)
            .unwrap()
            .public_key_pem("ec", &testdata("ec_public.pem"), None)
            .unwrap();
        builder
    }

    /// A valid token.
    pub fn valid(&self, roles: &[Role], tenants: &[&str]) -> String {
        self.person("test@tokenwatch.local", roles, tenants)
    }

    /// A valid token that lives `lifetime` (a soak outlives the others' ten minutes).
    pub fn valid_for(&self, roles: &[Role], tenants: &[&str], lifetime: Duration) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        self.rsa
            .issue("test@tokenwatch.local", roles, &tenants, lifetime)
            .unwrap()
    }

    /// A valid token of a named person (for flows that need two people).
    pub fn person(&self, subject: &str, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        self.rsa
            .issue(subject, roles, &tenants, Duration::from_secs(600))
            .unwrap()
    }

    /// A token that expired an hour ago.
    pub fn expired(&self, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        self.rsa
            .issue_at("test", roles, &tenants, now - 7200, now - 3600)
            .unwrap()
    }

    /// A token for another audience.
    pub fn wrong_audience(&self, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        self.wrong_audience
            .issue("test", roles, &tenants, Duration::from_secs(600))
            .unwrap()
    }

    /// A well-formed token signed by a key the server does not trust.
    pub fn foreign_key(&self, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        self.foreign_key
            .issue("test", roles, &tenants, Duration::from_secs(600))
            .unwrap()
    }

    /// A valid token whose payload was swapped for one granting msp_admin on every tenant.
    pub fn tampered(&self, roles: &[Role], tenants: &[&str]) -> String {
        let good = self.valid(roles, tenants);
        let parts: Vec<&str> = good.split('.').collect();
        let forged = base64url(
            format!(
                r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"mallory","exp":9999999999,"nbf":0,"iat":0,"roles":["msp_admin"],"tenants":["*"]}}"#
            )
            .as_bytes(),
        );
        format!("{}.{forged}.{}", parts[0], parts[2])
    }

    /// The same claims with `alg: none` and no signature.
    pub fn alg_none(&self, roles: &[Role], tenants: &[&str]) -> String {
        let good = self.valid(roles, tenants);
        let payload = good.split('.').nth(1).unwrap().to_owned();
        format!("{}.{payload}.", base64url(br#"{"alg":"none","typ":"JWT"}"#))
    }
}

/// Unpadded base64url, as JWTs use.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Logs of test servers, with `TOKENWATCH_TEST_LOG=<filter>` (e.g. `info`), for debugging a
/// failing test; silent otherwise.
fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TOKENWATCH_TEST_LOG") {
            let config = tokenwatch_config::LogConfig {
                log_format: tokenwatch_config::LogFormat::Pretty,
                log: filter,
            };
            let _ = tokenwatch_telemetry::init_logging(&config);
        }
    });
}

/// A whole tokenwatch server on port 0, with its own database; stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    /// Its database's URL, to start another server on it.
    pub database_url: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The console and gRPC-Web: `http://127.0.0.1:PORT`.
    pub web_url: String,
    /// The address it listens on.
    pub address: SocketAddr,
    /// Its database, for checks behind the API's back.
    pub database: Database,
    /// Token signers.
    pub tokens: Tokens,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts every service.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the tenant registry and the services named (all when empty).
    pub async fn spawn_with(services: &[ServiceName]) -> Self {
        Self::spawn_with_options(services, test_options()).await
    }

    /// Starts the services named with explicit options.
    pub async fn spawn_with_options(services: &[ServiceName], options: Options) -> Self {
        Self::spawn_on(&empty_database_url().await, services, options).await
    }

    /// Starts a server on an existing database, as a restart would. The server runs on its own
    /// runtime, so [`TestServer::kill`] can end it the way a crash would, connections and all.
    pub async fn spawn_on(database_url: &str, services: &[ServiceName], options: Options) -> Self {
        let redis = tokenwatch_server::RedisTarget::Single(redis_url());
        Self::spawn_on_redis(database_url, &redis, services, options).await
    }

    /// Starts a server on an existing database and the Redis (or Redis Cluster) given.
    pub async fn spawn_on_redis(
        database_url: &str,
        redis: &tokenwatch_server::RedisTarget,
        services: &[ServiceName],
        options: Options,
    ) -> Self {
        Self::spawn_verifying(database_url, redis, services, options, Tokens::verifier()).await
    }

    /// Every service on a fresh database, trusting an identity provider beside the test keys.
    pub async fn spawn_with_oidc(options: Options, trust: tokenwatch_auth::OidcTrust) -> Self {
        let mut builder = Tokens::verifier_builder();
        builder.oidc(trust);
        let redis = tokenwatch_server::RedisTarget::Single(redis_url());
        let database_url = empty_database_url().await;
        Self::spawn_verifying(
            &database_url,
            &redis,
            &[],
            options,
            builder.build().unwrap(),
        )
        .await
    }

    /// Starts a server that verifies tokens with `verifier`.
    pub async fn spawn_verifying(
        database_url: &str,
        redis: &tokenwatch_server::RedisTarget,
        services: &[ServiceName],
        options: Options,
        verifier: Verifier,
    ) -> Self {
        init_test_logging();
        let database_url = database_url.to_owned();
        let stores = Stores::open(&database_url, 8, redis)
            .await
            .expect("cannot open the test stores");
        let database = stores.database.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let web = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        web.set_nonblocking(true).unwrap();
        let web_address = web.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let services = services.to_vec();
        let task = runtime.spawn(async move {
            let listeners = tokenwatch_server::Listeners {
                grpc: tokio::net::TcpListener::from_std(listener).unwrap(),
                web: Some(tokio::net::TcpListener::from_std(web).unwrap()),
            };
            let verifier = Arc::new(verifier);
            let stop = async {
                let _ = stop.await;
            };
            tokenwatch_server::run(listeners, &services, stores, verifier, &options, stop)
                .await
                .expect("test server failed");
        });
        TestServer {
            database_url,
            url: format!("http://{address}"),
            web_url: format!("http://{web_address}"),
            address,
            database,
            tokens: Tokens::new(),
            shutdown: Some(shutdown),
            task: Some(task),
            runtime: Some(runtime),
        }
    }

    /// Registers tenants as an msp_admin, through the API.
    pub async fn register(&self, tenants: &[&str]) {
        use tokenwatch_proto::tenant::v1::CreateTenantRequest;
        use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
        let admin = self.tokens.valid(&[Role::MspAdmin], &[]);
        let channel = tokenwatch_grpc::connect(&self.url, Some(&admin))
            .await
            .expect("cannot connect to the test server");
        let mut registry = TenantServiceClient::new(channel);
        for tenant in tenants {
            registry
                .create_tenant(CreateTenantRequest {
                    tenant_id: (*tenant).to_owned(),
                    display_name: format!("tenant {tenant}"),
                })
                .await
                .expect("cannot register a tenant");
        }
    }

    /// Gives a registered tenant a Graph client secret and switches both log sources on, as an
    /// msp_admin through the API: the connectors pull it from then on.
    pub async fn onboard(&self, tenant: &str, client_id: &str, secret: &str) {
        use tokenwatch_proto::tenant::v1::SetTenantSourcesRequest;
        use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
        self.set_client_secret(tenant, client_id, secret).await;
        let admin = self.tokens.valid(&[Role::MspAdmin], &[]);
        let channel = tokenwatch_grpc::connect(&self.url, Some(&admin))
            .await
            .expect("cannot connect to the test server");
        TenantServiceClient::new(channel)
            .set_tenant_sources(SetTenantSourcesRequest {
                tenant_id: tenant.to_owned(),
                activity_feed: Some(true),
                signins: Some(true),
            })
            .await
            .expect("cannot switch the tenant's sources on");
    }

    /// Sets (or replaces) a tenant's Graph client secret, as an msp_admin through the API.
    pub async fn set_client_secret(&self, tenant: &str, client_id: &str, secret: &str) {
        use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
        use tokenwatch_proto::response::v1::{
            SetGraphCredentialsRequest, set_graph_credentials_request,
        };
        let admin = self.tokens.valid(&[Role::MspAdmin], &[]);
        let channel = tokenwatch_grpc::connect(&self.url, Some(&admin))
            .await
            .expect("cannot connect to the test server");
        ResponseServiceClient::new(channel)
            .set_graph_credentials(SetGraphCredentialsRequest {
                tenant_id: tenant.to_owned(),
                client_id: client_id.to_owned(),
                secret: Some(set_graph_credentials_request::Secret::ClientSecret(
                    secret.to_owned(),
                )),
            })
            .await
            .expect("cannot set the tenant's credentials");
    }

    /// Kills the server without a graceful shutdown: every task of it stops where it is and its
    /// connections drop, as in a crash.
    pub async fn kill(mut self) {
        self.shutdown.take();
        self.task.take();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("test server panicked");
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A Management Activity document (a JSON array) of `count` UAL records numbered from `first`:
/// record ids `rec-<n>`, 10 users of `tenant`'s domain, one session each, a few operations, times
/// a minute apart from 2026-03-02T08:00:00Z.
pub fn ual_document(tenant: &str, first: usize, count: usize) -> Vec<u8> {
    const OPERATIONS: [&str; 4] = [
        "FileAccessed",
        "MailItemsAccessed",
        "UserLoggedIn",
        "FileDownloaded",
    ];
    let mut out = String::with_capacity(count * 700 + 2);
    out.push('[');
    for n in first..first + count {
        if n > first {
            out.push(',');
        }
        let user = n % 10;
        let minutes = n % (60 * 24 * 28);
        out.push_str(&format!(
            concat!(
                r#"{{"CreationTime":"2026-03-{day:02}T{hour:02}:{minute:02}:00","Id":"rec-{n}","#,
                r#""Operation":"{op}","OrganizationId":"{tenant}","RecordType":6,"UserKey":"key-{user}","#,
                r#""UserType":0,"Version":1,"Workload":"SharePoint","ClientIP":"203.0.113.{ip}","#,
                r#""UserId":"user{user}@contoso.example","UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) "#,
                r#"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36","#,
                r#""AppAccessContext":{{"AADSessionId":"00000000-0000-4000-8000-{user:012}","#,
                r#""UniqueTokenId":"tok{n}"}},"ObjectId":"https://contoso.sharepoint.com/doc{n}.docx"}}"#
            ),
            day = 2 + minutes / (60 * 24),
            hour = (minutes / 60) % 24,
            minute = minutes % 60,
            n = n,
            op = OPERATIONS[n % OPERATIONS.len()],
            tenant = tenant,
            user = user,
            ip = 1 + user,
        ));
    }
    out.push(']');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://tw@127.0.0.1:5432/tokenwatch", "x"),
            "postgres://tw@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://tw@127.0.0.1:5432", "x"),
            "postgres://tw@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database(
                "postgres://tw@127.0.0.1:5432/tokenwatch?sslmode=disable",
                "x"
            ),
            "postgres://tw@127.0.0.1:5432/x?sslmode=disable"
        );
    }

    #[test]
    fn ual_documents_are_json_arrays_of_distinct_records() {
        let doc = ual_document("72f988bf-86f1-41af-91ab-2d7cd011db47", 5, 3);
        let text = String::from_utf8(doc).unwrap();
        assert!(text.starts_with('[') && text.ends_with(']'));
        assert_eq!(text.matches("\"Id\":\"rec-").count(), 3);
        assert!(text.contains("rec-7") && !text.contains("rec-8"));
    }

    #[test]
    fn base64url_matches_the_rfc_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    }
}
