//! `tokenwatch serve`: one process hosting the services asked for, on one address.

use clap::Args;
use std::sync::Arc;
use tokenwatch_config::{AuthConfig, ServerConfig};
use tokenwatch_server::ServiceName;

use anyhow::Context;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Services to host, comma-separated; all when omitted.
    #[arg(long, env = "TOKENWATCH_SERVICES", value_delimiter = ',')]
    pub(crate) services: Vec<ServiceName>,

    #[command(flatten)]
    pub(crate) server: ServerConfig,

    #[command(flatten)]
    pub(crate) auth: AuthConfig,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        services: wanted,
        server,
        auth,
    } = args;
    server.validate_for_serve()?;
    let oidc = match auth.oidc()? {
        Some(settings) => Some(identity_provider(settings).await?),
        None => None,
    };
    let verifier = Arc::new(auth.verifier_with(oidc.as_ref().map(|(trust, _)| trust.clone()))?);
    if auth.dev_auth {
        tracing::warn!(
            "development auth is on: hs256 tokens signed with the shared secret are accepted"
        );
    }
    let stores = tokenwatch_server::Stores::open(
        server.database_url()?,
        server.database_max_connections,
        &tokenwatch_server::RedisTarget::from_config(
            server.redis_url.as_deref().unwrap_or_default(),
            server.redis_cluster,
        ),
    )
    .await?;
    if let Some(address) = server.metrics_address()? {
        tokenwatch_telemetry::serve_metrics(address)?;
    }
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", server.listen))?;
    let web = match server.http_address()? {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--http-addr)"))?,
        ),
        None => None,
    };
    let options = tokenwatch_server::Options {
        ingest: tokenwatch_server::IngestConfig {
            ipdb: server.ipdb.clone(),
            rate_per_tenant: server.ingest_rate,
        },
        caller_rate: server.caller_rate,
        pipeline_workers: server.pipeline_workers,
        credentials_key: server.credentials_key.clone(),
        response: tokenwatch_server::ResponseConfig {
            endpoints: tokenwatch_server::Endpoints {
                login_url: server.login_url.clone(),
                graph_url: server.graph_url.clone(),
                activity_url: server.activity_url.clone(),
            },
            sweep_interval: std::time::Duration::from_secs(server.sweep_seconds.max(1)),
            resume_after: std::time::Duration::from_secs(server.action_resume_seconds.max(1)),
            msp_webhook: server
                .webhook_url
                .as_ref()
                .map(|url| tokenwatch_server::MspWebhook {
                    url: url.clone(),
                    format: server
                        .webhook_format
                        .parse()
                        .unwrap_or(tokenwatch_server::PayloadFormat::Generic),
                    secret: server.webhook_secret.clone().unwrap_or_default(),
                    min_severity: server.webhook_min_severity,
                }),
            destinations: Arc::new(server.destinations().map_err(anyhow::Error::msg)?),
            console_url: server.console_base_url(),
            psa_hold: std::time::Duration::from_secs(server.psa_hold_seconds),
            ..Default::default()
        },
        pipeline: tokenwatch_server::PipelineConfig {
            sweep_interval: std::time::Duration::from_secs(server.sweep_seconds.max(1)),
            ..Default::default()
        },
        connectors: tokenwatch_server::ConnectorConfig {
            concurrency: server.connector_concurrency,
            interval: std::time::Duration::from_secs(server.connector_interval_seconds.max(1)),
            backfill: chrono::Duration::hours(i64::from(server.connector_backfill_hours)),
            signin_backfill: chrono::Duration::hours(i64::from(
                server.connector_signin_backfill_hours,
            )),
            tenant_rate: server.connector_tenant_rate,
            global_rate: server.connector_global_rate,
            ..Default::default()
        },
        console: tokenwatch_server::ConsoleConfig {
            dev_auth: auth.dev_auth,
            oidc: oidc.map(|(_, client)| client),
        },
        publisher_id: server.publisher_id.clone(),
        monthly_reports: true,
        retention: (server.retention_days > 0)
            .then(|| chrono::Duration::days(i64::from(server.retention_days))),
        ..Default::default()
    };
    tokenwatch_server::run(
        tokenwatch_server::Listeners {
            grpc: listener,
            web,
        },
        &wanted,
        stores,
        verifier,
        &options,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Reads the identity provider's discovery document and keys (a start fails when it cannot:
/// nobody could sign in), and keeps the keys fresh from then on (hourly, and when a token names
/// a key not yet fetched).
async fn identity_provider(
    settings: tokenwatch_config::OidcSettings,
) -> anyhow::Result<(tokenwatch_auth::OidcTrust, tokenwatch_server::OidcClient)> {
    let client = tokenwatch_oidc::client();
    let provider = tokenwatch_oidc::discover(&client, &settings.issuer)
        .await
        .context("cannot read the identity provider's discovery document (--oidc-issuer)")?;
    let keys = tokenwatch_oidc::OidcKeys::default();
    let count = tokenwatch_oidc::fetch_keys(&client, &provider, &keys)
        .await
        .context("cannot read the identity provider's signing keys")?;
    tracing::info!(issuer = %settings.issuer, keys = count, "trusting the identity provider");
    let console = tokenwatch_server::OidcClient {
        issuer: settings.issuer.clone(),
        client_id: settings.client_id.clone(),
        scopes: settings.scopes.clone(),
        authorization_endpoint: provider.authorization_endpoint.clone(),
        token_endpoint: provider.token_endpoint.clone(),
    };
    tokio::spawn(tokenwatch_oidc::keep_keys_fresh(
        client,
        provider,
        keys.clone(),
        std::time::Duration::from_secs(3600),
        std::future::pending::<()>(),
    ));
    let trust =
        tokenwatch_auth::OidcTrust::new(settings.issuer, settings.audience, keys, settings.mapping);
    Ok((trust, console))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!(signal = "interrupt", "shutting down"),
        () = terminate => tracing::info!(signal = "terminate", "shutting down"),
    }
}
