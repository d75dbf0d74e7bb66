//! The gRPC handlers: authorize first, then hand each document to the pipeline.

use tokenwatch_auth::{Permission, TenantScope, authorize, authorize_scope};
use tokenwatch_core::event::SourceFormat as CoreFormat;
use tokenwatch_core::parse::RejectReason as CoreReason;
use tokenwatch_error::{into_status, invalid_argument};
use tokenwatch_proto::ingest::v1::ingest_service_server::IngestService;
use tokenwatch_proto::ingest::v1::*;
use tokenwatch_proto::tonic::{self, Code, Request, Response, Status, Streaming};
use tokenwatch_types::TenantId;

use tokenwatch_ingestor::{IngestError, Ingested, Ingestor, Outcome};

#[derive(Debug)]
pub(crate) struct IngestApi {
    ingestor: Ingestor,
}

impl IngestApi {
    pub(crate) fn new(ingestor: Ingestor) -> Self {
        IngestApi { ingestor }
    }

    async fn ingest_document(
        &self,
        tenant: TenantId,
        document_index: i32,
        document: Option<Document>,
        summary: &mut IngestSummary,
        results: &mut Vec<RecordResult>,
        keep_accepted: bool,
    ) -> Result<(), Status> {
        let document = document.ok_or_else(|| invalid_argument("document", "is required"))?;
        let declared = core_format(document.format())?;
        let outcomes = self
            .ingestor
            .ingest_records(tenant, declared, &document.source_name, document.content)
            .await
            .map_err(fail)?;
        summary.documents += 1;
        for outcome in outcomes {
            tally(summary, &outcome);
            if keep_accepted || outcome.outcome != Outcome::Accepted {
                results.push(to_result(document_index, outcome));
            }
        }
        Ok(())
    }
}

fn core_format(format: SourceFormat) -> Result<Option<CoreFormat>, Status> {
    Ok(match format {
        SourceFormat::Unspecified => None,
        SourceFormat::ManagementActivity => Some(CoreFormat::ManagementActivity),
        SourceFormat::PurviewCsv => Some(CoreFormat::PurviewCsv),
        SourceFormat::GraphSignins => Some(CoreFormat::GraphSignIns),
        SourceFormat::Sentinel => Some(CoreFormat::Sentinel),
        SourceFormat::AzureMonitor => Some(CoreFormat::AzureMonitor),
    })
}

fn proto_format(format: CoreFormat) -> SourceFormat {
    match format {
        CoreFormat::ManagementActivity => SourceFormat::ManagementActivity,
        CoreFormat::PurviewCsv => SourceFormat::PurviewCsv,
        CoreFormat::GraphSignIns => SourceFormat::GraphSignins,
        CoreFormat::Sentinel => SourceFormat::Sentinel,
        CoreFormat::AzureMonitor => SourceFormat::AzureMonitor,
    }
}

fn proto_reason(reason: CoreReason) -> RejectReason {
    match reason {
        CoreReason::MalformedJson => RejectReason::MalformedJson,
        CoreReason::MalformedCsv => RejectReason::MalformedCsv,
        CoreReason::InvalidUtf8 => RejectReason::InvalidUtf8,
        CoreReason::MissingField => RejectReason::MissingField,
        CoreReason::InvalidField => RejectReason::InvalidField,
        CoreReason::UnsupportedRecord => RejectReason::UnsupportedRecord,
        CoreReason::TenantMismatch => RejectReason::TenantMismatch,
        CoreReason::RecordTooLarge => RejectReason::RecordTooLarge,
        CoreReason::EmptyDocument => RejectReason::EmptyDocument,
        CoreReason::Expired => RejectReason::Expired,
    }
}

fn tally(summary: &mut IngestSummary, outcome: &Ingested) {
    match &outcome.outcome {
        Outcome::Accepted => summary.accepted += 1,
        Outcome::Duplicate => summary.duplicates += 1,
        Outcome::Rejected(reason, _) => {
            summary.rejected += 1;
            *summary
                .rejected_by_reason
                .entry(reason.as_str().to_owned())
                .or_default() += 1;
        }
    }
}

