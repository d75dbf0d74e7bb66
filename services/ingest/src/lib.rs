//! Record ingestion: parse, normalize, enrich, deduplicate, store.
//!
//! The contract is whole (see `proto/tokenwatch/ingest/v1/ingest.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_error::unimplemented;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::ingest::v1::ingest_service_server::{IngestService, IngestServiceServer};
use tokenwatch_proto::ingest::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status, Streaming};

/// Mounts the ingest service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(IngestServiceServer::new(IngestApi));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct IngestApi;

#[tonic::async_trait]
impl IngestService for IngestApi {
    async fn ingest_batch(
        &self,
        request: Request<IngestBatchRequest>,
    ) -> Result<Response<IngestBatchResponse>, Status> {
        authorize(&request, Permission::Ingest, &request.get_ref().tenant_id)?;
        Err(unimplemented("IngestBatch"))
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
            .await?
            .ok_or_else(|| Status::invalid_argument("the stream carried no message"))?;
        authorize(&request, Permission::Ingest, &first.tenant_id)?;
        Err(unimplemented("IngestStream"))
    }

    async fn list_quarantined_records(
        &self,
        request: Request<ListQuarantinedRecordsRequest>,
    ) -> Result<Response<ListQuarantinedRecordsResponse>, Status> {
        authorize(
            &request,
            Permission::IngestRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListQuarantinedRecords"))
    }

    async fn get_ingest_stats(
        &self,
        request: Request<GetIngestStatsRequest>,
    ) -> Result<Response<GetIngestStatsResponse>, Status> {
        authorize(
            &request,
            Permission::IngestRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetIngestStats"))
    }
}
