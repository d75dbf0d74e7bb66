//! One module per command that is not `serve`.

use secrecy::ExposeSecret;
use tokenwatch_config::ClientConfig;
use tokenwatch_grpc::AuthedChannel;

pub(crate) mod actions;
pub(crate) mod config;
pub(crate) mod connectors;
pub(crate) mod eval;
pub(crate) mod findings;
pub(crate) mod health;
pub(crate) mod ingest;
pub(crate) mod migrate;
pub(crate) mod policy;
pub(crate) mod psa;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod simulate;
pub(crate) mod suppressions;
pub(crate) mod tenant;
pub(crate) mod token;
pub(crate) mod verdict;
pub(crate) mod webhooks;

/// A channel to the server the client flags name, with their token.
pub(crate) async fn connect(config: &ClientConfig) -> anyhow::Result<AuthedChannel> {
    let token = config.token.as_ref().map(|t| t.expose_secret().to_owned());
    Ok(tokenwatch_grpc::connect(&config.server, token.as_deref()).await?)
}
