//! What integration tests need: a fresh, migrated database per test on the Postgres that
//! `make test` started, the Redis beside it, and a whole server on port 0 with signers for
//! every kind of token.
//!
//! The stores come from `TOKENWATCH_TEST_DATABASE_URL` and `TOKENWATCH_TEST_REDIS_URL` (or
//! `DATABASE_URL` / `REDIS_URL`). A missing variable fails the test with instructions: a test
//! that silently skips cannot catch anything.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tokenwatch_auth::{Role, Signer, Verifier};
use tokenwatch_server::{ServiceName, Stores};
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
        let mut builder = Verifier::builder(ISSUER, AUDIENCE);
        builder
            .public_key_pem("rsa", &testdata("rsa_public.pem"), None)
            .unwrap()
            .public_key_pem("ec", &testdata("ec_public.pem"), None)
            .unwrap();
        builder.build().unwrap()
    }

    /// A valid token.
    pub fn valid(&self, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        self.rsa
            .issue(
                "test@tokenwatch.local",
                roles,
                &tenants,
                Duration::from_secs(600),
            )
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

/// A whole tokenwatch server on port 0, with its own database; stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The address it listens on.
    pub address: SocketAddr,
    /// Its database, for checks behind the API's back.
    pub database: Database,
    /// Token signers.
    pub tokens: Tokens,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts every service.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the tenant registry and the services named (all when empty).
    pub async fn spawn_with(services: &[ServiceName]) -> Self {
        let database_url = empty_database_url().await;
        let stores = Stores::open(&database_url, 8, &redis_url())
            .await
            .expect("cannot open the test stores");
        let database = stores.database.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let services = services.to_vec();
        let task = tokio::spawn(async move {
            let verifier = Arc::new(Tokens::verifier());
            let stop = async {
                let _ = stop.await;
            };
            tokenwatch_server::run(listener, &services, stores, verifier, stop)
                .await
                .expect("test server failed");
        });
        TestServer {
            url: format!("http://{address}"),
            address,
            database,
            tokens: Tokens::new(),
            shutdown: Some(shutdown),
            task: Some(task),
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
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
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
    fn base64url_matches_the_rfc_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    }
}
