//! One process, any subset of the services: what `tokenwatch serve` runs and what the
//! end-to-end tests start on port 0.
//!
//! [`Stores::open`] connects Postgres (migrating it and preparing event partitions) and Redis;
//! [`compose`] mounts the tenant registry plus the services asked for; [`run`] serves them
//! until the shutdown future completes.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{Months, Utc};
use tokenwatch_auth::{AuthInterceptor, CallerLimits, Verifier};
pub use tokenwatch_cache::Target as RedisTarget;
use tokenwatch_cache::{Cache, CacheError};
pub use tokenwatch_connector::ConnectorConfig;
use tokenwatch_connector::Connectors;
pub use tokenwatch_console::{ConsoleConfig, OidcClient};
use tokenwatch_core::enrich::EnrichError;
pub use tokenwatch_graph::{Endpoints, GraphClient, RetryPolicy};
use tokenwatch_grpc::{Background, GrpcError, ServiceSet};
pub use tokenwatch_ingestor::IngestConfig;
pub use tokenwatch_pipeline::PipelineConfig;
pub use tokenwatch_response::{Destinations, MspWebhook, PayloadFormat, ResponseConfig};
use tokenwatch_storage::{Database, StorageError};
use tokio::net::TcpListener;

mod retention;

/// Months of event partitions created at start; ingest creates others on demand.
const PARTITION_MONTHS_BACK: u32 = 12;
const PARTITION_MONTHS_AHEAD: u32 = 2;

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Postgres could not be connected, migrated or prepared.
    #[error("postgres: {0}")]
    Storage(#[from] StorageError),
    /// Redis could not be reached.
    #[error("redis: {0}")]
    Cache(#[from] CacheError),
    /// The gRPC server failed.
    #[error("grpc: {0}")]
    Grpc(#[from] GrpcError),
    /// The IP data could not be loaded.
    #[error("ip data: {0}")]
    Enrich(#[from] EnrichError),
    /// The credentials key is unusable.
    #[error("credentials key: {0}")]
    Seal(#[from] tokenwatch_seal::SealError),
    /// The HTTP client for Microsoft could not be built.
    #[error("microsoft graph client: {0}")]
    Graph(#[from] reqwest::Error),
    /// The response service cannot start.
    #[error("response service: {0}")]
    Response(#[from] tokenwatch_response::StartError),
}

/// A service `serve` can host. The tenant registry is always hosted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceName {
    /// `tokenwatch.ingest.v1.IngestService`
    Ingest,
    /// `tokenwatch.baseline.v1.BaselineService`
    Baseline,
    /// `tokenwatch.detection.v1.DetectionService`
    Detection,
    /// `tokenwatch.response.v1.ResponseService`
    Response,
    /// `tokenwatch.feedback.v1.FeedbackService`
    Feedback,
}

impl ServiceName {
    /// Every service, in the order `--services` lists them.
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Ingest,
        ServiceName::Baseline,
        ServiceName::Detection,
        ServiceName::Response,
        ServiceName::Feedback,
    ];

    /// The fully qualified gRPC service name, as health and reflection report it.
    pub fn grpc_name(self) -> &'static str {
        match self {
            ServiceName::Ingest => "tokenwatch.ingest.v1.IngestService",
            ServiceName::Baseline => "tokenwatch.baseline.v1.BaselineService",
            ServiceName::Detection => "tokenwatch.detection.v1.DetectionService",
            ServiceName::Response => "tokenwatch.response.v1.ResponseService",
            ServiceName::Feedback => "tokenwatch.feedback.v1.FeedbackService",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ServiceName::Ingest => "ingest",
            ServiceName::Baseline => "baseline",
            ServiceName::Detection => "detection",
            ServiceName::Response => "response",
            ServiceName::Feedback => "feedback",
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|name| name.as_str() == text.trim())
            .ok_or_else(|| {
                format!("unknown service {text:?}, expected ingest, baseline, detection, response or feedback")
            })
    }
}

/// The stores every service shares.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Postgres, migrated.
    pub database: Database,
    /// Redis, answering.
    pub cache: Cache,
}

impl Stores {
    /// Connects and prepares both stores: creates and migrates the database, creates the
    /// event partitions around now, and checks that Redis answers.
    pub async fn open(
        database_url: &str,
        max_connections: u32,
        redis: &RedisTarget,
    ) -> Result<Self, ServerError> {
        let database = Database::connect(database_url, max_connections).await?;
        database.migrate().await?;
        let now = Utc::now();
        tokenwatch_storage::ensure_event_partitions(
            &database,
            now - Months::new(PARTITION_MONTHS_BACK),
            now + Months::new(PARTITION_MONTHS_AHEAD),
        )
        .await?;
        let cache = Cache::open(redis).await?;
        cache.ping().await?;
        Ok(Stores { database, cache })
    }
}

/// What the services need beyond the stores.
#[derive(Debug, Clone)]
pub struct Options {
    /// Ingest: IP data and rate limit.
    pub ingest: IngestConfig,
    /// Requests per second per caller (0: no limit).
    pub caller_rate: f64,
    /// Pipeline workers run beside the baseline service (0: none in this process).
    pub pipeline_workers: usize,
    /// How each worker behaves.
    pub pipeline: PipelineConfig,
    /// The key sealing Graph credentials (none: credentials cannot be set).
    pub credentials_key: Option<secrecy::SecretString>,
    /// Where Microsoft is, and how the response service retries and sweeps.
    pub response: ResponseConfig,
    /// The connectors, run beside ingest (`concurrency` 0: none in this process).
    pub connectors: ConnectorConfig,
    /// How the connectors' calls to Microsoft retry before a round gives a tenant back: a
    /// throttled tenant waits its `Retry-After` outside a slot rather than in one.
    pub connector_retry: RetryPolicy,
    /// The activity API's `PublisherIdentifier` (the MSP's tenant id).
    pub publisher_id: Option<String>,
    /// How long events are kept (none: for ever); applied beside ingest.
    pub retention: Option<chrono::Duration>,
    /// How often retention runs.
    pub retention_interval: std::time::Duration,
    /// How the console signs people in (served when [`Listeners::web`] is given).
    pub console: tokenwatch_console::ConsoleConfig,
    /// Make each tenant's monthly report on the first of the month (`serve` does; tests
    /// that do not look at reports leave it off).
    pub monthly_reports: bool,
}

/// Where a process listens: gRPC (HTTP/2), and optionally the web front, where the console
/// and the same services through gRPC-Web are served.
#[derive(Debug)]
pub struct Listeners {
    /// The gRPC listener.
    pub grpc: TcpListener,
    /// The console's listener (none: no console).
    pub web: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(grpc: TcpListener) -> Self {
        Listeners { grpc, web: None }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ingest: IngestConfig::default(),
            caller_rate: 200.0,
            pipeline_workers: 1,
            pipeline: PipelineConfig::default(),
            credentials_key: None,
            response: ResponseConfig::default(),
            connectors: ConnectorConfig::default(),
            connector_retry: RetryPolicy {
                attempts: 3,
                base_delay: std::time::Duration::from_secs(1),
                max_delay: std::time::Duration::from_secs(10),
            },
            publisher_id: None,
            retention: None,
            retention_interval: std::time::Duration::from_secs(3600),
            console: tokenwatch_console::ConsoleConfig::default(),
            monthly_reports: false,
        }
    }
}

/// How long closing the Postgres pool may take once the background tasks have stopped.
const POOL_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What a process runs: its gRPC services, and its connectors when it hosts ingest.
#[derive(Debug)]
pub struct Composed {
    /// The services to serve.
    pub services: ServiceSet,
    /// The connectors to run beside them.
    pub connectors: Option<Connectors>,
}

/// Mounts the tenant registry and each wanted service (all when `wanted` is empty), and
/// prepares the connectors when ingest is hosted and they are not switched off.
pub fn compose(
    wanted: &[ServiceName],
    stores: &Stores,
    verifier: Arc<Verifier>,
    options: &Options,
) -> Result<Composed, ServerError> {
    let auth = AuthInterceptor::new(verifier)
        .with_limits(Arc::new(CallerLimits::new(options.caller_rate)));
    let hosts = |name| wanted.is_empty() || wanted.contains(&name);
    let mut services = ServiceSet::default();
    let sealer = options
        .credentials_key
        .as_ref()
        .map(tokenwatch_seal::Sealer::from_base64)
        .transpose()?
        .map(Arc::new);
    let mut connectors = None;
    let microsoft = tokenwatch_tenant::Microsoft {
        sealer: sealer.clone(),
        client: Arc::new(GraphClient::new(
            options.response.endpoints.clone(),
            options.response.retry,
        )?),
    };
    tokenwatch_tenant::add_to(
        &mut services,
        stores.database.clone(),
        stores.cache.clone(),
        microsoft,
        auth.clone(),
        options.monthly_reports,
    );
    if hosts(ServiceName::Ingest) {
        let ipdb = tokenwatch_ingestor::load_ipdb(&options.ingest)?;
        let ingestor = tokenwatch_ingestor::Ingestor::new(
            stores.database.clone(),
            stores.cache.clone(),
            ipdb,
            &options.ingest,
        );
        tokenwatch_ingest::add_to(&mut services, &ingestor, auth.clone());
        if options.connectors.concurrency > 0 {
            let client =
                GraphClient::new(options.response.endpoints.clone(), options.connector_retry)?
                    .with_publisher(options.publisher_id.clone());
            connectors = Some(Connectors::new(
                stores.database.clone(),
                stores.cache.clone(),
                ingestor,
                Arc::new(client),
                sealer.clone(),
                options.connectors.clone(),
            ));
        }
    }
    if hosts(ServiceName::Baseline) {
        tokenwatch_baseline::add_to(
            &mut services,
            stores.database.clone(),
            stores.cache.clone(),
            auth.clone(),
        );
    }
    if hosts(ServiceName::Detection) {
        tokenwatch_detection::add_to(
            &mut services,
            stores.database.clone(),
            stores.cache.clone(),
            auth.clone(),
        );
    }
    if hosts(ServiceName::Response) {
        tokenwatch_response::add_to(
            &mut services,
            stores.database.clone(),
            sealer,
            &options.response,
            auth.clone(),
        )?;
    }
    if hosts(ServiceName::Feedback) {
        tokenwatch_feedback::add_to(&mut services, stores.database.clone(), auth);
    }
    Ok(Composed {
        services,
        connectors,
    })
}

/// Serves the composed services on the gRPC listener (and the console with gRPC-Web on the web
/// listener, when given) until `shutdown` completes, with the pipeline
/// workers when the baseline service is hosted and the connectors and retention when ingest is;
/// then stops every background task (the services' own, the workers, which each write a
/// generation of the tenants they hold, the connectors and retention), awaits each for at most
/// [`tokenwatch_grpc::SHUTDOWN_GRACE`] in all and logs its end, and closes the database pool.
pub async fn run(
    listeners: impl Into<Listeners>,
    wanted: &[ServiceName],
    stores: Stores,
    verifier: Arc<Verifier>,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let Listeners { grpc, web } = listeners.into();
    let Composed {
        mut services,
        connectors,
    } = compose(wanted, &stores, verifier, options)?;
    if let Some(web) = web {
        services.serve_web(web, tokenwatch_console::site(options.console.clone()));
    }
    let hosts_baseline = wanted.is_empty() || wanted.contains(&ServiceName::Baseline);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    // Every task this process runs beside its RPCs, awaited (and its end logged) on shutdown.
    let mut background = services.take_background();
    if hosts_baseline {
        for _ in 0..options.pipeline_workers {
            let worker = tokenwatch_pipeline::Worker::new(
                stores.database.clone(),
                stores.cache.clone(),
                options.pipeline.clone(),
            );
            background.push(Background::spawn(
                "pipeline worker",
                worker.run(until_stopped()),
            ));
        }
    }
    if let Some(connectors) = connectors {
        background.push(Background::spawn(
            "connectors",
            connectors.run(until_stopped()),
        ));
    }
    let hosts_ingest = wanted.is_empty() || wanted.contains(&ServiceName::Ingest);
    if let Some(keep) = options.retention.filter(|_| hosts_ingest) {
        background.push(Background::spawn(
            "retention",
            retention::run(
                stores.database.clone(),
                keep,
                options.retention_interval,
                until_stopped(),
            ),
        ));
    }
    let served = tokenwatch_grpc::serve(grpc, services, shutdown).await;
    let _ = stop.send(true);
    Background::join_all(background, tokenwatch_grpc::SHUTDOWN_GRACE).await;
    // Closing the pool waits for connections being opened; with Postgres gone that is the
    // pool's whole acquire timeout, so it gets a moment and no more.
    if tokio::time::timeout(POOL_CLOSE_GRACE, stores.database.close())
        .await
        .is_err()
    {
        tracing::warn!("postgres pool did not close in time; exiting without it");
    }
    served?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_parse_and_name_their_grpc_service() {
        for name in ServiceName::ALL {
            assert_eq!(name.to_string().parse::<ServiceName>(), Ok(name));
            assert!(name.grpc_name().contains(&format!(".{name}.v1.")));
        }
        assert!("search".parse::<ServiceName>().is_err());
    }
}