fn to_result(document_index: i32, outcome: Ingested) -> RecordResult {
    let (kind, reason, message) = match outcome.outcome {
        Outcome::Accepted => (
            RecordOutcome::Accepted,
            RejectReason::Unspecified,
            String::new(),
        ),
        Outcome::Duplicate => (
            RecordOutcome::Duplicate,
            RejectReason::Unspecified,
            String::new(),
        ),
        Outcome::Rejected(reason, message) => {
            (RecordOutcome::Rejected, proto_reason(reason), message)
        }
    };
    RecordResult {
        document_index,
        record_index: i32::try_from(outcome.index).unwrap_or(i32::MAX),
        record_id: outcome.record_id,
        outcome: kind.into(),
        reason: reason.into(),
        message,
    }
}

/// A message over the size limit is the caller's to split: RESOURCE_EXHAUSTED, as gRPC
/// specifies for an oversized message, rather than tonic's OUT_OF_RANGE.
fn oversized_to_exhausted(status: Status) -> Status {
    if status.code() == Code::OutOfRange && status.message().contains("message length too large") {
        Status::resource_exhausted(status.message().to_owned())
    } else {
        status
    }
}

/// Any failure of ingestion, or of the reads beside it, as a caller may see it: the ingest
/// service's vocabulary is the ingestor's [`IngestError`].
fn fail(error: impl Into<IngestError>) -> Status {
    into_status(error.into())
}

fn time(t: chrono::DateTime<chrono::Utc>) -> tokenwatch_proto::prost_types::Timestamp {
    tokenwatch_proto::to_timestamp(t)
}

#[tonic::async_trait]
impl IngestService for IngestApi {
    async fn ingest_batch(
        &self,
        request: Request<IngestBatchRequest>,
    ) -> Result<Response<IngestBatchResponse>, Status> {
        let (tenant, _) = authorize(&request, Permission::Ingest, &request.get_ref().tenant_id)?;
        let mut summary = IngestSummary::default();
        let mut results = Vec::new();
        let document = request.into_inner().document;
        self.ingest_document(tenant, 0, document, &mut summary, &mut results, true)
            .await?;
        Ok(Response::new(IngestBatchResponse {
            summary: Some(summary),
            results,
        }))
    }

    async fn ingest_stream(
        &self,
        request: Request<Streaming<IngestStreamRequest>>,
    ) -> Result<Response<IngestStreamResponse>, Status> {
        // The tenant travels in the messages: read the first, check it, before any work.
        let mut request = request;
        let first = request
            .get_mut()
            .message()
            .await
            .map_err(oversized_to_exhausted)?
            .ok_or_else(|| Status::invalid_argument("the stream carried no message"))?;
        let (tenant, _) = authorize(&request, Permission::Ingest, &first.tenant_id)?;
        let mut stream = request.into_inner();
        let mut summary = IngestSummary::default();
        let mut results = Vec::new();
        let mut next = Some(first);
        let mut index = 0i32;
        while let Some(message) = next {
            if TenantId::parse(&message.tenant_id).ok() != Some(tenant) {
                return Err(invalid_argument(
                    "tenant_id",
                    "every message of a stream must name the same tenant",
                ));
            }
            // Committed per document: if the stream breaks, what was acknowledged stays, and a
            // re-send finds it as duplicates.
            self.ingest_document(
                tenant,
                index,
                message.document,
                &mut summary,
                &mut results,
                false,
            )
            .await?;
            index = index.saturating_add(1);
            next = stream.message().await.map_err(oversized_to_exhausted)?;
        }
        Ok(Response::new(IngestStreamResponse {
            summary: Some(summary),
            results,
        }))
    }

