//! Record ingestion as a library: documents in, committed events out, nothing lost. The ingest
//! service's RPCs and the connectors' pulls both go through an [`Ingestor`].
//!
//! Each document is parsed and normalized by `tokenwatch-core` (off the async runtime), checked
//! against the request's tenant, enriched, then committed in one tenant transaction: raw records
//! and events for new record ids, quarantine rows for rejected records. Only then is a record
//! acknowledged; a re-sent document finds its records already stored and reports duplicates.
//! After the commit the touched sessions are announced on the tenant's Redis stream
//! (`tokenwatch_cache::touched`).
//!
//! # Layout
//!
//! - [`Ingestor`]: the pipeline, cheap to clone; [`Ingested`] and [`Outcome`] per record,
//!   [`Tally`] per document;
//! - [`IngestError`]: why a document was not ingested;
//! - `pipeline`: one document through parse, check, enrich, store, announce;

mod pipeline;

use std::path::PathBuf;
use std::sync::Arc;

use tokenwatch_cache::Cache;
use tokenwatch_core::enrich::{EnrichError, IpDb};
use tokenwatch_core::event::SourceFormat;
use tokenwatch_error::{ServiceError, ServiceErrorCode};
use tokenwatch_storage::{Database, StorageError};
use tokenwatch_types::TenantId;

pub use pipeline::{Ingested, Outcome};

/// How ingestion is configured.
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

/// The ingest pipeline: parse, check, enrich, rate limit, commit and announce. Cheap to clone.
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
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The tenant is over its ingest rate: retry after the wait.
    #[error("tenant {tenant} is over its ingest rate; retry in {retry_in_seconds:.1} s")]
    OverRate {
        /// Whose rate.
        tenant: TenantId,
        /// When a retry will pass.
        retry_in_seconds: f64,
    },
    /// The records could not be stored.
    #[error("cannot store the records")]
    Storage(#[from] StorageError),
    /// The parser's thread died (a bug).
    #[error("the parser task failed")]
    ParserTask(#[source] tokio::task::JoinError),
}

impl ServiceError for IngestError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            IngestError::OverRate { .. } => ServiceErrorCode::ResourceExhausted,
            IngestError::Storage(error) => error.error_code(),
            IngestError::ParserTask(_) => ServiceErrorCode::Internal,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            IngestError::OverRate {
                retry_in_seconds, ..
            } => Some(std::time::Duration::from_secs_f64(*retry_in_seconds)),
            _ => None,
        }
    }
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

    /// The database, for the ingest service's read RPCs.
    pub fn database(&self) -> &Database {
        self.pipeline.database()
    }

    /// Ingests one document for `tenant`, `declared` its format or `None` to detect it; every
    /// record gets an outcome, and the accepted ones are committed before this returns.
    pub async fn ingest_records(
        &self,
        tenant: TenantId,
        declared: Option<SourceFormat>,
        source_name: &str,
        content: Vec<u8>,
    ) -> Result<Vec<Ingested>, IngestError> {
        self.pipeline
            .ingest(tenant, declared, source_name, content)
            .await
    }

    /// Ingests one document for `tenant` and counts what became of its records.
    pub async fn ingest(
        &self,
        tenant: TenantId,
        format: SourceFormat,
        source_name: &str,
        content: Vec<u8>,
    ) -> Result<Tally, IngestError> {
        let outcomes = self
            .ingest_records(tenant, Some(format), source_name, content)
            .await?;
        let mut tally = Tally::default();
        for outcome in outcomes {
            match outcome.outcome {
                Outcome::Accepted => tally.accepted += 1,
                Outcome::Duplicate => tally.duplicate += 1,
                Outcome::Rejected(..) => tally.rejected += 1,
            }
        }
        Ok(tally)
    }
}
