//! Record ingestion: documents in, committed events out, nothing lost.
//!
//! Each document is parsed and normalized by `tokenwatch-core` (off the async runtime), checked
//! against the request's tenant, enriched, then committed in one tenant transaction: raw records
//! and events for new record ids, quarantine rows for rejected records. Only then is a record
//! acknowledged; a re-sent document finds its records already stored and reports duplicates.
//! After the commit the touched sessions are announced on the tenant's Redis stream.
//!
//! # Layout
//!
//! - `api`: the gRPC handlers;
//! - `pipeline`: one document through parse, check, enrich, store, announce;
//! - `announce`: the "session touched" stream;
//! - `rate`: per-tenant token buckets.

mod announce;
mod api;
mod pipeline;
mod rate;

use std::path::PathBuf;
use std::sync::Arc;

use tokenwatch_auth::AuthInterceptor;
use tokenwatch_cache::Cache;
use tokenwatch_core::enrich::{EnrichError, IpDb};
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::ingest::v1::ingest_service_server::IngestServiceServer;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_storage::Database;

pub use announce::touched_stream_key;

/// How the ingest service is configured.
#[derive(Debug, Clone, Default)]
pub struct IngestConfig {
    /// Directory of the IP data (`make ipdb`); `None` runs without enrichment.
    pub ipdb: Option<PathBuf>,
    /// Records per second each tenant may send; 0 means no limit.
    pub rate_per_tenant: u32,
}

/// Loads the IP data once, or says clearly that enrichment is off.
pub fn load_ipdb(config: &IngestConfig) -> Result<Option<Arc<IpDb>>, EnrichError> {
    match &config.ipdb {
        Some(dir) => {
            let started = std::time::Instant::now();
            let db = IpDb::load(dir)?;
            tracing::info!(dir = %dir.display(), elapsed_ms = started.elapsed().as_millis() as u64, "ip enrichment on");
            Ok(Some(Arc::new(db)))
        }
        None => {
            tracing::warn!(
                "ip enrichment is off: set --ipdb / TOKENWATCH_IPDB (make ipdb fetches the data)"
            );
            Ok(None)
        }
    }
}

/// Mounts the ingest service, behind the auth interceptor, on `services`.
pub fn add_to(
    services: &mut ServiceSet,
    database: Database,
    cache: Cache,
    ipdb: Option<Arc<IpDb>>,
    config: &IngestConfig,
    auth: AuthInterceptor,
) {
    let pipeline = pipeline::Pipeline::new(database, cache, ipdb, config.rate_per_tenant);
    let server = tokenwatch_grpc::configure_service!(IngestServiceServer::new(
        api::IngestApi::new(Arc::new(pipeline))
    ));
    services.add(InterceptedService::new(server, auth));
}
