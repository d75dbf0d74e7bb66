//! Redis holds what is hot (baselines, open sessions, work streams); losing it loses no data.
//!
//! Every key is built by [`tenant_key`], which wraps the tenant id in a `{...}` hash tag so that
//! all of a tenant's keys land in one Redis Cluster slot and multi-key operations on one tenant
//! stay legal in cluster mode.
//!
//! # Layout
//!
//! - [`Cache`]: a reconnecting connection;
//! - [`tenant_key`]: the key scheme;
//! - [`CacheError`]: what can go wrong.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
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

/// A Redis connection that reconnects by itself; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    connection: ConnectionManager,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

impl Cache {
    /// Connects to `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(CacheError::InvalidUrl)?;
        // Writing a large tenant's state takes longer than the client's default 500 ms.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(std::time::Duration::from_secs(10)));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(CacheError::Unavailable)?;
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
    pub fn connection(&self) -> ConnectionManager {
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
