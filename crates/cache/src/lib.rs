//! Redis holds what is hot (baselines, open sessions, work streams); losing it loses no data.
//!
//! Every key is built by [`tenant_key`], which wraps the tenant id in a `{...}` hash tag so that
//! all of a tenant's keys land in one Redis Cluster slot and multi-key operations on one tenant
//! stay legal in cluster mode.
//!
//! # Layout
//!
//! - [`Cache`]: a connection to one Redis or a Redis Cluster ([`Target`], [`Connection`]);
//! - [`tenant_key`]: the key scheme;
//! - [`touched`]: the "session touched" stream ingest writes and the pipeline reads;
//! - [`CacheError`]: what can go wrong.

pub mod touched;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use tokenwatch_error::{ServiceError, ServiceErrorCode};
use tokenwatch_types::TenantId;

/// What can go wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The URL is not a Redis URL.
    #[error("invalid redis url")]
    InvalidUrl(#[source] redis::RedisError),
    /// Redis did not answer or refused the command.
    #[error("redis unavailable")]
    Unavailable(#[source] redis::RedisError),
}

impl ServiceError for CacheError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            CacheError::InvalidUrl(_) => ServiceErrorCode::Internal,
            CacheError::Unavailable(_) => ServiceErrorCode::Unavailable,
        }
    }
}

/// Where Redis is: one server, or a Redis Cluster known by some of its nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `redis://host:port/db`.
    Single(String),
    /// Seed nodes (`redis://host:port` each); the rest of the cluster is discovered.
    Cluster(Vec<String>),
}

impl Target {
    /// From configuration: `url`, or with `cluster` a comma-separated list of seed nodes.
    pub fn from_config(url: &str, cluster: bool) -> Target {
        if cluster {
            Target::Cluster(
                url.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        } else {
            Target::Single(url.to_owned())
        }
    }
}

/// A connection to Redis or to a Redis Cluster, for commands, pipelines and scripts alike
/// (`query_async(&mut connection)`); cheap to clone.
#[derive(Clone)]
pub enum Connection {
    /// One server, reconnecting by itself.
    Single(ConnectionManager),
    /// A cluster: each command goes to the node owning its keys' slot, and a tenant's keys
    /// share a slot (see [`tenant_key`]).
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::Single(_) => "Connection::Single",
            Connection::Cluster(_) => "Connection::Cluster",
        })
    }
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Redis, connected; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    connection: Connection,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field(
                "cluster",
                &matches!(self.connection, Connection::Cluster(_)),
            )
            .finish_non_exhaustive()
    }
}

/// Writing a large tenant's state takes longer than the client's default 500 ms.
const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Cache {
    /// Connects to one server at `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self, CacheError> {
        Cache::open(&Target::Single(url.to_owned())).await
    }

    /// Connects to `target`.
    pub async fn open(target: &Target) -> Result<Self, CacheError> {
        let connection = match target {
            Target::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(CacheError::InvalidUrl)?;
                let config =
                    ConnectionManagerConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
                Connection::Single(
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .map_err(CacheError::Unavailable)?,
                )
            }
            Target::Cluster(nodes) => {
                let client =
                    redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                        .response_timeout(RESPONSE_TIMEOUT)
                        .build()
                        .map_err(CacheError::InvalidUrl)?;
                Connection::Cluster(
                    client
                        .get_async_connection()
                        .await
                        .map_err(CacheError::Unavailable)?,
                )
            }
        };
        Ok(Cache { connection })
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(CacheError::Unavailable)?;
        Ok(())
    }

    /// A connection handle for commands; clones share one multiplexed connection.
    pub fn connection(&self) -> Connection {
        self.connection.clone()
    }
}

/// The key of `kind` for `tenant`, e.g. `tw:{72f988bf-...}:baseline:alice@contoso.com`.
pub fn tenant_key(tenant: TenantId, kind: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("tw:{{{tenant}}}:{kind}")
    } else {
        format!("tw:{{{tenant}}}:{kind}:{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash tag Redis Cluster would use: the text between the first `{` and the next `}`.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        &key[open + 1..close]
    }

    #[test]
    fn a_cluster_is_named_by_its_seed_nodes() {
        assert_eq!(
            Target::from_config("redis://a:6379, redis://b:6379,", true),
            Target::Cluster(vec![
                "redis://a:6379".to_owned(),
                "redis://b:6379".to_owned()
            ])
        );
        assert_eq!(
            Target::from_config("redis://a:6379/2", false),
            Target::Single("redis://a:6379/2".to_owned())
        );
    }

    #[test]
    fn keys_of_a_tenant_share_its_hash_tag() {
        let tenant = TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        let baseline = tenant_key(tenant, "baseline", "alice@contoso.com");
        let stream = tenant_key(tenant, "touched", "");
        // A user name with braces must not move the tag.
        let braces = tenant_key(tenant, "baseline", "{evil}@contoso.com");
        for key in [&baseline, &stream, &braces] {
            assert_eq!(hash_tag(key), tenant.to_string());
        }
        assert_eq!(stream, format!("tw:{{{tenant}}}:touched"));
    }
}