    async fn list_quarantined_records(
        &self,
        request: Request<ListQuarantinedRecordsRequest>,
    ) -> Result<Response<ListQuarantinedRecordsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::IngestRead,
            &request.get_ref().tenant_id,
        )?;
        let request = request.into_inner();
        let limit = tokenwatch_grpc::page_size(request.page_size)?;
        let after = parse_page_token(&request.page_token)?;
        let mut rows = tokenwatch_storage::ingest::list_quarantine(
            self.ingestor.database(),
            tenant,
            after,
            limit + 1,
        )
        .await
        .map_err(fail)?;
        let next_page_token = if rows.len() > limit {
            rows.truncate(limit);
            rows.last()
                .map(|r| format!("{}|{}", r.receive_time.to_rfc3339(), r.quarantine_id))
                .unwrap_or_default()
        } else {
            String::new()
        };

        let records = rows
            .into_iter()
            .map(|row| QuarantinedRecord {
                tenant_id: tenant.to_string(),
                quarantine_id: row.quarantine_id.to_string(),
                format: CoreFormat::ALL
                    .into_iter()
                    .find(|f| f.as_str() == row.source_format)
                    .map_or(SourceFormat::Unspecified, proto_format)
                    .into(),
                source_name: row.source_name,
                reason: RejectReason::from_str_name(&format!("REJECT_REASON_{}", row.reason))
                    .unwrap_or(RejectReason::Unspecified)
                    .into(),
                message: row.message,
                content: row.content,
                receive_time: Some(time(row.receive_time)),
            })
            .collect();
        Ok(Response::new(ListQuarantinedRecordsResponse {
            records,
            next_page_token,
        }))
    }

    async fn get_ingest_stats(
        &self,
        request: Request<GetIngestStatsRequest>,
    ) -> Result<Response<GetIngestStatsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::IngestRead,
            &request.get_ref().tenant_id,
        )?;
        let counts = tokenwatch_storage::ingest::ingest_counts(self.ingestor.database(), tenant)
            .await
            .map_err(fail)?;
        Ok(Response::new(GetIngestStatsResponse {
            events: counts.events,
            raw_records: counts.raw_records,
            rejected: counts.rejected,
            newest_event_time: counts.newest_event_time.map(time),
            last_receive_time: counts.last_receive_time.map(time),
        }))
    }

    async fn list_connector_status(
        &self,
        request: Request<ListConnectorStatusRequest>,
    ) -> Result<Response<ListConnectorStatusResponse>, Status> {
        let (scope, _) = authorize_scope(
            &request,
            Permission::IngestRead,
            &request.get_ref().tenant_id,
        )?;
        let database = self.ingestor.database();
        let tenants: Vec<TenantId> = match scope {
            TenantScope::Some(tenants) => tenants.into_iter().collect(),
            TenantScope::All => tokenwatch_storage::tenant_ids(database)
                .await
                .map_err(fail)?,
        };
        let mut tx = database.tenants_read_tx(&tenants).await.map_err(fail)?;
        let rows = tokenwatch_storage::connectors::status(&mut tx)
            .await
            .map_err(fail)?;
        tx.commit()
            .await
            .map_err(|e| fail(tokenwatch_storage::StorageError::from(e)))?;
        let now = chrono::Utc::now();
        let sources = rows
            .into_iter()
            .map(|row| ConnectorSourceStatus {
                tenant_id: row.tenant_id.to_string(),
                source: row.source,
                enabled: row.enabled,
                healthy: row.healthy,
                checkpoint: row.checkpoint.map(time),
                lag: row.checkpoint.map(|checkpoint| {
                    let lag = (now - checkpoint).max(chrono::Duration::zero());
                    tokenwatch_proto::prost_types::Duration {
                        seconds: lag.num_seconds(),
                        nanos: lag.subsec_nanos(),
                    }
                }),
                last_success_time: row.last_success_time.map(time),
                last_attempt_time: row.last_attempt_time.map(time),
                records_pulled: row.records_pulled,
                records_new: row.records_new,
                records_rejected: row.records_rejected,
                throttled: row.throttled,
                last_error: row.last_error.unwrap_or_default(),
                last_error_time: row.last_error_time.map(time),
                tenant_error: row.tenant_error.unwrap_or_default(),
                next_pull_time: row.next_pull_time.map(time),
            })
            .collect();
        Ok(Response::new(ListConnectorStatusResponse { sources }))
    }
}

fn parse_page_token(
    token: &str,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || invalid_argument("page_token", "not a token this server handed out");
    let (time, id) = token.split_once('|').ok_or_else(bad)?;
    let time = chrono::DateTime::parse_from_rfc3339(time)
        .map_err(|_| bad())?
        .with_timezone(&chrono::Utc);
    let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((time, id)))
}
