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
use tokenwatch_core::event::SourceFormat;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::Code;
use tokenwatch_proto::ingest::v1::ingest_service_server::IngestServiceServer;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_storage::Database;
use tokenwatch_types::TenantId;

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

/// The ingest pipeline for callers in the same process (the connectors): the same parse,
/// check, enrich, rate limit, commit and announce as the gRPC calls. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingestor {
    pipeline: Arc<pipeline::Pipeline>,
}

/// What became of a document's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Stored now.
    pub accepted: u64,
    /// Stored before (the same record id).
    pub duplicate: u64,
    /// Rejected with a reason, kept in quarantine.
    pub rejected: u64,
}

/// Why a document was not ingested (nothing of it is stored then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The tenant is over its ingest rate: retry shortly.
    #[error("over the ingest rate: {0}")]
    OverRate(String),
    /// Storage or the parser failed.
    #[error("ingest failed: {0}")]
    Failed(String),
}

impl Ingestor {
    /// A pipeline over the stores.
    pub fn new(
        database: Database,
        cache: Cache,
        ipdb: Option<Arc<IpDb>>,
        config: &IngestConfig,
    ) -> Self {
        Ingestor {
            pipeline: Arc::new(pipeline::Pipeline::new(
                database,
                cache,
                ipdb,
                config.rate_per_tenant,
            )),
        }
    }

    /// Ingests one document for `tenant` (committed when this returns).
    pub async fn ingest(
        &self,
        tenant: TenantId,
        format: SourceFormat,
        source_name: &str,
        content: Vec<u8>,
    ) -> Result<Tally, IngestError> {
        let outcomes = self
            .pipeline
            .ingest(tenant, Some(format), source_name, content)
            .await
            .map_err(|status| match status.code() {
                Code::ResourceExhausted => IngestError::OverRate(status.message().to_owned()),
                _ => IngestError::Failed(status.message().to_owned()),
            })?;
        let mut tally = Tally::default();
        for outcome in outcomes {
            match outcome.outcome {
                pipeline::Outcome::Accepted => tally.accepted += 1,
                pipeline::Outcome::Duplicate => tally.duplicate += 1,
                pipeline::Outcome::Rejected(..) => tally.rejected += 1,
            }
        }
        Ok(tally)
    }
}

/// Mounts the ingest service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, ingestor: &Ingestor, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(IngestServiceServer::new(
        api::IngestApi::new(Arc::clone(&ingestor.pipeline))
    ));
    services.add(InterceptedService::new(server, auth));
}
